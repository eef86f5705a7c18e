"""The permuted-MNIST classifier of §5.1."""

from __future__ import annotations

from typing import Sequence

import torch
import torch.nn as nn

from .seeding import seeded


class MLP(nn.Sequential):
    """Fully connected ReLU classifier, the permuted-MNIST network of §5.1: 784-1024-512-256-10.

    Parameters
    ----------
    in_features : int
    hidden : sequence of int
    n_classes : int
    seed : int, optional
        Seed of the initialisation (PyTorch's default init), for reproducible runs.

    Notes
    -----
    Layers are named ``0, 1, 2, ...`` as in ``nn.Sequential``; the hidden
    representations are the outputs of the ReLUs (``model.hidden_layers()``),
    handy as ``layer=`` targets of SCP or MAS.

    Examples
    --------
    >>> m = MLP(seed=0)
    >>> [p.shape[0] for n, p in m.named_parameters() if n.endswith("bias")]
    [1024, 512, 256, 10]
    >>> m(torch.zeros(2, 784)).shape
    torch.Size([2, 10])
    """

    def __init__(self, in_features: int = 784, hidden: Sequence[int] = (1024, 512, 256), n_classes: int = 10,
                 seed: int | None = None):
        sizes = [in_features, *hidden, n_classes]
        for name, v in (("in_features", in_features), ("n_classes", n_classes), *(("hidden", h) for h in hidden)):
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"{name} must hold positive integers, got {v!r}.")
        layers = []
        with seeded(seed):
            for a, b in zip(sizes[:-1], sizes[1:]):
                layers += [nn.Linear(a, b), nn.ReLU()]
        super().__init__(*layers[:-1])
        self.in_features, self.hidden, self.n_classes = in_features, tuple(hidden), n_classes

    def hidden_layers(self) -> list:
        """The ReLU modules, i.e. the hidden representations (first to last)."""
        return [m for m in self if isinstance(m, nn.ReLU)]

    def forward(self, x):
        """Class scores (logits), shape (N, n_classes), of inputs (N, in_features) or images (flattened)."""
        if x.ndim > 2:
            x = x.flatten(1)
        if x.shape[-1] != self.in_features:
            raise ValueError(f"MLP expects inputs with {self.in_features} features, got {x.shape[-1]}; "
                             f"flatten images or set in_features.")
        return super().forward(x)
