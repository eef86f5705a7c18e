"""Datasets and task streams, held as tensors on the target device.

MNIST is read with :class:`torchvision.datasets.MNIST` from ``$SCPVIZ_DATA``
(see :func:`scpviz.config.data_root`), downloaded there when the machine is
online. When MNIST is absent and cannot be downloaded, the loader falls back to
the *embedded default*: scikit-learn's bundled handwritten digits (1,797 real
8×8 scans, Alpaydin & Kaynak 1998), upsampled to 28×28, and prints one notice
saying so. Every :class:`ImageDataset` and :class:`Task` carries the dataset's
``name`` so results and figures say what they were computed on.

All images are converted once to float tensors in [0, 1] on the device; there
are no per-sample Python transforms anywhere in the training path. Task streams
(§5.1 permuted MNIST, §5.2 single digits) are built with tensor indexing.
"""

from __future__ import annotations

import dataclasses
import os
import socket
import sys
from pathlib import Path
from typing import Sequence
from urllib.parse import urlparse

import numpy as np
import torch
import torch.nn.functional as F

from .config import DATA_ENV, data_root, get_device

__all__ = [
    "DATASETS",
    "MNIST_NAME",
    "DIGITS_NAME",
    "ImageDataset",
    "Task",
    "load_dataset",
    "load_mnist",
    "load_digits_fallback",
    "find_mnist",
    "permutations",
    "permuted_mnist_tasks",
    "digit_tasks",
    "pool_images",
]

MNIST_NAME = "MNIST"
DIGITS_NAME = "sklearn-digits (8x8 upsampled to 28x28)"
DATASETS = ("mnist", "digits")

_CACHE: dict = {}
_NOTIFIED: set = set()


@dataclasses.dataclass
class ImageDataset:
    """Images and labels, already on the device.

    Attributes
    ----------
    name : str
        ``"MNIST"`` or the fallback's name; shown in plots and stored in results.
    x_train, x_test : Tensor, shape (N, 1, 28, 28), float32 in [0, 1]
    y_train, y_test : Tensor, shape (N,), int64
    source : str
        Where the images were read from.
    notice : str or None
        The notice printed when the fallback was used (why and how to get MNIST).
    """

    name: str
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    source: str
    notice: str | None = None

    @property
    def n_classes(self) -> int:
        return int(self.y_train.max().item()) + 1

    @property
    def image_shape(self) -> tuple:
        return tuple(self.x_train.shape[1:])

    @property
    def is_fallback(self) -> bool:
        return self.name != MNIST_NAME

    def __repr__(self) -> str:
        return (f"ImageDataset(name={self.name!r}, train={len(self.y_train)}, test={len(self.y_test)}, "
                f"image_shape={self.image_shape}, device={self.x_train.device})")


@dataclasses.dataclass
class Task:
    """One task of a continual-learning stream.

    Inputs keep whatever shape the model expects (flattened 784-vectors for
    the MLPs, images for convnets); targets are class labels or, for
    auto-encoders, the inputs themselves (``y_* is None``).

    Attributes
    ----------
    name : str
        Human-readable, e.g. ``"perm 3"`` or ``"digit 7"``.
    x_train, y_train, x_test, y_test : Tensor
    x_val, y_val : Tensor or None
        Validation images held out from the *training* images (never from test),
        for choosing λ.
    dataset : str
        Name of the dataset the task was built from.
    meta : dict
        Stream-specific information (the permutation, the digit, ...).
    """

    name: str
    x_train: torch.Tensor
    y_train: torch.Tensor | None
    x_test: torch.Tensor
    y_test: torch.Tensor | None
    dataset: str
    x_val: torch.Tensor | None = None
    y_val: torch.Tensor | None = None
    meta: dict = dataclasses.field(default_factory=dict)

    @property
    def input_shape(self) -> tuple:
        return tuple(self.x_train.shape[1:])

    @property
    def device(self) -> torch.device:
        return self.x_train.device

    def __repr__(self) -> str:
        nval = 0 if self.x_val is None else len(self.x_val)
        return (f"Task({self.name!r}, train={len(self.x_train)}, val={nval}, test={len(self.x_test)}, "
                f"input_shape={self.input_shape}, dataset={self.dataset!r})")


# --------------------------------------------------------------------------- loading

def _mnist_present(root: Path) -> bool:
    raw = root / "MNIST" / "raw"
    names = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
             "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
    return all((raw / n).is_file() for n in names)


def find_mnist(root=None) -> Path | None:
    """The data root if it holds MNIST in torchvision's layout (``root/MNIST/raw``), else ``None``."""
    r = data_root(root)
    return r if _mnist_present(r) else None


def _online(timeout: float = 2.0) -> bool:
    """Whether torchvision's first MNIST mirror answers (a cheap check before a download)."""
    from torchvision.datasets import MNIST

    try:
        host = urlparse(MNIST.mirrors[0]).hostname
        with socket.create_connection((host, 443), timeout=timeout):
            return True
    except Exception:
        return False


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
        Try to download MNIST when it is missing. Default: only if the mirror
        answers within 2 s (so offline machines do not hang).
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
    """
    r = data_root(root)
    dev = get_device() if device is None else torch.device(device)
    key = ("mnist", str(r.resolve()), str(dev), allow_fallback)
    if key in _CACHE:
        return _CACHE[key]

    reason = None
    if not _mnist_present(r):
        if download is None:
            download = _online()
        if not download:
            reason = "it is not in that folder and this machine cannot download it (offline)"
        elif not _writable(r):
            reason = "it is not there and the folder is not writable, so it cannot be downloaded into it"
        else:
            try:
                from torchvision.datasets import MNIST
                MNIST(str(r), train=True, download=True)
            except Exception as exc:  # network errors, checksum errors, ...
                reason = f"the download failed ({type(exc).__name__}: {exc})"
            else:
                reason = None if _mnist_present(r) else "the download left no files"

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


def load_dataset(name: str = "mnist", **kwargs) -> ImageDataset:
    """Load a dataset by name: ``"mnist"`` (with fallback) or ``"digits"`` (the fallback itself).

    Other datasets of later notebooks (SVHN, CIFAR-100, SYNTHIA) are added here.
    """
    key = str(name).lower()
    if key == "mnist":
        return load_mnist(**kwargs)
    if key == "digits":
        allowed = {"device"}
        bad = set(kwargs) - allowed
        if bad:
            raise TypeError(f"load_dataset('digits') does not take {sorted(bad)}")
        return load_digits_fallback(**kwargs)
    raise ValueError(f"name={name!r} is not a known dataset; choose one of {list(DATASETS)}.")


# --------------------------------------------------------------------------- streams

def _check_count(n, arg: str, available: int) -> int:
    if n is None:
        return available
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"{arg}={n!r} must be a positive integer or None (all {available}).")
    return min(int(n), available)


def _subset_split(x, y, n_train, n_val, seed):
    """Seeded random subset of the training images, with validation held out of it."""
    n_avail = len(x)
    if isinstance(n_val, bool) or not isinstance(n_val, (int, np.integer)) or n_val < 0:
        raise ValueError(f"n_val={n_val!r} must be a non-negative integer.")
    if n_val >= n_avail:
        raise ValueError(f"n_val={n_val} leaves no training images (only {n_avail} available).")
    n_train = _check_count(n_train, "n_train", n_avail - n_val)
    g = torch.Generator().manual_seed(int(seed) + 7919)
    order = torch.randperm(n_avail, generator=g).to(x.device)
    val_idx, tr_idx = order[:n_val], order[n_val:n_val + n_train]
    return x[tr_idx], y[tr_idx], (x[val_idx] if n_val else None), (y[val_idx] if n_val else None)


def permutations(n_tasks: int, dim: int = 784, seed: int = 0, identity_first: bool = True) -> torch.Tensor:
    """Fixed pixel permutations of the permuted-MNIST stream (§5.1).

    Parameters
    ----------
    n_tasks : int
    dim : int
        Number of pixels.
    seed : int
        Same seed → same permutations, on any machine.
    identity_first : bool
        Task 0 keeps the original images.

    Returns
    -------
    Tensor, shape (n_tasks, dim), int64

    Examples
    --------
    >>> P = permutations(3, dim=5, seed=0)
    >>> P[0].tolist()
    [0, 1, 2, 3, 4]
    >>> bool(torch.equal(P, permutations(3, dim=5, seed=0)))
    True
    """
    if isinstance(n_tasks, bool) or not isinstance(n_tasks, (int, np.integer)) or n_tasks < 1:
        raise ValueError(f"n_tasks={n_tasks!r} must be a positive integer.")
    if dim < 2:
        raise ValueError(f"dim={dim!r} must be at least 2.")
    g = torch.Generator().manual_seed(int(seed))
    perms = [torch.randperm(dim, generator=g) for _ in range(n_tasks)]
    if identity_first:
        perms[0] = torch.arange(dim)
    return torch.stack(perms)


def permuted_mnist_tasks(dataset: ImageDataset | None = None, n_tasks: int = 10, seed: int = 0,
                         identity_first: bool = True, n_train: int | None = None,
                         n_test: int | None = None, n_val: int = 0, subset_seed: int = 0) -> list[Task]:
    """The permuted-MNIST stream (§5.1): each task permutes the pixels with a fixed permutation.

    Inputs are flattened to 784-vectors (the paper's MLP); the permutation is
    applied once with tensor indexing on the device.

    Parameters
    ----------
    dataset : ImageDataset, optional
        Default :func:`load_mnist` (which may fall back to the digits, with a notice).
    n_tasks, seed, identity_first
        See :func:`permutations`.
    n_train, n_test : int, optional
        Seeded random subsets (quick mode); default all images.
    n_val : int
        Training images held out for validation (the same images in every task,
        permuted like it); never taken from the test split.
    subset_seed : int
        Seed of the subset / validation split.
    """
    ds = load_mnist() if dataset is None else dataset
    x_tr = ds.x_train.flatten(1)
    x_tr, y_tr, x_val, y_val = _subset_split(x_tr, ds.y_train, n_train, n_val, subset_seed)
    n_te = _check_count(n_test, "n_test", len(ds.x_test))
    x_te, y_te = ds.x_test.flatten(1)[:n_te], ds.y_test[:n_te]
    perms = permutations(n_tasks, dim=x_tr.shape[1], seed=seed, identity_first=identity_first)
    tasks = []
    for t, perm in enumerate(perms):
        p = perm.to(x_tr.device)
        tasks.append(Task(
            name=f"perm {t}", dataset=ds.name,
            x_train=x_tr[:, p], y_train=y_tr, x_test=x_te[:, p], y_test=y_te,
            x_val=None if x_val is None else x_val[:, p], y_val=y_val,
            meta={"permutation": perm, "index": t, "seed": seed},
        ))
    return tasks


def digit_tasks(dataset: ImageDataset | None = None, order: Sequence[int] = (2, 7, 4, 0, 9, 1, 6, 5, 8, 3),
                flatten: bool = True, n_train: int | None = None, n_test: int | None = None,
                n_val: int = 0, subset_seed: int = 0) -> list[Task]:
    """The single-digit stream for sequential auto-encoders (§5.2).

    Task ``t`` holds only the images of digit ``order[t]``; targets are
    ``None`` (the input is its own target).

    Parameters
    ----------
    order : sequence of int
        Distinct digits 0–9; the paper's example order is the default.
    flatten : bool
        784-vectors (the paper's fully connected auto-encoder) or 1×28×28 images.
    n_train, n_test, n_val, subset_seed
        Per-digit subset sizes, as in :func:`permuted_mnist_tasks`.
    """
    ds = load_mnist() if dataset is None else dataset
    order = list(order)
    if not order:
        raise ValueError("order is empty: give at least one digit, e.g. order=(2, 7, 4).")
    for d in order:
        if isinstance(d, bool) or not isinstance(d, (int, np.integer)) or not 0 <= d <= 9:
            raise ValueError(f"order contains {d!r}: digits must be integers 0-9.")
    if len(set(order)) != len(order):
        raise ValueError(f"order={order} repeats a digit: each digit may appear once.")
    tasks = []
    for t, d in enumerate(order):
        x_tr = ds.x_train[ds.y_train == d]
        x_te = ds.x_test[ds.y_test == d]
        if flatten:
            x_tr, x_te = x_tr.flatten(1), x_te.flatten(1)
        dummy = torch.zeros(len(x_tr), dtype=torch.int64, device=x_tr.device)
        x_tr, _, x_val, _ = _subset_split(x_tr, dummy, n_train, n_val, subset_seed + d)
        x_te = x_te[:_check_count(n_test, "n_test", len(x_te))]
        tasks.append(Task(name=f"digit {d}", dataset=ds.name, x_train=x_tr, y_train=None,
                          x_test=x_te, y_test=None, x_val=x_val, y_val=None,
                          meta={"digit": int(d), "index": t}))
    return tasks


def write_idx_mnist(root, n_train: int = 20, n_test: int = 10, seed: int = 0) -> Path:
    """Write a tiny, random MNIST in torchvision's raw IDX layout under ``root`` (for tests)."""
    import struct

    rng = np.random.default_rng(seed)
    raw = Path(root) / "MNIST" / "raw"
    raw.mkdir(parents=True, exist_ok=True)

    def write(name, arr, magic):
        with open(raw / name, "wb") as f:
            f.write(struct.pack(">I", magic))
            for s in arr.shape:
                f.write(struct.pack(">I", s))
            f.write(arr.astype(np.uint8).tobytes())

    for prefix, n in (("train", n_train), ("t10k", n_test)):
        write(f"{prefix}-images-idx3-ubyte", rng.integers(0, 256, size=(n, 28, 28)), 2051)
        write(f"{prefix}-labels-idx1-ubyte", np.arange(n) % 10, 2049)
    return Path(root)


def pool_images(x: torch.Tensor, factor: int = 4) -> torch.Tensor:
    """Average-pool square images (N×784, N×28×28 or N×1×28×28) by ``factor`` and flatten (28×28 → 7×7 = 49).

    For *tiny* networks whose full M × M importance matrices fit in memory (notebooks 03–05).
    """
    n = len(x)
    side = int(round((x[0].numel()) ** 0.5))
    if side * side != x[0].numel() or side % factor:
        raise ValueError(f"images of {x[0].numel()} pixels cannot be pooled by factor={factor}.")
    return F.avg_pool2d(x.reshape(n, 1, side, side), factor).flatten(1)
