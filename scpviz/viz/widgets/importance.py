"""Explorers of importances and of what the penalties see (notebooks 03–05): Γ_L over slices and layers, a
transform of the outputs under each regularizer, a plane of parameter space under each quadratic form.
"""

from __future__ import annotations

import ipywidgets as W
import matplotlib.pyplot as plt
import numpy as np

from ... import distances, importance
from ...teaching import toy
from .. import plots
from .controls import redraw, tag

__all__ = ["importance_explorer", "output_transform_explorer", "riemannian_explorer"]


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
    layers = layers or {"output": None}
    cache = {}
    L_s = W.SelectionSlider(options=list(n_slices_options), value=100 if 100 in n_slices_options
                            else n_slices_options[0], description="slices L", continuous_update=False)
    layer_d = W.Dropdown(options=list(layers), value=list(layers)[0], description="layer")
    out = W.Output()
    box = W.VBox([W.HBox([L_s, layer_d]), out])
    box.n_slices, box.layer = L_s, layer_d

    tag(box, "importance-explorer", L_s, out)
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

    L_s.observe(lambda change: redraw(box, out, draw), names="value")
    layer_d.observe(lambda change: redraw(box, out, draw), names="value")
    redraw(box, out, draw)
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
    tag(box, "output-transform-explorer", rot, out, readout=readout)
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
        w.observe(lambda change: redraw(box, out, draw), names="value")
    redraw(box, out, draw)
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

    tag(box, "riemannian-explorer", lam, out, toggles=[kind])
    def draw():
        box.optima = toy.penalised_optima(plane, lam.value)
        return plots.plot_riemannian_plane(plane, box.optima, lam=lam.value, kind=kind.value)

    for w in (lam, kind):
        w.observe(lambda change: redraw(box, out, draw), names="value")
    redraw(box, out, draw)
    return box
