"""Sequential auto-encoders on single digits (§5.2, Figure 4): one auto-encoder learns the ten MNIST digits one
after another; none / MAS / SCP preserve its output (or its code); mean ℓ1 reconstruction error over the digits seen
(lower is better), and the reconstructions after each digit (Figure 4a)."""

from __future__ import annotations

import numpy as np
import torch

from ..consolidation import Consolidation
from ..datasets import digit_tasks, load_dataset
from ..models import AutoEncoder
from ..training import RECONSTRUCTION, RECONSTRUCTION_LOSSES, reconstruction_objective
from .base import Experiment, FigureSpec, Option
from .permuted_mnist import PAPER_LAMBDAS

__all__ = ["AutoEncoders", "PAPER_ORDER"]

PAPER_ORDER = (2, 7, 4, 0, 9, 1, 6, 5, 8, 3)  # the order of the paper's example (Figure 4a)
_LATER_DEFAULTS = dict(activation="relu", init="default", bias=True, loss=RECONSTRUCTION_LOSSES[0])
_COMMON = dict(alpha=0.75, optimizer_reset="task", dataset="mnist", layer="output", snapshots=False, **_LATER_DEFAULTS)


class AutoEncoders(Experiment):
    name = "autoencoders"
    title = "Sequential auto-encoders on single digits"
    paper = "§5.2, Figure 4"
    objective = RECONSTRUCTION
    methods = ("none", "mas", "scp")  # the paper: EWC needs class probabilities, an auto-encoder has none
    options = (
        Option("order", "--order", int, "digit order (default: the budget's; seeds > 0 permute it)", nargs="+"),
        Option("code", "--code", int, "code width"),
        Option("layer", "--layer", str, "the preserved representation: the reconstruction (as the paper) or the code",
               choices=("output", "code")),
        Option("snapshots", "--snapshots", bool, "record the reconstructions after each digit (Figure 4a)"),
        Option("activation", "--activation", str, "hidden activation: ReLU (the paper) or LeakyReLU(0.1) (the MLP "
               "class of lihr04/corel2m)", choices=("relu", "leaky_relu")),
        Option("init", "--init", str, "PyTorch's default init or Xavier-uniform", choices=("default", "xavier")),
        Option("bias", "--bias", bool, "linear layers with biases (the paper's default here) or without"),
        Option("loss", "--loss", str, "training loss, named by each term's reduction over an image's pixels",
               choices=RECONSTRUCTION_LOSSES),
    )
    task_keys = ("dataset", "order", "n_train", "n_val", "n_test")
    per_seed = ("order",)
    run_overrides = {"snapshots": True}  # Figure 4a
    budgets = {
        # the paper: 784-1024-1024-1024-256 and mirror, 50 epochs a digit, Adam lr 1e-4, L = 100, 10 orders
        "paper": dict(_COMMON, order=PAPER_ORDER, epochs=50, n_slices=100, batch_size=100, lr=1e-4,
                      hidden=(1024, 1024, 1024), code=256, n_train=None, n_val=500, n_test=None,
                      seeds=tuple(range(10)), lams=PAPER_LAMBDAS),
        # a 2-core CPU, seconds a run: all ten digits, a narrower network, fewer images and epochs
        "teach": dict(_COMMON, order=PAPER_ORDER, epochs=5, n_slices=100, batch_size=50, lr=1e-3,
                      hidden=(256,), code=64, n_train=1000, n_val=100, n_test=200, seeds=(0,),
                      lams={"mas": (10.0,), "scp": (1e5,)}),
        "quick": dict(_COMMON, order=PAPER_ORDER[:3], epochs=10, n_slices=20, batch_size=50, lr=1e-3,
                      hidden=(128,), code=32, n_train=300, n_val=50, n_test=100, seeds=(0,), lams=(1.0, 100.0)),
    }
    # validation-chosen (output layer) on the shipped H100 grid (tests/experiments recompute them from the file)
    default_lams = {"mas": 10.0, "scp": 1e5}
    shipped = "autoencoders_h100"
    figures = (
        FigureSpec("Figure 4b", "plot_average_metric", "rows", "average_l1"),
        FigureSpec("Figure 4a", "plot_reconstruction_grid", "by_method", "reconstructions"),
    )

    def derive(self, cfg, overrides):
        """Seed s > 0 permutes the budget's digit order (the paper's 10 runs permute it); ``order=`` overrides."""
        if cfg["seed"] and "order" not in overrides:
            order = list(cfg["order"])
            cfg["order"] = [order[i] for i in np.random.default_rng(cfg["seed"]).permutation(len(order))]
        return cfg

    def finalize(self, cfg):
        """The network/loss options added later (activation, init, bias, loss) are left out of the config when they
        have their default values, so configs — and cache keys — of runs made before they existed (the shipped
        GPU results) still match."""
        for key, default in _LATER_DEFAULTS.items():
            if key in cfg and cfg[key] == default and type(cfg[key]) is type(default):
                cfg.pop(key)
        return cfg

    def tasks(self, cfg, device):
        ds = load_dataset(cfg["dataset"], device=device)
        return digit_tasks(ds, order=cfg["order"], n_train=cfg["n_train"], n_test=cfg["n_test"], n_val=cfg["n_val"])

    def model(self, cfg, tasks):
        return AutoEncoder(in_features=tasks[0].x_train.shape[1], hidden=cfg["hidden"], code=cfg["code"],
                           seed=cfg["seed"], **{k: cfg.get(k, v) for k, v in _LATER_DEFAULTS.items() if k != "loss"})

    def objective_for(self, cfg):
        return reconstruction_objective(cfg.get("loss", _LATER_DEFAULTS["loss"]))

    def consolidation(self, cfg, model, tasks):
        # one batch per task for the importances: with K = 784 > L, scp_importance then squares each of the L VJPs
        # at once (Algorithm 1's cost, no per-slice gradient sums); a digit's graph is ~0.2 GB for the paper's network
        return Consolidation(cfg["method"], lam=cfg["lam"], alpha=cfg["alpha"], n_slices=cfg["n_slices"],
                             seed=cfg["seed"], layer=model.encoder if cfg["layer"] == "code" else None,
                             batch_size=max(len(t.x_train) for t in tasks))

    def recorder(self, cfg, tasks):
        """With ``snapshots``, the reconstructions of the first test image of every digit after each task
        (``extras["snapshots"]``: uint8 0–255, stage × digit × 784; the inputs in ``extras["inputs"]``)."""
        if not cfg.get("snapshots"):
            return None, None
        probe = torch.stack([t.x_test[0] for t in tasks])
        snaps = []

        @torch.no_grad()
        def on_task_end(t, model, hist):
            was = model.training
            model.eval()
            snaps.append((model(probe) * 255).round().to(torch.uint8).cpu().tolist())
            model.train(was)

        def finish(hist):
            hist.extras["snapshots"] = snaps
            hist.extras["inputs"] = (probe * 255).round().to(torch.uint8).cpu().tolist()

        return on_task_end, finish
