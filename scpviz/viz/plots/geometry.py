"""What the penalties see (notebooks 03, 04): Taylor expansions of the replay regularizers and the geometry
of their quadratic forms.

Every function takes ``ax=None`` (or ``axes=None``; a new figure when omitted) and returns the Figure.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from ..style import METHOD_COLORS, METHOD_LABELS, finish_axes, new_axes, to_numpy

__all__ = ["plot_expansion", "plot_ratio_histograms", "REGULARIZER_COLORS", "plot_output_transform",
           "plot_riemannian_plane"]


def plot_expansion(eps, values, quadratic, label="R", axes=None, expect_ratio=1.0):
    """Left: R(θ* + εv) and its quadratic form on log–log axes with a slope-2 guide; right: their ratio.

    Parameters
    ----------
    eps, values, quadratic : arrays
        ε, R(θ*+εv) and the quadratic form at each ε.
    expect_ratio : float
        Where the ratio should settle (1 for KL/F, ½ for the paper's MAS form).
    """
    if axes is None:
        fig, axes = plt.subplots(1, 2, figsize=(10, 3.4), layout="constrained")
    else:
        fig = axes[0].figure
    eps, values, quadratic = map(np.asarray, (eps, values, quadratic))
    a0, a1 = axes
    a0.loglog(eps, np.abs(values), "o-", label=f"{label}(θ* + εv)")
    a0.loglog(eps, np.abs(quadratic), "--", label="quadratic form")
    a0.loglog(eps, np.abs(quadratic[0]) * (eps / eps[0]) ** 2, ":", color="gray", label="slope 2")
    a0.loglog(eps, np.abs(values[0]) * (eps / eps[0]), ":", color="k", lw=0.8, label="slope 1")
    finish_axes(a0, "ε", "value", f"{label} along a unit direction")
    a1.semilogx(eps, values / quadratic, "o-")
    a1.axhline(expect_ratio, color="k", lw=0.8, ls="--")
    finish_axes(a1, "ε", "ratio", f"{label} / quadratic form → {expect_ratio:g}", legend=0)
    return fig


def plot_ratio_histograms(ratios, ax=None, title="Full vs diagonal quadratic form along random directions"):
    """Histograms of vᵀMv / vᵀdiag(M)v per matrix (``{"ewc": r, "mas": r, "scp": r}``), log-scaled x."""
    fig, ax = new_axes(ax)
    allr = np.concatenate([np.asarray(r) for r in ratios.values()])
    pos = allr[allr > 0]
    lo, hi = (pos.min(), pos.max()) if pos.size else (1e-3, 1e3)
    bins = np.logspace(np.log10(lo) - 0.1, np.log10(hi) + 0.1, 30)
    for method, r in ratios.items():
        ax.hist(np.clip(r, lo, hi), bins=bins, alpha=0.5, color=METHOD_COLORS.get(method),
                label=METHOD_LABELS.get(method, method))
    ax.set_xscale("log")
    ax.axvline(1.0, color="k", lw=0.8)
    finish_axes(ax, "vᵀ M v / vᵀ diag(M) v", "directions", title)
    return fig


REGULARIZER_COLORS = {"KL (EWC)": METHOD_COLORS["ewc"], "MAS": METHOD_COLORS["mas"], "SC₂² (SCP)": METHOD_COLORS["scp"],
                      "Γ form (eq 19)": "#98df8a"}


def plot_output_transform(phi_star, phi, values, axes=None, labels=None, accuracy=None):
    """Left: outputs at θ* and moved outputs (lines join each sample's two positions); right: regularizer values
    (and eq 19's Γ form, light green, next to the SC₂² it approximates). ``accuracy``: task A's accuracy with the
    moved outputs, shown in the left title."""
    if axes is None:
        fig, axes = plt.subplots(1, 2, figsize=(10, 4), layout="constrained", gridspec_kw={"width_ratios": [1.3, 1]})
    else:
        fig = axes[0].figure
    a0, a1 = axes
    P, Q = to_numpy(phi_star), to_numpy(phi)
    for p_, q_ in zip(P[:80], Q[:80]):
        a0.plot([p_[0], q_[0]], [p_[1], q_[1]], color="#bbbbbb", lw=0.6, zorder=0)
    colour = dict(c=labels, cmap="coolwarm") if labels is not None else dict(color="#1f77b4")
    a0.scatter(P[:, 0], P[:, 1], s=10, label="φ(x; θ*)", **colour)
    a0.scatter(Q[:, 0], Q[:, 1], s=10, marker="x", color="k", alpha=0.6, label="moved outputs")
    a0.set_aspect("equal", adjustable="datalim")
    finish_axes(a0, "output 1", "output 2", "task A's outputs, before and after"
           + (f"\ntask A accuracy with the moved outputs: {100 * accuracy:.1f} %" if accuracy is not None else ""))
    names = list(values)
    vals = [values[k] for k in names]
    a1.bar(range(len(names)), vals, color=[REGULARIZER_COLORS.get(k, "C0") for k in names])
    a1.set_xticks(range(len(names)), [n.replace(" (", "\n(") for n in names], fontsize=8)
    for i, v in enumerate(vals):
        a1.text(i, v, f"{v:.2e}", ha="center", va="bottom", fontsize=8)
    a1.set_yscale("symlog", linthresh=1e-3)   # values span many decades and include exact zeros
    finish_axes(a1, "", "replay regularizer value (symlog)", "what each method would penalise", legend=0)
    return fig


def plot_riemannian_plane(plane, optima=None, lam=None, kind="full", ax=None):
    """Task B's loss on a parameter plane (filled contours), the ‖δθ‖²_M = 1 ellipses of F, Ω, Γ, and optima."""
    fig, ax = new_axes(ax, figsize=(6, 5))
    A, B = np.meshgrid(plane["a"], plane["b"], indexing="xy")
    cs = ax.contourf(A, B, plane["loss_b"], levels=20, cmap="Greys")
    fig.colorbar(cs, ax=ax, label="task B loss")
    colors = {"EWC": METHOD_COLORS["ewc"], "MAS": METHOD_COLORS["mas"], "SCP": METHOD_COLORS["scp"]}
    for name, Q in plane["quad"].items():
        if not name.endswith(kind):
            continue
        c = colors[name.split()[0]]
        level = np.percentile(Q, 10) if Q.max() > 0 else 1.0
        ax.contour(A, B, Q, levels=[level], colors=[c], linestyles="-" if kind == "full" else "--")
        ax.plot([], [], color=c, label=f"{name} (level set)")
        if optima and name in optima:
            ax.plot(*optima[name], "o", color=c, ms=8, mec="k")
    if optima:
        ax.plot(*optima["task B alone"], "*", color="gold", ms=14, mec="k", label="task B alone")
    ax.plot(0, 0, "P", color="k", ms=10, label="θ* (end of task A)")
    title = "Parameter plane through θ*" + (f", λ = {lam:g}" if lam is not None else "")
    finish_axes(ax, "a (task-B descent direction)", "b (random orthogonal direction)", title, legend=7)
    return fig
