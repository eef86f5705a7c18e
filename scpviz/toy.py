"""Tiny problems in two dimensions, where every distribution can be looked at."""

from __future__ import annotations

import math

import numpy as np

__all__ = ["gaussian_mixture_2d", "transform_2d"]


def gaussian_mixture_2d(n=500, seed=0, centers=((-1.5, 0.0), (1.0, 1.2), (1.2, -1.0)), scale=0.35):
    """``n`` points from an equal-weight mixture of isotropic 2-D Gaussians.

    Parameters
    ----------
    n : int
    seed : int
    centers : sequence of (x, y)
    scale : float
        Standard deviation of each component.

    Returns
    -------
    ndarray, shape (n, 2)
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
    return c[which] + scale * rng.normal(size=(n, 2))


def transform_2d(X, angle=0.0, shift=(0.0, 0.0), scale=1.0):
    """Rotate by ``angle`` radians about the origin, scale, then translate by ``shift``."""
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[1] != 2:
        raise ValueError(f"X must have shape (n, 2), got {X.shape}.")
    c, s = math.cos(angle), math.sin(angle)
    R = np.array([[c, -s], [s, c]])
    return scale * X @ R.T + np.asarray(shift, dtype=np.float64)
