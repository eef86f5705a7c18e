"""SVHN in torchvision's on-disk format (``$SCPVIZ_DATA/SVHN/{train,test}_32x32.mat``), as grayscale images.

The supplementary §8.4 (MNIST → SVHN, Figure 7) converts SVHN to grayscale and brings both datasets to 32×32
(the authors' ``utils/svhn_mnist_loader.py``). The files are MATLAB v5 ``.mat`` files holding ``X`` (32, 32, 3, N)
uint8 and ``y`` (N, 1) with the digit 0 stored as label **10**; they are read with :func:`scipy.io.loadmat`, as
torchvision's ``SVHN`` class does, and 10 is mapped to 0 the same way. When the files are absent and the machine
is online, :func:`load_svhn` downloads them (:mod:`scpviz.datasets.download`: torchvision's URLs and MD5 sums, or
``$SCPVIZ_MIRROR``); offline it says where to put them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ..config import DATA_ENV, data_root, get_device
from .download import can_download, fetch
from .images import ImageDataset

__all__ = ["SVHN_FILES", "svhn_name", "find_svhn", "load_svhn", "to_grayscale"]

SVHN_FILES = {"train": "train_32x32.mat", "test": "test_32x32.mat"}
_LUMA = (0.299, 0.587, 0.114)   # ITU-R BT.601, what PIL's convert("L") uses
_CACHE: dict = {}


def svhn_name(size: int = 32) -> str:
    """The dataset name results and figures carry."""
    return f"SVHN (grayscale, {size}x{size})"


def find_svhn(root=None) -> Path | None:
    """``root/SVHN`` if it holds both ``.mat`` files of torchvision's layout, else ``None``."""
    folder = data_root(root) / "SVHN"
    return folder if all((folder / f).is_file() for f in SVHN_FILES.values()) else None


def to_grayscale(x: torch.Tensor) -> torch.Tensor:
    """(N, 3, H, W) uint8 RGB → (N, 1, H, W) float32 luma in [0, 1] (ITU-R BT.601 weights)."""
    if x.ndim != 4 or x.shape[1] != 3:
        raise ValueError(f"x must be (N, 3, H, W) RGB images, got shape {tuple(x.shape)}.")
    w = torch.tensor(_LUMA, dtype=torch.float32, device=x.device).reshape(1, 3, 1, 1)
    return (x.to(torch.float32) * w).sum(1, keepdim=True) / 255.0


def _read_split(path: Path):
    from scipy.io import loadmat

    try:
        mat = loadmat(str(path))
    except Exception as exc:
        raise ValueError(f"cannot read {path} as an SVHN .mat file ({type(exc).__name__}: {exc}).") from None
    if "X" not in mat or "y" not in mat:
        raise ValueError(f"{path} holds no 'X' and 'y' arrays: not an SVHN file of torchvision's format.")
    X, y = mat["X"], mat["y"].astype(np.int64).reshape(-1)
    if X.ndim != 4 or X.shape[2] != 3 or X.shape[3] != len(y):
        raise ValueError(f"{path}: X has shape {X.shape}, expected (32, 32, 3, N) with N = len(y) = {len(y)}.")
    if y.size and (y.min() < 1 or y.max() > 10):
        raise ValueError(f"{path}: labels must lie in 1..10 (10 is the digit 0), got {y.min()}..{y.max()}.")
    y[y == 10] = 0
    return torch.from_numpy(np.ascontiguousarray(np.transpose(X, (3, 2, 0, 1)))), torch.from_numpy(y)


def load_svhn(root=None, device=None, size: int = 32, download: bool | None = None) -> ImageDataset:
    """SVHN as grayscale float images in [0, 1], (N, 1, size, size), on the device (read once per process).

    Parameters
    ----------
    root : path, optional
        Data root; SVHN lives in ``root/SVHN``. Default :func:`scpviz.config.data_root`.
    device : str or torch.device, optional
    size : int
        Side length; 32 is the files' own size, other sizes are resampled (bilinear, antialiased).
    download : bool, optional
        Download the files when they are missing. Default: when the host (or ``$SCPVIZ_MIRROR``) answers.

    Raises
    ------
    FileNotFoundError
        When the files are not there and cannot be downloaded, naming the folder and the files to put in it.
    ValueError
        When a download fails or a file does not match torchvision's checksum (the data folder is left as it was).
    """
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 8:
        raise ValueError(f"size={size!r} must be an integer >= 8 (pixels per side).")
    folder = find_svhn(root)
    if folder is None and (can_download("svhn") if download is None else download):
        fetch("svhn", root)
        folder = find_svhn(root)
    if folder is None:
        want = data_root(root) / "SVHN"
        raise FileNotFoundError(
            f"SVHN not found: put {SVHN_FILES['train']} and {SVHN_FILES['test']} (torchvision's format, from "
            f"http://ufldl.stanford.edu/housenumbers/) in {want}, or set {DATA_ENV} to a folder holding SVHN/; "
            "online, it is downloaded there (this machine could not reach the host).")
    dev = get_device() if device is None else torch.device(device)
    key = (str(folder.resolve()), str(dev), int(size))
    if key in _CACHE:
        return _CACHE[key]
    parts = {}
    for split, fname in SVHN_FILES.items():
        x, y = _read_split(folder / fname)
        x = to_grayscale(x.to(dev))
        if size != x.shape[-1]:
            x = F.interpolate(x, size=(size, size), mode="bilinear", antialias=True, align_corners=False).clamp_(0, 1)
        parts[split] = (x.contiguous(), y.to(dev))
    ds = ImageDataset(name=svhn_name(size), x_train=parts["train"][0], y_train=parts["train"][1],
                      x_test=parts["test"][0], y_test=parts["test"][1], source=str(folder))
    _CACHE[key] = ds
    return ds
