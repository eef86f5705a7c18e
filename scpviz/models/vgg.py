"""The VGG-like classifier of the MNIST → SVHN experiment (supplementary §8.4, Figure 8)."""

from __future__ import annotations

from typing import Sequence

import torch
import torch.nn as nn

from .seeding import seeded


class VGGLike(nn.Module):
    """3×3 convolutions + BatchNorm + ReLU with max-pooling, then FC + BatchNorm + ReLU + Dropout, then a linear head.

    The layout of the authors' ``VGG_like`` (lihr04/corel2m, ``utils/vgg.py``), which the paper's Figure 8 draws:

    * ``features``: for every width ``c`` of ``channels``, ``Conv2d(·, c, 3, padding=2)`` → ``BatchNorm2d(c)`` →
      ``ReLU``, and a ``MaxPool2d(2)`` after every second convolution (the 2nd, 4th, ...). Padding 2 with a 3×3
      kernel *grows* each map by 2 pixels (32 → 34 → 36 → pool 18 → 20 → 22 → pool 11), as in that code;
    * ``fc``: for every width ``h`` of ``hidden``, ``Linear`` → ``BatchNorm1d(h)`` → ``ReLU`` → ``Dropout(dropout)``;
    * ``classify``: ``Linear(hidden[-1], n_classes)``.

    Parameters
    ----------
    in_channels : int
        1 for the grayscale MNIST / SVHN images of §8.4.
    image_size : int
        Side of the (square) input images; 32 in §8.4.
    channels : sequence of int
        Convolution widths, in order (at least one).
    hidden : sequence of int
        Fully connected widths before the head (at least one).
    n_classes : int
    dropout : float
        Dropout probability of the FC block (0.2, that code's default).
    seed : int, optional
        Seed of the initialisation (PyTorch's default init).

    Notes
    -----
    Figure 8 is an image that our copy of the paper does not carry, and the public code takes the widths as
    arguments, so the widths are budget options of the experiment (the paper budget: ``channels=(32, 32, 64, 64)``,
    ``hidden=(128,)``; our choice, said so in notebook 08). Separate ReLU modules are used where that code shares one
    in-place module; the function is the same. Importances are always computed in eval mode: BatchNorm uses its
    running statistics (and leaves them untouched), Dropout is off.

    Examples
    --------
    >>> m = VGGLike(channels=(4, 8), hidden=(16,), seed=0)
    >>> m(torch.zeros(3, 1, 32, 32)).shape
    torch.Size([3, 10])
    >>> m.feature_shape
    (8, 18, 18)
    """

    def __init__(self, in_channels: int = 1, image_size: int = 32, channels: Sequence[int] = (32, 32, 64, 64),
                 hidden: Sequence[int] = (128,), n_classes: int = 10, dropout: float = 0.2,
                 seed: int | None = None):
        super().__init__()
        channels, hidden = tuple(channels), tuple(hidden)
        if not channels:
            raise ValueError("channels is empty: give at least one convolution width, e.g. channels=(32, 32, 64, 64).")
        if not hidden:
            raise ValueError("hidden is empty: give at least one fully connected width, e.g. hidden=(128,).")
        for name, v in (("in_channels", in_channels), ("image_size", image_size), ("n_classes", n_classes),
                        *(("channels", c) for c in channels), *(("hidden", h) for h in hidden)):
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"{name} must hold positive integers, got {v!r}.")
        if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or not 0 <= dropout < 1:
            raise ValueError(f"dropout={dropout!r} must be a probability in [0, 1).")
        with seeded(seed):
            layers, c_in = [], in_channels
            for i, c in enumerate(channels):
                layers += [nn.Conv2d(c_in, c, kernel_size=3, padding=2), nn.BatchNorm2d(c), nn.ReLU()]
                if i % 2:
                    layers.append(nn.MaxPool2d(2, 2))
                c_in = c
            self.features = nn.Sequential(*layers)
            with torch.no_grad():
                shape = tuple(self.features.eval()(torch.zeros(1, in_channels, image_size, image_size)).shape[1:])
            self.features.train()
            fc, width = [], shape[0] * shape[1] * shape[2]
            for h in hidden:
                fc += [nn.Linear(width, h), nn.BatchNorm1d(h), nn.ReLU(), nn.Dropout(dropout)]
                width = h
            self.fc = nn.Sequential(*fc)
            self.classify = nn.Linear(width, n_classes)
        self.in_channels, self.image_size, self.n_classes = in_channels, image_size, n_classes
        self.channels, self.hidden, self.feature_shape = channels, hidden, shape

    def freeze_batchnorm(self, frozen: bool = True) -> "VGGLike":
        """Keep every BatchNorm layer in eval mode from now on, also while training: it normalises with its running
        statistics and no longer updates them (its γ, β stay trainable). ``model.train()`` leaves them frozen.

        A continual-learning remedy (notebook 08): the running statistics are buffers that no importance covers, so
        while a new task is learned they follow its images and the old task's inputs are normalised with them.
        """
        self.batchnorm_frozen = bool(frozen)
        return self.train(self.training)

    def train(self, mode: bool = True):
        """``nn.Module.train``, except that BatchNorm layers stay in eval mode after :meth:`freeze_batchnorm`."""
        super().train(mode)
        if getattr(self, "batchnorm_frozen", False):
            for m in self.modules():
                if isinstance(m, nn.modules.batchnorm._BatchNorm):
                    m.eval()
        return self

    def forward(self, x):
        """Class scores (logits), shape (N, n_classes), of images (N, in_channels, image_size, image_size)."""
        if x.ndim != 4 or x.shape[1] != self.in_channels or tuple(x.shape[2:]) != (self.image_size,) * 2:
            raise ValueError(f"VGGLike expects images of shape (N, {self.in_channels}, {self.image_size}, "
                             f"{self.image_size}), got {tuple(x.shape)}; resize the images or set image_size.")
        return self.classify(self.fc(self.features(x).flatten(1)))
