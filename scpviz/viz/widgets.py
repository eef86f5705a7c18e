"""Interactive views. Each factory returns an ``ipywidgets`` box for the notebook to display.

Pattern (see ``shared/STYLE.md``): sliders ``observe(..., names="value")`` and
redraw into an ``Output`` with ``clear_output(wait=True)``; anything that trains
uses ``continuous_update=False``. Each returned box exposes its controls and the
last figure as attributes (``box.slider``, ``box.figure``) so tests can drive it
by setting ``slider.value``.

Every explorer also carries stable CSS classes (:func:`_tag`) so that the browser tests
(``tests/browser``) find its parts without depending on layout: ``scpviz-explorer`` and
``scpviz-<name>`` on the box, ``scpviz-main-slider`` on the control a learner drags first,
``scpviz-figure`` on the figure's ``Output``, ``scpviz-readout`` on a text readout that the main
slider changes, ``scpviz-toggle`` on toggle buttons that switch what is shown.
"""

from __future__ import annotations

import ipywidgets as W
import matplotlib.pyplot as plt
from IPython.display import display

import numpy as np

from .. import distances, importance
from ..teaching import toy
from . import plots

__all__ = ["stability_plasticity_explorer", "digit_browser", "landscape_explorer", "slicing_explorer", "convergence_explorer",
           "importance_explorer", "permuted_mnist_explorer", "output_transform_explorer",
           "riemannian_explorer", "autoencoder_explorer", "study_explorer", "domain_shift_explorer",
           "superclass_explorer", "segmentation_explorer"]


def _redraw(box, out, draw):
    """Run ``draw()`` (which returns a Figure) into ``out`` and remember the figure on ``box``."""
    with out:
        out.clear_output(wait=True)
        fig = draw()
        box.figure = fig
        box.n_draws = getattr(box, "n_draws", 0) + 1
        display(fig)
        plt.close(fig)


def _tag(box, name, main, out, readout=None, toggles=()):
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


def _follow_grid(box, out, lam_s, others, grid, draw, initial=None):
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
            _redraw(box, out, draw)

    sync(first=True)
    for w in (lam_s, *others):
        w.observe(changed, names="value")
    _redraw(box, out, draw)


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
    _tag(box, "stability-plasticity-explorer", lam_s, out, readout=readout, toggles=[pen_t])

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
        w.observe(lambda change: _redraw(box, out, draw), names="value")
    _redraw(box, out, draw)
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

    _tag(box, "digit-browser", slider, out)
    def draw():
        i = slider.value
        return plots.show_images(dataset.x_train[i:i + n], labels=dataset.y_train[i:i + n],
                                 title=f"{dataset.name}: training images {i}–{i + n - 1}")

    slider.observe(lambda change: _redraw(box, out, draw), names="value")
    _redraw(box, out, draw)
    return box


def landscape_explorer(taus=None, width=1.0, shape="box", p=2.0, tau=0.5):
    """Figure 2, interactive (notebook 01): τ moves the shifted density and a marker on each curve;
    ``p`` (1–4) and the shape redraw the landscape.

    Returns
    -------
    ipywidgets.VBox
        Attributes ``tau``, ``p``, ``shape`` (the controls), ``landscape`` (the
        current :func:`scpviz.distances.shift_landscape` result) and ``figure``.
    """
    taus = np.linspace(-2.5 * width, 2.5 * width, 201) if taus is None else np.asarray(taus, dtype=float)
    tau_s = W.FloatSlider(value=tau, min=float(taus.min()), max=float(taus.max()), step=float(taus[1] - taus[0]),
                          description="shift τ", continuous_update=True, readout_format=".2f")
    p_s = W.FloatSlider(value=p, min=1.0, max=4.0, step=0.5, description="order p", continuous_update=False)
    shape_d = W.Dropdown(options=list(distances.SHAPES), value=shape, description="shape")
    out = W.Output()
    box = W.VBox([W.HBox([tau_s, p_s, shape_d]), out])
    box.tau, box.p, box.shape = tau_s, p_s, shape_d

    _tag(box, "landscape-explorer", tau_s, out)
    def recompute():
        ps = sorted({1.0, 2.0, float(p_s.value)})
        box.landscape = distances.shift_landscape(taus, shape=shape_d.value, width=width, ps=ps,
                                                  grid=np.linspace(taus.min() - width, taus.max() + 2 * width, 4001))

    def draw():
        return plots.plot_figure2(box.landscape, tau_s.value)

    def on_param(change):
        recompute()
        _redraw(box, out, draw)

    tau_s.observe(lambda change: _redraw(box, out, draw), names="value")
    p_s.observe(on_param, names="value")
    shape_d.observe(on_param, names="value")
    recompute()
    _redraw(box, out, draw)
    return box


def slicing_explorer(X=None, n_points=500, seed=0, n_slices=200):
    """The Radon transform of two 2-D clouds (notebook 02).

    Sliders: slice angle; rotation and shift of the second cloud (a copy of the
    first). Shows the clouds with ξ, the two marginals, their CDFs, and the
    sliced Cramér distance SC₂ (``n_slices`` random slices, fixed seed).

    Returns
    -------
    ipywidgets.VBox
        Attributes ``angle``, ``rotation``, ``shift`` (sliders), ``value`` (current SC₂),
        ``figure``.
    """
    X = toy.gaussian_mixture_2d(n_points, seed=seed) if X is None else np.asarray(X, dtype=float)
    slices = distances.random_slices(n_slices, 2, seed=seed)
    angle = W.FloatSlider(value=30.0, min=0.0, max=180.0, step=5.0, description="slice angle °")
    rot = W.FloatSlider(value=0.0, min=-180.0, max=180.0, step=5.0, description="rotate Y °")
    shift = W.FloatSlider(value=0.5, min=0.0, max=3.0, step=0.1, description="shift Y")
    label = W.HTML()
    out = W.Output()
    box = W.VBox([W.HBox([angle, rot, shift]), label, out])
    box.angle, box.rotation, box.shift = angle, rot, shift

    _tag(box, "slicing-explorer", rot, out, readout=label)
    def draw():
        Y = toy.transform_2d(X, angle=np.radians(rot.value), shift=(shift.value, 0.0))
        box.value = float(distances.sliced_cramer(X, Y, slices=slices.numpy()))
        label.value = f"<b>SC₂(X, Y) = {box.value:.4f}</b> ({n_slices} random slices)"
        return plots.plot_cloud_slice(X, Y, np.radians(angle.value))

    for w in (angle, rot, shift):
        w.observe(lambda change: _redraw(box, out, draw), names="value")
    _redraw(box, out, draw)
    return box


def convergence_explorer(X, Y, max_slices=1000, n_seeds=20, seed=0, reference=None):
    """How the Monte-Carlo estimate of SC₂ settles as L grows (notebook 02).

    An L slider picks the number of slices; the left panel shows the estimate's
    mean ± sd over seeds against L with a marker at the chosen L, the right one
    the histogram of the ``n_seeds`` estimates at that L.

    Returns
    -------
    ipywidgets.VBox
        Attributes ``n_slices`` (slider), ``result`` (from
        :func:`scpviz.distances.sliced_cramer_estimates`), ``figure``.
    """
    Ls = np.unique(np.round(np.logspace(0, np.log10(max_slices), 31)).astype(int))
    result = distances.sliced_cramer_estimates(X, Y, Ls, n_seeds=n_seeds, seed=seed, progress=True)
    slider = W.SelectionSlider(options=[int(v) for v in Ls], value=int(Ls[len(Ls) // 2]),
                               description="slices L", continuous_update=True)
    out = W.Output()
    box = W.VBox([slider, out])
    box.n_slices, box.result = slider, result

    _tag(box, "convergence-explorer", slider, out)
    def draw():
        import matplotlib.pyplot as plt

        fig, (a0, a1) = plt.subplots(1, 2, figsize=(10, 3.5), layout="constrained")
        plots.plot_sliced_convergence(result, reference=reference, ax=a0)
        j = int(np.searchsorted(Ls, slider.value))
        a0.axvline(slider.value, color="k", lw=0.8)
        a1.hist(result["estimates"][:, j], bins=10, color=plots.DISTANCE_COLORS["C2"], alpha=0.7)
        if reference is not None:
            a1.axvline(reference, color="k", ls="--", lw=1)
        a1.set_xlabel("SC₂ estimate")
        a1.set_ylabel("seeds")
        a1.set_title(f"{n_seeds} estimates with L = {slider.value}")
        return fig

    slider.observe(lambda change: _redraw(box, out, draw), names="value")
    _redraw(box, out, draw)
    return box


def importance_explorer(model, data, layers=None, n_slices_options=(1, 3, 10, 30, 100, 300, 1000), n_seeds=5,
                        seed=0, title=""):
    """SCP's Γ with L slices at a chosen layer (notebook 05).

    The L slider and the layer selector redraw: left, the histogram of
    log₁₀ Γ_L against the exact Γ_∞; right, the relative error ‖Γ_L − Γ_∞‖/‖Γ_∞‖
    against L with a marker at the chosen L. J̄ is computed once per layer
    (:func:`scpviz.importance.mean_jacobian`), so moving L costs no backward pass.

    Parameters
    ----------
    layers : dict, optional
        ``{label: submodule or None}``; None is the model output (default ``{"output": None}``).

    Returns
    -------
    ipywidgets.VBox
        Attributes ``n_slices``, ``layer`` (controls), ``gamma`` (Γ_L shown), ``exact``, ``figure``.
    """
    import matplotlib.pyplot as plt

    layers = layers or {"output": None}
    cache = {}
    L_s = W.SelectionSlider(options=list(n_slices_options), value=100 if 100 in n_slices_options
                            else n_slices_options[0], description="slices L", continuous_update=False)
    layer_d = W.Dropdown(options=list(layers), value=list(layers)[0], description="layer")
    out = W.Output()
    box = W.VBox([W.HBox([L_s, layer_d]), out])
    box.n_slices, box.layer = L_s, layer_d

    _tag(box, "importance-explorer", L_s, out)
    def state():
        key = layer_d.value
        if key not in cache:
            jac = importance.mean_jacobian(model, data, layer=layers[key])
            conv = importance.scp_convergence(jac, n_slices_options, n_seeds=n_seeds, seed=seed)
            cache[key] = (jac, importance.gamma_from_jacobian(jac, exact=True), conv)
        return cache[key]

    def draw():
        jac, exact, conv = state()
        K = next(iter(jac.values())).shape[0]
        box.gamma = importance.gamma_from_jacobian(jac, distances.random_slices(L_s.value, K, seed=seed))
        box.exact = exact
        fig, (a0, a1) = plt.subplots(1, 2, figsize=(10, 3.5), layout="constrained")
        for label, g, style in ((f"Γ with L = {L_s.value}", box.gamma, "stepfilled"), ("Γ exact (L → ∞)", exact, "step")):
            v = importance.flatten_importance(g).detach().cpu().numpy()
            v = v[v > 0]
            a0.hist(np.log10(v), bins=60, density=True, histtype=style, alpha=0.5 if style == "stepfilled" else 1,
                    color=plots.METHOD_COLORS["scp"] if style == "stepfilled" else "k", label=label)
        a0.set_xlabel("log₁₀ Γ_ii")
        a0.set_ylabel("density of parameters")
        a0.set_title(f"{title} layer '{layer_d.value}' (K = {K})".strip())
        a0.legend(fontsize=8)
        plots.plot_gamma_convergence(conv, ax=a1)
        a1.axvline(L_s.value, color="k", lw=0.8)
        return fig

    L_s.observe(lambda change: _redraw(box, out, draw), names="value")
    layer_d.observe(lambda change: _redraw(box, out, draw), names="value")
    _redraw(box, out, draw)
    return box


def permuted_mnist_explorer(results=None, live_config=None, mode=None, device=None, live_budget="quick"):
    """Drag λ and L, watch forgetting (notebook 06); the average-accuracy panel shows no consolidation next to
    the chosen method.

    Controls: method, λ (log slider), L (SCP), α (eq 20), and the mode:
    ``"precomputed"`` looks the run up in ``results`` (a grid from
    ``python -m scpviz sweep``; the nearest λ of the grid, first seed for the
    forgetting curves, all seeds for the average-accuracy curve); ``"live"``
    trains the experiment's ``live_budget`` (quick) with its :attr:`~scpviz.experiments.base.Experiment.live`
    overrides (a few seconds on a 2-core CPU) and then ``live_config``, at the chosen values when a slider is
    released, with a progress bar.

    Returns
    -------
    ipywidgets.VBox
        Attributes ``method``, ``lam``, ``n_slices``, ``alpha``, ``mode`` (controls),
        ``history`` (the run shown), ``runs`` (matching runs), ``figure``.
    """
    from ..experiments import get
    from ..sweeps import summarize

    exp = get("permuted_mnist")
    results = list(results or [])
    live_cfg = dict(live_config or {})
    modes = (["precomputed"] if results else []) + ["live"]
    mode_t = W.ToggleButtons(options=modes, value=mode or modes[0], description="mode")
    method_d = W.Dropdown(options=["none", "ewc", "mas", "scp"], value="scp", description="method")
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

    _tag(box, "permuted-mnist-explorer", lam_s, out, readout=status, toggles=[mode_t])
    def lookup():
        cands = [(c, h) for c, h in results if c["method"] == method_d.value]
        if method_d.value == "scp":
            cands = [(c, h) for c, h in cands if c["n_slices"] == L_s.value] or cands
        cands = [(c, h) for c, h in cands if abs(c["alpha"] - alpha_s.value) < 1e-9] or cands
        if not cands:
            return []
        if method_d.value != "none":
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
        if method_d.value == "none":
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
        w.observe(lambda change: _redraw(box, out, draw), names="value")
    _redraw(box, out, draw)
    return box


def output_transform_explorer(phi_star, labels=None):
    """Move task A's 2-D outputs and read off each replay regularizer (notebook 04, Figure 1).

    Sliders: rotation about the origin, fraction of samples permuted (with ``labels``: a checkbox keeps the
    permutation within each class), collapse towards the mean, translation, scaling. With ``labels`` the
    readout also gives task A's accuracy with the moved outputs.

    Returns
    -------
    ipywidgets.VBox
        Attributes ``rotation``, ``permute``, ``within_class``, ``collapse``, ``shift_x``, ``shift_y``, ``scale``,
        ``values`` (dict), ``accuracy`` (None without labels), ``figure``.
    """
    rot = W.FloatSlider(value=0.0, min=-180, max=180, step=5, description="rotate °")
    perm = W.FloatSlider(value=0.0, min=0.0, max=1.0, step=0.05, description="permute")
    within = W.Checkbox(value=False, description="only within a class", disabled=labels is None)
    coll = W.FloatSlider(value=0.0, min=0.0, max=1.0, step=0.05, description="to the mean")
    tx = W.FloatSlider(value=0.0, min=-2, max=2, step=0.1, description="shift x")
    ty = W.FloatSlider(value=0.0, min=-2, max=2, step=0.1, description="shift y")
    sc = W.FloatSlider(value=1.0, min=0.25, max=2.0, step=0.05, description="scale")
    readout = W.HTML()
    out = W.Output()
    box = W.VBox([W.HBox([rot, perm, within]), W.HBox([coll, sc]), W.HBox([tx, ty]), readout, out])
    box.rotation, box.permute, box.within_class, box.collapse = rot, perm, within, coll
    box.shift_x, box.shift_y, box.scale = tx, ty, sc
    _tag(box, "output-transform-explorer", rot, out, readout=readout)
    base = toy.output_accuracy(phi_star, labels) if labels is not None else None

    def draw():
        phi = toy.transform_outputs(phi_star, rotation=np.radians(rot.value), translation=(tx.value, ty.value),
                                    scale=sc.value, permute=perm.value, collapse=coll.value,
                                    labels=labels if within.value else None)
        box.values = toy.replay_values(phi_star, phi)
        box.accuracy = toy.output_accuracy(phi, labels) if labels is not None else None
        text = " · ".join(f"{k} = {v:.3g}" for k, v in box.values.items())
        if box.accuracy is not None:
            text = f"<b>task A accuracy {100 * box.accuracy:.1f} %</b> (at θ*: {100 * base:.1f} %) · " + text
        readout.value = text
        return plots.plot_output_transform(phi_star, phi, box.values, labels=labels, accuracy=box.accuracy)

    for w in (rot, perm, within, coll, tx, ty, sc):
        w.observe(lambda change: _redraw(box, out, draw), names="value")
    _redraw(box, out, draw)
    return box


def riemannian_explorer(plane):
    """λ slider over the parameter plane of :func:`scpviz.teaching.toy.riemannian_plane` (notebook 04).

    Returns
    -------
    ipywidgets.VBox
        Attributes ``lam`` (log slider), ``kind`` (full / diagonal metric), ``optima``, ``figure``.
    """
    lam = W.FloatLogSlider(value=1.0, base=10, min=-3, max=4, step=0.25, description="λ", continuous_update=True)
    kind = W.ToggleButtons(options=["full", "diag"], value="full", description="metric")
    out = W.Output()
    box = W.VBox([W.HBox([lam, kind]), out])
    box.lam, box.kind = lam, kind

    _tag(box, "riemannian-explorer", lam, out, toggles=[kind])
    def draw():
        box.optima = toy.penalised_optima(plane, lam.value)
        return plots.plot_riemannian_plane(plane, box.optima, lam=lam.value, kind=kind.value)

    for w in (lam, kind):
        w.observe(lambda change: _redraw(box, out, draw), names="value")
    _redraw(box, out, draw)
    return box


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
    for method in ("mas", "scp"):
        lams = sorted({c["lam"] for c, _ in runs if c["method"] == method})
        if lams:
            lam_s[method] = W.SelectionSlider(options=[(f"{v:g}", v) for v in lams], value=lams[0],
                                              description=f"λ {method.upper()}", continuous_update=False)
    stage_s = W.IntSlider(value=T, min=1, max=T, description="after task")
    out = W.Output()
    box = W.VBox([W.HBox([*lam_s.values(), stage_s]), out])
    box.lams, box.stage = lam_s, stage_s

    _tag(box, "autoencoder-explorer", lam_s.get("scp", stage_s), out)
    def draw():
        shown = {}
        for method in ("none", "mas", "scp"):
            cands = [(c, h) for c, h in runs if c["method"] == method]
            if method != "none":
                cands = [(c, h) for c, h in cands if c["lam"] == lam_s[method].value] if method in lam_s else []
            if cands:
                label = "no consolidation" if method == "none" else f"{method.upper()} λ={cands[0][0]['lam']:g}"
                shown[label] = cands[0][1]
        box.shown = shown
        return plots.plot_reconstruction_grid(shown, stage=stage_s.value - 1)

    for w in (*lam_s.values(), stage_s):
        w.observe(lambda change: _redraw(box, out, draw), names="value")
    _redraw(box, out, draw)
    return box


def study_explorer(rows, variant="paper", method="scp", dataset="MNIST"):
    """Drag λ through the Figure 4 study (notebook 07): for a variant and a method, the final error, forgetting and
    learning error against λ, with no consolidation's values dashed and the numbers at the λ chosen.

    ``rows``: :func:`scpviz.sweeps.figure4_study.study_rows` of the shipped study (nothing is trained).

    Returns
    -------
    ipywidgets.VBox
        Attributes ``lam`` (slider), ``method`` (toggle), ``variant`` (dropdown), ``figure``.
    """
    variants = list(dict.fromkeys(r["variant"] for r in rows))
    if variant not in variants:
        raise ValueError(f"variant={variant!r} is not in rows: choose one of {variants}.")
    methods = [m for m in ("mas", "scp") if any(r["method"] == m for r in rows)]
    var_d = W.Dropdown(options=variants, value=variant, description="variant")
    meth_t = W.ToggleButtons(options=[(plots.METHOD_LABELS.get(m, m), m) for m in methods],
                             value=method if method in methods else methods[0], description="method")
    lam_s = W.SelectionSlider(options=[1.0], description="λ", continuous_update=False)
    readout = W.HTML()
    out = W.Output()
    box = W.VBox([W.HBox([var_d, meth_t]), lam_s, readout, out])
    box.lam, box.method, box.variant = lam_s, meth_t, var_d
    _tag(box, "study-explorer", lam_s, out, readout=readout, toggles=[meth_t])

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

    _follow_grid(box, out, lam_s, (meth_t, var_d), grid, draw)
    return box


def _method_lambda_box(results, method, name):
    """The controls of an explorer over a shipped grid: a method toggle (the consolidation methods in ``results``), a
    λ slider, a text readout and the figure's Output, in a tagged VBox (attributes ``lam``, ``method``, ``runs``).
    Returns ``(box, method toggle, λ slider, readout, out, grid)`` with ``grid()`` the sorted λ of the method shown."""
    methods = [m for m in ("ewc", "mas", "scp") if any(c["method"] == m for c, _ in results)]
    if not methods:
        raise ValueError("results hold no run of ewc, mas or scp: give a sweep with consolidation runs.")
    meth_t = W.ToggleButtons(options=[(plots.METHOD_LABELS.get(m, m), m) for m in methods],
                             value=method if method in methods else methods[-1], description="method")
    lam_s = W.SelectionSlider(options=[1.0], description="λ", continuous_update=False)
    readout = W.HTML()
    out = W.Output()
    box = W.VBox([meth_t, lam_s, readout, out])
    box.lam, box.method, box.runs = lam_s, meth_t, []
    _tag(box, name, lam_s, out, readout=readout, toggles=[meth_t])

    def grid():
        return sorted({c["lam"] for c, _ in results if c["method"] == meth_t.value})

    return box, meth_t, lam_s, readout, out, grid


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
    box, meth_t, lam_s, readout, out, grid = _method_lambda_box(results, method, "domain-shift-explorer")
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

    _follow_grid(box, out, lam_s, (meth_t,), grid, draw, initial=lam)
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
    from ..sweeps import summarize

    results = list(results)
    box, meth_t, lam_s, readout, out, grid = _method_lambda_box(results, method, "superclass-explorer")
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

    _follow_grid(box, out, lam_s, (meth_t,), grid, draw, initial=lam)
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
    box, meth_t, lam_s, readout, out, grid = _method_lambda_box(results, method, "segmentation-explorer")
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

    _follow_grid(box, out, lam_s, (meth_t,), grid, draw, initial=lam)
    return box
