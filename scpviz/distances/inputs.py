"""What every distance does with its inputs: NumPy or torch in, the same kind out; float64 unless the inputs
are float32 tensors; densities on a grid checked and normalised, and their CDFs.
"""

from __future__ import annotations

import numpy as np
import torch

__all__ = ["is_torch", "as_tensor", "common_dtype", "as_output", "check_p", "grid_inputs", "normalise", "cdf_on_grid"]


def is_torch(*xs) -> bool:
    """True if any of ``xs`` is a torch tensor (then the distances return tensors)."""
    return any(isinstance(x, torch.Tensor) for x in xs)


def as_tensor(x, name: str, dtype=None) -> torch.Tensor:
    """``x`` as a floating-point tensor (float64 unless ``x`` is a float tensor or ``dtype`` is given).

    Parameters
    ----------
    x : array-like or Tensor
    name : str
        Its name in error messages.
    dtype : torch.dtype, optional

    Raises
    ------
    ValueError
        For non-numeric input, NaN or infinite values, naming ``name``.
    """
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


def common_dtype(*ts) -> torch.dtype:
    """float32 when all ``ts`` are float32, else float64."""
    return torch.float32 if all(t.dtype == torch.float32 for t in ts) else torch.float64


def as_output(value: torch.Tensor, torch_in: bool):
    """``value`` as a tensor if the inputs were tensors (``torch_in``), else a NumPy array (a float for a scalar)."""
    if torch_in:
        return value
    v = value.detach().cpu().numpy()
    return float(v) if v.ndim == 0 else v


def check_p(p, name: str = "p") -> float:
    """``p`` as a float; ``ValueError`` unless it is a number ≥ 1 (where the distances are metrics)."""
    if isinstance(p, bool) or not isinstance(p, (int, float, np.integer, np.floating)) or not p >= 1:
        raise ValueError(f"{name}={p!r} must be a number >= 1 (the distance is only a metric for p >= 1).")
    return float(p)


def grid_inputs(p0, p1, x):
    """Check and convert two densities sampled on the grid ``x`` for the grid distances.

    Parameters
    ----------
    p0, p1 : array-like or Tensor, shape (..., n)
        Non-negative densities on ``x`` (any leading batch axes); need not be normalised.
    x : array-like or Tensor, shape (n,)
        A strictly increasing grid of at least 2 points.

    Returns
    -------
    p0, p1, x : Tensor
        In one dtype (:func:`common_dtype`), the densities normalised to mass 1 (trapezoidal rule).
    torch_in : bool
        Whether any input was a tensor (:func:`as_output`).
    """
    torch_in = is_torch(p0, p1, x)
    x_t = as_tensor(x, "x")
    p0_t, p1_t = as_tensor(p0, "p0"), as_tensor(p1, "p1")
    dt = common_dtype(x_t, p0_t, p1_t)
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
    p0_t, p1_t = normalise(p0_t, x_t, "p0"), normalise(p1_t, x_t, "p1")
    return p0_t, p1_t, x_t, torch_in


def normalise(d, x, name):
    """``d`` divided by its trapezoidal mass on ``x`` (per leading index); ``ValueError`` if a mass is 0."""
    mass = torch.trapezoid(d, x, dim=-1)
    if bool((mass <= 0).any()):
        raise ValueError(f"{name} is zero everywhere on the grid (no mass to normalise).")
    return d / mass.unsqueeze(-1)


def cdf_on_grid(d, x):
    """The CDF of density ``d`` at every point of ``x`` (cumulative trapezoid from 0, clamped to [0, 1])."""
    c = torch.cumulative_trapezoid(d, x, dim=-1)
    c = torch.cat([torch.zeros_like(c[..., :1]), c], dim=-1)
    return c.clamp(0.0, 1.0)
