"""MAS as Aljundi et al. (2018) first wrote it: the mean *absolute* gradient of the squared output norm.

The paper's MAS (eq 7) is the second-order expansion of eq 6's replay regularizer and squares each sample's
gradient; the original MAS averages its absolute value instead. Both are computed by the same per-sample
rules (one batched backward; see :mod:`scpviz.importance.per_sample`), so this form is a method of its own
at no extra cost: ``Consolidation("mas_abs")``, ``--methods mas_abs``.
"""

from __future__ import annotations

import torch  # noqa: F401  (the Examples use torch and nn)
import torch.nn as nn  # noqa: F401

from .mas import mas_importance

__all__ = ["mas_abs_importance"]


def mas_abs_importance(model, data, layer=None, batch_size=500) -> dict:
    r"""Aljundi et al.'s MAS importance, :math:`\Omega_{mm} = \mathbb E_x|\partial\|\varphi(x)\|^2/\partial\theta_m|`.

    Unlike eq 7's squared form it is not the diagonal of a Taylor expansion of eq 6 (a penalty built on it
    grows like :math:`|g|(\theta-\theta^*)^2`, not like the replay regularizer); its λ therefore lives on a
    scale of its own.

    Parameters
    ----------
    model : nn.Module
    data : Tensor, tuple, iterable of batches or Task
        See :mod:`scpviz.importance`.
    layer : nn.Module or str, optional
        Submodule whose output is φ (default: the model output).
    batch_size : int
        Memory only.

    Returns
    -------
    dict
        ``name → tensor`` per trainable parameter.

    Examples
    --------
    >>> torch.manual_seed(0) and None
    >>> model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
    >>> om = mas_abs_importance(model, torch.randn(16, 4))
    >>> sorted(om) == sorted(n for n, _ in model.named_parameters())
    True
    """
    return mas_importance(model, data, form="aljundi", layer=layer, batch_size=batch_size)
