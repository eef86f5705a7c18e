"""Consolidation: the quadratic penalty (eq 5, 7, 17), the online merge (eq 20) and the replay regularizers (eq 1, 6, 14).

:class:`Consolidation` is what the continual-training engine uses: after each
task call ``consolidate(model, task_training_data)``; while training later
tasks add ``penalty(model)`` to the loss.

Conventions
-----------
* Penalty: λ Σ_m Γ_mm (θ_m − θ*_m)² for every method (eq 7 and 17's form).
  EWC's eq 5 writes (λ_EWC/2) Σ F (θ − θ*)², so ``lam = λ_EWC / 2``; libraries
  that use ``λ/2`` (e.g. Avalanche's EWC) map the same way. Kolouri's ``SCP``
  class (lihr04/corel2m, ``utils/scp_utils/scp.py`` at commit 36c30fe)
  additionally divides Γ by the dataset size N and uses non-unit slices
  (‖ξ‖² ≈ K/L); λ values tuned for it therefore do not transfer to the exact
  importances computed here.
* Online merge (eq 20): Γ⁽ᵗ⁾ = α Γ_t + (1 − α) Γ⁽ᵗ⁻¹⁾ with α ∈ [0, 1) weighting the
  **new** task's importance; the first task's importance is taken as is. After
  T tasks, task t (≥ 2) carries weight α (1 − α)^{T−t}, task 1 (1 − α)^{T−1}.
  The same ``SCP`` class applies α to the *old* importance instead
  (``alpha * old + (1 - alpha) * new``), and that repository's
  ``grid_search.py`` (commit 27836b9) sets ``alpha = 0.25`` — eq 20's α = 0.75,
  the default here.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np
import torch
import torch.nn.functional as F

from . import importance as imp
from . import methods
from .importance.scp import _check_n_slices
from .distances import sliced_cramer_squared

__all__ = ["Consolidation", "Consolidator", "merge_weights", "kl_replay", "mas_replay", "sliced_cramer_replay"]


@runtime_checkable
class Consolidator(Protocol):
    """What the training engine (:mod:`scpviz.training.engine`) calls on whatever preserves old tasks.

    :class:`Consolidation` (a quadratic penalty on the importances, eq 17 and 20) and
    :class:`scpviz.replay.ReplayConsolidation` (the replay regularizers on stored inputs, eq 6 and 14) both are one;
    a new way to preserve a task is another class with these five members.
    """

    @property
    def active(self) -> bool:
        """Whether the penalty is on (something consolidated and λ > 0)."""

    def consolidate(self, model, data):
        """Finish a task: remember what must be preserved of it (its training ``data``)."""

    def penalty(self, model) -> torch.Tensor:
        """The penalty at the model's current parameters (a scalar tensor)."""

    def add_penalty_grad_(self, model) -> None:
        """Add the penalty's gradient to each parameter's ``.grad``."""

    def config(self) -> dict:
        """The options, as plain values (recorded in the History)."""


class _QuadraticPenalty(torch.autograd.Function):
    """λ Σ_i Γ_i (θ_i − θ*_i)² over lists of tensors, with the closed-form gradient 2λΓ(θ − θ*).

    One foreach pass computes the differences and Γ·d; the backward reuses Γ·d,
    so the penalty costs a few memory passes over the parameters and no autograd
    graph of its own.
    """

    @staticmethod
    def forward(ctx, lam, gammas, thetas, *params):
        diffs = torch._foreach_sub(list(params), thetas)
        gd = torch._foreach_mul(diffs, gammas)
        total = torch.stack([torch.dot(a.reshape(-1), b.reshape(-1)) for a, b in zip(gd, diffs)]).sum()
        ctx.save_for_backward(*gd)
        ctx.lam = lam
        return total * lam

    @staticmethod
    def backward(ctx, grad_out):
        gd = ctx.saved_tensors
        scale = 2.0 * ctx.lam * grad_out
        return (None, None, None) + tuple(torch._foreach_mul(list(gd), scale))


def merge_weights(n_tasks: int, alpha: float) -> np.ndarray:
    """Weight of each past task's importance after ``n_tasks`` online merges (eq 20).

    Examples
    --------
    >>> merge_weights(3, 0.5).tolist()
    [0.25, 0.25, 0.5]
    """
    _check_alpha(alpha)
    if n_tasks < 1:
        raise ValueError(f"n_tasks={n_tasks!r} must be >= 1.")
    w = np.array([alpha * (1 - alpha) ** (n_tasks - 1 - t) for t in range(n_tasks)])
    w[0] = (1 - alpha) ** (n_tasks - 1)
    return w


def _check_alpha(alpha):
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float, np.floating)) or not 0.0 <= alpha < 1.0:
        raise ValueError(f"alpha={alpha!r} must lie in [0, 1) (eq 20: the weight of the newest task's importance).")


class Consolidation:
    """Selective synaptic plasticity for a sequence of tasks: importance, merge, penalty.

    Parameters
    ----------
    method : str
        A row of :data:`scpviz.methods.METHODS`: ``"ewc"``: online-EWC with the
        diagonal Fisher (eq 3–5); ``"mas"``: Ω (eq 7); ``"mas_abs"``: Aljundi et
        al.'s |∇| form of MAS; ``"scp"``: Γ (eq 19, Algorithm 1); ``"none"``: no
        penalty; ``"l2"``: importance 1 for every weight (a uniform pull towards θ*).
    lam : float, >= 0
        λ of the penalty λ Σ Γ (θ − θ*)² (see the module notes for other conventions).
    alpha : float in [0, 1)
        Weight of the newest task's importance in the online merge (eq 20).
    n_slices, exact, layer, seed
        SCP options (see :func:`scpviz.importance.scp_importance`); ``layer``
        also applies to MAS. With ``seed`` set, task t uses slices seeded
        ``seed + t``.
    fisher_labels : {"exact", "sample", "empirical"}
        See :func:`scpviz.importance.fisher_importance`.
    per_position : bool
        EWC on a dense output (segmentation, §5.3): a softmax per position, see
        :func:`scpviz.importance.fisher_importance` (use ``fisher_labels="sample"``).
    batch_size : int
        Batch size of the importance computation (memory only).
    neighbourhood : int
        0 (the paper): importance at θ*. ``k >= 1``: the mean importance over ``k`` perturbed copies of θ*
        (:func:`scpviz.importance.neighbourhood_importance`, a remedy beyond the paper for weights of units
        that are silent at θ*).
    neighbourhood_scale : float
        Noise std of those copies, relative to each parameter tensor's RMS.

    Attributes
    ----------
    importance : dict or None
        The merged importance Γ⁽ᵗ⁾.
    theta_star : dict or None
        Parameters at the end of the last consolidated task.
    n_tasks : int
        Number of consolidated tasks.

    Notes
    -----
    ``penalty`` is 0 before the first ``consolidate`` (nothing to preserve yet).
    """

    def __init__(self, method="scp", lam=1.0, alpha=0.75, n_slices=100, exact=False, layer=None, seed=None,
                 fisher_labels="exact", batch_size=500, neighbourhood=0, neighbourhood_scale=0.1,
                 per_position=False):
        self.row = methods.get(method)
        if isinstance(lam, bool) or not isinstance(lam, (int, float, np.floating, np.integer)) \
                or not np.isfinite(lam) or lam < 0:
            raise ValueError(f"lam={lam!r} must be a finite number >= 0.")
        _check_alpha(alpha)
        if self.row.uses_slices and not exact:
            _check_n_slices(n_slices)
        if fisher_labels not in imp.FISHER_LABELS:
            raise ValueError(f"fisher_labels={fisher_labels!r} must be one of {imp.FISHER_LABELS}.")
        self.method, self.lam, self.alpha = method, float(lam), float(alpha)
        self.n_slices, self.exact, self.layer, self.seed = n_slices, exact, layer, seed
        self.fisher_labels, self.batch_size = fisher_labels, batch_size
        if isinstance(neighbourhood, bool) or not isinstance(neighbourhood, (int, np.integer)) or neighbourhood < 0:
            raise ValueError(f"neighbourhood={neighbourhood!r} must be an integer >= 0 (0: importance at θ*; "
                             "k: averaged over k perturbed copies).")
        self.neighbourhood, self.neighbourhood_scale = int(neighbourhood), float(neighbourhood_scale)
        if per_position and self.row.needs_class_probabilities and fisher_labels == "exact":
            raise ValueError("per_position=True with fisher_labels='exact' needs C·H·W backward passes per image: "
                             "use fisher_labels='sample' (or 'empirical').")
        self.per_position = bool(per_position)
        self.importance = None
        self.theta_star = None
        self.n_tasks = 0
        self._flat = None
        self._fast = None

    def __repr__(self):
        return (f"Consolidation(method={self.method!r}, lam={self.lam:g}, alpha={self.alpha:g}, "
                f"n_tasks={self.n_tasks})")

    def config(self) -> dict:
        """The options, as plain values (for results and caches)."""
        layer = self.layer if (self.layer is None or isinstance(self.layer, str)) else type(self.layer).__name__
        cfg = dict(method=self.method, lam=self.lam, alpha=self.alpha, n_slices=self.n_slices, exact=self.exact,
                   layer=layer, seed=self.seed, fisher_labels=self.fisher_labels)
        if self.neighbourhood:
            cfg.update(neighbourhood=self.neighbourhood, neighbourhood_scale=self.neighbourhood_scale)
        if self.per_position:
            cfg.update(per_position=True)
        return cfg

    @property
    def active(self) -> bool:
        """Whether the penalty is on: a task has been consolidated, the method has a penalty and λ > 0."""
        return self.importance is not None and self.row.importance is not None and self.lam > 0

    def compute_importance(self, model, data) -> dict:
        """The importance of the current task alone (before merging)."""
        if self.neighbourhood and self.row.data_dependent:
            return imp.neighbourhood_importance(self._importance_at, model, data, n_copies=self.neighbourhood,
                                                scale=self.neighbourhood_scale,
                                                perturbation_seed=1000 * (self.seed or 0) + 100 * self.n_tasks)
        return self._importance_at(model, data)

    def _importance_at(self, model, data) -> dict:
        if self.row.importance is None:
            return {n: torch.zeros_like(p) for n, p in imp.trainable_parameters(model).items()}
        # task t draws its own slices (and sampled labels) from seed + t
        options = methods.ImportanceOptions(layer=self.layer, n_slices=self.n_slices, exact=self.exact,
                                            seed=None if self.seed is None else self.seed + self.n_tasks,
                                            fisher_labels=self.fisher_labels, per_position=self.per_position,
                                            batch_size=self.batch_size)
        return self.row.importance(model, data, options)

    def consolidate(self, model, data) -> dict:
        """Finish a task: compute its importance on its *training* data, merge it (eq 20), store θ*.

        Returns the task's own (unmerged) importance.
        """
        new = self.compute_importance(model, data)
        if self.importance is None:
            self.importance = {n: g.detach().clone() for n, g in new.items()}
        else:
            if set(new) != set(self.importance):
                raise ValueError("the model's trainable parameters changed since the last consolidate().")
            self.importance = {n: self.alpha * new[n].detach() + (1.0 - self.alpha) * self.importance[n]
                               for n in new}
        self.theta_star = {n: p.detach().clone() for n, p in imp.trainable_parameters(model).items()}
        self.n_tasks += 1
        self._flat = None
        self._fast = None
        return new

    def penalty(self, model) -> torch.Tensor:
        """λ Σ_m Γ_mm (θ_m − θ*_m)² (eq 17); a zero tensor before any ``consolidate``."""
        params = imp.trainable_parameters(model)
        if not self.active:
            p0 = next(iter(params.values()))
            return torch.zeros((), device=p0.device, dtype=p0.dtype)
        if set(params) != set(self.importance):
            raise ValueError("penalty(model): the model's trainable parameters differ from those consolidated.")
        if self._flat is None:
            names = list(self.importance)
            self._flat = (names, [self.importance[n] for n in names], [self.theta_star[n] for n in names])
        names, gammas, thetas = self._flat
        return _QuadraticPenalty.apply(self.lam, gammas, thetas, *[params[n] for n in names])

    @torch.no_grad()
    def add_penalty_grad_(self, model) -> None:
        """Add ∇θ penalty = 2λ Γ (θ − θ*) to each parameter's ``.grad`` in place (the training fast path).

        Equivalent to ``penalty(model).backward()`` but without the value and
        without an autograd node: a few foreach passes over the parameters. The
        difference θ − θ* is formed first, so the gradient is exactly 0 at θ = θ*,
        and every step is one correctly rounded operation — which is what lets
        :mod:`scpviz.ensemble` reproduce a run bit for bit with λ varying over its
        runs. The training engine calls it after ``loss.backward()`` and logs the
        penalty's value once per epoch.
        """
        if not self.active:
            return
        params = imp.trainable_parameters(model)
        if self._fast is None:
            names = list(self.importance)
            self._fast = (names, [self.importance[n] for n in names], [self.theta_star[n] for n in names])
        names, gammas, thetas = self._fast
        plist = [params[n] for n in names]
        for p in plist:
            if p.grad is None:
                p.grad = torch.zeros_like(p)
        step = torch._foreach_sub(plist, thetas)
        torch._foreach_mul_(step, gammas)
        torch._foreach_mul_(step, 2.0 * self.lam)
        torch._foreach_add_([p.grad for p in plist], step)


# --------------------------------------------------------------------------- replay regularizers

def kl_replay(logits, logits_star):
    """E_x KL(p_θ*(y|x) ‖ p_θ(y|x)) on replayed inputs (eq 1), from the two models' logits (N, C)."""
    logp, logq = F.log_softmax(logits_star, dim=-1), F.log_softmax(logits, dim=-1)
    return (logp.exp() * (logp - logq)).sum(-1).mean()


def mas_replay(phi, phi_star):
    """E_x ½ (‖φ(x; θ)‖² − ‖φ(x; θ*)‖²)² on replayed inputs (eq 6); outputs (N, K)."""
    a = phi.reshape(len(phi), -1).pow(2).sum(-1)
    b = phi_star.reshape(len(phi_star), -1).pow(2).sum(-1)
    return 0.5 * (a - b).pow(2).mean()


def sliced_cramer_replay(phi, phi_star, n_slices=100, slices=None, seed=None, bandwidth=None):
    """SC₂²(p_Z(·|θ*), p_Z(·|θ)) between the output clouds on replayed inputs (eq 14).

    ``bandwidth``: kernel-smoothed slices (differentiable twice; see notebook 03).
    """
    return sliced_cramer_squared(phi.reshape(len(phi), -1), phi_star.reshape(len(phi_star), -1),
                                 n_slices=n_slices, seed=seed, slices=slices, bandwidth=bandwidth)
