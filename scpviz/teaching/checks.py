"""Checkers for course assignments: each takes a student's function and either returns True or raises an
``AssertionError`` whose message names the likely mistake.

Every checker builds its own inputs (several sizes, float64, and a network with Dropout and BatchNorm so that
train-mode mistakes show), compares with this package's tested implementation, and when the answer is wrong,
compares it with the known bugs of public code (:mod:`scpviz.teaching.bugs` and the variants below) to say which
one it looks like. Nothing here is used for training.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from .. import distances, importance
from .numerics import gamma_relative_sd

__all__ = ["check_sliced_cramer", "check_scp_importance", "check_fisher_importance", "check_mas_importance",
           "check_online_merge", "check_penalty", "check_forgetting", "checker_models",
           "check_cramer_from_cdfs", "check_gamma_relative_sd", "check_kl_replay", "check_mas_replay",
           "check_choose_lambda", "check_blind_fraction", "try_exercise", "reveal"]

RTOL = 1e-6


# --------------------------------------------------------------------------- shared machinery

def _call(fn, what, *args, **kwargs):
    try:
        return fn(*args, **kwargs)
    except AssertionError:
        raise
    except Exception as e:  # the student's code failed: say where, keep the original error
        hint = (" — the model is in train mode (BatchNorm needs batches then); compute importances in eval mode: "
                "model.eval()" if "when training" in str(e) else "")
        raise AssertionError(f"{what} raised {type(e).__name__}: {e}{hint}") from e


def _as_dict(got, like, what):
    if not isinstance(got, dict):
        raise AssertionError(f"{what} must return a dict {{parameter name: tensor}}, got {type(got).__name__}")
    missing, extra = set(like) - set(got), set(got) - set(like)
    if missing or extra:
        raise AssertionError(f"{what}: keys must be the model's trainable parameter names "
                             f"(missing {sorted(missing)}, unexpected {sorted(extra)}); use model.named_parameters()")
    out = {}
    for k, v in got.items():
        v = torch.as_tensor(v).detach().double()
        if v.shape != like[k].shape:
            raise AssertionError(f"{what}: entry {k!r} has shape {tuple(v.shape)}, the parameter has "
                                 f"{tuple(like[k].shape)} — one importance per parameter entry")
        out[k] = v
    return out


def _close(a, b, rtol=RTOL):
    """Two importances (dicts) or numbers agree to ``rtol`` relative to the larger one's scale."""
    if isinstance(a, dict):
        fa, fb = importance.flatten_importance(a).double(), importance.flatten_importance(b).double()
        scale = max(float(fb.abs().max()), 1e-300)
        return float((fa - fb).abs().max()) <= rtol * scale
    return math.isclose(float(a), float(b), rel_tol=rtol, abs_tol=1e-12)


def _ratio(a, b):
    """Total of ``a`` over total of ``b`` (importance dicts)."""
    return float(importance.flatten_importance(a).sum() / importance.flatten_importance(b).sum())


TRAIN_MODE_HINT = ("right for plain MLPs but not for a network with BatchNorm and Dropout: the importance was "
                   "probably computed in train mode; call model.eval() first")


def _diagnose(got, expected, bugs, what, default):
    """Raise with the hint of the first bug whose output ``got`` matches; else a generic message."""
    for hint, wrong in bugs:
        try:
            candidate = wrong()
        except Exception:  # a bug variant not applicable to this case
            continue
        if _close(got, candidate, rtol=1e-4):
            raise AssertionError(f"{what}: {hint}")
    raise AssertionError(f"{what}: {default}")


class _DropBN(nn.Module):
    """A small classifier with BatchNorm and Dropout: its outputs differ between train and eval mode."""

    def __init__(self, d_in, d_hidden, k, seed):
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        self.net = nn.Sequential(nn.Linear(d_in, d_hidden), nn.BatchNorm1d(d_hidden), nn.ReLU(), nn.Dropout(0.5),
                                 nn.Linear(d_hidden, k))
        with torch.no_grad():
            for p in self.parameters():
                p.copy_(torch.randn(p.shape, generator=g) * 0.5)
            bn = self.net[1]
            bn.running_mean.copy_(torch.randn(d_hidden, generator=g) * 0.3)
            bn.running_var.copy_(torch.rand(d_hidden, generator=g) + 0.5)

    def forward(self, x):
        return self.net(x)


def checker_models(seed=0):
    """The (model, x) pairs the importance checkers use: two MLPs and one with BatchNorm and Dropout (float64,
    eval mode on entry)."""
    from ..models import MLP

    g = torch.Generator().manual_seed(seed)
    cases = []
    for d_in, hidden, k, n in ((5, (7,), 3, 12), (4, (6, 5), 4, 9)):
        m = MLP(d_in, hidden, k, seed=seed).double().eval()
        cases.append((m, torch.randn(n, d_in, generator=g, dtype=torch.float64)))
    m = _DropBN(6, 8, 3, seed).double().eval()
    cases.append((m, torch.randn(10, 6, generator=g, dtype=torch.float64)))
    return cases


def _params(model):
    return {n: p for n, p in model.named_parameters() if p.requires_grad}


def _per_sample_grads(model, x, scalar_fn):
    """{name: (N, *shape)} gradients of scalar_fn(output_row, n) per sample, by a plain loop (reference only)."""
    params = _params(model)
    out = {n: [] for n in params}
    for i in range(len(x)):
        y = scalar_fn(model(x[i:i + 1])[0], i)
        grads = torch.autograd.grad(y, list(params.values()), allow_unused=True)
        for (n, p), g in zip(params.items(), grads):
            out[n].append(torch.zeros_like(p) if g is None else g)
    return {n: torch.stack(v) for n, v in out.items()}


def _student_importance(fn, what, model, *args):
    """Call the student's importance function; check its keys, shapes and that it left the model's mode alone."""
    was = model.training
    got = _as_dict(_call(fn, what, model, *args), _params(model), what)
    _restore_mode(model, was, what)
    return got


def _restore_mode(model, was_training, what):
    if model.training != was_training:
        model.train(was_training)
        raise AssertionError(f"{what} left the model in {'train' if model.training else 'eval'} mode; restore the mode "
                             f"it had (e.g. remember model.training, or use a context manager)")


# --------------------------------------------------------------------------- distances

def check_sliced_cramer(fn):
    """``fn(X, Y, slices, p=2) -> float``: the Monte-Carlo sliced p-Cramér distance of eq 13,
    (mean over slices of C_p^p)^(1/p), with X (N, d), Y (M, d), slices (L, d) unit rows.

    Examples
    --------
    >>> from scpviz import distances
    >>> check_sliced_cramer(lambda X, Y, slices, p=2: distances.sliced_cramer(X, Y, slices=slices, p=p))
    True
    """
    g = torch.Generator().manual_seed(0)
    for d, n, m, L, p in ((2, 40, 40, 7, 2.0), (5, 30, 45, 20, 1.0), (3, 25, 25, 11, 3.0)):
        X = torch.randn(n, d, generator=g, dtype=torch.float64)
        Y = torch.randn(m, d, generator=g, dtype=torch.float64) * 1.3 + 0.4
        S = distances.random_slices(L, d, seed=L)
        what = f"sliced Cramér with N={n}, M={m}, d={d}, L={L}, p={p:g}"
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


# --------------------------------------------------------------------------- importances

def check_scp_importance(fn):
    """``fn(model, x, slices) -> dict``: the diagonal Γ of eq 19 / Algorithm 1 at the model's output,
    Γ_i = (1/L) Σ_l (∂ ξ_l·φ̄ / ∂θ_i)² with φ̄ the mean output over x, in eval mode.

    Examples
    --------
    >>> from scpviz import importance
    >>> check_scp_importance(lambda model, x, slices: importance.scp_importance(model, x, slices=slices))
    True
    """
    from . import bugs as gallery

    for model, x in checker_models():
        K = model(x).shape[1]
        for L in (5, 17):
            S = distances.random_slices(L, K, seed=L)
            what = f"Γ of a {type(model).__name__} ({len(x)} samples, K={K}, L={L})"
            got = _student_importance(fn, what, model, x, S)
            want = importance.scp_importance(model, x, slices=S)
            if _close(got, want):
                continue
            bugs = [
                ("you averaged the slices before squaring (as the SCP class of NTU's ML2021/ML2022 HW14 sample code "
                 "does): square each slice's gradient, then average over the L slices — the result is biased by ≈ 1/L",
                 lambda: gallery.scp_average_slices_first(model, x, S)),
                ("you summed over the slices; Γ averages them (divide by L)",
                 lambda: {k: v * L for k, v in want.items()}),
                *[(f"you squared per batch (here batches of {b}): a sum of squared batch means is not the square "
                   f"of the mean over all the data — compute φ̄ over all of x first",
                   lambda b=b: gallery.scp_per_batch_divided(model, x, S, batch_size=b)) for b in range(1, len(x))],
                ("you projected every sample and averaged the squared gradients; eq 19 projects the *mean* "
                 "output φ̄ = (1/N) Σ φ(x_n) and squares the gradient of ξ·φ̄",
                 lambda: _scp_per_sample(model, x, S)),
            ]
            _diagnose(got, want, bugs, what, _default(model, got, want, "Γ"))
    return True


def _default(model, got, want, name):
    """The message when no known bug matches: the train-mode hint on the BatchNorm/Dropout network (checked
    last, after the plain MLPs passed), else the overall factor."""
    if isinstance(model, _DropBN):
        return TRAIN_MODE_HINT
    return f"differs from {name} by a factor ≈ {_ratio(got, want):.3g} overall"


def _scp_per_sample(model, x, S):
    out = None
    for l in range(len(S)):
        g = _per_sample_grads(model, x, lambda row, i, l=l: row @ S[l])
        term = {n: (v ** 2).mean(0) / len(S) for n, v in g.items()}
        out = term if out is None else {n: out[n] + term[n] for n in out}
    return out


def check_fisher_importance(fn):
    """``fn(model, x) -> dict``: the exact diagonal Fisher of softmax(model(x)) (eq 3–4): for each sample the
    expectation over the model's own class probabilities of the squared gradient of log p(y|x), averaged over
    samples, in eval mode.

    Examples
    --------
    >>> from scpviz import importance
    >>> check_fisher_importance(lambda model, x: importance.fisher_importance(model, x, labels="exact"))
    True
    """
    for model, x in checker_models():
        what = f"the Fisher of a {type(model).__name__} ({len(x)} samples)"
        got = _student_importance(fn, what, model, x)
        want = importance.fisher_importance(model, x, labels="exact")
        if _close(got, want):
            continue
        bugs = [
            ("you used one label per sample (the predicted class: an 'empirical' Fisher); the exact Fisher "
             "takes the expectation over the model's own class probabilities",
             lambda: importance.fisher_importance(model, (x, model(x).argmax(1).detach()), labels="empirical")),
            ("you squared the gradient of the batch-mean log-likelihood; square each sample's gradient, "
             "then average",
             lambda: _fisher_batch_mean(model, x)),
            ("you summed over samples; average over them (divide by N)",
             lambda: {k: v * len(x) for k, v in want.items()}),
        ]
        _diagnose(got, want, bugs, what, _default(model, got, want, "F"))
    return True


def _fisher_batch_mean(model, x):
    """The common bug: square the gradient of the batch-mean log-likelihood of the predicted labels."""
    params = _params(model)
    logp = torch.log_softmax(model(x), 1)
    y = logp.argmax(1)
    grads = torch.autograd.grad(logp[torch.arange(len(x)), y].mean(), list(params.values()), allow_unused=True)
    return {n: torch.zeros_like(p) if g is None else g ** 2 for (n, p), g in zip(params.items(), grads)}


def check_mas_importance(fn):
    """``fn(model, x) -> dict``: Ω of eq 7, the mean over samples of the squared gradient of ‖φ(x)‖² (squared L2
    norm of the output), in eval mode.

    Examples
    --------
    >>> from scpviz import importance
    >>> check_mas_importance(lambda model, x: importance.mas_importance(model, x))
    True
    """
    for model, x in checker_models():
        what = f"Ω of a {type(model).__name__} ({len(x)} samples)"
        got = _student_importance(fn, what, model, x)
        want = importance.mas_importance(model, x)
        if _close(got, want):
            continue
        bugs = [
            ("you averaged |gradients| (Aljundi et al.'s MAS); eq 7 squares them",
             lambda: importance.mas_importance(model, x, form="aljundi")),
            ("you differentiated the norm ‖φ‖ instead of the squared norm ‖φ‖²",
             lambda: {n: (g ** 2).mean(0) for n, g in
                      _per_sample_grads(model, x, lambda row, i: row.norm()).items()}),
            ("you squared the gradient of the batch-mean ‖φ‖²; square each sample's gradient, then average",
             lambda: {n: g.mean(0) ** 2 for n, g in
                      _per_sample_grads(model, x, lambda row, i: (row ** 2).sum()).items()}),
            ("you summed over samples; average over them (divide by N)",
             lambda: {k: v * len(x) for k, v in want.items()}),
        ]
        _diagnose(got, want, bugs, what, _default(model, got, want, "Ω"))
    return True


# --------------------------------------------------------------------------- consolidation

def check_online_merge(fn):
    """``fn(old, new, alpha) -> dict``: eq 20, α · new + (1 − α) · old, with ``old is None`` for the first task
    (then the new importance as it is). Must not modify its inputs.

    Examples
    --------
    >>> check_online_merge(lambda old, new, a: dict(new) if old is None else {k: a * new[k] + (1 - a) * old[k] for k in new})
    True
    """
    g = torch.Generator().manual_seed(0)
    shapes = {"w": (3, 2), "b": (3,)}
    imps = [{k: torch.rand(s, generator=g, dtype=torch.float64) for k, s in shapes.items()} for _ in range(4)]
    for alpha in (0.25, 0.75):
        what = f"the merge with α = {alpha}"
        first = _as_dict(_call(fn, what + " on the first task (old=None)", None, imps[0], alpha), imps[0], what)
        if not _close(first, imps[0]):
            raise AssertionError(f"{what}: for the first task (old is None) return the new importance unchanged")
        merged, merged_right = imps[0], imps[0]
        for t in range(1, 4):
            before = {k: v.clone() for k, v in merged.items()}
            new_before = {k: v.clone() for k, v in imps[t].items()}
            got = _as_dict(_call(fn, what, merged, imps[t], alpha), imps[0], what)
            if not (_close(merged, before, 0) and _close(imps[t], new_before, 0)):
                raise AssertionError(f"{what}: your merge modified its inputs in place; return a new dict")
            want = {k: alpha * imps[t][k] + (1 - alpha) * merged_right[k] for k in imps[t]}
            if not _close(got, want):
                bugs = [
                    ("α is applied to the old importance; eq 20 weights the *new* task by α",
                     lambda: {k: (1 - alpha) * imps[t][k] + alpha * merged_right[k] for k in imps[t]}),
                    ("you added the merged total to itself again (the running total is re-added every task)",
                     lambda: {k: merged_right[k] + (merged_right[k] + imps[t][k]) for k in imps[t]}),
                    ("you summed the importances; eq 20 is a weighted average",
                     lambda: {k: merged_right[k] + imps[t][k] for k in imps[t]}),
                ]
                _diagnose(got, want, bugs, f"{what}, task {t + 1}", "does not equal α·new + (1 − α)·old")
            merged, merged_right = got, want
    return True


def check_penalty(fn):
    """``fn(model, importance, theta_star, lam) -> Tensor``: λ Σ_i Γ_i (θ_i − θ*_i)² (eq 17), differentiable in
    the model's parameters.

    Examples
    --------
    >>> def penalty(model, imp, theta_star, lam):
    ...     return lam * sum((imp[n] * (p - theta_star[n]) ** 2).sum() for n, p in model.named_parameters())
    >>> check_penalty(penalty)
    True
    """
    for model, x in checker_models()[:2]:
        params = _params(model)
        g = torch.Generator().manual_seed(1)
        imp = {n: torch.rand(p.shape, generator=g, dtype=torch.float64) for n, p in params.items()}
        theta_star = {n: (p.detach() + 0.1 * torch.randn(p.shape, generator=g, dtype=torch.float64))
                      for n, p in params.items()}
        for lam in (0.5, 30.0):
            what = f"the penalty with λ = {lam:g}"
            model.zero_grad()
            got = _call(fn, what, model, imp, theta_star, lam)
            if not torch.is_tensor(got) or got.numel() != 1:
                raise AssertionError(f"{what} must return a scalar tensor (so that it can be added to the loss)")
            diff = {n: params[n].detach() - theta_star[n] for n in params}
            want = lam * sum(float((imp[n] * diff[n] ** 2).sum()) for n in params)
            value = float(got.detach())
            if not _close(value, want):
                bugs = [
                    ("you have λ/2 (eq 5's convention for EWC); eq 17 is λ Σ Γ (θ − θ*)²",
                     lambda: want / 2),
                    ("the difference is not squared: use (θ − θ*)²", lambda: lam * sum(
                        float((imp[n] * diff[n].abs()).sum()) for n in params)),
                    ("the importance is missing: every weight must be weighted by its Γ_i", lambda: lam * sum(
                        float((diff[n] ** 2).sum()) for n in params)),
                    ("λ is missing", lambda: want / lam),
                ]
                _diagnose(value, want, bugs, what, f"got {value:.6g}, expected {want:.6g}")
            if not got.requires_grad:
                raise AssertionError(f"{what}: the penalty does not depend on the parameters in autograd; compute it "
                                     f"from model.parameters() (no .detach(), .item() or .data)")
            got.backward()
            for n, p in params.items():
                if p.grad is None or not torch.allclose(p.grad, 2 * lam * imp[n] * diff[n], rtol=1e-6, atol=1e-12):
                    raise AssertionError(f"{what}: its gradient for {n!r} is not 2λΓ(θ − θ*); is θ* detached, "
                                         f"and is every parameter included?")
            model.zero_grad()
    return True


# --------------------------------------------------------------------------- metrics

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


# --------------------------------------------------------------------------- the notebooks' "Your turn" exercises

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
        yours = "no guess written" if g is None else f"your guess {g:g}{unit}"
        print(f"{k}: measured {v:.3g}{unit}, {yours}")


def _compare_number(got, want, bugs, what, rtol=1e-6):
    if _close(got, want, rtol):
        return
    _diagnose(got, want, bugs, what, f"got {got:.6g}, expected {want:.6g}")


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
