import json
import warnings

import numpy as np
import pytest

from scpviz import experiments, sweeps
from scpviz.sweeps import CacheWarning, cached_run, choose_lambda, config_key, summarize
from scpviz.training import History
from scpviz.viz.tables import format_table

permuted_mnist_config = experiments.get("permuted_mnist").config

TINY = dict(n_tasks=2, epochs=1, n_train=150, n_val=50, n_test=60, hidden=[16], dataset="digits")


def fake_history(cfg, final_val=0.5, final_test=0.5):
    pts = [{"task": 0, "epoch": 1, "test": [final_test, None], "val": [final_val, None]},
           {"task": 1, "epoch": 1, "test": [final_test, final_test], "val": [final_val, final_val]}]
    return History(config=cfg, dataset="fake", task_names=["a", "b"], points=pts)


def counting_runner(calls):
    def runner(cfg, device=None, progress=False):
        calls.append(cfg)
        return fake_history(cfg, final_val=cfg["lam"] / 10, final_test=cfg["seed"] / 10)
    return runner


def test_config_key_depends_on_everything():
    a = permuted_mnist_config("scp", 1.0, 0, mode="quick")
    assert config_key(a) == config_key(dict(a))
    for change in (dict(lam=2.0), dict(seed=1), dict(n_slices=7), dict(alpha=0.5), dict(hidden=[8])):
        assert config_key(a) != config_key({**a, **change})
    with pytest.raises(ValueError, match="unknown config keys"):
        permuted_mnist_config("scp", 1.0, 0, mode="quick", n_layers=3)
    with pytest.raises(ValueError, match="lam"):
        permuted_mnist_config("scp", -1.0, 0, mode="quick")


def test_cache_round_trip_and_resume(tmp_path):
    calls = []
    runner = counting_runner(calls)
    cfgs = [permuted_mnist_config("mas", lam, seed, mode="quick") for lam in (1.0, 2.0) for seed in (0, 1)]
    first = [cached_run(c, tmp_path, runner=runner) for c in cfgs[:2]]  # "interrupted" after two runs
    assert len(calls) == 2
    again = [cached_run(c, tmp_path, runner=runner) for c in cfgs]      # resume
    assert len(calls) == 4
    assert [h.points for h in again[:2]] == [h.points for h in first]
    assert len(list(tmp_path.glob("*.json"))) == 4 and not list(tmp_path.glob(".tmp-*"))


@pytest.mark.parametrize("corrupt", [
    lambda p: p.write_text('{"complete": true, "config": '),              # truncated
    lambda p: p.write_text("not json at all"),                             # garbage
    lambda p: p.write_text(json.dumps({**json.loads(p.read_text()), "complete": False})),  # partial
    lambda p: p.write_text(json.dumps({**json.loads(p.read_text()), "config": {"lam": 99}})),  # other config
])
def test_corrupt_entries_are_warned_about_and_recomputed(tmp_path, corrupt):
    calls = []
    cfg = permuted_mnist_config("scp", 3.0, 0, mode="quick")
    cached_run(cfg, tmp_path, runner=counting_runner(calls))
    path = tmp_path / f"{config_key(cfg)}.json"
    corrupt(path)
    with pytest.warns(CacheWarning, match="recomputing"):
        h = cached_run(cfg, tmp_path, runner=counting_runner(calls))
    assert len(calls) == 2 and h.config["lam"] == 3.0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        cached_run(cfg, tmp_path, runner=counting_runner(calls))  # repaired: used silently
    assert len(calls) == 2


def test_choose_lambda_uses_validation_and_summarize():
    calls = []
    runner = counting_runner(calls)
    results = [(c, runner(c)) for c in (permuted_mnist_config(m, lam, s, mode="quick")
                                       for m in ("mas", "scp") for lam in (1.0, 3.0, 2.0) for s in (0, 1, 2))]
    chosen = choose_lambda(results)
    assert chosen["mas"]["lam"] == 3.0 and chosen["scp"]["lam"] == 3.0  # best *validation* score
    rows = summarize(results, chosen)
    assert [r["method"] for r in rows] == ["mas", "scp"]
    assert rows[0]["n_seeds"] == 3 and rows[0]["mean"] == pytest.approx(0.1)
    assert rows[0]["sd"] == pytest.approx(np.std([0.0, 0.1, 0.2], ddof=1))
    with pytest.warns(UserWarning, match="leaks test"):
        choose_lambda(results, split="test")
    assert "mas" in format_table(rows, chosen)


def test_real_sweep_quick_tiny(tmp_path):
    res = sweeps.sweep(methods=("none", "scp"), lams=(10.0,), seeds=(0,), cache_dir=tmp_path, mode="quick",
                      progress=False, device="cpu", **TINY)
    assert len(res) == 2 and all(h.dataset.startswith("sklearn-digits") for _, h in res)
    assert res[1][1].config["method"] == "scp" and res[1][1].final_matrix().shape == (2, 2)
    again = sweeps.sweep(methods=("none", "scp"), lams=(10.0,), seeds=(0,), cache_dir=tmp_path, mode="quick",
                         progress=False, device="cpu", **TINY)   # read from the cache
    assert [h.points for _, h in again] == [h.points for _, h in res] and len(list(tmp_path.glob("*.json"))) == 2
    path = sweeps.export_results(res, tmp_path / "out" / "grid.json", command="python -m scpviz sweep ...")
    back, cmd = sweeps.load_exported(path)
    assert cmd.startswith("python -m scpviz") and back[1][1].points == res[1][1].points
    import json

    from scpviz.config import describe_machine
    assert "machine" not in json.loads(path.read_text())
    path = sweeps.export_results(res, tmp_path / "m.json", command="c", machine=describe_machine("cpu"))
    assert json.loads(path.read_text())["machine"].startswith("cpu (") and "torch" in describe_machine("cpu")
    with pytest.raises(ValueError, match="cannot read"):
        (tmp_path / "bad.json").write_text("{")
        sweeps.load_exported(tmp_path / "bad.json")


def test_compact_export_keeps_end_of_task_numbers_and_reads_gzip(tmp_path):
    pts = [{"task": t, "epoch": e, "test": [0.1 * (t + e + 1) / 3, None if t == 0 else 0.123456789],
            "val": [0.2 + e / 7, None if t == 0 else 0.3], "loss": 1 / 3, "penalty": 0.0}
           for t in range(2) for e in (1, 2, 3)]
    h = History(config={}, dataset="fake", task_names=["a", "b"], points=pts,
                extras={"snapshots": [[[1, 2]]], "inputs": [[3]], "note": "kept"})
    c = sweeps.compact_history(h, keep_snapshots=False, digits=4)
    assert [(p["task"], p["epoch"]) for p in c.points] == [(0, 3), (1, 3)]  # the end of each task
    assert np.allclose(c.final_matrix(), h.final_matrix(), rtol=5e-4, atol=0, equal_nan=True)
    assert c.extras == {"note": "kept"} and len(h.points) == 6  # the original is untouched
    cfgs = [{"seed": 0}, {"seed": 1}]
    path = sweeps.export_results([(cfgs[0], h), (cfgs[1], h)], tmp_path / "g.json.gz", command="cmd",
                                compact=lambda cfg: cfg["seed"] == 0)
    assert path.read_bytes()[:2] == b"\x1f\x8b"  # gzip magic
    back, cmd = sweeps.load_exported(path)
    assert cmd == "cmd" and "snapshots" in back[0][1].extras and "snapshots" not in back[1][1].extras
    assert len(back[0][1].points) == 2
    with pytest.raises(FileNotFoundError, match="shipped: .*permuted_mnist_cpu"):
        sweeps.shipped_results("nope")


def test_shipped_autoencoder_results_are_the_paper_budget():
    runs, command = sweeps.shipped_results("autoencoders_h100")
    assert len(runs) == 17 and "H100" in command
    for cfg, h in runs:
        assert cfg["epochs"] == 50 and cfg["lr"] == 1e-4 and cfg["hidden"] == [1024, 1024, 1024] and cfg["code"] == 256
        assert h.dataset.startswith("MNIST") and h.final_matrix().shape == (10, 10)
    assert len({tuple(c["order"]) for c, _ in runs}) == 3


def test_choose_lambda_keys_by_every_swept_option():
    """Two L values (and two λ) of SCP: four groups, none overwriting another; the best (λ, L) on validation."""
    results = []
    for lam in (1.0, 3.0):
        for L in (10, 50):
            for seed in (0, 1):
                cfg = permuted_mnist_config("scp", lam, seed, mode="quick", n_slices=L)
                val = {(1.0, 10): 0.2, (1.0, 50): 0.9, (3.0, 10): 0.5, (3.0, 50): 0.1}[(lam, L)]
                results.append((cfg, fake_history(cfg, final_val=val, final_test=val + 0.01 * seed)))
    results.append((permuted_mnist_config("none", 0.0, 0, mode="quick"), fake_history({}, 0.3, 0.3)))
    chosen = choose_lambda(results)
    assert chosen["scp"]["lam"] == 1.0 and chosen["scp"]["n_slices"] == 50
    assert chosen["scp"]["options"] == {"lam": 1.0, "n_slices": 50}
    assert sorted((s["lam"], s["n_slices"], s["score"]) for s in chosen["scp"]["scores"]) == \
        [(1.0, 10, 0.2), (1.0, 50, 0.9), (3.0, 10, 0.5), (3.0, 50, 0.1)]
    rows = summarize(results)
    assert sorted((r["lam"], r["n_slices"]) for r in rows if r["method"] == "scp") == \
        [(1.0, 10), (1.0, 50), (3.0, 10), (3.0, 50)]
    assert all(r["n_seeds"] == 2 for r in rows if r["method"] == "scp")
    best = summarize(results, chosen)
    assert [(r["method"], r["lam"], r["n_slices"]) for r in best] == [("none", 0.0, None), ("scp", 1.0, 50)]
    assert best[1]["mean"] == pytest.approx(0.905)


def test_choose_lambda_keys_by_alpha_and_layer_too():
    ae = experiments.get("autoencoders")
    results = []
    for alpha, layer, val in ((0.5, "output", 30.0), (0.75, "output", 20.0), (0.75, "code", 25.0)):
        for seed in (0, 1):  # the seed permutes the digit order: averaged over, not compared
            cfg = ae.config("mas", 10.0, seed, mode="quick", alpha=alpha, layer=layer)
            h = fake_history(cfg, final_val=val, final_test=val)
            h.metric_name, h.higher_is_better = ae.metric.name, False
            results.append((cfg, h))
    chosen = choose_lambda(results)
    assert chosen["mas"]["options"] == {"lam": 10.0, "alpha": 0.75, "layer": "output"}  # lowest ℓ1 error
    assert len(summarize(results)) == 3


def test_metric_names_follow_the_experiment():
    ae = experiments.get("autoencoders")
    cfg = ae.config("mas", 10.0, 0, mode="quick")
    h = fake_history(cfg, 40.0, 42.0)
    h.metric_name, h.higher_is_better = ae.metric.name, False
    assert h.final_average_metric() == 42.0 and h.metric.unit == "" and not h.metric.higher_is_better
    with pytest.raises(ValueError, match="not an accuracy; use final_average_metric"):
        h.final_average_accuracy()
    table = format_table(summarize([(cfg, h)]))
    assert "mean ℓ1 reconstruction error" in table and "lower is better" in table and "%" not in table
    acc = fake_history(permuted_mnist_config("mas", 1.0, 0, mode="quick"), 0.8, 0.873)
    assert acc.final_average_accuracy() == acc.final_average_metric() == 0.873
    table = format_table(summarize([(acc.config, acc)]))
    assert "test accuracy" in table and "87.3 ± 0.0 %" in table
    # a History written by scpviz 0.1 (no unit recorded) reads back with the right metric
    d = {k: v for k, v in h.to_dict().items() if k != "metric_unit"}
    old = History.from_dict({**d, "metric_name": "mean l1 reconstruction error"})
    assert old.metric_unit is None and old.metric.name == "mean ℓ1 reconstruction error"
