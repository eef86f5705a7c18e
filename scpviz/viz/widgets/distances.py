"""Explorers of distances (notebooks 01, 02): the energy landscape of Figure 2, slicing a cloud, the
Monte-Carlo convergence of SC₂.
"""

from __future__ import annotations

import ipywidgets as W
import matplotlib.pyplot as plt
import numpy as np

from ... import distances
from ...teaching import toy
from .. import plots
from .controls import redraw, tag

__all__ = ["landscape_explorer", "slicing_explorer", "convergence_explorer"]


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

    tag(box, "landscape-explorer", tau_s, out)
    def recompute():
        ps = sorted({1.0, 2.0, float(p_s.value)})
        box.landscape = distances.shift_landscape(taus, shape=shape_d.value, width=width, ps=ps,
                                                  grid=np.linspace(taus.min() - width, taus.max() + 2 * width, 4001))

    def draw():
        return plots.plot_figure2(box.landscape, tau_s.value)

    def on_param(change):
        recompute()
        redraw(box, out, draw)

    tau_s.observe(lambda change: redraw(box, out, draw), names="value")
    p_s.observe(on_param, names="value")
    shape_d.observe(on_param, names="value")
    recompute()
    redraw(box, out, draw)
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

    tag(box, "slicing-explorer", rot, out, readout=label)
    def draw():
        Y = toy.transform_2d(X, angle=np.radians(rot.value), shift=(shift.value, 0.0))
        box.value = float(distances.sliced_cramer(X, Y, slices=slices.numpy()))
        label.value = f"<b>SC₂(X, Y) = {box.value:.4f}</b> ({n_slices} random slices)"
        return plots.plot_cloud_slice(X, Y, np.radians(angle.value))

    for w in (angle, rot, shift):
        w.observe(lambda change: redraw(box, out, draw), names="value")
    redraw(box, out, draw)
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

    tag(box, "convergence-explorer", slider, out)
    def draw():
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

    slider.observe(lambda change: redraw(box, out, draw), names="value")
    redraw(box, out, draw)
    return box
