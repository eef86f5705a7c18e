"""The notebooks' "Your turn" exercises: the runner that prints a verdict, and the checkers it runs.

:func:`try_exercise` runs a checker on the function a notebook cell defines and prints whether it is not
attempted yet, wrong (with the checker's hint) or right, so that "Run All" goes through; :func:`reveal` prints a
*predict, then run* exercise's measured values next to the student's guesses. The checkers here are the
notebooks' small exercises: average forgetting (00), a Cramér distance from two CDFs (01), the spread of Γ_L
(02), the KL and MAS replay regularizers (03, 04), choosing λ on validation (06) and the share of blind weights
(07). The eq 20 merge of notebook 05 is checked by :mod:`.consolidation`.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from ..numerics import gamma_relative_sd
from .common import _call, _close, _compare_number, _diagnose

__all__ = ["try_exercise", "reveal", "check_forgetting", "check_cramer_from_cdfs", "check_gamma_relative_sd",
           "check_kl_replay", "check_mas_replay", "check_choose_lambda", "check_blind_fraction"]


def try_exercise(checker, fn):
    """Run a notebook exercise: check ``fn`` with ``checker`` and print the verdict instead of raising.

    A notebook's "Your turn" cell defines a function whose body starts as ``raise NotImplementedError``;
    "Run All" must still run the notebook top to bottom, so this prints (on stdout) one of: the exercise is
    not attempted yet, the checker's hint naming the likely mistake, or that the answer is right.

    Returns
    -------
    bool or None
        True when right, False when wrong, None when not attempted.

    Examples
    --------
    >>> def forgetting(acc):
    ...     raise NotImplementedError("your turn")
    >>> try_exercise(check_forgetting, forgetting)
    Not attempted yet: replace `raise NotImplementedError` with your code and run this cell again (the solution is one click away, below).
    """
    try:
        checker(fn)
    except NotImplementedError:
        pass
    except AssertionError as e:
        if isinstance(e.__cause__, NotImplementedError):
            pass
        else:
            print(f"Not yet. {e}")
            return False
    else:
        print("Right: your answer passes every check.")
        return True
    print("Not attempted yet: replace `raise NotImplementedError` with your code and run this cell again "
          "(the solution is one click away, below).")
    return None


def reveal(guesses, actual, unit=""):
    """The answer of a *predict, then run* exercise, next to the student's guesses (None: no guess written).

    Parameters
    ----------
    guesses, actual : dict
        {what: number}; ``actual`` holds the measured values, ``guesses`` the student's (same keys).
    unit : str
        Printed after each number.

    Examples
    --------
    >>> reveal({"task B": 60}, {"task B": 91.26}, unit=" %")
    task B: measured 91.3 %, your guess 60 %
    """
    for k, v in actual.items():
        g = guesses.get(k)
        yours = ("no guess written" if g is None else
                 f"your guess {g:g}{unit}" if isinstance(g, (int, float)) else f"your guess {g}")
        print(f"{k}: measured {v:.3g}{unit}, {yours}")


def check_forgetting(fn):
    """``fn(acc) -> float``: average forgetting (Chaudhry et al., 2018) of a T × T accuracy matrix with
    acc[i, j] the accuracy on task j after training task i (entries with j > i are NaN): the mean over the old
    tasks j < T − 1 of max_{l < T−1} acc[l, j] − acc[T−1, j].

    Examples
    --------
    >>> import numpy as np
    >>> def forgetting(acc):
    ...     T = len(acc)
    ...     return float(np.mean([np.nanmax(acc[:T - 1, j]) - acc[T - 1, j] for j in range(T - 1)]))
    >>> check_forgetting(forgetting)
    True
    """
    rng = np.random.default_rng(0)
    mats = [np.array([[0.9, np.nan, np.nan], [0.7, 0.95, np.nan], [0.6, 0.8, 0.92]])]
    for T in (2, 4, 6):
        A = np.tril(rng.uniform(0.3, 1.0, size=(T, T)))
        A[np.triu_indices(T, 1)] = np.nan
        mats.append(A)
    for A in mats:
        T = len(A)
        what = f"forgetting of a {T} × {T} accuracy matrix"
        got = float(_call(fn, what, A.copy()))
        want = float(np.mean([np.nanmax(A[:T - 1, j]) - A[T - 1, j] for j in range(T - 1)]))
        if _close(got, want, 1e-9):
            continue
        bugs = [
            ("you compared with the accuracy right after learning each task (that is minus backward transfer); "
             "forgetting uses the *best* accuracy before the end",
             lambda: float(np.mean([A[j, j] - A[T - 1, j] for j in range(T - 1)]))),
            ("you included the last task, which cannot have been forgotten yet: average over j < T − 1",
             lambda: float(np.mean([np.nanmax(A[:T - 1, j]) - A[T - 1, j] if j < T - 1 else 0.0
                                    for j in range(T)]))),
            ("the sign is reversed: forgetting is best earlier accuracy minus final accuracy",
             lambda: -want),
            ("you averaged over all entries of the matrix instead of taking, per old task, its best earlier value",
             lambda: float(np.nanmean(A[:T - 1, :T - 1]) - np.mean(A[T - 1, :T - 1]))),
        ]
        _diagnose(got, want, bugs, what, f"got {got:.6g}, expected {want:.6g}")
    return True


def check_cramer_from_cdfs(fn):
    """``fn(q0, q1, dt, p=2) -> float``: the p-Cramér distance of eq 10 from two CDFs sampled on a uniform grid
    of step ``dt``: (Σ_t |q0(t) − q1(t)|^p · dt)^(1/p) (a Riemann sum of the integral).

    Examples
    --------
    >>> import numpy as np
    >>> check_cramer_from_cdfs(lambda q0, q1, dt, p=2: float((np.abs(q0 - q1) ** p).sum() * dt) ** (1 / p))
    True
    """
    from scipy import stats

    t = np.linspace(-6.0, 8.0, 1401)
    dt = float(t[1] - t[0])
    # CDFs that cross (a narrow and a wide Gaussian, shifted), so that the absolute value matters
    pairs = [(stats.norm.cdf(t, 0.0, 1.0), stats.norm.cdf(t, 0.7, 2.0)),
             (stats.uniform.cdf(t, 0.0, 1.0), stats.uniform.cdf(t, 0.4, 1.0)),
             (stats.norm.cdf(t, 1.0, 0.5), stats.norm.cdf(t, 0.0, 1.5))]
    for (q0, q1), p in zip(pairs, (2.0, 1.0, 3.0)):
        what = f"C_{p:g} of two CDFs on a grid of {len(t)} points (dt = {dt:g})"
        got = float(_call(fn, what, q0.copy(), q1.copy(), dt, p=p))
        d = q0 - q1
        want = float((np.abs(d) ** p).sum() * dt) ** (1 / p)
        bugs = [
            ("you forgot the 1/p-th root: C_p = (∫|q0 − q1|^p dt)^(1/p)", lambda: float((np.abs(d) ** p).sum() * dt)),
            ("you forgot dt: the integral is a sum times the grid step",
             lambda: float((np.abs(d) ** p).sum()) ** (1 / p)),
            ("you took the largest CDF gap (that is the Kolmogorov–Smirnov statistic); Cramér integrates the gap "
             "over t", lambda: float(np.abs(d).max())),
            ("you left out the absolute value: where the CDFs cross, positive and negative gaps cancel",
             lambda: float((d ** p).sum() * dt) ** (1 / p) if p == 2 else float(abs((d ** p).sum() * dt)) ** (1 / p)),
            ("you took a square root whatever p is; the root is the 1/p-th", lambda: float((np.abs(d) ** p).sum() * dt) ** 0.5),
        ]
        _compare_number(got, want, bugs, what)
    return True


def check_gamma_relative_sd(fn):
    """``fn(K, L) -> float``: the relative standard deviation (sd / mean) of one weight's Γ_L, the average of L
    squared projections (ξ_l·g)² of a fixed gradient g on slices ξ_l uniform on the unit sphere S^{K−1}.

    Examples
    --------
    >>> from scpviz.teaching.numerics import gamma_relative_sd
    >>> check_gamma_relative_sd(gamma_relative_sd)
    True
    """
    for K, L in ((2, 100), (10, 100), (784, 100), (3, 7), (50, 2000)):
        what = f"the relative sd of Γ_L for K = {K}, L = {L}"
        got = float(_call(fn, what, K, L))
        want = gamma_relative_sd(K, L)
        bugs = [
            ("you treated ξ·g as Gaussian (a squared Gaussian has relative sd √2); a unit vector's projection has "
             "less spread: its square is Beta(½, (K − 1)/2)", lambda: math.sqrt(2 / L)),
            ("you kept only the 1/√L of averaging; one slice's squared projection has relative sd √((2K − 2)/(K + 2)),"
             " which depends on K", lambda: 1 / math.sqrt(L)),
            ("you forgot to divide by √L: averaging L independent slices divides the sd by √L",
             lambda: math.sqrt((2 * K - 2) / (K + 2))),
            ("this is the relative *variance*; take its square root", lambda: (2 * K - 2) / ((K + 2) * L)),
            ("you divided by L instead of √L", lambda: math.sqrt((2 * K - 2) / (K + 2)) / L),
        ]
        _compare_number(got, want, bugs, what)
    return True


def _kl_reference(a, b):
    la, lb = torch.log_softmax(a, 1), torch.log_softmax(b, 1)
    return float((la.exp() * (la - lb)).sum(1).mean())


def check_kl_replay(fn):
    """``fn(logits_star, logits) -> float``: EWC's replay regularizer of eq 1, the mean over samples of
    KL(p_θ*(y|x) ‖ p_θ(y|x)) with p = softmax of the (N, K) logits (natural log).

    Examples
    --------
    >>> import torch
    >>> def kl(a, b):
    ...     la, lb = torch.log_softmax(a, 1), torch.log_softmax(b, 1)
    ...     return float((la.exp() * (la - lb)).sum(1).mean())
    >>> check_kl_replay(kl)
    True
    """
    g = torch.Generator().manual_seed(0)
    for n, k in ((8, 3), (20, 10), (5, 4)):
        a = torch.randn(n, k, generator=g, dtype=torch.float64) * 2
        b = a + torch.randn(n, k, generator=g, dtype=torch.float64)
        what = f"the KL replay regularizer on {n} samples with {k} classes"
        got = float(_call(fn, what, a.clone(), b.clone()))
        want = _kl_reference(a, b)
        pa, pb = torch.softmax(a, 1), torch.softmax(b, 1)
        bugs = [
            ("you computed KL(p_θ ‖ p_θ*); eq 1 takes the expectation under the *old* probabilities p_θ*: "
             "Σ p* log(p*/p)", lambda: _kl_reference(b, a)),
            ("you summed over samples; eq 1 averages over them (E_x)", lambda: want * n),
            ("you used the logits as if they were log-probabilities; apply log_softmax first",
             lambda: float((pa * (a - b)).sum(1).mean())),
            ("you compared the probabilities with a squared difference; eq 1 is a KL divergence",
             lambda: float(((pa - pb) ** 2).sum(1).mean())),
            ("you used log base 2; the paper's KL (and the Fisher it expands to) uses the natural log",
             lambda: want / math.log(2)),
        ]
        _compare_number(got, want, bugs, what)
    return True


def check_mas_replay(fn):
    """``fn(phi_star, phi) -> float``: MAS's replay regularizer of eq 6, the mean over samples of
    ½ (‖φ(x)‖² − ‖φ*(x)‖²)² for (N, K) outputs before (``phi_star``) and after (``phi``).

    Examples
    --------
    >>> def mas_replay(phi_star, phi):
    ...     return float((0.5 * ((phi ** 2).sum(1) - (phi_star ** 2).sum(1)) ** 2).mean())
    >>> check_mas_replay(mas_replay)
    True
    """
    g = torch.Generator().manual_seed(0)
    for n, k in ((8, 2), (15, 5), (6, 10)):
        a = torch.randn(n, k, generator=g, dtype=torch.float64)
        b = a + 0.5 * torch.randn(n, k, generator=g, dtype=torch.float64)
        what = f"the MAS replay regularizer on {n} outputs in R^{k}"
        got = float(_call(fn, what, a.clone(), b.clone()))
        na, nb = (a ** 2).sum(1), (b ** 2).sum(1)
        want = float((0.5 * (nb - na) ** 2).mean())
        bugs = [
            ("the ½ of eq 6 is missing", lambda: 2 * want),
            ("you compared the norms ‖φ‖ instead of the squared norms ‖φ‖²",
             lambda: float((0.5 * (nb.sqrt() - na.sqrt()) ** 2).mean())),
            ("you compared the outputs themselves (‖φ − φ*‖²): that is a sample distance; MAS compares only their "
             "norms", lambda: float((0.5 * ((b - a) ** 2).sum(1)).mean())),
            ("you summed over samples; eq 6 averages over them (E_x)", lambda: want * n),
            ("the difference of squared norms must be squared", lambda: float((0.5 * (nb - na).abs()).mean())),
        ]
        _compare_number(got, want, bugs, what)
    return True


def check_choose_lambda(fn):
    """``fn(lams, val, test) -> float``: the λ to report, chosen honestly: the λ of ``lams`` whose validation
    score ``val[i]`` (an accuracy: higher is better) is largest. ``test`` is there to tempt you.

    Examples
    --------
    >>> check_choose_lambda(lambda lams, val, test: lams[max(range(len(lams)), key=lambda i: val[i])])
    True
    """
    cases = [([0.1, 1.0, 10.0, 100.0], [0.80, 0.86, 0.84, 0.70], [0.79, 0.84, 0.85, 0.69]),
             ([1e-3, 1e-2, 1e-1], [0.50, 0.45, 0.40], [0.40, 0.46, 0.41]),
             ([1.0, 1e2, 1e4, 1e6, 1e8], [0.61, 0.66, 0.72, 0.75, 0.30], [0.60, 0.70, 0.71, 0.74, 0.31])]
    for lams, val, test in cases:
        what = f"choosing among λ = {lams}"
        got = _call(fn, what, list(lams), list(val), list(test))
        want = lams[int(np.argmax(val))]
        bugs = [
            ("you chose on the *test* scores: test images are the final exam, and choosing on them makes the "
             "reported number optimistic; choose on validation", lambda: lams[int(np.argmax(test))]),
            ("you chose the lowest score; the scores are accuracies (higher is better)",
             lambda: lams[int(np.argmin(val))]),
            ("you returned the position of the best λ in the list; return the λ itself",
             lambda: float(np.argmax(val))),
            ("you returned the best score; return the λ that achieved it", lambda: max(val)),
        ]
        try:
            got = float(got)
        except (TypeError, ValueError):
            raise AssertionError(f"{what}: return one λ (a number), got {got!r}") from None
        _compare_number(got, want, bugs, what, rtol=1e-12)
    return True


def check_blind_fraction(fn):
    """``fn(importance, rel=1e-9) -> float``: the share of all weights (entries of every tensor of the dict) whose
    importance is below ``rel`` times the largest importance of the whole network — the weights the penalty is
    blind to (notebook 07).

    Examples
    --------
    >>> import torch
    >>> def blind(imp, rel=1e-9):
    ...     flat = torch.cat([v.flatten() for v in imp.values()])
    ...     return float((flat < rel * flat.max()).float().mean())
    >>> check_blind_fraction(blind)
    True
    """
    g = torch.Generator().manual_seed(0)
    for shapes, rel in (({"w1": (6, 4), "b1": (6,), "w2": (3, 6)}, 1e-9), ({"a": (10,), "b": (5, 5)}, 1e-3)):
        imp = {}
        for i, (k, s) in enumerate(shapes.items()):
            v = torch.rand(s, generator=g, dtype=torch.float64) * 10.0 ** (-6 * i)   # tensors on very different scales
            v[torch.rand(s, generator=g) < 0.4] = 0.0                                  # dead units: exactly zero
            imp[k] = v
        what = f"the blind fraction of {len(imp)} tensors (rel = {rel:g})"
        got = _call(fn, what, {k: v.clone() for k, v in imp.items()}, rel=rel)
        flat = torch.cat([v.flatten() for v in imp.values()])
        want = float((flat < rel * flat.max()).double().mean())
        per_tensor = float(torch.cat([(v < rel * v.max()).flatten() for v in imp.values()]).double().mean())
        bugs = [
            ("you compared each tensor with its own maximum; the threshold is relative to the largest importance "
             "of the whole network", lambda: per_tensor),
            ("you counted the weights the penalty sees; the question is the share it is blind to",
             lambda: 1 - want),
            ("you counted only exact zeros; use the threshold rel × (largest importance)",
             lambda: float((flat == 0).double().mean())),
            ("you averaged the per-tensor shares; every weight counts once, so pool all entries first",
             lambda: float(np.mean([float((v < rel * flat.max()).double().mean()) for v in imp.values()]))),
            ("you returned a count; return the share (a number between 0 and 1)",
             lambda: float((flat < rel * flat.max()).sum())),
        ]
        _compare_number(float(got), want, bugs, what, rtol=1e-6)
    return True
