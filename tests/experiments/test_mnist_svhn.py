"""MNIST → SVHN (supplementary §8.4, Figure 7): the VGG-like network, the SVHN / stand-in switch, runs and Figure 7b."""
import numpy as np
import pytest
import torch
import torch.nn as nn

from scpviz import cli, experiments, models
from scpviz.training import History

EXP = experiments.get("mnist_svhn")


def _vgg_params(channels, hidden, c_in=1, size=32, n_classes=10):
    """Parameter count of Figure 8's layout, by hand: convs (+ BN), FC (+ BN), head."""
    n, side = 0, size
    for i, c in enumerate(channels):
        n += c_in * c * 9 + c + 2 * c
        side += 2                      # 3×3 kernel, padding 2
        if i % 2:
            side //= 2                 # max-pool after every second convolution
        c_in = c
    width = c_in * side * side
    for h in hidden:
        n += width * h + h + 2 * h
        width = h
    return n + width * n_classes + n_classes, (c_in, side, side)


@pytest.mark.parametrize("mode", ["quick", "teach", "paper"])
def test_vgg_like_shapes_per_budget(mode):
    cfg = EXP.config("none", seed=0, mode=mode)
    m = EXP.model(cfg, [])
    want, shape = _vgg_params(cfg["channels"], cfg["hidden"])
    assert sum(p.numel() for p in m.parameters()) == want and m.feature_shape == shape
    assert m(torch.zeros(2, 1, 32, 32)).shape == (2, 10)
    kinds = [type(x) for x in m.modules()]
    assert kinds.count(nn.Conv2d) == len(cfg["channels"]) == kinds.count(nn.BatchNorm2d)
    assert kinds.count(nn.Dropout) == len(cfg["hidden"]) == kinds.count(nn.BatchNorm1d)
    assert kinds.count(nn.MaxPool2d) == len(cfg["channels"]) // 2
    if mode == "paper":
        assert cfg["channels"] == [32, 32, 64, 64] and cfg["hidden"] == [128] and cfg["epochs"] == 20


def test_vgg_like_errors_name_the_argument():
    with pytest.raises(ValueError, match="channels is empty"):
        models.VGGLike(channels=())
    with pytest.raises(ValueError, match="dropout"):
        models.VGGLike(dropout=1.0)
    with pytest.raises(ValueError, match=r"expects images of shape \(N, 1, 32, 32\)"):
        models.VGGLike(channels=(4,), hidden=(8,))(torch.zeros(2, 1, 28, 28))
    a, b = models.VGGLike(channels=(4,), hidden=(8,), seed=3), models.VGGLike(channels=(4,), hidden=(8,), seed=3)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))


def test_second_task_is_svhn_when_found_else_the_labelled_stand_in(tmp_path, monkeypatch, write_svhn):
    monkeypatch.setenv("SCPVIZ_DATA", str(tmp_path))
    monkeypatch.setattr("scpviz.datasets.download._reachable", lambda url: False)    # offline
    assert EXP.config("none", mode="quick")["second"] == "printed_digits"
    write_svhn(tmp_path / "SVHN", n_train=40, n_test=20)
    cfg = EXP.config("none", mode="quick", n_train=20, n_val=5, n_test=10)
    assert cfg["second"] == "svhn"
    assert EXP.config("none", mode="quick", second="mnist_m")["second"] == "mnist_m"
    h = EXP.run(cfg, device="cpu")      # MNIST falls back to the digits here: no MNIST under tmp_path
    assert h.dataset.endswith("→ SVHN (grayscale, 32x32)") and h.task_names[1] == "SVHN (grayscale, 32x32)"
    with pytest.raises(ValueError, match="mixes a stand-in with real data"):
        EXP.config("none", mode="quick", dataset="digits", second="svhn")


@pytest.fixture(scope="module")
def quick_runs():
    out = {}
    for m in EXP.methods:
        cfg = EXP.config(m, 100.0, seed=0, mode="quick", dataset="digits", second="printed_digits")
        out[m] = (cfg, EXP.run(cfg, device="cpu"))
    return out


def test_runs_name_the_stand_in_and_are_reproducible(quick_runs):
    cfg, h = quick_runs["scp"]
    assert "printed digits (stand-in for SVHN)" in h.dataset and len(h.task_names) == 2
    assert len(h.points) == 2 * cfg["epochs"] and h.points[0]["test"][1] is None
    again = EXP.run(cfg, device="cpu")          # Dropout masks, batch order, slices: all from the seed
    assert np.array_equal(h.matrix(), again.matrix(), equal_nan=True)
    for m, (_, hm) in quick_runs.items():
        assert np.isfinite(hm.final_matrix()[1]).all(), m
    assert quick_runs["none"][1].points[-1]["penalty"] == 0.0 < quick_runs["scp"][1].points[-1]["penalty"]


def test_figure7b_panels(quick_runs, tmp_path):
    from scpviz.viz import plots

    runs = {m: [h] for m, (_, h) in quick_runs.items()}
    runs["scp"] = [quick_runs["scp"][1], quick_runs["scp"][1]]
    fig = plots.plot_task_panels(runs)
    axes = fig.axes
    assert len(axes) == 3 and [a.get_title() for a in axes][2] == "average of the tasks seen"
    assert len(axes[0].lines) == 4 and "printed digits (stand-in for SVHN)" in fig._suptitle.get_text()
    # the task-1 panel draws task 1's test accuracy in %
    h = quick_runs["none"][1]
    assert np.allclose(axes[0].lines[0].get_ydata(), 100 * h.matrix()[:, 0])
    assert np.allclose(axes[2].lines[0].get_ydata(), 100 * np.nanmean(h.matrix(), 1))
    fig.savefig(tmp_path / "f.png")
    with pytest.raises(ValueError, match="needs two"):
        plots.plot_task_panels({"none": History(config={}, dataset="x", task_names=["a"])})


def test_cli_run_draws_figure7b(tmp_path, monkeypatch):
    monkeypatch.setenv("SCPVIZ_DATA", str(tmp_path / "none"))
    rc = cli.main(["run", "mnist-svhn", "--mode", "quick", "--method", "none", "scp", "--lam", "100", "--dataset", "digits",
                   "--train", "60", "--val", "10", "--test", "20", "--seeds", "0", "--device", "cpu",
                   "--out", str(tmp_path / "o")])
    assert rc == 0 and (tmp_path / "o" / "figure7b.png").exists()
    h = History.from_json(tmp_path / "o" / "scp_lam100_seed0.json")
    assert h.config["second"] == "printed_digits" and h.config["channels"] == [4, 4, 8, 8]


def test_batchnorm_restore_test_puts_back_only_the_running_statistics():
    import copy

    from scpviz.training import batchnorm_restore_test, batchnorm_statistics, evaluate

    cfg = EXP.config("scp", 100.0, seed=1, mode="quick", dataset="digits",
                     bn_restore_test=True)
    h = EXP.run(cfg, device="cpu")
    rec = h.extras["bn_restore"]
    assert np.allclose(rec["now"], h.final_matrix()[-1])       # "now" is the run's own final evaluation
    # by hand, on a copy: a model whose statistics are task 1's and whose weights are not
    tasks = EXP.cached_tasks(cfg, "cpu")
    model = EXP.model(cfg, tasks)
    model.train()
    with torch.no_grad():
        model(tasks[0].x_train[:50])
    stats = batchnorm_statistics(model)
    with torch.no_grad():
        model(tasks[1].x_train[:50] * 2)          # the statistics move; the weights do not
    moved = copy.deepcopy(model)
    for name, m in moved.named_modules():
        if name in stats:
            m.running_mean.copy_(stats[name][0])
            m.running_var.copy_(stats[name][1])
    before = {k: v.clone() for k, v in model.state_dict().items()}
    out = batchnorm_restore_test(model, tasks, stats)
    assert out["restored"] == [evaluate(moved, t.x_test, t.y_test) for t in tasks]
    assert out["now"] == [evaluate(model, t.x_test, t.y_test) for t in tasks]
    assert all(torch.equal(v, model.state_dict()[k]) for k, v in before.items())    # the model is left as it was
    assert EXP.config("scp", mode="quick")["bn_restore_test"] is False               # off unless asked for


def test_at_the_papers_lambda_both_tasks_end_lower_than_without_consolidation():
    """README: "a stiff penalty costs MNIST" — at the paper's λ (EWC 1e4, MAS 1e5, SCP 1e3) the shipped grid ends
    lower than no consolidation on task 2 and on MNIST too, for every method (means over the seeds)."""
    from scpviz import sweeps

    grid, _ = sweeps.shipped_results("mnist_svhn_cpu_v04")

    def R(method, lam):
        return np.mean([h.final_matrix() for c, h in grid if c["method"] == method and c["lam"] == lam], 0)

    none = R("none", 0.0)
    for m, lam in (("ewc", 1e4), ("mas", 1e5), ("scp", 1e3)):
        drop = none[1] - R(m, lam)[1]
        assert drop[0] > 0 and drop[1] > 0, (m, drop)
