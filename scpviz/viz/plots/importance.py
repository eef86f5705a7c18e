"""Importances (notebook 05): histograms of log-importances (Figure 3b), Γ_L → Γ_∞, spectra, merge weights.

Every function takes ``ax=None`` (or ``axes=None``; a new figure when omitted) and returns the Figure.
"""

from __future__ import annotations

import numpy as np

from ..style import METHOD_COLORS, METHOD_LABELS, finish_axes, new_axes, to_numpy

__all__ = ["plot_importance_histograms", "plot_gamma_convergence", "plot_spectra", "plot_merge_weights"]


def plot_importance_histograms(importances, lams=None, bins=60, ax=None, title="log₁₀(λ × importance) (Figure 3b)"):
    """Histograms of log₁₀(λ·importance) per method (Figure 3b).

    Parameters
    ----------
    importances : dict
        ``{"ewc": {...}, "mas": {...}, "scp": {...}}`` importance dicts.
    lams : dict, optional
        λ per method (default 1).
    """
    fig, ax = new_axes(ax, figsize=(6, 3.6))
    lams = lams or {}
    for method, imp in importances.items():
        v = np.concatenate([to_numpy(t).ravel() for t in imp.values()]) * lams.get(method, 1.0)
        v = v[v > 0]
        if v.size == 0:
            continue
        ax.hist(np.log10(v), bins=bins, histtype="stepfilled", alpha=0.35, density=True,
                color=METHOD_COLORS.get(method), label=f"{METHOD_LABELS.get(method, method)}, λ={lams.get(method, 1.0):g}")
        ax.hist(np.log10(v), bins=bins, histtype="step", density=True, color=METHOD_COLORS.get(method))
    finish_axes(ax, "log₁₀(λ × importance)", "density of parameters", title, legend=8)
    return fig


def plot_gamma_convergence(result, ax=None, title="Γ_L → Γ_∞ (eq 19)"):
    """Relative error of the Monte-Carlo Γ against L on log–log axes, with the 1/√L guide."""
    fig, ax = new_axes(ax)
    L, err = to_numpy(result["L"]).astype(float), to_numpy(result["errors"])
    ax.loglog(L, err.T, color=METHOD_COLORS["scp"], alpha=0.15)
    ax.loglog(L, err.mean(0), "o-", color=METHOD_COLORS["scp"], label="mean over slice draws")
    ax.loglog(L, err.mean(0)[0] * np.sqrt(L[0] / L), "k--", lw=1, label="∝ 1/√L")
    finish_axes(ax, "number of slices L", "‖Γ_L − Γ_∞‖ / ‖Γ_∞‖", title, legend=8)
    return fig


def plot_spectra(matrices, ax=None, title="Eigen-spectra of the full importance matrices"):
    """Sorted eigenvalues (log scale) of full PSD matrices, e.g. ``{"ewc": F, "mas": Ω, "scp": Γ}``."""
    fig, ax = new_axes(ax)
    for method, M in matrices.items():
        ev = np.sort(np.clip(np.linalg.eigvalsh(to_numpy(M).astype(np.float64)), 0, None))[::-1]
        ev = ev / ev[0] if ev[0] > 0 else ev
        ax.semilogy(np.arange(1, len(ev) + 1), np.maximum(ev, 1e-18), color=METHOD_COLORS.get(method),
                    label=METHOD_LABELS.get(method, method))
    ax.set_ylim(1e-17, 2)
    finish_axes(ax, "eigenvalue index", "eigenvalue / largest", title, legend=8)
    return fig


def plot_merge_weights(weights, ax=None, title="Weight each past task carries"):
    """Grouped bars: weight of task t (oldest first) in the accumulated importance, per merge rule."""
    fig, ax = new_axes(ax, figsize=(7, 3.6))
    rules = list(weights)
    T = len(next(iter(weights.values())))
    width = 0.8 / len(rules)
    for i, r in enumerate(rules):
        w = to_numpy(weights[r])
        ax.bar(np.arange(1, T + 1) + (i - (len(rules) - 1) / 2) * width, w / w.sum(), width=width, label=r)
    finish_axes(ax, "task t (1 = oldest)", "share of the total weight", title, legend=7)
    return fig
