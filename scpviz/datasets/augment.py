"""Batched data augmentation on the device: random crop with zero padding, horizontal flip and Cutout (DeVries &
Taylor, 2017), the augmentation of the CIFAR-100 experiment (supplementary §8.5, Figure 9a).

Each op works on a whole (N, C, H, W) batch with tensor indexing — no per-image Python loop, no DataLoader — so the
training engine keeps its data on the device. The random draws (a few integers per image) come from a seeded CPU
``torch.Generator`` and are moved to the batch's device, so a run is the same on any device. Every op also accepts
its draws explicitly, which is how the tests compare it with torchvision's functional ops image by image.
"""

from __future__ import annotations

import dataclasses

import torch
import torch.nn.functional as F

__all__ = ["random_crop", "random_flip", "cutout", "Augmentation"]


def _check_batch(x):
    if not isinstance(x, torch.Tensor) or x.ndim != 4:
        raise ValueError(f"x must be a batch of images of shape (N, C, H, W), got "
                         f"{tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__}.")


def _nonneg_int(v, name):
    if isinstance(v, bool) or not isinstance(v, int) or v < 0:
        raise ValueError(f"{name}={v!r} must be a non-negative integer.")
    return v


def random_crop(x: torch.Tensor, padding: int = 4, generator: torch.Generator | None = None,
                offsets: torch.Tensor | None = None) -> torch.Tensor:
    """Pad each image with ``padding`` zeros on every side and crop it back to H×W at a random offset.

    Parameters
    ----------
    x : Tensor, shape (N, C, H, W)
    padding : int
        4 in §8.5 (the standard CIFAR augmentation).
    generator : torch.Generator, optional
        CPU generator of the offsets.
    offsets : Tensor, shape (N, 2), int, optional
        ``(top, left)`` of each crop in the padded image, each in ``[0, 2 padding]``; drawn uniformly if omitted.
        Equal to ``torchvision.transforms.v2.functional.crop(pad(x[n], padding), top, left, H, W)``.

    Returns
    -------
    Tensor, shape (N, C, H, W)
    """
    _check_batch(x)
    p = _nonneg_int(padding, "padding")
    n, c, h, w = x.shape
    if offsets is None:
        offsets = torch.randint(0, 2 * p + 1, (n, 2), generator=generator)
    elif offsets.shape != (n, 2) or (offsets < 0).any() or (offsets > 2 * p).any():   # checked only when given
        raise ValueError(f"offsets must be (N, 2) = ({n}, 2) integers in [0, {2 * p}], got {offsets.tolist()}.")
    offsets = offsets.to(x.device)
    padded = F.pad(x, (p, p, p, p))
    rows = offsets[:, 0, None] + torch.arange(h, device=x.device)            # (N, H)
    cols = offsets[:, 1, None] + torch.arange(w, device=x.device)            # (N, W)
    batch = torch.arange(n, device=x.device)[:, None, None, None]
    chans = torch.arange(c, device=x.device)[None, :, None, None]
    return padded[batch, chans, rows[:, None, :, None], cols[:, None, None, :]]


def random_flip(x: torch.Tensor, generator: torch.Generator | None = None, flips: torch.Tensor | None = None,
                p: float = 0.5) -> torch.Tensor:
    """Mirror each image left–right with probability ``p`` (or where ``flips`` is True)."""
    _check_batch(x)
    if flips is None:
        flips = torch.rand(len(x), generator=generator) < p
    flips = flips.to(x.device, torch.bool)
    if flips.shape != (len(x),):
        raise ValueError(f"flips must be a boolean tensor of shape ({len(x)},), got {tuple(flips.shape)}.")
    return torch.where(flips[:, None, None, None], x.flip(3), x)


def cutout(x: torch.Tensor, length: int = 8, generator: torch.Generator | None = None,
           centers: torch.Tensor | None = None) -> torch.Tensor:
    """Cutout (DeVries & Taylor, 2017): zero a ``length``×``length`` square at a uniformly random centre of each image,
    clipped at the border (so near an edge less than length² pixels are zeroed).

    Parameters
    ----------
    x : Tensor, shape (N, C, H, W)
    length : int
        Side of the square (8 for CIFAR-100 in that paper); 0 leaves the images unchanged.
    generator : torch.Generator, optional
    centers : Tensor, shape (N, 2), int, optional
        ``(row, col)`` of each centre, in ``[0, H) × [0, W)``; the square covers rows
        ``[row − length // 2, row + length // 2)`` (clipped), likewise columns — that paper's code.

    Returns
    -------
    Tensor, shape (N, C, H, W)
    """
    _check_batch(x)
    length = _nonneg_int(length, "length")
    n, _, h, w = x.shape
    if centers is None:
        centers = torch.stack([torch.randint(0, h, (n,), generator=generator),
                               torch.randint(0, w, (n,), generator=generator)], 1)
    elif centers.shape != (n, 2):
        raise ValueError(f"centers must be (N, 2) = ({n}, 2) integers, got shape {tuple(centers.shape)}.")
    centers = centers.to(x.device)
    half = length // 2
    r = torch.arange(h, device=x.device)
    q = torch.arange(w, device=x.device)
    in_rows = (r >= centers[:, 0, None] - half) & (r < centers[:, 0, None] + half)    # (N, H)
    in_cols = (q >= centers[:, 1, None] - half) & (q < centers[:, 1, None] + half)    # (N, W)
    keep = ~(in_rows[:, :, None] & in_cols[:, None, :])
    return x * keep[:, None].to(x.dtype)


@dataclasses.dataclass(frozen=True)
class Augmentation:
    """Random crop (pad ``crop_padding``) → horizontal flip → Cutout (``cutout`` pixels), applied to a batch.

    The engine calls it on every training batch with the epoch's seeded generator
    (``train_sequence(..., augment=Augmentation())``); test and validation images, and the images the importances are
    computed on, are never augmented.

    Examples
    --------
    >>> aug = Augmentation(crop_padding=4, flip=True, cutout=8)
    >>> aug(torch.ones(5, 3, 32, 32), torch.Generator().manual_seed(0)).shape
    torch.Size([5, 3, 32, 32])
    >>> Augmentation(crop_padding=0, flip=False, cutout=0).is_identity
    True
    """

    crop_padding: int = 4
    flip: bool = True
    cutout: int = 8

    def __post_init__(self):
        _nonneg_int(self.crop_padding, "crop_padding")
        _nonneg_int(self.cutout, "cutout")
        if not isinstance(self.flip, bool):
            raise ValueError(f"flip={self.flip!r} must be True or False.")

    @property
    def is_identity(self) -> bool:
        """True when no op is on (no crop, no flip, no Cutout): applying it would change nothing."""
        return self.crop_padding == 0 and not self.flip and self.cutout == 0

    def __call__(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        if self.crop_padding:
            x = random_crop(x, self.crop_padding, generator)
        if self.flip:
            x = random_flip(x, generator)
        if self.cutout:
            x = cutout(x, self.cutout, generator)
        return x
