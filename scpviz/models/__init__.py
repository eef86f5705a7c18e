"""Networks of the paper's experiments (§5), one module each. Sizes are configurable; defaults are the paper's."""

from .autoencoder import AutoEncoder
from .mlp import MLP

__all__ = ["MLP", "AutoEncoder"]
