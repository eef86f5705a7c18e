"""Figure 2: the energy landscape of each distance between a density and its shift, and the box density's
closed forms.
"""

from __future__ import annotations

import numpy as np

from .grid import cramer, wasserstein, js_distance

__all__ = ["SHAPES", "shape_density", "shift_landscape", "box_landscape", "box_closed_forms"]


SHAPES = ("box", "gaussian", "mixture")


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
