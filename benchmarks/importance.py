"""Importances and penalty: scp_importance vs Algorithm 1 verbatim; Fisher/MAS vs per-sample loops;
penalty overhead per training step. Paper MLP 784-1024-512-256-10, float32, this machine's CPU threads."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from scpviz.consolidation import Consolidation
from scpviz.distances import random_slices
from scpviz.importance import fisher_importance, mas_importance, scp_importance, scp_importance_reference
from scpviz.models import MLP

from .common import best_of, max_rel_diff


def _inputs(n, seed=0):
    from scpviz.data import load_mnist

    ds = load_mnist(device="cpu", verbose=False)
    x = ds.x_train.flatten(1)
    reps = -(-n // len(x))
    return torch.cat([x] * reps)[:n], ds.name


def bench_scp(n=60000, n_slices=100, hidden=(1024, 512, 256), repeat=1):
    model = MLP(hidden=hidden, seed=0)
    x, name = _inputs(n)
    sl = random_slices(n_slices, 10, seed=0).float()
    t_fast, fast = best_of(lambda: scp_importance(model, x, slices=sl), repeat)
    t_ref, ref = best_of(lambda: scp_importance_reference(model, x, sl), 1)
    return dict(metric=f"scp_importance vs Algorithm 1 verbatim (N={n}, L={n_slices}, {name})",
                ours=t_fast, baseline=t_ref, ratio=t_ref / t_fast, diff=max_rel_diff(fast, ref))


def _loop_fisher(model, x):
    params = list(model.parameters())
    acc = [torch.zeros_like(p) for p in params]
    for n in range(len(x)):
        logp = F.log_softmax(model(x[n:n + 1]), 1)[0]
        for c in range(logp.shape[0]):
            g = torch.autograd.grad(logp[c], params, retain_graph=c < logp.shape[0] - 1)
            w = logp[c].detach().exp()
            for a, gi in zip(acc, g):
                a.add_(w * gi * gi)
    return {n: a / len(x) for (n, _), a in zip(model.named_parameters(), acc)}


def _loop_mas(model, x):
    params = list(model.parameters())
    acc = [torch.zeros_like(p) for p in params]
    for n in range(len(x)):
        g = torch.autograd.grad(model(x[n:n + 1]).pow(2).sum(), params)
        for a, gi in zip(acc, g):
            a.add_(gi * gi)
    return {n: a / len(x) for (n, _), a in zip(model.named_parameters(), acc)}


def bench_persample(n=1000, hidden=(1024, 512, 256)):
    model = MLP(hidden=hidden, seed=0)
    x, name = _inputs(n)
    rows = []
    for label, fast_fn, loop_fn in (
        ("fisher_importance exact", lambda: fisher_importance(model, x, "exact"), lambda: _loop_fisher(model, x)),
        ("mas_importance paper", lambda: mas_importance(model, x), lambda: _loop_mas(model, x)),
    ):
        t_fast, fast = best_of(fast_fn, 3)
        t_loop, ref = best_of(loop_fn, 1)
        rows.append(dict(metric=f"{label} vs per-sample loop (N={n}, {name})", ours=t_fast, baseline=t_loop,
                         ratio=t_loop / t_fast, diff=max_rel_diff(fast, ref)))
    return rows


def bench_penalty(steps=200, hidden=(1024, 512, 256), batch=100):
    """Adam step with the penalty (fused gradient path, as the engine uses it) vs without."""
    model = MLP(hidden=hidden, seed=0)
    x, _ = _inputs(batch)
    y = torch.arange(batch) % 10
    c = Consolidation("scp", lam=1.0)
    c.importance = {n: torch.rand_like(p) for n, p in model.named_parameters()}
    c.theta_star = {n: p.detach().clone() for n, p in model.named_parameters()}
    opt = torch.optim.Adam(model.parameters(), lr=1e-4)

    def step(mode):
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(x), y)
        if mode == "autograd":
            loss = loss + c.penalty(model)
        loss.backward()
        if mode == "fused":
            c.add_penalty_grad_(model)
        opt.step()

    def run(mode):
        for _ in range(10):
            step(mode)
        import time
        t = time.perf_counter()
        for _ in range(steps):
            step(mode)
        return (time.perf_counter() - t) / steps

    times = {m: min(run(m) for _ in range(3)) for m in ("none", "fused", "autograd")}
    return [dict(metric=f"training step + penalty ({label}) vs plain step (batch {batch})",
                 ours=times[mode], baseline=times["none"], ratio=times[mode] / times["none"], diff=float("nan"))
            for mode, label in (("fused", "fused gradient"), ("autograd", "autograd value"))]
