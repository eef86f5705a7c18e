"""The replay regularizers themselves, on a small buffer of old inputs — what the quadratic penalties approximate.

§3 starts from regularizers that compare the network's outputs now with those at θ* *on old inputs*: MAS's
eq 6, E_x ½ (‖φ(x; θ)‖² − ‖φ(x; θ*)‖²)², and SCP's eq 14, SC₂²(p_φ(·|θ*), p_φ(·|θ)). Their second-order Taylor
expansions at θ* give the diagonal importances Ω and Γ (eq 7, eq 19) — local, and blind to weights whose
derivative vanishes at θ* (:mod:`scpviz.teaching.diagnostics`). :class:`ReplayConsolidation` keeps
``per_task`` inputs of every finished task and adds λ × the regularizer on them to the loss instead, a remedy
beyond the paper that trades a tiny memory for an objective that is not local.

It has the interface the training engine uses (``consolidate``, ``active``, ``penalty``, ``add_penalty_grad_``,
``config``), so it drops in wherever a :class:`~scpviz.consolidation.Consolidation` goes.
"""

from __future__ import annotations

import numpy as np
import torch

from .consolidation import mas_replay, sliced_cramer_replay
from .distances import random_slices
from .importance.common import _forward_at, _resolve_layer, iter_batches, trainable_parameters

__all__ = ["ReplayConsolidation", "REPLAY_METHODS"]

REPLAY_METHODS = ("none", "mas", "scp")


class ReplayConsolidation:
    """λ × a replay regularizer (eq 6 or eq 14) on ``per_task`` stored inputs of every finished task.

    Parameters
    ----------
    method : {"none", "mas", "scp"}
        ``"mas"``: eq 6 (each stored input's squared output norm preserved); ``"scp"``: eq 14 (the sliced Cramér
        distance between the stored inputs' output clouds now and at θ*).
    lam : float, >= 0
        Weight of the regularizer in the loss (not on the scale of the quadratic penalties' λ: eq 6 ≈ ½ δᵀΩδ, and
        eq 14 ≈ δᵀΓδ only up to the constant of notebook 03).
    per_task : int, >= 1
        Inputs kept from each finished task (drawn at random from its training data, seeded).
    n_slices : int
        L, the slices of eq 14 (drawn once per consolidation, seeded; unit vectors).
    layer : nn.Module or str, optional
        The preserved representation (default: the model's output).
    seed : int, optional
        Seeds the buffer draws and the slices (task t uses ``seed + t``).

    Attributes
    ----------
    buffer : Tensor or None
        The stored inputs (all finished tasks).
    targets : Tensor or None
        φ(buffer; θ*) at the last consolidation (θ* is the latest anchor, as for the quadratic penalty).
    n_tasks : int
    """

    def __init__(self, method="scp", lam=1.0, per_task=10, n_slices=100, layer=None, seed=None):
        if method not in REPLAY_METHODS:
            raise ValueError(f"method={method!r} must be one of {REPLAY_METHODS} (EWC's replay, eq 1, needs labels; "
                             "use consolidation.kl_replay directly).")
        if isinstance(lam, bool) or not isinstance(lam, (int, float, np.floating, np.integer)) \
                or not np.isfinite(lam) or lam < 0:
            raise ValueError(f"lam={lam!r} must be a finite number >= 0.")
        for name, v in (("per_task", per_task), ("n_slices", n_slices)):
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
                raise ValueError(f"{name}={v!r} must be a positive integer.")
        self.method, self.lam, self.per_task, self.n_slices = method, float(lam), int(per_task), int(n_slices)
        self.layer, self.seed = layer, seed
        self.buffer = self.targets = self.slices = None
        self.n_tasks = 0

    def __repr__(self):
        size = 0 if self.buffer is None else len(self.buffer)
        return f"ReplayConsolidation(method={self.method!r}, lam={self.lam:g}, buffer={size}, n_tasks={self.n_tasks})"

    def config(self) -> dict:
        """The options, as plain values (for results and caches)."""
        layer = self.layer if (self.layer is None or isinstance(self.layer, str)) else type(self.layer).__name__
        return dict(method=self.method, penalty="replay", lam=self.lam, per_task=self.per_task,
                    n_slices=self.n_slices, layer=layer, seed=self.seed)

    @property
    def active(self) -> bool:
        """Whether the regularizer is on: a task has been consolidated, the method is not ``"none"`` and λ > 0."""
        return self.buffer is not None and self.method != "none" and self.lam > 0

    def _outputs(self, model, x):
        return _forward_at(model, x, _resolve_layer(model, self.layer))

    @torch.no_grad()
    def consolidate(self, model, data) -> torch.Tensor:
        """Finish a task: keep ``per_task`` of its inputs, record every stored input's output at θ* (the model
        now) and draw the slices. Returns the inputs added."""
        xs = torch.cat([x for x, _ in iter_batches(data, 10_000)])
        gen = torch.Generator().manual_seed((0 if self.seed is None else int(self.seed)) * 7919 + self.n_tasks)
        pick = torch.randperm(len(xs), generator=gen)[:self.per_task].to(xs.device)
        new = xs[pick].detach().clone()
        self.buffer = new if self.buffer is None else torch.cat([self.buffer, new])
        was = model.training
        model.eval()
        try:
            self.targets = self._outputs(model, self.buffer).detach()
        finally:
            model.train(was)
        seed = None if self.seed is None else int(self.seed) + self.n_tasks
        self.slices = random_slices(self.n_slices, self.targets.shape[1], seed=seed).to(self.targets)
        self.n_tasks += 1
        return new

    def regularizer(self, outputs) -> torch.Tensor:
        """Eq 6 or eq 14 between ``outputs`` (the stored inputs' outputs now) and the recorded targets (no λ)."""
        if self.method == "mas":
            return mas_replay(outputs, self.targets)
        return sliced_cramer_replay(outputs, self.targets, slices=self.slices)

    def penalty(self, model) -> torch.Tensor:
        """λ × the regularizer on the buffer (differentiable); a zero tensor while inactive."""
        p0 = next(iter(trainable_parameters(model).values()))
        if not self.active:
            return torch.zeros((), device=p0.device, dtype=p0.dtype)
        return self.lam * self.regularizer(self._outputs(model, self.buffer.to(p0.device)))

    def add_penalty_grad_(self, model) -> None:
        """Add ∇θ of :meth:`penalty` to each parameter's ``.grad`` (one forward and backward on the buffer)."""
        if self.active:
            self.penalty(model).backward()
