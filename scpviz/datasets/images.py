"""Containers: an image dataset and one task of a continual-learning stream, as tensors on the device."""

from __future__ import annotations

import dataclasses

import torch

MNIST_NAME = "MNIST"
DIGITS_NAME = "sklearn-digits (8x8 upsampled to 28x28)"


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
    extras : dict
        Dataset-specific tensors and names (CIFAR-100: both label sets and the class names).
    """

    name: str
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    source: str
    notice: str | None = None
    extras: dict = dataclasses.field(default_factory=dict)

    @property
    def n_classes(self) -> int:
        """Number of classes: the largest training label + 1."""
        return int(self.y_train.max().item()) + 1

    @property
    def image_shape(self) -> tuple:
        """Shape of one image, e.g. ``(1, 28, 28)``."""
        return tuple(self.x_train.shape[1:])

    @property
    def is_fallback(self) -> bool:
        """True unless these are the real MNIST images (a stand-in or the sklearn digits)."""
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
        """Shape of one input, e.g. ``(784,)`` for the MLPs or ``(1, 32, 32)`` for a convnet."""
        return tuple(self.x_train.shape[1:])

    @property
    def device(self) -> torch.device:
        """The device the task's tensors are on."""
        return self.x_train.device

    def __repr__(self) -> str:
        nval = 0 if self.x_val is None else len(self.x_val)
        return (f"Task({self.name!r}, train={len(self.x_train)}, val={nval}, test={len(self.x_test)}, "
                f"input_shape={self.input_shape}, dataset={self.dataset!r})")


def check_counts(**counts) -> None:
    """Raise ``ValueError`` naming the argument unless every value of ``counts`` is a positive integer (not a bool).

    >>> check_counts(n_train_per_fine=0)
    Traceback (most recent call last):
    ...
    ValueError: n_train_per_fine=0 must be a positive integer.
    """
    for name, v in counts.items():
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise ValueError(f"{name}={v!r} must be a positive integer.")
