"""Train M runs of one fully connected experiment (the permuted-MNIST classifier, the auto-encoders) as one
:class:`~scpviz.ensemble.StackedMLP`, run for run what :func:`scpviz.training.train_sequence` does for one: the
same batch orders, Adam steps, penalties (eq 17), importances and online merge (eq 20), evaluations and History.

A run is described by :class:`EnsembleRun`: its own tasks (its permutations and images), seed, method and λ. The
runs of one call share the architecture, the number of tasks and their sizes, and the training settings
(:class:`~scpviz.training.HyperParams` but the seed). Each run keeps its own batch order (the generator
:func:`scpviz.training.engine._sequence_generator` of its seed), optimizer state (Adam is elementwise, so one Adam
over the stacked parameters is M Adams), importance, θ*, λ and History: a run's History does not depend on which
other runs share its stack (tested by shuffling the runs).
"""

from __future__ import annotations

import dataclasses
import time

import numpy as np
import torch
import torch.nn.functional as F

from ..training.engine import HyperParams, _sequence_generator, adam
from ..training.history import History
from ..training.objectives import CLASSIFICATION, objective as as_objective
from .stacked_mlp import StackedMLP, stacked_importance, stacked_rule

__all__ = ["EnsembleRun", "train_ensemble"]


@dataclasses.dataclass
class EnsembleRun:
    """One run of an ensemble.

    Parameters
    ----------
    model : scpviz.models.MLP or scpviz.models.AutoEncoder
        The run's network at its initialisation.
    tasks : list of scpviz.datasets.Task
        The run's task stream (flattened or image inputs; targets None for reconstruction).
    seed : int
        Its batch orders (as :class:`~scpviz.training.HyperParams`' ``seed``) and, when ``slice_seed`` is None,
        its slices (task t draws them from ``seed + t``, as :class:`~scpviz.consolidation.Consolidation`).
    method : str
        ``"none"``, ``"ewc"`` (exact Fisher), ``"mas"``, ``"mas_abs"`` or ``"scp"``.
    lam : float
    config : dict, optional
        Stored in the run's History, as ``train_sequence``'s ``config``.
    """

    model: torch.nn.Module
    tasks: list
    seed: int
    method: str = "none"
    lam: float = 0.0
    config: dict | None = None
    slice_seed: int | None = None


def _check_runs(runs):
    if not runs:
        raise ValueError("runs is empty: pass at least one EnsembleRun.")
    T = {len(r.tasks) for r in runs}
    if len(T) != 1:
        raise ValueError(f"runs must have the same number of tasks, got {sorted(T)}.")
    for t in range(T.pop()):
        sizes = {(len(r.tasks[t].x_train), len(r.tasks[t].x_test),
                  0 if r.tasks[t].x_val is None else len(r.tasks[t].x_val)) for r in runs}
        if len(sizes) != 1:
            raise ValueError(f"task {t + 1} has different sizes across runs {sorted(sizes)}: an ensemble stacks "
                             "runs of one budget (same n_train, n_val, n_test).")
    for r in runs:
        if r.method != "none":
            stacked_rule(r.method)      # a clear error for a method without a batched rule
        if not np.isfinite(r.lam) or r.lam < 0:
            raise ValueError(f"lam={r.lam!r} must be a finite number >= 0.")


class _StackedSplit:
    """Task t's ``split`` of every run: inputs (M, N, D) by rows, targets (M, N) or None.

    Tasks of :func:`scpviz.datasets.permuted_mnist_tasks` with ``lazy=True`` hold their run's images unpermuted and
    the permutation aside: the stack keeps one unpermuted copy per run (one in all when every run holds the same
    tensor) and permutes the rows it hands out — a batch, or the whole split of the task being trained — so no run
    keeps a permuted copy of every task.
    """

    def __init__(self, runs, t, split, device, dtype, stacked=None):
        tasks = [r.tasks[t] for r in runs]
        xs = [getattr(task, f"x_{split}") for task in tasks]
        self.empty = xs[0] is None
        if self.empty:
            return
        self.n = len(xs[0])
        ys = [getattr(task, f"y_{split}") for task in tasks]
        self.y = None if ys[0] is None else torch.stack(ys).to(device)
        perms = [task.meta.get("lazy_permutation") for task in tasks]
        if any(p is None for p in perms) and not all(p is None for p in perms):
            raise ValueError(f"task {t + 1}: some runs' tasks are lazy (permuted_mnist_tasks(lazy=True)) and others "
                             "not: make every run's tasks the same way.")
        flat = lambda v: v.reshape(len(v), -1).to(device=device, dtype=dtype)   # noqa: E731  no copy when it fits
        self.perm = None if perms[0] is None else torch.stack([p.to(device) for p in perms])     # (M, D)
        self.shared = self.perm is not None and all(x is xs[0] for x in xs)
        if self.shared:
            self.x = flat(xs[0])                                                                # (N, D)
            return
        # lazy tasks of a run share one tensor: stacked once for all its tasks (``stacked``: id → stack)
        key = tuple(id(v) for v in xs)
        if stacked is not None and self.perm is not None and key in stacked:
            self.x = stacked[key][1]
        else:
            self.x = torch.stack([flat(v) for v in xs])                                         # (M, N, D)
            if stacked is not None and self.perm is not None:
                stacked[key] = (xs, self.x)         # xs kept alive with it, so that their ids stay theirs

    def rows(self, i, j):
        """Inputs of rows i … j−1 of every run, (M, j − i, D)."""
        if self.perm is None:
            return self.x[:, i:j]
        if self.shared:
            return self.x[i:j][:, self.perm].transpose(0, 1)
        block = self.x[:, i:j]
        return torch.gather(block, 2, self.perm.unsqueeze(1).expand(-1, block.shape[1], -1))

    def inputs(self):
        """Every row of every run, (M, N, D) (a view when the tasks are not lazy)."""
        return self.rows(0, self.n)


def _per_run(fn, out, x, y):
    """``fn(out[m], x[m], y[m])`` of every run m, a (M, ...) tensor: the objective's function vmapped over runs."""
    if y is None:
        return torch.vmap(lambda o, i: fn(o, i, None))(out, x)
    return torch.vmap(fn)(out, x, y)


def _run_losses(obj, out, x, y):
    """Each run's batch loss, a (M,) tensor."""
    if obj is CLASSIFICATION:   # the built-in cross-entropy takes the run dimension as a batch dimension
        return F.cross_entropy(out.transpose(1, 2), y, reduction="none").mean(1)
    return _per_run(obj.loss, out, x, y)


@torch.no_grad()
def _score(stack, obj, split, batch_size):
    """Per run, the objective's mean metric on its ``split`` (a :class:`_StackedSplit`) — a (M,) float64 tensor;
    ``batch_size`` inputs per run and forward pass, each batch's sum taken in the model's dtype as
    :func:`scpviz.training.evaluate` does."""
    total = torch.zeros(stack.n_runs, device=stack.weights[0].device, dtype=torch.float64)
    for i in range(0, split.n, batch_size):
        xb, yb = split.rows(i, i + batch_size), None if split.y is None else split.y[:, i:i + batch_size]
        total += _per_run(obj.score, stack(xb), xb, yb).sum(1)
    return total / split.n


class _StackedConsolidation:
    """Per run: merged importance, θ*, λ — stacked. The penalty λ_m Σ Γ_m (θ_m − θ*_m)² (eq 17) and its gradient."""

    def __init__(self, runs, alpha, n_slices, device, dtype):
        self.methods = [r.method for r in runs]
        lam = [0.0 if r.method == "none" else r.lam for r in runs]
        self.lam = torch.tensor(lam, device=device, dtype=dtype)
        self.alpha, self.n_slices = float(alpha), int(n_slices)
        self.slice_seeds = [r.seed if r.slice_seed is None else r.slice_seed for r in runs]
        self.importance = None      # list of (M, ...) tensors in stack.stacked_parameters() order
        self.theta_star = None
        self.n_tasks = 0

    @property
    def active(self) -> bool:
        return self.importance is not None and bool((self.lam > 0).any())

    def consolidate(self, stack, x, max_memory=2 ** 30):
        """Each run's importance on its task's training inputs ``x`` (M, N, D), merged (eq 20); θ* stored."""
        params = stack.stacked_parameters()
        new = [torch.zeros_like(p) for p in params]
        for method in sorted(set(self.methods) - {"none"}):   # one batched pass per method present
            idx = [m for m, name in enumerate(self.methods) if name == method]
            sub = stack.select(idx)
            seeds = [self.slice_seeds[m] + self.n_tasks for m in idx]
            got = stacked_importance(sub, x[idx], method, n_slices=self.n_slices, seeds=seeds,
                                     max_memory=max_memory)
            for k, name in enumerate(sub.names()):
                new[k][idx] = got[name].detach()
        if self.importance is None:
            self.importance = new
        else:
            self.importance = [self.alpha * n + (1.0 - self.alpha) * o for n, o in zip(new, self.importance)]
        self.theta_star = [p.detach().clone() for p in params]
        self.n_tasks += 1
        shape = lambda p: (-1,) + (1,) * (p.ndim - 1)   # noqa: E731  λ per run, broadcast over the parameter
        self._two_lam = [(2.0 * self.lam).reshape(shape(p)) for p in params]

    @torch.no_grad()
    def add_penalty_grad_(self, stack):
        """∇ of each run's penalty, 2 λ_m Γ_m (θ_m − θ*_m), added to the stacked gradients in place — the
        operations of :meth:`scpviz.consolidation.Consolidation.add_penalty_grad_`, each correctly rounded, so every
        run's gradient is bit for bit its single run's."""
        params = stack.stacked_parameters()
        step = torch._foreach_sub(params, self.theta_star)
        torch._foreach_mul_(step, self.importance)
        torch._foreach_mul_(step, self._two_lam)
        torch._foreach_add_([p.grad for p in params], step)

    @torch.no_grad()
    def penalty(self, stack):
        """Each run's penalty value, a (M,) tensor."""
        total = torch.zeros_like(self.lam)
        for p, g, th in zip(stack.stacked_parameters(), self.importance, self.theta_star):
            total += (g * (p - th).square()).flatten(1).sum(1)
        return self.lam * total


def train_ensemble(runs, *, hparams=None, objective="classification", alpha=0.75, n_slices=100, eval_batch_size=2000,
                   device=None, on_task_end=None, max_memory=2 ** 30, **hparam_fields) -> list:
    """Train every run of ``runs`` on its tasks in order, as one stacked model; one History per run.

    Parameters
    ----------
    runs : list of EnsembleRun
    hparams : HyperParams, optional
        The training settings every run shares (its ``seed`` is ignored: each run has its own).
    objective : Objective or str
        ``"classification"`` or a reconstruction objective (:mod:`scpviz.training.objectives`), as
        ``train_sequence``'s; its loss and score are vmapped over the runs.
    alpha, n_slices : float, int
        The online merge's α (eq 20) and SCP's L, as :class:`~scpviz.consolidation.Consolidation`'s.
    eval_batch_size : int
        Inputs per run and forward pass when scoring.
    device : torch.device or str, optional
        Default: the first run's model's.
    on_task_end : callable(task_index, stack), optional
        Called when a task is finished, before consolidating (snapshots of every run).
    max_memory : int
        Bytes for the importances' working tensors (:func:`~scpviz.ensemble.stacked_importance`).

    Returns
    -------
    list of History
        In the order of ``runs``; each equal to what ``train_sequence`` makes of that run alone (float64: the
        scores exactly and the losses to rounding; tested).
    """
    hp = dataclasses.replace(hparams or HyperParams(), **hparam_fields)
    if hp.augment is not None:
        raise ValueError("augment: the ensemble trains the MLP experiments, which use no augmentation.")
    runs = list(runs)
    _check_runs(runs)
    first = next(runs[0].model.parameters())
    device = torch.device(device) if device is not None else first.device
    dtype = first.dtype
    stack = StackedMLP([r.model for r in runs]).to(device)
    M, T = len(runs), len(runs[0].tasks)
    cons = _StackedConsolidation(runs, alpha, n_slices, device, dtype)
    obj = as_objective(objective)
    metric = obj.metric
    hists = []
    for r, seed in zip(runs, cons.slice_seeds):
        cfg = dict(r.config or {})
        cfg.update(epochs=hp.epochs, lr=hp.lr, batch_size=hp.batch_size, objective=obj.name,
                   optimizer_reset=hp.optimizer_reset, seed=r.seed, n_tasks=T)
        if hp.adam_eps != HyperParams.adam_eps:
            cfg.update(adam_eps=hp.adam_eps)
        cfg.setdefault("consolidation", dict(method=r.method, lam=float(r.lam), alpha=float(alpha), n_slices=n_slices,
                                             exact=False, layer=None, seed=seed, fisher_labels="exact"))
        hists.append(History(config=cfg, dataset=r.tasks[0].dataset, task_names=[t.name for t in r.tasks],
                             metric_name=metric.name, higher_is_better=metric.higher_is_better,
                             metric_unit=metric.unit,
                             timings={"train": 0.0, "importance": 0.0, "evaluate": 0.0}))
    rows = torch.arange(M, device=device).unsqueeze(1)
    held_out, stacked = {}, {}
    for t in range(T):
        train = _StackedSplit(runs, t, "train", device, dtype, stacked)
        x, y = train.inputs(), train.y     # the task being trained, permuted once for the whole task
        n = x.shape[1]
        use_penalty = cons.active
        opt = None
        for epoch in range(hp.epochs):
            if opt is None or hp.optimizer_reset == "epoch":
                opt = adam(stack.parameters(), hp.lr, hp.adam_eps)
            t0 = time.perf_counter()
            # each run's own batch order, from the generator its single run would use (M draws per epoch)
            order = torch.stack([torch.randperm(n, generator=_sequence_generator(r.seed, t)(epoch))
                                 for r in runs]).to(device)
            total = torch.zeros(M, device=device)   # float32, as the single-run engine sums its epoch loss
            stack.train()
            for i in range(0, n, hp.batch_size):
                idx = order[:, i:i + hp.batch_size]
                xb, yb = x[rows, idx], None if y is None else y[rows, idx]
                opt.zero_grad(set_to_none=True)
                losses = _run_losses(obj, stack(xb), xb, yb)                                      # (M,)
                losses.sum().backward()          # runs do not mix: each run's gradient is its own loss's
                if use_penalty:
                    cons.add_penalty_grad_(stack)
                opt.step()
                total += losses.detach() * idx.shape[1]
            loss = (total / n).tolist()
            if not all(np.isfinite(loss)):
                bad = [m for m, v in enumerate(loss) if not np.isfinite(v)]
                raise FloatingPointError(f"non-finite training loss in runs {bad} on task {t + 1}, epoch {epoch + 1}: "
                                         "try a smaller lam or learning rate.")
            pen = cons.penalty(stack).tolist() if use_penalty else [0.0] * M
            seconds = time.perf_counter() - t0
            t0 = time.perf_counter()
            stack.eval()
            test, val = [], []
            for j in range(t + 1):
                for split, out in (("test", test), ("val", val)):
                    if (j, split) not in held_out:      # stacked once per task and split, then reused
                        held_out[(j, split)] = _StackedSplit(runs, j, split, device, dtype, stacked)
                    part = held_out[(j, split)]
                    out.append(None if part.empty else _score(stack, obj, part, eval_batch_size).tolist())
            evaluate_s = time.perf_counter() - t0
            for m, h in enumerate(hists):
                h.timings["train"] += seconds / M
                h.timings["evaluate"] += evaluate_s / M
                h.points.append({"task": t, "epoch": epoch + 1,
                                 "test": [test[j][m] for j in range(t + 1)] + [None] * (T - t - 1),
                                 "val": [None if val[j] is None else val[j][m] for j in range(t + 1)]
                                 + [None] * (T - t - 1),
                                 "loss": loss[m], "penalty": pen[m]})
        if on_task_end is not None:
            on_task_end(t, stack)
        if t < T - 1:
            t0 = time.perf_counter()
            stack.eval()
            cons.consolidate(stack, x, max_memory)
            for h in hists:
                h.timings["importance"] += (time.perf_counter() - t0) / M
    with torch.no_grad():   # each run's network ends where its stack slice ends
        for m, r in enumerate(runs):
            for p, q in zip(r.model.parameters(), stack.stacked_parameters()):
                p.copy_(q[m].to(p.device))
    return hists
