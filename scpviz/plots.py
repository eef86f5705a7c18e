"""Figures. Every function takes ``ax=None`` (a new figure when omitted) and returns the Figure.

No mathematics here: the numbers come from the modules upstream. One palette
(:data:`METHOD_COLORS`, :data:`DISTANCE_COLORS`) so a method has the same colour
in every figure of the collection.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

__all__ = ["METHOD_COLORS", "DISTANCE_COLORS", "new_axes", "show_images"]

METHOD_COLORS = {"none": "#7f7f7f", "ewc": "#1f77b4", "mas": "#ff7f0e", "scp": "#2ca02c"}
DISTANCE_COLORS = {"JS": "#d62728", "W1": "#1f77b4", "W2": "#17becf", "C1": "#ff7f0e", "C2": "#2ca02c"}


def new_axes(ax=None, figsize=(5, 3.5)):
    """``(fig, ax)``: the given axes and its figure, or a fresh pair."""
    if ax is None:
        fig, ax = plt.subplots(figsize=figsize, layout="constrained")
        return fig, ax
    return ax.figure, ax


def _np(x):
    try:
        import torch
        if isinstance(x, torch.Tensor):
            return x.detach().cpu().numpy()
    except ImportError:  # pragma: no cover
        pass
    return np.asarray(x)


def show_images(images, labels=None, ncols=10, title=None, ax=None):
    """A grid of grey-scale images (N×28×28, N×1×28×28 or N×784) on one axes.

    Parameters
    ----------
    images : array or Tensor
    labels : sequence, optional
        Shown above each image.
    ncols : int
    title : str, optional
        Put the dataset's name here.
    """
    x = _np(images).astype(float)
    n = x.shape[0]
    if n == 0:
        raise ValueError("images is empty: pass at least one image.")
    side = int(round(np.sqrt(x[0].size)))
    if side * side != x[0].size:
        raise ValueError(f"images of {x[0].size} pixels are not square; pass N×H×W images.")
    x = x.reshape(n, side, side)
    ncols = max(1, min(ncols, n))
    nrows = int(np.ceil(n / ncols))
    canvas = np.ones((nrows * (side + 2), ncols * (side + 2)))
    for i in range(n):
        r, c = divmod(i, ncols)
        canvas[r * (side + 2) + 1:r * (side + 2) + 1 + side, c * (side + 2) + 1:c * (side + 2) + 1 + side] = x[i]
    fig, ax = new_axes(ax, figsize=(ncols * 0.6 + 0.4, nrows * 0.7 + 0.5))
    ax.imshow(canvas, cmap="gray_r", vmin=0, vmax=max(1.0, canvas.max()))
    ax.set_xticks([])
    ax.set_yticks([])
    if labels is not None:
        for i, lab in enumerate(list(_np(labels))[:n]):
            r, c = divmod(i, ncols)
            ax.text(c * (side + 2) + side / 2 + 1, r * (side + 2), str(lab), ha="center", va="bottom", fontsize=7)
    if title:
        ax.set_title(title)
    return fig
