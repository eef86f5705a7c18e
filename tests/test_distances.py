import numpy as np
import pytest
import scipy.stats
import torch

from scpviz import distances as D

TAUS = [-2.0, -0.7, -0.2, 0.0, 0.1, 0.5, 0.9, 1.0, 1.3, 3.0]


@pytest.mark.parametrize("width", [0.5, 1.0, 2.0])
def test_box_landscape_matches_closed_forms(width):
    taus = np.array(TAUS) * width
    got = D.box_landscape(taus, width=width)
    want = D.box_closed_forms(taus, width=width)
    for key in ("JS", "W1", "W2", "C1", "C2"):
        # grid of 8001 points: edges cost O(dx) ~ 1e-3 * width
        np.testing.assert_allclose(got[key], want[key], atol=2e-3 * max(1.0, width), err_msg=key)


def test_js_is_flat_once_supports_separate():
    got = D.box_landscape([1.2, 1.8, 2.5])
    assert np.allclose(got["JS"], np.sqrt(np.log(2)), atol=1e-12)
    assert np.all(np.diff(got["C2"]) > 0) and np.all(np.diff(got["W1"]) > 0)


def test_cramer_against_independent_quadrature():
    # two Gaussians: CDFs from scipy, integral by scipy.integrate.quad
    from scipy.integrate import quad

    x = np.linspace(-8, 10, 20001)
    p0, p1 = scipy.stats.norm.pdf(x, 0, 1), scipy.stats.norm.pdf(x, 1.5, 0.7)
    for p in (1, 2, 3):
        ref = quad(lambda t: abs(scipy.stats.norm.cdf(t, 0, 1) - scipy.stats.norm.cdf(t, 1.5, 0.7)) ** p,
                   -12, 14, limit=200)[0] ** (1 / p)
        assert abs(D.cramer(p0, p1, x, p=p) - ref) < 1e-6


def test_wasserstein_gaussians_closed_form():
    # W2 between 1-D Gaussians: sqrt((m0-m1)^2 + (s0-s1)^2)
    x = np.linspace(-10, 12, 20001)
    p0, p1 = scipy.stats.norm.pdf(x, 0, 1), scipy.stats.norm.pdf(x, 2, 0.5)
    assert abs(D.wasserstein(p0, p1, x, p=2) - np.sqrt(4 + 0.25)) < 2e-3
    assert abs(D.wasserstein(p0, p1, x, p=1) - D.cramer(p0, p1, x, p=1)) < 2e-3


def test_grid_densities_are_normalised():
    x = np.linspace(-1, 3, 2001)
    box = ((x >= 0) & (x <= 1)).astype(float)
    assert D.cramer(3 * box, box, x) == pytest.approx(0.0, abs=1e-12)
    assert D.cramer(7 * np.roll(box, 500), box, x, p=1) == pytest.approx(1.0, abs=1e-3)


def test_torch_inputs_give_differentiable_tensors():
    x = torch.linspace(-9, 10, 8001, dtype=torch.float64)
    mu = torch.tensor(0.3, dtype=torch.float64, requires_grad=True)
    p1 = torch.exp(-0.5 * (x - mu) ** 2)
    p0 = torch.exp(-0.5 * x ** 2)
    c = D.cramer(p0, p1, x, p=1)
    assert isinstance(c, torch.Tensor)
    c.backward()
    # C1 of a shift = |mu| -> derivative 1
    assert mu.grad.item() == pytest.approx(1.0, abs=1e-3)


@pytest.mark.parametrize("seed", range(5))
def test_cramer_samples_scipy_identities(seed):
    rng = np.random.default_rng(seed)
    u, v = rng.normal(size=57), rng.normal(0.3, 2.0, size=31)
    uw, vw = rng.random(57), rng.random(31)
    assert D.cramer_samples(u, v, p=1) == pytest.approx(scipy.stats.wasserstein_distance(u, v), rel=1e-12)
    assert np.sqrt(2) * D.cramer_samples(u, v, p=2) == pytest.approx(scipy.stats.energy_distance(u, v), rel=1e-12)
    assert D.cramer_samples(u, v, p=1, u_weights=uw, v_weights=vw) == pytest.approx(
        scipy.stats.wasserstein_distance(u, v, uw, vw), rel=1e-12)
    assert np.sqrt(2) * D.cramer_samples(u, v, p=2, u_weights=uw, v_weights=vw) == pytest.approx(
        scipy.stats.energy_distance(u, v, uw, vw), rel=1e-12)


def test_cramer_samples_brute_force_p3():
    rng = np.random.default_rng(1)
    u, v = rng.normal(size=20), rng.normal(size=15)
    t = np.linspace(-6, 6, 200001)
    Fu = (u[None, :] <= t[:, None]).mean(1)
    Fv = (v[None, :] <= t[:, None]).mean(1)
    ref = (np.abs(Fu - Fv) ** 3).sum() * (t[1] - t[0])
    assert D.cramer_samples(u, v, p=3) == pytest.approx(ref ** (1 / 3), rel=1e-3)


def test_cramer_samples_batched_equals_rows():
    rng = np.random.default_rng(2)
    U, V = rng.normal(size=(4, 30)), rng.normal(size=(4, 20))
    batched = D.cramer_samples(U, V)
    assert np.allclose(batched, [D.cramer_samples(U[i], V[i]) for i in range(4)], rtol=1e-12)


@pytest.mark.parametrize("seed", range(5))
def test_metric_properties(seed):
    rng = np.random.default_rng(seed)
    a, b, c = rng.normal(size=40), rng.normal(1, 2, size=50), rng.exponential(size=30)
    for p in (1, 2, 3):
        ab, ba = D.cramer_samples(a, b, p=p), D.cramer_samples(b, a, p=p)
        assert ab == pytest.approx(ba, rel=1e-12)
        assert ab <= D.cramer_samples(a, c, p=p) + D.cramer_samples(c, b, p=p) + 1e-12
    X, Y, Z = rng.normal(size=(60, 3)), rng.normal(size=(50, 3)) + 1, rng.normal(size=(40, 3)) * 2
    s = D.random_slices(200, 3, seed=seed).numpy()
    xy = D.sliced_cramer(X, Y, slices=s)
    assert xy == pytest.approx(D.sliced_cramer(Y, X, slices=s), rel=1e-12)
    assert xy <= D.sliced_cramer(X, Z, slices=s) + D.sliced_cramer(Z, Y, slices=s) + 1e-12


def test_random_slices_unit_norm_and_seeded():
    s = D.random_slices(500, 7, seed=3)
    assert s.shape == (500, 7)
    assert torch.allclose(s.norm(dim=1), torch.ones(500, dtype=torch.float64), atol=1e-12)
    assert torch.equal(s, D.random_slices(500, 7, seed=3)) and not torch.equal(s, D.random_slices(500, 7, seed=4))
    # uniform on the sphere: mean ~ 0, covariance ~ I/K
    big = D.random_slices(200000, 4, seed=0)
    assert big.mean(0).abs().max() < 0.01
    assert torch.allclose(big.T @ big / len(big), torch.eye(4, dtype=torch.float64) / 4, atol=0.01)


def test_radon_slices_brute_force():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(10, 3))
    s = D.random_slices(4, 3, seed=0)
    R = D.radon_slices(X, s)
    for l in range(4):
        for n in range(10):
            assert R[l, n] == pytest.approx(float(np.dot(s[l].numpy(), X[n])), rel=1e-12)


def test_sliced_cramer_equals_loop_over_slices():
    rng = np.random.default_rng(0)
    X, Y = rng.normal(size=(80, 5)), rng.normal(size=(70, 5)) + 0.3
    s = D.random_slices(25, 5, seed=1).numpy()
    loop = np.mean([D.cramer_samples(X @ xi, Y @ xi) ** 2 for xi in s]) ** 0.5
    assert D.sliced_cramer(X, Y, slices=s) == pytest.approx(loop, rel=1e-12)


def test_sliced_cramer_zero_and_monotone_in_shift():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 4))
    assert D.sliced_cramer(X, X.copy(), seed=0) == 0.0
    direction = rng.normal(size=4)
    direction /= np.linalg.norm(direction)
    vals = [D.sliced_cramer(X, X + a * direction, n_slices=200, seed=0) for a in (0.05, 0.1, 0.3, 0.6, 1.0, 2.0)]
    assert np.all(np.diff(vals) > 0)


def test_directions_2d_quadrature_matches_monte_carlo():
    rng = np.random.default_rng(0)
    X, Y = rng.normal(size=(200, 2)), rng.normal(size=(200, 2)) @ np.diag([2.0, 0.5])
    quad = float(D.sliced_cramer(X, Y, slices=D.directions_2d(720)))
    mc = D.sliced_cramer(X, Y, n_slices=20000, seed=0)
    assert mc == pytest.approx(quad, rel=0.01)


def test_float32_tensors_stay_float32():
    X = torch.randn(100, 3)
    out = D.sliced_cramer(X, X + 1, seed=0)
    assert out.dtype == torch.float32 and out > 0


# ----------------------------------------------------------------------------- bad input
X1 = np.linspace(0, 1, 11)
OK = np.ones(11)


@pytest.mark.parametrize("call,match", [
    (lambda: D.cramer(OK, np.ones(10), X1), "p1 has 10 values"),
    (lambda: D.cramer(OK, OK, X1[::-1]), "strictly increasing"),
    (lambda: D.cramer(-OK, OK, X1), "p0 has negative"),
    (lambda: D.cramer(OK, 0 * OK, X1), "p1 is zero everywhere"),
    (lambda: D.cramer(OK, OK, X1, p=0.5), "p=0.5"),
    (lambda: D.wasserstein(OK, OK, X1, p=0), "p=0"),
    (lambda: D.js_distance(np.r_[np.nan, OK[1:]], OK, X1), "p0 contains NaN"),
    (lambda: D.cramer_samples([1.0, np.nan], [0.0]), "u contains NaN"),
    (lambda: D.cramer_samples([], [0.0]), "at least one sample"),
    (lambda: D.cramer_samples([0.0, 1.0], [0.0], u_weights=[1.0]), "u_weights has 1"),
    (lambda: D.random_slices(0, 3), "n_slices=0"),
    (lambda: D.sliced_cramer(np.ones((4, 2)), np.ones((4, 3))), "different dimensions"),
    (lambda: D.sliced_cramer(np.ones((4, 2)), np.ones((4, 2)), n_slices=0), "n_slices=0"),
    (lambda: D.sliced_cramer(np.ones((4, 2)), np.ones((4, 2)), slices=np.ones((3, 2))), "unit vectors"),
    (lambda: D.sliced_cramer(np.ones((4, 2)), np.ones((4, 2)), slices=np.ones((3, 3))), r"shape \(n_slices, 2\)"),
    (lambda: D.sliced_cramer(np.ones((4, 2)), np.ones((4, 2)), p=0), "p=0"),
    (lambda: D.shape_density("triangle", X1), "shape='triangle'"),
])
def test_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()
