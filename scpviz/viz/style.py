"""The look shared by every figure: one colour and label per method (from :mod:`scpviz.methods`), the
distances' palette, axes helpers, and the words that name a run's budget and metric.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from ..methods import METHODS
from ..training import metric_named

__all__ = ["METHOD_COLORS", "METHOD_LABELS", "DISTANCE_COLORS", "new_axes", "finish_axes", "to_numpy", "budget_label",
           "metric_ylim", "method_of_curve", "curve_label", "rows_metric", "one_dataset"]


# read from the methods table, so that a new method has its colour and label in every figure
METHOD_COLORS = {m.name: m.colour for m in METHODS.values()}
METHOD_LABELS = {m.name: m.label for m in METHODS.values()}


DISTANCE_COLORS = {"JS": "#d62728", "W1": "#1f77b4", "W2": "#17becf", "C1": "#ff7f0e", "C2": "#2ca02c"}


def new_axes(ax=None, figsize=(5, 3.5)):
    """``(fig, ax)``: the given axes and its figure, or a fresh pair."""
    if ax is None:
        fig, ax = plt.subplots(figsize=figsize, layout="constrained")
        return fig, ax
    return ax.figure, ax


def finish_axes(ax, xlabel, ylabel, title, legend=8):
    """Axis labels, title and (when there are labelled artists) a legend."""
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    if legend and ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=legend)


def to_numpy(x):
    """``x`` as a NumPy array (a tensor detached and moved to the CPU)."""
    try:
        import torch
        if isinstance(x, torch.Tensor):
            return x.detach().cpu().numpy()
    except ImportError:  # pragma: no cover
        pass
    return np.asarray(x)


def budget_label(config: dict, n_tasks: int | None = None) -> str:
    """The budget of a run in a few words, for titles: ``"10 tasks × 2 epochs × 6,000 images"``.

    Examples
    --------
    >>> budget_label({"n_tasks": 10, "epochs": 2, "n_train": 6000})
    '10 tasks × 2 epochs × 6,000 images'
    >>> budget_label({"order": [2, 7, 4], "epochs": 50, "n_train": None})
    '3 tasks × 50 epochs × all images'
    >>> budget_label({"n_tasks": 2, "epochs": 15, "n_train": 60, "n_frames": 100})   # video: frames, not images
    '2 tasks × 15 epochs × 60 frames'
    """
    n = n_tasks or config.get("n_tasks") or len(config.get("order") or []) or None
    n_train = config.get("n_train")
    epochs = config.get("epochs")
    unit = "frames" if "n_frames" in config else "images"   # a sequence's samples are the frames of a video
    parts = [f"{n} task{'s' if n != 1 else ''}" if n else None,
             f"{epochs} epoch{'s' if epochs != 1 else ''}" if epochs else None,
             f"all {unit}" if n_train is None else f"{n_train:,} {unit}"]
    return " × ".join(p for p in parts if p)


def metric_ylim(metric):
    """A fixed axis for bounded metrics, so that pictures compare at a glance (accuracy: 0–100 %)."""
    return (0.0, 101.0) if metric is not None and metric.unit == "%" else None


def method_of_curve(label: str) -> str:
    """The method a curve label names: ``"scp"``, ``"SCP λ=1000"`` → ``"scp"``; ``"no consolidation"`` → ``"none"``;
    a label that names no method is returned as it is."""
    for m, text in METHOD_LABELS.items():
        if label == text:
            return m
    word = str(label).split()[0].strip(",").lower() if str(label).split() else ""
    return word if word in METHODS else str(label)


def curve_label(label: str, method: str) -> str:
    """``"scp, λ=1000"`` → ``"SCP (Γ), λ=1000"``; labels that are not a method's name stay as they are."""
    if method in METHOD_LABELS and str(label).lower().startswith(method):
        return METHOD_LABELS[method] + str(label)[len(method):]
    return METHOD_LABELS.get(label, str(label))


def one_dataset(histories) -> str:
    """The dataset all ``histories`` were made on; a clear error when they mix datasets (a real one and its
    stand-in, say): one figure compares runs on one dataset."""
    names = sorted({h.dataset for h in histories})
    if len(names) > 1:
        raise ValueError(f"the runs mix datasets {names}: draw each dataset in a figure of its own.")
    return names[0] if names else ""


def rows_metric(rows):
    """The Metric that summary rows carry (None for rows made without one)."""
    if not rows or "metric_name" not in rows[0]:
        return None
    return metric_named(rows[0]["metric_name"], rows[0]["higher_is_better"], rows[0].get("metric_unit"))
