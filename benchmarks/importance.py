"""Importances and penalty: scp_importance vs Algorithm 1 verbatim; Fisher/MAS vs per-sample loops;
penalty overhead per training step. Paper MLP 784-1024-512-256-10, float32, this machine's CPU threads."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from scpviz.consolidation import Consolidation
from scpviz.training import adam
from scpviz.distances import random_slices
from scpviz.importance import fisher_importance, mas_importance, scp_importance, scp_importance_reference
from scpviz.models import MLP

from .common import interleaved, max_rel_diff


def _inputs(n, seed=0):
    from scpviz.datasets import load_mnist

    ds = load_mnist(device="cpu", verbose=False)
    x = ds.x_train.flatten(1)
    reps = -(-n // len(x))
    return torch.cat([x] * reps)[:n], ds.name


def bench_scp(n=60000, n_slices=100, hidden=(1024, 512, 256), repeat=5):
    model = MLP(hidden=hidden, seed=0)
    x, name = _inputs(n)
    sl = random_slices(n_slices, 10, seed=0).float()
    fns = {"fast": lambda: scp_importance(model, x, slices=sl), "ref": lambda: scp_importance_reference(model, x, sl)}
    warm = {"fast": lambda: scp_importance(model, x[:2000], slices=sl),
            "ref": lambda: scp_importance_reference(model, x[:2000], sl)}
    t, out = interleaved(fns, repeat, warmup=warm)
    return dict(metric=f"scp_importance vs Algorithm 1 verbatim (N={n}, L={n_slices}, {name})",
                ours=t["fast"], baseline=t["ref"], ratio=t["ref"] / t["fast"], diff=max_rel_diff(out["fast"], out["ref"]))


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


def bench_persample(n=1000, hidden=(1024, 512, 256), repeat=5):
    model = MLP(hidden=hidden, seed=0)
    x, name = _inputs(n)
    rows = []
    for label, fast, loop in (("fisher_importance exact", lambda d: fisher_importance(model, d, "exact"), _loop_fisher),
                              ("mas_importance paper", lambda d: mas_importance(model, d), _loop_mas)):
        t, out = interleaved({"fast": lambda: fast(x), "loop": lambda: loop(model, x)}, repeat,
                             warmup={"fast": lambda: fast(x), "loop": lambda: loop(model, x[:20])})
        rows.append(dict(metric=f"{label} vs per-sample loop (N={n}, {name})", ours=t["fast"], baseline=t["loop"],
                         ratio=t["loop"] / t["fast"], diff=max_rel_diff(out["fast"], out["loop"])))
    return rows


def penalty_step(hidden=(1024, 512, 256), batch=100):
    """A function ``step(mode)``: one Adam step of the paper MLP on one batch, with no penalty (``"none"``), the
    fused penalty gradient the engine uses (``"fused"``) or the autograd-valued penalty (``"autograd"``)."""
    model = MLP(hidden=hidden, seed=0)
    x, _ = _inputs(batch)
    y = torch.arange(batch) % 10
    c = Consolidation("scp", lam=1.0)
    c.importance = {n: torch.rand_like(p) for n, p in model.named_parameters()}
    c.theta_star = {n: p.detach().clone() for n, p in model.named_parameters()}
    opt = adam(model.parameters(), 1e-4)

    def step(mode):
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(x), y)
        if mode == "autograd":
            loss = loss + c.penalty(model)
        loss.backward()
        if mode == "fused":
            with torch.profiler.record_function("add_penalty_grad_ (inclusive)"):
                c.add_penalty_grad_(model)
        opt.step()
    return step


def bench_penalty(steps=50, hidden=(1024, 512, 256), batch=100, repeat=5):
    """Adam step with the penalty (fused gradient path, as the engine uses it) vs without."""
    step = penalty_step(hidden, batch)

    def run(mode):
        for _ in range(steps):
            step(mode)

    modes = ("none", "fused", "autograd")
    t, _ = interleaved({m: (lambda m=m: run(m)) for m in modes}, repeat)
    times = {m: t[m] / steps for m in modes}
    return [dict(metric=f"training step + penalty ({label}) vs plain step (batch {batch})",
                 ours=times[mode], baseline=times["none"], ratio=times[mode] / times["none"], diff=float("nan"))
            for mode, label in (("fused", "fused gradient"), ("autograd", "autograd value"))]
