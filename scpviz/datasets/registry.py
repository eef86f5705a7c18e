"""Every dataset by name: the one dispatcher over the loaders (one module per dataset), so that no loader needs
another loader's module to find a third (the dispatcher used to live in ``mnist.py``, which made an import cycle
with ``mnist_m.py``)."""

from __future__ import annotations

from .cifar100 import load_cifar100
from .images import ImageDataset
from .mnist import load_digits_fallback, load_mnist
from .mnist_m import load_mnist_m
from .superclass_standin import load_superclass_standin
from .svhn import load_svhn
from .synthia import load_synthia
from .synthia_standin import load_synthia_standin

__all__ = ["DATASETS", "load_dataset"]

DATASETS = ("mnist", "digits", "svhn", "mnist_m", "cifar100", "cifar100_standin", "synthia", "synthia_standin")


def load_dataset(name: str = "mnist", **kwargs) -> ImageDataset:
    """Load a dataset by name: ``"mnist"`` (with fallback), ``"digits"`` (the fallback itself) or ``"svhn"``
    (grayscale, :func:`scpviz.datasets.svhn.load_svhn`; an error naming the folder when it is absent) or
    ``"mnist_m"`` (SVHN's offline stand-in, :func:`scpviz.datasets.mnist_m.load_mnist_m`) or ``"cifar100"``
    (:func:`scpviz.datasets.cifar100.load_cifar100`; an error naming the folder when it is absent) or
    ``"cifar100_standin"`` (its offline stand-in, :func:`scpviz.datasets.superclass_standin.load_superclass_standin`)
    or ``"synthia"`` (a SYNTHIA-SEQS sequence, :func:`scpviz.datasets.synthia.load_synthia`) or ``"synthia_standin"``
    (its offline stand-in, written in SYNTHIA's layout, :func:`scpviz.datasets.synthia_standin.load_synthia_standin`).
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
    if key == "svhn":
        return load_svhn(**kwargs)
    if key in ("cifar100", "cifar-100"):
        return load_cifar100(**kwargs)
    if key in ("cifar100_standin", "superclass_standin"):
        return load_superclass_standin(**kwargs)
    if key == "synthia":
        return load_synthia(**kwargs)
    if key == "synthia_standin":
        return load_synthia_standin(**kwargs)
    if key in ("mnist_m", "mnist-m"):
        return load_mnist_m(**kwargs)
    raise ValueError(f"name={name!r} is not a known dataset; choose one of {list(DATASETS)}.")
