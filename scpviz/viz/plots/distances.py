"""Distances between distributions (notebooks 01, 02): shifted densities, the energy landscape of Figure 2,
clouds and their slices, the Monte-Carlo estimate of SC₂.

Every function takes ``ax=None`` (or ``axes=None``; a new figure when omitted) and returns the Figure.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from ..style import DISTANCE_COLORS, finish_axes, new_axes, to_numpy

__all__ = ["plot_shifted_densities", "plot_landscape", "plot_figure2", "plot_cloud_slice", "plot_sliced_convergence",
           "plot_sd_scaling"]


def plot_shifted_densities(x, p0, p1, tau=None, ax=None, title="p and its shift p_τ"):
    """Figure 2, left: a density p and its shift p_τ on a grid."""
    fig, ax = new_axes(ax)
    ax.fill_between(to_numpy(x), to_numpy(p0), alpha=0.35, color="#444444", label="p")
    lab = "p_τ" if tau is None else f"p_τ (τ = {tau:.2f})"
    ax.fill_between(to_numpy(x), to_numpy(p1), alpha=0.35, color="#9467bd", label=lab)
    ax.set_xlabel("t")
    ax.set_ylabel("density")
    ax.set_title(title)
    ax.legend(loc="upper right", fontsize=8)
    return fig


def plot_landscape(landscape, keys=None, tau=None, ax=None, title="Energy landscape (Figure 2)"):
    """Figure 2, right: each distance between p and p_τ as a function of τ.

    Parameters
    ----------
    landscape : dict
        From :func:`scpviz.distances.shift_landscape`.
    keys : sequence of str, optional
        Which distances (default all of ``"JS"``, ``"W*"``, ``"C*"`` present).
    tau : float, optional
        Put a marker on each curve at this τ.
    """
    fig, ax = new_axes(ax)
    taus = to_numpy(landscape["tau"])
    if keys is None:
        keys = [k for k in landscape if k == "JS" or (k[0] in "WC" and k[1:].replace(".", "").isdigit())]
    for i, k in enumerate(keys):
        y = to_numpy(landscape[k])
        color = DISTANCE_COLORS.get(k, f"C{i}")
        # W_p and C_1 coincide for shifts (all equal |τ|): dashed W curves keep both visible
        style = dict(ls="--", lw=1.4) if k.startswith("W") else dict(ls="-", lw=2.2)
        ax.plot(taus, y, label=k, color=color, **style)
        if tau is not None:
            ax.plot([tau], [np.interp(tau, taus, y)], "o", color=color, ms=6)
    ax.set_xlabel("shift τ")
    ax.set_ylabel("distance between p and p_τ")
    ax.set_title(title)
    ax.legend(fontsize=8, ncols=2)
    return fig


def plot_figure2(landscape, tau, axes=None):
    """Both panels of Figure 2: densities at shift ``tau`` (left) and the landscape with markers (right)."""
    from ...distances import shape_density

    if axes is None:
        fig, axes = plt.subplots(1, 2, figsize=(10, 3.6), layout="constrained")
    else:
        fig = axes[0].figure
    x, p0 = landscape["x"], landscape["p0"]
    p1 = shape_density(landscape["shape"], x, landscape["width"], shift=float(tau))
    plot_shifted_densities(x, p0, p1, tau=tau, ax=axes[0])
    plot_landscape(landscape, tau=tau, ax=axes[1])
    return fig


def plot_cloud_slice(X, Y, angle, axes=None, bins=40, labels=("X", "Y")):
    """One slice of two 2-D clouds: the clouds and direction ξ, the two marginals, their CDFs.

    The area between the CDFs (shaded) is the slice's C_1; the integral of its
    square is C_2² (eq 10); averaging over directions gives eq 13.
    """
    X, Y = to_numpy(X), to_numpy(Y)
    xi = np.array([np.cos(angle), np.sin(angle)])
    u, v = X @ xi, Y @ xi
    if axes is None:
        fig, axes = plt.subplots(1, 3, figsize=(12, 3.6), layout="constrained")
    else:
        fig = axes[0].figure
    a0, a1, a2 = axes
    a0.scatter(X[:, 0], X[:, 1], s=4, alpha=0.5, color="#1f77b4", label=labels[0])
    a0.scatter(Y[:, 0], Y[:, 1], s=4, alpha=0.5, color="#d62728", label=labels[1])
    r = 1.1 * np.abs(np.concatenate([X, Y])).max()
    a0.plot([-r * xi[0], r * xi[0]], [-r * xi[1], r * xi[1]], "k--", lw=1)
    a0.annotate("", xy=xi * r * 0.6, xytext=(0, 0), arrowprops=dict(arrowstyle="->", lw=2))
    a0.set_aspect("equal")
    a0.set_title(f"clouds and slice ξ (angle {np.degrees(angle):.0f}°)")
    a0.legend(fontsize=8, loc="lower left")
    lo, hi = min(u.min(), v.min()), max(u.max(), v.max())
    edges = np.linspace(lo, hi, bins + 1)
    a1.hist(u, bins=edges, density=True, alpha=0.5, color="#1f77b4", label=f"ξ·{labels[0]}")
    a1.hist(v, bins=edges, density=True, alpha=0.5, color="#d62728", label=f"ξ·{labels[1]}")
    a1.set_title("slice marginals Rp(·, ξ) (eq 11)")
    a1.set_xlabel("t = ξ·x")
    a1.legend(fontsize=8)
    t = np.sort(np.concatenate([u, v]))
    Fu = np.searchsorted(np.sort(u), t, side="right") / len(u)
    Fv = np.searchsorted(np.sort(v), t, side="right") / len(v)
    a2.step(t, Fu, where="post", color="#1f77b4", label=f"CDF of ξ·{labels[0]}")
    a2.step(t, Fv, where="post", color="#d62728", label=f"CDF of ξ·{labels[1]}")
    a2.fill_between(t, Fu, Fv, step="post", color="#999999", alpha=0.4, label="|difference|")
    a2.set_title("CDFs Rq(·, ξ) (eq 12); shaded area = C₁")
    a2.set_xlabel("t")
    a2.legend(fontsize=8, loc="upper left")
    return fig


def plot_sliced_convergence(result, reference=None, ax=None, title="Monte-Carlo estimate of SC₂"):
    """Mean ± sd over seeds of the sliced-Cramér estimate against the number of slices L."""
    fig, ax = new_axes(ax)
    L, m, s = to_numpy(result["L"]), to_numpy(result["mean"]), to_numpy(result["sd"])
    ax.plot(L, m, color=DISTANCE_COLORS["C2"], label="mean over seeds")
    ax.fill_between(L, m - s, m + s, color=DISTANCE_COLORS["C2"], alpha=0.25, label="± 1 sd")
    if reference is not None:
        ax.axhline(reference, color="k", ls="--", lw=1, label="quadrature (L → ∞)")
    ax.set_xscale("log")
    finish_axes(ax, "number of slices L", "SC₂ estimate", title, legend=8)
    return fig


def plot_sd_scaling(L, sd, slope=None, ax=None, title="Spread of the estimate"):
    """Standard deviation over seeds against L on log–log axes, with the fitted slope and the 1/√L line."""
    fig, ax = new_axes(ax)
    L, sd = to_numpy(L).astype(float), to_numpy(sd)
    ax.loglog(L, sd, "o-", color=DISTANCE_COLORS["C2"], label="sd over seeds")
    ax.loglog(L, sd[0] * np.sqrt(L[0] / L), "k--", lw=1, label="∝ 1/√L")
    if slope is not None:
        ax.text(0.05, 0.08, f"fitted slope {slope:.2f}", transform=ax.transAxes)
    ax.xaxis.set_minor_formatter(plt.NullFormatter())  # the minor labels of a short log axis overlap
    finish_axes(ax, "number of slices L", "sd of SC₂ estimate", title, legend=8)
    return fig
