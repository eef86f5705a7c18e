"""Semantic segmentation, summer → winter (§5.3, Figures 5 and 6): a U-Net learns SYNTHIA-SEQS-01-SUMMER, then
-WINTER; 13 classes; loss 1 − Dice; none / online-EWC / MAS / SCP; the test Dice of each task over training.

SYNTHIA cannot be downloaded on the machines this project runs on. When it is not under ``$SCPVIZ_DATA`` the two
tasks come from the **SYNTHIA-style stand-in** (:func:`scpviz.datasets.load_synthia_standin`: procedurally drawn
road scenes in summer and winter, written in SYNTHIA's layout and read by the same loader), and every result is
named "SYNTHIA-style scenes (stand-in for SYNTHIA-SEQS-01)".

Consolidating a dense output: online-EWC uses the **sampled per-pixel Fisher** (one label map drawn from the
network's own per-pixel softmax per frame — unbiased, one backward pass per frame; the exact one needs 13·h·w);
MAS the squared norm of the whole output map; SCP slices the output map (K = 13·h·w ≫ L, so Γ takes L backward
passes) or, with ``layer="bottleneck"``, the U-Net's deepest feature map.
"""

from __future__ import annotations

import torch

from ..consolidation import Consolidation
from ..datasets import load_synthia, load_synthia_standin, notify_standin, resolve_auto, sequence_tasks
from ..datasets.synthia_standin import standin_name
from ..models import UNet
from ..training import SEGMENTATION
from .base import Experiment, FigureSpec, Option
from .run_config import RunConfig

__all__ = ["SynthiaSegmentation", "PAPER_LAMBDAS_SYNTHIA", "decades_around"]

PAPER_LAMBDAS_SYNTHIA = (1e-3, 1e-2, 1e-1, 1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9)  # §5.1's grid
# validation-chosen on the shipped CPU grid (the stand-in, teach budget; notebook 10)
_CPU_CHOSEN = {"ewc": 0.1, "mas": 1e-12, "scp": 1e-3}
# the shipped CPU grid's λ per method, each on its method's scale, each extended downwards until validation chose
# inside it (Ω of a 44,928-number map is about ten decades larger than Γ)
_CPU_GRID = {"ewc": (1e-3, 1e-2, 1e-1, 1e0, 1e1, 1e2, 1e3),
             "mas": (1e-15, 1e-14, 1e-13, 1e-12, 1e-11, 1e-10, 1e-9, 1e-8, 1e-7),
             "scp": (1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1e0, 1e1, 1e2, 1e3)}


def decades_around(lam: float, decades: int = 4) -> tuple:
    """``lam`` × 10^k for k = −decades … decades: a λ grid on one method's own scale.

    >>> decades_around(1e-10, 2)
    (1e-12, 1e-11, 1e-10, 1e-09, 1e-08)
    """
    return tuple(float(f"{lam * 10.0 ** k:.12g}") for k in range(-decades, decades + 1))
_COMMON = dict(alpha=0.75, batch_size=8, optimizer_reset="task", dataset="auto", layer="output", n_frames=None,
               standin_version=2, val_frames="start")


class SynthiaSegmentation(Experiment):
    """§5.3, Figures 5 and 6: a U-Net segments SYNTHIA summer frames, then winter frames (or the stand-in's)."""
    name = "synthia_segmentation"
    title = "Semantic segmentation, SYNTHIA summer then winter, with a U-Net"
    paper = "§5.3, Figures 5 and 6"
    objective = SEGMENTATION
    unused_options = ("hidden",)
    options = (
        Option("dataset", "--dataset", str, "SYNTHIA-SEQS-01, its offline stand-in, or auto (SYNTHIA when found, else "
                                            "the stand-in)", choices=("auto", "synthia", "synthia_standin")),
        Option("base", "--base", int, "U-Net channels at full resolution (64 in Ronneberger et al.)"),
        Option("depth", "--depth", int, "U-Net poolings (4 in Ronneberger et al.)"),
        Option("height", "--height", int, "frame height after resizing (divisible by 2 ** depth)"),
        Option("width", "--width", int, "frame width after resizing (divisible by 2 ** depth)"),
        Option("n_frames", "--frames", int, "frames per stand-in sequence (ignored for SYNTHIA)"),
        Option("standin_version", "--standin-version", int, "the stand-in's drawing: 2, a winter that changes what "
                                                            "colours mean (designed after 1 forgot little), or 1",
               choices=(1, 2)),
        Option("val_frames", "--val-frames", str, "where each sequence's validation frames are: its start, gap frames "
                                                  "before the training frames (start), or just before the test frames "
                                                  "(before_test: the layout of results made before version 0.4)",
               choices=("start", "before_test")),
        Option("gap", "--gap", int, "frames left out between validation and training and between training and test, "
                                    "so that no frame is a near-copy of one in another split"),
        Option("layer", "--layer", str, "where MAS and SCP preserve the output: the class scores or the U-Net's "
                                        "bottleneck", choices=("output", "bottleneck")),
        Option("adam_eps", "--adam-eps", float, "Adam's ε: 1e-4 at the CPU budgets keeps 1 − Dice from growing the "
                                                "logits without bound (torch's default 1e-8 at the paper's)"),
    )
    task_keys = ("dataset", "height", "width", "n_frames", "n_train", "n_val", "n_test", "standin_version",
                 "val_frames", "gap")
    # the options that the configs of the grid shipped before version 0.4 (synthia_segmentation_cpu) lack, at the
    # values its runs used (see Experiment.later_options)
    later_options = dict(standin_version=2, val_frames="before_test", gap=0, adam_eps=1e-8)
    budgets = {
        # §5.3: U-Net, 1 − Dice, 100 epochs per task, Adam 1e-4, L = 100, last 100 frames as test, ten runs; the
        # frame size is not given (ours: 256 × 448, divisible by 16); the paper names no λ here, and F, Ω and Γ of
        # a class map live on scales many decades apart, so each method's grid is the CPU grid's choice ± 4
        # decades (Ω sums over the whole map: with 33× the pixels its best λ may sit a few decades lower)
        # gap: SYNTHIA's frames could not be measured here (no copy); 50 frames, five times the stand-in's
        # decorrelation lag — check it with datasets.frame_decorrelation_lag on the real sequences
        "paper": dict(_COMMON, base=64, depth=4, height=256, width=448, epochs=100, n_train=None, n_val=50, gap=50,
                      n_test=100, n_slices=100, lr=1e-4, adam_eps=1e-8, seeds=tuple(range(10)),
                      lams={m: decades_around(lam) for m, lam in _CPU_CHOSEN.items()}),
        # sized for a laptop CPU: a narrow U-Net on 48 × 72 frames of the stand-in; lr 5e-3, because at 1e-3 or
        # 2e-3 summer is still poorly learned after 20 epochs, more than this budget affords
        # gap: the stand-in's frames 10 apart differ as much as frames far apart do (frame_decorrelation_lag)
        # adam_eps: with torch's 1e-8, seed 0 diverged in its first epoch (logits ~1e8, summer Dice 3 %) and
        # seeds 1, 3 while learning winter (logits 1e4-1e5); with 1e-4 summer was learned on seeds 0-5 (validation
        # Dice 44-65 %, no consolidation, largest logit 1e2-1e3) - decided on those runs only
        "teach": dict(_COMMON, base=12, depth=3, height=48, width=72, n_frames=160, epochs=15, n_train=100,
                      n_val=20, gap=10, n_test=20, n_slices=50, lr=5e-3, adam_eps=1e-4, seeds=(0,),
                      lams=_CPU_GRID),
        # CI
        "quick": dict(_COMMON, base=4, depth=2, height=32, width=48, n_frames=40, epochs=2, n_train=24, n_val=4,
                      gap=2, n_test=8, n_slices=10, lr=2e-3, adam_eps=1e-4, seeds=(0,), lams=(1e0, 1e2)),
    }
    # notebook 10's own run: seconds per run on a laptop CPU, enough epochs for summer to be learned and forgotten
    live = dict(epochs=10, n_train=60, base=12, depth=3, height=48, width=72, n_frames=100, lr=2e-3)
    default_lams = _CPU_CHOSEN
    shipped = "synthia_segmentation_cpu_v04"
    figures = (
        FigureSpec("Figure 5", "plot_segmentation_frames", "by_method", "figure5"),
        FigureSpec("Figure 6", "plot_task_panels", "seeds_by_method", "figure6"),
    )

    def finalize(self, cfg):
        """Resolve ``dataset="auto"``: SYNTHIA-SEQS-01 if found, else the stand-in."""
        if cfg["dataset"] == "auto":
            cfg["dataset"] = resolve_auto("synthia", cfg.data_root)
        return cfg

    def validate(self, cfg):
        """Reject frame sizes under 8 pixels or not divisible by 2 ** depth (the U-Net's poolings)."""
        k = 2 ** cfg["depth"]
        if cfg["height"] % k or cfg["width"] % k or min(cfg["height"], cfg["width"]) < 8:
            raise ValueError(f"height={cfg['height']} and width={cfg['width']} must be ≥ 8 and divisible by {k} "
                             f"(2 ** depth, depth={cfg['depth']}).")

    def sequences(self, cfg, device):
        """The summer and winter sequences at ``(height, width)``: SYNTHIA's, or the stand-in's, drawn with enough
        frames for the budget."""
        size = (cfg["height"], cfg["width"])
        if cfg["dataset"] == "synthia":
            return [load_synthia(s, root=self.data_root_of(cfg), size=size, n_test=100, device=device)
                    for s in ("summer", "winter")]
        notify_standin("synthia", self.data_root_of(cfg))
        n_test = cfg["n_test"] or 20
        n = cfg["n_frames"] or (cfg["n_train"] or 100) + cfg["n_val"] + n_test + 2 * cfg["gap"]
        return [load_synthia_standin(s, n_frames=n, size=size, n_test=n_test, device=device,
                                     version=cfg.get("standin_version", 2)) for s in ("summer", "winter")]

    def tasks(self, cfg, device):
        """Two tasks, summer then winter (:func:`scpviz.datasets.sequence_tasks`)."""
        seqs = self.sequences(cfg, device)
        name = (standin_name(cfg.get("standin_version", 2)) if cfg["dataset"] == "synthia_standin"
                else "SYNTHIA-SEQS-01")
        return sequence_tasks(seqs, names=["summer", "winter"], n_train=cfg["n_train"], n_val=cfg["n_val"],
                              n_test=cfg["n_test"], name=name, val_frames=cfg["val_frames"], gap=cfg["gap"])

    def model(self, cfg, tasks):
        """The :class:`~scpviz.models.UNet` of ``cfg`` (``base`` channels, ``depth`` poolings), 13 classes."""
        return UNet(in_channels=3, n_classes=13, base=cfg["base"], depth=cfg["depth"], seed=cfg["seed"])

    def recorder(self, cfg, tasks, consolidation=None):
        """Figure 5's frames: after each task, the class map the network predicts for one test frame of every task
        (the middle one). ``extras["frames"]``: ``inputs`` (task × 3 × h × w, uint8 0–255), ``labels``
        (task × h × w) and ``predictions`` (stage × task × h × w, class ids), ``index`` (the frame's index in the
        test set)."""
        index = len(tasks[0].x_test) // 2
        probe = torch.stack([t.x_test[min(index, len(t.x_test) - 1)] for t in tasks])
        preds = []

        @torch.no_grad()
        def on_task_end(t, model, hist):
            was = model.training
            model.eval()
            preds.append(model(probe).argmax(1).to(torch.uint8).cpu().tolist())
            model.train(was)

        def finish(hist):
            hist.extras["frames"] = dict(
                index=index, predictions=preds,
                inputs=((probe + 1) * 127.5).round().clamp(0, 255).to(torch.uint8).cpu().tolist(),  # [−1, 1] → 0–255
                labels=torch.stack([t.y_test[min(index, len(t.y_test) - 1)] for t in tasks]).to(torch.uint8)
                .cpu().tolist())

        return on_task_end, finish

    def consolidation(self, cfg, model, tasks):
        """The penalty of eq 17: EWC's Fisher with a softmax per pixel and sampled labels; MAS and SCP preserve the
        class map or, with ``layer="bottleneck"``, the U-Net's bottleneck."""
        cfg = RunConfig.of(cfg)
        layer = f"down.{cfg['depth']}" if cfg["layer"] == "bottleneck" else None
        return Consolidation(cfg.method, lam=cfg.lam, alpha=cfg.alpha, n_slices=cfg.n_slices,
                             seed=cfg.seed, layer=layer, fisher_labels="sample", per_position=True,
                             batch_size=16)
