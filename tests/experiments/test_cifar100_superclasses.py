"""CIFAR-100 super-classes (supplementary §8.5, Figure 9): the Wide-ResNet, the CIFAR-100 / stand-in switch,
augmentation in the engine, runs of the three budgets."""
import numpy as np
import pytest
import torch
import torch.nn as nn

from scpviz import cli, config, experiments, models
from scpviz.datasets import SHAPE_SUPERCLASSES_NAME, SUPERCLASS_STANDIN_NAME, Augmentation
from scpviz.training import History, train_sequence

EXP = experiments.get("cifar100_superclasses")


def _wrn_params(depth, k, n_classes=20, c_in=3):
    """Parameter count of WRN-depth-k, by hand: stem, blocks (BN, conv, BN, conv, 1×1 shortcut), BN, head."""
    widths = [16] + [int(round(w * k)) for w in (16, 32, 64)]
    n_blocks = (depth - 4) // 6
    total, c = c_in * 16 * 9, 16
    for w, stride in zip(widths[1:], (1, 2, 2)):
        for b in range(n_blocks):
            total += 2 * c + c * w * 9 + 2 * w + w * w * 9
            if c != w or (stride != 1 and b == 0):
                total += c * w
            c = w
    return total + 2 * c + c * n_classes + n_classes


@pytest.mark.parametrize("mode", config.MODES)
def test_wide_resnet_shapes_per_budget(mode):
    cfg = EXP.config("none", seed=0, mode=mode)
    m = EXP.model(cfg, [])
    assert sum(p.numel() for p in m.parameters()) == _wrn_params(cfg["depth"], cfg["widen_factor"])
    x = torch.zeros(2, 3, 32, 32)
    assert m(x).shape == (2, 20)
    convs = [mod for mod in m.modules() if isinstance(mod, nn.Conv2d)]
    n = (cfg["depth"] - 4) // 6
    assert len([c for c in convs if c.kernel_size == (3, 3)]) == 1 + 6 * n       # depth = 6 n + 4 (+ shortcuts)
    assert all(c.bias is None for c in convs)
    feats = m.blocks(m.conv(x))                                                     # 32 → 32 → 16 → 8
    assert feats.shape[1:] == (int(round(64 * cfg["widen_factor"])), 8, 8)
    if mode == "paper":   # WRN-28-10, the Cutout paper's CIFAR-100 network: 36.5 M weights
        assert (cfg["depth"], cfg["widen_factor"]) == (28, 10) and sum(p.numel() for p in m.parameters()) > 36e6
        assert cfg["epochs"] == 20 and list(EXP.budget(mode).lams) == [1e2, 1e3, 1e4, 1e5, 1e6]
        assert len(EXP.budget(mode).seeds) >= 3 and (cfg["crop_padding"], cfg["flip"], cfg["cutout"]) == (4, 1, 8)


def test_wide_resnet_errors_name_the_argument():
    with pytest.raises(ValueError, match="depth=12 must be 6 n"):
        models.WideResNet(depth=12)
    with pytest.raises(ValueError, match="widen_factor"):
        models.WideResNet(depth=10, widen_factor=0.01)
    with pytest.raises(ValueError, match="dropout"):
        models.WideResNet(depth=10, dropout=1.0)
    with pytest.raises(ValueError, match=r"\(N, 3, H, W\)"):
        models.WideResNet(depth=10, widen_factor=0.25)(torch.zeros(2, 1, 32, 32))
    a, b = (models.WideResNet(depth=10, widen_factor=0.25, seed=3) for _ in range(2))
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    with pytest.raises(ValueError, match="depth=11"):
        EXP.config("none", mode="quick", depth=11)


def test_dataset_is_cifar100_when_found_else_the_labelled_stand_in(tmp_path, monkeypatch):
    from tests.datasets.test_datasets import _write_cifar100

    monkeypatch.setenv("SCPVIZ_DATA", str(tmp_path))
    assert EXP.config("none", mode="quick")["dataset"] == "shape_superclasses"
    _write_cifar100(tmp_path / "cifar-100-python", per_fine=(6, 2))
    cfg = EXP.config("none", mode="quick", n_train=40, n_val=10, n_test=20)
    assert cfg["dataset"] == "cifar100"
    h = EXP.run(cfg, device="cpu")
    assert h.dataset == "CIFAR-100" and h.task_names == [f"task {i}" for i in range(1, 6)]
    first = EXP.config("none", mode="quick", dataset="cifar100_standin", n_train=40, n_val=10, n_test=20)
    assert first["dataset"] == "cifar100_standin"                 # the first stand-in stays selectable
    assert EXP.cached_tasks(first, "cpu")[0].dataset == SUPERCLASS_STANDIN_NAME


@pytest.fixture(scope="module")
def quick_runs():
    out = {}
    for m in EXP.methods:
        cfg = EXP.config(m, 10.0, seed=0, mode="quick")          # offline: the shapes-with-parts stand-in
        out[m] = (cfg, EXP.run(cfg, device="cpu"))
    return out


def test_runs_name_the_stand_in_and_are_reproducible(quick_runs):
    cfg, h = quick_runs["scp"]
    assert h.dataset == SHAPE_SUPERCLASSES_NAME and len(h.task_names) == 5
    assert len(h.points) == 5 * cfg["epochs"] and h.points[0]["test"][1] is None
    assert h.config["cutout"] == 8 and h.config["crop_padding"] == 4 and h.config["flip"] == 1
    again = EXP.run(cfg, device="cpu")          # batch order, augmentation draws, slices: all from the seed
    assert np.array_equal(h.matrix(), again.matrix(), equal_nan=True)
    for m, (_, hm) in quick_runs.items():
        assert np.isfinite(hm.final_matrix()[-1]).all(), m
    assert quick_runs["none"][1].points[-1]["penalty"] == 0.0 < quick_runs["scp"][1].points[-1]["penalty"]


def test_engine_augments_training_batches_only():
    """augment= sees every training batch (and only those), with the epoch's generator; no augment = as before."""
    tasks = EXP.tasks(EXP.config("none", mode="quick", dataset="cifar100_standin"), "cpu")[:2]
    seen = []

    def spy(xb, gen):
        seen.append(len(xb))
        assert isinstance(gen, torch.Generator)
        return Augmentation()(xb, gen)

    model = models.WideResNet(depth=10, widen_factor=0.25, seed=0)
    train_sequence(model, tasks, epochs=2, batch_size=64, lr=1e-3, progress=False, augment=spy)
    per_epoch = [min(64, len(tasks[0].x_train) - i) for i in range(0, len(tasks[0].x_train), 64)]
    assert seen == per_epoch * 4
    a = train_sequence(models.WideResNet(depth=10, widen_factor=0.25, seed=0), tasks, epochs=1, lr=1e-3,
                       progress=False, augment=lambda xb, g: xb)
    b = train_sequence(models.WideResNet(depth=10, widen_factor=0.25, seed=0), tasks, epochs=1, lr=1e-3,
                       progress=False)
    assert np.array_equal(a.matrix(), b.matrix(), equal_nan=True)


def test_cli_run_draws_figure9b(tmp_path, monkeypatch):
    monkeypatch.setenv("SCPVIZ_DATA", str(tmp_path / "none"))
    rc = cli.main(["run", "cifar100-superclasses", "--mode", "quick", "--method", "none", "mas", "--lam", "10",
                   "--train", "60", "--val", "10", "--test", "40", "--seeds", "0", "--device", "cpu",
                   "--out", str(tmp_path / "o")])
    assert rc == 0 and (tmp_path / "o" / "figure9b.png").exists()
    h = History.from_json(tmp_path / "o" / "mas_lam10_seed0.json")
    assert h.config["dataset"] == "shape_superclasses" and h.config["depth"] == 10 and h.dataset == SHAPE_SUPERCLASSES_NAME


def test_zero_shot_trains_on_task_one_only_and_scores_every_task():
    cfg = EXP.config("none", seed=0, mode="quick", dataset="shape_superclasses", n_train=100, n_val=20, n_test=60)
    acc = EXP.zero_shot(cfg, device="cpu")
    assert len(acc) == 5 and all(0.0 <= a <= 1.0 for a in acc)
    assert EXP.zero_shot(cfg, device="cpu") == acc          # seeded: the same numbers again


def test_at_the_teach_budget_task_one_is_learned_and_carries_over_to_the_next_tasks():
    """The property the shapes-with-parts stand-in exists for, with the bar set before measuring: trained on task 1
    alone at the teach budget, the network classifies every later task's images (never seen) at over twice chance
    (1/20) — there is a representation for a penalty to keep. Task 1 itself must be learned (over 50 %)."""
    torch.set_num_threads(2)
    acc = EXP.zero_shot(EXP.config("none", seed=0, mode="teach", dataset="shape_superclasses"), device="cpu")
    assert acc[0] > 0.5 and min(acc[1:]) > 2 / 20, acc
