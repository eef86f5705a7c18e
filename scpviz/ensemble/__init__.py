"""Many runs as one: an experiment's runs that differ in seed and λ, trained as one batched model.

``stacked_mlp``: M MLPs with a leading run dimension on every parameter, and the importances (F, Ω, Γ) of every run
from one batched pass.
"""

from .stacked_mlp import StackedMLP, stacked_importance, stacked_rule
from .training import EnsembleRun, train_ensemble

__all__ = ["StackedMLP", "stacked_importance", "stacked_rule", "EnsembleRun", "train_ensemble"]
