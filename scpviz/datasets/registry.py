"""Every dataset by name: the one dispatcher over the loaders (one module per dataset), the choice between a real
dataset and its offline stand-in (``"auto"``), and the notice that a stand-in is in use — printed once per
dataset and process, whichever experiment asked."""

from __future__ import annotations

import dataclasses
import sys
from typing import Callable

from .cifar100 import find_cifar100, load_cifar100
from .download import DOWNLOADABLE, can_download
from .images import ImageDataset
from .mnist import load_digits_fallback, load_mnist
from .mnist_m import load_mnist_m
from .printed_digits import PRINTED_DIGITS_NAME, load_printed_digits
from .shape_superclasses import SHAPE_SUPERCLASSES_NAME, load_shape_superclasses
from .superclass_standin import SUPERCLASS_STANDIN_NAME, load_superclass_standin
from .svhn import find_svhn, load_svhn
from .synthia import find_synthia, load_synthia
from .synthia_standin import SYNTHIA_STANDIN_NAME, load_synthia_standin

__all__ = ["DATASETS", "STANDINS", "Standin", "load_dataset", "resolve_auto", "notify_standin", "data_plan"]

DATASETS = ("mnist", "digits", "svhn", "printed_digits", "mnist_m", "cifar100", "shape_superclasses", "cifar100_standin",
            "synthia", "synthia_standin")


def load_dataset(name: str = "mnist", root=None, **kwargs) -> ImageDataset:
    """Load a dataset by name: ``"mnist"`` (with fallback), ``"digits"`` (the fallback itself) or ``"svhn"``
    (grayscale, :func:`scpviz.datasets.svhn.load_svhn`; an error naming the folder when it is absent) or
    ``"printed_digits"`` (SVHN's offline stand-in, :func:`scpviz.datasets.printed_digits.load_printed_digits`) or
    ``"mnist_m"`` (its earlier stand-in, :func:`scpviz.datasets.mnist_m.load_mnist_m`) or ``"cifar100"``
    (:func:`scpviz.datasets.cifar100.load_cifar100`; an error naming the folder when it is absent) or
    ``"shape_superclasses"`` (its offline stand-in, :func:`scpviz.datasets.shape_superclasses.load_shape_superclasses`)
    or ``"cifar100_standin"`` (its first stand-in, :func:`scpviz.datasets.superclass_standin.load_superclass_standin`)
    or ``"synthia"`` (a SYNTHIA-SEQS sequence, :func:`scpviz.datasets.synthia.load_synthia`) or ``"synthia_standin"``
    (its offline stand-in, written in SYNTHIA's layout, :func:`scpviz.datasets.synthia_standin.load_synthia_standin`).

    ``root``: the data folder of the datasets read from files (default :func:`scpviz.config.data_root`); the
    embedded and generated ones ignore it.
    """
    key = str(name).lower()
    if key == "mnist":
        return load_mnist(root=root, **kwargs)
    if key == "digits":
        allowed = {"device"}
        bad = set(kwargs) - allowed
        if bad:
            raise TypeError(f"load_dataset('digits') does not take {sorted(bad)}")
        return load_digits_fallback(**kwargs)
    if key == "svhn":
        return load_svhn(root=root, **kwargs)
    if key in ("cifar100", "cifar-100"):
        return load_cifar100(root=root, **kwargs)
    if key in ("cifar100_standin", "superclass_standin"):
        return load_superclass_standin(**kwargs)
    if key == "shape_superclasses":
        return load_shape_superclasses(**kwargs)
    if key == "synthia":
        return load_synthia(root=root, **kwargs)
    if key == "synthia_standin":
        return load_synthia_standin(**kwargs)
    if key in ("mnist_m", "mnist-m"):
        return load_mnist_m(**kwargs)
    if key == "printed_digits":
        return load_printed_digits(**kwargs)
    raise ValueError(f"name={name!r} is not a known dataset; choose one of {list(DATASETS)}.")


@dataclasses.dataclass(frozen=True)
class Standin:
    """A real dataset that cannot ship with scpviz, and the offline stand-in used when it is not on disk.

    Attributes
    ----------
    real, standin : str
        Names for :func:`load_dataset`.
    title : str
        What the real dataset is called.
    standin_name : str
        The stand-in's name, as figures and results show it.
    present : callable(root) -> bool
        Whether the real dataset is on disk under ``root``.
    how : str
        What to put where to use the real one.
    """

    real: str
    standin: str
    title: str
    standin_name: str
    present: Callable
    how: str


STANDINS = {s.real: s for s in (
    Standin("svhn", "printed_digits", "SVHN", PRINTED_DIGITS_NAME, lambda root: find_svhn(root) is not None,
            "To use SVHN, run on a machine with internet (Colab, a laptop) and it is downloaded (~250 MB), or put "
            "train_32x32.mat and test_32x32.mat in $SCPVIZ_DATA/SVHN."),
    Standin("cifar100", "shape_superclasses", "CIFAR-100", SHAPE_SUPERCLASSES_NAME,
            lambda root: find_cifar100(root) is not None,
            "To use CIFAR-100, run on a machine with internet (Colab, a laptop) and it is downloaded (~170 MB), or put "
            "torchvision's cifar-100-python/ folder in $SCPVIZ_DATA."),
    Standin("synthia", "synthia_standin", "SYNTHIA", SYNTHIA_STANDIN_NAME,
            lambda root: all(find_synthia(s, root) is not None for s in ("summer", "winter")),
            "SYNTHIA has no scripted download: get SYNTHIA-SEQS-01-SUMMER and -WINTER from https://synthia-dataset.net "
            "and put them in $SCPVIZ_DATA (python -m scpviz info prints the layout expected)."),
)}
_NOTIFIED: set = set()


def _standin(real: str) -> Standin:
    if real not in STANDINS:
        raise ValueError(f"real={real!r} has no stand-in; choose one of {list(STANDINS)}.")
    return STANDINS[real]


def resolve_auto(real: str, root=None, download: bool | None = None) -> str:
    """What ``"auto"`` means: ``real`` when that dataset is on disk under ``root`` or can be downloaded now (SVHN,
    CIFAR-100: the host or ``$SCPVIZ_MIRROR`` answers; ``download=False`` never tries), else its stand-in's name.

    >>> resolve_auto("svhn", root="/nonexistent", download=False)
    'printed_digits'
    """
    s = _standin(real)
    if s.present(root):
        return s.real
    if real in DOWNLOADABLE and (can_download(real) if download is None else download):
        return s.real
    return s.standin


def data_plan(real: str, root=None) -> str:
    """One line for a notebook's first cell: which data an experiment that asks for ``real`` ("auto") will use on
    this machine, and how to get the real dataset when it is the stand-in.

    >>> data_plan("svhn", root="/nonexistent").startswith("SVHN: not under /nonexistent")
    True
    """
    from ..config import data_root

    s = _standin(real)
    r = data_root(root)
    if s.present(root):
        return f"{s.title}: found under {r} — the real dataset is used."
    if resolve_auto(real, root) == real:
        return (f"{s.title}: not under {r} yet; this machine can reach its host, so it is downloaded there the first "
                "time it is used (torchvision's files and checksums).")
    return (f"{s.title}: not under {r} and this machine cannot download it — the tasks come from the stand-in "
            f"{s.standin_name}, labelled so in every table and figure. {s.how}")


def notify_standin(real: str, root=None, file=None) -> bool:
    """Say, once per process, that ``real``'s stand-in is in use because ``real`` is not on disk; True if printed."""
    s = _standin(real)
    if real in _NOTIFIED or s.present(root):
        return False
    _NOTIFIED.add(real)
    print(f"scpviz: {s.title} not found; the tasks come from the offline stand-in {s.standin_name}, and results say "
          f"so. {s.how}", file=file or sys.stdout)
    return True
