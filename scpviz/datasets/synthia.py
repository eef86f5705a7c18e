"""SYNTHIA-SEQS driving sequences for semantic segmentation (§5.3, Figures 5 and 6), read from the dataset's own
on-disk layout.

A sequence folder (``$SCPVIZ_DATA/SYNTHIA-SEQS-01-SUMMER``, ``...-WINTER``) holds

* ``RGB/Stereo_Left/Omni_F/000000.png, ...`` — 8-bit colour frames;
* ``GT/LABELS/Stereo_Left/Omni_F/000000.png, ...`` — **16-bit** 3-channel PNGs, the class id in the first channel
  (the second holds an instance id). Pillow opens 16-bit colour PNGs as 8-bit and divides the values by 257, which
  turns every id into 0: the labels are read with ``pypng``, which keeps 16 bits (tested on files written in exactly
  that encoding); the colour frames with Pillow.

Classes 0–12 are the paper's 13 (void, sky, building, road, sidewalk, fence, vegetation, pole, car, sign, pedestrian,
cyclist, lane marking); the ids above 12 (13, 14 reserved, 15 traffic light) are mapped to void. The last
``n_test`` frames of each sequence are its test set (§5.3: the last 100). Datasets cannot be downloaded on the
machines this project runs on.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import png
import torch
import torch.nn.functional as F
from PIL import Image

from ..config import DATA_ENV, data_root, get_device
from .images import ImageDataset

__all__ = ["SYNTHIA_CLASSES", "SYNTHIA_SEQUENCES", "RGB_DIR", "LABEL_DIR", "find_synthia", "read_label_png",
           "write_png16", "load_synthia"]

SYNTHIA_CLASSES = ("void", "sky", "building", "road", "sidewalk", "fence", "vegetation", "pole", "car", "sign",
                   "pedestrian", "cyclist", "lane marking")
SYNTHIA_SEQUENCES = {"summer": "SYNTHIA-SEQS-01-SUMMER", "winter": "SYNTHIA-SEQS-01-WINTER"}
RGB_DIR = Path("RGB/Stereo_Left/Omni_F")
LABEL_DIR = Path("GT/LABELS/Stereo_Left/Omni_F")
_CACHE: dict = {}


def find_synthia(sequence: str, root=None) -> Path | None:
    """``root/sequence`` if it holds frames and labels in the SYNTHIA layout (PNG files in both), else ``None``."""
    folder = data_root(root) / SYNTHIA_SEQUENCES.get(sequence, sequence)
    ok = all(any((folder / d).glob("*.png")) for d in (RGB_DIR, LABEL_DIR)) if folder.is_dir() else False
    return folder if ok else None


def read_label_png(path) -> torch.Tensor:
    """Class ids (H, W) int64 from a SYNTHIA label PNG: the first channel, all 16 bits (ids > 12 → 0, void)."""
    try:
        w, h, rows, info = png.Reader(filename=str(path)).read()
        a = np.vstack([np.asarray(r, dtype=np.int64) for r in rows]).reshape(h, w, info["planes"])
    except (png.Error, OSError) as exc:
        raise ValueError(f"cannot decode {path} as a PNG ({exc}).") from None
    ids = torch.from_numpy(a[..., 0].copy())
    return torch.where(ids < len(SYNTHIA_CLASSES), ids, torch.zeros_like(ids))


def write_png16(path, rgb16: np.ndarray) -> None:
    """Write (H, W, 3) integers in [0, 65535] as a 16-bit RGB PNG (the encoding of SYNTHIA's label files)."""
    a = np.asarray(rgb16)
    if a.ndim != 3 or a.shape[2] != 3 or a.min() < 0 or a.max() > 65535:
        raise ValueError(f"rgb16 must be (H, W, 3) integers in [0, 65535], got shape {a.shape}.")
    h, w, _ = a.shape
    with open(path, "wb") as f:
        png.Writer(w, h, bitdepth=16, greyscale=False).write_array(f, a.astype(np.uint16).reshape(-1))


def _read_rgb(path) -> torch.Tensor:
    with Image.open(path) as im:
        return torch.from_numpy(np.asarray(im.convert("RGB")).copy()).permute(2, 0, 1)


def _frames(folder: Path):
    rgb = sorted((folder / RGB_DIR).glob("*.png"))
    names = {p.name for p in (folder / LABEL_DIR).glob("*.png")}
    missing = [p.name for p in rgb if p.name not in names]
    if missing:
        raise ValueError(f"{folder / LABEL_DIR} lacks the labels of {len(missing)} frames (e.g. {missing[0]}): every "
                         f"RGB frame needs a label PNG of the same name.")
    return rgb


def load_synthia(sequence: str = "summer", root=None, size=(64, 96), n_test: int = 100, device=None,
                 name: str | None = None) -> ImageDataset:
    """One SYNTHIA sequence as frames (N, 3, h, w) in [0, 1] and class maps (N, h, w), the last ``n_test`` frames held
    out as test (read once per process and size).

    Parameters
    ----------
    sequence : {"summer", "winter"} or a folder name
        ``"summer"`` → ``SYNTHIA-SEQS-01-SUMMER`` (§5.3's task 1), ``"winter"`` → ``...-WINTER`` (task 2).
    root : path, optional
        Data root (default :func:`scpviz.config.data_root`).
    size : (int, int)
        Frames are resized to (h, w): bilinear for the images, nearest for the labels (ids are not averaged).
    n_test : int
        The last frames of the sequence kept for testing (100 in §5.3).
    name : str, optional
        Dataset name (default the folder's name); a stand-in passes its labelled name.

    Returns
    -------
    ImageDataset
        ``y_*`` are class maps (int64, 0–12); ``extras["classes"]`` the 13 class names, ``extras["frames"]`` the file
        names in order.
    """
    h, w = (int(v) for v in size)
    if h < 8 or w < 8:
        raise ValueError(f"size={size!r} must be at least 8 × 8 pixels.")
    folder = find_synthia(sequence, root)
    if folder is None:
        want = data_root(root) / SYNTHIA_SEQUENCES.get(sequence, sequence)
        raise FileNotFoundError(
            f"SYNTHIA sequence not found: put {want.name} (with {RGB_DIR}/*.png and {LABEL_DIR}/*.png, from "
            f"https://synthia-dataset.net) in {want.parent}, or set {DATA_ENV}. SYNTHIA has no scripted download "
            "(it needs a registration): python -m scpviz info prints the layout expected.")
    dev = get_device() if device is None else torch.device(device)
    key = (str(folder.resolve()), (h, w), int(n_test), str(dev))
    if key in _CACHE:
        return _CACHE[key]
    frames = _frames(folder)
    if isinstance(n_test, bool) or not isinstance(n_test, int) or not 0 < n_test < len(frames):
        raise ValueError(f"n_test={n_test!r} must be a positive integer below the sequence's {len(frames)} frames.")
    x = torch.stack([_read_rgb(p) for p in frames]).float() / 255
    y = torch.stack([read_label_png(folder / LABEL_DIR / p.name) for p in frames])
    if tuple(x.shape[2:]) != (h, w):
        x = F.interpolate(x, size=(h, w), mode="bilinear", align_corners=False, antialias=True)
        y = F.interpolate(y[:, None].float(), size=(h, w), mode="nearest")[:, 0].long()
    k = len(frames) - n_test
    ds = ImageDataset(name=name or folder.name, x_train=x[:k].to(dev), y_train=y[:k].to(dev), x_test=x[k:].to(dev),
                      y_test=y[k:].to(dev), source=str(folder),
                      extras={"classes": list(SYNTHIA_CLASSES), "frames": [p.name for p in frames]})
    _CACHE[key] = ds
    return ds
