"""CIFAR-100 in torchvision's on-disk format (``$SCPVIZ_DATA/cifar-100-python/{train,test,meta}``), and the
super-class split of the supplementary §8.5 (Figure 9).

The files are Python pickles (``encoding="latin1"``, as torchvision reads them): ``train`` and ``test`` hold ``data``
(N, 3072) uint8 — each row the red, then green, then blue 32×32 plane, row-major — with ``fine_labels`` (100 classes)
and ``coarse_labels`` (20 super-classes of 5 fine classes each); ``meta`` holds ``fine_label_names`` and
``coarse_label_names``. The split takes the fine → coarse mapping from the files themselves, never from a
hand-typed table. When the files are absent and the machine is online, :func:`load_cifar100` downloads and unpacks
``cifar-100-python.tar.gz`` (:mod:`scpviz.datasets.download`: torchvision's URL and MD5 sum, or ``$SCPVIZ_MIRROR``).
"""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import torch

from ..config import DATA_ENV, data_root, get_device
from .download import can_download, fetch
from .images import ImageDataset

__all__ = ["CIFAR100_FOLDER", "find_cifar100", "load_cifar100", "fine_to_coarse", "superclass_split"]

CIFAR100_FOLDER = "cifar-100-python"
_FILES = ("train", "test", "meta")
_CACHE: dict = {}


def find_cifar100(root=None) -> Path | None:
    """``root/cifar-100-python`` if it holds ``train``, ``test`` and ``meta``, else ``None``."""
    folder = data_root(root) / CIFAR100_FOLDER
    return folder if all((folder / f).is_file() for f in _FILES) else None


def _unpickle(path: Path) -> dict:
    try:
        with open(path, "rb") as f:
            return pickle.load(f, encoding="latin1")
    except Exception as exc:
        raise ValueError(f"cannot read {path} as a CIFAR-100 pickle ({type(exc).__name__}: {exc}).") from None


def _split(path: Path):
    d = _unpickle(path)
    for key in ("data", "fine_labels", "coarse_labels"):
        if key not in d:
            raise ValueError(f"{path} has no {key!r}: not a CIFAR-100 file of torchvision's format.")
    x = np.asarray(d["data"], dtype=np.uint8)
    fine = np.asarray(d["fine_labels"], dtype=np.int64)
    coarse = np.asarray(d["coarse_labels"], dtype=np.int64)
    if x.ndim != 2 or x.shape[1] != 3072 or len(x) != len(fine) or len(fine) != len(coarse):
        raise ValueError(f"{path}: data has shape {x.shape} with {len(fine)} fine and {len(coarse)} coarse labels; "
                         "expected (N, 3072) uint8 and N of each.")
    return torch.from_numpy(x.reshape(-1, 3, 32, 32).copy()), torch.from_numpy(fine), torch.from_numpy(coarse)


def load_cifar100(root=None, device=None, label: str = "coarse", download: bool | None = None) -> ImageDataset:
    """CIFAR-100 as float RGB images in [0, 1], (N, 3, 32, 32), on the device (read once per process).

    Parameters
    ----------
    root : path, optional
        Data root; the files live in ``root/cifar-100-python``. Default :func:`scpviz.config.data_root`.
    device : str or torch.device, optional
    label : {"coarse", "fine"}
        Which labels ``y_train``/``y_test`` hold.
    download : bool, optional
        Download the archive when the files are missing. Default: when the host (or ``$SCPVIZ_MIRROR``) answers.

    Returns
    -------
    ImageDataset
        Named ``"CIFAR-100"``; its ``extras`` dict holds both label sets (``fine_train``, ``coarse_train``,
        ``fine_test``, ``coarse_test``) and the class names from ``meta``.

    Raises
    ------
    FileNotFoundError
        When the files are not there and cannot be downloaded, naming the folder and the files to put in it.
    ValueError
        When a download fails or the archive does not match torchvision's checksum (the data folder is left as it
        was).
    """
    if label not in ("coarse", "fine"):
        raise ValueError(f"label={label!r} must be 'coarse' (the 20 super-classes) or 'fine' (the 100 classes).")
    folder = find_cifar100(root)
    if folder is None and (can_download("cifar100") if download is None else download):
        fetch("cifar100", root)
        folder = find_cifar100(root)
    if folder is None:
        want = data_root(root) / CIFAR100_FOLDER
        raise FileNotFoundError(
            f"CIFAR-100 not found: put train, test and meta (torchvision's 'python version', from "
            f"https://www.cs.toronto.edu/~kriz/cifar.html) in {want}, or set {DATA_ENV} to a folder holding "
            f"{CIFAR100_FOLDER}/; online, it is downloaded there (this machine could not reach the host).")
    dev = get_device() if device is None else torch.device(device)
    key = (str(folder.resolve()), str(dev), label)
    if key in _CACHE:
        return _CACHE[key]
    meta = _unpickle(folder / "meta")
    parts = {s: _split(folder / s) for s in ("train", "test")}
    ds = ImageDataset(name="CIFAR-100", x_train=(parts["train"][0].to(dev).float() / 255),
                      y_train=parts["train"][1 if label == "fine" else 2].to(dev),
                      x_test=(parts["test"][0].to(dev).float() / 255),
                      y_test=parts["test"][1 if label == "fine" else 2].to(dev), source=str(folder),
                      extras={"fine_train": parts["train"][1].to(dev), "coarse_train": parts["train"][2].to(dev),
                              "fine_test": parts["test"][1].to(dev), "coarse_test": parts["test"][2].to(dev),
                              "fine_names": list(meta.get("fine_label_names", [])),
                              "coarse_names": list(meta.get("coarse_label_names", []))})
    _CACHE[key] = ds
    return ds


def fine_to_coarse(fine: torch.Tensor, coarse: torch.Tensor) -> dict:
    """``{fine class: coarse class}`` read off the labels of the files (each fine class must map to one coarse class).

    Examples
    --------
    >>> fine_to_coarse(torch.tensor([3, 0, 3, 7]), torch.tensor([1, 0, 1, 1]))
    {0: 0, 3: 1, 7: 1}
    """
    pairs = torch.unique(torch.stack([fine.cpu(), coarse.cpu()], 1), dim=0).tolist()
    out = {}
    for f, c in pairs:
        if f in out and out[f] != c:
            raise ValueError(f"fine class {f} appears under coarse classes {out[f]} and {c}: the labels are not a "
                             "CIFAR-100 hierarchy.")
        out[f] = c
    return dict(sorted(out.items()))


def superclass_split(fine: torch.Tensor, coarse: torch.Tensor, n_tasks: int = 5) -> list:
    """§8.5's tasks: task ``i`` holds the ``i``-th fine class (in increasing id) of every super-class.

    Returns
    -------
    list of n_tasks lists
        The fine class ids of each task, one per super-class, in super-class order.

    Examples
    --------
    >>> superclass_split(torch.tensor([4, 1, 2, 9]), torch.tensor([0, 0, 1, 1]), n_tasks=2)
    [[1, 2], [4, 9]]
    """
    mapping = fine_to_coarse(fine, coarse)
    by_coarse = {}
    for f, c in mapping.items():
        by_coarse.setdefault(c, []).append(f)
    sizes = {c: len(fs) for c, fs in by_coarse.items()}
    if set(sizes.values()) != {n_tasks}:
        raise ValueError(f"n_tasks={n_tasks} needs {n_tasks} fine classes in every super-class; the labels have "
                         f"{sorted(set(sizes.values()))} (CIFAR-100: 5).")
    return [[sorted(by_coarse[c])[i] for c in sorted(by_coarse)] for i in range(n_tasks)]
