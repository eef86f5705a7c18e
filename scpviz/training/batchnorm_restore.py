"""The BatchNorm-restore test: how much of an old task's loss is BatchNorm's running statistics, which no importance
and no penalty covers (they are buffers, not parameters)."""

from __future__ import annotations

import torch.nn as nn

from .engine import evaluate

__all__ = ["batchnorm_statistics", "batchnorm_restore_test"]


def batchnorm_statistics(model) -> dict:
    """``{module name: (running_mean, running_var)}`` of every BatchNorm layer, copied."""
    return {name: (m.running_mean.detach().clone(), m.running_var.detach().clone())
            for name, m in model.named_modules()
            if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.running_mean is not None}


def batchnorm_restore_test(model, tasks, statistics) -> dict:
    """Every task's test metric now, and with BatchNorm's running statistics put back to ``statistics`` (e.g. those
    at the end of task 1) — the weights unchanged; the model is left as it was.

    The running statistics are *buffers*: no importance (F, Ω, Γ) and no penalty covers them, so while task 2 is
    learned they follow task 2's images whatever λ is. If task 1's accuracy comes back when only they are restored,
    that part of its loss was the statistics, not the weights.

    Returns
    -------
    dict
        ``now`` and ``restored``: lists with one metric per task.
    """
    mods = dict(model.named_modules())
    current = batchnorm_statistics(model)
    now = [evaluate(model, t.x_test, t.y_test) for t in tasks]
    try:
        for name, (mean, var) in statistics.items():
            mods[name].running_mean.copy_(mean)
            mods[name].running_var.copy_(var)
        restored = [evaluate(model, t.x_test, t.y_test) for t in tasks]
    finally:
        for name, (mean, var) in current.items():
            mods[name].running_mean.copy_(mean)
            mods[name].running_var.copy_(var)
    return {"now": now, "restored": restored}
