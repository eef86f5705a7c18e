"""Figures. Every function takes ``ax=None`` (a new figure when omitted) and returns the Figure.

No mathematics here: the numbers come from the modules upstream. One palette
(:data:`METHOD_COLORS`, :data:`DISTANCE_COLORS`) so a method has the same colour
in every figure of the collection.
"""

from __future__ import annotations

import warnings

import matplotlib.pyplot as plt
import numpy as np

from ..training import metric_named

__all__ = ["plot_blind_drift", "plot_lambda_sweep", "METHOD_COLORS", "DISTANCE_COLORS", "METHOD_LABELS", "new_axes", "show_images", "plot_landscape",
           "plot_figure2", "plot_shifted_densities", "plot_cloud_slice", "plot_sliced_convergence", "plot_sd_scaling",
           "plot_importance_histograms", "plot_gamma_convergence", "plot_spectra", "plot_merge_weights",
           "plot_forgetting_curves", "plot_forgetting_side_by_side", "plot_stability_plasticity", "plot_task_change", "plot_forgetting_and_learning", "plot_average_metric", "budget_label", "PAPER_FIG3A", "plot_expansion",
           "plot_ratio_histograms", "plot_output_transform", "plot_riemannian_plane", "plot_reconstruction_grid",
           "plot_study_overview", "plot_study_lambda", "plot_task_panels", "show_task_split", "show_rgb_images",
           "plot_accuracy_matrix"]

METHOD_COLORS = {"none": "#7f7f7f", "ewc": "#1f77b4", "mas": "#ff7f0e", "scp": "#2ca02c", "l2": "#9467bd"}
METHOD_LABELS = {"none": "no consolidation", "ewc": "online-EWC (F)", "mas": "MAS (Ω)", "scp": "SCP (Γ)",
                 "l2": "uniform L2 pull"}
DISTANCE_COLORS = {"JS": "#d62728", "W1": "#1f77b4", "W2": "#17becf", "C1": "#ff7f0e", "C2": "#2ca02c"}


def new_axes(ax=None, figsize=(5, 3.5)):
    """``(fig, ax)``: the given axes and its figure, or a fresh pair."""
    if ax is None:
        fig, ax = plt.subplots(figsize=figsize, layout="constrained")
        return fig, ax
    return ax.figure, ax


def _label(ax, xlabel, ylabel, title, legend=8):
    """Axis labels, title and (when there are labelled artists) a legend."""
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    if legend and ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=legend)


def _np(x):
    try:
        import torch
        if isinstance(x, torch.Tensor):
            return x.detach().cpu().numpy()
    except ImportError:  # pragma: no cover
        pass
    return np.asarray(x)


def show_images(images, labels=None, ncols=10, title=None, ax=None, cmap="gray_r"):
    """A grid of grey-scale images (N×28×28, N×1×28×28 or N×784) in [0, 1] on one axes.

    Parameters
    ----------
    images : array or Tensor
    labels : sequence, optional
        Shown above each image.
    ncols : int
    title : str, optional
        Put the dataset's name here.
    cmap : str
        ``"gray_r"`` (dark ink on white paper, for MNIST) or ``"gray"`` (the pixel values as they are, for photos).
    """
    x = _np(images).astype(float)
    n = x.shape[0]
    if n == 0:
        raise ValueError("images is empty: pass at least one image.")
    side = int(round(np.sqrt(x[0].size)))
    if side * side != x[0].size:
        raise ValueError(f"images of {x[0].size} pixels are not square; pass N×H×W images.")
    return _image_grid(x.reshape(n, side, side), labels, ncols, title, ax, dict(cmap=cmap), (0.6, 0.7))


def _image_grid(x, labels, ncols, title, ax, imshow_kw, cell_inches):
    """Tile images (N, H, W) or (N, H, W, 3) into one canvas with a 1-pixel white margin, labels above each."""
    n, side = x.shape[0], x.shape[1]
    ncols = max(1, min(ncols, n))
    nrows = int(np.ceil(n / ncols))
    canvas = np.ones((nrows * (side + 2), ncols * (side + 2)) + x.shape[3:])
    for i in range(n):
        r, c = divmod(i, ncols)
        canvas[r * (side + 2) + 1:r * (side + 2) + 1 + side, c * (side + 2) + 1:c * (side + 2) + 1 + side] = x[i]
    fig, ax = new_axes(ax, figsize=(ncols * cell_inches[0] + 0.4, nrows * cell_inches[1] + 0.5))
    if x.ndim == 3:
        imshow_kw = dict(vmin=0, vmax=max(1.0, canvas.max()), **imshow_kw)
    ax.imshow(canvas, **imshow_kw)
    ax.set_xticks([])
    ax.set_yticks([])
    if labels is not None:
        for i, lab in enumerate(list(_np(labels))[:n]):
            r, c = divmod(i, ncols)
            ax.text(c * (side + 2) + side / 2 + 1, r * (side + 2), str(lab), ha="center", va="bottom", fontsize=7)
    if title:
        ax.set_title(title)
    return fig


# --------------------------------------------------------------------------- distances (notebooks 01, 02)

def plot_shifted_densities(x, p0, p1, tau=None, ax=None, title="p and its shift p_τ"):
    """Figure 2, left: a density p and its shift p_τ on a grid."""
    fig, ax = new_axes(ax)
    ax.fill_between(_np(x), _np(p0), alpha=0.35, color="#444444", label="p")
    lab = "p_τ" if tau is None else f"p_τ (τ = {tau:.2f})"
    ax.fill_between(_np(x), _np(p1), alpha=0.35, color="#9467bd", label=lab)
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
    taus = _np(landscape["tau"])
    if keys is None:
        keys = [k for k in landscape if k == "JS" or (k[0] in "WC" and k[1:].replace(".", "").isdigit())]
    for i, k in enumerate(keys):
        y = _np(landscape[k])
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
    from ..distances import shape_density

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
    X, Y = _np(X), _np(Y)
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
    L, m, s = _np(result["L"]), _np(result["mean"]), _np(result["sd"])
    ax.plot(L, m, color=DISTANCE_COLORS["C2"], label="mean over seeds")
    ax.fill_between(L, m - s, m + s, color=DISTANCE_COLORS["C2"], alpha=0.25, label="± 1 sd")
    if reference is not None:
        ax.axhline(reference, color="k", ls="--", lw=1, label="quadrature (L → ∞)")
    ax.set_xscale("log")
    _label(ax, "number of slices L", "SC₂ estimate", title, legend=8)
    return fig


def plot_sd_scaling(L, sd, slope=None, ax=None, title="Spread of the estimate"):
    """Standard deviation over seeds against L on log–log axes, with the fitted slope and the 1/√L line."""
    fig, ax = new_axes(ax)
    L, sd = _np(L).astype(float), _np(sd)
    ax.loglog(L, sd, "o-", color=DISTANCE_COLORS["C2"], label="sd over seeds")
    ax.loglog(L, sd[0] * np.sqrt(L[0] / L), "k--", lw=1, label="∝ 1/√L")
    if slope is not None:
        ax.text(0.05, 0.08, f"fitted slope {slope:.2f}", transform=ax.transAxes)
    ax.xaxis.set_minor_formatter(plt.NullFormatter())  # the minor labels of a short log axis overlap
    _label(ax, "number of slices L", "sd of SC₂ estimate", title, legend=8)
    return fig


# --------------------------------------------------------------------------- importances (notebook 05)

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
        v = np.concatenate([_np(t).ravel() for t in imp.values()]) * lams.get(method, 1.0)
        v = v[v > 0]
        if v.size == 0:
            continue
        ax.hist(np.log10(v), bins=bins, histtype="stepfilled", alpha=0.35, density=True,
                color=METHOD_COLORS.get(method), label=f"{METHOD_LABELS.get(method, method)}, λ={lams.get(method, 1.0):g}")
        ax.hist(np.log10(v), bins=bins, histtype="step", density=True, color=METHOD_COLORS.get(method))
    _label(ax, "log₁₀(λ × importance)", "density of parameters", title, legend=8)
    return fig


def plot_gamma_convergence(result, ax=None, title="Γ_L → Γ_∞ (eq 19)"):
    """Relative error of the Monte-Carlo Γ against L on log–log axes, with the 1/√L guide."""
    fig, ax = new_axes(ax)
    L, err = _np(result["L"]).astype(float), _np(result["errors"])
    ax.loglog(L, err.T, color=METHOD_COLORS["scp"], alpha=0.15)
    ax.loglog(L, err.mean(0), "o-", color=METHOD_COLORS["scp"], label="mean over slice draws")
    ax.loglog(L, err.mean(0)[0] * np.sqrt(L[0] / L), "k--", lw=1, label="∝ 1/√L")
    _label(ax, "number of slices L", "‖Γ_L − Γ_∞‖ / ‖Γ_∞‖", title, legend=8)
    return fig


def plot_spectra(matrices, ax=None, title="Eigen-spectra of the full importance matrices"):
    """Sorted eigenvalues (log scale) of full PSD matrices, e.g. ``{"ewc": F, "mas": Ω, "scp": Γ}``."""
    fig, ax = new_axes(ax)
    for method, M in matrices.items():
        ev = np.sort(np.clip(np.linalg.eigvalsh(_np(M).astype(np.float64)), 0, None))[::-1]
        ev = ev / ev[0] if ev[0] > 0 else ev
        ax.semilogy(np.arange(1, len(ev) + 1), np.maximum(ev, 1e-18), color=METHOD_COLORS.get(method),
                    label=METHOD_LABELS.get(method, method))
    ax.set_ylim(1e-17, 2)
    _label(ax, "eigenvalue index", "eigenvalue / largest", title, legend=8)
    return fig


def plot_merge_weights(weights, ax=None, title="Weight each past task carries"):
    """Grouped bars: weight of task t (oldest first) in the accumulated importance, per merge rule."""
    fig, ax = new_axes(ax, figsize=(7, 3.6))
    rules = list(weights)
    T = len(next(iter(weights.values())))
    width = 0.8 / len(rules)
    for i, r in enumerate(rules):
        w = _np(weights[r])
        ax.bar(np.arange(1, T + 1) + (i - (len(rules) - 1) / 2) * width, w / w.sum(), width=width, label=r)
    _label(ax, "task t (1 = oldest)", "share of the total weight", title, legend=7)
    return fig


# --------------------------------------------------------------------------- continual runs (notebook 06)

# Final average accuracy after 10 permuted-MNIST tasks, the mean over the authors' ten public result files
# (lihr04/corel2m perm_mnist_10Run/experiment_*.pkl): what Figure 3a draws; the paper's text prints no number.
# The paper says its λ were cross-validated, but the public grid search (grid_search.py, commit 27836b9) scores λ on
# the test loaders and has no validation split; and their importances are scaled differently (notebook 05), so these
# are reference marks only.
PAPER_FIG3A = {"none": 0.4884, "ewc": 0.8731, "mas": 0.8676, "scp": 0.9055}


def budget_label(config: dict, n_tasks: int | None = None) -> str:
    """The budget of a run in a few words, for titles: ``"10 tasks × 2 epochs × 6,000 images"``.

    Examples
    --------
    >>> budget_label({"n_tasks": 10, "epochs": 2, "n_train": 6000})
    '10 tasks × 2 epochs × 6,000 images'
    >>> budget_label({"order": [2, 7, 4], "epochs": 50, "n_train": None})
    '3 tasks × 50 epochs × all images'
    >>> budget_label({"n_tasks": 2, "epochs": 15, "n_train": 60, "n_frames": 100})   # video: frames, not images
    '2 tasks × 15 epochs × 60 frames'
    """
    n = n_tasks or config.get("n_tasks") or len(config.get("order") or []) or None
    n_train = config.get("n_train")
    epochs = config.get("epochs")
    unit = "frames" if "n_frames" in config else "images"   # a sequence's samples are the frames of a video
    parts = [f"{n} task{'s' if n != 1 else ''}" if n else None,
             f"{epochs} epoch{'s' if epochs != 1 else ''}" if epochs else None,
             f"all {unit}" if n_train is None else f"{n_train:,} {unit}"]
    return " × ".join(p for p in parts if p)


def _metric_ylim(metric):
    """A fixed axis for bounded metrics, so that pictures compare at a glance (accuracy: 0–100 %)."""
    return (0.0, 101.0) if metric is not None and metric.unit == "%" else None


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
    limits = _metric_ylim(metric) if ylim == "auto" else ylim
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
    _label(a1, "λ (0 = no consolidation)", f"{split} {hist.metric.label}",
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
    _label(ax, "task (in training order)", f"{what}\nsince it was learned", title
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
    _label(ax, "", m.label, title or f"forgetting vs learning ({len(rows[0]['seeds'])} seeds; {m.direction})",
           legend=7)
    return fig


def _rows_metric(rows):
    """The Metric that summary rows carry (None for rows made without one)."""
    if not rows or "metric_name" not in rows[0]:
        return None
    return metric_named(rows[0]["metric_name"], rows[0]["higher_is_better"], rows[0].get("metric_unit"))


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
    metric = _rows_metric(rows)
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
    limits = _metric_ylim(metric) if ylim == "auto" else ylim
    if limits is not None:
        ax.set_ylim(*limits)
    if rows and "config" in rows[0]:
        title = f"{title}\n{budget_label(rows[0]['config'], T)}"
    _label(ax, "number of tasks learned", ylabel, title if dataset is None else f"{dataset}: {title}", legend=7)
    ax.title.set_fontsize(10)
    return fig


# --------------------------------------------------------------------------- Taylor checks (notebook 03)

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
    _label(a0, "ε", "value", f"{label} along a unit direction")
    a1.semilogx(eps, values / quadratic, "o-")
    a1.axhline(expect_ratio, color="k", lw=0.8, ls="--")
    _label(a1, "ε", "ratio", f"{label} / quadratic form → {expect_ratio:g}", legend=0)
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
    _label(ax, "vᵀ M v / vᵀ diag(M) v", "directions", title)
    return fig


# --------------------------------------------------------------------------- geometry (notebook 04)

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
    P, Q = _np(phi_star), _np(phi)
    for p_, q_ in zip(P[:80], Q[:80]):
        a0.plot([p_[0], q_[0]], [p_[1], q_[1]], color="#bbbbbb", lw=0.6, zorder=0)
    colour = dict(c=labels, cmap="coolwarm") if labels is not None else dict(color="#1f77b4")
    a0.scatter(P[:, 0], P[:, 1], s=10, label="φ(x; θ*)", **colour)
    a0.scatter(Q[:, 0], Q[:, 1], s=10, marker="x", color="k", alpha=0.6, label="moved outputs")
    a0.set_aspect("equal", adjustable="datalim")
    _label(a0, "output 1", "output 2", "task A's outputs, before and after"
           + (f"\ntask A accuracy with the moved outputs: {100 * accuracy:.1f} %" if accuracy is not None else ""))
    names = list(values)
    vals = [values[k] for k in names]
    a1.bar(range(len(names)), vals, color=[REGULARIZER_COLORS.get(k, "C0") for k in names])
    a1.set_xticks(range(len(names)), [n.replace(" (", "\n(") for n in names], fontsize=8)
    for i, v in enumerate(vals):
        a1.text(i, v, f"{v:.2e}", ha="center", va="bottom", fontsize=8)
    a1.set_yscale("symlog", linthresh=1e-3)   # values span many decades and include exact zeros
    _label(a1, "", "replay regularizer value (symlog)", "what each method would penalise", legend=0)
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
    _label(ax, "a (task-B descent direction)", "b (random orthogonal direction)", title, legend=7)
    return fig


# --------------------------------------------------------------------------- auto-encoders (notebook 07)

def plot_reconstruction_grid(histories, stage=None, ax=None, title="Reconstructions after each task (Figure 4a)"):
    """Figure 4a: for each run (a column block per method), the reconstruction of one test image of every
    digit (columns) after each stage of training (rows); the first block is the inputs ("ideal").

    Parameters
    ----------
    histories : dict
        ``{label: History}`` of runs made with ``snapshots=True`` (same digit order).
    stage : int, optional
        Show only the rows up to this stage (0-based), for scrubbing.
    """
    labels = list(histories)
    first = histories[labels[0]]
    inputs = np.asarray(first.extras["inputs"], dtype=float) / 255.0
    T, side = len(inputs), int(round(np.sqrt(inputs.shape[1])))
    last = T - 1 if stage is None else int(stage)
    blocks = [("ideal", np.repeat(inputs[None], last + 1, axis=0))]
    for lab in labels:
        snaps = np.asarray(histories[lab].extras["snapshots"], dtype=float) / 255.0
        blocks.append((lab, snaps[:last + 1]))
    gap = 4
    H = (last + 1) * (side + 1)
    Wd = sum(T * (side + 1) + gap for _ in blocks) - gap
    canvas = np.ones((H, Wd))
    x0 = 0
    fig, ax = new_axes(ax, figsize=(min(16, 0.45 * T * len(blocks) + 1), 0.5 * (last + 1) + 1.2))
    for lab, arr in blocks:
        for r in range(last + 1):
            for c in range(T):
                canvas[r * (side + 1):r * (side + 1) + side, x0 + c * (side + 1):x0 + c * (side + 1) + side] = \
                    arr[r, c].reshape(side, side)
        ax.text(x0 + T * (side + 1) / 2, -2, lab, ha="center", va="bottom", fontsize=9)
        x0 += T * (side + 1) + gap
    ax.imshow(canvas, cmap="gray_r", vmin=0, vmax=1)
    ax.set_xticks([])
    ax.set_yticks([(r + 0.5) * (side + 1) for r in range(last + 1)], [f"after T{r + 1}" for r in range(last + 1)],
                  fontsize=7)
    ax.set_title(f"{first.dataset}: {title}", pad=14)
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
    _label(ax, "", "share", f"{title}\n(total: {100 * summary['blind_drift_share']:.0f}% of the drift on "
           f"{100 * summary['blind_fraction']:.0f}% of the parameters)", legend=7)
    return fig


def plot_lambda_sweep(rows, ax=None, ylabel=None, title="Final metric against λ", dataset=None):
    """Final metric (mean ± sd over seeds) against λ, one line per method, no consolidation as a horizontal band.

    Parameters
    ----------
    rows : list of dict
        From :func:`scpviz.sweeps.summarize` over a λ grid (``method``, ``lam``, ``mean``, ``sd``).
    """
    metric = _rows_metric(rows)
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
    for method in ("ewc", "mas", "scp"):
        rs = sorted((r for r in rows if r["method"] == method), key=lambda r: r["lam"])
        if rs:
            lam = np.array([r["lam"] for r in rs])
            m, sd = np.array([r["mean"] for r in rs]), np.array([r["sd"] for r in rs])
            ax.semilogx(lam, m, "o-", color=METHOD_COLORS[method], label=METHOD_LABELS.get(method, method))
            ax.fill_between(lam, m - sd, m + sd, color=METHOD_COLORS[method], alpha=0.15)
    _label(ax, "λ", ylabel, f"{dataset}: {title}" if dataset else title)
    return fig


def plot_study_overview(rows, chosen, ax=None, title=None, dataset="MNIST"):
    """Per variant, the final mean ℓ1 of no consolidation and of MAS and SCP at their validation-chosen λ
    (mean ± sd over digit orders; lower is better): does any variant make consolidation beat none?

    Parameters
    ----------
    rows, chosen : list of dict
        :func:`scpviz.sweeps.figure4_study.study_rows` and its :func:`~scpviz.sweeps.figure4_study.chosen_rows`.
    """
    fig, ax = new_axes(ax, figsize=(9, 3.6))
    variants = list(dict.fromkeys(r["variant"] for r in rows))
    methods = [m for m in ("none", "mas", "scp") if any(r["method"] == m for r in chosen)]
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
    _label(ax, "", "final mean ℓ1 over the digits (lower is better)",
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
    _label(ax, f"λ ({METHOD_LABELS.get(method, method)})", "ℓ1 error (lower is better)",
           f"{dataset}, variant {variant}: {METHOD_LABELS.get(method, method)} vs λ (dashed: none)", legend=7)
    return fig


# --------------------------------------------------------------------------- MNIST → SVHN (notebook 08)
def _method_of(label: str) -> str:
    """The method a curve label names: ``"scp"``, ``"SCP λ=1000"`` → ``"scp"``; ``"no consolidation"`` → ``"none"``."""
    for m, text in METHOD_LABELS.items():
        if label == text:
            return m
    word = str(label).split()[0].strip(",").lower() if str(label).split() else ""
    return word if word in METHOD_COLORS else str(label)


def _curve_label(label: str, method: str) -> str:
    """``"scp, λ=1000"`` → ``"SCP (Γ), λ=1000"``; labels that are not a method's name stay as they are."""
    if method in METHOD_LABELS and str(label).lower().startswith(method):
        return METHOD_LABELS[method] + str(label)[len(method):]
    return METHOD_LABELS.get(label, str(label))


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
            method = _method_of(label)
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
                    label=f"{_curve_label(label, method)} ({len(hs)} run{'s' * (len(hs) > 1)})")
            if sd is not None:
                ax.fill_between(x, m - sd, m + sd, color=METHOD_COLORS.get(method), alpha=0.2, lw=0)
        ax.set_title(names[k], fontsize=10)
        ax.set_xlabel("training time (epochs)")
        limits = _metric_ylim(metric)
        if limits is not None:
            ax.set_ylim(*limits)
    axes[0].set_ylabel(f"{split} {metric.label}")
    axes[2].legend(fontsize=7, loc="lower left")
    dataset = dataset or first.dataset
    fig.suptitle(title or f"{dataset}: {budget_label(first.config, len(first.task_names))} ({figure}; shaded: "
                 "task 1 trained in blue, task 2 in red)", fontsize=10)
    return fig


# --------------------------------------------------------------------------- CIFAR-100 super-classes (notebook 09)

def _rgb(x):
    """(N, 3, H, W) in [−1, 1] or [0, 1] → (N, H, W, 3) in [0, 1] for imshow."""
    x = _np(x).astype(float)
    if x.min() < 0:
        x = (x + 1) / 2
    return np.clip(np.transpose(x, (0, 2, 3, 1)), 0, 1)


def show_task_split(tasks, class_names=None, n_classes=None, ax=None, title=None):
    """Figure 9a's view of the §8.5 split: one row per task, one column per super-class, showing the first training
    image of that super-class in that task (so a column shows how one super-class's sub-population changes from task
    to task).

    Parameters
    ----------
    tasks : list of Task
        RGB images (N, 3, H, W) with super-class labels (:func:`scpviz.datasets.superclass_tasks`).
    class_names : list of str, optional
        Super-class names for the column heads (default the label ids).
    n_classes : int, optional
        Columns (default: the labels of the first task).
    """
    if not tasks:
        raise ValueError("tasks is empty: give the tasks of superclass_tasks().")
    if tasks[0].x_train.ndim != 4 or tasks[0].x_train.shape[1] != 3:
        raise ValueError(f"show_task_split needs RGB images (N, 3, H, W), got {tuple(tasks[0].x_train.shape)}.")
    K = n_classes or int(tasks[0].y_train.max()) + 1
    side = tasks[0].x_train.shape[-1]
    canvas = np.ones((len(tasks) * (side + 2), K * (side + 2), 3))
    for i, t in enumerate(tasks):
        y = _np(t.y_train)
        for c in range(K):
            hits = np.flatnonzero(y == c)
            if len(hits):
                img = _rgb(t.x_train[int(hits[0]):int(hits[0]) + 1])[0]
                canvas[i * (side + 2) + 1:i * (side + 2) + 1 + side, c * (side + 2) + 1:c * (side + 2) + 1 + side] = img
    fig, ax = new_axes(ax, figsize=(0.62 * K + 1.2, 0.7 * len(tasks) + 1.2))
    ax.imshow(canvas)
    ax.set_yticks([(i + 0.5) * (side + 2) for i in range(len(tasks))], [t.name for t in tasks])
    names = class_names or [str(c) for c in range(K)]
    ax.set_xticks([(c + 0.5) * (side + 2) for c in range(K)], names[:K], rotation=60, ha="right", fontsize=7)
    ax.set_title(title or f"{tasks[0].dataset}: one image per super-class (columns) and task (rows)")
    return fig


def show_rgb_images(images, labels=None, ncols=10, title=None, ax=None):
    """A grid of RGB images (N, 3, H, W) in [0, 1] or [−1, 1] on one axes (e.g. augmented batches, Figure 9a)."""
    if _np(images).ndim != 4 or _np(images).shape[1] != 3:
        raise ValueError(f"images must be RGB (N, 3, H, W), got shape {tuple(_np(images).shape)}.")
    if len(images) == 0:
        raise ValueError("images is empty: pass at least one image.")
    return _image_grid(_rgb(images), labels, ncols, title, ax, {}, (0.7, 0.8))


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


# --------------------------------------------------------------------------- SYNTHIA segmentation (notebook 10)

# SYNTHIA's own colour code for its classes 0–12 (void black, sky grey, road purple, ...)
SEGMENTATION_COLORS = np.array([(0, 0, 0), (128, 128, 128), (128, 0, 0), (128, 64, 128), (0, 0, 192), (64, 64, 128),
                                (128, 128, 0), (192, 192, 128), (64, 0, 128), (192, 128, 128), (64, 64, 0),
                                (0, 128, 192), (0, 172, 0)]) / 255.0


def color_labels(labels):
    """Class maps (…, H, W) of ids 0–12 → RGB (…, H, W, 3) in SYNTHIA's colour code (:data:`SEGMENTATION_COLORS`)."""
    lab = _np(labels).astype(int)
    if lab.size and (lab.min() < 0 or lab.max() >= len(SEGMENTATION_COLORS)):
        raise ValueError(f"labels hold ids {lab.min()}..{lab.max()}: SYNTHIA's classes are 0..12.")
    return SEGMENTATION_COLORS[lab]


def plot_segmentation_frames(runs, axes=None, class_names=None, title=None):
    """Figure 5: one test frame per row — summer after summer, winter after winter, summer after winter — and per
    column the input, the ground truth and each run's predicted class map (the frames a run recorded in
    ``extras["frames"]``, :meth:`scpviz.experiments.synthia_segmentation.SynthiaSegmentation.recorder`).

    Parameters
    ----------
    runs : dict
        ``{label: History}`` (e.g. one seed of none / EWC / MAS / SCP at their chosen λ); all recorded the same frames.
    axes : array of Axes, shape (3, 2 + len(runs)), optional
    class_names : sequence of str, optional
        For the legend (default SYNTHIA's 13).

    Returns
    -------
    matplotlib.figure.Figure

    Notes
    -----
    Pixels are drawn as pixels (``interpolation="nearest"``): resampling would blend the colours of neighbouring
    classes into colours of none, and makes the PNG four times larger.
    """
    if not runs:
        raise ValueError("runs is empty: give {label: History} with recorded frames.")
    missing = [k for k, h in runs.items() if "frames" not in h.extras]
    if missing:
        raise ValueError(f"runs {missing} recorded no frames (extras['frames']): run them with the synthia_segmentation "
                         "experiment, which records them.")
    first = next(iter(runs.values()))
    fr = first.extras["frames"]
    inputs, labels = np.asarray(fr["inputs"]), np.asarray(fr["labels"])
    names = first.task_names
    rows = [(0, 0, f"{names[0]}\nafter {names[0]}"), (1, 1, f"{names[1]}\nafter {names[1]}"),
            (1, 0, f"{names[0]}\nafter {names[1]}")]
    cols = 2 + len(runs)
    if axes is None:
        h, w = labels.shape[-2:]
        fig, axes = plt.subplots(3, cols, figsize=(1.9 * cols * w / h * 0.75 + 0.5, 5.2), layout="constrained")
    else:
        fig = np.asarray(axes).flat[0].figure
    axes = np.asarray(axes).reshape(3, cols)
    for r, (stage, task, text) in enumerate(rows):
        axes[r, 0].imshow(np.transpose(inputs[task], (1, 2, 0)), interpolation="nearest")
        axes[r, 1].imshow(color_labels(labels[task]), interpolation="nearest")
        for c, (label, hist) in enumerate(runs.items()):
            pred = np.asarray(hist.extras["frames"]["predictions"])
            axes[r, 2 + c].imshow(color_labels(pred[stage, task]), interpolation="nearest")
            if r == 0:
                axes[r, 2 + c].set_title(_curve_label(label, _method_of(label)), fontsize=9)
        axes[r, 0].set_ylabel(text, fontsize=9)
    axes[0, 0].set_title("input", fontsize=9)
    axes[0, 1].set_title("ground truth", fontsize=9)
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
    from matplotlib.patches import Patch

    from ..datasets import SYNTHIA_CLASSES

    cn = class_names or SYNTHIA_CLASSES
    fig.legend(handles=[Patch(color=SEGMENTATION_COLORS[k], label=n) for k, n in enumerate(cn)],
               loc="outside lower center", ncol=7, fontsize=7, frameon=False)
    fig.suptitle(title or f"{first.dataset}: test frame {fr['index']} of each task (Figure 5)", fontsize=10)
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
    m = results[0][1].metric
    fig, ax = new_axes(ax, figsize=(6, 4.2))
    for method in ("none", "ewc", "mas", "scp"):
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
    _label(ax, f"forgetting: {names[0]} {m.name} lost while learning {names[1]} (points)",
           f"{names[1]} {split} {m.label} (lower = more intransigent)",
           title or f"{results[0][1].dataset}\nintransigence vs forgetting over λ (mean over seeds)")
    return fig


def show_season_frames(tasks, n=4, ax=None, title=None):
    """Training frames of each segmentation task and their class maps (SYNTHIA's colour code): for every task a row of
    ``n`` frames spread over its training sequence and, below it, their ground truth.

    Parameters
    ----------
    tasks : list of Task
        Frames (N, 3, H, W) in [−1, 1] and class maps (N, H, W) (:func:`scpviz.datasets.sequence_tasks`).
    """
    if not tasks or tasks[0].y_train.ndim != 3:
        raise ValueError("tasks must be segmentation tasks (frames and class maps), e.g. from sequence_tasks().")
    h, w = tasks[0].y_train.shape[-2:]
    rows = []
    for t in tasks:
        idx = np.linspace(0, len(t.x_train) - 1, n).round().astype(int)
        imgs, labs = _rgb(t.x_train[idx]), color_labels(t.y_train[idx])
        pad = np.ones((h, 2, 3))
        rows.append(np.concatenate([np.concatenate([im, pad], 1) for im in imgs], 1))
        rows.append(np.concatenate([np.concatenate([lb, pad], 1) for lb in labs], 1))
    gap = np.ones((2, rows[0].shape[1], 3))
    canvas = np.concatenate([np.concatenate([r, gap], 0) for r in rows], 0)
    fig, ax = new_axes(ax, figsize=(2.1 * n * w / h * 0.7 + 1.2, 1.25 * len(rows) + 0.8))
    ax.imshow(canvas, interpolation="nearest")
    ax.set_yticks([(k + 0.5) * (h + 2) for k in range(len(rows))],
                  [f"{t.name}{' labels' if k % 2 else ''}" for t in tasks for k in range(2)])
    ax.set_xticks([])
    ax.set_title(title or f"{tasks[0].dataset}: training frames and their class maps", fontsize=10)
    return fig
