"""Training on tasks, with or without consolidation (§5).

The engine is model-, shape- and objective-agnostic: an :class:`Objective`
says how to compute a batch loss and how to score a model on a task. Batches
are sliced from tensors already on the device (a random permutation per
epoch from a seeded generator) — no DataLoader or per-sample transforms in the
hot loop. The consolidation penalty's gradient is added with the fused path
(:meth:`scpviz.consolidation.Consolidation.add_penalty_grad_`).

This module currently provides single-task training (:func:`train_task`) and
evaluation (:func:`evaluate`); sequences of tasks build on them.
"""

from __future__ import annotations

import dataclasses
import math
import time
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

__all__ = ["Objective", "CLASSIFICATION", "RECONSTRUCTION", "OBJECTIVES", "train_task", "evaluate"]


@dataclasses.dataclass(frozen=True)
class Objective:
    """A per-task objective: a batch loss and a metric.

    Attributes
    ----------
    name : str
    loss : callable(output, x, y) -> scalar Tensor
    metric : callable(output, x, y) -> Tensor of per-sample scores
    metric_name : str
    higher_is_better : bool
    """

    name: str
    loss: Callable
    metric: Callable
    metric_name: str
    higher_is_better: bool = True


def _accuracy(out, x, y):
    return (out.argmax(1) == y).to(torch.float32)


def _recon_loss(out, x, y):
    target = x.reshape(out.shape)
    return F.binary_cross_entropy(out, target) + (out - target).abs().sum(1).mean()


def _l1_error(out, x, y):
    return (out - x.reshape(out.shape)).abs().sum(1)


CLASSIFICATION = Objective("classification", lambda out, x, y: F.cross_entropy(out, y), _accuracy, "accuracy")
RECONSTRUCTION = Objective("reconstruction", _recon_loss, _l1_error, "mean l1 reconstruction error",
                           higher_is_better=False)
OBJECTIVES = {o.name: o for o in (CLASSIFICATION, RECONSTRUCTION)}


def _objective(obj):
    if isinstance(obj, Objective):
        return obj
    if obj in OBJECTIVES:
        return OBJECTIVES[obj]
    raise ValueError(f"objective={obj!r} must be an Objective or one of {sorted(OBJECTIVES)}.")


def _positive_int(v, name):
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
        raise ValueError(f"{name}={v!r} must be a positive integer.")
    return int(v)


@torch.no_grad()
def evaluate(model, x, y=None, objective="classification", batch_size=2000) -> float:
    """Mean metric of ``model`` on inputs ``x`` (and targets ``y``), in eval mode (mode restored)."""
    obj = _objective(objective)
    was = model.training
    model.eval()
    try:
        total, n = 0.0, 0
        for i in range(0, len(x), batch_size):
            xb = x[i:i + batch_size]
            yb = None if y is None else y[i:i + batch_size]
            total += obj.metric(model(xb), xb, yb).sum().item()
            n += len(xb)
    finally:
        model.train(was)
    if n == 0:
        raise ValueError("x is empty: nothing to evaluate.")
    return total / n


def train_task(model, task, epochs=1, lr=1e-4, batch_size=100, objective="classification", consolidation=None,
               seed=0, optimizer=None, progress=True, desc=None, on_epoch=None):
    """Train ``model`` on ``task``'s training split with Adam, adding the consolidation penalty.

    Parameters
    ----------
    model : nn.Module
    task : scpviz.data.Task
    epochs, lr, batch_size : training budget (the paper: Adam, lr 1e-4, batch 100)
    objective : Objective or str
    consolidation : Consolidation, optional
        Its penalty λ Σ Γ (θ − θ*)² is added from the second task on (it is 0
        before the first ``consolidate``).
    seed : int
        Seed of the batch order.
    optimizer : torch.optim.Optimizer, optional
        Re-use an optimizer (e.g. across tasks); default a fresh Adam.
    progress : bool
        tqdm progress bar over epochs.
    on_epoch : callable(epoch, info), optional
        Called after every epoch (evaluation hooks).

    Returns
    -------
    dict
        ``loss`` (mean training loss per epoch), ``penalty`` (penalty value at
        the end of each epoch), ``seconds``.

    Raises
    ------
    FloatingPointError
        When the loss becomes non-finite, naming the task and epoch.
    """
    obj = _objective(objective)
    epochs, batch_size = _positive_int(epochs, "epochs"), _positive_int(batch_size, "batch_size")
    if not lr > 0:
        raise ValueError(f"lr={lr!r} must be positive.")
    x, y = task.x_train, task.y_train
    n = len(x)
    if n == 0:
        raise ValueError(f"task {task.name!r} has no training data.")
    opt = optimizer or torch.optim.Adam(model.parameters(), lr=lr)
    gen = torch.Generator().manual_seed(int(seed))
    use_penalty = consolidation is not None and consolidation.importance is not None \
        and consolidation.method != "none" and consolidation.lam > 0
    losses, penalties = [], []
    t0 = time.perf_counter()
    model.train()
    bar = tqdm(range(epochs), desc=desc or task.name, disable=not progress, leave=False)
    for epoch in bar:
        order = torch.randperm(n, generator=gen).to(x.device)
        total = torch.zeros((), device=x.device)
        for i in range(0, n, batch_size):
            idx = order[i:i + batch_size]
            xb = x[idx]
            yb = None if y is None else y[idx]
            opt.zero_grad(set_to_none=True)
            loss = obj.loss(model(xb), xb, yb)
            loss.backward()
            if use_penalty:
                consolidation.add_penalty_grad_(model)
            opt.step()
            total += loss.detach() * len(idx)
        mean_loss = (total / n).item()
        if not math.isfinite(mean_loss):
            raise FloatingPointError(f"non-finite training loss on task {task.name!r}, epoch {epoch + 1}: "
                                     f"try a smaller lam or learning rate.")
        losses.append(mean_loss)
        with torch.no_grad():
            pen = consolidation.penalty(model).item() if use_penalty else 0.0
        penalties.append(pen)
        bar.set_postfix(loss=f"{mean_loss:.4f}", penalty=f"{pen:.3g}")
        if on_epoch is not None:
            on_epoch(epoch, {"loss": mean_loss, "penalty": pen})
    return {"loss": losses, "penalty": penalties, "seconds": time.perf_counter() - t0}
