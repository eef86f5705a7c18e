"""Agreement of importances (Figure 3b): the KS distance and histogram overlap of standardised log-importances
against brute-force loops, invariance to λ and powers, and the paper's reading on a case built to have it."""
import itertools

import numpy as np
import pytest
import torch

from scpviz.importance import rank_agreement, shape_agreement


def _imp(values, seed=0):
    v = torch.as_tensor(values, dtype=torch.float64)
    return {"layer.weight": v[:-3].reshape(-1), "layer.bias": v[-3:]}


def _brute(a, b, bins):
    """KS distance as the largest gap between the two empirical CDFs at every observed value, and the overlap as a
    loop over bins — written without scipy or vectorised numpy."""
    za, zb = [(np.log10(x) - np.log10(x).mean()) / np.log10(x).std() for x in (a, b)]
    ks = 0.0
    for t in np.concatenate([za, zb]):
        ks = max(ks, abs(sum(1 for v in za if v <= t) / len(za) - sum(1 for v in zb if v <= t) / len(zb)))
    lo, hi = min(za.min(), zb.min()), max(za.max(), zb.max())
    width = (hi - lo) / bins
    overlap = 0.0
    for k in range(bins):
        left, right = lo + k * width, lo + (k + 1) * width
        inside = (lambda v: left <= v < right) if k < bins - 1 else (lambda v: left <= v <= right)
        overlap += min(sum(map(inside, za)) / len(za), sum(map(inside, zb)) / len(zb))
    return ks, overlap


def test_ks_and_overlap_against_loops():
    rng = np.random.default_rng(0)
    vals = {"a": rng.lognormal(0, 1, 83), "b": rng.lognormal(2, 3, 83), "c": rng.gamma(0.5, 1, 83)}
    got = shape_agreement({k: _imp(v) for k, v in vals.items()}, bins=12)
    for a, b in itertools.combinations(vals, 2):
        ks, overlap = _brute(vals[a], vals[b], bins=12)
        assert got[(a, b)]["ks"] == pytest.approx(ks, abs=1e-12)
        assert got[(a, b)]["overlap"] == pytest.approx(overlap, abs=1e-9)
        assert got[(a, b)]["spearman"] == rank_agreement({a: _imp(vals[a]), b: _imp(vals[b])})[(a, b)]
    assert got["kept"] == 1.0


def test_a_lambda_or_a_power_leaves_the_shape_alone_and_another_distribution_does_not():
    rng = np.random.default_rng(1)
    x = rng.lognormal(0, 1.5, 2000)
    same = shape_agreement({"x": _imp(x), "lam": _imp(1e6 * x), "pow": _imp(x ** 2.5)})
    for pair in (("x", "lam"), ("x", "pow"), ("lam", "pow")):   # equal up to rounding: a tie may flip, 1/n
        assert same[pair]["ks"] <= 1 / 2000 + 1e-12 and same[pair]["overlap"] == pytest.approx(1.0, abs=2 / 2000)
    other = shape_agreement({"x": _imp(x), "u": _imp(10 ** rng.uniform(-3, 3, 2000))})[("x", "u")]
    assert other["ks"] > 0.05 and other["overlap"] < 0.9                     # a log-uniform is not a log-normal


def test_zeros_are_left_out_and_bad_input_is_refused():
    a = _imp([0.0, 1.0, 2.0, 4.0, 8.0, 16.0])
    b = _imp([5.0, 1.0, 2.0, 4.0, 8.0, 16.0])
    r = shape_agreement({"a": a, "b": b}, bins=5)
    assert r["kept"] == pytest.approx(5 / 6) and r[("a", "b")]["ks"] == 0.0
    with pytest.raises(ValueError, match="bins=1 must be an integer >= 2"):
        shape_agreement({"a": a, "b": b}, bins=1)
    with pytest.raises(ValueError, match="at least two importances"):
        shape_agreement({"a": a})
