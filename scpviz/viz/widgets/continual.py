"""Explorers of continual training (notebooks 00, 06): stability against plasticity on two tasks, the digits,
and permuted MNIST live or from a shipped grid.
"""

from __future__ import annotations

import ipywidgets as W
import matplotlib.pyplot as plt
import numpy as np

from ... import methods as method_table
from .. import plots
from .controls import redraw, tag

__all__ = ["stability_plasticity_explorer", "digit_browser", "permuted_mnist_explorer"]


def stability_plasticity_explorer(runs, lam=None):
    """Drag λ, watch task A be kept or task B be learned (notebook 00).

    ``runs``: ``{penalty: {lam: History}}`` from :func:`scpviz.teaching.forgetting.stability_plasticity_sweep`.
    The λ slider and the penalty toggle look the run up (nothing is trained: instant).

    Returns
    -------
    ipywidgets.VBox
        Attributes ``lam`` (slider), ``penalty`` (toggle), ``history`` (the run shown), ``figure``.
    """
    penalties = list(runs)
    lams = sorted(runs[penalties[0]])
    lam_s = W.SelectionSlider(options=[(f"{v:g}", v) for v in lams], value=lams[len(lams) // 2] if lam is None else lam,
                              description="λ", continuous_update=True)
    pen_t = W.ToggleButtons(options=[(plots.METHOD_LABELS.get(p, p), p) for p in penalties], value=penalties[0],
                            description="penalty")
    readout = W.HTML()
    out = W.Output()
    box = W.VBox([W.HBox([pen_t, lam_s]), readout, out])
    box.lam, box.penalty = lam_s, pen_t
    tag(box, "stability-plasticity-explorer", lam_s, out, readout=readout, toggles=[pen_t])

    def draw():
        h = runs[pen_t.value][lam_s.value]
        box.history = h
        R = h.final_matrix()
        m = h.metric
        readout.value = (f"<b>{plots.METHOD_LABELS.get(pen_t.value, pen_t.value)}, λ = {lam_s.value:g}</b>: task A "
                         f"{m.format(R[0, 0])} after learning A → <b>{m.format(R[1, 0])}</b> after learning B "
                         f"(forgetting {100 * (R[0, 0] - R[1, 0]):.1f} points); task B learned to <b>{m.format(R[1, 1])}</b>")
        return plots.plot_stability_plasticity(runs, pen_t.value, lam_s.value)

    for w in (lam_s, pen_t):
        w.observe(lambda change: redraw(box, out, draw), names="value")
    redraw(box, out, draw)
    return box


def digit_browser(dataset, n=20):
    """Browse a dataset's training images with a slider (notebook 00's first widget).

    Parameters
    ----------
    dataset : scpviz.datasets.ImageDataset
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

    tag(box, "digit-browser", slider, out)
    def draw():
        i = slider.value
        return plots.show_images(dataset.x_train[i:i + n], labels=dataset.y_train[i:i + n],
                                 title=f"{dataset.name}: training images {i}–{i + n - 1}")

    slider.observe(lambda change: redraw(box, out, draw), names="value")
    redraw(box, out, draw)
    return box


def permuted_mnist_explorer(results=None, live_config=None, mode=None, device=None, live_budget="quick"):
    """Drag λ and L, watch forgetting (notebook 06); the average-accuracy panel shows no consolidation next to
    the chosen method.

    Controls: method, λ (log slider), L (SCP), α (eq 20), and the mode:
    ``"precomputed"`` looks the run up in ``results`` (a grid from
    ``python -m scpviz sweep``; the nearest λ of the grid, first seed for the
    forgetting curves, all seeds for the average-accuracy curve); ``"live"``
    trains the experiment's ``live_budget`` (quick) with its :attr:`~scpviz.experiments.base.Experiment.live`
    overrides (a few seconds on a laptop CPU) and then ``live_config``, at the chosen values when a slider is
    released, with a progress bar.

    Returns
    -------
    ipywidgets.VBox
        Attributes ``method``, ``lam``, ``n_slices``, ``alpha``, ``mode`` (controls),
        ``history`` (the run shown), ``runs`` (matching runs), ``figure``.
    """
    from ...experiments import get
    from ...sweeps import summarize

    exp = get("permuted_mnist")
    results = list(results or [])
    live_cfg = dict(live_config or {})
    modes = (["precomputed"] if results else []) + ["live"]
    mode_t = W.ToggleButtons(options=modes, value=mode or modes[0], description="mode")
    method_d = W.Dropdown(options=list(exp.available_methods), value="scp", description="method")
    lam_s = W.FloatLogSlider(value=exp.default_lam("scp"), base=10, min=-3, max=9, step=0.5,
                             description="λ", continuous_update=False)
    grid_L = sorted({c["n_slices"] for c, _ in results if c["method"] == "scp"}) or [10, 20, 50, 100]
    L_s = W.SelectionSlider(options=sorted(set(grid_L) | {10, 20, 50, 100}), value=grid_L[0], description="slices L",
                            continuous_update=False)
    alpha_s = W.FloatSlider(value=0.75, min=0.0, max=0.95, step=0.05, description="α (eq 20)",
                            continuous_update=False)
    status = W.HTML()
    out = W.Output()
    box = W.VBox([W.HBox([mode_t, method_d]), W.HBox([lam_s, L_s, alpha_s]), status, out])
    box.method, box.lam, box.n_slices, box.alpha, box.mode = method_d, lam_s, L_s, alpha_s, mode_t
    box.history, box.runs = None, []

    tag(box, "permuted-mnist-explorer", lam_s, out, readout=status, toggles=[mode_t])
    def lookup():
        cands = [(c, h) for c, h in results if c["method"] == method_d.value]
        if method_table.get(method_d.value).uses_slices:
            cands = [(c, h) for c, h in cands if c["n_slices"] == L_s.value] or cands
        cands = [(c, h) for c, h in cands if abs(c["alpha"] - alpha_s.value) < 1e-9] or cands
        if not cands:
            return []
        if method_table.get(method_d.value).importance is not None:
            lams = np.array(sorted({c["lam"] for c, _ in cands}))
            near = lams[np.argmin(np.abs(np.log10(lams) - np.log10(lam_s.value)))]
            cands = [(c, h) for c, h in cands if c["lam"] == near]
        return cands

    def live_config(method, lam):
        return exp.config(method, lam, seed=0, mode=live_budget,
                          **{**exp.live, "alpha": alpha_s.value, "n_slices": int(L_s.value), **live_cfg})

    def live():
        cfg = live_config(method_d.value, lam_s.value)
        with out:
            return [(cfg, exp.run(cfg, device=device, progress=True))]

    live_none = {}   # the no-consolidation reference of the live budget: trained once, on first use

    def reference():
        """No consolidation, drawn next to the method being dragged."""
        if method_table.get(method_d.value).importance is None:
            return []
        if mode_t.value == "precomputed":
            return [(c, h) for c, h in results if c["method"] == "none"]
        if "runs" not in live_none:
            cfg = live_config("none", 0.0)
            with out:
                live_none["runs"] = [(cfg, exp.run(cfg, device=device, progress=True))]
        return live_none["runs"]

    def draw():
        runs = lookup() if mode_t.value == "precomputed" else live()
        box.runs = runs
        fig, (a0, a1) = plt.subplots(1, 2, figsize=(11, 3.8), layout="constrained")
        if not runs:
            status.value = "<i>no run of this method in the grid</i>"
            return fig
        cfg, hist = runs[0]
        box.history = hist
        m = hist.metric
        forgot = np.mean([h.forgetting() for _, h in runs])
        status.value = (f"<b>{mode_t.value}</b> ({hist.dataset}, {plots.budget_label(cfg)}): {cfg['method']}, "
                        f"λ = {cfg['lam']:g}, L = {cfg['n_slices']}, α = {cfg['alpha']:g}, {len(runs)} seed(s) — "
                        f"final average test {m.name} <b>{m.format(np.mean([h.final_average_metric() for _, h in runs]))}"
                        f"</b>; old tasks lost {m.format(forgot).replace(' %', '')} {'points' if m.unit == '%' else ''} "
                        f"on average since their best (forgetting)")
        plots.plot_forgetting_curves(hist, ax=a0)
        plots.plot_average_metric(summarize(reference() + runs), ax=a1, dataset=hist.dataset)
        return fig

    for w in (mode_t, method_d, lam_s, L_s, alpha_s):
        w.observe(lambda change: redraw(box, out, draw), names="value")
    redraw(box, out, draw)
    return box
