"""Shapes with parts: the offline stand-in for CIFAR-100's super-classes (supplementary §8.5), second design.

The first stand-in (:mod:`scpviz.datasets.superclass_standin`) gave every sub-population its own colours and
rotation, so little carried over from task to task: without consolidation old tasks fell to guessing, and a network
trained on task 1 classified task 2 at chance — the paper's question, whether a penalty keeps a representation that
later tasks reuse, could not arise. This design keeps the structure (20 super-classes × 5 sub-populations, one per
task, one 20-way head) and changes what carries the label. Decided before any consolidation grid ran on it:

* **the super-class is a silhouette with parts**: a body (a smooth random blob) with two smaller parts attached at
  places of its own — shared by all five sub-populations, as "vehicles" share wheels and windows;
* **a sub-population is a look**: its own smooth deformation of the silhouette and aspect ratio, and its own
  *texture family* (stripes, dots, checks, blotches, rings) — the same five families for every super-class, so a
  texture tells the task, never the label;
* **no colour code**: the object's and the ground's colours are drawn per image, independently of class and task —
  any hue and saturation, the object bright (luminance 0.6–1) and the ground dark (0–0.35), as a lit object on a
  shadowed ground, so the silhouette is visible whatever the hue;
* within a sub-population images vary by position, rotation (±15°), scale, texture phase and pixel noise.

Checks (:func:`shape_superclass_properties`; tests): colour alone (nearest class mean of an image's average colour)
classifies super-classes at most twice as well as chance; every super-class appears in every task. The property the
design exists for — a network trained on task 1 alone classifies the later tasks' images above chance (twice chance,
set before measuring) before seeing them — is measured by
:meth:`scpviz.experiments.cifar100_superclasses.Cifar100Superclasses.zero_shot`.

How the colours were settled, on those two checks only (no consolidation run was made on any draft): colours of any
luminance for object and ground (their luminances at least 0.25 apart, either way round) kept a network at the
teach budget of version 0.3 (4 epochs × 1,000 images) near guessing on task 1 (5 %), and at 30 epochs still at
41 %; white objects on black grounds were learned (28 % at 4 epochs) but have no colour at all. Bright objects of any
hue on dark grounds are learned at 20 epochs (task 1: 83 and 71 %, the next tasks zero-shot 19–35 %, seeds 0 and
1), which set the experiment's teach budget. It is far simpler than photographs: compare methods on it, not accuracies with
CIFAR-100's.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from ..config import get_device
from .images import ImageDataset, check_counts

__all__ = ["SHAPE_SUPERCLASSES_NAME", "TEXTURES", "load_shape_superclasses", "shape_superclass_properties"]

SHAPE_SUPERCLASSES_NAME = "shapes with parts (stand-in for CIFAR-100)"
TEXTURES = ("stripes", "dots", "checks", "blotches", "rings")
N_COARSE, N_FINE_PER_COARSE, SIZE = 20, 5, 32
_LUMA = torch.tensor((0.299, 0.587, 0.114))
_CACHE: dict = {}


def _blobs(g, n, size, keep):
    """``n`` smooth random blobs on a ``size`` grid: a 5×5 Gaussian field, upsampled, its top ``keep`` share kept."""
    field = F.interpolate(torch.randn(n, 1, 5, 5, generator=g), size=(size, size), mode="bicubic",
                          align_corners=False)[:, 0]
    r = torch.linspace(-1, 1, size)
    field = field - 2.5 * (r[None, :, None] ** 2 + r[None, None, :] ** 2)        # keep it in the middle
    cut = field.flatten(1).quantile(1 - keep, dim=1)
    return (field > cut[:, None, None]).float()


def _silhouettes(g) -> torch.Tensor:
    """(20, 5, 32, 32) masks: super-class c's body and two parts, deformed per sub-population."""
    body = _blobs(g, N_COARSE, 20, keep=0.45)                                    # (20, 20, 20)
    part = _blobs(g, 2 * N_COARSE, 10, keep=0.5).reshape(N_COARSE, 2, 10, 10)
    canvas = torch.zeros(N_COARSE, SIZE, SIZE)
    canvas[:, 6:26, 6:26] = body
    where = torch.randint(0, 4, (N_COARSE, 2), generator=g)                      # parts at two of four sides
    slots = ((0, 11), (22, 11), (11, 0), (11, 22))
    for c in range(N_COARSE):                                                    # 20 classes × 2 parts: the design
        for k in range(2):
            r0, c0 = slots[int(where[c, k])]
            canvas[c, r0:r0 + 10, c0:c0 + 10] = torch.maximum(canvas[c, r0:r0 + 10, c0:c0 + 10], part[c, k])
    # sub-population looks: a smooth displacement field and an aspect ratio each
    n = N_COARSE * N_FINE_PER_COARSE
    disp = F.interpolate(torch.randn(n, 2, 3, 3, generator=g) * 0.12, size=(SIZE, SIZE), mode="bicubic",
                         align_corners=False).permute(0, 2, 3, 1)
    aspect = 0.8 + 0.4 * torch.rand(n, generator=g)
    theta = torch.zeros(n, 2, 3)
    theta[:, 0, 0], theta[:, 1, 1] = aspect, 1 / aspect
    grid = F.affine_grid(theta, (n, 1, SIZE, SIZE), align_corners=False) + disp
    src = canvas.repeat_interleave(N_FINE_PER_COARSE, 0)[:, None]
    return F.grid_sample(src, grid, align_corners=False).reshape(N_COARSE, N_FINE_PER_COARSE, SIZE, SIZE)


def _texture(kind: torch.Tensor, g, n) -> torch.Tensor:
    """(n, 32, 32) textures in [0, 1]: image i of family ``kind[i]`` (an index into :data:`TEXTURES`)."""
    r = torch.arange(SIZE, dtype=torch.float32)
    yy, xx = torch.meshgrid(r, r, indexing="ij")
    angle = torch.rand(n, generator=g)[:, None, None] * math.pi
    phase = torch.rand(n, generator=g)[:, None, None] * 2 * math.pi
    u = xx * torch.cos(angle) + yy * torch.sin(angle)
    v = -xx * torch.sin(angle) + yy * torch.cos(angle)
    period = 4.0
    stripes = 0.5 + 0.5 * torch.sin(2 * math.pi * u / period + phase)
    dots = ((torch.sin(2 * math.pi * u / period + phase) * torch.sin(2 * math.pi * v / period + phase)) > 0.5).float()
    checks = ((torch.sin(math.pi * u / period + phase) * torch.sin(math.pi * v / period)) > 0).float()
    blotches = F.interpolate(torch.rand(n, 1, 6, 6, generator=g), size=(SIZE, SIZE), mode="bicubic",
                             align_corners=False)[:, 0].clamp(0, 1)
    rad = torch.sqrt((xx - 16) ** 2 + (yy - 16) ** 2)
    rings = 0.5 + 0.5 * torch.sin(2 * math.pi * rad / period + phase)
    stack = torch.stack([stripes, dots, checks, blotches, rings], 1)             # (n, 5, 32, 32)
    return stack[torch.arange(n), kind]


def _colours(n, luminance, g) -> torch.Tensor:
    """(n, 3) colours of any hue and saturation, their luminance uniform in ``luminance`` (a (low, high) pair):
    bright objects on dark grounds, so that the silhouette is visible whatever the hue."""
    low, high = luminance
    grey = low + (high - low) * torch.rand(n, 1, generator=g)
    tint = torch.rand(n, 3, generator=g) - 0.5
    tint = tint - (tint @ _LUMA)[:, None]                  # a tint that leaves the luminance as drawn ...
    room = torch.where(tint > 0, (1 - grey) / tint.clamp_min(1e-9), grey / (-tint).clamp_min(1e-9))
    return grey + tint * room.amin(1, keepdim=True).clamp(max=1)   # ... shortened to stay inside [0, 1]


def _draw(fine: torch.Tensor, silhouettes, g) -> tuple:
    """Images (N, 3, 32, 32) of the fine classes ``fine``, and each image's foreground and background colour."""
    n = len(fine)
    coarse, sub = fine // N_FINE_PER_COARSE, fine % N_FINE_PER_COARSE
    angle = (torch.rand(n, generator=g) * 2 - 1) * math.radians(15)
    scale = 0.85 + 0.25 * torch.rand(n, generator=g)
    shift = (torch.rand(n, 2, generator=g) * 2 - 1) * 0.15
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    theta = torch.stack([torch.stack([cos, -sin, shift[:, 0]], 1), torch.stack([sin, cos, shift[:, 1]], 1)], 1)
    grid = F.affine_grid(theta, (n, 1, SIZE, SIZE), align_corners=False)
    mask = F.grid_sample(silhouettes[coarse, sub][:, None], grid, align_corners=False)[:, 0].clamp(0, 1)
    fg, bg = _colours(n, (0.6, 1.0), g), _colours(n, (0.0, 0.35), g)
    tex_fg = _texture(sub, g, n)                                                 # the sub-population's family
    tex_bg = _texture(torch.randint(0, len(TEXTURES), (n,), generator=g), g, n)  # any family: says nothing
    fore = fg[:, :, None, None] * (0.65 + 0.35 * tex_fg[:, None])
    back = bg[:, :, None, None] * (0.8 + 0.2 * tex_bg[:, None])
    img = back * (1 - mask[:, None]) + fore * mask[:, None]
    img = img + 0.04 * torch.randn(img.shape, generator=g)
    return img.clamp(0, 1), fg, bg


def load_shape_superclasses(n_train_per_fine: int = 500, n_test_per_fine: int = 100, seed: int = 0,
                            device=None) -> ImageDataset:
    """The stand-in, shaped like :func:`~scpviz.datasets.load_cifar100` (coarse labels in ``y_*``, both label sets
    and names in ``extras``): 20 super-classes × 5 sub-populations, CIFAR-100's 500 training and 100 test images per
    fine class by default.

    Parameters
    ----------
    n_train_per_fine, n_test_per_fine : int
        Images per fine class.
    seed : int
        Same seed → same silhouettes, looks and images (drawn on the CPU).
    device : str or torch.device, optional

    Returns
    -------
    ImageDataset
        Named :data:`SHAPE_SUPERCLASSES_NAME`; fine class ``f`` is sub-population ``f % 5`` of super-class
        ``f // 5``; ``extras`` also hold every image's foreground colour (``fg_train``, ``fg_test``), which
        :func:`shape_superclass_properties` uses to check that colour says nothing about the class.

    Examples
    --------
    >>> ds = load_shape_superclasses(n_train_per_fine=2, n_test_per_fine=1, device="cpu")
    >>> ds.x_train.shape, ds.extras["fine_names"][17]
    (torch.Size([200, 3, 32, 32]), 'silhouette 3, look 2 (checks)')
    """
    check_counts(n_train_per_fine=n_train_per_fine, n_test_per_fine=n_test_per_fine)
    dev = get_device() if device is None else torch.device(device)
    key = (n_train_per_fine, n_test_per_fine, int(seed), str(dev))
    if key in _CACHE:
        return _CACHE[key]
    g = torch.Generator().manual_seed(int(seed))
    silhouettes = _silhouettes(g)
    n_fine = N_COARSE * N_FINE_PER_COARSE
    parts, colours = {}, {}
    for split, per in (("train", n_train_per_fine), ("test", n_test_per_fine)):
        fine = torch.arange(n_fine).repeat_interleave(per)
        x, fg, _ = _draw(fine, silhouettes, g)
        parts[split] = (x.to(dev), fine.to(dev), (fine // N_FINE_PER_COARSE).to(dev))
        colours[split] = fg
    ds = ImageDataset(name=SHAPE_SUPERCLASSES_NAME, x_train=parts["train"][0], y_train=parts["train"][2],
                      x_test=parts["test"][0], y_test=parts["test"][2], source=f"generated (seed={seed})",
                      extras={"fine_train": parts["train"][1], "coarse_train": parts["train"][2],
                              "fine_test": parts["test"][1], "coarse_test": parts["test"][2],
                              "fg_train": colours["train"], "fg_test": colours["test"],
                              "fine_names": [f"silhouette {f // 5}, look {f % 5} ({TEXTURES[f % 5]})"
                                             for f in range(n_fine)],
                              "coarse_names": [f"silhouette {c}" for c in range(N_COARSE)]})
    _CACHE[key] = ds
    return ds


def shape_superclass_properties(ds: ImageDataset) -> dict:
    """What the design promises, measured on ``ds`` (see the module notes).

    Returns
    -------
    dict
        ``colour_accuracy``: super-class accuracy on the test images of nearest class means of the images' mean
        colours (fitted on the training images; chance is 1/20); ``classes_per_task``: the fewest super-classes a
        task holds; ``chance``.
    """
    def mean_colour(x):
        return x.float().mean((2, 3)).cpu()

    xtr, ytr = mean_colour(ds.x_train), ds.y_train.cpu()
    xte, yte = mean_colour(ds.x_test), ds.y_test.cpu()
    centroids = torch.stack([xtr[ytr == c].mean(0) for c in range(N_COARSE)])
    acc = float((torch.cdist(xte, centroids).argmin(1) == yte).float().mean())
    sub = ds.extras["fine_train"].cpu() % N_FINE_PER_COARSE
    per_task = min(int(ytr[sub == s].unique().numel()) for s in range(N_FINE_PER_COARSE))
    return dict(colour_accuracy=acc, classes_per_task=per_task, chance=1 / N_COARSE)
