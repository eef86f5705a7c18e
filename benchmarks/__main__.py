"""python -m benchmarks [--smoke] — run every benchmark and print one table (medians of 5 round-robin repeats
after a warm-up; ``python -m benchmarks.profiles`` profiles the ones that miss their targets)."""

from __future__ import annotations

import argparse
import platform

import torch

from . import importance, memory, training
from .common import table


def run(smoke=False):
    if smoke:
        rows = [importance.bench_scp(n=300, n_slices=8, hidden=(32, 16), repeat=2)]
        rows += importance.bench_persample(n=20, hidden=(32, 16), repeat=2)
        rows += importance.bench_penalty(steps=5, hidden=(32, 16), repeat=2)
        rows += training.bench_epoch(n=500, hidden=(32, 16), repeat=2)
    else:
        rows = [importance.bench_scp()]
        rows += importance.bench_persample()
        rows += importance.bench_penalty()
        rows += training.bench_epoch()
        rows += training.bench_epoch_autoencoder()
        rows += training.bench_live()
        rows += memory.bench_memory_flat()
        rows += memory.bench_autoencoder()
    return rows


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m benchmarks")
    ap.add_argument("--smoke", action="store_true", help="tiny sizes, seconds (what CI runs)")
    args = ap.parse_args(argv)
    print(f"machine: {platform.processor() or platform.machine()}, {torch.get_num_threads()} torch threads, "
          f"torch {torch.__version__}")
    rows = run(args.smoke)
    print(table([[r["metric"], f"{r['ours']:.4g} {r.get('unit', 's')}", f"{r['baseline']:.4g} {r.get('unit', 's')}",
                  f"{r['ratio']:.2f}x",
                  f"{r['diff']:.1e}"] for r in rows],
                ["metric", "ours", "baseline", "ratio", "max rel diff"]))
    return rows


if __name__ == "__main__":
    main()
