"""Sums over samples of f(per-sample gradient), f = square or abs, for F and Ω.

One batched backward to the layer *outputs*, captured with hooks, then a per-layer rule (BackPACK's idea):

* ``nn.Linear`` (2-D inputs): the per-sample weight gradient is δ_n a_nᵀ, so Σ_n f(δ_n a_nᵀ) = f(δ)ᵀ f(a);
* ``nn.Conv2d`` (groups = 1): the per-sample weight gradient is δ_n U_nᵀ with U_n = unfold(a_n) (the patches,
  (C_in·k·k) × positions), formed for a chunk of samples at a time and reduced with f; the bias gets f(Σ_pos δ_n);
* ``nn.BatchNorm1d/2d`` in eval mode (running statistics, which importances always use): per-sample gradients
  Σ_pos δ_n x̂_n (weight) and Σ_pos δ_n (bias), with x̂ the input normalised by the running statistics.

A model with any other trainable layer goes through ``torch.func`` (vmap of per-sample grads, in chunks).
"""

from __future__ import annotations

import itertools

import torch
import torch.nn as nn
import torch.nn.functional as F

from .common import _model_device, _model_dtype, _zeros_like, eval_mode, iter_batches


_BN = (nn.BatchNorm1d, nn.BatchNorm2d)


def _rule_applies(m):
    if isinstance(m, nn.Conv2d):
        return m.groups == 1 and m.padding_mode == "zeros" and isinstance(m.padding, tuple)
    if isinstance(m, _BN):
        return m.track_running_stats
    return isinstance(m, nn.Linear)


def _patches(m, a):
    """The unfolded input patches of Conv2d ``m``: (N, C·k·k, positions)."""
    return F.unfold(a, m.kernel_size, dilation=m.dilation, padding=m.padding, stride=m.stride)


def _conv_weight_sum(m, a, d, f, chunk_elems=2 ** 25, U=None):
    """Σ_n f(per-sample weight gradient) of Conv2d ``m`` for inputs a (N, C, H, W) and output gradients d
    (``U``: :func:`_patches` of ``a``, when the caller already has them)."""
    n, c_out = d.shape[:2]
    U = _patches(m, a) if U is None else U                                                      # (N, C·k·k, P)
    D = d.reshape(n, c_out, -1)                                                                  # (N, C_out, P)
    step = max(1, chunk_elems // max(1, c_out * U.shape[1]))
    total = torch.zeros(c_out, U.shape[1], dtype=d.dtype, device=d.device)
    for i in range(0, n, step):
        total += f(torch.bmm(D[i:i + step], U[i:i + step].transpose(1, 2))).sum(0)
    return total.reshape(m.weight.shape)


def _per_channel(t):
    """(N, C, ...) summed over every position, (N, C) as is (``sum(dim=())`` would sum over everything)."""
    return t if t.ndim == 2 else t.sum(tuple(range(2, t.ndim)))


def _bn_normalised(m, a):
    shape = (1, -1) + (1,) * (a.ndim - 2)
    return (a - m.running_mean.reshape(shape)) / torch.sqrt(m.running_var.reshape(shape) + m.eps)


class _LinearRule:
    """Per-sample f(gradient) sums for Linear, Conv2d and eval-mode BatchNorm layers from one batched backward.

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
            if _rule_applies(m):
                names = {"weight": ids.get(id(m.weight)) if m.weight is not None else None,
                         "bias": ids.get(id(m.bias)) if m.bias is not None else None}
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
        dims = {nn.Linear: (2,), nn.Conv2d: (4,), nn.BatchNorm1d: (2, 3), nn.BatchNorm2d: (4,)}
        return len(mods) == len(set(mods)) and all(
            a.ndim in dims[type(m)] and not (isinstance(m, _BN) and m.training) for m, a, o in self.records)

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
            if isinstance(m, nn.Linear):
                if "weight" in names:
                    self.acc[names["weight"]] += fd.T @ self.f(a)
                if "bias" in names:
                    self.acc[names["bias"]] += fd.sum(0)
        self.records = []

    def accumulate_per_sample(self, terms):
        """Layers whose per-sample gradients do not factor (Conv2d, BatchNorm): per term, form them from δ (in
        chunks for convolutions) and add f of them; Linear layers go through :meth:`accumulate`'s factorisation."""
        recs = [r for r in self.records if r[2].requires_grad]
        outs = [o for _, _, o in recs]
        patches = {}   # a convolution's patches depend on its input only: unfolded once, used by every term
        for t, ell in enumerate(terms):
            deltas = torch.autograd.grad(ell.sum(), outs, retain_graph=t < len(terms) - 1, allow_unused=True)
            lin = {}
            for (m, a, _), d in zip(recs, deltas):
                if d is None:
                    continue
                names = self.mods[m]
                if isinstance(m, nn.Linear):
                    lin[m] = (a, d)
                    continue
                if isinstance(m, nn.Conv2d):
                    if "weight" in names:
                        if m not in patches:
                            patches[m] = _patches(m, a)
                        self.acc[names["weight"]] += _conv_weight_sum(m, a, d, self.f, U=patches[m])
                    if "bias" in names:
                        self.acc[names["bias"]] += self.f(_per_channel(d)).sum(0)
                else:   # BatchNorm in eval mode: y = γ x̂ + β per channel
                    if "weight" in names:
                        self.acc[names["weight"]] += self.f(_per_channel(d * _bn_normalised(m, a))).sum(0)
                    if "bias" in names:
                        self.acc[names["bias"]] += self.f(_per_channel(d)).sum(0)
            for m, (a, d) in lin.items():
                names = self.mods[m]
                if "weight" in names:
                    self.acc[names["weight"]] += self.f(d).T @ self.f(a)
                if "bias" in names:
                    self.acc[names["bias"]] += self.f(d).sum(0)
        self.records = []

    @property
    def only_linear(self):
        return all(isinstance(m, nn.Linear) for m in self.mods)


def _sum_per_sample(model, params, batches, losses_fn, reduce, method):
    """E_x of Σ_terms f(per-sample gradient of each term), f = square or abs.

    ``losses_fn(out, y)`` returns a list of per-sample loss vectors (N,); for
    squared sums each is pre-multiplied by sqrt(weight) (e.g. sqrt p(y|x) per
    class for the exact Fisher).
    """
    rule = _LinearRule(model, params, reduce)
    if method == "hooks" and not rule.static_ok:
        raise ValueError("method='hooks' needs every trainable parameter in an nn.Linear, nn.Conv2d (groups=1) "
                         "or BatchNorm layer; use method='auto' or 'func'.")
    if method == "func" or not rule.static_ok:
        return _sum_per_sample_func(model, params, batches, losses_fn, reduce)
    n_total = 0
    batches = iter(batches)
    if any(isinstance(m, nn.Conv2d) for m in rule.mods):
        batches = _split_for_patches(model, rule, batches)
    with rule:
        for x, y in batches:
            rule.records = []   # drawing y (sampled Fisher) ran a forward pass inside the hooks: not this one
            terms = losses_fn(model(x), y)
            if not rule.forward_ok():  # e.g. a Linear fed 3-D inputs, or called twice
                if method == "hooks":
                    raise ValueError("method='hooks' needs each layer called once (nn.Linear on 2-D inputs, "
                                     "BatchNorm in eval mode); use method='auto' or 'func'.")
                rule.records = []
                if n_total == 0:
                    return _sum_per_sample_func(model, params, itertools.chain([(x, y)], batches), losses_fn, reduce)
                raise RuntimeError("model changed structure between batches")  # pragma: no cover
            if rule.only_linear:
                rule.accumulate(terms)
            else:
                rule.accumulate_per_sample(terms)
            n_total += len(x)
    return {n: a / n_total for n, a in rule.acc.items()}


def _split_for_patches(model, rule, batches, budget_bytes=2 ** 28):
    """Re-cut ``batches`` so that the unfolded patches of every convolution of one batch (kept for all terms) stay
    under ``budget_bytes``: one sample is run first to measure them."""
    first = next(batches, None)
    if first is None:
        return iter(())
    x, y = first
    with rule, torch.no_grad():
        model(x[:1])
    per_sample = sum(_patches(m, a).numel() * a.element_size() for m, a, _ in rule.records if isinstance(m, nn.Conv2d))
    rule.records = []
    step = max(1, budget_bytes // max(1, per_sample))

    def cut():
        for xb, yb in itertools.chain([first], batches):
            for i in range(0, len(xb), step):
                yield xb[i:i + step], (None if yb is None else yb[i:i + step])
    return cut()


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
