"""The replay regularizers on a buffer (eq 6, eq 14): values against brute force, gradients by gradcheck, and the
drop-in consolidation the engine uses."""
import numpy as np
import pytest
import torch
from torch import nn
from torch.func import functional_call

from scpviz import datasets
from scpviz.consolidation import mas_replay, sliced_cramer_replay
from scpviz.replay import ReplayConsolidation
from scpviz.training import train_sequence


def _cramer_1d_bruteforce(a, b):
    """∫ (F_a − F_b)² dt for two empirical distributions, summing over the merged breakpoints."""
    pts = np.sort(np.concatenate([a, b]))
    total = 0.0
    for lo, hi in zip(pts[:-1], pts[1:]):
        fa, fb = np.mean(a <= lo), np.mean(b <= lo)
        total += (fa - fb) ** 2 * (hi - lo)
    return total


def test_replay_regularizers_against_brute_force():
    g = torch.Generator().manual_seed(0)
    phi, phi0 = torch.randn(7, 4, generator=g, dtype=torch.float64), torch.randn(7, 4, generator=g, dtype=torch.float64)
    want = np.mean([0.5 * (float(phi[i] @ phi[i]) - float(phi0[i] @ phi0[i])) ** 2 for i in range(7)])
    assert float(mas_replay(phi, phi0)) == pytest.approx(want, rel=1e-12)
    s = torch.randn(5, 4, generator=g, dtype=torch.float64)
    s = s / s.norm(dim=1, keepdim=True)
    want = np.mean([_cramer_1d_bruteforce((phi @ s[l]).numpy(), (phi0 @ s[l]).numpy()) for l in range(5)])
    assert float(sliced_cramer_replay(phi, phi0, slices=s)) == pytest.approx(want, rel=1e-10)


def test_replay_regularizer_gradients_gradcheck():
    g = torch.Generator().manual_seed(1)
    phi = torch.randn(6, 3, generator=g, dtype=torch.float64, requires_grad=True)
    phi0 = torch.randn(6, 3, generator=g, dtype=torch.float64)
    s = torch.randn(4, 3, generator=g, dtype=torch.float64)
    s = s / s.norm(dim=1, keepdim=True)
    assert torch.autograd.gradcheck(lambda p: mas_replay(p, phi0), (phi,))
    assert torch.autograd.gradcheck(lambda p: sliced_cramer_replay(p, phi0, slices=s), (phi,))


def _tiny_stream():
    g = torch.Generator().manual_seed(0)
    xs = [torch.rand(40, 6, generator=g, dtype=torch.float64) * (torch.arange(6) % 2 == k) for k in (0, 1)]
    return [datasets.Task(f"t{k}", x, None, x, None, dataset="toy") for k, x in enumerate(xs)]


@pytest.mark.parametrize("method", ["mas", "scp"])
def test_replay_consolidation_buffer_targets_and_penalty_gradient(method):
    tasks = _tiny_stream()
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 5), nn.Tanh(), nn.Linear(5, 6)).double()
    rc = ReplayConsolidation(method, lam=3.0, per_task=4, n_slices=7, seed=0)
    assert not rc.active and float(rc.penalty(model)) == 0.0
    new = rc.consolidate(model, tasks[0].x_train)
    assert rc.active and rc.buffer.shape == (4, 6) and torch.equal(rc.buffer, new)
    assert all(any(torch.equal(b, x) for x in tasks[0].x_train) for b in rc.buffer)  # real inputs of the task
    assert torch.allclose(rc.targets, model(rc.buffer))
    assert float(rc.penalty(model).detach()) == pytest.approx(0.0, abs=1e-12)     # at θ* nothing has changed
    rc.consolidate(model, tasks[1].x_train)
    assert rc.buffer.shape == (8, 6) and rc.n_tasks == 2 and rc.slices.shape == (7, 6)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.3 * torch.randn_like(p))
    # the penalty's gradient w.r.t. one weight tensor: gradcheck against finite differences
    names = dict(model.named_parameters())

    def pen(w):
        params = {**{n: p.detach() for n, p in names.items()}, "2.weight": w}
        return rc.lam * rc.regularizer(functional_call(model, params, (rc.buffer,)))
    w = names["2.weight"].detach().clone().requires_grad_(True)
    assert torch.autograd.gradcheck(pen, (w,))
    # add_penalty_grad_ accumulates exactly that gradient into .grad
    model.zero_grad()
    rc.add_penalty_grad_(model)
    want = torch.autograd.grad(pen(w), w)[0]
    assert torch.allclose(model[2].weight.grad, want, rtol=1e-10, atol=1e-12)


def test_replay_in_the_engine_and_bad_input():
    tasks = _tiny_stream()
    runs = {}
    for lam in (0.0, 1e3):
        torch.manual_seed(0)
        model = nn.Sequential(nn.Linear(6, 5), nn.ReLU(), nn.Linear(5, 6), nn.Sigmoid()).double()
        runs[lam] = train_sequence(model, tasks, ReplayConsolidation("mas", lam=lam, per_task=5, seed=0), epochs=3,
                                   lr=1e-2, batch_size=10, objective="reconstruction", progress=False)
        assert runs[lam].config["consolidation"]["penalty"] == "replay"
    # λ = 0 trains exactly like no consolidation; λ > 0 changes the second task's training
    torch.manual_seed(0)
    plain = train_sequence(nn.Sequential(nn.Linear(6, 5), nn.ReLU(), nn.Linear(5, 6), nn.Sigmoid()).double(), tasks, None,
                           epochs=3, lr=1e-2, batch_size=10, objective="reconstruction", progress=False)
    np.testing.assert_array_equal(runs[0.0].final_matrix(), plain.final_matrix())
    assert not np.allclose(runs[1e3].final_matrix()[1], plain.final_matrix()[1])
    for bad, match in ((dict(method="ewc"), "method"), (dict(lam=-1.0), "lam"), (dict(per_task=0), "per_task"),
                       (dict(n_slices=0), "n_slices")):
        with pytest.raises(ValueError, match=match):
            ReplayConsolidation(**bad)


def test_both_ways_of_preserving_a_task_are_what_the_engine_calls():
    from scpviz.consolidation import Consolidation, Consolidator
    from scpviz.replay import ReplayConsolidation

    assert isinstance(Consolidation("scp"), Consolidator) and isinstance(ReplayConsolidation("mas"), Consolidator)
    assert not isinstance(object(), Consolidator)
