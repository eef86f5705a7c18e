"""Small numerical helpers shared by notebooks' checks (slopes of log–log plots, the Monte-Carlo spread of Γ_L)."""

from __future__ import annotations

import math

import numpy as np

__all__ = ["loglog_slope", "gamma_relative_sd", "gamma_relative_sd_monte_carlo"]


def loglog_slope(x, y):
    """Least-squares slope of log(y) against log(x): the exponent a in y ∝ x^a.

    Examples
    --------
    >>> x = np.array([1.0, 10.0, 100.0])
    >>> round(loglog_slope(x, 3 * x ** -0.5), 6)
    -0.5
    """
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if x.shape != y.shape or x.ndim != 1 or x.size < 2:
        raise ValueError(f"x and y must be 1-D arrays of the same length >= 2, got {x.shape} and {y.shape}.")
    if np.any(x <= 0) or np.any(y <= 0):
        raise ValueError("x and y must be positive to take logarithms.")
    return float(np.polyfit(np.log(x), np.log(y), 1)[0])


def gamma_relative_sd(K, L):
    """The relative standard deviation of one weight's Monte-Carlo Γ_L (eq 19) over the draw of L slices,
    √((2K − 2) / ((K + 2) L)), for slices uniform on the sphere S^{K−1} (notebook 02's exercise).

    With u = ξ·g/‖g‖ for a fixed gradient g, u² ~ Beta(½, (K − 1)/2): mean 1/K, variance 2(K − 1)/(K²(K + 2)).

    Examples
    --------
    >>> round(gamma_relative_sd(10, 100), 4)
    0.1225
    """
    return math.sqrt((2 * K - 2) / ((K + 2) * L))


def gamma_relative_sd_monte_carlo(K, L, n_draws=400, seed=0, chunk=50):
    """The relative standard deviation (sd / mean) of one weight's Γ_L = (1/L) Σ_l (ξ_l·g)² (eq 19) over
    ``n_draws`` independent draws of L slices, measured by simulation.

    The slices are :func:`scpviz.distances.random_slices` (uniform on the sphere S^{K−1}), the gradient g a fixed
    random vector (the spread does not depend on g: the distribution of the slices is rotation-invariant).
    Notebook 02 compares this with the closed form √((2K − 2) / ((K + 2) L)).

    Examples
    --------
    >>> round(gamma_relative_sd_monte_carlo(2, 1, n_draws=20000, seed=0), 1)   # closed form: √(2/4) = 0.707
    0.7
    """
    import torch

    from ..distances import random_slices

    if K < 2 or L < 1 or n_draws < 2:
        raise ValueError(f"need K >= 2, L >= 1 and n_draws >= 2, got K={K}, L={L}, n_draws={n_draws}.")
    g = torch.randn(K, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    gammas = []
    for i, start in enumerate(range(0, n_draws, chunk)):
        n = min(chunk, n_draws - start)
        xi = random_slices(n * L, K, seed=seed + 1 + i).double().reshape(n, L, K)
        gammas.append(((xi @ g) ** 2).mean(1))
    gammas = torch.cat(gammas)
    return float(gammas.std() / gammas.mean())
