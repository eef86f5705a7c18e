"""Every backend gives serial's results, shares the content-addressed cache, and resumes after an interruption."""
import os
import warnings

import pytest

from scpviz import experiments
from scpviz.sweeps import SweepWarning, make_grid, run_configs, sweep
from scpviz.sweeps.cache import entry_path

TINY = {"n_tasks": 2, "epochs": 1, "n_train": 120, "n_val": 30, "n_test": 60, "hidden": [16], "n_slices": 5,
        "dataset": "digits"}
PM = experiments.get("permuted_mnist")


def _grid():
    return make_grid("permuted_mnist", methods=["none", "mas", "scp"], lams=[10.0], seeds=[0, 1], mode="quick",
                     **TINY)


def _bad():
    # more validation images than the stand-in holds: fails inside the worker, after the data are loaded
    return PM.config("none", seed=7, mode="quick", **dict(TINY, n_val=100000))


@pytest.fixture(scope="module")
def serial(tmp_path_factory):
    cfgs = _grid()
    return cfgs, run_configs(cfgs, tmp_path_factory.mktemp("serial"), backend="serial", progress=False, threads=1)


@pytest.fixture(scope="module")
def ray_local():
    if os.environ.get("SCPVIZ_CI") and not _has_ray():
        pytest.fail("CI installs scpviz[ray]; Ray is missing, so the Ray backend would go untested.")
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


def _has_ray():
    try:
        import ray  # noqa: F401
    except ImportError:
        return False
    return True


def _same(a, b):
    """Histories of the same run: identical metrics at every evaluation point (timings aside)."""
    return a.points == b.points and a.config == b.config and a.dataset == b.dataset


def _close(a, b, rel=1e-5):
    """The ensemble's float32 Histories: the same scores at every point; losses and penalties to float32 rounding
    (a stacked matmul sums in another order than one run's; 1e-5 is a hundred times float32's epsilon)."""
    return (a.config == b.config and a.dataset == b.dataset and len(a.points) == len(b.points) and all(
        (p["task"], p["epoch"], p["test"], p["val"]) == (q["task"], q["epoch"], q["test"], q["val"])
        and abs(p["loss"] - q["loss"]) <= rel * abs(q["loss"]) and abs(p["penalty"] - q["penalty"]) <= rel * abs(q["penalty"])
        for p, q in zip(a.points, b.points)))


def _check_backend(backend, serial, tmp_path):
    cfgs, want = serial
    cache = tmp_path / backend
    # an interrupted sweep: one run fails; the others finish and are cached, then the failure is raised
    with pytest.warns(SweepWarning, match="1 of 4 runs failed"), pytest.raises(ValueError, match="n_val"):
        run_configs(cfgs[:3] + [_bad()], cache, backend=backend, workers=2, progress=False, threads=1)
    done = {entry_path(cache, c).name: entry_path(cache, c).stat().st_mtime_ns for c in cfgs[:3]}
    assert len(done) == 3 and not entry_path(cache, _bad()).exists()
    # resume: only the runs not yet cached are computed; the cached entries are not rewritten
    got = run_configs(cfgs, cache, backend=backend, workers=2, progress=False, threads=1)
    for c in cfgs[:3]:
        assert entry_path(cache, c).stat().st_mtime_ns == done[entry_path(cache, c).name]
    assert len(list(cache.glob("*.json"))) == len(cfgs)
    same = _close if backend == "ensemble" else _same
    assert all(same(g, w) for g, w in zip(got, want)), "results differ from the serial backend"


def test_serial_resumes_after_an_interrupt(serial, tmp_path, monkeypatch):
    from scpviz.sweeps import backends

    cfgs, want = serial
    calls = []
    real = backends.execute

    def interrupted(cfg, device=None, threads=None):
        if len(calls) == 2:
            raise KeyboardInterrupt
        calls.append(cfg)
        return real(cfg, device, threads)

    monkeypatch.setattr(backends, "execute", interrupted)
    with pytest.raises(KeyboardInterrupt):
        run_configs(cfgs, tmp_path, backend="serial", progress=False, threads=1)
    assert len(list(tmp_path.glob("*.json"))) == 2
    monkeypatch.setattr(backends, "execute",
                        lambda cfg, device=None, threads=None: calls.append(cfg) or real(cfg, device, threads))
    got = run_configs(cfgs, tmp_path, backend="serial", progress=False, threads=1)
    assert len(calls) == 2 + len(cfgs) - 2  # the two cached runs were not recomputed
    assert all(_same(g, w) for g, w in zip(got, want))


def test_serial_keeps_going_past_a_failure(serial, tmp_path):
    _check_backend("serial", serial, tmp_path)


def test_processes_backend_equals_serial_and_resumes(serial, tmp_path):
    _check_backend("processes", serial, tmp_path)


def test_ray_backend_equals_serial_and_resumes(serial, tmp_path, ray_local):
    _check_backend("ray", serial, tmp_path)


def test_sweep_passes_the_backend_through(serial, tmp_path):
    cfgs, want = serial
    res = sweep("permuted_mnist", methods=["none", "mas", "scp"], lams=[10.0], seeds=[0, 1], mode="quick",
                cache_dir=tmp_path, backend="processes", workers=2, progress=False, threads=1, **TINY)
    assert [c for c, _ in res] == cfgs and all(_same(h, w) for (_, h), w in zip(res, want))


def test_serial_restores_the_thread_count(serial, tmp_path):
    import torch

    before = torch.get_num_threads()
    run_configs(serial[0][:1], None, backend="serial", progress=False, threads=1)
    assert torch.get_num_threads() == before


def test_bad_backend_and_workers():
    with pytest.raises(ValueError, match="backend='dask'"):
        run_configs([], backend="dask")
    with pytest.raises(ValueError, match="workers=0"):
        run_configs([], backend="processes", workers=0)
    with pytest.raises(ValueError, match="threads=-1"):
        run_configs([], threads=-1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert run_configs([], backend="processes") == []


def test_ensemble_backend_equals_serial_and_resumes(serial, tmp_path):
    """Runs that share a budget train as one stacked model: the same scores as alone, losses to float32 rounding
    (tests/ensemble checks every run against its single run in float64)."""
    _check_backend("ensemble", serial, tmp_path)


def test_ensemble_groups_share_a_budget_and_say_why_a_run_is_alone():
    from scpviz.sweeps import ensemble_groups

    ae = experiments.get("autoencoders")
    cfgs = _grid() + [PM.config("none", seed=0, mode="quick", **dict(TINY, n_train=100)),
                      experiments.get("mnist_svhn").config("none", seed=0, mode="quick"),
                      ae.config("scp", lam=1.0, seed=0, mode="quick", reset_test=True)]
    groups = ensemble_groups(cfgs, size=4)
    assert [idx for idx, why in groups if why is None] == [[0, 1, 2, 3], [4, 5], [6]]
    alone = [(idx, why) for idx, why in groups if why]
    assert [idx for idx, _ in alone] == [[7], [8]]
    assert "mnist_svhn's network has no stacked form" in alone[0][1] and "blind-reset" in alone[1][1]
    with pytest.raises(ValueError, match="ensemble_size=0"):
        ensemble_groups(cfgs, size=0)


def test_auto_encoder_runs_of_other_digit_orders_stack_when_the_splits_have_fixed_sizes():
    from scpviz.sweeps import ensemble_groups

    ae = experiments.get("autoencoders")
    fixed = [ae.config("mas", lam=1.0, seed=s, mode="quick") for s in (0, 1, 2)]
    assert len({tuple(c["order"]) for c in fixed}) > 1                     # seeds > 0 permute the order
    assert [idx for idx, _ in ensemble_groups(fixed, size=8)] == [[0, 1, 2]]
    # every image of a digit (n_train=None): the sizes depend on the digit, so only runs of one order stack
    whole = [ae.config("mas", lam=lam, seed=s, mode="quick", n_train=None) for s in (0, 2) for lam in (1.0, 10.0)]
    assert whole[0]["order"] != whole[2]["order"]
    assert [idx for idx, _ in ensemble_groups(whole, size=8)] == [[0, 1], [2, 3]]


def test_run_ensemble_refuses_runs_of_different_budgets_or_experiments():
    cfgs = _grid()
    with pytest.raises(ValueError, match="differ in more than seed, data_seed, method, lam"):
        PM.run_ensemble([cfgs[0], PM.config("none", seed=0, mode="quick", **dict(TINY, n_train=100))], device="cpu")
    svhn = experiments.get("mnist_svhn")
    with pytest.raises(ValueError, match="no stacked form"):
        svhn.run_ensemble([svhn.config("none", seed=0, mode="quick")], device="cpu")


# n_train above what the stand-in holds of a digit: the digit orders' task sizes differ, and run_ensemble stacks the
# runs of each order apart
AE_TINY = {"epochs": 2, "n_train": 120, "n_val": 10, "n_test": 20, "hidden": [16], "code": 6, "n_slices": 5,
           "dataset": "digits", "snapshots": True}


def test_auto_encoder_ensemble_equals_serial():
    """§5.2's runs (three digit orders, none / MAS / SCP) as one stacked auto-encoder: float32 mean ℓ1 scores and
    losses as alone to 1e-5 relative (summation order), the reconstructions recorded for every run."""
    cfgs = make_grid("autoencoders", methods=["none", "mas", "scp"], lams=[10.0], seeds=[0, 1, 2], mode="quick",
                     **AE_TINY)
    want = run_configs(cfgs, None, backend="serial", progress=False, threads=1)
    got = run_configs(cfgs, None, backend="ensemble", progress=False, threads=1, ensemble_size=16)
    for g, w in zip(got, want):
        assert g.config == w.config and len(g.points) == len(w.points)
        for p, q in zip(g.points, w.points):
            for key in ("test", "val"):
                assert [a is None for a in p[key]] == [b is None for b in q[key]]
                assert [a for a in p[key] if a is not None] == pytest.approx([b for b in q[key] if b is not None],
                                                                             rel=1e-5)
            assert p["loss"] == pytest.approx(q["loss"], rel=1e-5)
            assert p["penalty"] == pytest.approx(q["penalty"], rel=1e-4, abs=1e-9)
        assert g.extras["inputs"] == w.extras["inputs"]
        diff = [abs(a - b) for s, t in zip(g.extras["snapshots"], w.extras["snapshots"])
                for u, v in zip(s, t) for a, b in zip(u, v)]
        assert max(diff) <= 1                                   # uint8 reconstructions: a rounding step at most
