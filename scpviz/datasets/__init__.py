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

Modules: ``images`` (containers), ``mnist`` (MNIST and its offline stand-in), ``svhn`` (SVHN's ``.mat`` files,
grayscale), ``mnist_m``
(SVHN's offline stand-in: MNIST blended with photo patches), ``cifar100`` (torchvision's pickles, the
super-class split of §8.5), ``superclass_standin`` (CIFAR-100's offline stand-in: synthetic images with 20
super-classes of 5 sub-populations), ``augment`` (batched crop, flip and Cutout on the device), ``synthia`` (SYNTHIA-SEQS frames and 16-bit label
PNGs, §5.3), ``synthia_standin`` (its offline stand-in: road scenes written in SYNTHIA's layout), ``streams`` (task
streams).
"""

from .images import ImageDataset, Task
from .mnist import DIGITS_NAME, MNIST_NAME, find_mnist, load_digits_fallback, load_mnist
from .cifar100 import find_cifar100, fine_to_coarse, load_cifar100, superclass_split
from .mnist_m import MNIST_M_NAME, blend_with_photos, load_mnist_m
from .svhn import find_svhn, load_svhn
from .superclass_standin import SUPERCLASS_STANDIN_NAME, load_superclass_standin
from .printed_digits import PRINTED_DIGITS_NAME, load_printed_digits, printed_digits_properties
from .shape_superclasses import SHAPE_SUPERCLASSES_NAME, load_shape_superclasses, shape_superclass_properties
from .augment import Augmentation, cutout, random_crop, random_flip
from .synthia import SYNTHIA_CLASSES, find_synthia, load_synthia, read_label_png, write_png16
from .synthia_standin import SYNTHIA_STANDIN_NAME, load_synthia_standin, write_synthia_standin
from .registry import DATASETS, STANDINS, data_plan, load_dataset, notify_standin, resolve_auto
from .streams import (digit_tasks, domain_shift_tasks, frame_decorrelation_lag, permutations, permuted_mnist_tasks,
                      pool_images, sequence_tasks, superclass_tasks)

__all__ = [
    "DATASETS",
    "MNIST_NAME",
    "DIGITS_NAME",
    "ImageDataset",
    "Task",
    "load_dataset",
    "load_shape_superclasses",
    "shape_superclass_properties",
    "SHAPE_SUPERCLASSES_NAME",
    "load_printed_digits",
    "printed_digits_properties",
    "PRINTED_DIGITS_NAME",
    "data_plan",
    "resolve_auto",
    "notify_standin",
    "STANDINS",
    "load_mnist",
    "load_digits_fallback",
    "find_mnist",
    "find_svhn",
    "load_svhn",
    "MNIST_M_NAME",
    "load_mnist_m",
    "blend_with_photos",
    "domain_shift_tasks",
    "find_cifar100",
    "load_cifar100",
    "fine_to_coarse",
    "superclass_split",
    "superclass_tasks",
    "sequence_tasks",
    "frame_decorrelation_lag",
    "SUPERCLASS_STANDIN_NAME",
    "load_superclass_standin",
    "Augmentation",
    "random_crop",
    "random_flip",
    "cutout",
    "SYNTHIA_CLASSES",
    "find_synthia",
    "load_synthia",
    "read_label_png",
    "write_png16",
    "SYNTHIA_STANDIN_NAME",
    "load_synthia_standin",
    "write_synthia_standin",
    "permutations",
    "permuted_mnist_tasks",
    "digit_tasks",
    "pool_images",
]
