"""An offline stand-in for CIFAR-100's super-classes (supplementary §8.5): synthetic 32×32 RGB images with the same
label structure — 20 coarse classes ("super-classes") of 5 fine classes ("sub-populations") each — used when the
CIFAR-100 files are not on the machine (they cannot be downloaded here). Every result made on it says so.

What it keeps of CIFAR-100's structure, and what it does not:

* each **super-class** ``c`` has a shape of its own (a random blob, the same for its five sub-populations): what
  the label is about, and what carries over from task to task;
* each **sub-population** ``(c, s)`` has its own look — foreground and background colours, the orientation and
  period of a striped background, and a rotation of the shape (a multiple of 90°, plus a mirror for the fifth) —
  so a task's images (one sub-population of every super-class) differ from the next task's, and a network that
  leans on colour or texture to tell super-classes apart must relearn when the sub-populations change;
* images vary within a sub-population by the shape's position (±6 pixels), colour jitter, the stripes' phase and
  pixel noise. They are far simpler than photographs: accuracies are not comparable with CIFAR-100's.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from ..config import get_device
from .images import ImageDataset, check_counts

__all__ = ["SUPERCLASS_STANDIN_NAME", "load_superclass_standin"]

SUPERCLASS_STANDIN_NAME = "synthetic super-classes (stand-in for CIFAR-100)"
N_COARSE, N_FINE_PER_COARSE = 20, 5
_CACHE: dict = {}


def _shapes(g, n, size=16):
    """``n`` random blobs: a 4×4 Gaussian field, upsampled bicubically and cut at its median (half the square)."""
    field = F.interpolate(torch.randn(n, 1, 4, 4, generator=g), size=(size, size), mode="bicubic",
                          align_corners=False)[:, 0]
    return (field > field.flatten(1).median(1).values[:, None, None]).float()


def _looks(g, n_fine):
    """Per fine class: foreground and background RGB (kept apart), stripe angle and period, shape rotation."""
    fg = torch.rand(n_fine, 3, generator=g)
    bg = torch.rand(n_fine, 3, generator=g)
    close = (fg - bg).abs().sum(1) < 0.6                # push close colour pairs apart: the shape must stay visible
    bg[close] = 1 - fg[close]
    angle = torch.rand(n_fine, generator=g) * math.pi
    period = 3 + torch.rand(n_fine, generator=g) * 5
    return fg, bg, angle, period


def _render(shape, fg, bg, angle, period, phase, offset, noise, size=32):
    """Images (N, 3, size, size): striped background (bg ± 0.15), the shape pasted at ``offset`` in colour ``fg``."""
    n, s = shape.shape[0], shape.shape[-1]
    r = torch.arange(size, dtype=torch.float32)
    rr, cc = torch.meshgrid(r, r, indexing="ij")
    wave = torch.sin(2 * math.pi * (rr[None] * torch.sin(angle)[:, None, None] + cc[None] * torch.cos(angle)[:, None,
                     None]) / period[:, None, None] + phase[:, None, None])
    img = (bg[:, :, None, None] + 0.15 * wave[:, None]).clone()
    mask = torch.zeros(n, size, size)
    rows = offset[:, 0, None] + torch.arange(s)
    cols = offset[:, 1, None] + torch.arange(s)
    mask[torch.arange(n)[:, None, None], rows[:, :, None], cols[:, None, :]] = shape
    img = img * (1 - mask[:, None]) + fg[:, :, None, None] * mask[:, None]
    return (img + noise).clamp(0, 1)


def _sample(g, shapes, fg, bg, angle, period, fine, coarse, size=32):
    n = len(fine)
    s = shapes.shape[-1]
    sub = fine % N_FINE_PER_COARSE
    shape = _rotate(shapes[coarse], sub)
    jitter = torch.randint(-6, 7, (n, 2), generator=g)
    offset = ((size - s) // 2 + jitter).clamp(0, size - s)
    col = lambda c: (c[fine] + 0.08 * torch.randn(n, 3, generator=g)).clamp(0, 1)   # noqa: E731
    phase = torch.rand(n, generator=g) * 2 * math.pi
    noise = 0.05 * torch.randn(n, 3, size, size, generator=g)
    return _render(shape, col(fg), col(bg), angle[fine], period[fine], phase, offset, noise, size)


def _rotate(shape, sub):
    """Sub-population k of a super-class sees its shape rotated by k·90° (k < 4), the fifth mirrored and turned."""
    out = shape.clone()
    for k in range(N_FINE_PER_COARSE):        # five orientations, not a loop over samples
        sel = sub == k
        out[sel] = (torch.rot90(shape[sel], k, dims=(1, 2)) if k < 4
                    else torch.rot90(shape[sel], 1, dims=(1, 2)).flip(2))
    return out


def load_superclass_standin(n_train_per_fine: int = 500, n_test_per_fine: int = 100, seed: int = 0,
                            device=None) -> ImageDataset:
    """The stand-in, shaped like :func:`~scpviz.datasets.load_cifar100` (coarse labels in ``y_*``, both label sets
    and names in ``extras``), CIFAR-100's 500 training and 100 test images per fine class by default.

    Parameters
    ----------
    n_train_per_fine, n_test_per_fine : int
        Images per fine class.
    seed : int
        Same seed → same shapes, looks and images on any machine (drawn on the CPU).
    device : str or torch.device, optional

    Returns
    -------
    ImageDataset
        Named :data:`SUPERCLASS_STANDIN_NAME`; fine class ``f`` belongs to super-class ``f // 5`` and is its
        ``f % 5``-th sub-population, so :func:`~scpviz.datasets.superclass_split` puts sub-population ``i`` of every
        super-class in task ``i``.

    Examples
    --------
    >>> ds = load_superclass_standin(n_train_per_fine=2, n_test_per_fine=1, device="cpu")
    >>> ds.x_train.shape, ds.extras["coarse_names"][3], ds.extras["fine_names"][17]
    (torch.Size([200, 3, 32, 32]), 'shape 3', 'shape 3, look 2')
    """
    check_counts(n_train_per_fine=n_train_per_fine, n_test_per_fine=n_test_per_fine)
    dev = get_device() if device is None else torch.device(device)
    key = (n_train_per_fine, n_test_per_fine, int(seed), str(dev))
    if key in _CACHE:
        return _CACHE[key]
    g = torch.Generator().manual_seed(int(seed))
    n_fine = N_COARSE * N_FINE_PER_COARSE
    shapes = _shapes(g, N_COARSE)
    fg, bg, angle, period = _looks(g, n_fine)
    parts = {}
    for split, per in (("train", n_train_per_fine), ("test", n_test_per_fine)):
        fine = torch.arange(n_fine).repeat_interleave(per)
        coarse = fine // N_FINE_PER_COARSE
        x = _sample(g, shapes, fg, bg, angle, period, fine, coarse)
        parts[split] = (x.to(dev), fine.to(dev), coarse.to(dev))
    ds = ImageDataset(name=SUPERCLASS_STANDIN_NAME, x_train=parts["train"][0], y_train=parts["train"][2],
                      x_test=parts["test"][0], y_test=parts["test"][2], source=f"generated (seed={seed})",
                      extras={"fine_train": parts["train"][1], "coarse_train": parts["train"][2],
                              "fine_test": parts["test"][1], "coarse_test": parts["test"][2],
                              "fine_names": [f"shape {f // 5}, look {f % 5}" for f in range(n_fine)],
                              "coarse_names": [f"shape {c}" for c in range(N_COARSE)]})
    _CACHE[key] = ds
    return ds
