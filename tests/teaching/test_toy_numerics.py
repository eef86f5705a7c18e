import numpy as np
import pytest

from scpviz import distances
from scpviz.teaching import toy
from scpviz.teaching.numerics import loglog_slope


def test_loglog_slope_exact_power_law():
    x = np.logspace(0, 3, 10)
    assert loglog_slope(x, 2.5 * x ** 1.7) == pytest.approx(1.7, abs=1e-12)
    with pytest.raises(ValueError, match="positive"):
        loglog_slope([1, 2], [0, 1])


def test_transform_2d_brute_force():
    X = toy.gaussian_mixture_2d(5, seed=1)
    a = 0.7
    Y = toy.transform_2d(X, angle=a, shift=(1.0, -2.0), scale=2.0)
    for x, y in zip(X, Y):
        rx = np.array([np.cos(a) * x[0] - np.sin(a) * x[1], np.sin(a) * x[0] + np.cos(a) * x[1]])
        assert np.allclose(y, 2 * rx + [1.0, -2.0])


def test_mixture_seeded():
    assert np.array_equal(toy.gaussian_mixture_2d(50, seed=3), toy.gaussian_mixture_2d(50, seed=3))
    with pytest.raises(ValueError, match="n=0"):
        toy.gaussian_mixture_2d(0)


def test_sliced_estimates_sd_shrinks_like_inverse_sqrt_L():
    X = toy.gaussian_mixture_2d(300, seed=0)
    Y = toy.transform_2d(X, angle=0.6, shift=(0.4, 0.0))
    res = distances.sliced_cramer_estimates(X, Y, [10, 30, 100, 300, 1000], n_seeds=30, seed=0)
    assert res["estimates"].shape == (30, 5)
    assert loglog_slope(res["L"], res["sd"]) == pytest.approx(-0.5, abs=0.12)
    ref = float(distances.sliced_cramer(X, Y, slices=distances.directions_2d(2000)))
    assert abs(res["mean"][-1] - ref) < 3 * res["sd"][-1] + 1e-3
    with pytest.raises(ValueError, match="n_seeds"):
        distances.sliced_cramer_estimates(X, Y, [1, 2], n_seeds=1)


def test_stability_plasticity_sweep_shares_task_a_and_the_l2_pull_holds_a():
    from scpviz import datasets, models
    from scpviz.teaching.forgetting import stability_plasticity_sweep

    ds = datasets.load_digits_fallback()
    a, b = datasets.permuted_mnist_tasks(ds, n_tasks=2, seed=0, n_train=300, n_test=200)
    runs = stability_plasticity_sweep(lambda: models.MLP(784, (32,), 10, seed=0), a, b, [0.0, 1000.0],
                                      penalties=("l2",), epochs=3, lr=1e-2, progress=False)
    free, held = runs["l2"][0.0].final_matrix(), runs["l2"][1000.0].final_matrix()
    assert free[0, 0] == held[0, 0]                        # the same task-A phase for every λ
    assert held[0, 0] - held[1, 0] < 0.02 < free[0, 0] - free[1, 0]   # a huge pull keeps A, no pull forgets
    assert held[1, 1] < 0.3 < free[1, 1]                   # ... and learns nothing of B
    with pytest.raises(ValueError, match="lams"):
        stability_plasticity_sweep(lambda: None, a, b, [-1.0])
