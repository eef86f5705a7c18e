"""Sums over samples of f(per-sample gradient), f = square or abs, for F and Ω.

For ``nn.Linear`` layers the per-sample weight gradient is δ_n a_nᵀ, so Σ_n f(δ_n a_nᵀ) = f(δ)ᵀ f(a): one batched
backward captured with hooks. Anything else goes through ``torch.func`` (vmap of per-sample grads, in chunks).
"""

from __future__ import annotations

import itertools

import torch
import torch.nn as nn

from .common import _model_device, _model_dtype, _zeros_like, eval_mode, iter_batches


class _LinearRule:
    """Per-sample f(gradient) sums for nn.Linear layers from one batched backward, f = square or abs.

    A forward hook records each Linear's input a (N, in) and output o (N, out);
    the gradients δ = ∂(Σ_n ℓ_n)/∂o are per-sample (samples do not interact in
    eval mode), and the per-sample weight gradient is δ_n a_nᵀ, so
    Σ_n f(δ_n a_nᵀ) = f(δ)ᵀ f(a) for f = square or abs; the bias gets Σ_n f(δ_n).
    Gradients are taken with respect to the layer outputs only, so autograd never
    forms the (unused) summed weight gradients.
    """

    def __init__(self, model, params, reduce):
        self.f = torch.square if reduce == "square" else torch.abs
        ids = {id(p): n for n, p in params.items()}
        self.mods = {}
        for m in model.modules():
            if isinstance(m, nn.Linear):
                names = {"weight": ids.get(id(m.weight)), "bias": ids.get(id(m.bias)) if m.bias is not None else None}
                names = {k: v for k, v in names.items() if v is not None}
                if names:
                    self.mods[m] = names
        covered = {v for d in self.mods.values() for v in d.values()}
        self.static_ok = covered == set(params)
        self.acc = _zeros_like(params)
        self.records = []
        self.handles = []

    def __enter__(self):
        self.handles = [m.register_forward_hook(self._fwd) for m in self.mods]
        return self

    def __exit__(self, *exc):
        for h in self.handles:
            h.remove()

    def _fwd(self, m, inp, out):
        self.records.append((m, inp[0].detach(), out))

    def forward_ok(self):
        mods = [r[0] for r in self.records]
        return len(mods) == len(set(mods)) and all(a.ndim == 2 and o.ndim == 2 for _, a, o in self.records)

    def accumulate(self, terms):
        """Backward each term to the layer outputs; Σ_terms f(δ) first, then one product with f(a) per layer.

        The input a of a layer is the same for every term (e.g. every class of
        the exact Fisher), so Σ_t f(δ_t)ᵀ f(a) = (Σ_t f(δ_t))ᵀ f(a): the
        expensive layer-sized product is done once per batch, not once per term.
        """
        recs = [r for r in self.records if r[2].requires_grad]
        outs = [o for _, _, o in recs]
        fsum = [None] * len(recs)
        for t, ell in enumerate(terms):
            deltas = torch.autograd.grad(ell.sum(), outs, retain_graph=t < len(terms) - 1, allow_unused=True)
            for i, d in enumerate(deltas):
                if d is not None:  # None: a layer after the preserved representation
                    fsum[i] = self.f(d) if fsum[i] is None else fsum[i].add_(self.f(d))
        for (m, a, _), fd in zip(recs, fsum):
            if fd is None:
                continue
            names = self.mods[m]
            if "weight" in names:
                self.acc[names["weight"]] += fd.T @ self.f(a)
            if "bias" in names:
                self.acc[names["bias"]] += fd.sum(0)
        self.records = []


def _sum_per_sample(model, params, batches, losses_fn, reduce, method):
    """E_x of Σ_terms f(per-sample gradient of each term), f = square or abs.

    ``losses_fn(out, y)`` returns a list of per-sample loss vectors (N,); for
    squared sums each is pre-multiplied by sqrt(weight) (e.g. sqrt p(y|x) per
    class for the exact Fisher).
    """
    rule = _LinearRule(model, params, reduce)
    if method == "hooks" and not rule.static_ok:
        raise ValueError("method='hooks' needs every trainable parameter in an nn.Linear layer; "
                         "use method='auto' or 'func'.")
    if method == "func" or not rule.static_ok:
        return _sum_per_sample_func(model, params, batches, losses_fn, reduce)
    n_total = 0
    batches = iter(batches)
    with rule:
        for x, y in batches:
            terms = losses_fn(model(x), y)
            if not rule.forward_ok():  # e.g. a Linear fed 3-D inputs, or called twice
                if method == "hooks":
                    raise ValueError("method='hooks' needs each nn.Linear called once on 2-D inputs; "
                                     "use method='auto' or 'func'.")
                rule.records = []
                if n_total == 0:
                    return _sum_per_sample_func(model, params, itertools.chain([(x, y)], batches), losses_fn, reduce)
                raise RuntimeError("model changed structure between batches")  # pragma: no cover
            rule.accumulate(terms)
            n_total += len(x)
    return {n: a / n_total for n, a in rule.acc.items()}


def _sum_per_sample_func(model, params, batches, losses_fn, reduce, chunk=None):
    """General path: torch.func per-sample gradients (vmap of grad), in chunks of samples."""
    from torch.func import functional_call, grad, vmap

    names = list(params)
    detached = {n: p.detach() for n, p in params.items()}
    acc = _zeros_like(params)
    n_params = sum(p.numel() for p in params.values())
    chunk = chunk or max(1, min(256, int(5e7 // max(1, n_params))))
    f = torch.square if reduce == "square" else torch.abs
    n_total = 0
    for x, y in batches:
        with torch.no_grad():
            n_terms = len(losses_fn(model(x[:1]), None if y is None else y[:1]))
        for i in range(0, len(x), chunk):
            xc = x[i:i + chunk]
            yc = torch.zeros(len(xc), dtype=torch.long, device=xc.device) if y is None else y[i:i + chunk]
            for t in range(n_terms):
                def loss_one(p, xi, yi, t=t):
                    out = functional_call(model, p, (xi.unsqueeze(0),))
                    return losses_fn(out, None if y is None else yi.unsqueeze(0))[t].sum()

                g = vmap(grad(loss_one), in_dims=(None, 0, 0))(detached, xc, yc)
                for n in names:
                    acc[n] += f(g[n]).sum(0)
        n_total += len(x)
    return {n: a / n_total for n, a in acc.items()}


def _run_per_sample(model, params, data, losses_fn, reduce, method, batch_size, relabel=None):
    if method not in ("auto", "hooks", "func"):
        raise ValueError(f"method={method!r} must be 'auto', 'hooks' or 'func'.")
    device, dtype = _model_device(model), _model_dtype(model)
    with eval_mode(model):
        batches = iter_batches(data, batch_size, device, dtype)
        if relabel is not None:
            batches = ((x, relabel(x)) for x, _ in batches)
        return _sum_per_sample(model, params, batches, losses_fn, reduce, method)
