"""Small numerical helpers shared by notebooks' checks (slopes of log–log plots)."""

from __future__ import annotations

import numpy as np

__all__ = ["loglog_slope"]


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
