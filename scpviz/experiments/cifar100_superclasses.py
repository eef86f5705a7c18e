"""CIFAR-100 super-classes (supplementary §8.5, Figure 9): five tasks, task ``i`` holding the ``i``-th fine class of
every super-class, labelled by the super-class (one 20-way head); a Wide-ResNet trained with random crop, flip and
Cutout; none / online-EWC / MAS / SCP; the average test accuracy over the tasks seen (Figure 9b).

CIFAR-100 is used when it is under ``$SCPVIZ_DATA/cifar-100-python`` or can be downloaded (``dataset="auto"``, the
default). Offline the tasks come from the **shapes with parts** stand-in
(:func:`scpviz.datasets.load_shape_superclasses`: 20 silhouettes × 5 looks, colours drawn per image, so that task 1
teaches something later tasks reuse — :meth:`Cifar100Superclasses.zero_shot` measures it), named "shapes with parts
(stand-in for CIFAR-100)". The first stand-in, ``dataset="cifar100_standin"``
(:func:`scpviz.datasets.load_superclass_standin`: a look of its own colours per sub-population), stays selectable:
the superseded CPU grid ``cifar100_superclasses_cpu`` was made on it, at the teach budget of version 0.3 (4 epochs
per task). The shipped grid ``cifar100_superclasses_cpu_v04`` is on shapes with parts at today's teach budget.
"""

from __future__ import annotations

import math

import torch

from ..config import get_device
from ..datasets import (Augmentation, load_cifar100, load_shape_superclasses, load_superclass_standin, notify_standin,
                        resolve_auto, superclass_tasks)
from ..models import WideResNet
from ..training import CLASSIFICATION, evaluate, train_task
from .base import Experiment, FigureSpec, Option

__all__ = ["Cifar100Superclasses", "PAPER_LAMBDAS_CIFAR"]

PAPER_LAMBDAS_CIFAR = (1e2, 1e3, 1e4, 1e5, 1e6)   # §8.5: {1e+i | i ∈ [2, ..., 6]}
_COMMON = dict(alpha=0.75, batch_size=100, optimizer_reset="task", dataset="auto", crop_padding=4, flip=True,
               cutout=8, dropout=0.0)


class Cifar100Superclasses(Experiment):
    """§8.5, Figure 9: five tasks of CIFAR-100 super-classes (or the stand-in), a Wide-ResNet trained with crop,
    flip and Cutout."""
    name = "cifar100_superclasses"
    title = "CIFAR-100 super-classes, five tasks of sub-classes, a Wide-ResNet with Cutout"
    paper = "§8.5, Figure 9"
    objective = CLASSIFICATION
    options = (
        Option("dataset", "--dataset", str, "CIFAR-100, its offline stand-in (shapes with parts), its first "
                                            "stand-in (synthetic super-classes), or auto (CIFAR-100 when found or "
                                            "downloadable, else shapes with parts)",
               choices=("auto", "cifar100", "cifar100_standin", "shape_superclasses")),
        Option("depth", "--depth", int, "Wide-ResNet depth, 6 n + 4 (28 in the Cutout paper)"),
        Option("widen_factor", "--widen-factor", float, "Wide-ResNet width multiplier k (10 in the Cutout paper)"),
        Option("dropout", "--dropout", float, "dropout between the two convolutions of each block"),
        Option("crop_padding", "--crop-padding", int, "random crop: zero padding on each side (0: no crop)"),
        Option("flip", "--flip", int, "random horizontal flip: 1 on, 0 off", choices=(0, 1)),
        Option("cutout", "--cutout", int, "Cutout square side in pixels (0: no Cutout)"),
    )
    unused_options = ("hidden",)     # a Wide-ResNet's widths are depth and widen_factor
    task_keys = ("dataset", "data_seed", "n_train", "n_val", "n_test")
    budgets = {
        # §8.5: WRN (the Cutout paper's WRN-28-10 for CIFAR-100), crop + flip + Cutout 8, λ ∈ {1e2, ..., 1e6}; the
        # paper gives no epochs or learning rate and ran once: 20 epochs a task as §8.4, Adam lr 1e-4 as §5, 3 seeds
        "paper": dict(_COMMON, depth=28, widen_factor=10.0, dropout=0.3, epochs=20, n_train=9500, n_val=500,
                      n_test=2000, n_slices=100, lr=1e-4, seeds=(0, 1, 2), lams=PAPER_LAMBDAS_CIFAR),
        # sized for a laptop CPU: WRN-10-0.5 (21 k weights), 1,000 images and 20 epochs per task (about 10 s a task on
        # 2 cores); set so that a network learns task 1 of the shapes-with-parts stand-in (83 % at seed 0; 4 epochs,
        # version 0.3's budget and the shipped grid's, leave it near guessing)
        "teach": dict(_COMMON, depth=10, widen_factor=0.5, epochs=20, n_train=1000, n_val=200, n_test=500,
                      n_slices=50, lr=2e-3, seeds=(0,), lams=(1e-4, 1e-3, 1e-2, 1e-1, 1e0, 1e1, 1e2, 1e3)),
        # CI: the smallest run through every code path
        "quick": dict(_COMMON, depth=10, widen_factor=0.25, epochs=1, n_train=200, n_val=40, n_test=100,
                      n_slices=10, batch_size=50, lr=2e-3, seeds=(0,), lams=(1e0, 1e2)),
    }
    # an explorer's live run: half a minute on 2 cores, long enough that task 1 is learned to well above guessing
    live = dict(epochs=8, n_train=1000, n_val=100, n_test=300, depth=10, widen_factor=0.5, n_slices=20)
    # validation-chosen on the shipped CPU grid (shapes with parts, λ ∈ {1e-4, ..., 1e3}, 3 seeds; notebook 09): the
    # smallest λ for MAS and SCP, where the penalty barely acts; §8.5 chose on {1e2, ..., 1e6} for CIFAR-100 and does
    # not say which λ won
    default_lams = {"ewc": 1e-3, "mas": 1e-4, "scp": 1e-4}
    shipped = "cifar100_superclasses_cpu_v04"
    # batches of 100 score a convolutional network with BatchNorm 1.6-1.8x faster than 2000 on this project's 2-core
    # CPU (the activations of 2000 images outgrow its caches); the scores are the same (eval mode)
    eval_batch_size = 100
    figures = (
        FigureSpec("Figure 9b", "plot_average_metric", "rows", "figure9b"),
    )

    def finalize(self, cfg):
        """Resolve ``dataset="auto"`` (CIFAR-100 if its files are found or can be downloaded, else the stand-in);
        ``flip`` as 0 or 1."""
        if cfg["dataset"] == "auto":
            cfg["dataset"] = resolve_auto("cifar100", cfg.data_root)
        cfg["flip"] = int(cfg["flip"])
        return cfg

    def validate(self, cfg):
        """Reject a depth that is not 6 n + 4 and a negative crop padding or Cutout size."""
        if cfg["depth"] < 10 or (cfg["depth"] - 4) % 6:
            raise ValueError(f"depth={cfg['depth']} must be 6 n + 4 with n ≥ 1 (10, 16, 22, 28, ...).")
        for key in ("crop_padding", "cutout"):
            if cfg[key] < 0:
                raise ValueError(f"{key}={cfg[key]} must be ≥ 0 (0 switches it off).")

    def augment(self, cfg):
        """The :class:`~scpviz.datasets.Augmentation` of ``cfg`` (crop, flip, Cutout); None when all are off."""
        aug = Augmentation(crop_padding=int(cfg["crop_padding"]), flip=bool(cfg["flip"]), cutout=int(cfg["cutout"]))
        return None if aug.is_identity else aug

    def dataset(self, cfg, device):
        """CIFAR-100 or one of its stand-ins, with as many images per fine class as the budget draws (CIFAR-100's
        500 + 100 when ``n_train`` is None)."""
        if cfg["dataset"] == "cifar100":
            return load_cifar100(root=self.data_root_of(cfg), device=device)
        notify_standin("cifar100", self.data_root_of(cfg))
        per_train = 500 if cfg["n_train"] is None else min(500, math.ceil((cfg["n_train"] + cfg["n_val"]) / 20))
        per_test = 100 if cfg["n_test"] is None else min(100, math.ceil(cfg["n_test"] / 20))
        load = load_shape_superclasses if cfg["dataset"] == "shape_superclasses" else load_superclass_standin
        return load(per_train, per_test, seed=0, device=device)

    def zero_shot(self, cfg, device=None) -> list:
        """Train ``cfg``'s network on task 1 alone and return its test accuracy on every task, the later ones never
        seen: whether what task 1 taught carries over to the next tasks (the property the stand-in is designed
        for; chance is 1/20)."""
        device = get_device(None if device is None else str(device))
        tasks = self.cached_tasks(cfg, device)
        model = self.model(cfg, tasks).to(device)
        with torch.random.fork_rng():
            torch.manual_seed(cfg["seed"])
            train_task(model, tasks[0], epochs=cfg["epochs"], lr=cfg["lr"], batch_size=cfg["batch_size"],
                       seed=cfg["seed"], augment=self.augment(cfg), progress=False)
        return [float(evaluate(model, t.x_test, t.y_test)) for t in tasks]

    def tasks(self, cfg, device):
        """Five tasks, task i the i-th fine class of every super-class, labelled by super-class
        (:func:`scpviz.datasets.superclass_tasks`)."""
        return superclass_tasks(self.dataset(cfg, device), n_tasks=5, n_train=cfg["n_train"], n_val=cfg["n_val"],
                                n_test=cfg["n_test"], subset_seed=cfg.data_seed)

    def model(self, cfg, tasks):
        """The :class:`~scpviz.models.WideResNet` of ``cfg`` (depth, widen factor, dropout), 20 super-class outputs."""
        return WideResNet(depth=cfg["depth"], widen_factor=cfg["widen_factor"], n_classes=20, in_channels=3,
                          dropout=cfg["dropout"], seed=cfg["seed"])
