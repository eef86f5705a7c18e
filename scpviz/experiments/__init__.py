"""The paper's experiments, one module each, and the registry that the sweeps, the command line, the explorers
and the notebooks read.

>>> names()
['permuted_mnist', 'autoencoders', 'mnist_svhn', 'synthia_segmentation', 'cifar100_superclasses']
>>> exp = get("autoencoders")
>>> exp.paper, exp.metric.name, exp.metric.higher_is_better
('§5.2, Figure 4', 'mean ℓ1 reconstruction error', False)
>>> cfg = exp.config("scp", seed=0, mode="quick")      # λ: the shipped grid's validation choice
>>> cfg["lam"], cfg["order"]
(100000.0, [2, 7, 4])

Adding an experiment = one module here with an :class:`~scpviz.experiments.base.Experiment` subclass, listed
in :data:`REGISTRY` (plus its dataset/model modules, a notebook and tests).
"""

from __future__ import annotations

from .autoencoders import AutoEncoders
from .cifar100_superclasses import Cifar100Superclasses
from .base import COMMON_OPTIONS, Experiment, FigureSpec, Option
from .run_config import RunConfig
from .mnist_svhn import MnistSvhn
from .permuted_mnist import PermutedMNIST, importances_after_first_task
from .synthia_segmentation import SynthiaSegmentation

__all__ = ["get", "names", "budget", "REGISTRY", "Experiment", "RunConfig", "Option", "FigureSpec", "COMMON_OPTIONS",
           "importances_after_first_task"]

REGISTRY: dict = {e.name: e for e in (PermutedMNIST(), AutoEncoders(), MnistSvhn(), SynthiaSegmentation(),
                                      Cifar100Superclasses())}


def names() -> list:
    """The registered experiments, in the paper's order."""
    return list(REGISTRY)


def get(name: str) -> Experiment:
    """The experiment registered as ``name`` (dashes accepted: ``"permuted-mnist"``)."""
    key = str(name).replace("-", "_")
    if key not in REGISTRY:
        raise ValueError(f"experiment={name!r} is not registered; choose one of {names()}.")
    return REGISTRY[key]


def budget(name: str, mode: str | None = None):
    """``get(name).budget(mode)``."""
    return get(name).budget(mode)
