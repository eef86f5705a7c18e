"""The training engine: tasks in order, with or without consolidation (§5).

The engine is model-, shape- and objective-agnostic: an :class:`Objective`
says how to compute a batch loss and how to score a model on a task. Batches
are sliced from tensors already on the device (a random permutation per
epoch from a seeded generator) — no DataLoader or per-sample transforms in the
hot loop. The gradient of the consolidation penalty λ Σ Γ (θ − θ*)² (eq 17) is
added with the fused path (:meth:`scpviz.consolidation.Consolidation.add_penalty_grad_`).

Both entry points run the same epoch loop and take the same training settings (:class:`HyperParams`, or its
fields as keywords) and the same per-epoch callback, called with an :class:`EpochEnd`:

- :func:`train_task` trains on one task and returns its losses and penalties;
- :func:`train_sequence` trains on a list of tasks, consolidating after each, and returns a :class:`History`
  (the metric of every task seen so far after every epoch, losses, timings, the configuration and the dataset's
  name) with the continual-learning metrics (average metric — the average accuracy for classification —,
  forgetting, backward transfer, intransigence).

Examples
--------
>>> from scpviz import datasets, models
>>> x = torch.randn(40, 2, generator=torch.Generator().manual_seed(0))
>>> task = datasets.Task("toy", x, (x[:, 0] > 0).long(), x, (x[:, 0] > 0).long(), dataset="toy")
>>> log = train_task(models.MLP(2, (8,), 2, seed=0), task, epochs=3, lr=1e-2, batch_size=10, progress=False)
>>> len(log["loss"]), log["penalty"]
(3, [0.0, 0.0, 0.0])
>>> ends = []
>>> h = train_sequence(models.MLP(2, (8,), 2, seed=0), [task, task], hparams=HyperParams(epochs=2, lr=1e-2),
...                    progress=False, on_epoch=ends.append)
>>> [(e.task, e.epoch) for e in ends], ends[-1].history is h, len(h.points)
([(0, 1), (0, 2), (1, 1), (1, 2)], True, 4)
"""

from __future__ import annotations

import dataclasses
import math
import time
from typing import Callable, Iterator

import numpy as np
import torch
from tqdm.auto import tqdm

from .history import History
from .objectives import objective as _objective

__all__ = ["train_task", "train_sequence", "evaluate", "adam", "HyperParams", "EpochEnd"]


def _positive_int(v, name):
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
        raise ValueError(f"{name}={v!r} must be a positive integer.")
    return int(v)


@dataclasses.dataclass(frozen=True)
class HyperParams:
    """How each task is trained: the Adam budget, the batch order and the batch augmentation.

    :func:`train_task` and :func:`train_sequence` take one as ``hparams=`` or its fields as keywords
    (``epochs=5``), which override the fields of ``hparams`` when both are given.

    Parameters
    ----------
    epochs : int
        Passes over each task's training split.
    lr : float
        Adam's learning rate (the paper: Adam, lr 1e-4, batch 100).
    batch_size : int
    optimizer_reset : {"task", "epoch"}
        Create a fresh Adam at every task, or at every epoch (as ``grid_search.py`` of lihr04/corel2m does at
        commit 27836b9).
    adam_eps : float
        Adam's ε (torch's default 1e-8). A larger one bounds Adam's step where the gradient all but vanishes:
        with 1 − Dice, whose gradient fades as the softmax saturates, Adam's normalised step otherwise keeps
        growing the logits, and a U-Net without normalisation can diverge.
    seed : int
        Seed of the batch orders (the model's initialisation is the caller's).
    augment : callable(batch, generator), optional
        Applied to every training batch (:class:`scpviz.datasets.Augmentation`: crop, flip, Cutout on the device),
        drawing from the epoch's seeded generator; evaluation and the importances see the inputs unaugmented.

    Raises
    ------
    ValueError
        When a field is out of its range.

    Examples
    --------
    >>> HyperParams(epochs=2, lr=1e-3)
    HyperParams(epochs=2, lr=0.001, batch_size=100, optimizer_reset='task', seed=0, augment=None, adam_eps=1e-08)
    >>> HyperParams(optimizer_reset="step")
    Traceback (most recent call last):
    ...
    ValueError: optimizer_reset='step' must be 'task' or 'epoch'.
    """

    epochs: int = 1
    lr: float = 1e-4
    batch_size: int = 100
    optimizer_reset: str = "task"
    seed: int = 0
    augment: Callable | None = None
    adam_eps: float = 1e-8

    def __post_init__(self):
        # numpy integers (from grids) become ints, so that configs stay JSON-serialisable
        object.__setattr__(self, "epochs", _positive_int(self.epochs, "epochs"))
        object.__setattr__(self, "batch_size", _positive_int(self.batch_size, "batch_size"))
        if isinstance(self.lr, bool) or not isinstance(self.lr, (int, float)) or not self.lr > 0:
            raise ValueError(f"lr={self.lr!r} must be a positive number.")
        if isinstance(self.adam_eps, bool) or not isinstance(self.adam_eps, (int, float)) or not self.adam_eps > 0:
            raise ValueError(f"adam_eps={self.adam_eps!r} must be a positive number (torch's default: 1e-8).")
        if self.optimizer_reset not in ("task", "epoch"):
            raise ValueError(f"optimizer_reset={self.optimizer_reset!r} must be 'task' or 'epoch'.")
        if self.augment is not None and not callable(self.augment):
            raise ValueError(f"augment={self.augment!r} must be a callable(batch, generator) or None.")


_HYPERPARAM_FIELDS = tuple(f.name for f in dataclasses.fields(HyperParams))


def _hyperparams(caller, hparams, fields) -> HyperParams:
    """``hparams`` (default :class:`HyperParams`) with ``fields`` replaced; unknown keywords raise like Python's."""
    unknown = [k for k in fields if k not in _HYPERPARAM_FIELDS]
    if unknown:
        raise TypeError(f"{caller}() got an unexpected keyword argument {unknown[0]!r} (the training settings are "
                        f"{', '.join(_HYPERPARAM_FIELDS)}).")
    if hparams is None:
        return HyperParams(**fields)
    if not isinstance(hparams, HyperParams):
        raise TypeError(f"hparams={hparams!r} must be a HyperParams or None.")
    return dataclasses.replace(hparams, **fields) if fields else hparams


@dataclasses.dataclass(frozen=True)
class EpochEnd:
    """What the ``on_epoch`` callback of :func:`train_task` and :func:`train_sequence` receives after each epoch.

    Attributes
    ----------
    task : int
        Index of the task in the sequence (0 for :func:`train_task`).
    name : str
        The task's name.
    epoch : int
        The epoch just finished, counted from 1 (as in :attr:`History.points`).
    epochs : int
        Epochs per task.
    loss : float
        Mean training loss over the epoch's batches, without the penalty.
    penalty : float
        The penalty λ Σ Γ (θ − θ*)² (eq 17) at the end of the epoch; 0.0 while no consolidation is active.
    seconds : float
        Wall-clock time of the epoch's training, evaluation excluded.
    history : History or None
        :func:`train_sequence`'s record so far, this epoch's evaluation point included (for live plots); None
        from :func:`train_task`, which does not evaluate.
    """

    task: int
    name: str
    epoch: int
    epochs: int
    loss: float
    penalty: float
    seconds: float
    history: History | None = None


@torch.no_grad()
def evaluate(model, x, y=None, objective="classification", batch_size=2000) -> float:
    """Mean metric of ``model`` on inputs ``x`` (and targets ``y``), in eval mode (mode restored).

    Parameters
    ----------
    model : nn.Module
    x : Tensor
        Inputs, on the model's device.
    y : Tensor, optional
        Targets; None for objectives that score the inputs themselves (reconstruction).
    objective : Objective or str
    batch_size : int
        Inputs per forward pass (memory only: the result does not depend on it beyond float rounding).

    Returns
    -------
    float

    Raises
    ------
    ValueError
        When ``x`` is empty.
    """
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


def adam(params, lr, eps=1e-8):
    """Adam (the paper's optimizer), in its fused single-kernel form where this torch and device have one.

    Same update as ``torch.optim.Adam(params, lr=lr, eps=eps)`` up to float rounding, but one pass over the parameters
    instead of about ten, which matters for small networks whose step costs as much as their backward pass
    (``python -m benchmarks.accelerator`` measures it). Falls back to the default implementation where
    ``fused=True`` is refused (older torch on CPU, other devices).

    Parameters
    ----------
    params : iterable of Tensor
    lr : float
    eps : float
        Added to the root of Adam's second moment (:class:`HyperParams`'s ``adam_eps``).

    Returns
    -------
    torch.optim.Adam
    """
    params = list(params)
    try:
        return torch.optim.Adam(params, lr=lr, eps=eps, fused=True)
    except (RuntimeError, TypeError, ValueError):
        return torch.optim.Adam(params, lr=lr, eps=eps)


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
            # the gradient of eq 17 added in place: no autograd node, and its value is logged once per epoch only
            consolidation.add_penalty_grad_(model)
        opt.step()
        # summed on the device: one synchronisation per epoch instead of one per batch
        total += loss.detach() * len(idx)
    return (total / n).item()


def _penalty_on(consolidation):
    return consolidation is not None and consolidation.active


def _epochs(model, task, obj, hp: HyperParams, consolidation, generator, *, optimizer=None, index=0,
            label=None) -> Iterator[EpochEnd]:
    """The engine's epoch loop: train ``model`` on ``task`` for ``hp.epochs`` epochs, yielding after each.

    Parameters
    ----------
    model : nn.Module
    task : scpviz.datasets.Task
    obj : Objective
    hp : HyperParams
    consolidation : scpviz.consolidation.Consolidator or None
        Its penalty (eq 17) is added when it is active at the start of the task.
    generator : callable(epoch) -> torch.Generator
        The generator of the batch order and of ``hp.augment``'s draws for each epoch (counted from 0).
    optimizer : torch.optim.Optimizer, optional
        Used from the first epoch; default a fresh :func:`adam`. With ``hp.optimizer_reset == "epoch"`` every
        epoch gets a fresh Adam.
    index : int
        The task's index in its sequence, for :attr:`EpochEnd.task`.
    label : str, optional
        How an error names the task; default its name.

    Yields
    ------
    EpochEnd
        With ``history=None``; the caller evaluates, records and reports while the loop waits.

    Raises
    ------
    FloatingPointError
        When an epoch's mean loss is not finite, naming the task and epoch.
    """
    use_penalty = _penalty_on(consolidation)
    opt = optimizer
    for epoch in range(hp.epochs):
        if opt is None or hp.optimizer_reset == "epoch":
            opt = adam(model.parameters(), hp.lr, hp.adam_eps)
        gen = generator(epoch)
        t0 = time.perf_counter()
        # every epoch, since the caller's evaluation or callback may leave the model in eval mode
        model.train()
        loss = _train_epoch(model, task.x_train, task.y_train, opt, obj, hp.batch_size, gen, consolidation,
                            use_penalty, hp.augment)
        if not math.isfinite(loss):
            raise FloatingPointError(f"non-finite training loss on task {label or repr(task.name)}, epoch "
                                     f"{epoch + 1}: try a smaller lam or learning rate.")
        with torch.no_grad():
            pen = consolidation.penalty(model).item() if use_penalty else 0.0
        yield EpochEnd(task=index, name=task.name, epoch=epoch + 1, epochs=hp.epochs, loss=loss, penalty=pen,
                       seconds=time.perf_counter() - t0)


def _check_has_training_data(task):
    if len(task.x_train) == 0:
        raise ValueError(f"task {task.name!r} has no training data.")
    if task.meta.get("lazy_permutation") is not None:
        raise ValueError(f"task {task.name!r} holds its images unpermuted (permuted_mnist_tasks(lazy=True), which "
                         "only the ensemble trainer reads): make the tasks with lazy=False.")


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


def _sequence_generator(seed, t):
    """The batch-order generator of epoch ``epoch`` of task ``t``: seeded on its own, so that any epoch of a run
    can be replayed without the ones before it."""
    return lambda epoch: torch.Generator().manual_seed(int(seed) * 1_000_003 + t * 1009 + epoch)


def train_task(model, task, *, hparams=None, objective="classification", consolidation=None, optimizer=None,
               progress=True, desc=None, on_epoch=None, **hparam_fields) -> dict:
    """Train ``model`` on ``task``'s training split with Adam, adding the consolidation penalty.

    The same epoch loop as :func:`train_sequence` on one task, without evaluation and without consolidating
    at the end.

    Parameters
    ----------
    model : nn.Module
    task : scpviz.datasets.Task
    hparams : HyperParams, optional
        The training settings; default ``HyperParams()`` (one epoch, Adam with lr 1e-4, batch 100).
    objective : Objective or str
    consolidation : scpviz.consolidation.Consolidator, optional
        Its penalty λ Σ Γ (θ − θ*)² (eq 17) is added once it has consolidated a task.
    optimizer : torch.optim.Optimizer, optional
        Re-use an optimizer (its state carries over); default a fresh Adam. Not with
        ``optimizer_reset="epoch"``.
    progress : bool
        tqdm progress bar over epochs with the loss and the penalty.
    desc : str, optional
        The bar's label; default the task's name.
    on_epoch : callable(EpochEnd), optional
        Called after every epoch, with ``task=0`` and ``history=None``.
    **hparam_fields
        Fields of :class:`HyperParams` (``epochs``, ``lr``, ``batch_size``, ``optimizer_reset``, ``seed``,
        ``augment``), overriding ``hparams``'s. All epochs draw their batch orders from one generator seeded
        with ``seed``.

    Returns
    -------
    dict
        ``loss`` (mean training loss per epoch, without the penalty), ``penalty``
        (its value at the end of each epoch), ``seconds``.

    Raises
    ------
    ValueError
        On a bad setting, an empty training split, or ``optimizer`` with ``optimizer_reset="epoch"``.
    FloatingPointError
        When the loss becomes non-finite, naming the task and epoch.
    """
    obj = _objective(objective)
    hp = _hyperparams("train_task", hparams, hparam_fields)
    _check_has_training_data(task)
    if optimizer is not None and hp.optimizer_reset == "epoch":
        raise ValueError("optimizer= and optimizer_reset='epoch' contradict each other: give one.")
    gen = torch.Generator().manual_seed(int(hp.seed))
    losses, penalties = [], []
    t0 = time.perf_counter()
    with tqdm(total=hp.epochs, desc=desc or task.name, disable=not progress, leave=False) as bar:
        for end in _epochs(model, task, obj, hp, consolidation, lambda epoch: gen, optimizer=optimizer):
            losses.append(end.loss)
            penalties.append(end.penalty)
            bar.set_postfix(loss=f"{end.loss:.4f}", penalty=f"{end.penalty:.3g}")
            bar.update(1)
            if on_epoch is not None:
                on_epoch(end)
    return {"loss": losses, "penalty": penalties, "seconds": time.perf_counter() - t0}


def train_sequence(model, tasks, consolidation=None, *, hparams=None, objective="classification", progress=True,
                   config=None, eval_batch_size=2000, on_epoch=None, on_task_end=None, **hparam_fields) -> History:
    """Train on ``tasks`` in order, consolidating after each, evaluating every seen task after every epoch.

    Parameters
    ----------
    model : nn.Module
        Any model whose input fits the tasks' inputs.
    tasks : list of scpviz.datasets.Task
    consolidation : scpviz.consolidation.Consolidator, optional
        ``consolidate`` is called on each finished task's **training** data
        (inputs, with labels when the task has them), never on validation or
        test data; its penalty λ Σ Γ (θ − θ*)² (eq 17) is active from the second task on.
    hparams : HyperParams, optional
        The training settings of every task; default ``HyperParams()`` (one epoch, Adam with lr 1e-4, batch
        100, a fresh Adam per task).
    objective : Objective or str
        ``"classification"`` (accuracy) or ``"reconstruction"`` (mean ℓ1 error), or your own.
    progress : bool
        tqdm bar over tasks × epochs with the loss.
    config : dict, optional
        Stored in the History (merged with the training settings, the objective's name and the number of tasks).
    eval_batch_size : int
        Inputs per forward pass of the evaluations.
    on_epoch : callable(EpochEnd), optional
        Called after every evaluation point, with the History so far (live plots).
    on_task_end : callable(task_index, model, History), optional
        Called when a task is finished, before consolidating (snapshots).
    **hparam_fields
        Fields of :class:`HyperParams` (``epochs``, ``lr``, ``batch_size``, ``optimizer_reset``, ``seed``,
        ``augment``), overriding ``hparams``'s. Each (task, epoch) has its own generator, seeded from ``seed``.

    Returns
    -------
    History

    Raises
    ------
    ValueError
        On a bad setting, no tasks, a task without training data or one whose inputs do not fit the model.
    FloatingPointError
        When the loss becomes non-finite, naming the task and epoch.
    """
    obj = _objective(objective)
    hp = _hyperparams("train_sequence", hparams, hparam_fields)
    tasks = list(tasks)
    if not tasks:
        raise ValueError("tasks is empty: give at least one task.")
    for t in tasks:
        _check_has_training_data(t)
        _check_fits(model, t)
    cfg = dict(config or {})
    cfg.update(epochs=hp.epochs, lr=hp.lr, batch_size=hp.batch_size, objective=obj.name,
               optimizer_reset=hp.optimizer_reset, seed=hp.seed, n_tasks=len(tasks))
    if hp.adam_eps != HyperParams.adam_eps:   # recorded only when set, as Histories made before it lack the key
        cfg.update(adam_eps=hp.adam_eps)
    if consolidation is not None:
        cfg.setdefault("consolidation", consolidation.config())
    hist = History(config=cfg, dataset=tasks[0].dataset, task_names=[t.name for t in tasks],
                   metric_name=obj.metric.name, higher_is_better=obj.metric.higher_is_better,
                   metric_unit=obj.metric.unit,
                   timings={"train": 0.0, "importance": 0.0, "evaluate": 0.0})
    T = len(tasks)
    with tqdm(total=T * hp.epochs, disable=not progress, leave=False, desc="tasks") as bar:
        for t, task in enumerate(tasks):
            for end in _epochs(model, task, obj, hp, consolidation, _sequence_generator(hp.seed, t), index=t,
                               label=f"{t + 1} ({task.name!r})"):
                hist.timings["train"] += end.seconds
                t0 = time.perf_counter()
                test = [evaluate(model, s.x_test, s.y_test, obj, eval_batch_size) if j <= t else None
                        for j, s in enumerate(tasks)]
                val = [evaluate(model, s.x_val, s.y_val, obj, eval_batch_size)
                       if (j <= t and s.x_val is not None) else None for j, s in enumerate(tasks)]
                hist.timings["evaluate"] += time.perf_counter() - t0
                hist.points.append({"task": t, "epoch": end.epoch, "test": test, "val": val, "loss": end.loss,
                                    "penalty": end.penalty})
                bar.update(1)
                bar.set_postfix(task=f"{t + 1}/{T}", epoch=f"{end.epoch}/{hp.epochs}", loss=f"{end.loss:.4f}")
                if on_epoch is not None:
                    on_epoch(dataclasses.replace(end, history=hist))
            if on_task_end is not None:
                on_task_end(t, model, hist)
            if consolidation is not None and t < T - 1:
                t0 = time.perf_counter()
                data = task.x_train if task.y_train is None else (task.x_train, task.y_train)
                consolidation.consolidate(model, data)
                hist.timings["importance"] += time.perf_counter() - t0
    return hist
