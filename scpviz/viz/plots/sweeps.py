"""λ grids (notebooks 07, 07b): the final metric against λ, and the Figure 4 study's overview.

Every function takes ``ax=None`` (or ``axes=None``; a new figure when omitted) and returns the Figure.
"""

from __future__ import annotations

import numpy as np

from ...methods import consolidating
from ..style import METHOD_COLORS, METHOD_LABELS, finish_axes, new_axes, rows_metric

__all__ = ["plot_lambda_sweep", "plot_study_overview", "plot_study_lambda"]


def plot_lambda_sweep(rows, ax=None, ylabel=None, title="Final metric against λ", dataset=None):
    """Final metric (mean ± sd over seeds) against λ, one line per method, no consolidation as a horizontal band.

    Parameters
    ----------
    rows : list of dict
        From :func:`scpviz.sweeps.summarize` over a λ grid (``method``, ``lam``, ``mean``, ``sd``).
    """
    metric = rows_metric(rows)
    if ylabel is None:
        ylabel = f"final {metric.label}, {metric.direction}" if metric else "final metric"
    s = metric.scale if metric else 1.0
    rows = [dict(r, mean=s * r["mean"], sd=s * r["sd"]) for r in rows]
    fig, ax = new_axes(ax, figsize=(6, 4))
    for r in rows:
        if r["method"] == "none":
            ax.axhline(r["mean"], color=METHOD_COLORS["none"], ls="--", label=METHOD_LABELS.get("none", "none"))
            if r["sd"] > 0:
                ax.axhspan(r["mean"] - r["sd"], r["mean"] + r["sd"], color=METHOD_COLORS["none"], alpha=0.15)
    for method in consolidating(r["method"] for r in rows):
        rs = sorted((r for r in rows if r["method"] == method), key=lambda r: r["lam"])
        if rs:
            lam = np.array([r["lam"] for r in rs])
            m, sd = np.array([r["mean"] for r in rs]), np.array([r["sd"] for r in rs])
            ax.semilogx(lam, m, "o-", color=METHOD_COLORS[method], label=METHOD_LABELS.get(method, method))
            ax.fill_between(lam, m - sd, m + sd, color=METHOD_COLORS[method], alpha=0.15)
    # a stand-in's name is long: on a line of its own it is not cut off at the figure's edge
    finish_axes(ax, "λ", ylabel, f"{dataset}\n{title}" if dataset else title)
    return fig


def plot_study_overview(rows, chosen, ax=None, title=None, dataset="MNIST"):
    """Per variant, the final mean ℓ1 of no consolidation and of MAS and SCP at their validation-chosen λ
    (mean ± sd over digit orders; lower is better): does any variant make consolidation beat none?

    Parameters
    ----------
    rows, chosen : list of dict
        :func:`scpviz.studies.figure4.study_rows` and its :func:`~scpviz.studies.figure4.chosen_rows`.
    """
    fig, ax = new_axes(ax, figsize=(9, 3.6))
    variants = list(dict.fromkeys(r["variant"] for r in rows))
    methods = [m for m in ["none", *consolidating(r["method"] for r in chosen)] if any(r["method"] == m for r in chosen)]
    width = 0.8 / len(methods)
    for j, m in enumerate(methods):
        xs, ys, es = [], [], []
        for i, v in enumerate(variants):
            r = next((r for r in chosen if r["variant"] == v and r["method"] == m), None)
            if r is not None:
                xs.append(i + (j - (len(methods) - 1) / 2) * width)
                ys.append(r["final"]["mean"])
                es.append(r["final"]["sd"])
        ax.bar(xs, ys, width, yerr=es, capsize=2, color=METHOD_COLORS.get(m), label=METHOD_LABELS.get(m, m))
    ax.set_xticks(range(len(variants)), [v.replace("_", " ") for v in variants], rotation=25, ha="right",
                  fontsize=8)
    lo = min(r["final"]["mean"] - r["final"]["sd"] for r in chosen)
    ax.set_ylim(bottom=max(0.0, 0.8 * lo))
    n = len(chosen[0]["seeds"]) if chosen else 0
    finish_axes(ax, "", "final mean ℓ1 over the digits (lower is better)",
           title or f"{dataset}: final error per variant, λ chosen on validation ({n} digit orders)", legend=7)
    return fig


def plot_study_lambda(rows, variant, method, lam=None, ax=None, dataset="MNIST"):
    """For one variant and method: final mean ℓ1, forgetting and learning error against λ (mean ± sd over
    orders), with no consolidation's values of the same variant as dashed lines and ``lam`` marked.

    Forgetting is how far the old digits' error rose from its best; the learning error is each digit's error right
    after learning it. A penalty helps only where it lowers forgetting by more than it raises the learning error.
    """
    fig, ax = new_axes(ax, figsize=(7, 3.6))
    mine = sorted((r for r in rows if r["variant"] == variant and r["method"] == method), key=lambda r: r["lam"])
    if not mine:
        raise ValueError(f"rows hold no run of variant={variant!r} and method={method!r}; choose from "
                         f"{sorted({(r['variant'], r['method']) for r in rows})}.")
    base = next((r for r in rows if r["variant"] == variant and r["method"] == "none"), None)
    lams = np.array([r["lam"] for r in mine])
    for key, label, color in (("final", "final mean ℓ1", "k"), ("forgetting", "forgetting", "C3"),
                              ("learning", "learning error", "C0")):
        m = np.array([r[key]["mean"] for r in mine])
        sd = np.array([r[key]["sd"] for r in mine])
        ax.plot(lams, m, "o-", color=color, label=label)
        ax.fill_between(lams, m - sd, m + sd, color=color, alpha=0.15)
        if base is not None:
            ax.axhline(base[key]["mean"], color=color, ls="--", lw=1)
    if lam is not None:
        ax.axvline(lam, color="0.5", lw=3, alpha=0.4)
    ax.set_xscale("log")
    finish_axes(ax, f"λ ({METHOD_LABELS.get(method, method)})", "ℓ1 error (lower is better)",
           f"{dataset}, variant {variant}: {METHOD_LABELS.get(method, method)} vs λ (dashed: none)", legend=7)
    return fig
