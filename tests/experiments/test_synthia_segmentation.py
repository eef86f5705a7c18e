"""Segmentation, summer → winter (§5.3): the experiment's three budgets, runs on the stand-in, SYNTHIA when found,
the bottleneck option, Figure 5's recorded frames, the explorer over a small grid."""
import numpy as np
import pytest
import torch

from scpviz import config
from scpviz.datasets import SYNTHIA_STANDIN_NAME
from scpviz.experiments.synthia_segmentation import SynthiaSegmentation

EXP = SynthiaSegmentation()


@pytest.fixture(autouse=True)
def standin_cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("SCPVIZ_CACHE", str(tmp_path_factory.getbasetemp() / "cache"))
    monkeypatch.setenv("SCPVIZ_DATA", str(tmp_path_factory.getbasetemp() / "no-data"))


@pytest.mark.parametrize("mode", config.MODES)
def test_each_budget_builds_tasks_and_a_unet_that_fit(mode):
    b = EXP.budget(mode)
    assert {o.key for o in EXP.all_options()} <= set(b.as_dict()) and "hidden" not in {o.key for o in EXP.all_options()}
    small = dict(height=32, width=48, n_frames=20, n_train=8, n_val=2, n_test=4, gap=1)
    cfg = EXP.config("scp", seed=0, mode=mode, **small)
    assert cfg["dataset"] == "synthia_standin"
    tasks = EXP.tasks(cfg, "cpu")
    assert [t.name for t in tasks] == ["summer", "winter"] and tasks[0].dataset == SYNTHIA_STANDIN_NAME
    assert tasks[0].x_train.shape == (8, 3, 32, 48) and tasks[1].y_test.shape == (4, 32, 48)
    model = EXP.model(cfg, tasks)
    out = model(tasks[0].x_train[:2])
    assert out.shape == (2, 13, 32, 48)
    assert torch.isfinite(EXP.objective.loss(out, None, tasks[0].y_train[:2]))
    if mode == "paper":
        assert (cfg["base"], cfg["depth"], cfg["epochs"], cfg["lr"], cfg["n_slices"]) == (64, 4, 100, 1e-4, 100)
        assert b.n_test == 100 and len(b.seeds) == 10
    with pytest.raises(ValueError, match="divisible by"):
        EXP.config("none", mode=mode, height=30)


@pytest.fixture(scope="module")
def quick_runs(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    mp.setenv("SCPVIZ_CACHE", str(tmp_path_factory.mktemp("cache")))
    mp.setenv("SCPVIZ_DATA", str(tmp_path_factory.mktemp("no-data")))
    out = {m: EXP.run(EXP.config(m, 10.0, seed=0, mode="quick"), device="cpu") for m in EXP.methods}
    mp.undo()
    return out


def test_quick_runs_are_finite_named_and_penalised(quick_runs):
    for m, h in quick_runs.items():
        R = h.final_matrix()
        assert R.shape == (2, 2) and np.isfinite(R[-1]).all() and 0 <= np.nanmin(R) and np.nanmax(R) <= 1, m
        assert h.dataset == SYNTHIA_STANDIN_NAME and h.metric.name == "mean Dice"
    assert quick_runs["none"].points[-1]["penalty"] == 0.0
    assert all(quick_runs[m].points[-1]["penalty"] > 0 for m in ("ewc", "mas", "scp"))
    assert quick_runs["ewc"].config["consolidation"]["per_position"] is True


def test_runs_record_figure5_frames_after_each_task(quick_runs):
    """extras['frames']: the middle test frame of each task as 0–255 images equal to the task's frames, its labels,
    and after each task the class map the network predicts for it (= argmax of the final model on it, after task 2)."""
    h = quick_runs["scp"]
    fr = h.extras["frames"]
    cfg = h.config
    tasks = EXP.tasks(cfg, "cpu")
    k = fr["index"]
    assert k == len(tasks[0].x_test) // 2
    inputs, labels, preds = (np.asarray(fr[key]) for key in ("inputs", "labels", "predictions"))
    assert inputs.shape == (2, 3, cfg["height"], cfg["width"]) and inputs.dtype.kind in "iu"
    want = np.stack([(t.x_test[k].numpy() + 1) / 2 * 255 for t in tasks])
    assert np.abs(inputs - want).max() <= 0.5 + 1e-4
    assert (labels == np.stack([t.y_test[k].numpy() for t in tasks])).all()
    assert preds.shape == (2, 2, cfg["height"], cfg["width"]) and preds.min() >= 0 and preds.max() <= 12


def test_figure5_and_the_explorer_draw_the_runs(quick_runs):
    import matplotlib
    matplotlib.use("Agg")
    from scpviz.viz import plots, widgets

    fig = plots.plot_segmentation_frames(quick_runs)
    assert len(fig.axes) == 3 * (2 + len(quick_runs))
    with pytest.raises(ValueError, match="recorded no frames"):
        plots.plot_segmentation_frames({"x": type(quick_runs["none"])(**{**quick_runs["none"].__dict__, "extras": {}})})
    with pytest.raises(ValueError, match="SYNTHIA's classes are 0..12"):
        plots.color_labels(np.array([[13]]))
    res = [(h.config, h) for h in quick_runs.values()]
    box = widgets.segmentation_explorer(res, method="scp")
    assert box.lam.value == 10.0 and box.method.value == "scp" and box.runs == [quick_runs["scp"]]
    box.method.value = "ewc"
    assert box.runs == [quick_runs["ewc"]] and "online-EWC" in box.children[2].value
    assert "no consolidation" in box.children[2].value


def test_bottleneck_layer_consolidates_the_deepest_feature_map():
    cfg = EXP.config("scp", 1.0, seed=0, mode="quick", layer="bottleneck", n_frames=20, n_train=8, n_val=2, n_test=4)
    tasks = EXP.tasks(cfg, "cpu")
    model = EXP.model(cfg, tasks)
    cons = EXP.consolidation(cfg, model, tasks)
    assert cons.layer == f"down.{cfg['depth']}"
    cons.consolidate(model, (tasks[0].x_train, tasks[0].y_train))
    imp = cons.importance
    assert all(float(v.abs().sum()) == 0 for k, v in imp.items() if k.startswith(("up.", "head.")))   # after it: 0
    assert float(imp["down.0.0.weight"].abs().sum()) > 0


def test_uses_synthia_when_both_sequences_are_found(tmp_path, monkeypatch):
    from tests.datasets.test_synthia import _write_sequence

    monkeypatch.setenv("SCPVIZ_DATA", str(tmp_path))
    _write_sequence(tmp_path / "SYNTHIA-SEQS-01-SUMMER", n=120, h=16, w=24)
    assert EXP.config("none", mode="quick")["dataset"] == "synthia_standin"     # winter missing
    _write_sequence(tmp_path / "SYNTHIA-SEQS-01-WINTER", n=120, h=16, w=24, seed=1)
    cfg = EXP.config("none", mode="quick", height=16, width=24, n_train=6, n_val=2, n_test=4)
    assert cfg["dataset"] == "synthia"
    tasks = EXP.tasks(cfg, "cpu")
    # 20 frames before SYNTHIA's 100 test frames: validation 0-1, a gap of 2, training 12-17, a gap of 2, test
    assert tasks[0].dataset == "SYNTHIA-SEQS-01" and tasks[0].meta["train_frames"] == (12, 18) and len(tasks[0].x_test) == 4
    assert tasks[0].meta["val_frames"] == (0, 2) and tasks[0].meta["gap"] == cfg["gap"] == 2
