"""Interactive views. Each factory returns an ``ipywidgets`` box for the notebook to display.

Pattern (see ``shared/STYLE.md``): sliders ``observe(..., names="value")`` and
redraw into an ``Output`` with ``clear_output(wait=True)``; anything that trains
uses ``continuous_update=False``. Each returned box exposes its controls and the
last figure as attributes (``box.slider``, ``box.figure``) so tests can drive it
by setting ``slider.value``.
"""

from __future__ import annotations

import ipywidgets as W
import matplotlib.pyplot as plt
from IPython.display import display

from . import plots

__all__ = ["digit_browser"]


def _redraw(box, out, draw):
    """Run ``draw()`` (which returns a Figure) into ``out`` and remember the figure on ``box``."""
    with out:
        out.clear_output(wait=True)
        fig = draw()
        box.figure = fig
        box.n_draws = getattr(box, "n_draws", 0) + 1
        display(fig)
        plt.close(fig)


def digit_browser(dataset, n=20):
    """Browse a dataset's training images with a slider (notebook 00's first widget).

    Parameters
    ----------
    dataset : scpviz.data.ImageDataset
    n : int
        Images per page.

    Returns
    -------
    ipywidgets.VBox
        With attributes ``slider`` (first image index) and ``figure``.
    """
    total = len(dataset.x_train)
    slider = W.IntSlider(value=0, min=0, max=max(0, total - n), step=n, description="first image",
                         continuous_update=True)
    out = W.Output()
    box = W.VBox([slider, out])
    box.slider = slider

    def draw():
        i = slider.value
        return plots.show_images(dataset.x_train[i:i + n], labels=dataset.y_train[i:i + n],
                                 title=f"{dataset.name}: training images {i}–{i + n - 1}")

    slider.observe(lambda change: _redraw(box, out, draw), names="value")
    _redraw(box, out, draw)
    return box
