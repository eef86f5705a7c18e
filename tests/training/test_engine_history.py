import json

import numpy as np
import pytest
import torch

from scpviz import datasets, models
from scpviz.consolidation import Consolidation
from scpviz.training import EpochEnd, History, HyperParams, train_sequence, train_task


def two_tasks(n=300):
    """Task A: sign of x0; task B: sign of x1 on inputs shifted along x2 — B's training overwrites A's boundary."""
    g = torch.Generator().manual_seed(0)
    xa = torch.randn(n, 3, generator=g)
    xb = torch.randn(n, 3, generator=g) + torch.tensor([0.0, 0.0, 2.0])
    ta = datasets.Task("A", xa, (xa[:, 0] > 0).long(), xa, (xa[:, 0] > 0).long(), dataset="toy", x_val=xa,
                   y_val=(xa[:, 0] > 0).long())
    tb = datasets.Task("B", xb, (xb[:, 1] > 0).long(), xb, (xb[:, 1] > 0).long(), dataset="toy")
    return [ta, tb]


def run(method, lam, seed=0):
    model = models.MLP(3, (16,), 2, seed=seed)
    cons = Consolidation(method, lam=lam, n_slices=20, seed=0)
    return train_sequence(model, two_tasks(), consolidation=cons, epochs=15, lr=1e-2, batch_size=30, seed=seed,
                          progress=False)


def test_consolidation_reduces_forgetting_on_two_task_toy():
    base = run("none", 0.0)
    assert base.final_matrix()[0, 0] > 0.95 and base.forgetting() > 0.1  # the toy does forget
    for method, lam in (("ewc", 1e3), ("mas", 1e1), ("scp", 1e3)):
        h = run(method, lam)
        assert h.forgetting() < 0.5 * base.forgetting(), method
        assert h.final_matrix()[1, 0] > base.final_matrix()[1, 0] + 0.2, method  # task A kept


def test_same_seed_same_history_on_cpu():
    a, b = run("scp", 10.0), run("scp", 10.0)
    assert a.points == b.points
    c = run("scp", 10.0, seed=1)
    assert a.points != c.points


def test_metrics_on_hand_made_matrix():
    R = np.array([[0.9, np.nan, np.nan], [0.7, 0.95, np.nan], [0.6, 0.8, 0.92]])
    pts = [{"task": i, "epoch": 1, "test": [None if np.isnan(v) else v for v in R[i]], "val": [None] * 3}
           for i in range(3)]
    h = History(config={}, dataset="hand", task_names=["a", "b", "c"], points=pts)
    assert np.allclose(h.average_accuracy(), [0.9, 0.825, (0.6 + 0.8 + 0.92) / 3])
    assert h.forgetting() == pytest.approx(((0.9 - 0.6) + (0.95 - 0.8)) / 2)
    assert h.backward_transfer() == pytest.approx(((0.6 - 0.9) + (0.8 - 0.95)) / 2)
    assert h.intransigence([0.95, 0.97, 0.93]) == pytest.approx(((0.95 - 0.9) + (0.97 - 0.95) + (0.93 - 0.92)) / 3)
    assert h.learning_metric() == pytest.approx((0.9 + 0.95 + 0.92) / 3)   # each task right after learning it
    with pytest.raises(ValueError, match="reference"):
        h.intransigence([1.0])
    with pytest.raises(ValueError, match="split"):
        h.matrix("train")
    # lower-is-better metrics flip signs: an error going up is forgetting
    e = History(config={}, dataset="hand", task_names=["a", "b"], higher_is_better=False,
                points=[{"task": 0, "epoch": 1, "test": [10.0, None]}, {"task": 1, "epoch": 1, "test": [15.0, 9.0]}])
    assert e.forgetting() == pytest.approx(5.0) and e.backward_transfer() == pytest.approx(-5.0)


def test_history_json_round_trip(tmp_path):
    h = run("mas", 1.0)
    h.to_json(tmp_path / "h.json")
    back = History.from_json(tmp_path / "h.json")
    assert back.points == json.loads(h.to_json())["points"] and back.config["consolidation"]["method"] == "mas"
    assert np.allclose(back.final_matrix(), h.final_matrix(), equal_nan=True)
    assert History.from_json(h.to_json()).dataset == "toy"


def test_importance_never_sees_test_or_validation_data(monkeypatch):
    tasks = two_tasks()
    seen = []
    orig = Consolidation.consolidate

    def spy(self, model, d):
        seen.append(d)
        return orig(self, model, d)

    monkeypatch.setattr(Consolidation, "consolidate", spy)
    model = models.MLP(3, (8,), 2, seed=0)
    train_sequence(model, tasks, consolidation=Consolidation("ewc", lam=1.0), epochs=1, progress=False)
    assert len(seen) == 1
    x, y = seen[0]
    assert x is tasks[0].x_train and y is tasks[0].y_train


def test_evaluation_points_and_val_split():
    h = run("none", 0.0)
    assert len(h.points) == 30 and h.points[0]["test"][1] is None and h.points[-1]["val"][0] is not None
    assert h.points[-1]["val"][1] is None  # task B has no validation split
    assert h.matrix().shape == (30, 2) and h.final_matrix().shape == (2, 2)


def test_optimizer_reset_per_epoch_changes_run():
    tasks = two_tasks()
    a = train_sequence(models.MLP(3, (8,), 2, seed=0), tasks, epochs=3, lr=1e-2, progress=False)
    b = train_sequence(models.MLP(3, (8,), 2, seed=0), tasks, epochs=3, lr=1e-2, optimizer_reset="epoch",
                       progress=False)
    assert a.points != b.points and b.config["optimizer_reset"] == "epoch"


@pytest.mark.parametrize("kwargs,exc,match", [
    (dict(epochs=0), ValueError, "epochs=0"),
    (dict(batch_size=0), ValueError, "batch_size=0"),
    (dict(lr=-1.0), ValueError, "lr=-1.0"),
    (dict(optimizer_reset="step"), ValueError, "optimizer_reset"),
])
def test_bad_arguments(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        train_sequence(models.MLP(3, (4,), 2), two_tasks(), progress=False, **kwargs)


def test_empty_and_misfit_tasks():
    with pytest.raises(ValueError, match="empty"):
        train_sequence(models.MLP(3, (4,), 2), [], progress=False)
    with pytest.raises(ValueError, match="does not fit the model"):
        train_sequence(models.MLP(5, (4,), 2), two_tasks(), progress=False)


def test_divergence_names_task_and_epoch():
    tasks = two_tasks()
    tasks[1] = datasets.Task("B", tasks[1].x_train * float("inf"), tasks[1].y_train, tasks[1].x_test,
                         tasks[1].y_test, dataset="toy")
    with pytest.raises(FloatingPointError, match=r"task 2 \('B'\), epoch 1.*smaller lam"):
        train_sequence(models.MLP(3, (4,), 2), tasks, progress=False)


def test_one_callback_type_for_both_trainers():
    tasks = two_tasks(60)
    seen = []
    h = train_sequence(models.MLP(3, (8,), 2, seed=0), tasks, consolidation=Consolidation("mas", lam=1.0), epochs=2,
                       lr=1e-2, batch_size=20, progress=False, on_epoch=seen.append)
    assert all(isinstance(e, EpochEnd) and e.history is h for e in seen)
    assert [(e.task, e.name, e.epoch, e.epochs) for e in seen] == [(0, "A", 1, 2), (0, "A", 2, 2), (1, "B", 1, 2),
                                                                   (1, "B", 2, 2)]
    assert [(e.loss, e.penalty) for e in seen] == [(p["loss"], p["penalty"]) for p in h.points]
    assert seen[0].penalty == 0.0 and seen[-1].penalty > 0.0  # eq 17 is on from the second task
    # the callback sees the point of its own epoch: the History grows by one between calls
    counts = []
    train_sequence(models.MLP(3, (8,), 2, seed=0), tasks, epochs=2, progress=False,
                   on_epoch=lambda e: counts.append(len(e.history.points)))
    assert counts == [1, 2, 3, 4]
    ends = []
    log = train_task(models.MLP(3, (8,), 2, seed=0), tasks[0], epochs=3, lr=1e-2, batch_size=20, progress=False,
                     on_epoch=ends.append)
    assert [(e.task, e.name, e.epoch, e.history) for e in ends] == [(0, "A", 1, None), (0, "A", 2, None),
                                                                    (0, "A", 3, None)]
    assert [e.loss for e in ends] == log["loss"] and [e.penalty for e in ends] == log["penalty"]


def test_train_task_is_the_sequence_loop_on_one_task():
    # with seed 0 the first epoch of both draws its batch order from a generator seeded 0
    task = two_tasks(60)[0]
    a, b = models.MLP(3, (8,), 2, seed=0), models.MLP(3, (8,), 2, seed=0)
    log = train_task(a, task, epochs=1, lr=1e-2, batch_size=20, seed=0, progress=False)
    h = train_sequence(b, [task], epochs=1, lr=1e-2, batch_size=20, seed=0, progress=False)
    assert log["loss"] == [h.points[0]["loss"]]
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))


def test_hparams_object_and_keywords_are_the_same_run():
    tasks = two_tasks(60)
    kw = dict(epochs=2, lr=1e-2, batch_size=20, optimizer_reset="epoch", seed=3)
    a = train_sequence(models.MLP(3, (8,), 2, seed=0), tasks, progress=False, **kw)
    b = train_sequence(models.MLP(3, (8,), 2, seed=0), tasks, hparams=HyperParams(**kw), progress=False)
    c = train_sequence(models.MLP(3, (8,), 2, seed=0), tasks, hparams=HyperParams(**{**kw, "lr": 1.0}), lr=1e-2,
                       progress=False)  # a keyword overrides the field
    assert a.points == b.points == c.points and a.config == b.config == c.config
    with pytest.raises(TypeError, match="unexpected keyword argument 'epoch'"):
        train_sequence(models.MLP(3, (8,), 2), tasks, epoch=2, progress=False)
    with pytest.raises(TypeError, match="hparams"):
        train_task(models.MLP(3, (8,), 2), tasks[0], hparams={"epochs": 2}, progress=False)
    with pytest.raises(ValueError, match="optimizer_reset='epoch'"):
        m = models.MLP(3, (8,), 2)
        train_task(m, tasks[0], optimizer=torch.optim.SGD(m.parameters(), lr=0.1), optimizer_reset="epoch")
    with pytest.raises(ValueError, match="augment"):
        HyperParams(augment="flip")


def test_task_without_training_data_is_refused_before_training():
    tasks = two_tasks(60)
    tasks[1] = datasets.Task("B", tasks[1].x_train[:0], tasks[1].y_train[:0], tasks[1].x_test, tasks[1].y_test,
                             dataset="toy")
    model = models.MLP(3, (4,), 2, seed=0)
    before = [p.clone() for p in model.parameters()]
    with pytest.raises(ValueError, match="'B' has no training data"):
        train_sequence(model, tasks, progress=False)
    assert all(torch.equal(p, q) for p, q in zip(before, model.parameters()))


def test_reconstruction_objective():
    x = torch.rand(50, 6)
    task = datasets.Task("ae", x, None, x, None, dataset="toy")
    ae = torch.nn.Sequential(torch.nn.Linear(6, 3), torch.nn.ReLU(), torch.nn.Linear(3, 6), torch.nn.Sigmoid())
    h = train_sequence(ae, [task], objective="reconstruction", epochs=20, lr=1e-2, batch_size=10, progress=False)
    errs = [pt["test"][0] for pt in h.points]
    assert errs[-1] < errs[0] and not h.higher_is_better
    # the metric is the mean l1 error per image
    with torch.no_grad():
        assert errs[-1] == pytest.approx((ae(x) - x).abs().sum(1).mean().item(), rel=1e-5)


def test_adam_helper_matches_torch_adam_and_falls_back(monkeypatch):
    import torch

    from scpviz.training import adam

    torch.manual_seed(0)
    a = torch.nn.Linear(5, 3)
    b = torch.nn.Linear(5, 3)
    b.load_state_dict(a.state_dict())
    oa, ob = adam(a.parameters(), 1e-2), torch.optim.Adam(b.parameters(), lr=1e-2)
    x = torch.randn(16, 5)
    for _ in range(5):
        for m, o in ((a, oa), (b, ob)):
            o.zero_grad()
            m(x).pow(2).sum().backward()
            o.step()
    for pa, pb in zip(a.parameters(), b.parameters()):
        assert torch.allclose(pa, pb, atol=1e-6)
    real = torch.optim.Adam

    def no_fused(params, lr, **kw):
        if kw.get("fused"):
            raise RuntimeError("fused=True is not supported here")
        return real(params, lr=lr, **kw)

    monkeypatch.setattr(torch.optim, "Adam", no_fused)
    o = adam(a.parameters(), 1e-3)
    assert isinstance(o, real) and not o.defaults.get("fused")


def test_adam_eps_bounds_the_step_on_a_vanishing_gradient_and_is_recorded():
    """Adam's first step moves a weight by lr·|g|/(|g| + ε) (bias-corrected moments equal g and g²): with
    |g| = 1e-6 about lr at torch's ε = 1e-8, about lr/100 at ε = 1e-4."""
    from scpviz.training import adam

    g, lr = 1e-6, 1e-2
    for eps in (1e-8, 1e-4):
        p = torch.nn.Parameter(torch.zeros(1))
        opt = adam([p], lr, eps)
        p.grad = torch.full((1,), g)
        opt.step()
        assert float(-p.detach()) == pytest.approx(lr * g / (g + eps), rel=1e-4)
    with pytest.raises(ValueError, match="adam_eps"):
        HyperParams(adam_eps=0.0)
    # train_sequence records ε only when it is not torch's default (Histories made before it lack the key)
    x = torch.randn(20, 2)
    task = datasets.Task("t", x, (x[:, 0] > 0).long(), x, (x[:, 0] > 0).long(), dataset="toy")
    h = {eps: train_sequence(models.MLP(2, (4,), 2, seed=0), [task], epochs=1, lr=1e-2, batch_size=10,
                             adam_eps=eps, progress=False) for eps in (1e-8, 1e-4)}
    assert "adam_eps" not in h[1e-8].config and h[1e-4].config["adam_eps"] == 1e-4
