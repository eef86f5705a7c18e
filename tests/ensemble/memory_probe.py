"""Peak memory of one CPU ensemble against its estimate (run as a script by test_memory.py: a fresh process)."""
import json
import sys

import torch

from scpviz.datasets import Task
from scpviz.ensemble import EnsembleRun, run_bytes, stack_overhead, train_ensemble
from scpviz.models import MLP


def status(key):
    """A line of /proc/self/status in bytes: VmRSS (now) or VmHWM (the peak since the last reset)."""
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) * 1024 for line in f if line.startswith(key + ":"))


def reset_peak():
    with open("/proc/self/clear_refs", "w") as f:   # "5": reset VmHWM to the current RSS (Linux >= 4.0)
        f.write("5")


def tasks(seed, n, n_tasks=2):
    g = torch.Generator().manual_seed(seed)
    split = lambda k: (torch.rand(k, 784, generator=g), torch.randint(10, (k,), generator=g))   # noqa: E731
    return [Task(f"t{t}", *split(n), *split(n // 5), "synthetic", *split(n // 10)) for t in range(n_tasks)]


if __name__ == "__main__":
    M, n, method = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    torch.set_num_threads(1)
    x = torch.randn(64, 784)
    (x @ x.T).sum()                      # load the kernels before the baseline
    reset_peak()                         # the peak from here on: not the imports'
    base = status("VmRSS")
    runs = [EnsembleRun(MLP(784, (1024, 512, 256), 10, seed=m), tasks(m, n), seed=m, method=method, lam=1.0)
            for m in range(M)]
    max_memory = 2 ** 27
    estimate = M * run_bytes(runs[0]) + stack_overhead(max_memory)
    train_ensemble(runs, epochs=1, lr=1e-4, batch_size=100, n_slices=100, max_memory=max_memory)
    print(json.dumps({"peak": status("VmHWM") - base, "estimate": estimate}))
