"""Sequential auto-encoders on single digits (§5.2, Figure 4): one auto-encoder learns the ten MNIST digits one
after another; none / MAS / SCP preserve its output (or its code); mean ℓ1 reconstruction error over the digits seen
(lower is better), and the reconstructions after each digit (Figure 4a)."""

from __future__ import annotations

import numpy as np
import torch

from ..consolidation import Consolidation
from ..datasets import digit_tasks, load_dataset
from ..models import AutoEncoder
from ..replay import ReplayConsolidation
from ..training import RECONSTRUCTION, RECONSTRUCTION_LOSSES, blind_reset_test, reconstruction_objective
from .base import Experiment, FigureSpec, Option
from .run_config import RunConfig
from .permuted_mnist import PAPER_LAMBDAS

__all__ = ["AutoEncoders", "PAPER_ORDER", "seed_order"]

PAPER_ORDER = (2, 7, 4, 0, 9, 1, 6, 5, 8, 3)  # the order of the paper's example (Figure 4a)
_NET_DEFAULTS = dict(activation="relu", init="default", bias=True)
# the options the shipped GPU results' configs lack, at the values those runs used (AutoEncoders.later_options)
_LATER_DEFAULTS = dict(_NET_DEFAULTS, loss=RECONSTRUCTION_LOSSES[0], penalty="quadratic", replay_per_task=10,
                       neighbourhood=0, neighbourhood_scale=0.1, reset_test=False)
_COMMON = dict(alpha=0.75, optimizer_reset="task", dataset="mnist", layer="output", snapshots=False, **_LATER_DEFAULTS)


def seed_order(order, seed: int) -> list:
    """The digit order of seed ``seed``: ``order`` itself for seed 0, a permutation of it drawn from the seed
    otherwise (the paper's 10 runs permute the order).

    Examples
    --------
    >>> seed_order((2, 7, 4), 0)
    [2, 7, 4]
    >>> sorted(seed_order((2, 7, 4), 3)) == [2, 4, 7]
    True
    """
    order = list(order)
    if not seed:
        return order
    return [order[i] for i in np.random.default_rng(seed).permutation(len(order))]


class AutoEncoders(Experiment):
    """§5.2, Figure 4: one auto-encoder learns the MNIST digits one after another (no EWC: no class probabilities)."""
    name = "autoencoders"
    title = "Sequential auto-encoders on single digits"
    paper = "§5.2, Figure 4"
    objective = RECONSTRUCTION
    has_class_probabilities = False  # so no EWC (the paper: it needs class probabilities)
    # the options the shipped GPU grids' configs lack (activation, init, bias, loss, penalty, ...), at the values
    # those runs used, so that their configs read back equal to today's
    later_options = _LATER_DEFAULTS
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
        Option("penalty", "--penalty", str, "the quadratic penalty of eq 17 (the paper) or the replay regularizer it "
               "approximates (eq 6 / eq 14) on a small buffer of old inputs", choices=("quadratic", "replay")),
        Option("replay_per_task", "--replay-per-task", int, "inputs kept per finished digit (--penalty replay)"),
        Option("neighbourhood", "--neighbourhood", int, "0: importance at θ* (the paper); k: averaged over k "
               "perturbed copies of θ*"),
        Option("neighbourhood_scale", "--neighbourhood-scale", float, "noise std of those copies, relative to each "
               "weight tensor's RMS"),
        Option("reset_test", "--reset-test", bool, "after each digit, the old digits' error with only the blind "
               "(zero-importance) weights, or only the others, reset to θ*"),
    )
    task_keys = ("dataset", "order", "data_seed", "n_train", "n_val", "n_test")
    per_seed = ("order",)
    run_overrides = {"snapshots": True}  # Figure 4a
    budgets = {
        # the paper: 784-1024-1024-1024-256 and mirror, 50 epochs a digit, Adam lr 1e-4, L = 100, 10 orders
        "paper": dict(_COMMON, order=PAPER_ORDER, epochs=50, n_slices=100, batch_size=100, lr=1e-4,
                      hidden=(1024, 1024, 1024), code=256, n_train=None, n_val=500, n_test=None,
                      seeds=tuple(range(10)), lams=PAPER_LAMBDAS),
        # sized for a laptop CPU: all ten digits, a narrower network, fewer images and epochs
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
        if "order" not in overrides:
            cfg["order"] = seed_order(cfg["order"], cfg["seed"])
        return cfg

    def validate(self, cfg):
        """Reject a neighbourhood with the replay penalty (it has no importance) and negative replay or
        neighbourhood settings."""
        if cfg.get("penalty") == "replay" and cfg.get("neighbourhood"):
            raise ValueError("neighbourhood applies to the quadratic penalty's importance; with penalty='replay' "
                             "there is no importance: leave neighbourhood at 0.")
        if cfg.get("replay_per_task", 1) < 1 or cfg.get("neighbourhood", 0) < 0 \
                or not cfg.get("neighbourhood_scale", 0.0) >= 0:
            raise ValueError("replay_per_task must be >= 1, neighbourhood >= 0 and neighbourhood_scale >= 0.")

    def tasks(self, cfg, device):
        """One task per digit of ``cfg["order"]`` (:func:`scpviz.datasets.digit_tasks`), the images flattened."""
        ds = load_dataset(cfg["dataset"], root=self.data_root_of(cfg), device=device)
        return digit_tasks(ds, order=cfg["order"], n_train=cfg["n_train"], n_test=cfg["n_test"], n_val=cfg["n_val"],
                           subset_seed=cfg.data_seed)

    def model(self, cfg, tasks):
        """The :class:`~scpviz.models.AutoEncoder` of ``cfg`` (widths, code, activation, init, bias)."""
        return AutoEncoder(in_features=tasks[0].x_train.shape[1], hidden=cfg["hidden"], code=cfg["code"],
                           seed=cfg["seed"], **{k: cfg.get(k, v) for k, v in _NET_DEFAULTS.items()})

    def objective_for(self, cfg):
        """Reconstruction with the training loss ``cfg["loss"]`` (:data:`~scpviz.training.RECONSTRUCTION_LOSSES`)."""
        return reconstruction_objective(cfg.get("loss", _LATER_DEFAULTS["loss"]))

    def consolidation(self, cfg, model, tasks):
        """The quadratic penalty of eq 17 (importance at θ* or over its neighbourhood), or with
        ``penalty="replay"`` the replay regularizer it approximates; at the output or, ``layer="code"``, the code."""
        cfg = RunConfig.of(cfg)
        # one batch per task for the importances: with K = 784 > L, scp_importance then squares each of the L VJPs
        # at once (Algorithm 1's cost, no per-slice gradient sums); a digit's graph is ~0.2 GB for the paper's network
        layer = model.encoder if cfg["layer"] == "code" else None
        opt = {k: cfg.get(k, v) for k, v in _LATER_DEFAULTS.items()}
        if opt["penalty"] == "replay":
            return ReplayConsolidation(cfg.method, lam=cfg.lam, per_task=opt["replay_per_task"],
                                       n_slices=cfg.n_slices, layer=layer, seed=cfg.seed)
        return Consolidation(cfg.method, lam=cfg.lam, alpha=cfg.alpha, n_slices=cfg.n_slices,
                             seed=cfg.seed, layer=layer, batch_size=max(len(t.x_train) for t in tasks),
                             neighbourhood=opt["neighbourhood"], neighbourhood_scale=opt["neighbourhood_scale"])

    ensemble_ready = True

    def ensemble_refusal(self, cfg):
        """The stacked ensemble trains the paper's setting: the quadratic penalty on the output's importance at θ*
        (``layer="code"``, ``penalty="replay"``, a neighbourhood and ``reset_test`` run alone)."""
        why = super().ensemble_refusal(cfg)
        if why:
            return why
        opt = {k: cfg.get(k, v) for k, v in _LATER_DEFAULTS.items()}
        if cfg.get("layer", "output") != "output":
            return "the code layer's importance has no batched rule (the ensemble preserves the output)"
        if opt["penalty"] != "quadratic":
            return "the replay penalty keeps a buffer and a graph per run"
        if opt["neighbourhood"]:
            return "the neighbourhood importance perturbs each network"
        if opt["reset_test"]:
            return "the blind-reset test resets each network"
        return None

    def ensemble_axes(self, cfg):
        """Seed, data_seed, method and λ — and the digit order when every split has a fixed size (a digit's images
        then do not depend on which digit it is; with ``n_train=None`` runs of one order stack together)."""
        if all(cfg.get(k) is not None for k in ("n_train", "n_val", "n_test")):
            return super().ensemble_axes(cfg) + ("order",)
        return super().ensemble_axes(cfg)

    def ensemble_recorder(self, cfgs, runs):
        """With ``snapshots``, every run's reconstructions after each digit (as :meth:`recorder`)."""
        if not cfgs[0].get("snapshots"):
            return None, None
        probe = torch.stack([torch.stack([t.x_test[0].reshape(-1) for t in r.tasks]) for r in runs])   # (M, T, D)
        snaps = []

        @torch.no_grad()
        def on_task_end(t, stack):
            snaps.append((stack(probe.to(stack.weights[0])) * 255).round().to(torch.uint8).cpu())   # (M, T, D)

        def finish(hists):
            for m, h in enumerate(hists):
                h.extras["snapshots"] = [s[m].tolist() for s in snaps]
                h.extras["inputs"] = (probe[m] * 255).round().to(torch.uint8).cpu().tolist()

        return on_task_end, finish

    def recorder(self, cfg, tasks, consolidation=None):
        """With ``snapshots``, the reconstructions of the first test image of every digit after each task
        (``extras["snapshots"]``: uint8 0–255, stage × digit × 784; the inputs in ``extras["inputs"]``). With
        ``reset_test`` (quadratic penalties), after each digit t ≥ 2 the old digits' mean test ℓ1 now, at θ*, with
        only the blind weights reset to θ* and with only the others reset
        (:func:`scpviz.training.blind_reset_test`; ``extras["reset_test"]``, one dict per digit)."""
        snap, reset = bool(cfg.get("snapshots")), bool(cfg.get("reset_test")) and isinstance(consolidation,
                                                                                              Consolidation)
        if not (snap or reset):
            return None, None
        probe = torch.stack([t.x_test[0] for t in tasks])
        snaps, resets = [], []

        @torch.no_grad()
        def on_task_end(t, model, hist):
            if snap:
                was = model.training
                model.eval()
                snaps.append((model(probe) * 255).round().to(torch.uint8).cpu().tolist())
                model.train(was)
            if reset and t > 0 and consolidation.active:
                res = blind_reset_test(model, consolidation.importance, consolidation.theta_star,
                                       [s.x_test for s in tasks[:t]], self.objective_for(cfg))
                resets.append(dict(task=t, **res))

        def finish(hist):
            if snap:
                hist.extras["snapshots"] = snaps
                hist.extras["inputs"] = (probe * 255).round().to(torch.uint8).cpu().tolist()
            if reset:
                hist.extras["reset_test"] = resets

        return on_task_end, finish
