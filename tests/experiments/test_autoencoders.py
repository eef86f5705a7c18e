import numpy as np
import math
import pytest
import torch

from scpviz import cli, experiments, importance, models
from scpviz.experiments.autoencoders import PAPER_ORDER
from scpviz.training import History
from scpviz.viz import widgets

AE = experiments.get("autoencoders")

TINY = dict(n_train=120, n_val=20, n_test=30, epochs=8, hidden=[32], code=8, batch_size=20, dataset="digits")


def test_autoencoder_shapes_and_paper_size():
    ae = models.AutoEncoder(seed=0)
    assert ae(torch.rand(3, 1, 28, 28)).shape == (3, 784)
    widths = [m.out_features for m in ae.modules() if isinstance(m, torch.nn.Linear)]
    assert widths == [1024, 1024, 1024, 256, 1024, 1024, 1024, 784]
    out = ae(torch.rand(5, 784))
    assert torch.all((out > 0) & (out < 1))
    with pytest.raises(ValueError, match="784 features"):
        ae(torch.rand(2, 10))
    with pytest.raises(ValueError, match="code"):
        models.AutoEncoder(code=0)


def test_layer_option_changes_what_is_preserved():
    ae = models.AutoEncoder(in_features=20, hidden=(12,), code=4, seed=0)
    x = torch.rand(40, 20)
    out = importance.scp_importance(ae, x, n_slices=10, seed=0)
    code = importance.scp_importance(ae, x, n_slices=10, seed=0, layer=ae.encoder)
    for name in out:
        if name.startswith("decoder"):
            assert torch.all(code[name] == 0) and out[name].abs().sum() > 0
    assert not torch.allclose(out["encoder.0.weight"], code["encoder.0.weight"])
    mas_code = importance.mas_importance(ae, x, layer=ae.encoder)
    assert all(torch.all(mas_code[n] == 0) for n in mas_code if n.startswith("decoder"))


@pytest.fixture(scope="module")
def two_digit_runs(tmp_path_factory):
    import os
    os.environ["SCPVIZ_DATA"] = str(tmp_path_factory.mktemp("nodata"))  # digits fallback, offline
    runs = {}
    for method, lam in (("none", 0.0), ("mas", 1.0), ("scp", 1.0)):
        cfg = AE.config(method, lam, seed=0, mode="quick", order=[0, 1], snapshots=True, **TINY)
        runs[method] = AE.run(cfg, device="cpu")
    return runs


def test_consolidation_reduces_forgetting_on_two_digits():
    """Digit 0, then digit 1 at a small learning rate: a large λ keeps digit 0's reconstructions.

    (At lr 1e-3 it does not: most importances of this small ReLU auto-encoder are exactly zero — units dead
    on digit 0 — and those weights drift freely; see the closing note of issue 7.)
    """
    from scpviz import datasets, training
    from scpviz.consolidation import Consolidation

    ds = datasets.load_digits_fallback(device="cpu")
    tasks = datasets.digit_tasks(ds, order=[0, 1], n_train=120, n_test=30)
    errors = {}
    for method, lam in (("none", 0.0), ("mas", 1e6), ("scp", 1e6)):
        ae = models.AutoEncoder(hidden=(32,), code=8, seed=0)
        training.train_task(ae, tasks[0], epochs=60, lr=1e-3, batch_size=20, objective="reconstruction",
                             progress=False)
        before = training.evaluate(ae, tasks[0].x_test, None, "reconstruction")
        c = Consolidation(method, lam=lam, n_slices=50, seed=0)
        c.consolidate(ae, tasks[0].x_train)
        training.train_task(ae, tasks[1], epochs=60, lr=1e-4, batch_size=20, objective="reconstruction",
                             consolidation=c, progress=False)
        errors[method] = training.evaluate(ae, tasks[0].x_test, None, "reconstruction") - before
    assert errors["none"] > 10
    assert errors["mas"] < 0.5 * errors["none"] and errors["scp"] < 0.5 * errors["none"], errors


def test_snapshots_recorded(two_digit_runs):
    h = two_digit_runs["scp"]
    snaps = np.asarray(h.extras["snapshots"])
    assert snaps.shape == (2, 2, 784) and snaps.min() >= 0 and snaps.max() <= 255
    assert np.asarray(h.extras["inputs"]).shape == (2, 784)
    back = History.from_json(h.to_json())
    assert back.extras["snapshots"] == h.extras["snapshots"]


def test_autoencoder_explorer(two_digit_runs):
    res = [(h.config, h) for h in two_digit_runs.values()]
    box = widgets.autoencoder_explorer(res)
    fig = box.figure
    box.stage.value = 1
    assert box.figure is not fig and len(box.shown) == 3
    extra = [(dict(c, lam=c["lam"] * 10), h) for c, h in res if c["method"] == "scp"]
    box = widgets.autoencoder_explorer(res + extra)
    lams = [v for _, v in box.lams["scp"].options]
    box.lams["scp"].value = lams[-1]
    assert f"SCP λ={lams[-1]:g}" in box.shown and len(box.shown) == 3
    with pytest.raises(ValueError, match="snapshots"):
        widgets.autoencoder_explorer(res, seed=5)


def test_config_errors():
    with pytest.raises(ValueError, match="ewc"):
        AE.config("ewc", 1.0, 0, mode="quick")
    with pytest.raises(ValueError, match="layer"):
        AE.config("scp", 1.0, 0, mode="quick", layer="middle")
    assert AE.config("scp", 1.0, 3, mode="paper")["order"] != list(PAPER_ORDER)
    assert sorted(AE.config("scp", 1.0, 3, mode="paper")["order"]) == list(range(10))
    assert AE.config("scp", 1.0, 0, mode="paper")["order"] == list(PAPER_ORDER)


def test_autoencoders_cli_smoke(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("SCPVIZ_DATA", str(tmp_path / "none"))
    rc = cli.main(["run", "autoencoders", "--mode", "quick", "--method", "none", "scp", "--lam", "10", "--order", "3", "5",
                   "--train", "60", "--val", "10", "--test", "20", "--hidden", "16", "--code", "4", "--epochs", "1",
                   "--seeds", "0", "--device", "cpu", "--out", str(tmp_path / "ae")])
    assert rc == 0
    h = History.from_json(tmp_path / "ae" / "scp_lam10_seed0.json")
    assert h.config["order"] == [3, 5] and "snapshots" in h.extras
    assert (tmp_path / "ae" / "reconstructions.png").exists()
    assert cli.main(["run", "autoencoders", "--mode", "quick", "--method", "ewc", "--out", str(tmp_path / "x")]) == 2
    assert cli.main(["run", "autoencoders", "--mode", "quick", "--order", "1", "1", "--method", "none", "--out",
                     str(tmp_path / "y")]) == 2


def test_network_options_change_what_they_should():
    import torch.nn as nn

    AutoEncoder = models.AutoEncoder
    base = AutoEncoder(hidden=(16,), code=4, seed=0)
    leaky = AutoEncoder(hidden=(16,), code=4, seed=0, activation="leaky_relu")
    acts = [m for m in leaky.modules() if isinstance(m, nn.LeakyReLU)]
    assert len(acts) == 3 and all(a.negative_slope == 0.1 for a in acts)
    assert not any(isinstance(m, nn.ReLU) for m in leaky.modules())
    # the same initial weights (same seed), a different function: LeakyReLU passes negative pre-activations
    assert all(torch.equal(a, b) for a, b in zip(base.parameters(), leaky.parameters()))
    x = torch.rand(5, 784, generator=torch.Generator().manual_seed(0))
    assert not torch.allclose(base(x), leaky(x))
    linears = lambda m: [l for l in m.modules() if isinstance(l, nn.Linear)]
    nobias = AutoEncoder(hidden=(16,), code=4, seed=0, bias=False)
    assert all(l.bias is None for l in linears(nobias))
    assert sum(p.numel() for p in base.parameters()) - sum(p.numel() for p in nobias.parameters()) == 16 + 4 + 16 + 784
    xav = AutoEncoder(hidden=(16,), code=4, seed=0, init="xavier")
    for l in linears(xav):   # Xavier-uniform: |w| ≤ sqrt(6 / (fan_in + fan_out)), zero biases
        bound = (6 / (l.in_features + l.out_features)) ** 0.5
        w = l.weight.detach().abs().max().item()
        assert 0.8 * bound < w <= bound
        assert torch.count_nonzero(l.bias) == 0
    for bad, match in ((dict(activation="tanh"), "activation"), (dict(init="he"), "init"), (dict(bias=1), "bias")):
        with pytest.raises(ValueError, match=match):
            AutoEncoder(hidden=(4,), code=2, **bad)


def test_reconstruction_losses_on_a_known_input():
    from scpviz.training import RECONSTRUCTION, reconstruction_objective
    from scpviz.training.objectives import reconstruction_loss

    out, x = torch.full((3, 784), 0.25, dtype=torch.float64), torch.ones(3, 784, dtype=torch.float64)
    bce, l1 = -math.log(0.25), 0.75     # per pixel
    expected = {"bce-pixel-mean+l1-image-sum": bce + 784 * l1, "bce-image-sum+l1-image-sum": 784 * (bce + l1),
                "bce-pixel-mean+l1-pixel-mean": bce + l1}
    for name, value in expected.items():
        assert float(reconstruction_loss(name)(out, x, None)) == pytest.approx(value, rel=1e-12)
    # the default is what the experiment always trained with
    assert float(RECONSTRUCTION.loss(out, x, None)) == pytest.approx(expected["bce-pixel-mean+l1-image-sum"])
    assert reconstruction_objective() is RECONSTRUCTION
    obj = reconstruction_objective("bce-image-sum+l1-image-sum")
    assert obj.metric is RECONSTRUCTION.metric and "bce-image-sum" in obj.name
    with pytest.raises(ValueError, match="loss="):
        reconstruction_loss("mse")


def test_experiment_passes_the_options_to_model_and_objective():
    exp = experiments.get("autoencoders")
    cfg = exp.config("scp", 1.0, 0, mode="quick", activation="leaky_relu", bias=False, init="xavier",
                     loss="bce-image-sum+l1-image-sum", dataset="digits", order=[2, 7], epochs=1, n_train=40,
                     n_val=10, n_test=10)
    hist = exp.run(cfg)
    assert hist.config["objective"] == "reconstruction (bce-image-sum+l1-image-sum)"
    tasks = exp.cached_tasks(cfg, "cpu")
    model = exp.model(cfg, tasks)
    assert all(getattr(m, "bias", None) is None for m in model.modules() if hasattr(m, "weight"))
    default = exp.config("scp", 1.0, 0, mode="quick", activation="relu", bias=True)
    assert default["activation"] == "relu" and default["loss"] == "bce-pixel-mean+l1-image-sum"
    assert exp.objective_for(default) is exp.objective


def test_configs_of_the_shipped_gpu_runs_are_upgraded_to_todays_keys():
    """The shipped GPU results predate the later options: read back, each config gains them at the values those
    runs had, and then has exactly the keys a paper-budget config has today."""
    import gzip
    import json
    from pathlib import Path

    import scpviz
    from scpviz import sweeps

    exp = experiments.get("autoencoders")
    path = Path(scpviz.__file__).parent / "results" / "autoencoders_h100.json.gz"
    raw = json.load(gzip.open(path, "rt"))["runs"][0]["config"]
    assert not set(exp.all_later_options()) & set(raw), "the file was made before the later options existed"
    runs, _ = sweeps.shipped_results("autoencoders_h100")
    upgraded = runs[0][0]
    assert upgraded == {**raw, **exp.all_later_options()} and upgraded["data_seed"] == 0
    assert set(upgraded) == set(exp.config(upgraded["method"], mode="paper"))


def test_remedy_options_build_the_right_consolidation_and_record_the_reset_test():
    from scpviz.consolidation import Consolidation
    from scpviz.replay import ReplayConsolidation

    exp = experiments.get("autoencoders")
    small = dict(dataset="digits", order=[2, 7, 4], epochs=2, n_train=40, n_val=10, n_test=10, hidden=[16], code=4)
    replay = exp.config("scp", 10.0, 0, mode="quick", penalty="replay", replay_per_task=3, **small)
    tasks = exp.cached_tasks(replay, "cpu")
    cons = exp.consolidation(replay, exp.model(replay, tasks), tasks)
    assert isinstance(cons, ReplayConsolidation) and cons.per_task == 3 and cons.method == "scp"
    h = exp.run(replay)
    assert h.config["consolidation"]["penalty"] == "replay"
    nb = exp.config("mas", 1.0, 0, mode="quick", neighbourhood=2, neighbourhood_scale=0.5, reset_test=True, **small)
    cons = exp.consolidation(nb, exp.model(nb, tasks), tasks)
    assert isinstance(cons, Consolidation) and (cons.neighbourhood, cons.neighbourhood_scale) == (2, 0.5)
    h = exp.run(nb)
    resets = h.extras["reset_test"]
    assert [r["task"] for r in resets] == [1, 2]     # after digits 2 and 3, on the digits before
    R = h.final_matrix()
    for r in resets:    # "now" is the old digits' test ℓ1 the History recorded at the end of that digit
        assert r["now"] == pytest.approx(np.mean(R[r["task"], :r["task"]]), rel=1e-5)
        assert r["anchor"] == pytest.approx(np.mean(R[r["task"] - 1, :r["task"]]), rel=1e-5)
    # bad combinations are refused
    with pytest.raises(ValueError, match="neighbourhood"):
        exp.config("mas", 1.0, 0, mode="quick", penalty="replay", neighbourhood=2)
    with pytest.raises(ValueError, match="penalty"):
        exp.config("mas", 1.0, 0, mode="quick", penalty="cubic")

