"""An ensemble trains each of its runs as train_sequence trains it alone (float64), whatever runs share it."""
import dataclasses
import random

import pytest
import torch

from scpviz.consolidation import Consolidation
from scpviz.datasets import Task, load_dataset, permuted_mnist_tasks
from scpviz.ensemble import EnsembleRun, train_ensemble
from scpviz.models import MLP, AutoEncoder
from scpviz.training import RECONSTRUCTION_LOSSES, HyperParams, reconstruction_objective, train_sequence

D, H, C, T = 6, (9, 7), 3, 3
HP = HyperParams(epochs=2, lr=1e-2, batch_size=8)
RUNS = [("none", 0.0, 0), ("ewc", 3.0, 1), ("mas", 0.5, 2), ("mas_abs", 0.2, 3), ("scp", 50.0, 4), ("scp", 5.0, 5)]


def _tasks(seed):
    """T small permuted tasks of one run (its own images and permutations), float64."""
    g = torch.Generator().manual_seed(100 + seed)
    w = torch.randn(D, C, generator=g, dtype=torch.float64)
    out = []
    for t in range(T):
        perm = torch.randperm(D, generator=g)
        xs = [torch.randn(n, D, generator=g, dtype=torch.float64) for n in (40, 12, 20)]
        ys = [(x @ w).argmax(1) for x in xs]
        xs = [x[:, perm] for x in xs]
        out.append(Task(f"perm {t}", xs[0], ys[0], xs[2], ys[2], x_val=xs[1], y_val=ys[1], dataset="toy"))
    return out


def _run(method, lam, seed):
    return EnsembleRun(MLP(D, H, C, seed=seed).double(), _tasks(seed), seed=seed, method=method, lam=lam,
                       config={"method": method, "lam": lam})


def _alone(method, lam, seed):
    """The same run through train_sequence and Consolidation, the single-run engine."""
    run = _run(method, lam, seed)
    cons = Consolidation(method, lam=lam, alpha=0.75, n_slices=20, seed=seed)
    hist = train_sequence(run.model, run.tasks, consolidation=cons, hparams=dataclasses.replace(HP, seed=seed),
                          progress=False, config={"method": method, "lam": lam})
    return run.model, hist


def _same(h1, h2, tol=1e-10):
    assert h1.config == h2.config and h1.task_names == h2.task_names and h1.dataset == h2.dataset
    assert len(h1.points) == len(h2.points)
    for p, q in zip(h1.points, h2.points):
        assert (p["task"], p["epoch"], p["test"], p["val"]) == (q["task"], q["epoch"], q["test"], q["val"])
        assert p["loss"] == pytest.approx(q["loss"], rel=tol, abs=tol)
        assert p["penalty"] == pytest.approx(q["penalty"], rel=tol, abs=tol)


def test_every_run_of_an_ensemble_is_the_run_alone():
    """Three tasks, the penalty acting from the second: weights to 1e-10, scores exactly, losses and penalties to
    rounding — any slip in a step (a batch order, an Adam state, a penalty gradient) would grow through training."""
    runs = [_run(*r) for r in RUNS]
    hists = train_ensemble(runs, hparams=HP, n_slices=20)
    for r, (method, lam, seed), h in zip(runs, RUNS, hists):
        model, alone = _alone(method, lam, seed)
        _same(h, alone)
        for p, q in zip(r.model.parameters(), model.parameters()):
            assert torch.allclose(p, q, rtol=1e-10, atol=1e-12), (method, seed)
        assert alone.points[-1]["penalty"] > 0 or method == "none"     # the penalty did act


def test_which_runs_share_an_ensemble_changes_nothing():
    order = list(range(len(RUNS)))
    random.Random(0).shuffle(order)
    together = train_ensemble([_run(*RUNS[i]) for i in order], hparams=HP, n_slices=20)
    pairs = train_ensemble([_run(*RUNS[i]) for i in order[:2]], hparams=HP, n_slices=20)
    for k in range(2):
        _same(together[k], pairs[k], tol=1e-12)


def test_bad_ensembles_are_refused():
    with pytest.raises(ValueError, match="runs is empty"):
        train_ensemble([], hparams=HP)
    short = _run("none", 0.0, 0)
    short.tasks = short.tasks[:2]
    with pytest.raises(ValueError, match="same number of tasks"):
        train_ensemble([short, _run("none", 0.0, 1)], hparams=HP)
    with pytest.raises(ValueError, match="method=.l2. has no batched importance rule"):
        train_ensemble([_run("l2", 1.0, 0)], hparams=HP)


AE_RUNS = [("none", 0.0, 0), ("mas", 2.0, 1), ("mas_abs", 0.5, 2), ("scp", 300.0, 3), ("scp", 30.0, 4)]


def _digit_tasks(seed):
    """T small reconstruction tasks of one run: inputs in [0, 1], no targets, float64."""
    g = torch.Generator().manual_seed(200 + seed)
    out = []
    for t in range(T):
        xs = [torch.rand(n, D, generator=g, dtype=torch.float64) ** (t + 1) for n in (40, 12, 20)]
        out.append(Task(f"digit {t}", xs[0], None, xs[2], None, x_val=xs[1], y_val=None, dataset="toy"))
    return out


@pytest.mark.parametrize("options,loss", [({}, RECONSTRUCTION_LOSSES[0]),
                                          ({"activation": "leaky_relu", "bias": False}, RECONSTRUCTION_LOSSES[1])])
def test_auto_encoder_runs_of_an_ensemble_are_the_runs_alone(options, loss):
    """§5.2's reconstruction runs: mean ℓ1 scores and losses to rounding, weights to 1e-10 after three tasks."""
    obj = reconstruction_objective(loss)

    def run(method, lam, seed):
        return EnsembleRun(AutoEncoder(D, (9,), 4, seed=seed, **options).double(), _digit_tasks(seed), seed=seed,
                           method=method, lam=lam, config={"method": method, "lam": lam})

    runs = [run(*r) for r in AE_RUNS]
    seen = []
    hists = train_ensemble(runs, hparams=HP, objective=obj, n_slices=20,
                           on_task_end=lambda t, stack: seen.append((t, stack.n_runs)))
    assert seen == [(t, len(AE_RUNS)) for t in range(T)]
    for r, (method, lam, seed), h in zip(runs, AE_RUNS, hists):
        alone = run(method, lam, seed)
        cons = Consolidation(method, lam=lam, alpha=0.75, n_slices=20, seed=seed)
        want = train_sequence(alone.model, alone.tasks, consolidation=cons, objective=obj,
                              hparams=dataclasses.replace(HP, seed=seed), progress=False,
                              config={"method": method, "lam": lam})
        assert h.metric_name == want.metric_name and h.config == want.config
        for p, q in zip(h.points, want.points):
            for key in ("test", "val"):
                assert [a is None for a in p[key]] == [b is None for b in q[key]]
                assert [a for a in p[key] if a is not None] == pytest.approx([b for b in q[key] if b is not None],
                                                                             rel=1e-12)
            assert p["loss"] == pytest.approx(q["loss"], rel=1e-10)
            assert p["penalty"] == pytest.approx(q["penalty"], rel=1e-10, abs=1e-12)
        for p, q in zip(r.model.parameters(), alone.model.parameters()):
            assert torch.allclose(p, q, rtol=1e-10, atol=1e-12), (method, seed)
        assert want.points[-1]["penalty"] > 0 or method == "none"


def _lazy_pair(seed, data, **kw):
    """One run's permuted tasks, materialized and lazy (the images once, the permutation applied by the trainer)."""
    return [permuted_mnist_tasks(data, n_tasks=T, seed=seed, n_train=60, n_val=12, n_test=20, subset_seed=seed,
                                 lazy=lazy, **kw) for lazy in (False, True)]


def test_lazy_permuted_tasks_train_as_the_materialized_ones():
    """Lazy tasks (one copy of a run's images; every batch permuted as it is read) give the same Histories and
    weights, with each run its own images (gathered per run) and with all runs on one tensor (indexed once)."""
    data = load_dataset("digits")
    pairs = [_lazy_pair(s, data) for s in range(3)]
    # run 1's permutations on run 0's very tensors, lazy and materialized
    lazy_on_0 = [dataclasses.replace(t, meta=dict(t.meta, lazy_permutation=q.meta["lazy_permutation"]))
                 for t, q in zip(pairs[0][1], pairs[1][1])]
    eager_on_0 = [dataclasses.replace(t, x_train=t.x_train[:, p], x_val=t.x_val[:, p], x_test=t.x_test[:, p],
                                      meta={}) for t, p in ((t, t.meta["lazy_permutation"]) for t in lazy_on_0)]
    specs = [("none", 0.0, 0), ("ewc", 3.0, 1), ("scp", 50.0, 2)]

    def train(runs_tasks):
        runs = [EnsembleRun(MLP(784, (9,), 10, seed=seed).double(), tasks, seed=seed, method=method, lam=lam)
                for (method, lam, seed), tasks in zip(specs, runs_tasks)]
        return runs, train_ensemble(runs, hparams=HP, n_slices=20)

    for eager, lazy in (([p[0] for p in pairs], [p[1] for p in pairs]),
                        ([pairs[0][0], eager_on_0], [pairs[0][1], lazy_on_0])):
        (eager_runs, want), (lazy_runs, got) = train(eager), train(lazy)
        for a, b in zip(got, want):
            _same(a, b, tol=1e-12)
        for r, q in zip(lazy_runs, eager_runs):
            assert all(torch.allclose(p, w, rtol=1e-12, atol=1e-14) for p, w in zip(r.model.parameters(),
                                                                                    q.model.parameters()))


def test_only_the_ensemble_reads_lazy_tasks():
    data = load_dataset("digits")
    eager, lazy = _lazy_pair(0, data)
    assert all(t.x_train is lazy[0].x_train for t in lazy)                   # one copy of the images
    p = lazy[1].meta["lazy_permutation"]
    assert torch.equal(lazy[1].x_train[:, p], eager[1].x_train) and torch.equal(lazy[1].x_test[:, p], eager[1].x_test)
    with pytest.raises(ValueError, match="unpermuted .*lazy=False"):
        train_sequence(MLP(784, (9,), 10), lazy, hparams=HP, progress=False)
