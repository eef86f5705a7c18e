"""The sequential auto-encoder of §5.2."""

from __future__ import annotations

from typing import Sequence

import torch
import torch.nn as nn


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
