"""Schematic drawings for the course: what each importance keeps (the idea of Figure 1) and the data flow of
Algorithm 1. Matplotlib only; each function takes ``ax=None`` / ``axes=None`` and returns the Figure.

The toy points are drawn from a seeded generator, so the pictures are the same every run.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import Circle, FancyArrowPatch, FancyBboxPatch

from .style import METHOD_COLORS, METHOD_LABELS

__all__ = ["draw_algorithm1", "draw_what_each_importance_keeps"]


def _box(ax, xy, text, color, width=1.9, height=0.9):
    x, y = xy
    ax.add_patch(FancyBboxPatch((x - width / 2, y - height / 2), width, height, boxstyle="round,pad=0.05",
                                facecolor=color, edgecolor="black", linewidth=0.8, alpha=0.9))
    ax.text(x, y, text, ha="center", va="center", fontsize=8.5)


def _arrow(ax, a, b, text=None):
    ax.add_patch(FancyArrowPatch(a, b, arrowstyle="-|>", mutation_scale=12, linewidth=1.0, color="black"))
    if text:
        ax.text((a[0] + b[0]) / 2, (a[1] + b[1]) / 2 + 0.18, text, ha="center", va="bottom", fontsize=7.5,
                style="italic")


def draw_algorithm1(ax=None, n_slices=3):
    """Algorithm 1 (eq 19) as a flow: task-A inputs → the network at θ* → the mean output φ̄ ∈ R^K → L random
    slices ρ_l = ξ_l·φ̄ → one backward pass each, ∇_θ ρ_l → Γ = (1/L) Σ_l (∇_θ ρ_l)², squared *per slice*, then
    averaged.

    Parameters
    ----------
    ax : matplotlib Axes, optional
    n_slices : int
        How many slice rows to draw (the picture's L; the algorithm's L is usually 100).

    Returns
    -------
    matplotlib.figure.Figure
    """
    if ax is None:
        fig, ax = plt.subplots(figsize=(11, 3.6), layout="constrained")
    fig = ax.figure
    ax.set_xlim(0, 13.4)
    rows = np.linspace(2.9, 0.3, n_slices) if n_slices > 1 else np.array([1.6])
    ax.set_ylim(-0.6, 3.6)
    ax.axis("off")
    mid = float(rows.mean())
    _box(ax, (1.0, mid), "task-A inputs\nx₁ … x_N", "#f2f2f2", width=1.6)
    _box(ax, (3.3, mid), "network at θ*\nφ(x; θ*)\n(eval mode)", "#dde8f5", width=1.8, height=1.1)
    _box(ax, (5.7, mid), "mean output\nφ̄ = (1/N) Σₙ φ(xₙ)\n∈ R^K  (line 1)", "#dde8f5", width=2.0, height=1.1)
    _arrow(ax, (1.8, mid), (2.4, mid))
    _arrow(ax, (4.2, mid), (4.7, mid))
    for i, y in enumerate(rows):
        name = "L" if i == len(rows) - 1 and n_slices > 2 else str(i + 1)
        _box(ax, (8.1, y), f"slice ξ_{name} ∈ S^(K−1)\nρ_{name} = ξ_{name}·φ̄  (5)", "#e3f1e0", width=2.1, height=0.75)
        _box(ax, (10.4, y), f"backward pass\n(∇θ ρ_{name})²  (6–7)", "#e3f1e0", width=1.7, height=0.75)
        _arrow(ax, (6.7, mid), (7.05, y))
        _arrow(ax, (9.15, y), (9.55, y))
        _arrow(ax, (11.25, y), (11.85, mid))
    if n_slices > 2:
        ax.text(8.1, (rows[-2] + rows[-1]) / 2, "⋮", ha="center", va="center", fontsize=14)
    _box(ax, (12.6, mid), "Γ = (1/L) Σ_l\n(∇θ ρ_l)²", METHOD_COLORS["scp"], width=1.45, height=1.0)
    ax.set_title("Algorithm 1: square each slice's gradient, then average over the L slices (eq 19)", fontsize=10)
    return fig


def draw_what_each_importance_keeps(axes=None, seed=0):
    """The idea of Figure 1 on one toy cloud of 2-D outputs of task A (filled) and the same outputs after some
    training on task B (open): what each replay regularizer compares.

    Left, EWC (eq 1): each sample's softmax — a line per sample from old to new output. Middle, MAS (eq 6):
    each sample's squared norm — the circle through its old output. Right, SCP (eq 14): only the two clouds,
    compared slice by slice — the projections on one direction ξ and their CDFs.

    Returns
    -------
    matplotlib.figure.Figure
    """
    rng = np.random.default_rng(seed)
    old = np.concatenate([rng.normal((1.6, 0.6), 0.25, (7, 2)), rng.normal((-0.6, 1.4), 0.25, (7, 2))])
    angle = np.radians(25)
    rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    perm = rng.permutation(len(old))
    new = old[perm] @ rot.T * 0.95 + (0.1, -0.1)   # sample perm[i] moved to new[i]: rotated and reshuffled
    if axes is None:
        fig, axes = plt.subplots(1, 3, figsize=(12, 3.9), layout="constrained")
    fig = axes[0].figure
    for ax in axes:
        ax.scatter(*old.T, s=22, color="black", label="task A outputs at θ*", zorder=3)
        ax.scatter(*new.T, s=22, facecolors="none", edgecolors="#d62728", label="after learning task B", zorder=3)
        ax.set_aspect("equal")
        ax.set_xlim(-2.3, 2.6)
        ax.set_ylim(-1.6, 2.6)
        ax.axhline(0, color="0.85", lw=0.6)
        ax.axvline(0, color="0.85", lw=0.6)
        ax.set_xlabel("output 1")
    axes[0].set_ylabel("output 2")
    for a, b in zip(old[perm], new):
        axes[0].plot(*np.c_[a, b], color=METHOD_COLORS["ewc"], lw=0.9)
    axes[0].set_title(f"{METHOD_LABELS['ewc']}: each sample's softmax\n(eq 1) — every sample must stay put",
                      fontsize=9)
    for a in old:
        axes[1].add_patch(Circle((0, 0), np.hypot(*a), fill=False, color=METHOD_COLORS["mas"], lw=0.6, alpha=0.7))
    axes[1].set_title(f"{METHOD_LABELS['mas']}: each sample's norm ‖φ(x)‖²\n(eq 6) — may slide along its circle",
                      fontsize=9)
    xi = np.array([np.cos(np.radians(20)), np.sin(np.radians(20))])
    axes[2].annotate("", xy=2.2 * xi, xytext=-1.8 * xi,
                     arrowprops=dict(arrowstyle="-|>", color=METHOD_COLORS["scp"], lw=1.2))
    axes[2].text(*(2.25 * xi + (0, 0.1)), "ξ", color=METHOD_COLORS["scp"], fontsize=11)
    inset = axes[2].inset_axes([0.56, 0.03, 0.42, 0.26])
    for pts, color, style in ((old, "black", "-"), (new, "#d62728", "--")):
        t = np.sort(pts @ xi)
        inset.step(t, np.arange(1, len(t) + 1) / len(t), where="post", color=color, ls=style, lw=1)
    inset.set_xticks([])
    inset.set_yticks([])
    inset.set_title("CDFs of ξ·φ", fontsize=7, pad=1)
    axes[2].set_title(f"{METHOD_LABELS['scp']}: the distribution of outputs\n(eq 14) — compared along slices ξ; "
                      "who is where is free", fontsize=9)
    axes[0].legend(fontsize=7, loc="lower left")
    fig.suptitle("What each replay regularizer keeps (the idea of Figure 1; toy 2-D outputs)", fontsize=10)
    return fig
