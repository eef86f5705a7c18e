"""Synaptic importances: EWC's Fisher F, MAS's Ω and SCP's Γ (§2, §4, Algorithm 1).

Each function returns a dict ``name → tensor`` with one entry per *trainable*
parameter of the model, shaped like the parameter, holding the diagonal of the
importance matrix. The model is put in eval mode for the computation (BatchNorm
uses running statistics, Dropout is off) and every submodule's previous mode is
restored afterwards.

``data`` is any of: a tensor of inputs; a ``(x, y)`` *tuple* of two tensors
(inputs and integer labels of equal length); an iterable of batches, each ``x``
or ``(x, y)`` (a ``DataLoader``, a list); or a :class:`scpviz.data.Task`
(its *training* split). Tensors are cut into batches of ``batch_size``.

Conventions (where implementations in the wild differ)
------------------------------------------------------
* All three are **expectations over the data** (divided by N once), and SCP's
  slices are **unit vectors** (‖ξ‖ = 1 per slice).
* SCP squares the gradient **per slice, then averages over slices** (eq 19);
  averaging the projections first gives Γ/L in expectation.
* MAS ``"paper"`` uses squared gradients of ‖φ‖² (eq 7), ``"aljundi"`` the
  absolute gradients of the original MAS.

How it is fast
--------------
* Γ: ∂φ̄/∂θ is accumulated batch by batch (φ̄ is a mean), never holding a
  whole-dataset graph. Γ = diag(J̄ᵀ S J̄) with S = (1/L) Σ ξ_l ξ_lᵀ = R Rᵀ, so only
  min(K, L) vector–Jacobian products are needed per batch (R: a square-root
  factor of S when K ≤ L, the slices / √L otherwise), batched in one call.
* F and Ω need sums over samples of *squared per-sample* gradients. For
  ``nn.Linear`` layers fed 2-D inputs the per-sample gradient of the weight is
  the outer product δ_n a_nᵀ, so Σ_n w_n (δ_n a_nᵀ)² = (w·δ²)ᵀ(a²) and
  Σ_n |δ_n a_nᵀ| = |δ|ᵀ|a|: one batched backward, captured with hooks, no
  per-sample gradient ever materialised (what BackPACK's ``SumGradSquared``
  does). Any other model goes through a general ``torch.func`` path (vmap of
  per-sample grads, in chunks); both are tested to agree.
"""

from __future__ import annotations

import contextlib
import itertools
import math
from typing import Iterable

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from .distances import random_slices

__all__ = [
    "scp_importance",
    "scp_importance_reference",
    "fisher_importance",
    "mas_importance",
    "mean_jacobian",
    "gamma_from_jacobian",
    "full_importance_matrices",
    "scp_convergence",
    "flatten_importance",
    "trainable_parameters",
    "iter_batches",
    "FISHER_LABELS",
    "MAS_FORMS",
]

FISHER_LABELS = ("exact", "sample", "empirical")
MAS_FORMS = ("paper", "aljundi")


# --------------------------------------------------------------------------- plumbing

def trainable_parameters(model: nn.Module) -> dict:
    """``{name: parameter}`` of the parameters with ``requires_grad`` (error if there are none)."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}.")
    params = {n: p for n, p in model.named_parameters() if p.requires_grad}
    if not params:
        raise ValueError("model has no trainable parameters (all have requires_grad=False); "
                         "there is nothing to consolidate.")
    return params


def _model_device(model):
    for p in model.parameters():
        return p.device
    return torch.device("cpu")


def _model_dtype(model):
    for p in model.parameters():
        if p.is_floating_point():
            return p.dtype
    return torch.get_default_dtype()


@contextlib.contextmanager
def eval_mode(model: nn.Module):
    """Put every submodule in eval mode, restoring each one's previous mode on exit."""
    modes = [(m, m.training) for m in model.modules()]
    model.eval()
    try:
        yield model
    finally:
        for m, was in modes:
            m.training = was


def _is_labelled_pair(data) -> bool:
    return (isinstance(data, tuple) and len(data) == 2 and all(isinstance(t, torch.Tensor) for t in data)
            and data[1].ndim == 1 and not data[1].is_floating_point() and len(data[0]) == len(data[1]))


def iter_batches(data, batch_size: int = 500, device=None, dtype=None) -> Iterable:
    """Yield ``(x, y_or_None)`` batches on ``device`` from any accepted form of ``data``.

    Raises ``ValueError`` for empty data or NaN inputs (naming ``data``).
    """
    from .data import Task  # upstream module: data → importance

    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"batch_size={batch_size!r} must be a positive integer.")
    if isinstance(data, Task):
        data = data.x_train if data.y_train is None else (data.x_train, data.y_train)
    if isinstance(data, torch.Tensor):
        source = ((data[i:i + batch_size], None) for i in range(0, len(data), batch_size))
    elif _is_labelled_pair(data):
        xs, ys = data
        source = ((xs[i:i + batch_size], ys[i:i + batch_size]) for i in range(0, len(xs), batch_size))
    elif isinstance(data, (np.ndarray,)):
        raise TypeError("data is a NumPy array: pass torch.as_tensor(data) (inputs) instead.")
    else:
        try:
            it = iter(data)
        except TypeError:
            raise TypeError(f"data must be a tensor, an (x, y) tuple, a Task or an iterable of batches, "
                            f"got {type(data).__name__}.") from None
        source = ((b if isinstance(b, (tuple, list)) else (b, None)) for b in it)
    n = 0
    for batch in source:
        x, y = batch[0], (batch[1] if len(batch) > 1 else None)
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"data yielded a batch of type {type(x).__name__}; expected tensors.")
        if len(x) == 0:
            continue
        if x.is_floating_point() and torch.isnan(x).any():
            raise ValueError("data contains NaN inputs; clean or impute them before computing importances.")
        n += len(x)
        x = x.to(device=device, dtype=dtype if (dtype is not None and x.is_floating_point()) else None)
        yield x, (None if y is None else y.to(device))
    if n == 0:
        raise ValueError("data is empty: pass at least one input sample.")


def _resolve_layer(model, layer):
    if layer is None:
        return None
    if isinstance(layer, str):
        mods = dict(model.named_modules())
        if layer not in mods:
            raise ValueError(f"layer={layer!r} is not a submodule name of the model; "
                             f"choose one of {[n for n in mods if n]}.")
        return mods[layer]
    if not isinstance(layer, nn.Module) or not any(m is layer for m in model.modules()):
        raise ValueError("layer must be a submodule of model (e.g. model.encoder or its name), "
                         "whose output is the representation to preserve.")
    return layer


def _forward_at(model, x, layer):
    """Output of ``layer`` (or of the model) for input ``x``, flattened to (N, K)."""
    if layer is None:
        out = model(x)
    else:
        store = []
        h = layer.register_forward_hook(lambda m, i, o: store.append(o))
        try:
            model(x)
        finally:
            h.remove()
        if len(store) != 1:
            raise ValueError(f"layer was called {len(store)} times in one forward pass; pick a layer used once.")
        out = store[0]
    if not isinstance(out, torch.Tensor):
        raise TypeError(f"the preserved representation must be a tensor, got {type(out).__name__}.")
    return out.reshape(len(x), -1)


def _zeros_like(params):
    return {n: torch.zeros_like(p, memory_format=torch.contiguous_format) for n, p in params.items()}


# --------------------------------------------------------------------------- SCP (Algorithm 1)

def _check_n_slices(n_slices):
    if isinstance(n_slices, bool) or not isinstance(n_slices, (int, np.integer)) or n_slices < 1:
        raise ValueError(f"n_slices={n_slices!r} must be a positive integer (L, the number of slices).")
    return int(n_slices)


def _prepare_slices(slices, K, dtype, device):
    s = torch.as_tensor(slices)
    if s.ndim != 2 or s.shape[1] != K or s.shape[0] < 1:
        raise ValueError(f"slices must have shape (n_slices, {K}) — one unit vector per row in the "
                         f"{K}-dimensional preserved representation — got {tuple(s.shape)}.")
    norms = s.to(torch.float64).norm(dim=1)
    if not torch.allclose(norms, torch.ones_like(norms), atol=1e-5):
        raise ValueError("slices must be unit vectors (each row of norm 1): normalise along dim=1, "
                         "slices / slices.norm(dim=1, keepdim=True).")
    return s.to(device=device, dtype=dtype)


def _scp_vectors(slices, K, exact):
    """Rows r_v with Σ_v r_v r_vᵀ = S, the slice second-moment matrix; min(K, L) rows."""
    if exact:
        return torch.eye(K, dtype=torch.float64) / math.sqrt(K)
    L = slices.shape[0]
    s64 = slices.to(torch.float64)
    if K <= L:
        S = s64.T @ s64 / L
        evals, evecs = torch.linalg.eigh(S)
        return (evecs * evals.clamp_min(0.0).sqrt()).T  # rows: sqrt(e_k) u_k
    return s64 / math.sqrt(L)


def scp_importance(model, data, n_slices=100, slices=None, layer=None, exact=False, seed=None,
                   batch_size=2000, vjp="loop", max_memory=2 ** 28):
    r"""Diagonal sliced-Cramér importance Γ (eq 19, Algorithm 1).

    .. math:: \Gamma_{ii} = \frac1L \sum_{l=1}^L \Big(\frac{\partial\, \xi_l\cdot\bar\varphi}{\partial\theta_i}\Big)^2,
              \qquad \bar\varphi = \frac1N\sum_{n=1}^N \varphi(x_n;\theta^*),

    with ξ_l uniform on the unit sphere S^{K−1} of the preserved representation.

    Parameters
    ----------
    model : nn.Module
        At θ* (the parameters just trained on the task).
    data : tensor, (x, y) tuple, iterable of batches or Task
        The task's *training* inputs (labels are ignored).
    n_slices : int
        L, used when ``slices`` is None.
    slices : Tensor, shape (L, K), optional
        Unit slice vectors (rows).
    layer : nn.Module or str, optional
        Submodule whose output (flattened to K values per sample) is preserved;
        default the model's output.
    exact : bool
        Use E[ξξᵀ] = I/K, the L → ∞ limit of eq 19 (no Monte-Carlo noise):
        Γ_ii = (1/K) Σ_k (∂φ̄_k/∂θ_i)².
    seed : int, optional
        Seed of the random slices.
    batch_size : int
        Memory knob only (the result does not depend on it).
    vjp : {"loop", "batched"}
        How the min(K, L) vector–Jacobian products of each batch are taken:
        one retained-graph backward each (``"loop"``), or all at once with
        ``is_grads_batched`` (vmap). On the 2-core CPU this was developed on the
        loop was faster in both regimes (paper MLP, K = 10: 2.6 s vs 3.1 s per
        10,000 images; a 784-D auto-encoder with L = 100: 8.5 s vs 11.5 s per
        2,000 images), so it is the default; try ``"batched"`` on a GPU.
    max_memory : int
        Bytes for the per-vector gradient sums (one parameter-sized tensor per
        vector). When min(K, L) vectors do not fit (an auto-encoder's K = 784 > L
        = 100 with 6 M parameters needs 2.5 GB), the vectors are processed in
        chunks, one pass over the data per chunk: memory stays bounded at the
        price of re-running the forward pass per chunk (cheap next to the L
        backward passes).

    Returns
    -------
    dict[str, Tensor]
        One tensor per trainable parameter, same shapes as ``model.named_parameters()``.

    Notes
    -----
    Γ = diag(J̄ᵀ S J̄) with J̄ = ∂φ̄/∂θ (K × M) and S = (1/L) Σ_l ξ_l ξ_lᵀ. S is
    factored as R Rᵀ with min(K, L) rows r_v (the eigen-square-root of S when
    K ≤ L, the slices / √L otherwise), so Γ = Σ_v (∂(r_v·φ̄)/∂θ)². Per batch the
    min(K, L) vector–Jacobian products of Σ_n φ(x_n) are accumulated; the sums
    over batches are divided by N and squared at the end. When the data is a
    single batch (N ≤ ``batch_size``) each VJP of φ̄ is squared at once: no
    per-vector sums, one forward pass — Algorithm 1's cost and memory, the
    floor when K > L (for the vectors in batched mode, ``max_memory`` bounds
    how many gradients are held at once). The result equals
    :func:`scp_importance_reference` for the same slices; the cost is one
    forward and min(K, L) backward passes over the data instead of L.

    Examples
    --------
    >>> model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
    >>> gamma = scp_importance(model, torch.randn(32, 4), n_slices=10, seed=0)
    >>> sorted(gamma) == sorted(n for n, _ in model.named_parameters())
    True

    References
    ----------
    Kolouri et al., "Sliced Cramér synaptic consolidation for preserving deeply
    learned representations", ICLR 2020, eq 19 and Algorithm 1.
    """
    if vjp not in ("loop", "batched"):
        raise ValueError(f"vjp={vjp!r} must be 'loop' or 'batched'.")
    params = trainable_parameters(model)
    layer_mod = _resolve_layer(model, layer)
    if slices is None and not exact:
        n_slices = _check_n_slices(n_slices)
    device, dtype = _model_device(model), _model_dtype(model)
    names, plist = list(params), list(params.values())
    from .data import Task

    if isinstance(data, (torch.Tensor, tuple, list, Task)) or (hasattr(data, "__iter__") and iter(data) is not data):
        def batches():
            return iter_batches(data, batch_size, device=device, dtype=dtype)
    else:  # a one-shot iterator: keep its batches (the data, not any graph) to pass over them per chunk
        kept = list(iter_batches(data, batch_size, device=device, dtype=dtype))

        def batches():
            return iter(kept)
    with eval_mode(model):
        x0, _ = next(iter(batches()))
        with torch.no_grad():
            out0 = _forward_at(model, x0[:1], layer_mod)
        K = out0.shape[1]
        if slices is not None:
            xi = _prepare_slices(slices, K, torch.float64, "cpu")
        elif not exact:
            xi = random_slices(n_slices, K, seed=seed)
        else:
            xi = None
        R = _scp_vectors(xi, K, exact).to(device=device, dtype=out0.dtype)
        V = R.shape[0]
        bytes_per_vector = sum(p.numel() * p.element_size() for p in plist)
        chunk = max(1, min(V, int(max_memory // max(1, bytes_per_vector))))
        gamma = [torch.zeros_like(p) for p in plist]
        it = batches()
        first = next(it)
        if next(it, None) is None:  # the data is one batch: square each VJP at once, no per-vector sums
            x, _ = first
            total = _forward_at(model, x, layer_mod).mean(0)
            for c0 in range(0, V, chunk):
                Rc = R[c0:c0 + chunk]
                if vjp == "batched":
                    grads = torch.autograd.grad(total, plist, grad_outputs=Rc, is_grads_batched=True,
                                                retain_graph=c0 + chunk < V, allow_unused=True)
                    for gm, g in zip(gamma, grads):
                        if g is not None:
                            gm.add_(g.pow(2).sum(0))
                else:
                    for v in range(len(Rc)):
                        grads = torch.autograd.grad(total, plist, grad_outputs=Rc[v],
                                                    retain_graph=c0 + v < V - 1, allow_unused=True)
                        for gm, g in zip(gamma, grads):
                            if g is not None:
                                gm.addcmul_(g, g)
            return dict(zip(names, gamma))
        del it, first
        for c0 in range(0, V, chunk):  # one pass over the data per chunk of vectors (usually a single chunk)
            Rc = R[c0:c0 + chunk]
            acc = [torch.zeros((len(Rc),) + p.shape, device=device, dtype=p.dtype) for p in plist]
            n_total = 0
            for x, _ in batches():
                total = _forward_at(model, x, layer_mod).sum(0)
                if vjp == "batched":
                    grads = torch.autograd.grad(total, plist, grad_outputs=Rc, is_grads_batched=True,
                                                allow_unused=True)
                    for a, g in zip(acc, grads):
                        if g is not None:
                            a.add_(g)
                else:
                    for v in range(len(Rc)):
                        grads = torch.autograd.grad(total, plist, grad_outputs=Rc[v], retain_graph=v < len(Rc) - 1,
                                                    allow_unused=True)
                        for a, g in zip(acc, grads):
                            if g is not None:
                                a[v].add_(g)
                n_total += len(x)
            for gm, a in zip(gamma, acc):
                gm.add_((a / n_total).pow(2).sum(0))
            del acc
    return dict(zip(names, gamma))


def scp_importance_reference(model, data, slices, layer=None):
    """Algorithm 1 verbatim, for tests, teaching and benchmarks.

    Step 1 computes the mean response φ̄ over all the data (holding its graph);
    then for each slice ξ_l: ρ = ξ_l · φ̄, ∇θρ by one backward pass, and
    Γ += (∇θρ)² / L. Slow (L backward passes over the whole data) and
    memory-hungry (a whole-dataset graph); use :func:`scp_importance`.

    Parameters
    ----------
    slices : Tensor, shape (L, K)
        Unit vectors (rows).
    """
    params = trainable_parameters(model)
    layer_mod = _resolve_layer(model, layer)
    device, dtype = _model_device(model), _model_dtype(model)
    plist = list(params.values())
    with eval_mode(model):
        outs = [_forward_at(model, x, layer_mod) for x, _ in iter_batches(data, 10**9, device=device, dtype=dtype)]
        phi_bar = torch.cat(outs).mean(0)                       # step 1
        xi = _prepare_slices(slices, phi_bar.numel(), phi_bar.dtype, device)
        gamma = _zeros_like(params)                             # step 2
        L = xi.shape[0]
        for l in range(L):                                      # step 3
            rho = xi[l] @ phi_bar                               # step 5
            grads = torch.autograd.grad(rho, plist, retain_graph=l < L - 1, allow_unused=True)  # step 6
            for n, g in zip(params, grads):
                if g is not None:
                    gamma[n] += g.pow(2) / L                    # step 7
    return gamma


# --------------------------------------------------------------------------- per-sample squared gradients

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


# --------------------------------------------------------------------------- EWC: Fisher

def fisher_importance(model, data, labels="exact", seed=None, batch_size=500, method="auto"):
    r"""Diagonal Fisher information of the classifier p_θ(y|x) = softmax(φ(x; θ)) (eq 3–4).

    .. math:: F_{ii} = \mathbb E_x\, \mathbb E_{y}\Big[\Big(\frac{\partial \log p_\theta(y|x)}{\partial\theta_i}\Big)^2\Big]

    Parameters
    ----------
    model : nn.Module
        Returns logits (N, C).
    data : tensor, (x, y) tuple, iterable of batches or Task
    labels : {"exact", "sample", "empirical"}
        How y is taken: ``"exact"`` sums over all classes weighted by
        p_θ(y|x) — the true Fisher of eq 3; ``"sample"`` draws one y ~ p_θ(·|x)
        per input (unbiased Monte-Carlo estimate, seeded by ``seed``);
        ``"empirical"`` uses the data's labels (the "empirical Fisher", which is
        *not* the Fisher of eq 3; needs labelled data).
    seed : int, optional
        For ``"sample"``.
    method : {"auto", "hooks", "func"}
        ``"hooks"``: the per-layer rule for nn.Linear (fast); ``"func"``:
        torch.func per-sample gradients (any module); ``"auto"`` picks hooks
        when every trainable parameter sits in an nn.Linear fed 2-D inputs.

    Returns
    -------
    dict[str, Tensor]
        Same shapes as the trainable parameters.

    Notes
    -----
    EWC's penalty (eq 5) is (λ_EWC/2) Σ F (θ − θ*)²; scpviz's penalty is
    λ Σ F (θ − θ*)² (eq 17's form for every method), so λ = λ_EWC / 2.

    Examples
    --------
    >>> model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
    >>> F_ = fisher_importance(model, torch.randn(16, 4))
    >>> F_["0.weight"].shape
    torch.Size([8, 4])
    """
    if labels not in FISHER_LABELS:
        raise ValueError(f"labels={labels!r} must be one of {FISHER_LABELS}.")
    params = trainable_parameters(model)
    gen = torch.Generator().manual_seed(int(seed)) if seed is not None else None

    def losses(out, y):
        logp = F.log_softmax(out.reshape(len(out), -1), dim=1)
        if labels == "exact":
            w = logp.detach().exp().sqrt()
            return [w[:, c] * logp[:, c] for c in range(logp.shape[1])]
        if y is None:
            raise ValueError("labels='empirical' needs labelled data: pass (x, y) batches, an (x, y) tuple "
                             "or a Task with labels.")
        return [logp.gather(1, y.long()[:, None]).squeeze(1)]

    def sample_labels(x):
        """y ~ p_θ(·|x), drawn once per input before the gradients are taken."""
        with torch.no_grad():
            probs = F.softmax(model(x).reshape(len(x), -1).to(torch.float64), dim=1).cpu()
        return torch.multinomial(probs, 1, generator=gen).squeeze(1).to(x.device)

    return _run_per_sample(model, params, data, losses, "square", method, batch_size,
                           relabel=sample_labels if labels == "sample" else None)


# --------------------------------------------------------------------------- MAS

def mas_importance(model, data, form="paper", layer=None, batch_size=500, method="auto"):
    r"""MAS importance Ω (eq 7), from per-sample gradients of the squared output norm.

    ``"paper"``: :math:`\Omega_{mm} = \mathbb E_x[(\partial\|\varphi(x)\|^2/\partial\theta_m)^2]`
    (the diagonal of eq 7's Ω, the second-order expansion of eq 6 up to a factor ½
    absorbed into λ); ``"aljundi"``: :math:`\mathbb E_x|\partial\|\varphi(x)\|^2/\partial\theta_m|`,
    the original MAS (Aljundi et al. 2018).

    Parameters
    ----------
    layer : nn.Module or str, optional
        Submodule whose output is φ (default: the model output).
    method : {"auto", "hooks", "func"}
        As in :func:`fisher_importance`.

    Examples
    --------
    >>> model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
    >>> om = mas_importance(model, torch.randn(16, 4), form="aljundi")
    >>> bool(all((v >= 0).all() for v in om.values()))
    True
    """
    if form not in MAS_FORMS:
        raise ValueError(f"form={form!r} must be one of {MAS_FORMS}.")
    params = trainable_parameters(model)
    layer_mod = _resolve_layer(model, layer)
    reduce = "square" if form == "paper" else "abs"
    if layer_mod is None:
        def losses(out, y):
            return [out.reshape(len(out), -1).pow(2).sum(1)]

        return _run_per_sample(model, params, data, losses, reduce, method, batch_size)
    holder = {}

    def losses(out, y):
        return [holder["out"].reshape(len(out), -1).pow(2).sum(1)]

    hook = layer_mod.register_forward_hook(lambda m, i, o: holder.__setitem__("out", o))
    try:
        return _run_per_sample(model, params, data, losses, reduce, method, batch_size)
    finally:
        hook.remove()


# --------------------------------------------------------------------------- teaching helpers

def mean_jacobian(model, data, layer=None, batch_size=2000) -> dict:
    """J̄ = ∂φ̄/∂θ, the Jacobian of the mean response (Algorithm 1, step 1), per parameter.

    Returns ``{name: Tensor of shape (K, *param.shape)}``. K backward passes per
    batch; meant for small K (a classifier's logits), e.g. to study how the
    Monte-Carlo Γ converges with L through :func:`gamma_from_jacobian`.
    """
    params = trainable_parameters(model)
    layer_mod = _resolve_layer(model, layer)
    device, dtype = _model_device(model), _model_dtype(model)
    acc, n = None, 0
    with eval_mode(model):
        for x, _ in iter_batches(data, batch_size, device, dtype):
            total = _forward_at(model, x, layer_mod).sum(0)
            K = total.numel()
            if acc is None:
                acc = {k: torch.zeros((K,) + p.shape, device=device, dtype=p.dtype) for k, p in params.items()}
            for k in range(K):
                grads = torch.autograd.grad(total[k], list(params.values()), retain_graph=k < K - 1,
                                            allow_unused=True)
                for name, g in zip(params, grads):
                    if g is not None:
                        acc[name][k] += g
            n += len(x)
    return {k: v / n for k, v in acc.items()}


def gamma_from_jacobian(jac: dict, slices=None, exact=False) -> dict:
    """Γ_ii = (1/L) Σ_l (ξ_l · J̄_i)² from a precomputed J̄ (:func:`mean_jacobian`), without new backward passes.

    Uses Γ = diag(J̄ᵀ S J̄) = Σ_{k,k'} S_kk' J̄_k ∘ J̄_k' with S = (1/L) Σ ξ_l ξ_lᵀ
    (``exact=True``: S = I/K).
    """
    K = next(iter(jac.values())).shape[0]
    if exact:
        S = torch.eye(K, dtype=torch.float64) / K
    else:
        if slices is None:
            raise ValueError("slices is required unless exact=True.")
        s = _prepare_slices(slices, K, torch.float64, "cpu")
        S = s.T @ s / s.shape[0]
    out = {}
    for name, J in jac.items():
        Jf = J.reshape(K, -1)
        SJ = S.to(device=Jf.device, dtype=Jf.dtype) @ Jf
        out[name] = (SJ * Jf).sum(0).reshape(J.shape[1:])
    return out


def full_importance_matrices(model, x, slices=None, exact=False) -> dict:
    """The full (not diagonal) F, Ω and Γ of a *small* model, as M × M matrices (M = #parameters).

    F = (1/N) Σ_n Jₙᵀ (diag p − p pᵀ) Jₙ (eq 3, exact expectation over y),
    Ω = (1/N) Σ_n (∇θ‖φₙ‖²)(∇θ‖φₙ‖²)ᵀ (eq 7), Γ = J̄ᵀ S J̄ (eq 19, S = (1/L) Σ ξξᵀ or I/K).
    Per-sample Jacobians by ``torch.func.jacrev``; use only for models with a few
    thousand parameters (notebooks 03–05).

    Returns
    -------
    dict
        ``"F"``, ``"Omega"``, ``"Gamma"`` (M × M) and ``"names"``/``"shapes"`` of the flattening order.
    """
    from torch.func import functional_call, jacrev, vmap

    params = trainable_parameters(model)
    names = list(params)
    M = sum(p.numel() for p in params.values())
    if M > 20000:
        raise ValueError(f"the model has {M} parameters; full M×M matrices are for small models (≤ 20,000).")
    detached = {k: v.detach() for k, v in params.items()}
    with eval_mode(model):
        def f(p, xi):
            return functional_call(model, p, (xi.unsqueeze(0),)).reshape(-1)
        Jd = vmap(jacrev(f), in_dims=(None, 0))(detached, x)          # name -> (N, K, *shape)
        J = torch.cat([Jd[k].reshape(len(x), -1, params[k].numel()) for k in names], dim=2)  # (N, K, M)
        out = model(x).reshape(len(x), -1).detach()
    N, K = out.shape
    p = torch.softmax(out, dim=1)
    H = torch.diag_embed(p) - p[:, :, None] * p[:, None, :]
    Fm = torch.einsum("nkm,nkl,nlj->mj", J, H, J) / N
    g = 2 * torch.einsum("nk,nkm->nm", out, J)                          # ∇θ ‖φ_n‖²
    Om = g.T @ g / N
    Jbar = J.mean(0)
    if exact:
        S = torch.eye(K, dtype=J.dtype) / K
    else:
        s = _prepare_slices(slices, K, J.dtype, J.device)
        S = s.T @ s / s.shape[0]
    Gm = Jbar.T @ S @ Jbar
    return {"F": Fm, "Omega": Om, "Gamma": Gm, "names": names, "shapes": [tuple(params[k].shape) for k in names]}


def flatten_importance(imp: dict) -> torch.Tensor:
    """All entries of an importance dict as one 1-D tensor (parameter order of the dict)."""
    return torch.cat([v.reshape(-1) for v in imp.values()])


def scp_convergence(jac: dict, n_slices_list, n_seeds=10, seed=0) -> dict:
    """Relative error ‖Γ_L − Γ_∞‖ / ‖Γ_∞‖ of the Monte-Carlo Γ (eq 19) against its L → ∞ limit.

    Parameters
    ----------
    jac : dict
        From :func:`mean_jacobian`.
    n_slices_list : sequence of int
        The L values.
    n_seeds : int
        Independent slice draws per L.

    Returns
    -------
    dict
        ``"L"``, ``"errors"`` (n_seeds × len(L)), ``"mean"``.
    """
    Ls = [_check_n_slices(int(v)) for v in n_slices_list]
    exact = flatten_importance(gamma_from_jacobian(jac, exact=True))
    K = next(iter(jac.values())).shape[0]
    err = np.empty((int(n_seeds), len(Ls)))
    for k in range(int(n_seeds)):
        for j, L in enumerate(Ls):
            g = flatten_importance(gamma_from_jacobian(jac, random_slices(L, K, seed=seed + 1000 * k + j)))
            err[k, j] = ((g - exact).norm() / exact.norm()).item()
    return {"L": np.array(Ls), "errors": err, "mean": err.mean(0)}
