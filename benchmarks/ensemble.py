"""Many runs as one (scpviz.ensemble): runs per hour against the ensemble size M, the ensemble against the same runs
trained one by one with ``train_sequence`` in one process, and the peak device memory.

The workload is permuted MNIST's network and batch (784-1024-512-256-10, batch 100, Adam) on synthetic inputs of
MNIST's shape (the timing does not depend on the pixels), every run with its own images, permutations, seed and λ
(SCP, the costliest importance). It times ``--tasks`` tasks of ``--epochs`` epochs of ``--train`` images each and
reports the measured throughput as **run-epochs per hour** (one run trained one epoch on one task), and from it the
runs per hour of a budget: ``teach`` (10 tasks × 2 epochs × 8,000 images) or ``paper`` (10 × 20 × 55,000) — a
linear extrapolation in images, stated as such. Medians of round-robin repeats, both sides in one process
(``python -m benchmarks.ensemble [--device cuda] [--sizes 1 4 16 64 256]``).
"""

from __future__ import annotations

import argparse
import dataclasses
import platform

import torch

from .common import interleaved, peak_mib, table

BUDGETS = {"teach": dict(tasks=10, epochs=2, train=8000), "paper": dict(tasks=10, epochs=20, train=55000)}


def _tasks(seed, n_tasks, n_train, n_eval, device, dtype=torch.float32):
    """``n_tasks`` permuted tasks of one run: its own random 784-pixel images, labels of a random linear teacher."""
    from scpviz.datasets import Task

    g = torch.Generator().manual_seed(seed)
    teacher = torch.randn(784, 10, generator=g)
    out = []
    for t in range(n_tasks):
        perm = torch.randperm(784, generator=g)
        xs = [torch.rand(n, 784, generator=g) for n in (n_train, n_eval, n_eval)]
        ys = [(x @ teacher).argmax(1) for x in xs]
        xs = [x[:, perm].to(device=device, dtype=dtype) for x in xs]
        out.append(Task(f"perm {t}", xs[0], ys[0].to(device), xs[2], ys[2].to(device), x_val=xs[1],
                        y_val=ys[1].to(device), dataset="synthetic, MNIST-shaped"))
    return out


def _runs(M, n_tasks, n_train, n_eval, hidden, device, method="scp"):
    from scpviz.ensemble import EnsembleRun
    from scpviz.models import MLP

    return [EnsembleRun(MLP(784, hidden, 10, seed=m).to(device), _tasks(m, n_tasks, n_train, n_eval, device),
                        seed=m, method=method, lam=10.0 ** (m % 5)) for m in range(M)]


def bench_ensemble(sizes=(1, 4, 16), n_tasks=2, epochs=1, n_train=2000, n_eval=500, hidden=(1024, 512, 256),
                   n_slices=100, device="cpu", repeat=3, budget="teach", alone=True):
    """One row per M: run-epochs per hour of the ensemble and of the same runs one by one, their ratio, the
    runs per hour of ``budget`` derived from them, and the peak device memory of the ensemble (CUDA only)."""
    from scpviz.consolidation import Consolidation
    from scpviz.ensemble import train_ensemble
    from scpviz.training import HyperParams, train_sequence

    hp = HyperParams(epochs=epochs, lr=1e-4, batch_size=100)
    b = BUDGETS[budget]
    per_run_epoch_images = n_tasks * epochs * n_train
    rows = []
    for M in sizes:
        runs = _runs(M, n_tasks, n_train, n_eval, hidden, device)
        init = [{k: v.clone() for k, v in r.model.state_dict().items()} for r in runs]

        def reset():
            for r, s in zip(runs, init):
                r.model.load_state_dict(s)

        def ensemble():
            reset()
            train_ensemble(runs, hparams=hp, n_slices=n_slices, device=device)
            if torch.device(device).type == "cuda":
                torch.cuda.synchronize()

        def one_by_one():
            reset()
            for r in runs:
                cons = Consolidation(r.method, lam=r.lam, n_slices=n_slices, seed=r.seed)
                train_sequence(r.model, r.tasks, consolidation=cons, hparams=dataclasses.replace(hp, seed=r.seed),
                               progress=False)
            if torch.device(device).type == "cuda":
                torch.cuda.synchronize()

        fns = {"ensemble": ensemble, **({"one by one": one_by_one} if alone else {})}
        secs, _ = interleaved(fns, repeat=repeat)
        run_epochs = M * n_tasks * epochs
        row = dict(M=M, device=str(device), ensemble_run_epochs_per_h=run_epochs * 3600 / secs["ensemble"],
                   peak_mib=peak_mib(ensemble, device))
        if alone:
            row["alone_run_epochs_per_h"] = run_epochs * 3600 / secs["one by one"]
            row["ratio"] = secs["one by one"] / secs["ensemble"]
        # runs per hour of the budget: the measured images per second, scaled to the budget's images per run
        scale = per_run_epoch_images / (b["tasks"] * b["epochs"] * b["train"])
        row["ensemble_runs_per_h_" + budget] = M * 3600 / secs["ensemble"] * scale
        rows.append(row)
    return rows


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m benchmarks.ensemble", description=__doc__.split("\n\n")[0])
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--sizes", nargs="+", type=int, default=[1, 4, 16])
    ap.add_argument("--tasks", type=int, default=2)
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--train", type=int, default=2000)
    ap.add_argument("--budget", choices=sorted(BUDGETS), default="teach")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--no-alone", action="store_true", help="time the ensemble only (large M)")
    ap.add_argument("--smoke", action="store_true", help="tiny sizes, seconds (what CI runs)")
    args = ap.parse_args(argv)
    if args.smoke:
        rows = bench_ensemble(sizes=(1, 3), n_tasks=2, epochs=1, n_train=200, n_eval=50, hidden=(32, 16), n_slices=8,
                              device=args.device, repeat=1)
    else:
        rows = bench_ensemble(sizes=args.sizes, n_tasks=args.tasks, epochs=args.epochs, n_train=args.train,
                              device=args.device, repeat=args.repeat, budget=args.budget, alone=not args.no_alone)
    print(f"machine: {platform.processor() or platform.machine()}, {torch.get_num_threads()} torch threads, "
          f"torch {torch.__version__}, device {args.device}")
    keys = list(rows[0])
    print(table([[f"{r[k]:.4g}" if isinstance(r[k], float) else r[k] for k in keys] for r in rows], keys))
    return rows


if __name__ == "__main__":
    main()
