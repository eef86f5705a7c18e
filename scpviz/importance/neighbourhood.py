"""Importance over a neighbourhood of θ* instead of at θ* (a remedy beyond the paper).

The penalties of eq 5, 7 and 17 use derivatives *at* θ*. A ReLU unit that is silent on the old task has zero
derivative there, so every weight into and out of it gets importance 0 and may drift freely — until the unit
fires on old inputs (:mod:`scpviz.teaching.diagnostics`). Averaging the importance over a few copies
θ* + σ ε, ε ~ N(0, I) (per tensor, σ = ``scale`` × the tensor's RMS), gives such weights the importance they
have a little way from θ*, where the unit may fire.
"""

from __future__ import annotations

import copy

import numpy as np
import torch

from .common import trainable_parameters

__all__ = ["neighbourhood_importance"]


def neighbourhood_importance(importance_fn, model, data, n_copies=4, scale=0.1, perturbation_seed=0, **kwargs) -> dict:
    """The mean of ``importance_fn`` over ``n_copies`` randomly perturbed copies of ``model``.

    Parameters
    ----------
    importance_fn : callable(model, data, **kwargs) -> dict
        :func:`~scpviz.importance.fisher_importance`, :func:`~scpviz.importance.mas_importance`,
        :func:`~scpviz.importance.scp_importance` or your own.
    model : nn.Module
        At θ*; left unchanged (copies are perturbed).
    data
        As for the importance functions.
    n_copies : int, >= 1
        Perturbed copies averaged over.
    scale : float, >= 0
        Noise standard deviation per parameter tensor, relative to that tensor's RMS (a tensor that is all
        zeros, e.g. a bias at init, gets none). ``scale=0`` gives exactly ``importance_fn(model, data)``.
    perturbation_seed : int
        Seeds the perturbations (copy ``c`` uses ``perturbation_seed + c``); ``kwargs`` (e.g. SCP's slice ``seed``) are passed
        unchanged to every copy, so the copies differ only in θ.

    Returns
    -------
    dict[str, Tensor]
        Parameter name → averaged importance, shaped like the parameter.
    """
    if isinstance(n_copies, bool) or not isinstance(n_copies, (int, np.integer)) or n_copies < 1:
        raise ValueError(f"n_copies={n_copies!r} must be a positive integer (1 perturbed copy or more).")
    if isinstance(scale, bool) or not isinstance(scale, (int, float, np.floating)) or not np.isfinite(scale) \
            or scale < 0:
        raise ValueError(f"scale={scale!r} must be a finite number >= 0 (noise std relative to each tensor's RMS).")
    params = trainable_parameters(model)
    total = None
    for c in range(int(n_copies)):
        twin = copy.deepcopy(model)
        gen = torch.Generator().manual_seed(int(perturbation_seed) + c)
        with torch.no_grad():
            for name, p in trainable_parameters(twin).items():
                rms = params[name].detach().pow(2).mean().sqrt()
                noise = torch.randn(p.shape, generator=gen, dtype=p.dtype).to(p.device)
                p.add_(noise * (float(scale) * rms))
        imp = importance_fn(twin, data, **kwargs)
        total = {n: v.detach().clone() for n, v in imp.items()} if total is None else \
            {n: total[n] + imp[n].detach() for n in total}
    return {n: v / n_copies for n, v in total.items()}
