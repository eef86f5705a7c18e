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

One module per subject: ``inputs`` (conversion, checks), ``grid``, ``samples``, ``slicing``, ``landscapes``
(Figure 2); ``from scpviz import distances`` gives all of them under one name.
"""

from .grid import cramer, wasserstein, js_distance
from .samples import cramer_pp_batched, cramer_samples
from .slicing import (directions_2d, radon_slices, random_slices, sliced_cramer, sliced_cramer_estimates,
                      sliced_cramer_squared)
from .landscapes import SHAPES, shape_density, shift_landscape, box_landscape, box_closed_forms

__all__ = [
    "cramer",
    "wasserstein",
    "js_distance",
    "cramer_samples",
    "random_slices",
    "directions_2d",
    "radon_slices",
    "sliced_cramer",
    "sliced_cramer_squared",
    "sliced_cramer_estimates",
    "SHAPES",
    "shape_density",
    "shift_landscape",
    "box_landscape",
    "box_closed_forms",
]
