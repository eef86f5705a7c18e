"""MNIST → SVHN (supplementary §8.4, Figure 7): a VGG-like convnet (Figure 8) learns MNIST, then SVHN; none /
online-EWC / MAS / SCP; test accuracy on each task and their average over training (Figure 7b).

SVHN is used when it is under ``$SCPVIZ_DATA/SVHN`` or can be downloaded (``second="auto"``, the default). Offline,
the second task is the **printed-digits stand-in** (:func:`scpviz.datasets.load_printed_digits`: digits in 19
typefaces, any colours, partial neighbouring digits, rotation, blur and noise — SynthDigits-like), named
"MNIST → printed digits (stand-in for SVHN)". The earlier stand-in, MNIST-M (MNIST blended with photo patches;
:func:`scpviz.datasets.load_mnist_m`), stays selectable (``second="mnist_m"``): the shipped CPU grids were made on
it, and MNIST's features transfer to it almost completely.
"""

from __future__ import annotations

from ..datasets import (domain_shift_tasks, load_dataset, load_mnist_m, load_printed_digits, load_svhn,
                        notify_standin, resolve_auto)
from ..models import VGGLike
from ..training import CLASSIFICATION, batchnorm_restore_test, batchnorm_statistics
from .base import Experiment, FigureSpec, Option

__all__ = ["MnistSvhn", "PAPER_LAMBDAS_SVHN"]

PAPER_LAMBDAS_SVHN = (1e2, 1e3, 1e4, 1e5, 1e6)   # §8.4: {1e+i | i ∈ [2, ..., 6]}
_COMMON = dict(alpha=0.75, batch_size=100, optimizer_reset="task", dataset="mnist", second="auto", image_size=32,
               dropout=0.2, bn_freeze=False, bn_restore_test=False)


class MnistSvhn(Experiment):
    """§8.4, Figure 7: MNIST, then SVHN (or the MNIST-M stand-in), with the VGG-like convnet of Figure 8."""
    name = "mnist_svhn"
    title = "MNIST, then SVHN, with a VGG-like convnet"
    paper = "§8.4, Figure 7"
    objective = CLASSIFICATION
    options = (
        Option("second", "--second", str, "task 2: SVHN, its offline stand-ins (printed digits; MNIST-M), or auto "
                                          "(SVHN when found or downloadable, else printed digits)",
               choices=("auto", "svhn", "printed_digits", "mnist_m")),
        Option("channels", "--channels", int, "convolution widths of the VGG-like network (Figure 8)", nargs="+"),
        Option("dropout", "--dropout", float, "dropout of the fully connected block"),
        Option("image_size", "--image-size", int, "side of the grayscale images (32 in §8.4)"),
        Option("bn_freeze", "--bn-freeze", bool, "from task 2 on, keep BatchNorm in eval mode (task 1's running "
                                                 "statistics, not updated): a remedy beyond the paper"),
        Option("bn_restore_test", "--bn-restore-test", bool, "after task 2, also evaluate every task with BatchNorm's "
                                                             "running statistics put back to their end-of-task-1 values"),
    )
    task_keys = ("dataset", "second", "image_size", "data_seed", "n_train", "n_val", "n_test")
    budgets = {
        # §8.4: 20 epochs per task, λ ∈ {1e2, ..., 1e6}, ten runs; all images (the stand-in: half of MNIST's each,
        # see domain_shift_tasks); Adam lr 1e-4 and batch 100 as the paper's other experiments; widths our choice
        "paper": dict(_COMMON, epochs=20, n_train=60000, n_val=5000, n_test=10000, n_slices=100,
                      channels=(32, 32, 64, 64), hidden=(128,), lr=1e-4, seeds=tuple(range(10)),
                      lams=PAPER_LAMBDAS_SVHN),
        # sized for a laptop CPU: a narrower network, 2,000 images and 3 epochs per task
        "teach": dict(_COMMON, epochs=3, n_train=2000, n_val=500, n_test=1000, n_slices=100,
                      channels=(8, 8, 16, 16), hidden=(64,), lr=1e-3, seeds=(0,), lams=PAPER_LAMBDAS_SVHN),
        # CI: the smallest run through every code path; batches of 50 so that BatchNorm's running statistics see
        # 20 batches a task
        "quick": dict(_COMMON, epochs=2, n_train=500, n_val=100, n_test=200, n_slices=20, batch_size=50,
                      channels=(4, 4, 8, 8), hidden=(32,), lr=1e-3, seeds=(0,), lams=(1e2, 1e4)),
    }
    live = dict(epochs=2, n_train=1000, n_val=200, n_test=500, channels=(8, 8, 16, 16), hidden=(64,), n_slices=50)
    # validation-chosen on the shipped CPU grid (MNIST → printed digits, each inside its grid 1e-4 … 1e6; notebook
    # 08); §8.4 chose EWC 1e4, MAS 1e5, SCP 1e3 on SVHN
    default_lams = {"ewc": 1.0, "mas": 1e-3, "scp": 1.0}
    shipped = "mnist_svhn_cpu_v04"
    # batches of 100 score a convolutional network with BatchNorm 1.6-1.8x faster than 2000 on this project's 2-core
    # CPU (the activations of 2000 images outgrow its caches); the scores are the same (eval mode)
    eval_batch_size = 100
    figures = (
        FigureSpec("Figure 7b", "plot_task_panels", "seeds_by_method", "figure7b"),
        FigureSpec("", "plot_average_metric", "rows", "average_accuracy"),
    )

    # the options the shipped grid's configs lack, at the values its runs used (see Experiment.later_options)
    later_options = dict(bn_freeze=False, bn_restore_test=False)

    def finalize(self, cfg):
        """Resolve ``second="auto"``: SVHN if its files are found or can be downloaded, else printed digits."""
        if cfg["second"] == "auto":
            cfg["second"] = resolve_auto("svhn", cfg.data_root)
        return cfg

    def recorder(self, cfg, tasks, consolidation=None):
        """``bn_freeze``: BatchNorm frozen once task 1 is learned; ``bn_restore_test``:
        :func:`~scpviz.training.batchnorm_restore_test` after the last task, in ``extras["bn_restore"]``."""
        if not (cfg.get("bn_restore_test") or cfg.get("bn_freeze")):
            return None, None
        saved = {}

        def on_task_end(t, model, hist):
            if t == 0:
                saved.update(batchnorm_statistics(model))
                if cfg.get("bn_freeze"):
                    model.freeze_batchnorm()
            if t == len(tasks) - 1 and cfg.get("bn_restore_test"):
                hist.extras["bn_restore"] = batchnorm_restore_test(model, tasks, saved)

        return on_task_end, None

    def validate(self, cfg):
        """Reject images under 8 pixels and the MNIST stand-in (``digits``) paired with real SVHN."""
        if cfg["image_size"] < 8:
            raise ValueError(f"image_size={cfg['image_size']} must be at least 8 pixels.")
        if cfg["dataset"] == "digits" and cfg["second"] == "svhn":
            raise ValueError("dataset='digits' (the MNIST stand-in) with second='svhn' mixes a stand-in with real "
                             "data: use second='mnist_m' or dataset='mnist'.")

    def tasks(self, cfg, device):
        """The two tasks, MNIST then SVHN or MNIST-M, as grayscale ``image_size`` images
        (:func:`scpviz.datasets.domain_shift_tasks`)."""
        first = load_dataset(cfg["dataset"], root=self.data_root_of(cfg), device=device)
        if cfg["second"] == "svhn":
            second, shared = load_svhn(root=self.data_root_of(cfg), device=device), False
        elif cfg["second"] == "printed_digits":
            # as many as the budget draws (SVHN's own sizes when it asks for all)
            n_train = 73257 if cfg["n_train"] is None else cfg["n_train"] + cfg["n_val"]
            second = load_printed_digits(n_train, 26032 if cfg["n_test"] is None else cfg["n_test"], seed=0,
                                         size=cfg["image_size"], device=device)
            shared = False
            notify_standin("svhn", self.data_root_of(cfg))
        else:
            second, shared = load_mnist_m(first, seed=0, size=cfg["image_size"], device=device), True
            notify_standin("svhn", self.data_root_of(cfg))
        tasks = domain_shift_tasks(first, second, size=cfg["image_size"], n_train=cfg["n_train"], n_val=cfg["n_val"],
                                   n_test=cfg["n_test"], subset_seed=cfg.data_seed,
                                   shared_images=shared)
        for t in tasks:
            t.meta["requested_n_train"] = cfg["n_train"]
        return tasks

    def model(self, cfg, tasks):
        """The :class:`~scpviz.models.VGGLike` network of ``cfg`` (Figure 8; widths, hidden units, dropout)."""
        return VGGLike(in_channels=1, image_size=cfg["image_size"], channels=cfg["channels"], hidden=cfg["hidden"],
                       n_classes=10, dropout=cfg["dropout"], seed=cfg["seed"])

