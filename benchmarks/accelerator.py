"""The auto-encoder's hot paths on an accelerator (the README's H100 table): Γ with K = 784 > L = 100 in its three
modes vs Algorithm 1 verbatim (time and peak device memory), and one training epoch of one digit vs the bare
forward+backward(+Adam) of the same batches.

``python -m benchmarks.accelerator [--smoke] [--device cuda]``; runs on the CPU too (no memory column there).
"""

from __future__ import annotations

import argparse

import torch

from scpviz.training import adam
from scpviz.datasets import digit_tasks, load_mnist
from scpviz.distances import random_slices
from scpviz.importance import scp_importance, scp_importance_reference
from scpviz.models import AutoEncoder

from .common import interleaved, max_rel_diff, peak_mib, table
from .training import autoencoder_epoch_fns


def _sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def run(device=None, n=None, hidden=(1024, 1024, 1024), code=256, n_slices=100, repeat=5, digit=2):
    device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    x = digit_tasks(load_mnist(device=device, verbose=False), order=[digit])[0].x_train
    x = x if n is None else x[:n]
    model = AutoEncoder(in_features=x.shape[1], hidden=hidden, code=code, seed=0).to(device)
    sl = random_slices(n_slices, x.shape[1], seed=0).float().to(device)

    def timed(fn):
        def f():
            out = fn()
            _sync(device)
            return out
        return f

    modes = {"reference": lambda: scp_importance_reference(model, x, sl),
             "one batch, loop": lambda: scp_importance(model, x, slices=sl, batch_size=len(x)),
             "one batch, batched": lambda: scp_importance(model, x, slices=sl, batch_size=len(x), vjp="batched"),
             "batches of N/3, loop": lambda: scp_importance(model, x, slices=sl, batch_size=-(-len(x) // 3))}
    t, out = interleaved({k: timed(f) for k, f in modes.items()}, repeat)
    mem = {k: peak_mib(f, device) for k, f in modes.items()}
    rows = [dict(metric=f"Γ, auto-encoder K={x.shape[1]} > L={n_slices}, N={len(x)}: {k} vs Algorithm 1 verbatim",
                 ours=t[k], baseline=t["reference"], ratio=t["reference"] / t[k],
                 diff=max_rel_diff(out[k], out["reference"]), mem=mem[k], mem_ref=mem["reference"])
            for k in modes if k != "reference"]

    opt = adam(model.parameters(), 1e-4)
    t, _ = interleaved(autoencoder_epoch_fns(model, x, opt, 100, sync=lambda: _sync(device)), repeat)
    rows += [dict(metric=f"engine epoch, one digit ({len(x)} images) vs bare forward+backward+Adam ({type(opt).__name__}"
                         f"{', fused' if opt.defaults.get('fused') else ''})",
                  ours=t["engine"], baseline=t["bare+Adam"], ratio=t["engine"] / t["bare+Adam"], diff=float("nan")),
             dict(metric="  same vs bare forward+backward", ours=t["engine"], baseline=t["bare"],
                  ratio=t["engine"] / t["bare"], diff=float("nan"))]
    return rows, device


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m benchmarks.accelerator")
    ap.add_argument("--smoke", action="store_true", help="tiny network and data (what CI runs)")
    ap.add_argument("--device", default=None)
    args = ap.parse_args(argv)
    kw = dict(n=60, hidden=(16,), code=4, n_slices=8, repeat=2) if args.smoke else {}
    rows, device = run(args.device, **kw)
    print(f"device: {torch.cuda.get_device_name(device) if device.type == 'cuda' else device}, torch {torch.__version__}")
    print(table([[r["metric"], f"{1e3 * r['ours']:.1f} ms", f"{1e3 * r['baseline']:.1f} ms", f"{r['ratio']:.2f}x",
                  f"{r['diff']:.1e}", f"{r.get('mem', float('nan')):.0f} / {r.get('mem_ref', float('nan')):.0f}"]
                 for r in rows], ["metric", "ours", "baseline", "ratio", "max rel diff", "peak MiB ours / ref"]))
    return rows


if __name__ == "__main__":
    main()
