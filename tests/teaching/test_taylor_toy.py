"""Taylor machinery on functions with known expansions; toy transforms and their invariances; smoothed Cramér."""
import numpy as np
import pytest
import scipy.stats
import torch
from scipy.integrate import quad

from scpviz import importance, models
from scpviz.distances import (
    cramer_samples,
    random_slices,
    sliced_cramer,
    sliced_cramer_squared,
)
from scpviz.teaching import taylor, toy


def test_directional_profile_on_a_known_quadratic():
    A = torch.tensor([[2.0, 0.5], [0.5, 1.0]], dtype=torch.float64)
    R = lambda th: 0.5 * th @ A @ th
    theta = torch.zeros(2, dtype=torch.float64)
    v = torch.tensor([0.6, 0.8], dtype=torch.float64)
    eps = np.logspace(-4, 0, 5)
    prof = taylor.directional_profile(R, theta, v, eps)
    assert np.allclose(prof, 0.5 * eps ** 2 * taylor.quadratic_form(A, v), rtol=1e-12)
    assert np.allclose(taylor.local_slopes(eps, prof), 2.0)
    assert torch.allclose(taylor.exact_hessian(R, theta), A)
    assert np.allclose(taylor.local_slopes(eps, np.abs(eps) * 3), 1.0)


def test_diagonal_ratio_is_one_for_diagonal_matrices():
    D = torch.diag(torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64))
    assert np.allclose(taylor.diagonal_ratio(D, taylor.random_unit_directions(5, 3)), 1.0)


@pytest.fixture(scope="module")
def small():
    m = models.MLP(in_features=4, hidden=(6,), n_classes=3, seed=0).double()
    x = torch.randn(30, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    return m, x, taylor.FlatModel(m)


def test_kl_and_mas_hessians_equal_fisher_and_omega(small):
    m, x, flat = small
    full = importance.full_importance_matrices(m, x, exact=True)
    for kind, key in (("kl", "F"), ("mas", "Omega")):
        H = taylor.exact_hessian(taylor.replay_regularizer(flat, x, kind), flat.theta)
        assert ((H - full[key]).norm() / full[key].norm()).item() < 1e-10


def test_smoothed_sc_translation_matches_weighted_gamma(small):
    m, x, flat = small
    sl = random_slices(10, 3, seed=0)
    H = taylor.exact_hessian(taylor.replay_regularizer(flat, x, "sc", slices=sl, bandwidth=0.3), flat.theta)
    J = taylor.flat_jacobian(flat, importance.mean_jacobian(m, x))
    w = taylor.slice_density_weights(m(x).detach(), sl, 0.3)
    Gw = J.T @ (sl.T @ (w[:, None] * sl) / len(sl)) @ J
    for d in taylor.translation_directions(flat, "2.bias", n=3):
        assert 0.5 * taylor.quadratic_form(H, d) == pytest.approx(taylor.quadratic_form(Gw, d), rel=1e-8)
    for d in taylor.mean_preserving_directions(J, n=3):
        assert abs(taylor.quadratic_form(J.T @ J, d)) < 1e-10 * taylor.quadratic_form(H, d)


def test_exact_sc_has_a_cusp(small):
    m, x, flat = small
    R = taylor.replay_regularizer(flat, x, "sc", slices=random_slices(10, 3, seed=0))
    eps = np.logspace(-7, -4, 4)
    prof = taylor.directional_profile(R, flat.theta, taylor.random_unit_directions(1, flat.theta.numel())[0], eps)
    assert np.allclose(taylor.local_slopes(eps, prof), 1.0, atol=0.02)


def test_bad_kind_and_names(small):
    m, x, flat = small
    with pytest.raises(ValueError, match="kind"):
        taylor.replay_regularizer(flat, x, "js")
    with pytest.raises(ValueError, match="slices"):
        taylor.replay_regularizer(flat, x, "sc")
    with pytest.raises(ValueError, match="name='nope'"):
        flat.index_of("nope")


@pytest.mark.parametrize("h", [0.5, 0.1])
def test_smoothed_cramer_against_quadrature(h):
    rng = np.random.default_rng(0)
    u, v = rng.normal(size=6), rng.normal(1.0, 0.5, size=4)
    ref = quad(lambda t: (scipy.stats.norm.cdf((t - u) / h).mean() - scipy.stats.norm.cdf((t - v) / h).mean()) ** 2,
               -12, 12, limit=400, points=list(u) + list(v))[0]
    assert cramer_samples(u, v, bandwidth=h) ** 2 == pytest.approx(ref, rel=1e-7)


def test_smoothed_cramer_converges_to_exact_as_h_shrinks():
    rng = np.random.default_rng(1)
    u, v = rng.normal(size=20), rng.normal(0.5, 1.0, size=15)
    exact = cramer_samples(u, v)
    errs = [abs(cramer_samples(u, v, bandwidth=h) - exact) for h in (0.3, 0.03, 0.003, 0.0003)]
    assert all(a > b for a, b in zip(errs, errs[1:])) and errs[-1] < 1e-3
    X, Y = rng.normal(size=(30, 2)), rng.normal(size=(25, 2)) + 0.3
    s = random_slices(8, 2, seed=0).numpy()
    assert sliced_cramer(X, Y, slices=s, bandwidth=1e-4) == pytest.approx(sliced_cramer(X, Y, slices=s), rel=1e-3)
    assert sliced_cramer_squared(X, Y, slices=s) == pytest.approx(sliced_cramer(X, Y, slices=s) ** 2, rel=1e-12)
    with pytest.raises(ValueError, match="bandwidth"):
        cramer_samples(u, v, bandwidth=-1.0)
    with pytest.raises(ValueError, match="p=2"):
        cramer_samples(u, v, p=1, bandwidth=0.1)


def _phi():
    X = toy.gaussian_mixture_2d(60, seed=2)
    return torch.tensor(X) * 1.3 + torch.tensor([0.4, -0.2], dtype=torch.float64)


def test_toy_transforms_leave_the_invariant_regularizer_at_zero():
    phi = _phi()
    rot = toy.replay_values(phi, toy.transform_outputs(phi, rotation=0.9))
    assert abs(rot["MAS"]) < 1e-12 and rot["KL (EWC)"] > 1e-4 and rot["SC₂² (SCP)"] > 1e-4
    perm = toy.replay_values(phi, toy.transform_outputs(phi, permute=1.0))
    assert abs(perm["SC₂² (SCP)"]) < 1e-12 and perm["MAS"] > 1e-4 and perm["KL (EWC)"] > 1e-4
    tr = toy.replay_values(phi, toy.transform_outputs(phi, translation=(0.7, 0.7)))
    assert abs(tr["KL (EWC)"]) < 1e-12 and tr["MAS"] > 1e-4 and tr["SC₂² (SCP)"] > 1e-4
    same = toy.transform_outputs(phi, permute=1.0)
    assert sorted(map(tuple, same.tolist())) == sorted(map(tuple, phi.tolist()))
    with pytest.raises(ValueError, match="permute"):
        toy.transform_outputs(phi, permute=1.5)


def test_within_class_permutation_collapse_and_the_gamma_form():
    phi = _phi()
    labels = torch.arange(len(phi)) % 3
    within = toy.transform_outputs(phi, permute=1.0, labels=labels)
    for k in range(3):   # each class keeps its own set of outputs
        a, b = phi[labels == k], within[labels == k]
        assert sorted(map(tuple, a.tolist())) == sorted(map(tuple, b.tolist())) and not torch.equal(a, b)
    coll = toy.transform_outputs(phi, collapse=1.0)
    assert torch.allclose(coll, phi.mean(0).expand_as(phi))
    v = toy.replay_values(phi, coll)
    # eq 19's form only sees the mean: zero for a collapse that destroys the distribution (SC₂² > 0)
    assert abs(v["Γ form (eq 19)"]) < 1e-24 and v["SC₂² (SCP)"] > 1e-3
    shift = torch.tensor([0.3, -0.4], dtype=torch.float64)
    tr = toy.replay_values(phi, phi + shift)
    assert tr["Γ form (eq 19)"] == pytest.approx(float(shift.norm() ** 2) / 2, rel=1e-9)   # closed form, K = 2
    # accuracy: a brute-force loop
    y = (phi[:, 0] < phi[:, 1]).long()
    y[:5] = 1 - y[:5]
    assert toy.output_accuracy(phi, y) == pytest.approx(sum(int(phi[i].argmax() == y[i]) for i in range(len(y))) / len(y))
    with pytest.raises(ValueError, match="collapse"):
        toy.transform_outputs(phi, collapse=2.0)
    with pytest.raises(ValueError, match="labels"):
        toy.transform_outputs(phi, permute=0.5, labels=labels[:3])


def test_riemannian_plane_and_optima():
    X, c = toy.gaussian_mixture_2d(80, seed=0, return_labels=True)
    xa, ya = torch.tensor(X), torch.tensor(c % 2)
    net = models.MLP(2, (4,), 2, seed=0).double()
    plane = toy.riemannian_plane(net, xa, xa, (ya + 1) % 2, n=11, extent=2.0)
    assert plane["loss_b"].shape == (11, 11) and len(plane["quad"]) == 6
    for name, P in plane["plane"].items():
        assert np.all(np.linalg.eigvalsh(P) > -1e-12), name  # PSD
        if name.endswith("full"):
            assert np.trace(P) == pytest.approx(1.0)
    o0 = toy.penalised_optima(plane, 0.0)
    assert all(np.allclose(v, o0["task B alone"]) for v in o0.values())
    big = toy.penalised_optima(plane, 1e6)
    assert all(np.allclose(v, (0.0, 0.0)) for k, v in big.items() if k.endswith("full") and np.linalg.det(
        plane["plane"][k]) > 1e-9)
    with pytest.raises(ValueError, match="lam"):
        toy.penalised_optima(plane, -1)
