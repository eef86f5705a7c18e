"""The training engine: tasks in order, with or without consolidation (§5).

The engine is model-, shape- and objective-agnostic: an :class:`Objective`
says how to compute a batch loss and how to score a model on a task. Batches
are sliced from tensors already on the device (a random permutation per
epoch from a seeded generator) — no DataLoader or per-sample transforms in the
hot loop. The consolidation penalty's gradient is added with the fused path
(:meth:`scpviz.consolidation.Consolidation.add_penalty_grad_`).

:func:`train_sequence` trains on a list of tasks and returns a :class:`History`
(the metric of every task seen so far after every epoch, losses, timings, the
configuration and the dataset's name) with the continual-learning metrics
(average metric — the average accuracy for classification —, forgetting, backward transfer, intransigence).
"""

from __future__ import annotations

import math
import time

import numpy as np
import torch
from tqdm.auto import tqdm

from .history import History
from .objectives import objective as _objective

__all__ = ["train_task", "train_sequence", "evaluate", "adam"]


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
            total += obj.score(model(xb), xb, yb).sum().item()
            n += len(xb)
    finally:
        model.train(was)
    if n == 0:
        raise ValueError("x is empty: nothing to evaluate.")
    return total / n


def adam(params, lr):
    """Adam (the paper's optimizer), in its fused single-kernel form where this torch and device have one.

    Same update as ``torch.optim.Adam(params, lr=lr)`` up to float rounding, but one pass over the
    parameters instead of about ten: measured on the 2-core CPU (torch 2.14, batch 100), forward+backward+step
    of the paper MLP went from 1.44× to 0.99× of forward+backward alone, the auto-encoder from 1.27× to 1.12×;
    on an H100 the auto-encoder's epoch from 1.26× to 1.16× (`python -m benchmarks.accelerator`). Falls back to the default implementation where
    ``fused=True`` is refused (older torch on CPU, other devices).
    """
    params = list(params)
    try:
        return torch.optim.Adam(params, lr=lr, fused=True)
    except (RuntimeError, TypeError, ValueError):
        return torch.optim.Adam(params, lr=lr)


def _train_epoch(model, x, y, opt, obj, batch_size, gen, consolidation, use_penalty, augment=None):
    """One pass over (x, y) in a seeded random order, each batch through ``augment(batch, gen)`` when given;
    returns the mean training loss (a float)."""
    n = len(x)
    order = torch.randperm(n, generator=gen).to(x.device)
    total = torch.zeros((), device=x.device)
    for i in range(0, n, batch_size):
        idx = order[i:i + batch_size]
        xb = x[idx]
        yb = None if y is None else y[idx]
        if augment is not None:
            xb = augment(xb, gen)
        opt.zero_grad(set_to_none=True)
        loss = obj.loss(model(xb), xb, yb)
        loss.backward()
        if use_penalty:
            consolidation.add_penalty_grad_(model)
        opt.step()
        total += loss.detach() * len(idx)
    return (total / n).item()


def _check_common(epochs, batch_size, lr):
    epochs, batch_size = _positive_int(epochs, "epochs"), _positive_int(batch_size, "batch_size")
    if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not lr > 0:
        raise ValueError(f"lr={lr!r} must be a positive number.")
    return epochs, batch_size


def _penalty_on(consolidation):
    return consolidation is not None and consolidation.active


def train_task(model, task, epochs=1, lr=1e-4, batch_size=100, objective="classification", consolidation=None,
               seed=0, optimizer=None, progress=True, desc=None, on_epoch=None, augment=None):
    """Train ``model`` on ``task``'s training split with Adam, adding the consolidation penalty.

    Parameters
    ----------
    model : nn.Module
    task : scpviz.datasets.Task
    epochs, lr, batch_size : training budget (the paper: Adam, lr 1e-4, batch 100)
    objective : Objective or str
    consolidation : Consolidation, optional
        Its penalty λ Σ Γ (θ − θ*)² is added once it has consolidated a task.
    seed : int
        Seed of the batch order.
    optimizer : torch.optim.Optimizer, optional
        Re-use an optimizer; default a fresh Adam.
    progress : bool
        tqdm progress bar over epochs.
    on_epoch : callable(epoch, info), optional
    augment : callable(batch, generator), optional
        Applied to every training batch (e.g. :class:`scpviz.datasets.Augmentation`), drawing from the seeded
        generator of the batch order.

    Returns
    -------
    dict
        ``loss`` (mean training loss per epoch, without the penalty), ``penalty``
        (its value at the end of each epoch), ``seconds``.

    Raises
    ------
    FloatingPointError
        When the loss becomes non-finite, naming the task and epoch.
    """
    obj = _objective(objective)
    epochs, batch_size = _check_common(epochs, batch_size, lr)
    if len(task.x_train) == 0:
        raise ValueError(f"task {task.name!r} has no training data.")
    opt = optimizer or adam(model.parameters(), lr)
    gen = torch.Generator().manual_seed(int(seed))
    use_penalty = _penalty_on(consolidation)
    losses, penalties = [], []
    t0 = time.perf_counter()
    model.train()
    bar = tqdm(range(epochs), desc=desc or task.name, disable=not progress, leave=False)
    for epoch in bar:
        mean_loss = _train_epoch(model, task.x_train, task.y_train, opt, obj, batch_size, gen, consolidation,
                                 use_penalty, augment)
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


def _check_fits(model, task):
    try:
        with torch.no_grad():
            was = model.training
            model.eval()
            model(task.x_train[:2])
            model.train(was)
    except Exception as exc:
        raise ValueError(f"task {task.name!r} (inputs of shape {tuple(task.x_train.shape[1:])}) does not fit the "
                         f"model: {exc}") from None


def train_sequence(model, tasks, consolidation=None, epochs=1, lr=1e-4, batch_size=100,
                   objective="classification", optimizer_reset="task", seed=0, progress=True, config=None,
                   eval_batch_size=2000, on_epoch=None, on_task_end=None, augment=None) -> History:
    """Train on ``tasks`` in order, consolidating after each, evaluating every seen task after every epoch.

    Parameters
    ----------
    model : nn.Module
        Any model whose input fits the tasks' inputs.
    tasks : list of scpviz.datasets.Task
    consolidation : Consolidation, optional
        ``consolidate`` is called on each finished task's **training** data
        (inputs, with labels when the task has them), never on validation or
        test data; its penalty is active from the second task on.
    epochs, lr, batch_size
        Per task; the paper: Adam, lr 1e-4, batch 100.
    objective : Objective or str
        ``"classification"`` (accuracy) or ``"reconstruction"`` (mean ℓ1 error), or your own.
    optimizer_reset : {"task", "epoch"}
        Create a fresh Adam at every task, or at every epoch (as ``grid_search.py`` of lihr04/corel2m does at commit 27836b9).
    seed : int
        Seed of the batch orders (the model's initialisation is the caller's).
    progress : bool
        tqdm bar over tasks × epochs with the loss.
    config : dict, optional
        Stored in the History (merged with the arguments above).
    on_epoch : callable(History), optional
        Called after every evaluation point (live plots).
    on_task_end : callable(task_index, model, History), optional
        Called when a task is finished, before consolidating (snapshots).
    augment : callable(batch, generator), optional
        Applied to every training batch (:class:`scpviz.datasets.Augmentation`: crop, flip, Cutout on the device),
        drawing from the epoch's seeded generator; evaluation and the importances see the images unaugmented.

    Returns
    -------
    History
    """
    obj = _objective(objective)
    epochs, batch_size = _check_common(epochs, batch_size, lr)
    tasks = list(tasks)
    if not tasks:
        raise ValueError("tasks is empty: give at least one task.")
    if optimizer_reset not in ("task", "epoch"):
        raise ValueError(f"optimizer_reset={optimizer_reset!r} must be 'task' or 'epoch'.")
    for t in tasks:
        _check_fits(model, t)
    cfg = dict(config or {})
    cfg.update(epochs=epochs, lr=lr, batch_size=batch_size, objective=obj.name, optimizer_reset=optimizer_reset,
               seed=seed, n_tasks=len(tasks))
    if consolidation is not None:
        cfg.setdefault("consolidation", consolidation.config())
    hist = History(config=cfg, dataset=tasks[0].dataset, task_names=[t.name for t in tasks],
                   metric_name=obj.metric.name, higher_is_better=obj.metric.higher_is_better,
                   metric_unit=obj.metric.unit,
                   timings={"train": 0.0, "importance": 0.0, "evaluate": 0.0})
    T = len(tasks)
    bar = tqdm(total=T * epochs, disable=not progress, leave=False, desc="tasks")
    for t, task in enumerate(tasks):
        use_penalty = _penalty_on(consolidation)
        opt = None
        for epoch in range(epochs):
            if opt is None or optimizer_reset == "epoch":
                opt = adam(model.parameters(), lr)
            gen = torch.Generator().manual_seed(int(seed) * 1_000_003 + t * 1009 + epoch)
            t0 = time.perf_counter()
            model.train()
            loss = _train_epoch(model, task.x_train, task.y_train, opt, obj, batch_size, gen, consolidation,
                                use_penalty, augment)
            if not math.isfinite(loss):
                raise FloatingPointError(f"non-finite training loss on task {t + 1} ({task.name!r}), epoch "
                                         f"{epoch + 1}: try a smaller lam or learning rate.")
            with torch.no_grad():
                pen = consolidation.penalty(model).item() if use_penalty else 0.0
            hist.timings["train"] += time.perf_counter() - t0
            t0 = time.perf_counter()
            test = [evaluate(model, s.x_test, s.y_test, obj, eval_batch_size) if j <= t else None
                    for j, s in enumerate(tasks)]
            val = [evaluate(model, s.x_val, s.y_val, obj, eval_batch_size)
                   if (j <= t and s.x_val is not None) else None for j, s in enumerate(tasks)]
            hist.timings["evaluate"] += time.perf_counter() - t0
            hist.points.append({"task": t, "epoch": epoch + 1, "test": test, "val": val, "loss": loss,
                                "penalty": pen})
            bar.update(1)
            bar.set_postfix(task=f"{t + 1}/{T}", epoch=f"{epoch + 1}/{epochs}", loss=f"{loss:.4f}")
            if on_epoch is not None:
                on_epoch(hist)
        if on_task_end is not None:
            on_task_end(t, model, hist)
        if consolidation is not None and t < T - 1:
            t0 = time.perf_counter()
            data = task.x_train if task.y_train is None else (task.x_train, task.y_train)
            consolidation.consolidate(model, data)
            hist.timings["importance"] += time.perf_counter() - t0
    bar.close()
    return hist
