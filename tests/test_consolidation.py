import pytest
import torch
from torch import nn

from scpviz import consolidation as C
from scpviz.consolidation import Consolidation, merge_weights
from scpviz.distances import random_slices


def mlp(seed=0, dtype=torch.float64):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(4, 7), nn.Tanh(), nn.Linear(7, 3)).to(dtype)


def test_penalty_zero_before_consolidate():
    m = mlp()
    c = Consolidation("scp", lam=5.0)
    assert c.penalty(m).item() == 0.0


def test_penalty_value_brute_force_and_gradcheck():
    m = mlp()
    x = torch.randn(20, 4, dtype=torch.float64)
    c = Consolidation("mas", lam=3.0)
    c.consolidate(m, x)
    with torch.no_grad():
        for p in m.parameters():
            p.add_(0.1 * torch.randn_like(p))
    want = sum((3.0 * c.importance[n] * (p - c.theta_star[n]) ** 2).sum() for n, p in m.named_parameters())
    assert c.penalty(m).item() == pytest.approx(want.item(), rel=1e-12)
    names = list(c.importance)
    params = [p.detach().clone().requires_grad_() for p in m.parameters()]
    gam, th = [c.importance[n] for n in names], [c.theta_star[n] for n in names]
    assert torch.autograd.gradcheck(lambda *ps: C._QuadraticPenalty.apply(3.0, gam, th, *ps), params)


def test_fast_gradient_path_equals_autograd():
    m = mlp()
    x = torch.randn(20, 4, dtype=torch.float64)
    c = Consolidation("scp", lam=2.0, n_slices=10, seed=0)
    c.consolidate(m, x)
    with torch.no_grad():
        for p in m.parameters():
            p.add_(0.1 * torch.randn_like(p))
    m.zero_grad()
    c.penalty(m).backward()
    auto = [p.grad.clone() for p in m.parameters()]
    m.zero_grad(set_to_none=True)
    c.add_penalty_grad_(m)
    for a, p in zip(auto, m.parameters()):
        assert torch.allclose(a, p.grad, rtol=1e-12, atol=1e-15)


def test_eq20_merge_weights_over_tasks(monkeypatch):
    """Feed task t the importance e_t (an indicator) and read off each task's weight after T tasks."""
    m = mlp()
    T, alpha = 5, 0.3
    c = Consolidation("scp", alpha=alpha)
    names = [n for n, _ in m.named_parameters()]
    calls = {"t": 0}

    def fake(model, data):
        t = calls["t"]
        calls["t"] += 1
        return {n: torch.full_like(p, float(10 ** t)) for n, p in model.named_parameters()}

    monkeypatch.setattr(c, "compute_importance", fake)
    for _ in range(T):
        c.consolidate(m, None)
    value = c.importance[names[0]].flatten()[0].item()
    want = sum(w * 10 ** t for t, w in enumerate(merge_weights(T, alpha)))
    assert value == pytest.approx(want, rel=1e-12)
    # weights: first task (1-α)^(T-1), task t>=2 α(1-α)^(T-t); they sum to 1
    w = merge_weights(T, alpha)
    assert w.sum() == pytest.approx(1.0) and w[-1] == pytest.approx(alpha) and w[0] == pytest.approx((1 - alpha) ** 4)


def test_consolidate_stores_theta_star_copy():
    m = mlp()
    c = Consolidation("ewc", lam=1.0)
    c.consolidate(m, torch.randn(8, 4, dtype=torch.float64))
    before = {n: t.clone() for n, t in c.theta_star.items()}
    with torch.no_grad():
        for p in m.parameters():
            p.add_(1.0)
    assert all(torch.equal(before[n], c.theta_star[n]) for n in before)
    assert c.penalty(m).item() > 0


def test_scp_seed_gives_new_slices_per_task():
    m = mlp()
    x = torch.randn(10, 4, dtype=torch.float64)
    c = Consolidation("scp", n_slices=2, seed=0)
    a = c.consolidate(m, x)
    b = c.consolidate(m, x)
    assert not torch.allclose(a["0.weight"], b["0.weight"])


def test_replay_regularizers():
    rng = torch.Generator().manual_seed(0)
    z = torch.randn(50, 3, generator=rng, dtype=torch.float64)
    assert C.kl_replay(z, z).item() == pytest.approx(0.0, abs=1e-15)
    assert C.kl_replay(z + 1.0, z).item() == pytest.approx(0.0, abs=1e-12)  # softmax shift-invariance
    assert C.kl_replay(2 * z, z).item() > 0
    # brute force KL
    p, q = torch.softmax(z, 1), torch.softmax(2 * z, 1)
    assert C.kl_replay(2 * z, z).item() == pytest.approx((p * (p / q).log()).sum(1).mean().item(), rel=1e-12)
    R = torch.tensor([[0.0, -1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 1.0]], dtype=torch.float64)
    assert C.mas_replay(z @ R.T, z).item() == pytest.approx(0.0, abs=1e-12)  # rotation keeps norms
    assert C.mas_replay(1.1 * z, z).item() > 0
    perm = torch.randperm(50, generator=rng)
    sl = random_slices(30, 3, seed=0)
    assert C.sliced_cramer_replay(z[perm], z, slices=sl).item() == pytest.approx(0.0, abs=1e-15)  # same cloud
    assert C.sliced_cramer_replay(z + 0.5, z, slices=sl).item() > 0


@pytest.mark.parametrize("kwargs,match", [
    (dict(method="si"), "method='si'"),
    (dict(lam=-1.0), "lam=-1.0"),
    (dict(lam=float("nan")), "lam=nan"),
    (dict(alpha=1.0), "alpha=1.0"),
    (dict(alpha=-0.1), "alpha=-0.1"),
    (dict(n_slices=0), "n_slices=0"),
    (dict(fisher_labels="x"), "fisher_labels"),
    (dict(neighbourhood=-1), "neighbourhood=-1"),
])
def test_bad_options(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Consolidation(**kwargs)


def test_penalty_on_other_model_raises():
    c = Consolidation("mas")
    c.consolidate(mlp(), torch.randn(6, 4, dtype=torch.float64))
    other = nn.Sequential(nn.Linear(4, 3)).double()
    with pytest.raises(ValueError, match="differ"):
        c.penalty(other)


def test_l2_baseline_is_a_uniform_pull_towards_theta_star():
    import torch
    from scpviz.consolidation import Consolidation
    from scpviz.models import MLP

    net = MLP(4, (3,), 2, seed=0).double()
    cons = Consolidation("l2", lam=0.7)
    cons.consolidate(net, (torch.randn(5, 4, dtype=torch.float64), torch.zeros(5, dtype=torch.long)))
    with torch.no_grad():
        for p in net.parameters():
            p.add_(0.1 * torch.randn_like(p))
    brute = 0.7 * sum(float(((p.detach() - cons.theta_star[n]) ** 2).sum()) for n, p in net.named_parameters())
    assert cons.penalty(net).item() == pytest.approx(brute, rel=1e-12)
    with pytest.raises(ValueError, match="l2"):
        Consolidation("l3")
