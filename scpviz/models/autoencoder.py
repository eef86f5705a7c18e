"""The sequential auto-encoder of §5.2."""

from __future__ import annotations

from typing import Sequence

import torch
import torch.nn as nn

from .seeding import seeded


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
    activation : {"relu", "leaky_relu"}
        Hidden activation: ReLU (the paper, §5.2) or LeakyReLU with slope 0.1 (the default of the MLP class in the
        public code lihr04/corel2m, ``utils/mlp.py``), which has no dead zone.
    init : {"default", "xavier"}
        PyTorch's default initialisation of ``nn.Linear`` or Xavier-uniform weights (that public code's choice);
        biases, if any, start at 0 with ``"xavier"``.
    bias : bool
        Whether the linear layers have biases (that public code has none).

    Examples
    --------
    >>> ae = AutoEncoder(hidden=(32,), code=8, seed=0)
    >>> ae(torch.rand(2, 784)).shape
    torch.Size([2, 784])
    """

    def __init__(self, in_features: int = 784, hidden: Sequence[int] = (1024, 1024, 1024), code: int = 256,
                 seed: int | None = None, activation: str = "relu", init: str = "default", bias: bool = True):
        super().__init__()
        acts = {"relu": nn.ReLU, "leaky_relu": lambda: nn.LeakyReLU(0.1)}
        if activation not in acts:
            raise ValueError(f"activation={activation!r} must be one of {sorted(acts)}.")
        if init not in ("default", "xavier"):
            raise ValueError(f"init={init!r} must be 'default' or 'xavier'.")
        if not isinstance(bias, bool):
            raise ValueError(f"bias={bias!r} must be True or False.")
        for name, v in (("in_features", in_features), ("code", code), *(("hidden", h) for h in hidden)):
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"{name} must hold positive integers, got {v!r}.")
        with seeded(seed):
            enc, dec = [], []
            sizes = [in_features, *hidden, code]
            for a, b in zip(sizes[:-1], sizes[1:]):
                enc += [nn.Linear(a, b, bias=bias), acts[activation]()]
            rev = sizes[::-1]
            for a, b in zip(rev[:-1], rev[1:]):
                dec += [nn.Linear(a, b, bias=bias), acts[activation]()]
            self.encoder = nn.Sequential(*enc)
            self.decoder = nn.Sequential(*dec[:-1], nn.Sigmoid())
            if init == "xavier":
                for m in self.modules():
                    if isinstance(m, nn.Linear):
                        nn.init.xavier_uniform_(m.weight)
                        if m.bias is not None:
                            nn.init.zeros_(m.bias)
        self.in_features = in_features

    def forward(self, x):
        """Reconstructions in [0, 1], shape (N, in_features), of inputs (N, in_features) or images (flattened)."""
        if x.ndim > 2:
            x = x.flatten(1)
        if x.shape[-1] != self.in_features:
            raise ValueError(f"AutoEncoder expects inputs with {self.in_features} features, got {x.shape[-1]}.")
        return self.decoder(self.encoder(x))
