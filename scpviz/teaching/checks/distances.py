"""Checkers of the distances between samples (assignment 01): the Cramér distance of two 1-D samples, the
sliced Cramér distance of eq 13, and the Jensen–Shannon distance between two shifted uniform boxes.

The sample distances must be written, not borrowed: while a student's function is checked, scpviz's own
implementations in :mod:`scpviz.distances` refuse to run.
"""

from __future__ import annotations

import math

import torch

from ... import distances
from .common import _call, _close, _diagnose, _forbidden

__all__ = ["check_cramer_samples", "check_sliced_cramer", "check_js_at"]


def check_cramer_samples(fn):
    """``fn(u, v, p=2) -> float``: the p-Cramér distance of two 1-D samples (eq 10) from their empirical CDFs,
    (∫|F_u(t) − F_v(t)|^p dt)^(1/p), exactly (a finite sum over the merged, sorted sample). It must be written,
    not borrowed: during the check, scpviz's own implementation refuses to run.

    Examples
    --------
    >>> def cramer_samples(u, v, p=2):
    ...     t = torch.sort(torch.cat([u, v])).values
    ...     Fu = torch.searchsorted(torch.sort(u).values, t[:-1], right=True) / len(u)
    ...     Fv = torch.searchsorted(torch.sort(v).values, t[:-1], right=True) / len(v)
    ...     return float(((Fu - Fv).abs() ** p * torch.diff(t)).sum() ** (1 / p))
    >>> check_cramer_samples(cramer_samples)
    True
    """
    g = torch.Generator().manual_seed(0)
    u = torch.randn(200, dtype=torch.float64, generator=g)
    cases = [(u, u + 0.7, 1.0, 0.7), (u, u.flip(0), 2.0, 0.0)]
    for p, n in ((1.0, 150), (2.0, 37), (3.0, 90)):
        v = torch.randn(n, dtype=torch.float64, generator=g) * 2 + 0.3
        cases.append((u[:n + 11], v, p, float(distances.cramer_samples(u[:n + 11], v, p=p))))
    hint = ("you called scpviz's own Cramér distance (scpviz.distances); the assignment asks you to write it: sort "
            "the merged sample, evaluate both empirical CDFs between consecutive points, and sum")
    for a, b, p, want in cases:
        what = f"C_{p:g} of samples of sizes {len(a)} and {len(b)}"
        with _forbidden(distances, ["cramer_samples", "cramer_pp_batched", "sliced_cramer"], hint):
            got = float(_call(fn, what, a.clone(), b.clone(), p=p))
        if _close(got, want, 1e-7) or abs(got - want) < 1e-9:
            continue
        t = torch.sort(torch.cat([a, b])).values
        Fa = torch.searchsorted(torch.sort(a).values, t[:-1], right=True) / len(a)
        Fb = torch.searchsorted(torch.sort(b).values, t[:-1], right=True) / len(b)
        d = (Fa - Fb).abs()
        bugs = [
            ("you forgot the 1/p-th root", lambda: float((d ** p * torch.diff(t)).sum())),
            ("you left out the widths of the intervals between consecutive points (torch.diff of the merged sorted "
             "sample): the integral is Σ |F_u − F_v|^p × width", lambda: float((d ** p).sum() ** (1 / p))),
            ("you paired the sorted samples (that is the Wasserstein distance, and needs equal sizes); Cramér "
             "integrates the gap between the two CDFs",
             lambda: float(((torch.sort(a).values - torch.sort(b).values).abs() ** p).mean() ** (1 / p))),
        ]
        _diagnose(got, want, bugs, what, f"got {got:.6g}, expected {want:.6g}")
    return True


def check_sliced_cramer(fn):
    """``fn(X, Y, slices, p=2) -> float``: the Monte-Carlo sliced p-Cramér distance of eq 13,
    (mean over slices of C_p^p)^(1/p), with X (N, d), Y (M, d), slices (L, d) unit rows.

    Examples
    --------
    >>> def sliced_cramer(X, Y, slices, p=2):   # written from the definition, not borrowed from scpviz
    ...     total = 0.0
    ...     for xi in slices:
    ...         u, v = X @ xi, Y @ xi
    ...         t = torch.sort(torch.cat([u, v])).values
    ...         Fu = torch.searchsorted(torch.sort(u).values, t[:-1], right=True) / len(u)
    ...         Fv = torch.searchsorted(torch.sort(v).values, t[:-1], right=True) / len(v)
    ...         total += float(((Fu - Fv).abs() ** p * torch.diff(t)).sum())
    ...     return (total / len(slices)) ** (1 / p)
    >>> check_sliced_cramer(sliced_cramer)
    True
    """
    g = torch.Generator().manual_seed(0)
    for d, n, m, L, p in ((2, 40, 40, 7, 2.0), (5, 30, 45, 20, 1.0), (3, 25, 25, 11, 3.0)):
        X = torch.randn(n, d, generator=g, dtype=torch.float64)
        Y = torch.randn(m, d, generator=g, dtype=torch.float64) * 1.3 + 0.4
        S = distances.random_slices(L, d, seed=L)
        what = f"sliced Cramér with N={n}, M={m}, d={d}, L={L}, p={p:g}"
        with _forbidden(distances, ["sliced_cramer", "sliced_cramer_squared", "cramer_pp_batched", "cramer_samples"],
                        "you called scpviz's own sliced Cramér distance (scpviz.distances); write it from your "
                        "cramer_samples: project on each slice, average C_p^p, take the 1/p-th root"):
            got = float(_call(fn, what, X, Y, S, p=p))
        want = float(distances.sliced_cramer(X, Y, slices=S, p=p))
        if _close(got, want, 1e-6):
            continue
        per_slice = torch.stack([torch.as_tensor(distances.cramer_samples(S[l] @ X.T, S[l] @ Y.T, p=p))
                                 for l in range(L)])
        bugs = [
            ("you averaged C_p over the slices; eq 13 averages C_p^p and then takes the 1/p-th root",
             lambda: float(per_slice.mean())),
            ("you forgot the final 1/p-th root: (mean over slices of C_p^p)^(1/p)",
             lambda: float((per_slice ** p).mean())),
            ("you summed over the slices instead of averaging (divide by L before the root)",
             lambda: float((per_slice ** p).sum() ** (1 / p))),
            ("you used only the first slice; average over all L slices",
             lambda: float(per_slice[0])),
            ("this is the sliced *Wasserstein* distance (sorted samples paired up); Cramér compares the CDFs: "
             "∫|F_X(t) − F_Y(t)|^p dt on each slice",
             lambda: float(((torch.sort(X @ S.T, 0)[0] - torch.sort(Y @ S.T, 0)[0]).abs() ** p).mean() ** (1 / p))),
        ]
        _diagnose(got, want, bugs, what, f"got {got:.6g}, expected {want:.6g}")
    return True


def check_js_at(fn):
    """``fn(tau) -> float``: the Jensen–Shannon distance (square root of the JS divergence, natural log) between
    U[0, 1] and U[τ, τ + 1], for any τ ≥ 0 — overlapping supports included (closed form: √(τ log 2) for τ ≤ 1,
    √log 2 beyond). Computed numerically on a grid, it must agree to 2·10⁻³.

    Examples
    --------
    >>> import numpy as np
    >>> check_js_at(lambda tau: float(np.sqrt(min(tau, 1.0) * np.log(2))))
    True
    """
    for tau in (1.5, 3.0, 0.25, 0.6):
        what = f"JS between U[0, 1] and U[{tau:g}, {tau + 1:g}]"
        got = float(_call(fn, what, tau))
        want = float(distances.box_closed_forms([tau], width=1.0)["JS"][0])
        if abs(got - want) < 2e-3:
            continue
        bugs = [
            ("you returned √log 2 whatever τ is: that holds only once the supports separate (τ ≥ 1); where the "
             "boxes overlap, JS² = τ log 2", lambda: math.sqrt(math.log(2))),
            ("this is the JS divergence; the distance is its square root", lambda: want ** 2),
            ("you used log base 2; use the natural log", lambda: want / math.sqrt(math.log(2))),
        ]
        for hint_, wrong in bugs:
            if abs(got - wrong()) < 2e-3:
                raise AssertionError(f"{what}: {hint_}")
        raise AssertionError(f"{what}: got {got:.6g}, expected {want:.6g}")
    return True
