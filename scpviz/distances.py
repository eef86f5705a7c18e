"""Distances between probability distributions (§3.1–3.2, eq 10–13).

* On a grid: :func:`cramer` (eq 10), :func:`wasserstein`, :func:`js_distance`
  between 1-D densities sampled on a common grid.
* From samples: :func:`cramer_samples`, the same Cramér distance between two
  empirical 1-D distributions, exact (merged sorted support, no grid).
* Slicing: :func:`random_slices`, :func:`radon_slices` (eq 11) and
  :func:`sliced_cramer` (eq 13), batched over slices.
* Figure 2: :func:`shift_landscape` / :func:`box_landscape`.

All functions accept NumPy arrays or torch tensors. They compute in torch (so
torch inputs are differentiable) in float64 unless the inputs are float32
tensors; NumPy inputs give NumPy/float outputs, torch inputs give tensors.

Measured on the 2-core CPU this collection is developed on:
``sliced_cramer`` between two clouds of 10,000 points in 10-D with L = 100
slices takes 0.24 s in float64 (0.22 s in float32, best of 5); ``cramer_samples``
costs sorts of the n + m points, O((n+m) log(n+m)): 3.6 ms, 41 ms and 0.46 s for
n = m = 10⁴, 10⁵, 10⁶ (roughly ×11 per ×10, the n log n growth).
"""

from __future__ import annotations

import math

import numpy as np
import torch

__all__ = [
    "cramer",
    "wasserstein",
    "js_distance",
    "cramer_samples",
    "random_slices",
    "radon_slices",
    "directions_2d",
    "sliced_cramer",
    "sliced_cramer_estimates",
    "sliced_cramer_squared",
    "shape_density",
    "shift_landscape",
    "box_landscape",
    "box_closed_forms",
    "SHAPES",
]

SHAPES = ("box", "gaussian", "mixture")


# --------------------------------------------------------------------------- input handling

def _is_torch(*xs) -> bool:
    return any(isinstance(x, torch.Tensor) for x in xs)


def _as_tensor(x, name: str, dtype=None) -> torch.Tensor:
    if isinstance(x, torch.Tensor):
        t = x
        if dtype is not None:
            t = t.to(dtype)
        elif not t.is_floating_point():
            t = t.to(torch.float64)
    else:
        try:
            t = torch.as_tensor(np.ascontiguousarray(x, dtype=np.float64))
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{name} must be numeric array-like ({exc}).") from None
        if dtype is not None:
            t = t.to(dtype)
    if torch.isnan(t).any():
        raise ValueError(f"{name} contains NaN values; remove or impute them first.")
    if torch.isinf(t).any():
        raise ValueError(f"{name} contains infinite values.")
    return t


def _common_dtype(*ts) -> torch.dtype:
    return torch.float32 if all(t.dtype == torch.float32 for t in ts) else torch.float64


def _out(value: torch.Tensor, torch_in: bool):
    if torch_in:
        return value
    v = value.detach().cpu().numpy()
    return float(v) if v.ndim == 0 else v


def _check_p(p, name: str = "p") -> float:
    if isinstance(p, bool) or not isinstance(p, (int, float, np.integer, np.floating)) or not p >= 1:
        raise ValueError(f"{name}={p!r} must be a number >= 1 (the distance is only a metric for p >= 1).")
    return float(p)


def _grid_inputs(p0, p1, x):
    torch_in = _is_torch(p0, p1, x)
    x_t = _as_tensor(x, "x")
    p0_t, p1_t = _as_tensor(p0, "p0"), _as_tensor(p1, "p1")
    dt = _common_dtype(x_t, p0_t, p1_t)
    x_t, p0_t, p1_t = x_t.to(dt), p0_t.to(dt), p1_t.to(dt)
    if x_t.ndim != 1 or x_t.numel() < 2:
        raise ValueError(f"x must be a 1-D grid of at least 2 points, got shape {tuple(x_t.shape)}.")
    if not bool((torch.diff(x_t) > 0).all()):
        raise ValueError("x must be strictly increasing (a monotone grid); sort it and its densities.")
    for name, d in (("p0", p0_t), ("p1", p1_t)):
        if d.ndim < 1 or d.shape[-1] != x_t.numel():
            raise ValueError(f"{name} has {d.shape[-1] if d.ndim else 0} values on its last axis but the grid x "
                             f"has {x_t.numel()}: sample both densities on the same grid.")
        if bool((d < 0).any()):
            raise ValueError(f"{name} has negative values; a density must be non-negative.")
    p0_t, p1_t = _normalise(p0_t, x_t, "p0"), _normalise(p1_t, x_t, "p1")
    return p0_t, p1_t, x_t, torch_in


def _normalise(d, x, name):
    mass = torch.trapezoid(d, x, dim=-1)
    if bool((mass <= 0).any()):
        raise ValueError(f"{name} is zero everywhere on the grid (no mass to normalise).")
    return d / mass.unsqueeze(-1)


def _cdf(d, x):
    c = torch.cumulative_trapezoid(d, x, dim=-1)
    c = torch.cat([torch.zeros_like(c[..., :1]), c], dim=-1)
    return c.clamp(0.0, 1.0)


# --------------------------------------------------------------------------- grid distances

def cramer(p0, p1, x, p=2):
    r"""p-Cramér distance between two 1-D densities on a grid (eq 10).

    .. math:: C_p(p_0, p_1) = \Big(\int_{\mathbb R} |q_0(t) - q_1(t)|^p\,dt\Big)^{1/p},
              \qquad q_i(t) = \int_{-\infty}^t p_i(\tau)\,d\tau .

    Parameters
    ----------
    p0, p1 : array_like, shape (..., n)
        Non-negative densities sampled on ``x``; leading axes broadcast (a batch
        of densities). Each is normalised to integrate to 1 (trapezoid rule),
        so unnormalised histograms are fine.
    x : array_like, shape (n,)
        Strictly increasing grid covering both supports.
    p : float, >= 1

    Returns
    -------
    float or ndarray or Tensor
        Shape ``(...)``.

    Notes
    -----
    CDFs by cumulative trapezoid, then the trapezoid integral of ``|q0 - q1|^p``.
    ``C_1`` equals the 1-Wasserstein distance.

    Examples
    --------
    >>> x = np.linspace(-1, 3, 4001)
    >>> box = ((x >= 0) & (x <= 1)).astype(float)
    >>> shifted = ((x >= 0.5) & (x <= 1.5)).astype(float)
    >>> round(cramer(box, shifted, x, p=1), 3)    # C1 = |tau|
    0.5
    """
    p = _check_p(p)
    p0, p1, x, torch_in = _grid_inputs(p0, p1, x)
    diff = (_cdf(p0, x) - _cdf(p1, x)).abs()
    val = torch.trapezoid(diff ** p, x, dim=-1) ** (1.0 / p)
    return _out(val, torch_in)


def _quantile(cdf, x, s):
    """Generalised inverse Q(s) = inf{t : q(t) >= s} of a piecewise-linear CDF, batched."""
    cdf = cdf.contiguous()
    s_b = s.expand(*cdf.shape[:-1], s.numel()).contiguous()
    i = torch.searchsorted(cdf, s_b, right=False).clamp(1, cdf.shape[-1] - 1)
    c_lo, c_hi = cdf.gather(-1, i - 1), cdf.gather(-1, i)
    x_lo, x_hi = x[i - 1], x[i]
    frac = ((s_b - c_lo) / (c_hi - c_lo).clamp_min(torch.finfo(cdf.dtype).tiny)).clamp(0.0, 1.0)
    return x_lo + frac * (x_hi - x_lo)


def wasserstein(p0, p1, x, p=1, n_quantiles=None):
    r"""p-Wasserstein distance between two 1-D densities on a grid, via quantile functions.

    .. math:: W_p(p_0, p_1) = \Big(\int_0^1 |Q_0(s) - Q_1(s)|^p\,ds\Big)^{1/p},
              \qquad Q_i = q_i^{-1} .

    Parameters
    ----------
    p0, p1, x
        As in :func:`cramer` (normalised, batched over leading axes).
    p : float, >= 1
    n_quantiles : int, optional
        Midpoint-rule nodes on (0, 1); default ``4 * len(x)``.

    Notes
    -----
    The CDF is the piecewise-linear interpolant of the cumulative trapezoid;
    its generalised inverse is evaluated exactly, the s-integral by the
    midpoint rule (exact for a pure shift, where ``Q_0 - Q_1`` is constant).

    Examples
    --------
    >>> x = np.linspace(-1, 3, 4001)
    >>> box = ((x >= 0) & (x <= 1)).astype(float)
    >>> shifted = ((x >= 1.5) & (x <= 2.5)).astype(float)
    >>> round(wasserstein(box, shifted, x, p=2), 3)    # W_p = |tau|
    1.5
    """
    p = _check_p(p)
    p0, p1, x, torch_in = _grid_inputs(p0, p1, x)
    m = int(n_quantiles or 4 * x.numel())
    if m < 1:
        raise ValueError(f"n_quantiles={n_quantiles!r} must be a positive integer.")
    s = (torch.arange(m, dtype=x.dtype) + 0.5) / m
    c0, c1 = _cdf(p0, x), _cdf(p1, x)
    c0, c1 = torch.broadcast_tensors(c0, c1)
    d = (_quantile(c0, x, s) - _quantile(c1, x, s)).abs()
    val = (d ** p).mean(dim=-1) ** (1.0 / p)
    return _out(val, torch_in)


def js_distance(p0, p1, x):
    r"""Jensen–Shannon distance (square root of the JS divergence, natural log).

    .. math:: JS(p_0, p_1) = \Big(\tfrac12 KL(p_0\|m) + \tfrac12 KL(p_1\|m)\Big)^{1/2},
              \qquad m = \tfrac12(p_0 + p_1),

    with ``0 log 0 = 0``, so it is finite for disjoint supports, where it
    saturates at ``sqrt(log 2)`` — and gives no gradient.

    Examples
    --------
    >>> x = np.linspace(-1, 4, 5001)
    >>> a = ((x >= 0) & (x <= 1)).astype(float); b = ((x >= 2) & (x <= 3)).astype(float)
    >>> bool(abs(js_distance(a, b, x) - np.sqrt(np.log(2))) < 1e-9)
    True
    """
    p0, p1, x, torch_in = _grid_inputs(p0, p1, x)
    p0, p1 = torch.broadcast_tensors(p0, p1)
    m = 0.5 * (p0 + p1)
    safe_m = torch.where(m > 0, m, torch.ones_like(m))
    integrand = 0.5 * (torch.xlogy(p0, p0) - torch.xlogy(p0, safe_m)) \
        + 0.5 * (torch.xlogy(p1, p1) - torch.xlogy(p1, safe_m))
    div = torch.trapezoid(integrand, x, dim=-1).clamp_min(0.0)
    return _out(div.sqrt(), torch_in)


# --------------------------------------------------------------------------- samples

def _cdf_at(sorted_vals, sorter, weights, points):
    """Empirical CDF F(t) = P(X <= t) of (weighted) samples at ``points``, batched over leading axes."""
    idx = torch.searchsorted(sorted_vals, points, right=True)
    if weights is None:
        return idx.to(points.dtype) / sorted_vals.shape[-1]
    w = weights.gather(-1, sorter)
    cum = torch.cat([torch.zeros_like(w[..., :1]), torch.cumsum(w, dim=-1)], dim=-1)
    return cum.gather(-1, idx) / cum[..., -1:]


def _check_weights(w, like, name):
    if w is None:
        return None
    w = _as_tensor(w, name).to(like.dtype)
    if w.shape[-1] != like.shape[-1]:
        raise ValueError(f"{name} has {w.shape[-1]} entries but there are {like.shape[-1]} samples.")
    if bool((w < 0).any()) or bool((w.sum(-1) <= 0).any()):
        raise ValueError(f"{name} must be non-negative with a positive sum.")
    return w.expand_as(like).contiguous()


def _abs_gauss_mean(mu, s):
    """E|N(mu, s²)| = s √(2/π) exp(−mu²/(2s²)) + mu erf(mu/(s√2)), elementwise (smooth in mu)."""
    return s * math.sqrt(2.0 / math.pi) * torch.exp(-0.5 * (mu / s) ** 2) + mu * torch.special.erf(mu / (s * math.sqrt(2.0)))


def _smoothed_c2_squared(u, v, h):
    """C₂² between the Gaussian-kernel-smoothed empirical distributions of u and v (bandwidth h), batched.

    Uses C₂² = E|X−Y| − ½E|X−X'| − ½E|Y−Y'| (the energy-distance identity) with X, X' ~ u + N(0, h²)
    and Y, Y' ~ v + N(0, h²), so every term is E|N(μ, 2h²)| in closed form. O(n² + m² + nm).
    """
    s = math.sqrt(2.0) * h
    xy = _abs_gauss_mean(u[..., :, None] - v[..., None, :], s).mean((-1, -2))
    xx = _abs_gauss_mean(u[..., :, None] - u[..., None, :], s).mean((-1, -2))
    yy = _abs_gauss_mean(v[..., :, None] - v[..., None, :], s).mean((-1, -2))
    return xy - 0.5 * xx - 0.5 * yy  # >= 0 up to rounding; no clamp, so it stays twice differentiable


def cramer_samples(u, v, p=2, u_weights=None, v_weights=None, bandwidth=None):
    r"""Exact p-Cramér distance between two 1-D empirical distributions (eq 10 on samples).

    The empirical CDFs are step functions that change only at the samples, so
    the integral of eq 10 is a finite sum over the merged sorted support
    :math:`t_0 \le t_1 \le \dots`:

    .. math:: C_p^p = \sum_k |F_u(t_k) - F_v(t_k)|^p\,(t_{k+1} - t_k).

    Parameters
    ----------
    u, v : array_like, shape (..., n) and (..., m)
        Samples; leading axes are a batch (e.g. one row per slice) and must match.
    p : float, >= 1
    u_weights, v_weights : array_like, shape (n,) or (..., n), optional
        Non-negative sample weights (normalised internally); default uniform.
    bandwidth : float, optional
        Smooth both empirical CDFs with a Gaussian kernel of this bandwidth h
        (p = 2 only, unweighted). The result is smooth in the sample positions
        (the exact one has a cusp when samples cross, see notebook 03) and tends
        to the exact distance as h → 0. Cost O((n+m)²).

    Returns
    -------
    float or ndarray or Tensor, shape (...)

    Notes
    -----
    One sort of the n + m points: O((n+m) log(n+m)). Differentiable with
    respect to the sample positions when given tensors. For p = 1 this is
    ``scipy.stats.wasserstein_distance``; for p = 2,
    ``scipy.stats.energy_distance`` equals ``sqrt(2) * C_2``.

    Examples
    --------
    >>> from scipy.stats import energy_distance
    >>> u, v = [0.0, 1.0, 3.0], [0.5, 2.0]
    >>> bool(np.isclose(np.sqrt(2) * cramer_samples(u, v), energy_distance(u, v)))
    True
    """
    p = _check_p(p)
    torch_in = _is_torch(u, v)
    val = _cramer_pp(u, v, p, u_weights, v_weights, bandwidth)
    if p == 2.0:
        val = val.clamp_min(0.0).sqrt()
    elif p != 1.0:
        val = val.clamp_min(0.0) ** (1.0 / p)
    return _out(val, torch_in)


def _cramer_pp(u, v, p, u_weights=None, v_weights=None, bandwidth=None):
    """C_p^p (no root) between batched 1-D samples; see :func:`cramer_samples`."""
    u_t, v_t = _as_tensor(u, "u"), _as_tensor(v, "v")
    dt = _common_dtype(u_t, v_t)
    u_t, v_t = u_t.to(dt), v_t.to(dt)
    if u_t.ndim == 0 or v_t.ndim == 0 or u_t.shape[-1] == 0 or v_t.shape[-1] == 0:
        raise ValueError("u and v must each hold at least one sample.")
    if u_t.shape[:-1] != v_t.shape[:-1]:
        raise ValueError(f"u and v have different batch shapes {tuple(u_t.shape[:-1])} and {tuple(v_t.shape[:-1])}.")
    if bandwidth is not None:
        if not (isinstance(bandwidth, (int, float, np.floating)) and bandwidth > 0):
            raise ValueError(f"bandwidth={bandwidth!r} must be a positive number (or None for the exact distance).")
        if p != 2.0 or u_weights is not None or v_weights is not None:
            raise ValueError("bandwidth is implemented for p=2 without weights only.")
        return _smoothed_c2_squared(u_t, v_t, float(bandwidth))
    uw = _check_weights(u_weights, u_t, "u_weights")
    vw = _check_weights(v_weights, v_t, "v_weights")
    u_sorted, u_sorter = torch.sort(u_t, dim=-1)
    v_sorted, v_sorter = torch.sort(v_t, dim=-1)
    merged = torch.sort(torch.cat([u_t, v_t], dim=-1), dim=-1).values
    deltas = torch.diff(merged, dim=-1)
    left = merged[..., :-1].contiguous()
    fu = _cdf_at(u_sorted.contiguous(), u_sorter, uw, left)
    fv = _cdf_at(v_sorted.contiguous(), v_sorter, vw, left)
    diff = (fu - fv).abs()
    if p == 1.0:
        return (diff * deltas).sum(-1)
    if p == 2.0:
        return ((diff * diff) * deltas).sum(-1)
    return ((diff ** p) * deltas).sum(-1)


# --------------------------------------------------------------------------- slicing

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
    t = _as_tensor(X, name)
    if t.ndim == 1:
        t = t[:, None]
    if t.ndim != 2 or t.shape[0] == 0:
        raise ValueError(f"{name} must be a point cloud of shape (n_points, dim), got {tuple(t.shape)}.")
    return t


def _check_slices(slices, dim, dtype):
    s = _as_tensor(slices, "slices").to(dtype)
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
    torch_in = _is_torch(X, slices)
    Xt = _cloud(X, "X")
    s = _check_slices(slices, Xt.shape[1], Xt.dtype)
    return _out(s @ Xt.T, torch_in)


def _clouds_and_slices(X, Y, n_slices, seed, slices):
    """Validated clouds (common dtype) and the unit slices to use (given, or random from ``seed``)."""
    Xt, Yt = _cloud(X, "X"), _cloud(Y, "Y")
    if Xt.shape[1] != Yt.shape[1]:
        raise ValueError(f"X and Y live in different dimensions ({Xt.shape[1]} vs {Yt.shape[1]}).")
    dt = _common_dtype(Xt, Yt)
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
    p = _check_p(p)
    torch_in = _is_torch(X, Y, slices)
    Xt, Yt, s = _clouds_and_slices(X, Y, n_slices, seed, slices)
    val = _cramer_pp(s @ Xt.T, s @ Yt.T, p, bandwidth=bandwidth).mean().clamp_min(0.0) ** (1.0 / p)
    return _out(val, torch_in)


def sliced_cramer_squared(X, Y, n_slices=100, seed=None, slices=None, bandwidth=None):
    """SC₂² (eq 13 squared, the regularizer of eq 14) without the square root, so it is smooth at X = Y.

    Same arguments as :func:`sliced_cramer` with p = 2.
    """
    torch_in = _is_torch(X, Y, slices)
    Xt, Yt, s = _clouds_and_slices(X, Y, n_slices, seed, slices)
    return _out(_cramer_pp(s @ Xt.T, s @ Yt.T, 2.0, bandwidth=bandwidth).mean(), torch_in)


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
    p = _check_p(p)
    Ls = np.asarray(list(n_slices_list), dtype=int)
    if Ls.size == 0 or np.any(Ls < 1):
        raise ValueError(f"n_slices_list={list(n_slices_list)!r} must hold positive integers.")
    if isinstance(n_seeds, bool) or not isinstance(n_seeds, (int, np.integer)) or n_seeds < 2:
        raise ValueError(f"n_seeds={n_seeds!r} must be an integer >= 2 (a spread needs two estimates).")
    Xt, Yt = _cloud(X, "X"), _cloud(Y, "Y")
    if Xt.shape[1] != Yt.shape[1]:
        raise ValueError(f"X and Y live in different dimensions ({Xt.shape[1]} vs {Yt.shape[1]}).")
    dt = _common_dtype(Xt, Yt)
    Xt, Yt = Xt.to(dt), Yt.to(dt)
    est = np.empty((int(n_seeds), Ls.size))
    from tqdm.auto import tqdm

    for k in tqdm(range(int(n_seeds)), desc="seeds", disable=not progress, leave=False):  # one batched call each
        s = random_slices(int(Ls.max()), Xt.shape[1], seed=int(seed) + k, dtype=dt, device=Xt.device)
        cp = (cramer_samples(s @ Xt.T, s @ Yt.T, p=p) ** p).detach().cpu().numpy()
        est[k] = (np.cumsum(cp)[Ls - 1] / Ls) ** (1.0 / p)
    return {"L": Ls, "estimates": est, "mean": est.mean(0), "sd": est.std(0, ddof=1)}


# --------------------------------------------------------------------------- Figure 2

def shape_density(shape, x, width=1.0, shift=0.0):
    """A 1-D density of the given shape and support scale ``width``, shifted by ``shift``.

    ``"box"``: uniform on [shift, shift + width] (the paper's Figure 2);
    ``"gaussian"``: N(shift + width/2, (width/4)²);
    ``"mixture"``: two equal bumps N(shift + 0.2 w, (w/10)²) and N(shift + 0.8 w, (w/10)²).

    ``shift`` may be an array: the result then has one row per shift.
    """
    if shape not in SHAPES:
        raise ValueError(f"shape={shape!r} is not known; choose one of {SHAPES}.")
    if not width > 0:
        raise ValueError(f"width={width!r} must be positive.")
    x = np.asarray(x, dtype=np.float64)
    t = x[None, :] - np.atleast_1d(np.asarray(shift, dtype=np.float64))[:, None]
    if shape == "box":
        d = ((t >= 0) & (t <= width)).astype(np.float64) / width
    elif shape == "gaussian":
        s = width / 4
        d = np.exp(-0.5 * ((t - width / 2) / s) ** 2) / (s * np.sqrt(2 * np.pi))
    else:
        s = width / 10
        d = 0.5 * (np.exp(-0.5 * ((t - 0.2 * width) / s) ** 2) + np.exp(-0.5 * ((t - 0.8 * width) / s) ** 2)) \
            / (s * np.sqrt(2 * np.pi))
    return d if np.ndim(shift) else d[0]


def shift_landscape(taus, shape="box", width=1.0, ps=(1, 2), grid=None):
    """Distances between a density and its shift by τ, for every τ (Figure 2, right).

    Parameters
    ----------
    taus : array_like, shape (T,)
        Shifts.
    shape : {"box", "gaussian", "mixture"}
        See :func:`shape_density`.
    width : float
        Support scale w.
    ps : sequence of float
        Orders p of the Cramér and Wasserstein distances to compute.
    grid : array_like, optional
        Default: 8001 points covering both densities for every τ.

    Returns
    -------
    dict
        ``"tau"``, ``"x"``, ``"p0"`` (the base density), ``"shape"``, ``"width"`` and one array of shape
        (T,) per distance: ``"JS"``, ``"W{p}"``, ``"C{p}"`` (e.g. ``"C2"``).
    """
    taus = np.atleast_1d(np.asarray(taus, dtype=np.float64))
    if not np.all(np.isfinite(taus)):
        raise ValueError("taus contains NaN or infinite values.")
    if grid is None:
        span = float(np.max(np.abs(taus))) if taus.size else 0.0
        grid = np.linspace(-span - 0.5 * width, span + 1.5 * width, 8001)
    x = np.asarray(grid, dtype=np.float64)
    p0 = shape_density(shape, x, width)
    p1 = shape_density(shape, x, width, shift=taus)
    out = {"tau": taus, "x": x, "p0": p0, "shape": shape, "width": float(width),
           "JS": js_distance(p0[None, :], p1, x)}
    for p in ps:
        out[f"W{p:g}"] = wasserstein(p0[None, :], p1, x, p=p)
        out[f"C{p:g}"] = cramer(p0[None, :], p1, x, p=p)
    return out


def box_landscape(taus, width=1.0, grid=None):
    """Figure 2's experiment: JS, W1, W2, C1, C2 between a box of width w and its shift by τ.

    Closed forms (derived in notebook 01), for the box of width w:
    ``W_p = C_1 = |τ|``; ``C_2² = 2|τ|³/(3w²) + (w − |τ|)τ²/w²`` for ``|τ| ≤ w``
    and ``2w/3 + (|τ| − w)`` beyond; ``JS = sqrt((|τ|/w) log 2)`` while the
    boxes overlap, ``sqrt(log 2)`` (flat: zero gradient) once they do not.

    Returns
    -------
    dict
        As :func:`shift_landscape` with ``ps=(1, 2)``.

    Examples
    --------
    >>> L = box_landscape([0.25, 2.0])
    >>> np.round(L["C1"], 3).tolist(), np.round(L["W2"], 3).tolist()
    ([0.25, 2.0], [0.25, 2.0])
    """
    return shift_landscape(taus, shape="box", width=width, ps=(1, 2), grid=grid)


def box_closed_forms(taus, width=1.0):
    """The closed forms of :func:`box_landscape` (for tests and notebook 01)."""
    a = np.abs(np.atleast_1d(np.asarray(taus, dtype=np.float64)))
    w = float(width)
    c2sq = np.where(a <= w, 2 * a ** 3 / (3 * w ** 2) + (w - a) * a ** 2 / w ** 2, 2 * w / 3 + (a - w))
    js = np.sqrt(np.minimum(a / w, 1.0) * np.log(2))
    return {"tau": a, "JS": js, "W1": a, "W2": a, "C1": a, "C2": np.sqrt(c2sq)}
