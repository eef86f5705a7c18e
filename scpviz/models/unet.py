"""The U-Net of the segmentation experiment (§5.3, Ronneberger et al. 2015)."""

from __future__ import annotations

import torch
import torch.nn as nn

from .seeding import seeded


def _double_conv(c_in, c_out):
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, padding=1), nn.ReLU(),
                         nn.Conv2d(c_out, c_out, 3, padding=1), nn.ReLU())


class _Up(nn.Module):
    """Upsample ×2 (nearest, no weights) → 3×3 conv halving the channels → concatenate the skip → double conv."""

    def __init__(self, c_in, c_out):
        super().__init__()
        self.up = nn.Upsample(scale_factor=2, mode="nearest")
        self.reduce = nn.Conv2d(c_in, c_out, 3, padding=1)
        self.conv = _double_conv(2 * c_out, c_out)

    def forward(self, x, skip):
        return self.conv(torch.cat([torch.relu(self.reduce(self.up(x))), skip], 1))


class UNet(nn.Module):
    """U-Net: ``depth`` down steps (double 3×3 conv + ReLU, max-pool) from ``base`` channels, doubling each step, and
    as many up steps with skip connections, then a 1×1 convolution to per-pixel class scores.

    Parameters
    ----------
    in_channels : int
    n_classes : int
        13 in §5.3 (SYNTHIA's classes 0–12).
    base : int
        Channels of the first level (64 in Ronneberger et al.).
    depth : int
        Number of poolings (4 in Ronneberger et al.); frame sides must be divisible by ``2 ** depth``.
    seed : int, optional
        Seed of the initialisation; the global RNG is left as it was.

    Notes
    -----
    Padded convolutions keep the frame size (the original crops); upsampling is nearest-neighbour followed by a 3×3
    convolution instead of a transposed convolution, so that every weight sits in an ``nn.Conv2d`` — the layers whose
    per-sample gradients :mod:`scpviz.importance.per_sample` computes exactly. No BatchNorm, as the original.

    Examples
    --------
    >>> net = UNet(base=4, depth=2, seed=0)
    >>> net(torch.zeros(2, 3, 16, 24)).shape
    torch.Size([2, 13, 16, 24])
    """

    def __init__(self, in_channels: int = 3, n_classes: int = 13, base: int = 64, depth: int = 4,
                 seed: int | None = None):
        super().__init__()
        for name, v in (("in_channels", in_channels), ("n_classes", n_classes), ("base", base), ("depth", depth)):
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"{name}={v!r} must be a positive integer.")
        with seeded(seed):
            widths = [base * 2 ** i for i in range(depth + 1)]
            self.down = nn.ModuleList([_double_conv(in_channels, widths[0])]
                                      + [_double_conv(widths[i], widths[i + 1]) for i in range(depth)])
            self.pool = nn.MaxPool2d(2)
            self.up = nn.ModuleList([_Up(widths[i + 1], widths[i]) for i in reversed(range(depth))])
            self.head = nn.Conv2d(widths[0], n_classes, 1)
        self.in_channels, self.n_classes, self.base, self.depth = in_channels, n_classes, base, depth

    def forward(self, x):
        """Per-pixel class scores (N, n_classes, H, W) of frames (N, in_channels, H, W), H and W divisible by
        2 ** depth."""
        k = 2 ** self.depth
        if x.ndim != 4 or x.shape[1] != self.in_channels or x.shape[2] % k or x.shape[3] % k:
            raise ValueError(f"UNet expects frames (N, {self.in_channels}, H, W) with H and W divisible by {k} "
                             f"(depth {self.depth}), got {tuple(x.shape)}.")
        skips = []
        for i, block in enumerate(self.down):
            x = block(x if i == 0 else self.pool(x))
            skips.append(x)
        x = skips.pop()
        for up in self.up:
            x = up(x, skips.pop())
        return self.head(x)
