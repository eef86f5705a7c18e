"""Printed digits: the offline stand-in for SVHN, in the spirit of Ganin & Lempitsky's SynthDigits (2015).

What it imitates of SVHN, decided before any consolidation grid ran on it, and how each is checked
(:func:`printed_digits_properties`; tested, and shown in notebook 08):

* **printed digits in many typefaces**: every digit in 19 faces of 5 families that ship with matplotlib (DejaVu
  Sans, Sans Mono and Serif, STIX, Computer Modern; regular, bold, oblique/italic) — checked: every face draws
  every digit;
* **any colours, either polarity**: foreground and background colours drawn at random with a minimum luminance
  contrast, so about half the digits are lighter than their background — checked: that share lies in 0.35–0.65;
* **neighbouring digits of the house number**: partial digits at the left and right edges, in the same face —
  checked: at least half the images show one;
* **framing and camera**: small rotations and scale changes, a textured background, blur and noise, 32×32,
  converted to grayscale with the same luma weights as the SVHN pipeline (:func:`scpviz.datasets.svhn.to_grayscale`);
* **the domain gap to MNIST** (what makes MNIST → SVHN a test of consolidation): shown in notebook 08 by one
  teach-budget run without consolidation — MNIST is forgotten while the printed digits are learned.

Not imitated: SVHN's label frequencies (house numbers start with small digits more often; here every digit is
equally frequent), its real photographs, and its image count (as many images as a budget asks for are drawn).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ..config import get_device
from .images import ImageDataset

__all__ = ["PRINTED_DIGITS_NAME", "FONT_FILES", "glyph_atlas", "load_printed_digits", "printed_digits_properties"]

PRINTED_DIGITS_NAME = "printed digits (stand-in for SVHN)"
# faces that ship with matplotlib (so every machine draws the same digits): family, then weight and slant
FONT_FILES = ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "DejaVuSans-Oblique.ttf", "DejaVuSans-BoldOblique.ttf",
              "DejaVuSansMono.ttf", "DejaVuSansMono-Bold.ttf", "DejaVuSerif.ttf", "DejaVuSerif-Bold.ttf",
              "DejaVuSerif-Italic.ttf", "DejaVuSerif-BoldItalic.ttf", "STIXGeneral.ttf", "STIXGeneralBol.ttf",
              "STIXGeneralItalic.ttf", "STIXGeneralBolIta.ttf", "cmr10.ttf", "cmb10.ttf", "cmss10.ttf", "cmtt10.ttf",
              "cmti10.ttf")
_LUMA = torch.tensor((0.299, 0.587, 0.114))   # ITU-R BT.601, as scpviz.datasets.svhn.to_grayscale
_CANVAS, _GLYPH_HEIGHT = 64, 40               # glyphs drawn on a 64-pixel canvas, later reduced to the image size
_CHUNK = 1000                                 # images drawn from one generator; image i depends on (seed, i) only
_ATLAS: dict = {}
_CACHE: dict = {}


def glyph_atlas() -> torch.Tensor:
    """(faces, 10, 64, 64) float ink masks in [0, 1]: each digit of each face of :data:`FONT_FILES`, scaled to the
    same height and centred (drawn once per process with matplotlib's Agg renderer)."""
    if "atlas" in _ATLAS:
        return _ATLAS["atlas"]
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.font_manager import FontProperties

    folder = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    big = 128
    atlas = torch.zeros(len(FONT_FILES), 10, _CANVAS, _CANVAS)
    for f, name in enumerate(FONT_FILES):
        prop = FontProperties(fname=str(folder / name))
        for d in range(10):
            fig = Figure(figsize=(1, 1), dpi=big)
            canvas = FigureCanvasAgg(fig)
            fig.text(0.5, 0.5, str(d), fontproperties=prop, fontsize=60, ha="center", va="center", color="black")
            canvas.draw()
            ink = 1.0 - np.asarray(canvas.buffer_rgba())[..., 0].astype(np.float32) / 255.0
            rows, cols = np.nonzero(ink > 0.05)
            crop = torch.from_numpy(ink[rows.min():rows.max() + 1, cols.min():cols.max() + 1].copy())
            h, w = crop.shape
            new_w = max(1, min(_CANVAS - 2, round(w * _GLYPH_HEIGHT / h)))
            glyph = F.interpolate(crop[None, None], size=(_GLYPH_HEIGHT, new_w), mode="bilinear", antialias=True,
                                  align_corners=False)[0, 0]
            top, left = (_CANVAS - _GLYPH_HEIGHT) // 2, (_CANVAS - new_w) // 2
            atlas[f, d, top:top + _GLYPH_HEIGHT, left:left + new_w] = glyph.clamp(0, 1)
    _ATLAS["atlas"] = atlas
    return atlas


def _draw(n: int, g: torch.Generator, size: int) -> dict:
    """The first ``n`` of the :data:`_CHUNK` images ``g`` draws, and what was drawn for them (labels, faces,
    colours, neighbours), RGB in [0, 1]. Every random number is drawn for the whole chunk, so image i does not
    depend on how many are asked for."""
    atlas = glyph_atlas()
    n_faces = atlas.shape[0]
    m = _CHUNK

    def u(*shape):
        return torch.rand(m, *shape[1:], generator=g)[:n] if shape[0] == n else torch.rand(*shape, generator=g)

    y = torch.randint(0, 10, (m,), generator=g)[:n]
    face = torch.randint(0, n_faces, (m,), generator=g)[:n]
    angle = (u(n) * 2 - 1) * math.radians(12)
    scale = 0.85 + 0.3 * u(n)                                 # the digit's height: 0.53–0.72 of the image
    shift = (u(n, 2) * 2 - 1) * 0.06
    neighbours = torch.randint(0, 10, (m, 2), generator=g)[:n]
    has = u(n, 2) < 0.6                                       # a partial digit on the left / right
    gap = 0.95 + 0.25 * u(n)                                  # distance of a neighbour's centre, in image halves

    def place(digit, dx):
        cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
        theta = torch.stack([torch.stack([cos, -sin, -(cos * (shift[:, 0] + dx) - sin * shift[:, 1])], 1),
                             torch.stack([sin, cos, -(sin * (shift[:, 0] + dx) + cos * shift[:, 1])], 1)], 1)
        grid = F.affine_grid(theta, (n, 1, _CANVAS, _CANVAS), align_corners=False)
        return F.grid_sample(atlas[face, digit][:, None], grid, align_corners=False, padding_mode="zeros")

    ink = place(y, torch.zeros(n))
    for side, sign in ((0, -1.0), (1, 1.0)):
        ink = ink + has[:, side].float().reshape(n, 1, 1, 1) * place(neighbours[:, side], sign * gap * scale)
    ink = ink.clamp_(0, 1)
    # colours with a luminance contrast of at least 0.3, either polarity
    fg, bg = torch.rand(m, 3, generator=g), torch.rand(m, 3, generator=g)    # redrawn over the whole chunk
    low = ((fg - bg) @ _LUMA).abs() < 0.3
    while low.any():
        k = int(low.sum())
        fg[low], bg[low] = torch.rand(k, 3, generator=g), torch.rand(k, 3, generator=g)
        low = ((fg - bg) @ _LUMA).abs() < 0.3
    fg, bg = fg[:n], bg[:n]
    lum_fg, lum_bg = fg @ _LUMA, bg @ _LUMA
    texture = F.interpolate(u(n, 1, 6, 6) * 2 - 1, size=(_CANVAS, _CANVAS), mode="bicubic", align_corners=False)
    background = (bg[:, :, None, None] * (1 + 0.15 * texture)).clamp(0, 1)
    img = background * (1 - ink) + fg[:, :, None, None] * ink
    k = torch.exp(-torch.arange(-4, 5, dtype=torch.float32) ** 2 / (2 * 2.0 ** 2))
    k = (k / k.sum())
    blurred = F.conv2d(F.pad(img.reshape(-1, 1, _CANVAS, _CANVAS), (4, 4, 4, 4), mode="replicate"),
                       (k[:, None] * k[None, :])[None, None]).reshape_as(img)
    a = u(n, 1, 1, 1)
    img = (1 - a) * img + a * blurred
    img = F.interpolate(img, size=(size, size), mode="bilinear", antialias=True, align_corners=False)
    noise = torch.randn(m, *img.shape[1:], generator=g)[:n]
    img = (img + noise * (0.04 * u(n, 1, 1, 1))).clamp_(0, 1)
    return dict(rgb=img, y=y, face=face, lighter=lum_fg > lum_bg, neighbour=has.any(1))


def load_printed_digits(n_train: int = 20000, n_test: int = 5000, seed: int = 0, size: int = 32,
                        device=None) -> ImageDataset:
    """The printed-digits stand-in for SVHN: (N, 1, size, size) grayscale images in [0, 1] (as :func:`load_svhn`
    gives SVHN), labels 0–9; train and test drawn from separate streams of ``seed`` (read once per process).

    Parameters
    ----------
    n_train, n_test : int
        How many images to draw (SVHN has 73,257 and 26,032).
    seed : int
    size : int
        Side length (SVHN: 32).
    device : str or torch.device, optional

    Returns
    -------
    ImageDataset
        Image i of a split depends only on ``seed`` and i (not on how many are drawn), for a given matplotlib
        (its FreeType draws the glyphs). Named :data:`PRINTED_DIGITS_NAME`; ``extras`` hold, per split, the face of each image, whether its digit is
        lighter than its background and whether it shows a neighbouring digit (what
        :func:`printed_digits_properties` checks).
    """
    for name, v in (("n_train", n_train), ("n_test", n_test), ("size", size)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < (8 if name == "size" else 1):
            raise ValueError(f"{name}={v!r} must be a positive integer" + (" >= 8" if name == "size" else "") + ".")
    dev = get_device() if device is None else torch.device(device)
    key = (int(n_train), int(n_test), int(seed), int(size), str(dev))
    if key in _CACHE:
        return _CACHE[key]
    parts, extras = {}, {}
    for split, n, stream in (("train", n_train, 0), ("test", n_test, 1)):
        drawn = [_draw(min(_CHUNK, n - i), torch.Generator().manual_seed(10_000_019 * int(seed) + 1_000_003 * stream
                                                                         + i // _CHUNK), size)
                 for i in range(0, n, _CHUNK)]
        cat = {k: torch.cat([d[k] for d in drawn]) for k in drawn[0]}
        gray = (cat["rgb"] * _LUMA.reshape(1, 3, 1, 1)).sum(1, keepdim=True)
        parts[split] = (gray.to(dev).contiguous(), cat["y"].to(dev))
        extras.update({f"{k}_{split}": cat[k] for k in ("face", "lighter", "neighbour")})
    ds = ImageDataset(name=PRINTED_DIGITS_NAME, x_train=parts["train"][0], y_train=parts["train"][1],
                      x_test=parts["test"][0], y_test=parts["test"][1], source=f"drawn from seed {seed}",
                      extras=extras)
    _CACHE[key] = ds
    return ds


def printed_digits_properties(ds: ImageDataset, split: str = "train") -> dict:
    """The properties of SVHN that the stand-in imitates, measured on ``ds`` (see the module notes).

    Returns
    -------
    dict
        ``faces`` (distinct faces drawn), ``faces_per_digit`` (the fewest faces any digit was drawn in),
        ``lighter_share`` (digits lighter than their background), ``neighbour_share`` (images with a partial
        neighbouring digit), ``label_shares`` (per digit), ``n``.
    """
    y = (ds.y_train if split == "train" else ds.y_test).cpu()
    face, lighter, nb = (ds.extras[f"{k}_{split}"] for k in ("face", "lighter", "neighbour"))
    return dict(n=len(y), faces=int(face.unique().numel()),
                faces_per_digit=min(int(face[y == d].unique().numel()) for d in range(10)),
                lighter_share=float(lighter.float().mean()), neighbour_share=float(nb.float().mean()),
                label_shares=torch.bincount(y, minlength=10).float().div(len(y)).tolist())
