"""MAS's importance Ω (eq 7): per-sample squared (or absolute) gradients of the output norm."""

from __future__ import annotations

import torch  # noqa: F401  (the Examples use torch and nn)
import torch.nn as nn  # noqa: F401

from .common import _resolve_layer, trainable_parameters
from .per_sample import _run_per_sample

MAS_FORMS = ("paper", "aljundi")


def mas_importance(model, data, form="paper", layer=None, batch_size=500, method="auto"):
    r"""MAS importance Ω (eq 7), from per-sample gradients of the squared output norm.

    ``"paper"``: :math:`\Omega_{mm} = \mathbb E_x[(\partial\|\varphi(x)\|^2/\partial\theta_m)^2]`
    (the diagonal of eq 7's Ω, the second-order expansion of eq 6 up to a factor ½
    absorbed into λ); ``"aljundi"``: :math:`\mathbb E_x|\partial\|\varphi(x)\|^2/\partial\theta_m|`,
    the original MAS (Aljundi et al. 2018).

    Parameters
    ----------
    layer : nn.Module or str, optional
        Submodule whose output is φ (default: the model output).
    method : {"auto", "hooks", "func"}
        As in :func:`fisher_importance`.

    Examples
    --------
    >>> model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
    >>> om = mas_importance(model, torch.randn(16, 4), form="aljundi")
    >>> bool(all((v >= 0).all() for v in om.values()))
    True
    """
    if form not in MAS_FORMS:
        raise ValueError(f"form={form!r} must be one of {MAS_FORMS}.")
    params = trainable_parameters(model)
    layer_mod = _resolve_layer(model, layer)
    reduce = "square" if form == "paper" else "abs"
    if layer_mod is None:
        def losses(out, y):
            return [out.reshape(len(out), -1).pow(2).sum(1)]

        return _run_per_sample(model, params, data, losses, reduce, method, batch_size)
    holder = {}

    def losses(out, y):
        return [holder["out"].reshape(len(out), -1).pow(2).sum(1)]

    hook = layer_mod.register_forward_hook(lambda m, i, o: holder.__setitem__("out", o))
    try:
        return _run_per_sample(model, params, data, losses, reduce, method, batch_size)
    finally:
        hook.remove()
