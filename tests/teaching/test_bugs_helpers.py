"""Helpers behind notebook 05: J̄, Γ from J̄, full matrices, bug gallery, the training loop, the MLP."""
import numpy as np
import pytest
import torch
from torch import nn

from scpviz import datasets, importance, models, training
from scpviz.consolidation import Consolidation, merge_weights
from scpviz.distances import random_slices
from scpviz.teaching import bugs


@pytest.fixture
def tiny():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(5, 7), nn.Tanh(), nn.Linear(7, 4)).double()
    return model, torch.randn(30, 5, dtype=torch.float64)


def test_gamma_from_jacobian_equals_scp_importance(tiny):
    model, x = tiny
    jac = importance.mean_jacobian(model, x, batch_size=7)
    sl = random_slices(13, 4, seed=0)
    a = importance.gamma_from_jacobian(jac, sl)
    b = importance.scp_importance(model, x, slices=sl)
    for k in b:
        assert torch.allclose(a[k], b[k], rtol=1e-10, atol=1e-14)
    e = importance.gamma_from_jacobian(jac, exact=True)
    assert torch.allclose(importance.flatten_importance(e),
                          importance.flatten_importance(importance.scp_importance(model, x, exact=True)), rtol=1e-10)


def test_full_matrices_diagonals_and_quadratic_form(tiny):
    model, x = tiny
    sl = random_slices(9, 4, seed=1)
    full = importance.full_importance_matrices(model, x, slices=sl)
    flat = importance.flatten_importance
    assert torch.allclose(full["F"].diagonal(), flat(importance.fisher_importance(model, x)), rtol=1e-9)
    assert torch.allclose(full["Omega"].diagonal(), flat(importance.mas_importance(model, x)), rtol=1e-9)
    assert torch.allclose(full["Gamma"].diagonal(), flat(importance.scp_importance(model, x, slices=sl)), rtol=1e-9)
    # v^T Γ v = (1/L) Σ_l (ξ_l · J̄ v)², with J̄ v from a forward-mode JVP of the mean output
    from torch.func import functional_call, jvp
    params = {k: p.detach() for k, p in model.named_parameters()}
    v = {k: torch.randn_like(p) for k, p in params.items()}
    _, jv = jvp(lambda p: functional_call(model, p, (x,)).mean(0), (params,), (v,))
    vf = flat(v)
    assert (vf @ full["Gamma"] @ vf).item() == pytest.approx(((sl @ jv) ** 2).mean().item(), rel=1e-9)
    assert torch.linalg.matrix_rank(full["Gamma"], rtol=1e-9) <= 4


def test_full_matrices_refuse_big_models():
    with pytest.raises(ValueError, match="small models"):
        importance.full_importance_matrices(models.MLP(hidden=(64,)), torch.zeros(2, 784))


def test_scp_convergence_shapes(tiny):
    model, x = tiny
    res = importance.scp_convergence(importance.mean_jacobian(model, x), [1, 10, 100], n_seeds=4)
    assert res["errors"].shape == (4, 3) and res["mean"][0] > res["mean"][2]


def test_bug_average_first_brute_force(tiny):
    model, x = tiny
    sl = random_slices(6, 4, seed=2)
    got = bugs.scp_average_slices_first(model, x, sl)
    grads = torch.autograd.grad(sl.mean(0) @ model(x).mean(0), list(model.parameters()))
    for g, k in zip(grads, got):
        assert torch.allclose(got[k], g ** 2, rtol=1e-10)


def test_bug_wrong_axis_norms():
    s = bugs.wrong_axis_slices(100, 10, seed=0)
    assert torch.allclose(s.norm(dim=0), torch.ones(10, dtype=torch.float64))
    assert (s.norm(dim=1) ** 2).mean().item() == pytest.approx(10 / 100, rel=1e-12)


def test_bug_per_batch_single_batch_equals_exact_over_one(tiny):
    model, x = tiny
    sl = random_slices(5, 4, seed=3)
    one = bugs.scp_per_batch_divided(model, x, sl, batch_size=len(x))  # B = 1: no bug left
    ref = importance.scp_importance(model, x, slices=sl)
    assert torch.allclose(importance.flatten_importance(one), importance.flatten_importance(ref), rtol=1e-10)


def test_merge_weight_rules():
    assert np.allclose(bugs.merge_weights_sum_of_totals(4), [8, 4, 2, 1])
    assert np.allclose(bugs.merge_weights_gamma_sum(3, 0.5), [0.25, 0.5, 1.0])
    assert np.allclose(bugs.merge_weights_alpha_on_old(3, 0.75), merge_weights(3, 0.25))
    for w in bugs.all_merge_weights(5).values():
        assert len(w) == 5


def test_ratio_statistics_identity(tiny):
    model, x = tiny
    ex = importance.scp_importance(model, x, exact=True)
    st = bugs.ratio_statistics([ex, ex], ex)
    assert st["mean_ratio"] == pytest.approx(1.0) and st["median_cv"] == pytest.approx(0.0, abs=1e-12)


def test_ratio_statistics_single_draw_has_no_spread(tiny):
    """One draw: the mean ratio against a brute-force mean, and no coefficient of variation (not a NaN, no warning)."""
    import warnings

    model, x = tiny
    ex = importance.scp_importance(model, x, exact=True)
    half = {k: 0.5 * v for k, v in ex.items()}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        st = bugs.ratio_statistics([half], ex)
    assert st["mean_ratio"] == pytest.approx(0.5) and st["median_cv"] is None


def test_pool_images():
    x = torch.arange(2 * 784, dtype=torch.float32).reshape(2, 784)
    p = datasets.pool_images(x)
    assert p.shape == (2, 49)
    assert p[0, 0].item() == pytest.approx(x[0].reshape(28, 28)[:4, :4].mean().item())
    with pytest.raises(ValueError, match="factor"):
        datasets.pool_images(x, factor=5)


def _toy_task(n=200, seed=0, shift=0.0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 2, generator=g) + shift
    y = (x[:, 0] - shift > 0).long()
    return datasets.Task(f"toy{seed}", x, y, x, y, dataset="toy")


def test_train_task_learns_and_is_reproducible():
    task = _toy_task()
    m1, m2 = models.MLP(2, (16,), 2, seed=0), models.MLP(2, (16,), 2, seed=0)
    a = training.train_task(m1, task, epochs=30, lr=1e-2, batch_size=20, seed=1, progress=False)
    b = training.train_task(m2, task, epochs=30, lr=1e-2, batch_size=20, seed=1, progress=False)
    assert a["loss"] == b["loss"] and a["loss"][-1] < a["loss"][0]
    assert training.evaluate(m1, task.x_test, task.y_test) > 0.9


def test_train_task_penalty_keeps_weights_close():
    task_a, task_b = _toy_task(seed=0), _toy_task(seed=1, shift=3.0)
    drift = {}
    for lam in (0.0, 100.0):
        m = models.MLP(2, (16,), 2, seed=0)
        training.train_task(m, task_a, epochs=20, lr=1e-2, batch_size=20, progress=False)
        c = Consolidation("mas", lam=lam)
        c.consolidate(m, task_a.x_train)
        training.train_task(m, task_b, epochs=20, lr=1e-2, batch_size=20, consolidation=c, progress=False)
        drift[lam] = sum(((p - c.theta_star[n]) ** 2 * c.importance[n]).sum().item() for n, p in m.named_parameters())
    assert drift[100.0] < 0.2 * drift[0.0]


def test_train_task_bad_input_and_divergence():
    task = _toy_task()
    m = models.MLP(2, (4,), 2, seed=0)
    with pytest.raises(ValueError, match="epochs=0"):
        training.train_task(m, task, epochs=0)
    with pytest.raises(ValueError, match="batch_size=0"):
        training.train_task(m, task, batch_size=0)
    with pytest.raises(ValueError, match="objective"):
        training.train_task(m, task, objective="dice")
    bad = datasets.Task("nan", task.x_train * float("nan"), task.y_train, task.x_test, task.y_test, dataset="toy")
    with pytest.raises(FloatingPointError, match="task 'nan', epoch 1"):
        training.train_task(m, bad, progress=False)


def test_mlp_shapes_and_errors():
    m = models.MLP(seed=0)
    assert sum(p.numel() for p in m.parameters()) == 784 * 1024 + 1024 + 1024 * 512 + 512 + 512 * 256 + 256 + 2570
    assert m(torch.zeros(3, 1, 28, 28)).shape == (3, 10)
    assert len(m.hidden_layers()) == 3
    with pytest.raises(ValueError, match="784 features"):
        m(torch.zeros(2, 100))
    with pytest.raises(ValueError, match="hidden"):
        models.MLP(hidden=(0,))
    a, b = models.MLP(seed=3), models.MLP(seed=3)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
