"""Full (not diagonal) F, Ω and Γ of small models, for the derivation notebooks (03–05)."""

from __future__ import annotations


import torch

from .common import eval_mode, trainable_parameters
from .scp import _prepare_slices


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


def diagonal_participation(matrix) -> float:
    """How many weights the diagonal of an importance matrix effectively spreads its penalty over.

    The participation ratio (Σᵢ dᵢ)² / Σᵢ dᵢ² of the diagonal d = diag(Γ): M when all M entries are
    equal, 1 when one entry carries everything. Eq 17 keeps only this diagonal, so this — not the rank of
    the full matrix — is what the penalty actually sees.

    Parameters
    ----------
    matrix : Tensor, shape (M, M)
        A full importance matrix (e.g. from :func:`full_importance_matrices`).

    Returns
    -------
    float
        Between 1 and M.

    Examples
    --------
    >>> import torch
    >>> diagonal_participation(torch.eye(5))
    5.0
    >>> diagonal_participation(torch.diag(torch.tensor([3.0, 0.0, 0.0])))
    1.0
    """
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]:
        raise ValueError(f"matrix must be square (M, M); got shape {tuple(matrix.shape)}")
    d = torch.diagonal(matrix).abs().double()
    if float(d.sum()) == 0.0:
        raise ValueError("matrix has an all-zero diagonal: no weight carries any importance")
    return float(d.sum() ** 2 / (d ** 2).sum())
