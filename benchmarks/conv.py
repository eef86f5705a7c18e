"""Per-sample importances of a convolutional net (issue: MNIST → SVHN): the VGG-like network of §8.4 with BatchNorm
(eval) and Dropout, Fisher (exact) and MAS over N images — our per-layer rules (unfold for Conv2d, eval BatchNorm)
against a per-sample loop, torch.func (vmap of per-sample grads, what such a net fell back to before) and BackPACK
(``backpack-for-pytorch``, when installed: its SumGradSquared extension). Time: medians of round-robin repeats in one
process; peak memory: a fresh process per side (``python -m benchmarks.conv``).
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import subprocess
import sys

import torch
import torch.nn.functional as F

from .common import interleaved, max_rel_diff, table

SIDES = ("ours", "loop", "func", "backpack")


def _model(channels, hidden, seed=0, dtype=torch.float32):
    from scpviz.models import VGGLike

    m = VGGLike(channels=channels, hidden=hidden, seed=seed).to(dtype)
    m.train()
    with torch.no_grad():     # non-trivial running statistics, as after training
        for _ in range(3):
            m(torch.randn(64, 1, 32, 32, generator=torch.Generator().manual_seed(seed), dtype=dtype))
    return m.eval()


def _inputs(n, seed=0, dtype=torch.float32):
    return torch.rand(n, 1, 32, 32, generator=torch.Generator().manual_seed(seed), dtype=dtype) * 2 - 1


def _loop(model, x, kind):
    """The straightforward version: one forward and (per class) one backward per image."""
    params = list(model.parameters())
    acc = [torch.zeros_like(p) for p in params]
    for n in range(len(x)):
        out = model(x[n:n + 1])
        if kind == "mas":
            terms = [(1.0, out.pow(2).sum())]
        else:
            logp = F.log_softmax(out, 1)[0]
            terms = [(logp[c].detach().exp(), logp[c]) for c in range(logp.shape[0])]
        for t, (w, scalar) in enumerate(terms):
            for a, g in zip(acc, torch.autograd.grad(scalar, params, retain_graph=t < len(terms) - 1)):
                a.add_(w * g * g)
    return {name: a / len(x) for (name, _), a in zip(model.named_parameters(), acc)}


def _backpack(model, x, kind, batch_size=500):
    """BackPACK's SumGradSquared on the same objective (sum over samples; per class for the exact Fisher, with a
    forward per class: BackPACK does not support several backward passes through one graph)."""
    from backpack import backpack, extend
    from backpack.extensions import SumGradSquared

    model = extend(copy.deepcopy(model))     # extend() adds hooks in place: keep them off the other sides' model
    params = list(model.parameters())
    acc = [torch.zeros_like(p) for p in params]
    for i in range(0, len(x), batch_size):
        xb = x[i:i + batch_size]
        n_terms = 1 if kind == "mas" else model.n_classes
        for c in range(n_terms):        # BackPACK keeps each module's input for one backward: a forward per term
            out = model(xb)
            if kind == "mas":
                term = out.pow(2).sum(1)
            else:
                logp = F.log_softmax(out, 1)[:, c]
                term = logp * logp.detach().exp().sqrt()
            model.zero_grad()
            with backpack(SumGradSquared()):
                term.sum().backward()
            for a, p in zip(acc, params):
                a.add_(p.sum_grad_squared)
    return {name: a / len(x) for (name, _), a in zip(model.named_parameters(), acc)}


def _fn(side, model, kind):
    from scpviz.importance import fisher_importance, mas_importance

    if side == "loop":
        return lambda x: _loop(model, x, kind)
    if side == "backpack":
        return lambda x: _backpack(model, x, kind)
    method = "hooks" if side == "ours" else "func"
    if kind == "mas":
        return lambda x: mas_importance(model, x, method=method)
    return lambda x: fisher_importance(model, x, "exact", method=method)


def have_backpack() -> bool:
    try:
        import backpack  # noqa: F401
    except ImportError:
        return False
    return True


def bench_conv(n=1000, channels=(32, 32, 64, 64), hidden=(128,), kinds=("mas", "fisher"), repeat=3, sides=SIDES,
               dtype=torch.float32):
    """Time of each side and its largest relative difference from the loop, per importance.

    In float32 the early convolutions' squared gradients differ from the loop's by up to ~5e-3 (relative to the
    largest entry of that tensor; the sums of many cancelling terms round differently in a batch and one image at a
    time); in float64 every side equals the loop to ~1e-12 (``tests/test_benchmarks.py``).
    """
    sides = [s for s in sides if s != "backpack" or have_backpack()]
    x = _inputs(n, dtype=dtype)
    rows = []
    for kind in kinds:
        model = _model(channels, hidden, dtype=dtype)
        fns = {s: (lambda f=_fn(s, model, kind): f(x)) for s in sides}
        warm = {s: (lambda f=_fn(s, model, kind): f(x[:20])) for s in sides}
        t, out = interleaved(fns, repeat, warmup=warm)
        for s in sides:
            if s == "loop":
                continue
            rows.append(dict(metric=f"{kind} on VGG-like {list(channels)}+{list(hidden)} (N={n}): {s} vs per-sample "
                                    "loop", ours=t[s], baseline=t["loop"], ratio=t["loop"] / t[s],
                             diff=max_rel_diff(out[s], out["loop"])))
    return rows


_CHILD = r"""
import json, sys, time, torch
from benchmarks.conv import _fn, _inputs, _model

def hwm_mib():   # the process's peak RSS so far (VmHWM), in MiB
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024

side, kind, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
channels, hidden = json.loads(sys.argv[4]), json.loads(sys.argv[5])
model, x = _model(channels, hidden), _inputs(n)
with open("/proc/self/clear_refs", "w") as f:   # reset the peak: a child starts with its parent's high-water mark
    f.write("5")
before = hwm_mib()
t = time.perf_counter()
_fn(side, model, kind)(x)
dt = time.perf_counter() - t
print(json.dumps({"seconds": dt, "peak_mb": hwm_mib(), "before_mb": before}))
"""


def peak_memory(n=1000, channels=(32, 32, 64, 64), hidden=(128,), kind="fisher", sides=SIDES):
    """Peak RSS (MiB, VmHWM, Linux) of each side's call in a fresh process, and what the process held before it."""
    out = {}
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    for s in sides:
        if s == "backpack" and not have_backpack():
            continue
        res = subprocess.run([sys.executable, "-c", _CHILD, s, kind, str(n), json.dumps(list(channels)),
                              json.dumps(list(hidden))], capture_output=True, text=True, check=True, cwd=root)
        out[s] = json.loads(res.stdout.strip().splitlines()[-1])
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m benchmarks.conv")
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--channels", type=int, nargs="+", default=[32, 32, 64, 64])
    ap.add_argument("--hidden", type=int, nargs="+", default=[128])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--memory", action="store_true", help="also peak RSS per side (fresh processes)")
    ap.add_argument("--memory-only", action="store_true", help="only the peak RSS per side")
    args = ap.parse_args(argv)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; BackPACK: {have_backpack()}")
    rows = [] if args.memory_only else bench_conv(args.n, tuple(args.channels), tuple(args.hidden), repeat=args.repeat)
    print(table([[r["metric"], f"{r['ours']:.3g} s", f"{r['baseline']:.3g} s", f"{r['ratio']:.2f}x",
                  f"{r['diff']:.1e}"] for r in rows], ["metric", "side", "loop", "ratio", "max rel diff"]))
    if args.memory or args.memory_only:
        mem = peak_memory(args.n, tuple(args.channels), tuple(args.hidden))
        print(table([[s, f"{v['seconds']:.3g} s", f"{v['peak_mb']:.0f} MiB", f"{v['peak_mb'] - v['before_mb']:.0f} MiB"]
                     for s, v in mem.items()], ["fisher exact, side", "time (one call)", "peak RSS", "added by the call"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
