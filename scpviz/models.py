"""Networks of the paper's experiments (§5). Sizes are configurable; defaults are the paper's."""

from __future__ import annotations

from typing import Sequence

import torch
import torch.nn as nn

__all__ = ["MLP", "AutoEncoder"]


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
        if seed is not None:
            state = torch.random.get_rng_state()
            torch.manual_seed(seed)
        try:
            for a, b in zip(sizes[:-1], sizes[1:]):
                layers += [nn.Linear(a, b), nn.ReLU()]
        finally:
            if seed is not None:
                torch.random.set_rng_state(state)
        super().__init__(*layers[:-1])
        self.in_features, self.hidden, self.n_classes = in_features, tuple(hidden), n_classes

    def hidden_layers(self) -> list:
        """The ReLU modules, i.e. the hidden representations (first to last)."""
        return [m for m in self if isinstance(m, nn.ReLU)]

    def forward(self, x):
        if x.ndim > 2:
            x = x.flatten(1)
        if x.shape[-1] != self.in_features:
            raise ValueError(f"MLP expects inputs with {self.in_features} features, got {x.shape[-1]}; "
                             f"flatten images or set in_features.")
        return super().forward(x)


class AutoEncoder(nn.Module):
    """Fully connected auto-encoder of §5.2: 784 → 1024 → 1024 → 1024 → 256, mirrored decoder, ReLU, sigmoid output.

    Parameters
    ----------
    in_features : int
    hidden : sequence of int
        Encoder widths before the code; the decoder mirrors them.
    code : int
        Width of the code layer (``model.encoder``'s output, a natural ``layer=`` target).
    seed : int, optional

    Examples
    --------
    >>> ae = AutoEncoder(hidden=(32,), code=8, seed=0)
    >>> ae(torch.rand(2, 784)).shape
    torch.Size([2, 784])
    """

    def __init__(self, in_features: int = 784, hidden: Sequence[int] = (1024, 1024, 1024), code: int = 256,
                 seed: int | None = None):
        super().__init__()
        for name, v in (("in_features", in_features), ("code", code), *(("hidden", h) for h in hidden)):
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"{name} must hold positive integers, got {v!r}.")
        state = torch.random.get_rng_state() if seed is not None else None
        if seed is not None:
            torch.manual_seed(seed)
        try:
            enc, dec = [], []
            sizes = [in_features, *hidden, code]
            for a, b in zip(sizes[:-1], sizes[1:]):
                enc += [nn.Linear(a, b), nn.ReLU()]
            rev = sizes[::-1]
            for a, b in zip(rev[:-1], rev[1:]):
                dec += [nn.Linear(a, b), nn.ReLU()]
            self.encoder = nn.Sequential(*enc)
            self.decoder = nn.Sequential(*dec[:-1], nn.Sigmoid())
        finally:
            if state is not None:
                torch.random.set_rng_state(state)
        self.in_features = in_features

    def forward(self, x):
        if x.ndim > 2:
            x = x.flatten(1)
        if x.shape[-1] != self.in_features:
            raise ValueError(f"AutoEncoder expects inputs with {self.in_features} features, got {x.shape[-1]}.")
        return self.decoder(self.encoder(x))
