"""Permuted MNIST (§5.1, Figure 3): ten tasks, each MNIST under a fixed pixel permutation, learned in turn by the
paper's MLP 784-1024-512-256-10; none / online-EWC / MAS / SCP; average test accuracy over the tasks seen."""

from __future__ import annotations

import torch

from ..config import get_device
from ..datasets import load_dataset, permuted_mnist_tasks
from ..importance import fisher_importance, mas_importance, scp_importance
from ..models import MLP
from ..training import CLASSIFICATION, train_task
from .base import Experiment, FigureSpec, Option

__all__ = ["PermutedMNIST", "PAPER_LAMBDAS", "importances_after_first_task"]

PAPER_LAMBDAS = tuple(10.0 ** i for i in range(-3, 10))  # §5.1: {1e-3, ..., 1e9}
_COMMON = dict(alpha=0.75, batch_size=100, optimizer_reset="task", dataset="mnist")


class PermutedMNIST(Experiment):
    """§5.1, Figure 3: ten permuted-MNIST tasks learned in turn by the paper's MLP."""
    name = "permuted_mnist"
    title = "Ten permuted-MNIST tasks"
    paper = "§5.1, Figure 3"
    objective = CLASSIFICATION
    options = (Option("n_tasks", "--tasks", int, "number of tasks (permutations; the first is the identity)"),)
    task_keys = ("dataset", "n_tasks", "seed", "data_seed", "n_train", "n_val", "n_test")
    budgets = {
        # the paper: 10 tasks, Adam lr 1e-4, batch 100, L = 100, 10 runs, λ cross-validated on {1e-3, ..., 1e9}
        "paper": dict(_COMMON, n_tasks=10, epochs=20, n_train=55000, n_val=5000, n_test=10000, n_slices=100,
                      hidden=(1024, 512, 256), lr=1e-4, seeds=tuple(range(10)), lams=PAPER_LAMBDAS),
        # sized for a laptop CPU: the paper's network and ten tasks, fewer images and epochs (lr 1e-3: with 120
        # steps a task 1e-4 barely trains); λ: the shipped grid's choices (results: README, Results on real MNIST)
        "teach": dict(_COMMON, n_tasks=10, epochs=2, n_train=6000, n_val=1000, n_test=2000, n_slices=100,
                      hidden=(1024, 512, 256), lr=1e-3, seeds=(0,),
                      lams={"ewc": (1000.0,), "mas": (1.0,), "scp": (1000.0,)}),
        # CI, and the base of the explorers' live runs (``live`` overrides it)
        "quick": dict(_COMMON, n_tasks=3, epochs=1, n_train=2000, n_val=200, n_test=500, n_slices=20,
                      hidden=(128, 64), lr=1e-3, seeds=(0,), lams=(10.0, 1000.0)),
    }
    # the explorer's live runs: seconds on a laptop CPU (README, Performance), yet enough tasks and epochs that
    # the old tasks are forgotten without consolidation and the penalties visibly keep them
    live = dict(n_tasks=5, epochs=3, n_train=4000, n_val=500, n_test=1000, hidden=(512, 256), n_slices=100)
    # validation-chosen on the shipped CPU grid (tests/experiments recompute them from the file)
    default_lams = {"ewc": 1000.0, "mas": 1.0, "scp": 1000.0, "mas_abs": 0.1}
    shipped = "permuted_mnist_cpu_resampled"
    ensemble_ready = True
    figures = (
        FigureSpec("Figure 3a", "plot_average_metric", "rows", "average_accuracy", reference="PAPER_FIG3A"),
        FigureSpec("", "plot_forgetting_curves", "run", "forgetting"),
    )

    def tasks(self, cfg, device):
        """``n_tasks`` pixel permutations of the dataset, the first the identity
        (:func:`scpviz.datasets.permuted_mnist_tasks`)."""
        ds = load_dataset(cfg["dataset"], root=self.data_root_of(cfg), device=device)
        return permuted_mnist_tasks(ds, n_tasks=cfg["n_tasks"], seed=cfg["seed"], n_train=cfg["n_train"],
                                    n_test=cfg["n_test"], n_val=cfg["n_val"], subset_seed=cfg.data_seed)

    def ensemble_tasks(self, cfg, device):
        """The same tasks, lazy: the run's images once, each task's permutation applied by the ensemble trainer as
        it reads them (at the paper's budget 1.7 GB less per run; the same numbers, tested)."""
        ds = load_dataset(cfg["dataset"], root=self.data_root_of(cfg), device=device)
        return permuted_mnist_tasks(ds, n_tasks=cfg["n_tasks"], seed=cfg["seed"], n_train=cfg["n_train"],
                                    n_test=cfg["n_test"], n_val=cfg["n_val"], subset_seed=cfg.data_seed, lazy=True)

    def model(self, cfg, tasks):
        """The :class:`~scpviz.models.MLP` of ``cfg["hidden"]`` on the flattened images, 10 outputs."""
        return MLP(in_features=tasks[0].x_train.shape[1], hidden=cfg["hidden"], n_classes=10, seed=cfg["seed"])


def importances_after_first_task(cfg: dict, device=None, progress=False) -> dict:
    """Train the run's MLP on its first task and return ``{"ewc": F, "mas": Ω, "scp": Γ}`` (Figure 3b).

    All three are computed on the task's training images, SCP with the config's L. ``progress``: a tqdm bar over
    the training epochs.
    """
    exp = PermutedMNIST()
    device = get_device() if device is None else torch.device(device)
    task = exp.cached_tasks(cfg, device)[0]
    model = exp.model(cfg, [task]).to(device)
    train_task(model, task, epochs=cfg["epochs"], lr=cfg["lr"], batch_size=cfg["batch_size"], seed=cfg["seed"],
               progress=progress, desc="task 1")
    return {"ewc": fisher_importance(model, task.x_train),
            "mas": mas_importance(model, task.x_train),
            "scp": scp_importance(model, task.x_train, n_slices=cfg["n_slices"], seed=cfg["seed"])}
