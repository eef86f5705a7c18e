"""Continual runs (notebooks 06–10): forgetting curves, task panels (Figures 6–7), accuracy matrices,
average metric (Figure 3a), stability against plasticity.

Every function takes ``ax=None`` (or ``axes=None``; a new figure when omitted) and returns the Figure.
"""

from __future__ import annotations

import warnings

import matplotlib.pyplot as plt
import numpy as np

from ...methods import consolidating
from ..style import (
    METHOD_COLORS, METHOD_LABELS, budget_label, curve_label, finish_axes, method_of_curve, metric_ylim,
    new_axes, one_dataset, rows_metric)

__all__ = ["PAPER_FIG3A", "plot_forgetting_curves", "plot_stability_plasticity", "plot_forgetting_side_by_side",
           "plot_task_change", "plot_forgetting_and_learning", "plot_average_metric", "plot_blind_drift",
           "plot_task_panels", "plot_accuracy_matrix", "plot_tradeoff"]


# Final average accuracy after 10 permuted-MNIST tasks, the mean over the authors' ten public result files
# (lihr04/corel2m perm_mnist_10Run/experiment_*.pkl): what Figure 3a draws; the paper's text prints no number.
# The paper says its λ were cross-validated, but the public grid search (grid_search.py, commit 27836b9) scores λ on
# the test loaders and has no validation split; and their importances are scaled differently (notebook 05), so these
# are reference marks only.
PAPER_FIG3A = {"none": 0.4884, "ewc": 0.8731, "mas": 0.8676, "scp": 0.9055}


def plot_forgetting_curves(history, split="test", ax=None, title=None, ylim="auto"):
    """Metric of every task over training time (one point per epoch), task spans shaded (as Figures 6–7).

    Parameters
    ----------
    history : scpviz.training.History
    split : {"test", "val"}
    ylim : "auto", tuple or None
        ``"auto"``: 0–100 % for an accuracy (so two runs compare at a glance), matplotlib's choice otherwise.
    """
    fig, ax = new_axes(ax, figsize=(7, 3.6))
    metric = history.metric
    M = metric.scale * history.matrix(split)
    tasks = [pt["task"] for pt in history.points]
    x = np.arange(1, len(M) + 1)
    for t in range(history.n_trained):
        span = [i + 1 for i, tt in enumerate(tasks) if tt == t]
        if t % 2 == 0:
            ax.axvspan(span[0] - 0.5, span[-1] + 0.5, color="#eeeeee", zorder=0)
        ax.text((span[0] + span[-1]) / 2, 0.98, f"T{t + 1}", ha="center", va="top", fontsize=7, color="#555555",
                transform=ax.get_xaxis_transform())
    cmap = plt.get_cmap("viridis", max(2, M.shape[1]))
    for j in range(M.shape[1]):
        if np.all(np.isnan(M[:, j])):
            continue
        ax.plot(x, M[:, j], color=cmap(j), lw=1.4, marker="o" if len(x) < 40 else None, ms=2.5,
                label=history.task_names[j])
    cfg = history.config.get("consolidation") or {}
    method = history.config.get("method", cfg.get("method", ""))
    lam = history.config.get("lam", cfg.get("lam", ""))
    limits = metric_ylim(metric) if ylim == "auto" else ylim
    if limits is not None:
        ax.set_ylim(*limits)
    ax.set_xlabel("training time (epochs)")
    ax.set_ylabel(f"{split} {metric.label}")
    what = f"{METHOD_LABELS.get(method, method)}, λ = {lam:g}" if isinstance(lam, (int, float)) else ""
    budget = budget_label(history.config, len(history.task_names))
    ax.set_title(title or f"{history.dataset}, {budget}\n{what}", fontsize=10)
    if M.shape[1] <= 10:
        ax.legend(fontsize=6, ncols=2, loc="lower left")
    return fig


def plot_stability_plasticity(runs, penalty, lam, split="test", axes=None):
    """Task A then task B (notebook 00). Left: both tasks' accuracy over training at the chosen penalty and λ.
    Right: the trade-off over λ — A's accuracy after B (stability) and B's accuracy (plasticity) for every
    penalty (the chosen one bold), with A's accuracy before B as a dashed line.

    Parameters
    ----------
    runs : dict
        ``{penalty: {lam: History}}`` from :func:`scpviz.teaching.forgetting.stability_plasticity_sweep`.
    """
    if axes is None:
        fig, axes = plt.subplots(1, 2, figsize=(11, 3.8), layout="constrained")
    fig = axes[0].figure
    a0, a1 = axes
    hist = runs[penalty][lam]
    plot_forgetting_curves(hist, split=split, ax=a0,
                           title=f"{hist.dataset}: A then B, {METHOD_LABELS.get(penalty, penalty)}, λ = {lam:g}")
    lams = sorted(runs[penalty])
    x = np.arange(len(lams))
    scale = hist.metric.scale
    for p, by in runs.items():
        R = [by[v].final_matrix(split) for v in lams]
        bold = p == penalty
        kw = dict(color=METHOD_COLORS.get(p), lw=2.2 if bold else 1.0, alpha=1.0 if bold else 0.45, marker="o", ms=4)
        a1.plot(x, [scale * r[1, 0] for r in R], ls="-", label=f"A after B — {METHOD_LABELS.get(p, p)}", **kw)
        a1.plot(x, [scale * r[1, 1] for r in R], ls=":", label=f"B — {METHOD_LABELS.get(p, p)}", **kw)
    a1.axhline(scale * hist.final_matrix(split)[0, 0], color="k", ls="--", lw=0.8, label="A before B")
    a1.axvline(lams.index(lam), color="k", lw=0.8)
    a1.set_xticks(x, [f"{v:g}" for v in lams])
    a1.set_ylim(0, 101 if scale == 100.0 else None)
    finish_axes(a1, "λ (0 = no consolidation)", f"{split} {hist.metric.label}",
           "stability (A kept) vs plasticity (B learned)", legend=6)
    return fig


def plot_forgetting_side_by_side(histories, split="test"):
    """:func:`plot_forgetting_curves` of several runs next to each other on one shared y-axis, so that "this one
    forgets less" reads at a glance. ``histories``: a list of Histories (or a dict's values)."""
    runs = list(histories.values()) if isinstance(histories, dict) else list(histories)
    fig, axes = plt.subplots(1, len(runs), figsize=(5.2 * len(runs), 3.8), sharey=True, layout="constrained",
                             squeeze=False)
    for ax, hist in zip(axes[0], runs):
        plot_forgetting_curves(hist, split=split, ax=ax)
    for ax in axes[0][1:]:
        ax.set_ylabel("")
    return fig


def plot_task_change(histories, split="test", ax=None, title=None):
    """How much each task lost between just after it was learned and the end, one bar group per task.

    For task k: R[k, k] − R[T−1, k] for a higher-is-better metric (accuracy points lost), R[T−1, k] − R[k, k] for
    a lower-is-better one (increase of the error) — positive means forgotten. Unlike the average metric, this does
    not depend on how hard each task is (an ℓ1 error depends on a digit's amount of ink). The last task is left
    out (it cannot have been forgotten yet). Its mean is minus :meth:`~scpviz.training.History.backward_transfer`.

    Parameters
    ----------
    histories : dict
        ``{label: History}``; a label starting with a method name (``"scp ..."``) takes that method's colour.
    """
    fig, ax = new_axes(ax, figsize=(9, 3.4))
    runs = list(histories.items())
    first = runs[0][1]
    metric = first.metric
    T = len(first.final_matrix(split))
    width = 0.8 / len(runs)
    for i, (label, hist) in enumerate(runs):
        R = hist.final_matrix(split)
        sign = 1.0 if hist.higher_is_better else -1.0
        change = sign * (np.diag(R)[:T - 1] - R[T - 1, :T - 1]) * metric.scale
        method = label.split()[0].lower()
        ax.bar(np.arange(T - 1) + (i - (len(runs) - 1) / 2) * width, change, width=width, label=label,
               color=METHOD_COLORS.get(method))
    ax.axhline(0, color="k", lw=0.8)
    ax.set_xticks(np.arange(T - 1), [str(n) for n in first.task_names[:T - 1]])
    what = "points of accuracy lost" if metric.unit == "%" else f"increase of the {metric.name}"
    finish_axes(ax, "task (in training order)", f"{what}\nsince it was learned", title
           or f"{first.dataset}: what each task lost by the end ({split}; above 0 = forgotten)")
    return fig


def plot_forgetting_and_learning(rows, ax=None, title=None):
    """Forgetting and learning metric per method, side by side (mean ± sd over seeds): what a penalty saves on
    old tasks against what it costs on new ones.

    Parameters
    ----------
    rows : list of dict
        From :func:`scpviz.sweeps.continual_metrics`.
    """
    fig, ax = new_axes(ax, figsize=(7, 3.4))
    m = rows[0]["metric"]
    x = np.arange(len(rows))
    for i, (key, label, hatch) in enumerate((("forgetting", "forgetting (rise of old tasks' "
                                             f"{'error' if not m.higher_is_better else 'loss'} since their best)", ""),
                                            ("learning", f"{m.name} right after learning each task", "//"))):
        vals = [r[key]["mean"] * m.scale for r in rows]
        sds = [r[key]["sd"] * m.scale for r in rows]
        ax.bar(x + (i - 0.5) * 0.38, vals, 0.38, yerr=sds, capsize=3, hatch=hatch, label=label,
               color=[METHOD_COLORS.get(r["method"], "C0") for r in rows], edgecolor="k", alpha=0.9 - 0.35 * i)
    ax.set_xticks(x, [METHOD_LABELS.get(r["method"], r["method"]) for r in rows])
    top = max((r[k]["mean"] + r[k]["sd"]) * m.scale for r in rows for k in ("forgetting", "learning"))
    ax.set_ylim(top=1.35 * top if top > 0 else None)   # room for the legend above the bars
    finish_axes(ax, "", m.label, title or f"forgetting vs learning ({len(rows[0]['seeds'])} seeds; {m.direction})",
           legend=7)
    return fig


def plot_average_metric(rows, reference=None, ax=None, title=None, dataset=None, ylabel=None, ylim="auto"):
    """Figures 3a and 4b: mean ± sd over seeds of the metric averaged over the tasks seen, after each task;
    one curve per method. The axis says what the metric is (accuracy in %, an ℓ1 error, ...).

    Parameters
    ----------
    rows : list of dict
        From :func:`scpviz.sweeps.summarize` (``curve_mean``, ``curve_sd``, ``method``, ``lam``, the metric).
    reference : dict, optional
        Final values to mark at the last task, e.g. :data:`PAPER_FIG3A` (stored like the metric: fractions for
        an accuracy).
    title, ylabel : str, optional
        Default: from the metric (``"Average accuracy over tasks seen"``); the budget is added below the title.
    ylim : "auto", tuple or None
        ``"auto"``: 0–100 % for an accuracy, matplotlib's choice otherwise.
    dataset : str, optional
        Prefixed to the title.
    """
    metric = rows_metric(rows)
    scale = metric.scale if metric else 1.0
    name = metric.name if metric else "metric"
    dataset = dataset or (rows[0].get("dataset") if rows else None)
    fig, ax = new_axes(ax, figsize=(6, 4))
    T = 1
    for r in rows:
        m, sd = scale * np.asarray(r["curve_mean"]), scale * np.asarray(r["curve_sd"])
        T = max(T, len(m))
        x = np.arange(1, len(m) + 1)
        c = METHOD_COLORS.get(r["method"])
        lab = METHOD_LABELS.get(r["method"], r["method"])
        if r["method"] != "none":
            lab += f", λ={r['lam']:g}"
        ax.plot(x, m, "o-", color=c, ms=3, label=f"{lab} ({r['n_seeds']} seed{'s' if r['n_seeds'] > 1 else ''})")
        ax.fill_between(x, m - sd, m + sd, color=c, alpha=0.2)
    ax.xaxis.set_major_locator(plt.MaxNLocator(integer=True))
    if reference:
        for method, v in reference.items():
            ax.plot([T + 0.25], [scale * v], marker="<", color=METHOD_COLORS.get(method), ms=9, ls="none")
        ax.plot([], [], marker="<", color="k", ls="none", label="authors' 10 public runs (reference)")
    title = title or f"Average {name} over tasks seen"
    ylabel = ylabel or (f"test {metric.label}\n(mean over tasks seen; {metric.direction})" if metric
                        else "test metric (mean over tasks seen)")
    limits = metric_ylim(metric) if ylim == "auto" else ylim
    if limits is not None:
        ax.set_ylim(*limits)
    if rows and "config" in rows[0]:
        title = f"{title}\n{budget_label(rows[0]['config'], T)}"
    finish_axes(ax, "number of tasks learned", ylabel, title if dataset is None else f"{dataset}: {title}", legend=7)
    ax.title.set_fontsize(10)
    return fig


def plot_blind_drift(summary, ax=None, title="Where the parameters moved during the next task"):
    """Per parameter tensor: the share of the drift Σ(θ − θ*)² that landed on entries whose importance is
    (numerically) zero (bars), next to the share of such entries (dots).

    Parameters
    ----------
    summary : dict
        From :func:`scpviz.teaching.diagnostics.drift_by_importance` (or the ``"drift"`` entry of
        :func:`scpviz.teaching.diagnostics.two_task_drift`).
    """
    rows = summary["rows"]
    fig, ax = new_axes(ax, figsize=(max(5, 0.45 * len(rows) + 2), 3.5))
    x = np.arange(len(rows))
    share = [r["blind_drift"] / r["drift"] if r["drift"] > 0 else 0.0 for r in rows]
    ax.bar(x, share, color="#d62728", alpha=0.7, label="share of Σδ² on zero-importance entries")
    ax.plot(x, [r["blind_fraction"] for r in rows], "ko", ms=4, label="share of entries with zero importance")
    ax.set_xticks(x, [r["name"] for r in rows], rotation=70, fontsize=7)
    ax.set_ylim(0, 1.05)
    finish_axes(ax, "", "share", f"{title}\n(total: {100 * summary['blind_drift_share']:.0f}% of the drift on "
           f"{100 * summary['blind_fraction']:.0f}% of the parameters)", legend=7)
    return fig


def plot_task_panels(runs, split="test", axes=None, dataset=None, title=None, figure="Figure 7b"):
    """Figure 7b (and Figure 6): the metric of task 1, of task 2 and their average over training time, one curve per
    method (mean ± sd over seeds), the spans in which each task is trained shaded (blue: task 1, red: task 2).

    Parameters
    ----------
    runs : dict
        ``{label: History or list of History}``; the label is a method name (``"scp"``) or starts with one
        (``"SCP λ=1000"``, ``"no consolidation"``), which picks the colour. Lists are averaged point by point (the seeds of one
        configuration).
    split : {"test", "val"}
    axes : sequence of 3 Axes, optional
    dataset : str, optional
        Default: the first History's ``dataset``.
    figure : str
        The paper's figure named in the default title (``"Figure 6"`` for the segmentation experiment).

    Returns
    -------
    matplotlib.figure.Figure
    """
    runs = {k: (v if isinstance(v, (list, tuple)) else [v]) for k, v in runs.items()}
    if not runs or not all(runs.values()):
        raise ValueError("runs is empty: give {method: History or [History, ...]} with at least one run.")
    one_dataset([h for hs in runs.values() for h in hs])
    first = next(iter(runs.values()))[0]
    if len(first.task_names) < 2:
        raise ValueError(f"runs have {len(first.task_names)} task(s): {figure} needs two.")
    if axes is None:
        fig, axes = plt.subplots(1, 3, figsize=(13, 3.6), layout="constrained", sharey=True)
    else:
        fig = axes[0].figure
    metric = first.metric
    tasks = np.array([pt["task"] for pt in first.points])
    x = np.arange(1, len(tasks) + 1)
    names = [first.task_names[0], first.task_names[1], "average of the tasks seen"]
    for k, ax in enumerate(axes):
        for t, color in ((0, "#c6dbef"), (1, "#fcbba1")):
            span = x[tasks == t]
            if len(span):
                ax.axvspan(span[0] - 0.5, span[-1] + 0.5, color=color, alpha=0.5, zorder=0, lw=0)
        for label, hs in runs.items():
            method = method_of_curve(label)
            curves = []
            for h in hs:
                M = metric.scale * h.matrix(split)
                curves.append(M[:, k] if k < 2 else np.nanmean(M, axis=1))
            C = np.vstack(curves)
            with warnings.catch_warnings():      # task 2 is NaN (not seen) before its span
                warnings.simplefilter("ignore", RuntimeWarning)
                m = np.nanmean(C, 0)
                sd = np.nanstd(C, 0, ddof=1) if len(hs) > 1 else None
            ax.plot(x, m, color=METHOD_COLORS.get(method), lw=1.6,
                    label=f"{curve_label(label, method)} ({len(hs)} run{'s' * (len(hs) > 1)})")
            if sd is not None:
                ax.fill_between(x, m - sd, m + sd, color=METHOD_COLORS.get(method), alpha=0.2, lw=0)
        ax.set_title(names[k], fontsize=10)
        ax.set_xlabel("training time (epochs)")
        limits = metric_ylim(metric)
        if limits is not None:
            ax.set_ylim(*limits)
    axes[0].set_ylabel(f"{split} {metric.label}")
    axes[2].legend(fontsize=7, loc="lower left")
    dataset = dataset or first.dataset
    fig.suptitle(title or f"{dataset}: {budget_label(first.config, len(first.task_names))} ({figure}; shaded: "
                 "task 1 trained in blue, task 2 in red)", fontsize=10)
    return fig


def plot_accuracy_matrix(histories, split="test", ax=None, title=None):
    """R[i, j] — the metric on task j after training task i — averaged over ``histories`` (the seeds of one
    configuration), as an annotated heatmap: the diagonal is what each task reached, the columns below it what
    became of it (forgetting).

    Parameters
    ----------
    histories : History or list of History
    """
    hs = histories if isinstance(histories, (list, tuple)) else [histories]
    if not hs:
        raise ValueError("histories is empty: give at least one History.")
    R = np.mean([h.final_matrix(split) for h in hs], axis=0)
    m = hs[0].metric
    shown = m.scale * R
    fig, ax = new_axes(ax, figsize=(4.6, 4))
    T = R.shape[1]
    im = ax.imshow(np.ma.masked_invalid(shown), cmap="viridis", vmin=0, vmax=100 if m.unit == "%" else None)
    for i in range(R.shape[0]):
        for j in range(T):
            if np.isfinite(R[i, j]):
                ax.text(j, i, f"{shown[i, j]:.0f}", ha="center", va="center", fontsize=8,
                        color="white" if shown[i, j] < 0.6 * np.nanmax(shown) else "black")
    ax.set_xticks(range(T), [f"task {j + 1}" for j in range(T)], fontsize=8)
    ax.set_yticks(range(R.shape[0]), [f"after {i + 1}" for i in range(R.shape[0])], fontsize=8)
    fig.colorbar(im, ax=ax, label=f"{split} {m.name} ({m.unit})" if m.unit else f"{split} {m.name}", shrink=0.8)
    ax.set_title(title or f"{hs[0].dataset}\n{split} {m.name} on each task ({len(hs)} seed{'s' * (len(hs) > 1)})",
                 fontsize=9)
    return fig


def plot_tradeoff(results, ax=None, title=None, split="test"):
    """Intransigence against forgetting over a two-task λ grid: for each method and λ (mean over seeds) the drop of
    task 1's metric while task 2 is learned (x; forgetting) and task 2's metric at the end (y; low = intransigent),
    one line per method through its λ, no consolidation as a star. Up and to the left is better.

    Parameters
    ----------
    results : list of (config, History)
        A sweep over two tasks (e.g. the shipped SYNTHIA-style grid).

    Returns
    -------
    matplotlib.figure.Figure
    """
    results = list(results)
    if not results or len(results[0][1].task_names) != 2:
        raise ValueError("results must be (config, History) pairs of a two-task sweep.")
    one_dataset([h for _, h in results])
    m = results[0][1].metric
    fig, ax = new_axes(ax, figsize=(6, 4.2))
    for method in ["none", *consolidating(c["method"] for c, _ in results)]:
        lams = sorted({c["lam"] for c, _ in results if c["method"] == method})
        pts = []
        for lam in lams:
            R = np.array([h.final_matrix(split) for c, h in results if c["method"] == method and c["lam"] == lam])
            pts.append((m.scale * (R[:, 0, 0] - R[:, 1, 0]).mean(), m.scale * R[:, 1, 1].mean(), lam))
        if not pts:
            continue
        x, y, lam = map(np.array, zip(*pts))
        if method == "none":
            ax.plot(x, y, "*", ms=14, color=METHOD_COLORS.get(method), label=METHOD_LABELS[method])
            continue
        ax.plot(x, y, "-", lw=1, alpha=0.45, color=METHOD_COLORS.get(method))
        ax.plot(x, y, "o", ms=5, color=METHOD_COLORS.get(method), label=f"{METHOD_LABELS[method]} (line: λ ↑)")
        for xi, yi, li in ((x[0], y[0], lam[0]), (x[-1], y[-1], lam[-1])):
            ax.annotate(f"{li:g}", (xi, yi), fontsize=7, xytext=(3, 3), textcoords="offset points",
                        color=METHOD_COLORS.get(method))
    names = results[0][1].task_names
    finish_axes(ax, f"forgetting: {names[0]} {m.name} lost while learning {names[1]} (points)",
           f"{names[1]} {split} {m.label} (lower = more intransigent)",
           title or f"{results[0][1].dataset}\nintransigence vs forgetting over λ (mean over seeds)")
    return fig
