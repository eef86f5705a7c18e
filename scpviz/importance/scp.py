"""SCP's importance Γ (eq 19, Algorithm 1): fast, verbatim, and the J̄-based teaching forms."""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn as nn  # noqa: F401  (the Examples use nn)

from ..datasets import Task
from ..distances import random_slices
from .common import (_forward_at, _model_device, _model_dtype, _resolve_layer, _zeros_like, eval_mode,
                     flatten_importance, iter_batches, trainable_parameters)


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
