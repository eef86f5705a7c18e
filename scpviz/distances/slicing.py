"""Slicing (eq 11–13): random unit slices, the Radon transform of a cloud along them, and the sliced Cramér
distance between two clouds, batched over slices; the spread of its Monte-Carlo estimate over L.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from .inputs import is_torch, as_tensor, common_dtype, as_output, check_p
from .samples import cramer_samples, cramer_pp_batched

__all__ = ["random_slices", "directions_2d", "radon_slices", "sliced_cramer", "sliced_cramer_squared", "sliced_cramer_estimates"]


def _generator(seed, device="cpu"):
    if seed is None:
        return None
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed={seed!r} must be a non-negative integer or None.")
    return torch.Generator(device="cpu").manual_seed(int(seed))


def random_slices(n_slices, dim, seed=None, dtype=torch.float64, device=None):
    """Directions ξ drawn uniformly on the unit sphere S^{dim-1} (the slices of eq 11–13).

    Normalised Gaussian vectors: each *row* has unit ℓ2 norm.

    Parameters
    ----------
    n_slices : int, >= 1
        L, the number of directions.
    dim : int, >= 1
        K (or d), the dimension of the space.
    seed : int, optional
        Same seed → same slices (drawn on the CPU, then moved to ``device``).

    Returns
    -------
    Tensor, shape (n_slices, dim)

    Examples
    --------
    >>> xi = random_slices(5, 3, seed=0)
    >>> torch.allclose(xi.norm(dim=1), torch.ones(5, dtype=torch.float64))
    True
    """
    for name, val in (("n_slices", n_slices), ("dim", dim)):
        if isinstance(val, bool) or not isinstance(val, (int, np.integer)) or val < 1:
            raise ValueError(f"{name}={val!r} must be a positive integer.")
    g = _generator(seed)
    xi = torch.randn(int(n_slices), int(dim), generator=g, dtype=dtype)
    xi = xi / xi.norm(dim=1, keepdim=True)
    return xi if device is None else xi.to(device)


def directions_2d(n_angles, dtype=torch.float64):
    """``n_angles`` equally spaced unit directions of the half circle [0, π).

    For 2-D clouds this replaces Monte-Carlo slicing with a quadrature of eq 13
    (the Cramér distance of a slice ξ equals that of −ξ, so the half circle suffices).
    """
    if isinstance(n_angles, bool) or not isinstance(n_angles, (int, np.integer)) or n_angles < 1:
        raise ValueError(f"n_angles={n_angles!r} must be a positive integer.")
    a = torch.arange(int(n_angles), dtype=dtype) * math.pi / n_angles
    return torch.stack([torch.cos(a), torch.sin(a)], dim=1)


def _cloud(X, name):
    t = as_tensor(X, name)
    if t.ndim == 1:
        t = t[:, None]
    if t.ndim != 2 or t.shape[0] == 0:
        raise ValueError(f"{name} must be a point cloud of shape (n_points, dim), got {tuple(t.shape)}.")
    return t


def _check_slices(slices, dim, dtype):
    s = as_tensor(slices, "slices").to(dtype)
    if s.ndim != 2 or s.shape[1] != dim or s.shape[0] < 1:
        raise ValueError(f"slices must have shape (n_slices, {dim}), got {tuple(s.shape)}.")
    norms = s.norm(dim=1)
    if not torch.allclose(norms, torch.ones_like(norms), atol=1e-4 if dtype == torch.float32 else 1e-8):
        raise ValueError("slices must be unit vectors (one per row); normalise them with "
                         "slices / slices.norm(dim=1, keepdim=True).")
    return s


def radon_slices(X, slices):
    """Projections ξ_l · x_n of a point cloud: the samples of its Radon slices (eq 11).

    Parameters
    ----------
    X : array_like, shape (n_points, dim)
    slices : array_like, shape (n_slices, dim)
        Unit directions (rows).

    Returns
    -------
    Tensor or ndarray, shape (n_slices, n_points)
        Row l holds the 1-D samples of the slice along ξ_l.
    """
    torch_in = is_torch(X, slices)
    Xt = _cloud(X, "X")
    s = _check_slices(slices, Xt.shape[1], Xt.dtype)
    return as_output(s @ Xt.T, torch_in)


def _clouds_and_slices(X, Y, n_slices, seed, slices):
    """Validated clouds (common dtype) and the unit slices to use (given, or random from ``seed``)."""
    Xt, Yt = _cloud(X, "X"), _cloud(Y, "Y")
    if Xt.shape[1] != Yt.shape[1]:
        raise ValueError(f"X and Y live in different dimensions ({Xt.shape[1]} vs {Yt.shape[1]}).")
    dt = common_dtype(Xt, Yt)
    Xt, Yt = Xt.to(dt), Yt.to(dt)
    if slices is None:
        s = random_slices(n_slices, Xt.shape[1], seed=seed, dtype=dt, device=Xt.device)
    else:
        s = _check_slices(slices, Xt.shape[1], dt).to(Xt.device)
    return Xt, Yt, s


def sliced_cramer(X, Y, n_slices=100, p=2, seed=None, slices=None, bandwidth=None):
    r"""Sliced p-Cramér distance between two point clouds (eq 13), Monte-Carlo over slices.

    .. math:: SC_p(X, Y) = \Big(\frac1L \sum_{l=1}^L C_p^p\big(\xi_l\cdot X, \xi_l\cdot Y\big)\Big)^{1/p},
              \qquad \xi_l \sim \mathcal U(S^{d-1}),

    i.e. eq 13 with the integral over the sphere taken as an expectation
    (uniform probability measure). All slices are processed in one batched
    sort; there is no Python loop over L.

    Parameters
    ----------
    X, Y : array_like, shape (n, d) and (m, d)
    n_slices : int
        L; ignored when ``slices`` is given.
    p : float, >= 1
    seed : int, optional
        Seed of the random slices.
    slices : array_like, shape (L, d), optional
        Fixed unit directions (e.g. :func:`directions_2d` for a quadrature).
    bandwidth : float, optional
        Kernel-smoothed slices (p = 2), see :func:`cramer_samples`.

    Returns
    -------
    float or Tensor

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 3))
    >>> sliced_cramer(X, X, seed=0)
    0.0
    """
    p = check_p(p)
    torch_in = is_torch(X, Y, slices)
    Xt, Yt, s = _clouds_and_slices(X, Y, n_slices, seed, slices)
    val = cramer_pp_batched(s @ Xt.T, s @ Yt.T, p, bandwidth=bandwidth).mean().clamp_min(0.0) ** (1.0 / p)
    return as_output(val, torch_in)


def sliced_cramer_squared(X, Y, n_slices=100, seed=None, slices=None, bandwidth=None):
    """SC₂² (eq 13 squared, the regularizer of eq 14) without the square root, so it is smooth at X = Y.

    Same arguments as :func:`sliced_cramer` with p = 2.
    """
    torch_in = is_torch(X, Y, slices)
    Xt, Yt, s = _clouds_and_slices(X, Y, n_slices, seed, slices)
    return as_output(cramer_pp_batched(s @ Xt.T, s @ Yt.T, 2.0, bandwidth=bandwidth).mean(), torch_in)


def sliced_cramer_estimates(X, Y, n_slices_list, n_seeds=20, p=2, seed=0, progress=False):
    """Monte-Carlo estimates of SC_p for several L and seeds, to watch the estimator converge.

    For each seed one batch of ``max(n_slices_list)`` slices is drawn and the
    per-slice C_p^p computed once (batched); the estimate with L slices uses the
    first L of them. Estimates for different seeds are independent. ``progress``: a tqdm bar over the seeds.

    Returns
    -------
    dict
        ``"L"`` (array of L), ``"estimates"`` (n_seeds × len(L)), ``"mean"``,
        ``"sd"`` (over seeds, ddof=1).
    """
    p = check_p(p)
    Ls = np.asarray(list(n_slices_list), dtype=int)
    if Ls.size == 0 or np.any(Ls < 1):
        raise ValueError(f"n_slices_list={list(n_slices_list)!r} must hold positive integers.")
    if isinstance(n_seeds, bool) or not isinstance(n_seeds, (int, np.integer)) or n_seeds < 2:
        raise ValueError(f"n_seeds={n_seeds!r} must be an integer >= 2 (a spread needs two estimates).")
    Xt, Yt = _cloud(X, "X"), _cloud(Y, "Y")
    if Xt.shape[1] != Yt.shape[1]:
        raise ValueError(f"X and Y live in different dimensions ({Xt.shape[1]} vs {Yt.shape[1]}).")
    dt = common_dtype(Xt, Yt)
    Xt, Yt = Xt.to(dt), Yt.to(dt)
    est = np.empty((int(n_seeds), Ls.size))
    from tqdm.auto import tqdm

    for k in tqdm(range(int(n_seeds)), desc="seeds", disable=not progress, leave=False):  # one batched call each
        s = random_slices(int(Ls.max()), Xt.shape[1], seed=int(seed) + k, dtype=dt, device=Xt.device)
        cp = (cramer_samples(s @ Xt.T, s @ Yt.T, p=p) ** p).detach().cpu().numpy()
        est[k] = (np.cumsum(cp)[Ls - 1] / Ls) ** (1.0 / p)
    return {"L": Ls, "estimates": est, "mean": est.mean(0), "sd": est.std(0, ddof=1)}
