"""What every explorer shares: redrawing into an Output, the CSS classes the browser tests find, a λ slider
that follows a grid, and the method toggle + λ slider + readout of an explorer over a shipped grid.
"""

from __future__ import annotations

import ipywidgets as W
import matplotlib.pyplot as plt
from IPython.display import display

from ... import methods as method_table
from ..style import METHOD_LABELS

__all__ = ["redraw", "tag", "follow_grid", "method_lambda_controls"]


def redraw(box, out, draw):
    """Run ``draw()`` (which returns a Figure) into ``out`` and remember the figure on ``box``."""
    with out:
        out.clear_output(wait=True)
        fig = draw()
        box.figure = fig
        box.n_draws = getattr(box, "n_draws", 0) + 1
        display(fig)
        plt.close(fig)


def tag(box, name, main, out, readout=None, toggles=()):
    """Give an explorer's parts the stable CSS classes the browser tests use (see the module docstring)."""
    box.add_class("scpviz-explorer")
    box.add_class(f"scpviz-{name}")
    main.add_class("scpviz-main-slider")
    out.add_class("scpviz-figure")
    if readout is not None:
        readout.add_class("scpviz-readout")
    for t in toggles:
        t.add_class("scpviz-toggle")
    return box


def follow_grid(box, out, lam_s, others, grid, draw, initial=None):
    """Wire a λ ``SelectionSlider`` whose options are ``grid()`` — the sorted λ of whatever the ``others`` controls
    select — and redraw on every change: a change of the others re-reads the grid and keeps λ if it is still in it
    (else the middle one); the first λ is ``initial`` when it is in the grid."""
    state = {"syncing": False}

    def sync(first=False):
        lams = grid()
        want = initial if first else lam_s.value
        keep = want if want in lams else lams[len(lams) // 2]
        state["syncing"] = True
        try:
            lam_s.options = [(f"{v:g}", v) for v in lams]
            lam_s.value = keep
        finally:
            state["syncing"] = False

    def changed(change):
        if change["owner"] is not lam_s:
            sync()
        if not state["syncing"]:
            redraw(box, out, draw)

    sync(first=True)
    for w in (lam_s, *others):
        w.observe(changed, names="value")
    redraw(box, out, draw)


def method_lambda_controls(results, method, name):
    """The controls of an explorer over a shipped grid: a method toggle (the consolidation methods in ``results``), a
    λ slider, a text readout and the figure's Output, in a tagged VBox (attributes ``lam``, ``method``, ``runs``).
    Returns ``(box, method toggle, λ slider, readout, out, grid)`` with ``grid()`` the sorted λ of the method shown."""
    methods = method_table.consolidating(c["method"] for c, _ in results)
    if not methods:
        raise ValueError("results hold no run of a method with a penalty: give a sweep with consolidation runs.")
    meth_t = W.ToggleButtons(options=[(METHOD_LABELS.get(m, m), m) for m in methods],
                             value=method if method in methods else methods[-1], description="method")
    lam_s = W.SelectionSlider(options=[1.0], description="λ", continuous_update=False)
    readout = W.HTML()
    out = W.Output()
    box = W.VBox([meth_t, lam_s, readout, out])
    box.lam, box.method, box.runs = lam_s, meth_t, []
    tag(box, name, lam_s, out, readout=readout, toggles=[meth_t])

    def grid():
        return sorted({c["lam"] for c, _ in results if c["method"] == meth_t.value})

    return box, meth_t, lam_s, readout, out, grid
