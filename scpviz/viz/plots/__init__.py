"""Figures, one module per subject; every function takes ``ax=None`` (a new figure when omitted) and returns the
Figure. No mathematics here: the numbers come from the modules upstream, colours and labels from
:mod:`scpviz.viz.style` (and through it from :mod:`scpviz.methods`), so a method looks the same in every figure.

=================  ================================================================
``distances``      notebooks 01–02: densities, Figure 2's landscape, slices, SC₂'s estimate
``geometry``       notebooks 03–04: Taylor expansions and the penalties' quadratic forms
``importance``     notebook 05: log-importance histograms (Figure 3b), Γ_L → Γ_∞, spectra
``continual``      notebooks 06–10: forgetting curves, task panels, Figure 3a, trade-offs
``sweeps``         notebooks 07, 07b: the metric against λ, the Figure 4 study
``images``         digit grids, reconstructions (Figure 4a), RGB samples, segmentation frames
=================  ================================================================

``from scpviz.viz import plots`` gives every function of them under one name.
"""

from ..style import (DISTANCE_COLORS, METHOD_COLORS, METHOD_LABELS, budget_label, finish_axes, new_axes,
                     to_numpy)
from .continual import (PAPER_FIG3A, plot_accuracy_matrix, plot_average_metric, plot_blind_drift,
                        plot_forgetting_and_learning, plot_forgetting_curves, plot_forgetting_side_by_side,
                        plot_stability_plasticity, plot_task_change, plot_task_panels, plot_tradeoff)
from .distances import (plot_cloud_slice, plot_figure2, plot_landscape, plot_sd_scaling, plot_shifted_densities,
                        plot_sliced_convergence)
from .geometry import REGULARIZER_COLORS, plot_expansion, plot_output_transform, plot_ratio_histograms, plot_riemannian_plane
from .images import (SEGMENTATION_COLORS, color_labels, plot_reconstruction_grid, plot_segmentation_frames,
                     show_images, show_rgb_images, show_season_frames, show_task_split)
from .importance import plot_gamma_convergence, plot_importance_histograms, plot_merge_weights, plot_spectra
from .sweeps import plot_lambda_sweep, plot_study_lambda, plot_study_overview

__all__ = [
    "METHOD_COLORS", "METHOD_LABELS", "DISTANCE_COLORS", "REGULARIZER_COLORS", "SEGMENTATION_COLORS", "PAPER_FIG3A",
    "new_axes", "finish_axes", "to_numpy", "budget_label",
    "plot_shifted_densities", "plot_landscape", "plot_figure2", "plot_cloud_slice", "plot_sliced_convergence",
    "plot_sd_scaling",
    "plot_expansion", "plot_ratio_histograms", "plot_output_transform", "plot_riemannian_plane",
    "plot_importance_histograms", "plot_gamma_convergence", "plot_spectra", "plot_merge_weights",
    "plot_forgetting_curves", "plot_stability_plasticity", "plot_forgetting_side_by_side", "plot_task_change",
    "plot_forgetting_and_learning", "plot_average_metric", "plot_blind_drift", "plot_task_panels",
    "plot_accuracy_matrix", "plot_tradeoff",
    "plot_lambda_sweep", "plot_study_overview", "plot_study_lambda",
    "show_images", "show_rgb_images", "show_task_split", "show_season_frames", "color_labels",
    "plot_reconstruction_grid", "plot_segmentation_frames",
]
