"""Consolidating a dense output (issue: SYNTHIA segmentation, §5.3): the cost of the importances of a U-Net.

SCP's Γ at the **output** preserves K = 13·h·w class scores per frame (K ≫ L, so Γ takes L backward passes); at the
**bottleneck** (``layer="down.{depth}"``) K = 2^depth·base·(h/2^depth)·(w/2^depth) features, still ≫ L, but the L
backward passes only run through the encoder. Rows: Γ at the output and at the bottleneck (time and peak memory,
ratio = output / bottleneck), Algorithm 1 verbatim at the output against ours (one whole-data graph held for L
backward passes; ratio = verbatim / ours, same slices, same result), and MAS and the sampled per-pixel Fisher for
scale. Frames are uniform noise of the budget's size (the cost does not depend on the content).

``python -m benchmarks.segmentation [--budget teach|paper] [--device cuda] [--frames N] [--slices L]``. Peak memory:
``torch.cuda.max_memory_allocated`` above the model and data on CUDA; on the CPU the resident set of a fresh process
per side, sampled every 2 ms, above what it was after building the model and data.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

import torch

from .common import interleaved, max_rel_diff, peak_mib, table

SIZES = {"quick": dict(base=4, depth=2, height=32, width=48), "teach": dict(base=12, depth=3, height=48, width=72),
         "paper": dict(base=64, depth=4, height=256, width=448)}


def _setup(budget, n, device, seed=0):
    from scpviz.models import UNet

    s = SIZES[budget]
    model = UNet(base=s["base"], depth=s["depth"], seed=seed).to(device)
    x = torch.rand(n, 3, s["height"], s["width"], generator=torch.Generator().manual_seed(seed)).to(device)
    return model, x, f"down.{s['depth']}"


def _fns(model, x, bottleneck, L, batch_size, reference=True):
    from scpviz.distances import random_slices
    from scpviz.importance import fisher_importance, mas_importance, scp_importance, scp_importance_reference

    with torch.no_grad():
        K_out = model(x[:1]).numel()
    feats = {}
    h = dict(model.named_modules())[bottleneck].register_forward_hook(
        lambda m, i, o: feats.update(k=o[0].numel()))
    with torch.no_grad():
        model(x[:1])
    h.remove()
    K_mid = feats["k"]
    s_out = random_slices(L, K_out, seed=0).to(x.device)
    s_mid = random_slices(L, K_mid, seed=0).to(x.device)
    fns = {
        "output": lambda: scp_importance(model, x, slices=s_out, batch_size=batch_size),
        "bottleneck": lambda: scp_importance(model, x, slices=s_mid, layer=bottleneck, batch_size=batch_size),
        "mas": lambda: mas_importance(model, x, batch_size=batch_size),
        "fisher": lambda: fisher_importance(model, x, labels="sample", seed=0, per_position=True,
                                            batch_size=batch_size),
    }
    if reference:
        fns["verbatim"] = lambda: scp_importance_reference(model, x, s_out)
    return fns, K_out, K_mid


_CHILD = r"""
import json, os, sys, threading, time, torch
from benchmarks.segmentation import _setup, _fns
budget, n, L, bs, which = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
model, x, mid = _setup(budget, n, "cpu")
fns, _, _ = _fns(model, x, mid, L, bs)
page = os.sysconf("SC_PAGE_SIZE")
rss = lambda: int(open("/proc/self/statm").read().split()[1]) * page
state = {"peak": rss(), "run": True}
def poll():                      # the process's peak was set by the imports: sample the resident set instead
    while state["run"]:
        state["peak"] = max(state["peak"], rss())
        time.sleep(0.002)
before = rss()
t = threading.Thread(target=poll)
t.start()
fns[which]()
state["run"] = False
t.join()
print(json.dumps({"mb": (state["peak"] - before) / 2 ** 20}))
"""


def _cpu_peak_mb(budget, n, L, bs, which):
    res = subprocess.run([sys.executable, "-c", _CHILD, budget, str(n), str(L), str(bs), which], capture_output=True,
                         text=True, check=True, env=dict(os.environ),
                         cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    return json.loads(res.stdout.strip().splitlines()[-1])["mb"]


def bench_segmentation(budget="teach", n=32, L=50, batch_size=16, device="cpu", repeat=3, reference=True, memory=True):
    """Rows of the table (seconds and MiB; ``ratio`` = baseline / ours); ``memory=False`` skips the peak-memory
    measurements (NaN; on the CPU each needs a fresh process)."""
    device = torch.device(device)
    model, x, mid = _setup(budget, n, device)
    fns, K_out, K_mid = _fns(model, x, mid, L, batch_size, reference=reference)
    sync = (lambda: torch.cuda.synchronize()) if device.type == "cuda" else (lambda: None)
    timed = {k: (lambda f=f: (f(), sync())[0]) for k, f in fns.items()}
    times, out = interleaved(timed, repeat=repeat)
    if not memory:
        mem = {k: float("nan") for k in fns}
    elif device.type == "cuda":
        mem = {k: peak_mib(f, device) for k, f in fns.items()}
    else:
        mem = {k: _cpu_peak_mb(budget, n, L, batch_size, k) for k in fns}
    s = SIZES[budget]
    tag = f"U-Net {s['base']}/{s['depth']}, {s['height']}×{s['width']}, N={n}, L={L}"
    rows = [dict(metric=f"Γ at the output (K={K_out:,}) vs the bottleneck (K={K_mid:,}), {tag}: time",
                 ours=times["bottleneck"], baseline=times["output"], ratio=times["output"] / times["bottleneck"],
                 diff=float("nan")),
            dict(metric="  same: peak memory, bottleneck vs output", ours=mem["bottleneck"], baseline=mem["output"],
                 ratio=mem["output"] / max(mem["bottleneck"], 1e-9), diff=float("nan"), unit="MiB")]
    if reference:
        diff = max_rel_diff(out["output"], out["verbatim"])
        rows += [dict(metric=f"Γ at the output, ours vs Algorithm 1 verbatim, {tag}: time", ours=times["output"],
                      baseline=times["verbatim"], ratio=times["verbatim"] / times["output"], diff=diff),
                 dict(metric="  same: peak memory", ours=mem["output"], baseline=mem["verbatim"],
                      ratio=mem["verbatim"] / max(mem["output"], 1e-9), diff=diff, unit="MiB")]
    for k, what in (("mas", "MAS (whole output map)"), ("fisher", "sampled per-pixel Fisher")):
        rows.append(dict(metric=f"{what}, {tag}: time vs Γ at the output", ours=times[k], baseline=times["output"],
                         ratio=times["output"] / times[k], diff=float("nan")))
        rows.append(dict(metric=f"  {what}: peak memory vs Γ at the output", ours=mem[k], baseline=mem["output"],
                         ratio=mem["output"] / max(mem[k], 1e-9), diff=float("nan"), unit="MiB"))
    return rows


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m benchmarks.segmentation")
    ap.add_argument("--budget", default="teach", choices=sorted(SIZES))
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--frames", type=int, default=32)
    ap.add_argument("--slices", type=int, default=50)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--no-reference", action="store_true", help="skip Algorithm 1 verbatim (a whole-data graph)")
    a = ap.parse_args(argv)
    dev = torch.device(a.device)
    name = torch.cuda.get_device_name(dev) if dev.type == "cuda" else "CPU"
    print(f"device: {name}, {torch.get_num_threads()} torch threads, torch {torch.__version__}")
    rows = bench_segmentation(a.budget, a.frames, a.slices, a.batch_size, a.device, a.repeat, not a.no_reference)
    print(table([[r["metric"], f"{r['ours']:.4g} {r.get('unit', 's')}", f"{r['baseline']:.4g} {r.get('unit', 's')}",
                  f"{r['ratio']:.2f}x", f"{r['diff']:.1e}"] for r in rows],
                ["metric", "ours", "baseline", "ratio", "max rel diff"]))
    return rows


if __name__ == "__main__":
    main()
