"""Explorers over shipped grids (notebooks 07–10): nothing is trained; dragging λ looks runs up.
"""

from __future__ import annotations

import ipywidgets as W
import matplotlib.pyplot as plt
import numpy as np

from ... import methods as method_table
from .. import plots
from .controls import redraw, tag, follow_grid, method_lambda_controls

__all__ = ["autoencoder_explorer", "study_explorer", "domain_shift_explorer", "superclass_explorer",
           "segmentation_explorer"]


def autoencoder_explorer(results, seed=0, layer="output"):
    """Scrub through sequential auto-encoder training (notebook 07, Figure 4a).

    ``results``: ``(config, History)`` pairs recorded with ``snapshots=True``. One λ slider per consolidation
    method (their importances have different scales, so their λ grids differ) picks that method's run; the
    stage slider shows the reconstructions after tasks 1..stage. Nothing is trained: scrubbing is instant.

    Parameters
    ----------
    results : list of (dict, History)
    seed : int
        Which run (digit order) to show.
    layer : {"output", "code"}
        Which preserved layer's runs to show.

    Returns
    -------
    ipywidgets.VBox
        Attributes ``lams`` ({method: slider}), ``stage`` (slider), ``shown`` ({label: History}), ``figure``.
    """
    runs = [(c, h) for c, h in results if c["seed"] == seed and "snapshots" in h.extras
            and (c["method"] == "none" or c.get("layer", "output") == layer)]
    if not runs:
        raise ValueError(f"results hold no run with snapshots for seed={seed} and layer={layer!r}; make them "
                         f"with snapshots=True (python -m scpviz sweep autoencoders --snapshots).")
    T = len(runs[0][1].extras["snapshots"])
    lam_s = {}
    for method in method_table.consolidating(c["method"] for c, _ in runs):
        lams = sorted({c["lam"] for c, _ in runs if c["method"] == method})
        if lams:
            lam_s[method] = W.SelectionSlider(options=[(f"{v:g}", v) for v in lams], value=lams[0],
                                              description=f"λ {method.upper()}", continuous_update=False)
    stage_s = W.IntSlider(value=T, min=1, max=T, description="after task")
    out = W.Output()
    box = W.VBox([W.HBox([*lam_s.values(), stage_s]), out])
    box.lams, box.stage = lam_s, stage_s

    tag(box, "autoencoder-explorer", lam_s.get("scp", stage_s), out)
    def draw():
        shown = {}
        for method in ["none", *lam_s]:
            cands = [(c, h) for c, h in runs if c["method"] == method]
            if method != "none":
                cands = [(c, h) for c, h in cands if c["lam"] == lam_s[method].value] if method in lam_s else []
            if cands:
                label = "no consolidation" if method == "none" else f"{method.upper()} λ={cands[0][0]['lam']:g}"
                shown[label] = cands[0][1]
        box.shown = shown
        return plots.plot_reconstruction_grid(shown, stage=stage_s.value - 1)

    for w in (*lam_s.values(), stage_s):
        w.observe(lambda change: redraw(box, out, draw), names="value")
    redraw(box, out, draw)
    return box


def study_explorer(rows, variant="paper", method="scp", dataset="MNIST"):
    """Drag λ through the Figure 4 study (notebook 07): for a variant and a method, the final error, forgetting and
    learning error against λ, with no consolidation's values dashed and the numbers at the λ chosen.

    ``rows``: :func:`scpviz.studies.figure4.study_rows` of the shipped study (nothing is trained).

    Returns
    -------
    ipywidgets.VBox
        Attributes ``lam`` (slider), ``method`` (toggle), ``variant`` (dropdown), ``figure``.
    """
    variants = list(dict.fromkeys(r["variant"] for r in rows))
    if variant not in variants:
        raise ValueError(f"variant={variant!r} is not in rows: choose one of {variants}.")
    methods = method_table.consolidating(r["method"] for r in rows)
    var_d = W.Dropdown(options=variants, value=variant, description="variant")
    meth_t = W.ToggleButtons(options=[(plots.METHOD_LABELS.get(m, m), m) for m in methods],
                             value=method if method in methods else methods[0], description="method")
    lam_s = W.SelectionSlider(options=[1.0], description="λ", continuous_update=False)
    readout = W.HTML()
    out = W.Output()
    box = W.VBox([W.HBox([var_d, meth_t]), lam_s, readout, out])
    box.lam, box.method, box.variant = lam_s, meth_t, var_d
    tag(box, "study-explorer", lam_s, out, readout=readout, toggles=[meth_t])

    def grid():
        return sorted(r["lam"] for r in rows if r["variant"] == var_d.value and r["method"] == meth_t.value)

    def draw():
        r = next(r for r in rows if r["variant"] == var_d.value and r["method"] == meth_t.value
                 and r["lam"] == lam_s.value)
        b = next((r for r in rows if r["variant"] == var_d.value and r["method"] == "none"), None)

        def cell(key):
            txt = f"{r[key]['mean']:.1f} ± {r[key]['sd']:.1f}"
            return txt + (f" (none {b[key]['mean']:.1f})" if b is not None else "")
        readout.value = (f"<b>{plots.METHOD_LABELS.get(meth_t.value)}, λ = {lam_s.value:g}, {var_d.value}</b>: "
                         f"final mean ℓ1 <b>{cell('final')}</b>; forgetting {cell('forgetting')}; learning error "
                         f"{cell('learning')}")
        return plots.plot_study_lambda(rows, var_d.value, meth_t.value, lam=lam_s.value, dataset=dataset)

    follow_grid(box, out, lam_s, (meth_t, var_d), grid, draw)
    return box


def domain_shift_explorer(results, method="scp", lam=None):
    """Drag λ through a two-task grid (notebook 08, Figure 7b): task 1, task 2 and their average over training
    for one method at the λ chosen, against no consolidation, mean ± sd over the grid's seeds.

    ``results``: ``(config, History)`` pairs of a sweep (e.g. the shipped MNIST → MNIST-M grid); nothing is trained.

    Returns
    -------
    ipywidgets.VBox
        Attributes ``lam`` (slider), ``method`` (toggle), ``runs`` (the runs shown), ``figure``.
    """
    results = list(results)
    box, meth_t, lam_s, readout, out, grid = method_lambda_controls(results, method, "domain-shift-explorer")
    none = [h for c, h in results if c["method"] == "none"]

    def finals(hs):
        R = np.array([h.final_matrix()[-1] for h in hs])      # (seeds, tasks) after the last task
        return R.mean(0), R.mean()

    def draw():
        runs = [h for c, h in results if c["method"] == meth_t.value and c["lam"] == lam_s.value]
        box.runs = runs
        m = runs[0].metric
        (t1, t2), avg = finals(runs)
        label = f"{plots.METHOD_LABELS.get(meth_t.value)}, λ = {lam_s.value:g}"
        text = (f"<b>{label}</b> ({len(runs)} seed{'s' * (len(runs) > 1)}), after both tasks: "
                f"{runs[0].task_names[0]} <b>{m.format(t1)}</b>, {runs[0].task_names[1]} <b>{m.format(t2)}</b>, "
                f"average <b>{m.format(avg)}</b>")
        if none:
            (n1, n2), navg = finals(none)
            text += f" — no consolidation: {m.format(n1)}, {m.format(n2)}, average {m.format(navg)}"
        readout.value = text
        shown = ({"none": none} if none else {}) | {f"{meth_t.value}, λ={lam_s.value:g}": runs}
        return plots.plot_task_panels(shown)

    follow_grid(box, out, lam_s, (meth_t,), grid, draw, initial=lam)
    return box


def superclass_explorer(results, method="scp", lam=None):
    """Drag λ through a many-task grid (notebook 09, Figure 9b): for one method at the λ chosen, the matrix of test
    accuracies (task j after task i, mean over the grid's seeds) and the average accuracy over the tasks seen against
    no consolidation; the readout gives final average accuracy, forgetting and intransigence (against no
    consolidation's diagonal).

    ``results``: ``(config, History)`` pairs of a sweep (e.g. the shipped CIFAR-100 super-class grid); nothing is
    trained.

    Returns
    -------
    ipywidgets.VBox
        Attributes ``lam`` (slider), ``method`` (toggle), ``runs`` (the Histories shown), ``figure``.
    """
    from ...sweeps import summarize

    results = list(results)
    box, meth_t, lam_s, readout, out, grid = method_lambda_controls(results, method, "superclass-explorer")
    none = [(c, h) for c, h in results if c["method"] == "none"]
    ref = np.mean([np.diag(h.final_matrix()) for _, h in none], axis=0) if none else None

    def draw():
        runs = [(c, h) for c, h in results if c["method"] == meth_t.value and c["lam"] == lam_s.value]
        box.runs = [h for _, h in runs]
        m = runs[0][1].metric
        avg = np.mean([h.final_average_metric() for _, h in runs])
        forgot = np.mean([h.forgetting() for _, h in runs])

        def pts(v):   # a difference of two metric values: points of a percentage, else the metric's own units
            return f"{m.scale * v:.1f} points" if m.unit == "%" else m.format(v)

        text = (f"<b>{plots.METHOD_LABELS.get(meth_t.value)}, λ = {lam_s.value:g}</b> ({len(runs)} seed"
                f"{'s' * (len(runs) > 1)}, {runs[0][1].dataset}): after the last task, average <b>{m.format(avg)}</b>, "
                f"forgetting <b>{pts(forgot)}</b>")
        if ref is not None:
            intr = np.mean([h.intransigence(ref) for _, h in runs])
            text += (f", intransigence <b>{pts(intr)}</b> — no consolidation: average "
                     f"{m.format(np.mean([h.final_average_metric() for _, h in none]))}, forgetting "
                     f"{pts(np.mean([h.forgetting() for _, h in none]))}")
        readout.value = text
        fig, (a0, a1) = plt.subplots(1, 2, figsize=(11, 4), layout="constrained")
        plots.plot_accuracy_matrix(box.runs, ax=a0)
        plots.plot_average_metric(summarize(none + runs), ax=a1, dataset=runs[0][1].dataset)
        return fig

    follow_grid(box, out, lam_s, (meth_t,), grid, draw, initial=lam)
    return box


def segmentation_explorer(results, method="scp", lam=None, seed=0):
    """Drag λ through the segmentation grid (notebook 10, Figures 5 and 6): a test frame of each season after each
    task predicted without consolidation and by one method at the λ chosen (seed ``seed``), and the test Dice of
    summer, winter and their average over training, mean ± sd over the grid's seeds; the readout gives summer Dice
    before and after winter (forgetting) and winter Dice (intransigence: against no consolidation's).

    ``results``: ``(config, History)`` pairs of a sweep (the shipped SYNTHIA-style grid); nothing is trained.

    Returns
    -------
    ipywidgets.VBox
        Attributes ``lam`` (slider), ``method`` (toggle), ``runs`` (the Histories shown), ``figure``.
    """
    results = list(results)
    box, meth_t, lam_s, readout, out, grid = method_lambda_controls(results, method, "segmentation-explorer")
    none = [h for c, h in results if c["method"] == "none"]

    def pick(hs, cfgs):
        by_seed = {c["seed"]: h for c, h in cfgs}
        return by_seed.get(seed, hs[0])

    def numbers(hs):
        R = np.array([h.final_matrix() for h in hs])          # (seeds, 2, 2)
        return R[:, 0, 0].mean(), R[:, 1, 0].mean(), R[:, 1, 1].mean()

    def draw():
        pairs = [(c, h) for c, h in results if c["method"] == meth_t.value and c["lam"] == lam_s.value]
        runs = [h for _, h in pairs]
        box.runs = runs
        m = runs[0].metric
        s0, s1, w1 = numbers(runs)
        label = f"{meth_t.value}, λ={lam_s.value:g}"
        text = (f"<b>{plots.METHOD_LABELS.get(meth_t.value)}, λ = {lam_s.value:g}</b> ({len(runs)} seed"
                f"{'s' * (len(runs) > 1)}): summer {m.format(s0)} → <b>{m.format(s1)}</b> after winter, "
                f"winter <b>{m.format(w1)}</b>")
        shown = {label: runs}
        frames = {label: pick(runs, pairs)}
        if none:
            n0, n1, nw = numbers(none)
            text += f" — no consolidation: summer {m.format(n0)} → {m.format(n1)}, winter {m.format(nw)}"
            shown = {"none": none} | shown
            frames = {"none": pick(none, [(c, h) for c, h in results if c["method"] == "none"])} | frames
        readout.value = text
        fig = plt.figure(figsize=(12, 8.2), layout="constrained")
        top, bottom = fig.subfigures(2, 1, height_ratios=[1.5, 1])
        plots.plot_segmentation_frames(frames, axes=top.subplots(3, 2 + len(frames)),
                                       title=f"test frames, seed {seed} (Figure 5)")
        plots.plot_task_panels(shown, axes=bottom.subplots(1, 3, sharey=True), figure="Figure 6",
                               title=f"{runs[0].dataset}: test Dice over training, mean ± sd over seeds (Figure 6)")
        return fig

    follow_grid(box, out, lam_s, (meth_t,), grid, draw, initial=lam)
    return box
