"""MNIST (torchvision's IDX layout under ``$SCPVIZ_DATA``), with the scikit-learn digits as the labelled
offline stand-in (every dataset by name: :mod:`scpviz.datasets.registry`)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ..config import DATA_ENV, data_root, get_device
from .download import can_download, fetch
from .images import DIGITS_NAME, MNIST_NAME, ImageDataset


_CACHE: dict = {}
_NOTIFIED: set = set()


# the raw IDX files torchvision reads, with their magic number and number of dimensions
_IDX_FILES = {"train-images-idx3-ubyte": (2051, 3), "train-labels-idx1-ubyte": (2049, 1),
              "t10k-images-idx3-ubyte": (2051, 3), "t10k-labels-idx1-ubyte": (2049, 1)}


def _mnist_present(root: Path) -> bool:
    raw = root / "MNIST" / "raw"
    return all((raw / n).is_file() for n in _IDX_FILES)


def damaged_mnist_files(root=None) -> dict:
    """``{path: why}`` for every raw MNIST file under ``root`` whose IDX header and size disagree (a truncated or
    overwritten download); empty when all four are sound. A missing file is not listed (see :func:`find_mnist`)."""
    raw = data_root(root) / "MNIST" / "raw"
    bad = {}
    for name, (magic, ndim) in _IDX_FILES.items():
        path = raw / name
        if not path.is_file():
            continue
        size = path.stat().st_size
        head = 4 + 4 * ndim
        with open(path, "rb") as f:
            header = f.read(head)
        if len(header) < head:
            bad[path] = f"{size} bytes, shorter than its IDX header"
        elif int.from_bytes(header[:4], "big") != magic:
            bad[path] = f"it does not start with the IDX magic number {magic}"
        else:
            dims = [int.from_bytes(header[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
            want = head + int(np.prod(dims))
            if size != want:
                bad[path] = f"{size:,} bytes where its header {tuple(dims)} says {want:,}"
    return bad


def find_mnist(root=None) -> Path | None:
    """The data root if it holds MNIST in torchvision's layout (``root/MNIST/raw``), else ``None``."""
    r = data_root(root)
    return r if _mnist_present(r) else None


def _writable(path: Path) -> bool:
    p = path
    while not p.exists():
        if p.parent == p:
            return False
        p = p.parent
    return os.access(p, os.W_OK)


def _to_float_images(x: torch.Tensor) -> torch.Tensor:
    return (x.to(torch.float32) / 255.0).unsqueeze(1).contiguous()


def load_mnist(root=None, device=None, download: bool | None = None, verbose: bool = True,
               allow_fallback: bool = True) -> ImageDataset:
    """MNIST (70,000 images) as device tensors, or the digits fallback with a notice.

    Parameters
    ----------
    root : path, optional
        Data root in torchvision's layout (MNIST lives in ``root/MNIST/raw``).
        Default :func:`scpviz.config.data_root` (``$SCPVIZ_DATA``, else a cache dir).
    device : str or torch.device, optional
        Default :func:`scpviz.config.get_device`.
    download : bool, optional
        Download MNIST when it is missing or damaged (:mod:`scpviz.datasets.download`: torchvision's files and
        checksums, or ``$SCPVIZ_MIRROR``). Default: only if the host answers within 2 s (so offline machines do
        not hang).
    verbose : bool
        Print the fallback notice (once per process and root).
    allow_fallback : bool
        If ``False``, a missing MNIST raises ``FileNotFoundError`` instead of
        falling back to the digits.

    Returns
    -------
    ImageDataset
        ``name`` is ``"MNIST"`` or ``DIGITS_NAME``; loaded once per process and
        cached (the same tensors are returned on later calls).

    Raises
    ------
    ValueError
        When a file of MNIST is damaged and cannot be downloaded again, naming the file and what to do.
    """
    r = data_root(root)
    dev = get_device() if device is None else torch.device(device)
    key = ("mnist", str(r.resolve()), str(dev), allow_fallback)
    if key in _CACHE:
        return _CACHE[key]

    reason = None
    damaged = damaged_mnist_files(r)
    if damaged or not _mnist_present(r):
        if download is None:
            download = can_download("mnist")
        if damaged and not (download and _writable(r)):
            path, why = next(iter(damaged.items()))
            raise ValueError(f"MNIST file {path} is damaged ({why}): delete it — it is downloaded again when the "
                             "machine is online — or replace it with a good copy.")
        if not download:
            reason = "it is not in that folder and this machine cannot download it (offline)"
        elif not _writable(r):
            reason = "it is not there and the folder is not writable, so it cannot be downloaded into it"
        else:
            try:
                fetch("mnist", r, progress=verbose)
            except Exception as exc:  # network errors, checksum errors, ...
                reason = f"the download failed ({exc})"
            else:
                reason = None if _mnist_present(r) and not damaged_mnist_files(r) else "the download left no files"

    if reason is None:
        from torchvision.datasets import MNIST
        tr = MNIST(str(r), train=True, download=False)
        te = MNIST(str(r), train=False, download=False)
        ds = ImageDataset(
            name=MNIST_NAME,
            x_train=_to_float_images(tr.data).to(dev), y_train=tr.targets.to(torch.int64).to(dev),
            x_test=_to_float_images(te.data).to(dev), y_test=te.targets.to(torch.int64).to(dev),
            source=str(r / "MNIST" / "raw"),
        )
    else:
        msg = (f"scpviz: MNIST not found under {r} ({reason}).\n"
               f"  Using the embedded fallback: {DIGITS_NAME}, 1,797 real scans from scikit-learn.\n"
               f"  Results computed on it are NOT comparable with the paper's MNIST numbers.\n"
               f"  To use MNIST: set {DATA_ENV} to a folder holding MNIST/raw/ (torchvision layout),\n"
               f"  e.g. {DATA_ENV}=../shared/data, or run once online so torchvision can download it.")
        if not allow_fallback:
            raise FileNotFoundError(msg.replace("Using the embedded fallback", "allow_fallback=False, not using the fallback"))
        ds = load_digits_fallback(device=dev)
        ds.notice = msg
        if verbose and key not in _NOTIFIED:
            print(msg, file=sys.stdout)
            _NOTIFIED.add(key)
    _CACHE[key] = ds
    return ds


def load_digits_fallback(device=None, test_fraction: float = 0.2, seed: int = 0) -> ImageDataset:
    """scikit-learn's 8×8 digits as a 28×28 MNIST-like dataset.

    Each 8×8 image (values 0–16) is scaled to [0, 1], resized bilinearly to
    20×20 and padded by 4 pixels, mimicking MNIST's 20×20 digit box centred in
    a 28×28 frame. The split is stratified and fixed by ``seed`` (1,437 train /
    360 test by default).
    """
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction={test_fraction!r} must lie strictly between 0 and 1.")
    dev = get_device() if device is None else torch.device(device)
    bunch = load_digits()
    x = torch.as_tensor(bunch.images, dtype=torch.float32).unsqueeze(1) / 16.0
    x = F.interpolate(x, size=(20, 20), mode="bilinear", align_corners=False).clamp_(0.0, 1.0)
    x = F.pad(x, (4, 4, 4, 4))
    y = torch.as_tensor(bunch.target, dtype=torch.int64)
    idx_tr, idx_te = train_test_split(np.arange(len(y)), test_size=test_fraction,
                                      random_state=seed, stratify=bunch.target)
    idx_tr, idx_te = torch.as_tensor(idx_tr), torch.as_tensor(idx_te)
    return ImageDataset(name=DIGITS_NAME, x_train=x[idx_tr].to(dev), y_train=y[idx_tr].to(dev),
                        x_test=x[idx_te].to(dev), y_test=y[idx_te].to(dev), source="sklearn.datasets.load_digits")
