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

__all__ = ["check_sliced_cramer", "check_scp_importance", "check_fisher_importance", "check_mas_importance",
           "check_online_merge", "check_penalty", "check_forgetting", "checker_models"]

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
                ("you averaged the slices before squaring (the course-notebook bug): square each slice's "
                 "gradient, then average over the L slices — the result is biased by ≈ 1/L",
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
