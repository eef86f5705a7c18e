"""Blind spots of the diagonal penalty: dead units and drift on zero-importance weights, against brute force."""
import pytest
import torch
from torch import nn

from scpviz import datasets
from scpviz.consolidation import Consolidation
from scpviz.models import AutoEncoder
from scpviz.teaching.diagnostics import dead_units, drift_by_importance, two_task_drift


def test_dead_units_equal_a_per_sample_loop():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(5, 16), nn.ReLU(), nn.Linear(16, 8), nn.ReLU(), nn.Linear(8, 3))
    with torch.no_grad():
        model[0].bias[:4] = -50.0  # four units that can never fire on these inputs
    x = torch.randn(37, 5)
    got = dead_units(model, x, batch_size=5)
    h1 = torch.relu(model[0](x))
    h2 = torch.relu(model[2](h1))
    want = {"1": torch.stack([(h1[:, j] <= 0).all() for j in range(16)]),
            "3": torch.stack([(h2[:, j] <= 0).all() for j in range(8)])}
    assert set(got) == {"1", "3"}
    for k in want:
        assert torch.equal(got[k], want[k])
    assert got["1"][:4].all()


def test_drift_by_importance_by_hand():
    model = nn.Linear(3, 2)
    theta = {n: p.detach().clone() for n, p in model.named_parameters()}
    imp = {"weight": torch.tensor([[1.0, 0.0, 2.0], [0.0, 0.0, 4.0]]), "bias": torch.tensor([1e-12, 3.0])}
    with torch.no_grad():
        model.weight.add_(torch.tensor([[1.0, 2.0, 0.0], [3.0, 0.0, 1.0]]))
        model.bias.add_(torch.tensor([5.0, 1.0]))
    r = drift_by_importance(imp, theta, model, lam=2.0, rel_tol=1e-9)
    # blind: weight (0,1), (1,0), (1,1) and bias 0 (1e-12 < 4e-9): drift 4 + 9 + 0 + 25 of total 1+4+9+1+25+1 = 41
    assert r["blind_fraction"] == pytest.approx(4 / 8)
    assert r["blind_drift_share"] == pytest.approx(38 / 41)
    assert r["drift"] == pytest.approx(41.0)
    assert r["penalty"] == pytest.approx(2.0 * (1 * 1 + 4 * 1 + 3 * 1 + 1e-12 * 25))
    with pytest.raises(ValueError, match="rel_tol"):
        drift_by_importance(imp, theta, model, rel_tol=-1)
    with pytest.raises(ValueError, match="importance names"):
        drift_by_importance({"nope": torch.ones(1)}, theta, model)
    with pytest.raises(ValueError, match="kinds"):
        dead_units(model, torch.randn(4, 3))


def test_two_task_drift_reports_dead_units_and_where_the_drift_went():
    g = torch.Generator().manual_seed(0)
    xa = torch.rand(60, 20, generator=g) * (torch.arange(20) < 10)  # digit "A" lights the first half
    xb = torch.rand(60, 20, generator=g) * (torch.arange(20) >= 10)
    ta = datasets.Task("A", xa, None, xa, None, dataset="toy")
    tb = datasets.Task("B", xb, None, xb, None, dataset="toy")
    model = AutoEncoder(in_features=20, hidden=(16,), code=4, seed=0)
    r = two_task_drift(model, ta, tb, Consolidation("mas", lam=1e4), epochs=30, lr=1e-2, batch_size=20)
    assert set(r) >= {"a_before", "a_after", "b_after", "dead", "revived", "drift"}
    assert all(0 <= r["revived"][k] <= r["dead"][k] <= r["units"][k] for k in r["dead"])
    d = r["drift"]
    assert 0 <= d["blind_drift_share"] <= 1 and 0 <= d["blind_fraction"] <= 1 and d["drift"] > 0
    # the importance is zero exactly on what task A never touches: B's input half feeds weights that are blind
    assert d["rows"][0]["name"] == "encoder.0.weight" and d["rows"][0]["blind_fraction"] >= 0.5 - 1e-9



def _net_with_dead_units():
    """5 → 8 → 5 ReLU net whose hidden units 0–2 never fire on inputs in [0, 1]^5 (bias −50)."""
    torch.manual_seed(1)
    model = nn.Sequential(nn.Linear(5, 8), nn.ReLU(), nn.Linear(8, 5)).double()
    with torch.no_grad():
        model[0].bias[:3] = -50.0
    x = torch.rand(40, 5, dtype=torch.float64)
    return model, x


def test_blind_reset_undoes_a_change_made_only_on_blind_weights():
    from scpviz import importance
    from scpviz.teaching.diagnostics import blind_reset_test

    model, x = _net_with_dead_units()
    gamma = importance.mas_importance(model, x)
    # the dead units' incoming weights, biases and outgoing weights get exactly zero importance
    assert torch.count_nonzero(gamma["0.weight"][:3]) == 0 and torch.count_nonzero(gamma["0.bias"][:3]) == 0
    assert torch.count_nonzero(gamma["2.weight"][:, :3]) == 0 and torch.count_nonzero(gamma["2.weight"][:, 3:]) > 0
    theta = {n: p.detach().clone() for n, p in model.named_parameters()}
    with torch.no_grad():   # revive unit 0 and give the dead units' outputs weight: only blind entries move
        model[0].bias[0] += 60.0
        model[2].weight[:, :3] += 0.5
    r = blind_reset_test(model, gamma, theta, x, "reconstruction")
    anchor = (nn.Sequential(*[m for m in model]))  # evaluate θ* by hand
    with torch.no_grad():
        ref = {n: p.detach().clone() for n, p in model.named_parameters()}
        for n, p in anchor.named_parameters():
            p.copy_(theta[n])
        want_anchor = (anchor(x) - x).abs().sum(1).mean().item()
        for n, p in anchor.named_parameters():
            p.copy_(ref[n])
        want_now = (anchor(x) - x).abs().sum(1).mean().item()
    assert r["anchor"] == pytest.approx(want_anchor, rel=1e-12) and r["now"] == pytest.approx(want_now, rel=1e-12)
    assert r["now"] > r["anchor"] + 1.0           # the change hurt the old task
    assert r["blind_reset"] == pytest.approx(r["anchor"], rel=1e-12)   # blind reset undoes all of it
    assert r["seen_reset"] == pytest.approx(r["now"], rel=1e-12)       # resetting the rest undoes nothing
    assert r["recovered"] == pytest.approx(1.0)
    assert r["n_blind"] + r["n_seen"] == sum(p.numel() for p in model.parameters())
    assert torch.equal(model[0].bias, ref["0.bias"])                  # the model itself is untouched


def test_blind_reset_leaves_a_change_on_seen_weights():
    from scpviz import importance
    from scpviz.teaching.diagnostics import blind_reset_test

    model, x = _net_with_dead_units()
    gamma = importance.mas_importance(model, x)
    theta = {n: p.detach().clone() for n, p in model.named_parameters()}
    with torch.no_grad():
        model[2].weight[:, 3:] += 0.3   # live units' outgoing weights: all seen
    r = blind_reset_test(model, gamma, theta, [x, x[:10]], "reconstruction")
    assert r["seen_reset"] == pytest.approx(r["anchor"], rel=1e-12)
    assert r["blind_reset"] == pytest.approx(r["now"], rel=1e-12)
    assert r["recovered"] == pytest.approx(0.0, abs=1e-12)
    with pytest.raises(ValueError, match="importance names"):
        blind_reset_test(model, {"nope": torch.ones(1)}, theta, x)
    with pytest.raises(ValueError, match="rel_tol"):
        blind_reset_test(model, gamma, theta, x, rel_tol=-1.0)
