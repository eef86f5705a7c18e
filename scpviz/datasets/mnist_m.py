"""MNIST-M-style digits, the offline stand-in for SVHN: MNIST blended with random patches of colour photographs.

Ganin & Lempitsky (2015, §4.1) built MNIST-M as ``|patch − digit|`` per colour channel, with patches cropped at
random from the BSDS500 photographs. No photograph collection can be downloaded on the machines this project runs on,
so the patches come from the two colour photographs scikit-learn bundles (``load_sample_images``: a Chinese temple
and a flower, 427×640). The result is a real-image domain shift — textured, coloured backgrounds, inverted digits
over bright regions — not noise; it is *not* SVHN (house numbers photographed in the street), and every result
computed on it says so (:data:`MNIST_M_NAME`).

Deterministic from ``seed`` (a ``torch.Generator`` draws each image's photograph and crop) and cached per process.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ..config import get_device
from .images import ImageDataset
from .mnist import load_mnist
from .svhn import to_grayscale

__all__ = ["MNIST_M_NAME", "sample_photos", "blend_with_photos", "load_mnist_m"]

MNIST_M_NAME = "MNIST-M (stand-in for SVHN)"
_CACHE: dict = {}


def sample_photos() -> torch.Tensor:
    """scikit-learn's two bundled colour photographs, (2, 3, 427, 640) uint8."""
    from sklearn.datasets import load_sample_images

    return torch.stack([torch.from_numpy(im.copy()).permute(2, 0, 1).contiguous()
                        for im in load_sample_images().images])


def blend_with_photos(digits: torch.Tensor, photos: torch.Tensor | None = None, seed: int = 0,
                      chunk: int = 8192) -> torch.Tensor:
    """MNIST-M's blend: ``|patch − digit|`` per colour channel, one random photo patch per image.

    Parameters
    ----------
    digits : Tensor, shape (N, 1, S, S), float in [0, 1]
        White digits on black (MNIST's convention).
    photos : Tensor, shape (P, 3, H, W), uint8, optional
        Default :func:`sample_photos`; H, W ≥ S.
    seed : int
        Seeds each image's photograph and crop position.
    chunk : int
        Images blended at a time (bounds the memory).

    Returns
    -------
    Tensor, shape (N, 3, S, S), float32 in [0, 1], on ``digits``' device

    Examples
    --------
    >>> x = torch.zeros(2, 1, 8, 8); x[:, :, 2:6, 3:5] = 1.0
    >>> photos = torch.full((1, 3, 10, 10), 255, dtype=torch.uint8)
    >>> out = blend_with_photos(x, photos, seed=0)
    >>> out.shape, float(out[0, :, 3, 3].max()), float(out[0, :, 0, 0].min())   # digit inverted on a white photo
    (torch.Size([2, 3, 8, 8]), 0.0, 1.0)
    """
    if digits.ndim != 4 or digits.shape[1] != 1 or digits.shape[2] != digits.shape[3]:
        raise ValueError(f"digits must be (N, 1, S, S) grayscale images, got shape {tuple(digits.shape)}.")
    photos = sample_photos() if photos is None else photos
    if photos.ndim != 4 or photos.shape[1] != 3 or photos.dtype != torch.uint8:
        raise ValueError(f"photos must be (P, 3, H, W) uint8 colour images, got {tuple(photos.shape)} {photos.dtype}.")
    n, s = len(digits), digits.shape[-1]
    n_photos, _, h, w = photos.shape
    if h < s or w < s:
        raise ValueError(f"photos of {h}x{w} pixels are smaller than the {s}x{s} images: nothing to crop.")
    g = torch.Generator().manual_seed(int(seed))
    which = torch.randint(n_photos, (n,), generator=g)
    top = torch.randint(h - s + 1, (n,), generator=g)
    left = torch.randint(w - s + 1, (n,), generator=g)
    photos = photos.to(digits.device)
    ar = torch.arange(s, device=digits.device)
    out = torch.empty(n, 3, s, s, dtype=torch.float32, device=digits.device)
    for i in range(0, n, chunk):
        sl = slice(i, i + chunk)
        p, r, c = which[sl].to(digits.device), top[sl].to(digits.device), left[sl].to(digits.device)
        rows = (r[:, None] + ar)[:, None, :, None]             # (n, 1, S, 1)
        cols = (c[:, None] + ar)[:, None, None, :]             # (n, 1, 1, S)
        chan = torch.arange(3, device=digits.device)[None, :, None, None]
        patch = photos[p[:, None, None, None], chan, rows, cols].to(torch.float32) / 255.0
        out[sl] = (patch - digits[sl].to(torch.float32)).abs_()
    return out


def _resize(x, size):
    if x.shape[-1] == size:
        return x
    return F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False).clamp_(0, 1)


def load_mnist_m(base: ImageDataset | None = None, seed: int = 0, size: int = 32, color: bool = False,
                 device=None) -> ImageDataset:
    """The MNIST-M stand-in: every image of ``base`` (MNIST) resized to ``size`` and blended with a photo patch.

    Parameters
    ----------
    base : ImageDataset, optional
        The digits to blend; default :func:`scpviz.datasets.load_mnist` (which may fall back to the sklearn digits,
        with its notice; the name then says so). Image ``i`` of the stand-in is image ``i`` of ``base`` with the
        same label, so a stream that uses both must keep their indices apart
        (:func:`scpviz.datasets.domain_shift_tasks` does).
    seed : int
        Seed of the patches (train and test draw from different streams of it).
    size : int
        Side length (32 in §8.4).
    color : bool
        Keep the three colour channels (for showing them); default grayscale (BT.601 luma, as the SVHN loader).
    device : str or torch.device, optional

    Returns
    -------
    ImageDataset
        ``name`` is :data:`MNIST_M_NAME` (plus the base's name when it is not MNIST); images (N, 1 or 3, size, size)
        float32 in [0, 1].
    """

    if isinstance(size, bool) or not isinstance(size, int) or size < 8:
        raise ValueError(f"size={size!r} must be an integer >= 8 (pixels per side).")
    dev = get_device() if device is None else torch.device(device)
    base = load_mnist(device=dev) if base is None else base
    key = (base.name, base.source, len(base.y_train), int(seed), size, bool(color), str(dev))
    if key in _CACHE:
        return _CACHE[key]
    photos = sample_photos()
    parts = []
    for j, x in enumerate((base.x_train, base.x_test)):
        rgb = blend_with_photos(_resize(x.to(dev), size), photos, seed=int(seed) * 2 + j)
        parts.append(rgb if color else to_grayscale(rgb.mul_(255).round_().to(torch.uint8)))
    name = MNIST_M_NAME if base.name == "MNIST" else f"{MNIST_M_NAME}, from {base.name}"
    ds = ImageDataset(name=name, x_train=parts[0], y_train=base.y_train.to(dev), x_test=parts[1],
                      y_test=base.y_test.to(dev),
                      source=f"{base.source} blended with sklearn.datasets.load_sample_images() patches, seed {seed}")
    _CACHE[key] = ds
    return ds
