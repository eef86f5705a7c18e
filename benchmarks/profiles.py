"""Profiles of the benchmarks that miss their targets: where the time goes, so the gap can be explained.

``python -m benchmarks.profiles [--smoke]`` prints, for each case, the top operators (torch.profiler, self CPU
time) or Python functions (cProfile, cumulative time) and the share of the total they take.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats

from torch.profiler import ProfilerActivity, profile

from scpviz.training import adam
from scpviz.importance import mas_importance
from scpviz.models import MLP

from .common import table
from .importance import _inputs, penalty_step


def _top_ops(fn, k=8):
    """(rows, total_ms): the ``k`` operators with the most self CPU time while ``fn`` runs once, then the
    inclusive time of every ``record_function`` range named "... (inclusive)"."""
    fn()  # warm-up
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        fn()
    events = prof.key_averages()
    total = sum(e.self_cpu_time_total for e in events)
    ranges = [e for e in events if e.key.endswith("(inclusive)")]
    top = sorted((e for e in events if e not in ranges), key=lambda e: e.self_cpu_time_total, reverse=True)[:k]
    return [[e.key, e.count, f"{t / 1e3:.2f}", f"{100 * t / total:.0f}%"]
            for e, t in [(e, e.self_cpu_time_total) for e in top] + [(e, e.cpu_time_total) for e in ranges]], \
        total / 1e3


def profile_mas(n=1000, hidden=(1024, 512, 256)):
    """MAS's batched rule: matrix products dominate, i.e. it runs at the CPU's compute floor."""
    model = MLP(hidden=hidden, seed=0)
    x, _ = _inputs(n)
    return _top_ops(lambda: mas_importance(model, x))


def profile_penalty_step(steps=20, hidden=(1024, 512, 256), batch=100):
    """A training step with the fused penalty gradient: the two foreach passes vs the rest of the step."""
    step = penalty_step(hidden, batch)

    def run():
        for _ in range(steps):
            step("fused")
    return _top_ops(run, k=10)


def profile_dataloader(n=5000, hidden=(1024, 512, 256), batch=100):
    """The course-notebook DataLoader epoch under cProfile: per-sample transforms vs the model's compute."""
    from .training import _dataloader_epoch

    model = MLP(hidden=hidden, seed=0)
    opt = adam(model.parameters(), 1e-4)
    run = _dataloader_epoch(model, opt, n, batch)
    run()
    pr = cProfile.Profile()
    pr.enable()
    run()
    pr.disable()
    st = pstats.Stats(pr, stream=io.StringIO())
    total = max(v[3] for v in st.stats.values())  # cumulative time of the outermost call
    wanted = ("__getitem__", "__call__", "to_tensor", "normalize", "default_collate", "forward", "backward",
              "step", "<lambda>")
    rows = []
    for (file, line, func), (cc, nc, tt, ct, callers) in st.stats.items():
        if func in wanted and ("torchvision" in file or "torch/" in file or "benchmarks" in file):
            rows.append([f"{func} ({file.split('/')[-1]}:{line})", nc, f"{1e3 * ct:.0f}", f"{100 * ct / total:.0f}%"])
    rows.sort(key=lambda r: -float(r[2]))
    return rows[:10], 1e3 * total


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m benchmarks.profiles")
    ap.add_argument("--smoke", action="store_true", help="tiny sizes (what CI runs)")
    args = ap.parse_args(argv)
    small = dict(hidden=(32, 16))
    cases = [("mas_importance (batched rule), paper MLP, 1,000 images", profile_mas,
              dict(n=20, **small) if args.smoke else {}),
             ("training step + fused penalty gradient, 20 steps", profile_penalty_step,
              dict(steps=2, **small) if args.smoke else {}),
             ("DataLoader epoch (cProfile, cumulative)", profile_dataloader,
              dict(n=200, **small) if args.smoke else {})]
    out = {}
    for title, fn, kw in cases:
        rows, total = fn(**kw)
        print(f"\n## {title}: total {total:.1f} ms")
        print(table(rows, ["operator / function", "calls", "ms", "share"]))
        out[title] = (rows, total)
    return out


if __name__ == "__main__":
    main()
