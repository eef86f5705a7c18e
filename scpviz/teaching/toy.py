"""Tiny problems in two dimensions, where every distribution can be looked at."""

from __future__ import annotations

import math

import numpy as np

__all__ = ["gaussian_mixture_2d", "transform_2d", "transform_outputs", "replay_values", "riemannian_plane",
           "penalised_optima"]


def gaussian_mixture_2d(n=500, seed=0, centers=((-1.5, 0.0), (1.0, 1.2), (1.2, -1.0)), scale=0.35,
                        return_labels=False):
    """``n`` points from an equal-weight mixture of isotropic 2-D Gaussians.

    Parameters
    ----------
    n : int
    seed : int
    centers : sequence of (x, y)
    scale : float
        Standard deviation of each component.

    return_labels : bool
        Also return the component index of each point.

    Returns
    -------
    ndarray, shape (n, 2)  (and the int labels when ``return_labels``)
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n={n!r} must be a positive integer.")
    if not scale > 0:
        raise ValueError(f"scale={scale!r} must be positive.")
    rng = np.random.default_rng(seed)
    c = np.asarray(centers, dtype=np.float64)
    if c.ndim != 2 or c.shape[1] != 2:
        raise ValueError(f"centers must be a sequence of 2-D points, got shape {c.shape}.")
    which = rng.integers(0, len(c), size=n)
    X = c[which] + scale * rng.normal(size=(n, 2))
    return (X, which) if return_labels else X


def transform_2d(X, angle=0.0, shift=(0.0, 0.0), scale=1.0):
    """Rotate by ``angle`` radians about the origin, scale, then translate by ``shift``."""
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[1] != 2:
        raise ValueError(f"X must have shape (n, 2), got {X.shape}.")
    c, s = math.cos(angle), math.sin(angle)
    R = np.array([[c, -s], [s, c]])
    return scale * X @ R.T + np.asarray(shift, dtype=np.float64)


# --------------------------------------------------------------------------- what each regularizer keeps (notebook 04)

def transform_outputs(phi, rotation=0.0, translation=(0.0, 0.0), scale=1.0, permute=0.0, seed=0, labels=None,
                      collapse=0.0):
    """Move a 2-D output cloud: rotate about the origin, scale, translate, collapse towards its mean, and permute
    *which sample* sits where.

    Parameters
    ----------
    permute : float in [0, 1]
        Fraction of samples whose outputs are exchanged among themselves (a random cycle): the cloud as a set
        is unchanged, individual samples are not. With ``labels``, only samples of the same class are
        exchanged (a change *within a mode*, which the paper calls harmless, §3.3).
    labels : array of int, optional
        Class of each sample, for a within-class permutation.
    collapse : float in [0, 1]
        Move every output this fraction of the way to the cloud's mean (1: all outputs at the mean). The mean —
        all that eq 19's Γ sees — does not move; the distribution does.
    """
    import torch

    if not 0.0 <= permute <= 1.0:
        raise ValueError(f"permute={permute!r} must lie in [0, 1].")
    if not 0.0 <= collapse <= 1.0:
        raise ValueError(f"collapse={collapse!r} must lie in [0, 1] (1 puts every output at the mean).")
    phi = torch.as_tensor(phi)
    c, s = math.cos(rotation), math.sin(rotation)
    R = torch.tensor([[c, -s], [s, c]], dtype=phi.dtype)
    out = scale * phi @ R.T + torch.as_tensor(translation, dtype=phi.dtype)
    if collapse:
        out = (1 - collapse) * out + collapse * out.mean(0, keepdim=True)
    if labels is not None:
        labels = torch.as_tensor(labels)
        if labels.shape != (len(phi),):
            raise ValueError(f"labels must hold one class per sample ({len(phi)}), got shape {tuple(labels.shape)}")
        groups = [torch.nonzero(labels == k).flatten() for k in torch.unique(labels)]
    else:
        groups = [torch.arange(len(phi))]
    g = torch.Generator().manual_seed(int(seed))
    out = out.clone()
    for members in groups:
        k = int(round(permute * len(members)))
        if k >= 2:
            idx = members[torch.randperm(len(members), generator=g)[:k]]
            out[idx] = out[idx.roll(1)]
    return out


def output_accuracy(phi, labels) -> float:
    """Task A's accuracy if the network's outputs were ``phi``: the share of samples whose largest output is
    their class (what a learner loses when outputs move)."""
    import torch

    phi, labels = torch.as_tensor(phi), torch.as_tensor(labels)
    if len(phi) != len(labels):
        raise ValueError(f"phi has {len(phi)} samples but labels {len(labels)}")
    return float((phi.argmax(1) == labels).double().mean())


def replay_values(phi_star, phi, n_angles=180) -> dict:
    """The replay regularizers between outputs at θ* and moved outputs (per-sample pairs), and eq 19's form.

    ``"KL (EWC)"``: E KL(softmax φ* ‖ softmax φ) (eq 1); ``"MAS"``: E ½(‖φ‖² − ‖φ*‖²)² (eq 6);
    ``"SC₂² (SCP)"``: sliced Cramér between the two clouds (eq 14), by quadrature over ``n_angles`` directions;
    ``"Γ form (eq 19)"``: what SCP's importance actually measures, the mean over the same directions of the
    squared movement of the projected *mean* output, (1/L) Σ_l (ξ_l · (φ̄ − φ̄*))² = ‖φ̄ − φ̄*‖²/2 in 2-D.
    """
    from ..consolidation import kl_replay, mas_replay, sliced_cramer_replay
    from ..distances import directions_2d

    import torch

    slices = directions_2d(n_angles, dtype=phi_star.dtype)
    shift = torch.as_tensor(phi).mean(0) - torch.as_tensor(phi_star).mean(0)
    return {"KL (EWC)": float(kl_replay(phi, phi_star)), "MAS": float(mas_replay(phi, phi_star)),
            "SC₂² (SCP)": float(sliced_cramer_replay(phi, phi_star, slices=slices)),
            "Γ form (eq 19)": float(((slices @ shift) ** 2).mean())}


def riemannian_plane(model, x_a, x_b, y_b, extent=3.0, n=61, seed=0, n_slices=None, normalise=True):
    """Task B's loss and the three importance metrics on a 2-D plane of parameter space through θ*.

    The plane is θ* + a u + b w with u the (normalised) descent direction of task B's loss at θ* and w a
    random unit direction orthogonal to it. F, Ω, Γ are the full matrices at θ* on task A's inputs
    ``x_a`` (Γ with ``n_slices`` random slices, or the exact L → ∞ form when None). With ``normalise``
    each method's projected 2 × 2 matrix is divided by the trace of its full version, so the plot compares
    the *shapes* of the metrics at a common scale (the scale is what λ absorbs; see Figure 3b).

    Returns
    -------
    dict
        ``a``, ``b`` (grid axes), ``loss_b`` (n × n), ``quad`` ({name: n × n} of δθᵀMδθ for the full
        and diagonal F, Ω, Γ), ``plane`` (the 2 × 2 projected matrices).
    """
    import torch
    import torch.nn.functional as F

    from ..distances import random_slices
    from ..importance import full_importance_matrices
    from .taylor import FlatModel

    flat = FlatModel(model)
    theta = flat.theta
    full = full_importance_matrices(model, x_a, exact=n_slices is None,
                                    slices=None if n_slices is None else random_slices(n_slices, 2, seed=seed))
    th = theta.clone().requires_grad_(True)
    loss = F.cross_entropy(flat(th, x_b), y_b)
    (g,) = torch.autograd.grad(loss, th)
    u = -g / g.norm()
    gen = torch.Generator().manual_seed(int(seed))
    w = torch.randn(theta.numel(), generator=gen, dtype=theta.dtype)
    w = w - (w @ u) * u
    w = w / w.norm()
    a = np.linspace(-extent, extent, n)
    A, B = np.meshgrid(a, a, indexing="xy")
    loss_b = np.empty_like(A)
    with torch.no_grad():  # n² forward passes of a tiny network, values only: no graph to keep
        for i, j in np.ndindex(A.shape):
            loss_b[i, j] = float(F.cross_entropy(flat(theta + float(A[i, j]) * u + float(B[i, j]) * w, x_b), y_b))
    U = torch.stack([u, w], 1)
    quad, plane = {}, {}
    for key, label in (("F", "EWC (F)"), ("Omega", "MAS (Ω)"), ("Gamma", "SCP (Γ)")):
        M = full[key]
        scale = float(torch.trace(U.T @ M @ U)) if normalise else 1.0
        for kind, Mk in (("full", M), ("diag", torch.diag(torch.diagonal(M)))):
            P = (U.T @ Mk @ U).numpy() / (scale if scale > 0 else 1.0)
            plane[f"{label} {kind}"] = P
            quad[f"{label} {kind}"] = P[0, 0] * A ** 2 + 2 * P[0, 1] * A * B + P[1, 1] * B ** 2
    return {"a": a, "b": a, "loss_b": loss_b, "quad": quad, "plane": plane}


def penalised_optima(plane: dict, lam: float) -> dict:
    """Grid argmin of L_B + λ δθᵀMδθ on the plane, per metric: ``{name: (a, b)}`` (plus ``"task B alone"``)."""
    if lam < 0:
        raise ValueError(f"lam={lam!r} must be >= 0.")
    A, B = np.meshgrid(plane["a"], plane["b"], indexing="xy")
    out = {}
    i = np.unravel_index(np.argmin(plane["loss_b"]), A.shape)
    out["task B alone"] = (A[i], B[i])
    for name, Q in plane["quad"].items():
        i = np.unravel_index(np.argmin(plane["loss_b"] + lam * Q), A.shape)
        out[name] = (A[i], B[i])
    return out
