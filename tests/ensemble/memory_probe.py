"""Peak memory of one CPU ensemble against its estimate (run as a script by test_memory.py: a fresh process)."""
import json
import resource
import sys

import torch

from scpviz.datasets import Task
from scpviz.ensemble import EnsembleRun, run_bytes, stack_overhead, train_ensemble
from scpviz.models import MLP


def rss():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024   # Linux: KiB


def tasks(seed, n, n_tasks=2):
    g = torch.Generator().manual_seed(seed)
    split = lambda k: (torch.rand(k, 784, generator=g), torch.randint(10, (k,), generator=g))   # noqa: E731
    return [Task(f"t{t}", *split(n), *split(n // 5), "synthetic", *split(n // 10)) for t in range(n_tasks)]


if __name__ == "__main__":
    M, n, method = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    torch.set_num_threads(1)
    x = torch.randn(64, 784)
    (x @ x.T).sum()                      # load the kernels before the baseline
    base = rss()
    runs = [EnsembleRun(MLP(784, (1024, 512, 256), 10, seed=m), tasks(m, n), seed=m, method=method, lam=1.0)
            for m in range(M)]
    max_memory = 2 ** 27
    estimate = M * run_bytes(runs[0]) + stack_overhead(max_memory)
    train_ensemble(runs, epochs=1, lr=1e-4, batch_size=100, n_slices=100, max_memory=max_memory)
    print(json.dumps({"peak": rss() - base, "estimate": estimate}))
