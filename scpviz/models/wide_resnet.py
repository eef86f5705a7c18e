"""The Wide-ResNet of the CIFAR-100 super-class experiment (supplementary §8.5, Figure 9)."""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from .seeding import seeded


class _WideBlock(nn.Module):
    """Pre-activation basic block: BN → ReLU → conv3×3 (stride) → BN → ReLU → Dropout → conv3×3, plus the shortcut
    (identity, or a 1×1 convolution of the pre-activated input when the width or the stride changes)."""

    def __init__(self, c_in, c_out, stride, dropout):
        super().__init__()
        self.bn1 = nn.BatchNorm2d(c_in)
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.drop = nn.Dropout(dropout)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, stride=1, padding=1, bias=False)
        self.shortcut = (nn.Conv2d(c_in, c_out, 1, stride=stride, padding=0, bias=False)
                         if (c_in != c_out or stride != 1) else None)

    def forward(self, x):
        a = F.relu(self.bn1(x))
        h = self.conv2(self.drop(F.relu(self.bn2(self.conv1(a)))))
        return h + (x if self.shortcut is None else self.shortcut(a))


class WideResNet(nn.Module):
    """WRN-``depth``-``widen_factor`` (Zagoruyko & Komodakis, 2016), the network of supplementary §8.5.

    A 3×3 convolution to 16 channels, then three groups of ``(depth − 4) / 6`` pre-activation basic blocks of widths
    16·k, 32·k and 64·k (``k = widen_factor``; the 2nd and 3rd groups halve the map), then BatchNorm → ReLU → global
    average pooling → a linear head. Convolutions have no bias (BatchNorm follows), as in the original.

    Parameters
    ----------
    depth : int
        ``6 n + 4`` (10, 16, 22, 28, ...): ``n`` blocks per group.
    widen_factor : float
        ``k``; widths are ``round(16 k)``, ``round(32 k)``, ``round(64 k)`` (a fraction, e.g. 0.5, gives the small
        networks of the CPU budgets).
    n_classes : int
        20 in §8.5 (one head over the super-classes, shared by every task).
    in_channels : int
    dropout : float
        Between the two convolutions of each block (0.3 in the Cutout paper's WRN-28-10).
    seed : int, optional
        Seed of the initialisation (PyTorch's default init); the global RNG is left as it was.

    Notes
    -----
    The paper names the network but not its size. The paper budget uses WRN-28-10, the network DeVries & Taylor
    (2017) train with the Cutout augmentation §8.5 cites; the CPU budgets use WRN-10-0.5 and WRN-10-0.25. Importances
    are computed in eval mode, where BatchNorm is a per-channel affine map with its running statistics (left
    untouched) — the per-layer per-sample rules of :mod:`scpviz.importance.per_sample` cover every layer.

    Examples
    --------
    >>> m = WideResNet(depth=10, widen_factor=0.5, n_classes=20, seed=0)
    >>> m(torch.zeros(2, 3, 32, 32)).shape
    torch.Size([2, 20])
    >>> m.widths
    (16, 8, 16, 32)
    """

    def __init__(self, depth: int = 28, widen_factor: float = 10, n_classes: int = 20, in_channels: int = 3,
                 dropout: float = 0.0, seed: int | None = None):
        super().__init__()
        if isinstance(depth, bool) or not isinstance(depth, int) or depth < 10 or (depth - 4) % 6:
            raise ValueError(f"depth={depth!r} must be 6 n + 4 with n ≥ 1 (10, 16, 22, 28, ...).")
        if isinstance(widen_factor, bool) or not isinstance(widen_factor, (int, float)) or round(16 * widen_factor) < 1:
            raise ValueError(f"widen_factor={widen_factor!r} must be a number with round(16 * widen_factor) ≥ 1.")
        for name, v in (("n_classes", n_classes), ("in_channels", in_channels)):
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"{name}={v!r} must be a positive integer.")
        if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or not 0 <= dropout < 1:
            raise ValueError(f"dropout={dropout!r} must be a probability in [0, 1).")
        widths = (16,) + tuple(int(round(w * widen_factor)) for w in (16, 32, 64))
        n = (depth - 4) // 6
        with seeded(seed):
            self.conv = nn.Conv2d(in_channels, widths[0], 3, padding=1, bias=False)
            blocks, c_in = [], widths[0]
            for g, (c, stride) in enumerate(zip(widths[1:], (1, 2, 2))):
                for b in range(n):
                    blocks.append(_WideBlock(c_in, c, stride if b == 0 else 1, dropout))
                    c_in = c
            self.blocks = nn.Sequential(*blocks)
            self.bn = nn.BatchNorm2d(c_in)
            self.classify = nn.Linear(c_in, n_classes)
        self.depth, self.widen_factor, self.n_classes, self.in_channels = depth, widen_factor, n_classes, in_channels
        self.widths = widths

    def forward(self, x):
        """Class scores (logits), shape (N, n_classes), of images (N, in_channels, H, W)."""
        if x.ndim != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f"WideResNet expects images of shape (N, {self.in_channels}, H, W), got {tuple(x.shape)}.")
        h = F.relu(self.bn(self.blocks(self.conv(x))))
        return self.classify(h.mean(dim=(2, 3)))
