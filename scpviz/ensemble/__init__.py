"""Many runs as one: an experiment's runs that differ in seed and λ, trained as one batched model.

``stacked_mlp``: M fully connected networks (MLP classifiers, auto-encoders) with a leading run dimension on every
parameter, and the importances (F, Ω, Γ) of every run from one batched pass. ``training``: M runs trained as one.
``memory``: how many runs fit on a device.
"""

from .stacked_mlp import StackedMLP, stacked_importance, stacked_rule
from .training import EnsembleRun, train_ensemble
from .memory import ensemble_size, free_bytes, run_bytes, stack_overhead

__all__ = ["StackedMLP", "stacked_importance", "stacked_rule", "EnsembleRun", "train_ensemble", "ensemble_size",
           "free_bytes", "run_bytes", "stack_overhead"]
