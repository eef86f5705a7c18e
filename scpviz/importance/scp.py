"""SCP's importance Γ (eq 19, Algorithm 1): fast, verbatim, and the J̄-based teaching forms.

Eq 19 is Γ = diag(J̄ᵀ S J̄), with J̄ = ∂φ̄/∂θ (K × M, φ̄ the mean response of
Algorithm 1 step 1) and S = (1/L) Σ_l ξ_l ξ_lᵀ. :func:`scp_importance` writes
S = Σ_v r_v r_vᵀ over min(K, L) vectors r_v (the rows of R), so
Γ = Σ_v (r_vᵀ J̄)²: min(K, L) vector–Jacobian products (VJPs) instead of
Algorithm 1's L. The pieces:

* :func:`_draw_slices` and :func:`_scp_vectors`: the slices ξ_l (step 4) and R;
* :func:`_vjps`: the VJPs r_vᵀ ∂y/∂θ of one graph, one backward per vector or
  vmapped (``vjp=``) — the only place the fast paths call autograd;
* :func:`_add_squared_vjps`: Γ += Σ_v (r_vᵀ ∂φ̄/∂θ)² when φ̄'s graph is at hand
  (the data is one batch: steps 1, 5–7);
* :func:`_jacobian_sums` and :func:`_add_squared_mean_vjps`: the same with
  r_vᵀ J̄ accumulated batch by batch (φ̄ is a mean, so its Jacobian is too);
  :func:`mean_jacobian` is the same sums with R = I.

:func:`scp_importance_reference` is Algorithm 1 verbatim, the yardstick of the
tests.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import torch
import torch.nn as nn  # noqa: F401  (the Examples use nn)

from ..datasets import Task
from ..distances import random_slices
from .common import (_forward_at, _model_device, _model_dtype, _resolve_layer, _zeros_like, eval_mode,
                     flatten_importance, iter_batches, trainable_parameters)

_VJP_MODES = ("loop", "batched")


def _check_n_slices(n_slices):
    if isinstance(n_slices, bool) or not isinstance(n_slices, (int, np.integer)) or n_slices < 1:
        raise ValueError(f"n_slices={n_slices!r} must be a positive integer (L, the number of slices).")
    return int(n_slices)


def _check_vjp(vjp):
    if vjp not in _VJP_MODES:
        raise ValueError(f"vjp={vjp!r} must be 'loop' or 'batched'.")


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


def _draw_slices(slices, n_slices, seed, exact, K):
    """Algorithm 1 step 4 for all l at once: the given ``slices`` (checked), L random ones, or None if ``exact``.

    Float64 on the CPU: R is factored from them in float64 whatever the model's dtype.
    """
    if slices is not None:
        return _prepare_slices(slices, K, torch.float64, "cpu")
    if exact:
        return None
    return random_slices(n_slices, K, seed=seed)


def _scp_vectors(slices, K, exact):
    """Rows r_v with Σ_v r_v r_vᵀ = S, the slice second-moment matrix; min(K, L) rows.

    Parameters
    ----------
    slices : Tensor, shape (L, K), float64, or None
        The ξ_l; ignored when ``exact``.
    K : int
        Size of the preserved representation.
    exact : bool
        S = E[ξξᵀ] = I/K (L → ∞) instead of (1/L) Σ_l ξ_l ξ_lᵀ.

    Returns
    -------
    Tensor, shape (min(K, L), K), float64
        R, whose rows r_v give S = Σ_v r_v r_vᵀ: the eigen-square-root of S when K ≤ L (K rows
        instead of L), the slices / √L otherwise (already L ≤ K rows).
    """
    if exact:
        return torch.eye(K, dtype=torch.float64) / math.sqrt(K)
    L = slices.shape[0]
    s64 = slices.to(torch.float64)
    if K <= L:
        S = s64.T @ s64 / L
        evals, evecs = torch.linalg.eigh(S)
        return (evecs * evals.clamp_min(0.0).sqrt()).T  # rows: sqrt(e_k) u_k; clamp: eigh's rounding can go below 0
    return s64 / math.sqrt(L)


def _representation_size(model, x, layer):
    """K and dtype of the preserved representation, from a gradient-free forward pass of one sample of ``x``."""
    with torch.no_grad():
        out = _forward_at(model, x[:1], layer)
    return out.shape[1], out.dtype


def _replayable_batches(data, batch_size, device, dtype):
    """A function returning a fresh iterator over the batches of ``data`` each time it is called.

    Each chunk of vectors needs its own pass over the data. Tensors, tuples, Tasks
    and re-iterable containers are simply iterated again; a one-shot iterator's
    batches (the data, not any graph) are kept in a list.
    """
    if isinstance(data, (torch.Tensor, tuple, list, Task)) or (hasattr(data, "__iter__") and iter(data) is not data):
        return lambda: iter_batches(data, batch_size, device=device, dtype=dtype)
    kept = list(iter_batches(data, batch_size, device=device, dtype=dtype))
    return lambda: iter(kept)


def _only_batch(batches):
    """The inputs if ``batches()`` yields a single batch, else None."""
    it = batches()
    x, _ = next(it)
    return x if next(it, None) is None else None


def _vectors_per_pass(params, n_vectors, max_memory):
    """How many vectors' parameter-sized gradient sums fit in ``max_memory`` bytes (at least 1, at most all)."""
    bytes_per_vector = sum(p.numel() * p.element_size() for p in params)
    return max(1, min(n_vectors, int(max_memory // max(1, bytes_per_vector))))


def _vjps(output, params, vectors, vjp, chunk=None):
    """Vector–Jacobian products vᵀ ∂output/∂θ for the rows v of ``vectors``.

    The graph of ``output`` is kept until the last product and freed after it.

    Parameters
    ----------
    output : Tensor, shape (K,)
        Holds its autograd graph to ``params``.
    params : list of Tensor
    vectors : Tensor, shape (V, K)
    vjp : {"loop", "batched"}
        One retained-graph backward per vector, or one vmapped backward
        (``is_grads_batched``) per ``chunk`` vectors.
    chunk : int, optional
        Vectors per batched backward (default all); the loop ignores it.

    Yields
    ------
    rows : int or slice
        The vector (``"loop"``) or block of vectors (``"batched"``) of ``grads``.
    grads : tuple of Tensor or None
        Per parameter, shaped like it (``"loop"``) or with a leading dimension
        ``len(vectors[rows])`` (``"batched"``); None where ``output`` does not
        depend on the parameter.
    """
    n = len(vectors)
    if vjp == "batched":
        step = n if chunk is None else chunk
        for c0 in range(0, n, step):
            yield slice(c0, c0 + step), torch.autograd.grad(
                output, params, grad_outputs=vectors[c0:c0 + step], is_grads_batched=True,
                retain_graph=c0 + step < n, allow_unused=True)
    else:
        for v in range(n):
            yield v, torch.autograd.grad(output, params, grad_outputs=vectors[v], retain_graph=v < n - 1,
                                         allow_unused=True)


def _add_squared_vjps(gamma, output, params, vectors, vjp, chunk=None):
    """Γ += Σ_v (vᵀ ∂output/∂θ)² over the rows v of ``vectors``, in place (Algorithm 1 steps 5–7).

    With ``output`` = φ̄ and the rows r_v of R this is eq 19 (S = Σ_v r_v r_vᵀ).
    φ̄ holds its whole graph, so each product is squared as soon as it is taken:
    no per-vector sums are held.
    """
    for rows, grads in _vjps(output, params, vectors, vjp, chunk):
        for gm, g in zip(gamma, grads):
            if g is None:
                continue
            if isinstance(rows, slice):
                gm.add_(g.pow(2).sum(0))
            else:
                gm.addcmul_(g, g)  # one vector: square and add without a temporary


def _jacobian_sums(model, batches, layer, params, vectors, vjp):
    """Σ_n vᵀ ∂φ(x_n)/∂θ for each row v of ``vectors``, and N.

    φ̄ is a mean, so vᵀ J̄ = (1/N) Σ_n vᵀ ∂φ(x_n)/∂θ can be accumulated batch by
    batch, one batch's graph at a time: Algorithm 1 step 1's φ̄ without a
    whole-dataset graph.

    Parameters
    ----------
    batches : iterable of (x, y)
        From :func:`~scpviz.importance.common.iter_batches`; labels are ignored.
    layer : nn.Module or None
        Resolved preserved layer.
    vectors : Tensor, shape (V, K)
    vjp : {"loop", "batched"}

    Returns
    -------
    sums : list of Tensor
        One tensor of shape (V, *param.shape) per parameter; ``sums / N`` is
        ``vectors @ J̄`` (zero for a parameter φ does not depend on).
    N : int
        Number of samples.
    """
    sums = [torch.zeros((len(vectors),) + p.shape, device=p.device, dtype=p.dtype) for p in params]
    n_total = 0
    for x, _ in batches:
        total = _forward_at(model, x, layer).sum(0)
        for rows, grads in _vjps(total, params, vectors, vjp):
            for s, g in zip(sums, grads):
                if g is not None:
                    s[rows].add_(g)
        n_total += len(x)
    return sums, n_total


def _add_squared_mean_vjps(gamma, model, batches, layer, params, vectors, vjp):
    """Γ += Σ_v (vᵀ J̄)² over the rows v of ``vectors``, with vᵀ J̄ from :func:`_jacobian_sums`, in place."""
    sums, n_total = _jacobian_sums(model, batches, layer, params, vectors, vjp)
    for gm, s in zip(gamma, sums):
        gm.add_((s / n_total).pow(2).sum(0))


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
        ``is_grads_batched`` (vmap). The loop is the default, being the faster
        on a CPU in both regimes (the paper MLP with K = 10; a 784-D auto-encoder
        with L = 100; ``python -m benchmarks.accelerator`` times both); try
        ``"batched"`` on a GPU.
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
    factored as Σ_v r_v r_vᵀ over min(K, L) vectors r_v (the eigen-square-root of S when
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
    _check_vjp(vjp)
    params = trainable_parameters(model)
    layer_mod = _resolve_layer(model, layer)
    if slices is None and not exact:
        n_slices = _check_n_slices(n_slices)
    device, dtype = _model_device(model), _model_dtype(model)
    names, plist = list(params), list(params.values())
    batches = _replayable_batches(data, batch_size, device, dtype)
    with eval_mode(model):
        K, out_dtype = _representation_size(model, next(iter(batches()))[0], layer_mod)
        xi = _draw_slices(slices, n_slices, seed, exact, K)                              # step 4, every l
        R = _scp_vectors(xi, K, exact).to(device=device, dtype=out_dtype)                # S = Σ_v r_v r_vᵀ
        chunk = _vectors_per_pass(plist, len(R), max_memory)
        gamma = [torch.zeros_like(p) for p in plist]                                     # step 2
        x = _only_batch(batches)
        if x is not None:  # step 1 in one forward pass, then steps 5–7 per vector r_v instead of per ξ_l
            phi_bar = _forward_at(model, x, layer_mod).mean(0)
            _add_squared_vjps(gamma, phi_bar, plist, R, vjp, chunk)
        else:  # steps 1, 5, 6 accumulated batch by batch; one pass over the data per chunk (usually one)
            for c0 in range(0, len(R), chunk):
                _add_squared_mean_vjps(gamma, model, batches(), layer_mod, plist, R[c0:c0 + chunk], vjp)
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


def mean_jacobian(model, data, layer=None, batch_size=2000) -> dict:
    """J̄ = ∂φ̄/∂θ, the Jacobian of the mean response (Algorithm 1, step 1), per parameter.

    Returns ``{name: Tensor of shape (K, *param.shape)}``. K backward passes per
    batch (the VJPs of :func:`scp_importance` with R = I); meant for small K (a
    classifier's logits), e.g. to study how the Monte-Carlo Γ converges with L
    through :func:`gamma_from_jacobian`.
    """
    params = trainable_parameters(model)
    layer_mod = _resolve_layer(model, layer)
    device, dtype = _model_device(model), _model_dtype(model)
    it = iter_batches(data, batch_size, device, dtype)
    with eval_mode(model):
        first = next(it)
        K, out_dtype = _representation_size(model, first[0], layer_mod)
        identity = torch.eye(K, device=device, dtype=out_dtype)  # row k picks φ̄_k: the VJPs are J̄'s rows
        sums, n = _jacobian_sums(model, itertools.chain([first], it), layer_mod, list(params.values()), identity,
                                 "loop")
    return {k: s / n for k, s in zip(params, sums)}


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
