"""The consolidation methods, one row each: everything the rest of scpviz needs to know about a method.

A method is a way to compute each weight's importance Γ for the penalty λ Σ Γ (θ − θ*)² (eq 17). The
engine (:class:`scpviz.consolidation.Consolidation`), the experiments (which methods make sense where), the
sweeps (the order of tables, which methods take an L), the command line (``--methods``), the explorers (their
method toggles) and the plots (colour, label) all read :data:`METHODS`; none of them names a method.

Adding an importance is one module in :mod:`scpviz.importance` plus one row here.

>>> [m.name for m in paper_methods()]
['none', 'ewc', 'mas', 'scp']
>>> get("mas_abs").label
'MAS (|∇|, Aljundi et al.)'
>>> get("ewc").needs_class_probabilities
True
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable

import torch

from . import importance as imp

__all__ = ["Method", "ImportanceOptions", "METHODS", "get", "names", "paper_methods", "ordered", "sort_key",
           "consolidating", "colour", "label"]


@dataclasses.dataclass(frozen=True)
class ImportanceOptions:
    """What a consolidation hands a method's importance function for one task.

    Attributes
    ----------
    layer : nn.Module or str, optional
        The layer whose output φ is preserved (MAS, SCP); None: the network's output.
    n_slices : int
        L, the number of slices (SCP, Algorithm 1).
    exact : bool
        SCP with the exact L → ∞ limit (S = I/K) instead of L drawn slices.
    seed : int, optional
        This task's seed (slices, sampled Fisher labels).
    fisher_labels : {"exact", "sample", "empirical"}
        See :func:`scpviz.importance.fisher_importance`.
    per_position : bool
        A softmax per output position (segmentation, §5.3).
    batch_size : int
        Memory only.
    """

    layer: Any = None
    n_slices: int = 100
    exact: bool = False
    seed: int | None = None
    fisher_labels: str = "exact"
    per_position: bool = False
    batch_size: int = 500


@dataclasses.dataclass(frozen=True)
class Method:
    """One consolidation method.

    Attributes
    ----------
    name : str
        What configs, the command line and result files call it.
    label : str
        Legends and explorer toggles.
    colour : str
        Matplotlib colour, the same in every figure.
    order : int
        Position in tables and legends.
    importance : callable(model, data, ImportanceOptions) -> dict, or None
        The task's importance, one tensor per trainable parameter; None for no penalty at all.
    paper : bool
        One of the paper's methods: an experiment sweeps it by default. Other rows are available everywhere
        (``--methods``) but run only when asked for.
    needs_class_probabilities : bool
        The importance needs a softmax over classes (EWC): not for the auto-encoders.
    uses_layer : bool
        Honours a choice of the preserved layer φ.
    uses_slices : bool
        Has an L (a sweep may vary ``n_slices``).
    data_dependent : bool
        The importance depends on the data and θ* (a neighbourhood average makes sense).
    lam_grid : tuple of float
        The λ grid a sweep uses where the experiment's budget names none for this method, and whose
        geometric middle is its default λ: importances of different methods live on different scales.
    reference : str
        The equation or paper it comes from.
    stacked_rule : str or None
        The per-layer rule of :func:`scpviz.ensemble.stacked_importance` that computes this importance for every
        run of a stacked MLP at once (``"fisher"``, ``"mas_square"``, ``"mas_abs"``, ``"scp"``); None where there
        is no batched rule (the ensemble refuses such a method).
    """

    name: str
    label: str
    colour: str
    order: int
    importance: Callable | None
    paper: bool = False
    needs_class_probabilities: bool = False
    uses_layer: bool = False
    uses_slices: bool = False
    data_dependent: bool = True
    lam_grid: tuple = tuple(10.0 ** i for i in range(-3, 10))
    reference: str = ""
    stacked_rule: str | None = None

    @property
    def default_lam(self) -> float:
        """λ of a run that names none, where its experiment has no validated choice: the grid's middle."""
        return float(self.lam_grid[len(self.lam_grid) // 2]) if self.importance is not None else 0.0


def _fisher(model, data, o: ImportanceOptions):
    return imp.fisher_importance(model, data, labels=o.fisher_labels, seed=o.seed, batch_size=o.batch_size,
                                 per_position=o.per_position)


def _mas(model, data, o: ImportanceOptions):
    return imp.mas_importance(model, data, layer=o.layer, batch_size=o.batch_size)


def _mas_abs(model, data, o: ImportanceOptions):
    return imp.mas_abs_importance(model, data, layer=o.layer, batch_size=o.batch_size)


def _scp(model, data, o: ImportanceOptions):
    return imp.scp_importance(model, data, n_slices=o.n_slices, layer=o.layer, exact=o.exact, seed=o.seed,
                              batch_size=o.batch_size)


def _uniform(model, data, o: ImportanceOptions):
    return {n: torch.ones_like(p) for n, p in imp.trainable_parameters(model).items()}


_ROWS = (
    Method("none", "no consolidation", "#7f7f7f", 0, None, paper=True, data_dependent=False,
           reference="fine-tuning: the lower bound"),
    Method("ewc", "online-EWC (F)", "#1f77b4", 1, _fisher, paper=True, needs_class_probabilities=True,
           reference="eq 3–5, Kirkpatrick et al. (2017), Schwarz et al. (2018)", stacked_rule="fisher"),
    Method("mas", "MAS (Ω, eq 7, squared)", "#ff7f0e", 2, _mas, paper=True, uses_layer=True,
           reference="eq 6–7, the second-order expansion of MAS's replay regularizer", stacked_rule="mas_square"),
    Method("mas_abs", "MAS (|∇|, Aljundi et al.)", "#8c564b", 3, _mas_abs, uses_layer=True,
           reference="Aljundi et al. (2018): mean absolute gradient of ‖φ‖²", stacked_rule="mas_abs"),
    Method("scp", "SCP (Γ)", "#2ca02c", 4, _scp, paper=True, uses_layer=True, uses_slices=True,
           reference="eq 14–19, Algorithm 1", stacked_rule="scp"),
    Method("l2", "uniform L2 pull", "#9467bd", 5, _uniform, data_dependent=False,
           reference="importance 1 for every weight (Kirkpatrick et al. 2017's L2 baseline)"),
)

METHODS: dict = {m.name: m for m in _ROWS}


def get(name: str) -> Method:
    """The row of method ``name``; a clear error for an unknown name."""
    if name not in METHODS:
        raise ValueError(f"method={name!r} is not a consolidation method; choose one of {names()}.")
    return METHODS[name]


def names() -> list:
    """Every method's name, in table order."""
    return list(METHODS)


def paper_methods() -> list:
    """The paper's methods (what an experiment sweeps by default), in table order."""
    return [m for m in _ROWS if m.paper]


def sort_key(name: str) -> int:
    """The method's position in tables and legends (after every method for a name that is not one)."""
    return METHODS[name].order if name in METHODS else len(METHODS)


def ordered(method_names) -> list:
    """``method_names`` sorted by the table's order (unknown names last, in the order given)."""
    return sorted(method_names, key=sort_key)


def consolidating(method_names) -> list:
    """The distinct names among ``method_names`` that are methods with a penalty, in table order.

    >>> consolidating(["scp", "none", "mas", "scp", "ewc"])
    ['ewc', 'mas', 'scp']
    """
    return ordered({n for n in method_names if n in METHODS and METHODS[n].importance is not None})


def colour(name: str, default: str = "C0") -> str:
    """The method's colour (``default`` for a name that is not a method)."""
    return METHODS[name].colour if name in METHODS else default


def label(name: str) -> str:
    """The method's label (the name itself for a name that is not a method)."""
    return METHODS[name].label if name in METHODS else str(name)
