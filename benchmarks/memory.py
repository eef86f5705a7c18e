"""Peak memory and the K > L case: scp_importance's memory stays flat in N; the auto-encoder (K = 784 > L)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

_CHILD = r"""
import json, resource, sys, time, torch
from scpviz.importance import scp_importance, scp_importance_reference
from scpviz.distances import random_slices
from scpviz.models import MLP, AutoEncoder
kind, n, L, which = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
hidden = json.loads(sys.argv[5])
model = MLP(hidden=hidden, seed=0) if kind == "mlp" else AutoEncoder(hidden=hidden[:-1], code=hidden[-1], seed=0)
x = torch.rand(n, 784, generator=torch.Generator().manual_seed(0))
K = 10 if kind == "mlp" else 784
sl = random_slices(L, K, seed=0).float()
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
t = time.perf_counter()
g = scp_importance(model, x, slices=sl) if which == "fast" else scp_importance_reference(model, x, sl)
dt = time.perf_counter() - t
torch.save(g, sys.argv[6])
print(json.dumps({"seconds": dt, "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "before_mb": base / 1024}))
"""


def _child(kind, n, L, which, hidden, out):
    env = dict(os.environ)
    res = subprocess.run([sys.executable, "-c", _CHILD, kind, str(n), str(L), which, json.dumps(list(hidden)), out],
                         capture_output=True, text=True, env=env, check=True)
    return json.loads(res.stdout.strip().splitlines()[-1])


def bench_memory_flat(ns=(10000, 60000), hidden=(1024, 512, 256), L=100, tmp="/tmp"):
    """Peak RSS of scp_importance (fresh process each) for two dataset sizes: flat means no whole-data graph."""
    rows = [dict(n=n, **_child("mlp", n, L, "fast", hidden, os.path.join(tmp, f"g{n}.pt"))) for n in ns]
    a, b = rows
    return [dict(metric=f"scp_importance peak RSS, N={b['n']} vs N={a['n']} (MB above the input tensor)",
                 ours=b["peak_mb"] - b["n"] * 784 * 4 / 2 ** 20, baseline=a["peak_mb"] - a["n"] * 784 * 4 / 2 ** 20,
                 ratio=(b["peak_mb"] - b["n"] * 784 * 4 / 2 ** 20) / (a["peak_mb"] - a["n"] * 784 * 4 / 2 ** 20),
                 diff=float("nan"), unit="MB")]


def bench_autoencoder(n=1000, L=100, hidden=(1024, 1024, 1024, 256), tmp="/tmp"):
    """K = 784 > L: scp_importance vs Algorithm 1 verbatim (time, peak memory), same slices, same result."""
    import torch

    from .common import max_rel_diff

    fast = _child("ae", n, L, "fast", hidden, os.path.join(tmp, "ae_fast.pt"))
    ref = _child("ae", n, L, "ref", hidden, os.path.join(tmp, "ae_ref.pt"))
    diff = max_rel_diff(torch.load(os.path.join(tmp, "ae_fast.pt")), torch.load(os.path.join(tmp, "ae_ref.pt")))
    return [dict(metric=f"scp_importance, auto-encoder K=784 > L={L} (N={n}): time vs Algorithm 1 verbatim",
                 ours=fast["seconds"], baseline=ref["seconds"], ratio=ref["seconds"] / fast["seconds"], diff=diff),
            dict(metric="  same: peak RSS, ours vs verbatim", ours=fast["peak_mb"], baseline=ref["peak_mb"],
                 ratio=ref["peak_mb"] / fast["peak_mb"], diff=diff, unit="MB")]
