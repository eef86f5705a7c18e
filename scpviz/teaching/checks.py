"""Checkers for course assignments: each takes a student's function and either returns True or raises an
``AssertionError`` whose message names the likely mistake.

Every checker builds its own inputs (several sizes, float64, and a network with Dropout and BatchNorm so that
train-mode mistakes show; networks are handed over in train mode with stale gradients in ``.grad``, as they are
right after training), compares with this package's tested implementation, and when the answer is wrong,
compares it with the known bugs of public code (:mod:`scpviz.teaching.bugs` and the variants below) to say which
one it looks like. Nothing here is used for training.
"""

from __future__ import annotations

import copy
import math
from contextlib import contextmanager

import numpy as np
import torch
from torch import nn

from .. import distances, importance
from .numerics import gamma_relative_sd

__all__ = ["check_sliced_cramer", "check_scp_importance", "check_fisher_importance", "check_mas_importance",
           "check_online_merge", "check_penalty", "check_forgetting", "checker_models",
           "check_cramer_from_cdfs", "check_gamma_relative_sd", "check_kl_replay", "check_mas_replay",
           "check_choose_lambda", "check_blind_fraction", "try_exercise", "reveal",
           "check_cramer_samples", "check_js_at", "check_averaged_first", "check_bias", "check_consolidation_run",
           "check_choose_on_validation", "check_blind_mask", "check_reset_entries", "check_blind_reset_test"]

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
    """The (model, x) pairs the importance checkers use: two MLPs and one with BatchNorm and Dropout (float64).

    Each model is handed over as it is right after training: in **train** mode, and with stale, non-zero
    gradients in every ``.grad`` (the last minibatch's). Importance code must compute in eval mode, restore the
    mode it found, and not add what was already in ``.grad``.
    """
    from ..models import MLP

    g = torch.Generator().manual_seed(seed)
    cases = []
    for d_in, hidden, k, n in ((5, (7,), 3, 12), (4, (6, 5), 4, 9)):
        m = MLP(d_in, hidden, k, seed=seed).double()
        cases.append((m, torch.randn(n, d_in, generator=g, dtype=torch.float64)))
    m = _DropBN(6, 8, 3, seed).double()
    cases.append((m, torch.randn(10, 6, generator=g, dtype=torch.float64)))
    for m, _ in cases:
        m.train()
        _stale_gradients(m, seed)
    return cases


def _stale_gradients(model, seed):
    """Fill every ``.grad`` with a seeded random tensor: what a training step leaves behind."""
    g = torch.Generator().manual_seed(1000 + seed)
    for p in model.parameters():
        p.grad = torch.randn(p.shape, generator=g, dtype=p.dtype)


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
    """Call the student's importance function on ``model`` (train mode, stale ``.grad``, as from
    :func:`checker_models`); check its keys and shapes, that it left the model's mode as it found it, and that
    its result does not depend on the stale gradients.

    Returns
    -------
    (dict, nn.Module)
        The student's importance, and a copy of the model as it was *before* the call, in eval mode — the
        reference and the known bugs are computed on it (the student's code may have moved BatchNorm's
        running statistics by running the network in train mode).
    """
    before = copy.deepcopy(model)
    was = model.training
    with _seeded():   # the same Dropout masks on both calls: only the stale gradients differ
        got = _as_dict(_call(fn, what, model, *args), _params(model), what)
    _restore_mode(model, was, what)
    other = copy.deepcopy(before)
    for p in other.parameters():
        p.grad = None if p.grad is None else -3.0 * p.grad
    with _seeded():
        again = _as_dict(_call(fn, what, other, *args), _params(other), what)
    if not _close(got, again, 1e-9):
        raise AssertionError(f"{what}: your result changes with the gradients already stored in .grad when your "
                             f"function is called (after training they hold the last minibatch's gradient): start "
                             f"from zero — model.zero_grad() before the first backward pass, or torch.autograd.grad")
    return got, before.eval()


@contextmanager
def _seeded(seed=0):
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        yield


def _restore_mode(model, was_training, what):
    if model.training != was_training:
        left = "train" if model.training else "eval"
        model.train(was_training)
        raise AssertionError(f"{what} left the model in {left} mode, but it was handed over in "
                             f"{'train' if was_training else 'eval'} mode; restore the mode it had (remember "
                             f"model.training, switch to eval, and switch back before returning)")


# --------------------------------------------------------------------------- distances

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
        with _forbidden(distances, ["sliced_cramer", "sliced_cramer_squared", "_cramer_pp", "cramer_samples"],
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
        K = copy.deepcopy(model).eval()(x).shape[1]   # no forward pass on the model itself (BatchNorm statistics)
        for L in (5, 17):
            S = distances.random_slices(L, K, seed=L)
            what = f"Γ of a {type(model).__name__} ({len(x)} samples, K={K}, L={L})"
            got, ref = _student_importance(fn, what, model, x, S)
            want = importance.scp_importance(ref, x, slices=S)
            if _close(got, want):
                continue
            bugs = [
                ("you averaged the slices before squaring (as the SCP class of NTU's ML2021/ML2022 HW14 sample code "
                 "does): square each slice's gradient, then average over the L slices — the result is biased by ≈ 1/L",
                 lambda: gallery.scp_average_slices_first(ref, x, S)),
                ("you summed over the slices; Γ averages them (divide by L)",
                 lambda: {k: v * L for k, v in want.items()}),
                *[(f"you squared per batch (here batches of {b}): a sum of squared batch means is not the square "
                   f"of the mean over all the data — compute φ̄ over all of x first",
                   lambda b=b: gallery.scp_per_batch_divided(ref, x, S, batch_size=b)) for b in range(1, len(x))],
                ("you projected every sample and averaged the squared gradients; eq 19 projects the *mean* "
                 "output φ̄ = (1/N) Σ φ(x_n) and squares the gradient of ξ·φ̄",
                 lambda: _scp_per_sample(ref, x, S)),
            ]
            _diagnose(got, want, bugs, what, _default(ref, got, want, "Γ"))
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
        got, ref = _student_importance(fn, what, model, x)
        want = importance.fisher_importance(ref, x, labels="exact")
        if _close(got, want):
            continue
        bugs = [
            ("you used one label per sample (the predicted class: an 'empirical' Fisher); the exact Fisher "
             "takes the expectation over the model's own class probabilities",
             lambda: importance.fisher_importance(ref, (x, ref(x).argmax(1).detach()), labels="empirical")),
            ("you squared the gradient of the batch-mean log-likelihood; square each sample's gradient, "
             "then average",
             lambda: _fisher_batch_mean(ref, x)),
            ("you summed over samples; average over them (divide by N)",
             lambda: {k: v * len(x) for k, v in want.items()}),
        ]
        _diagnose(got, want, bugs, what, _default(ref, got, want, "F"))
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
        got, ref = _student_importance(fn, what, model, x)
        want = importance.mas_importance(ref, x)
        if _close(got, want):
            continue
        bugs = [
            ("you averaged |gradients| (Aljundi et al.'s MAS); eq 7 squares them",
             lambda: importance.mas_importance(ref, x, form="aljundi")),
            ("you differentiated the norm ‖φ‖ instead of the squared norm ‖φ‖²",
             lambda: {n: (g ** 2).mean(0) for n, g in
                      _per_sample_grads(ref, x, lambda row, i: row.norm()).items()}),
            ("you squared the gradient of the batch-mean ‖φ‖²; square each sample's gradient, then average",
             lambda: {n: g.mean(0) ** 2 for n, g in
                      _per_sample_grads(ref, x, lambda row, i: (row ** 2).sum()).items()}),
            ("you summed over samples; average over them (divide by N)",
             lambda: {k: v * len(x) for k, v in want.items()}),
        ]
        _diagnose(got, want, bugs, what, _default(ref, got, want, "Ω"))
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
    the model's parameters, with θ* a constant: the θ* handed over may still be attached to the autograd graph of
    the parameters it was copied from (a ``p.clone()`` without ``.detach()``), and the penalty must not
    differentiate through it.

    Examples
    --------
    >>> def penalty(model, imp, theta_star, lam):
    ...     return lam * sum((imp[n] * (p - theta_star[n].detach()) ** 2).sum() for n, p in model.named_parameters())
    >>> check_penalty(penalty)
    True
    """
    for model, x in checker_models()[:2]:
        params = _params(model)
        g = torch.Generator().manual_seed(1)
        imp = {n: torch.rand(p.shape, generator=g, dtype=torch.float64) for n, p in params.items()}
        offset = {n: 0.1 * torch.randn(p.shape, generator=g, dtype=torch.float64) for n, p in params.items()}
        for lam, attached in ((0.5, False), (30.0, True)):
            # the second case hands over θ* still attached to the parameters' graph, as p.clone() + δ would be
            theta_star = {n: (p if attached else p.detach()) + offset[n] for n, p in params.items()}
            what = f"the penalty with λ = {lam:g}" + (" (θ* handed over attached to the graph)" if attached else "")
            model.zero_grad()
            got = _call(fn, what, model, imp, theta_star, lam)
            if not torch.is_tensor(got) or got.numel() != 1:
                raise AssertionError(f"{what} must return a scalar tensor (so that it can be added to the loss)")
            diff = {n: params[n].detach() - theta_star[n].detach() for n in params}
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
                    raise AssertionError(f"{what}: its gradient for {n!r} is not 2λΓ(θ − θ*). θ* is a constant: "
                                         f"detach it (theta_star[n].detach()) — the θ* handed over here is still "
                                         f"attached to the parameters' graph — and include every parameter")
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
        yours = ("no guess written" if g is None else
                 f"your guess {g:g}{unit}" if isinstance(g, (int, float)) else f"your guess {g}")
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


# --------------------------------------------------------------------------- assignments: what the tests above miss

@contextmanager
def _forbidden(module, names, hint):
    """Replace ``module.name`` for each name by a function that fails with ``hint`` (the student must write it)."""
    saved = {n: getattr(module, n) for n in names}

    def refuse(*args, **kwargs):
        raise AssertionError(hint)

    try:
        for n in names:
            setattr(module, n, refuse)
        yield
    finally:
        for n, f in saved.items():
            setattr(module, n, f)


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
        with _forbidden(distances, ["cramer_samples", "_cramer_pp", "sliced_cramer"], hint):
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


def check_js_at(fn):
    """``fn(tau) -> float``: the Jensen–Shannon distance (square root of the JS divergence, natural log) between
    U[0, 1] and U[τ, τ + 1], for any τ ≥ 0 — overlapping supports included (closed form: √(τ log 2) for τ ≤ 1,
    √log 2 beyond). Computed numerically on a grid, it must agree to 2·10⁻³.

    Examples
    --------
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


def check_averaged_first(fn):
    """``fn(model, x, slices) -> dict``: the averaged-slices mistake itself — project φ̄ on the mean slice
    ξ̄ = (1/L) Σ_l ξ_l and square the gradient once (what NTU's HW14 sample code computes), in eval mode.

    Examples
    --------
    >>> from scpviz.teaching import bugs
    >>> check_averaged_first(bugs.scp_average_slices_first)
    True
    """
    from . import bugs as gallery

    for model, x in checker_models():
        K = copy.deepcopy(model).eval()(x).shape[1]
        for L in (3, 12):
            S = distances.random_slices(L, K, seed=L)
            what = f"the averaged-first Γ of a {type(model).__name__} (K={K}, L={L})"
            got, ref = _student_importance(fn, what, model, x, S)
            want = gallery.scp_average_slices_first(ref, x, S)
            if _close(got, want):
                continue
            right = importance.scp_importance(ref, x, slices=S)
            bugs = [
                ("you returned the correct Γ divided by L — that is the mistake's *expectation* over many draws of "
                 "slices; on one draw the mistake projects on the mean slice, one random direction",
                 lambda: {k: v / L for k, v in right.items()}),
                ("this is the correct Γ (eq 19); the task is to reproduce the mistake: one projection on the mean "
                 "of the slices, squared once", lambda: right),
                ("you projected on the *sum* of the slices; the mistake averages them (divide by L)",
                 lambda: {k: v * L ** 2 for k, v in want.items()}),
            ]
            _diagnose(got, want, bugs, what, _default(ref, got, want, "the averaged-first Γ"))
    return True


def _total(imp):
    return float(sum(v.sum() for v in imp.values()))


def check_bias(fn, scp_importance, averaged_first):
    """``fn(model, x, L, n_draws) -> float``: the mean over draws s = 0 … n_draws − 1 of
    total(averaged_first(model, x, S_s)) / total(scp_importance(model, x, S_s)), with
    S_s = ``scpviz.distances.random_slices(L, K, seed=s)`` in the data's dtype — measured, not its expectation 1/L.
    ``scp_importance`` and ``averaged_first`` are the student's own (checked separately).

    Examples
    --------
    >>> from scpviz import importance
    >>> from scpviz.teaching import bugs
    >>> scp = lambda m, x, S: importance.scp_importance(m, x, slices=S)
    >>> def bias(model, x, L, n_draws=30):
    ...     K = model(x).shape[1]
    ...     S = [distances.random_slices(L, K, seed=s).to(x.dtype) for s in range(n_draws)]
    ...     return float(np.mean([_total(bugs.scp_average_slices_first(model, x, s)) / _total(scp(model, x, s))
    ...                           for s in S]))
    >>> check_bias(bias, scp, bugs.scp_average_slices_first)
    True
    """
    model, x = checker_models()[0]
    model.eval()
    model.zero_grad(set_to_none=True)   # this check is about the measurement; stale gradients are checked elsewhere
    K = model(x).shape[1]
    for L, n_draws in ((4, 5), (16, 3)):
        what = f"the measured bias for L = {L}, {n_draws} draws"
        got = float(_call(fn, what, model, x, L, n_draws))
        draws = [distances.random_slices(L, K, seed=s).to(x.dtype) for s in range(n_draws)]
        ratios = [_total(averaged_first(model, x, S)) / _total(scp_importance(model, x, S)) for S in draws]
        want = float(np.mean(ratios))
        bugs = [
            ("you returned 1/L, the expectation; the task is to measure the ratio on the draws", lambda: 1 / L),
            ("you divided the mean of the totals; average the ratios of each draw",
             lambda: float(np.mean([_total(averaged_first(model, x, S)) for S in draws])
                           / np.mean([_total(scp_importance(model, x, S)) for S in draws]))),
            ("you used other slices: draw S_s = scpviz.distances.random_slices(L, K, seed=s) for s = 0, 1, …, "
             "n_draws − 1", lambda: float(np.mean([_total(averaged_first(model, x, distances.random_slices(
                 L, K, seed=s + 1).to(x.dtype))) / _total(scp_importance(model, x, distances.random_slices(
                     L, K, seed=s + 1).to(x.dtype))) for s in range(n_draws)]))),
        ]
        _compare_number(got, want, bugs, what, rtol=1e-6)
    return True


def check_consolidation_run(tasks, acc, history, alpha, make_model):
    """What a student's online-EWC loop actually used, task by task (assignment 03, part 3).

    Parameters
    ----------
    tasks : list of Task
    acc : ndarray (T, T)
        Test accuracy on task j after task i (NaN above the diagonal), as the loop recorded it.
    history : list of dict
        One entry per task, appended after the task: ``{"importance": merged importance, "theta_star": θ*}``.
    alpha : float
        Eq 20's weight of the newest task.
    make_model : callable
        A fresh network of the loop's architecture (its weights are replaced by each θ*).

    The check rebuilds the network at each θ*, evaluates it (it must reproduce ``acc[t]``), computes the exact
    Fisher on the task's **training** images there, merges it by eq 20, and compares with the recorded importance.
    """
    from ..training import evaluate

    T = len(tasks)
    if not isinstance(history, list) or len(history) != T:
        raise AssertionError(f"history must be a list with one entry per task ({T}), appended after each task: "
                             f"{{'importance': imp, 'theta_star': theta_star}}")
    merged = None
    for t, (task, rec) in enumerate(zip(tasks, history)):
        what = f"after task {t + 1}"
        theta, imp = rec.get("theta_star"), rec.get("importance")
        if theta is None or imp is None:
            raise AssertionError(f"{what}: record both 'importance' and 'theta_star'")
        if any(torch.as_tensor(v).requires_grad for v in theta.values()):
            raise AssertionError(f"{what}: θ* is still attached to the autograd graph; store detached copies "
                                 f"(p.detach().clone())")
        model = make_model()
        with torch.no_grad():
            for n, p in model.named_parameters():
                p.copy_(theta[n])
        model.eval()
        for j in range(t + 1):
            a = evaluate(model, tasks[j].x_test, tasks[j].y_test)
            if abs(a - acc[t, j]) > 1e-6:
                raise AssertionError(f"{what}: θ* does not reproduce acc[{t}, {j}] ({a:.4f} vs {acc[t, j]:.4f}): store "
                                     f"θ* as copies of the weights at the end of the task (p.detach().clone()), not the "
                                     f"parameters themselves, which keep changing")
        F = importance.fisher_importance(model, task.x_train)
        want = F if merged is None else {k: alpha * F[k] + (1 - alpha) * merged[k] for k in F}
        got = _as_dict(imp, {n: p for n, p in model.named_parameters()}, f"the importance {what}")
        if not _close(got, want, 1e-5):
            prev = merged
            F_test = importance.fisher_importance(model, task.x_test)
            bugs = [
                ("the importance was computed on the test images; use the task's training images",
                 lambda: F_test if prev is None else {k: alpha * F_test[k] + (1 - alpha) * prev[k] for k in F}),
                ("the new importance replaced the old one: merge them with eq 20", lambda: F),
                ("α is applied to the old importance; eq 20 weights the new task by α",
                 lambda: F if prev is None else {k: (1 - alpha) * F[k] + alpha * prev[k] for k in F}),
                ("a uniform importance (every weight equally important) is not the Fisher: use "
                 "importance.fisher_importance(model, task.x_train)",
                 lambda: {k: torch.ones_like(v) for k, v in F.items()}),
            ]
            _diagnose(got, want, bugs, f"the importance {what}",
                      "is not the merged exact Fisher of the task's training images at θ*")
        merged = want
    return True


def _choice_cases():
    """Grids on which choosing λ on validation and on test differ for some method: three experiments, per seed
    (one seed's runs) and pooled, one of them with an error metric (lower is better)."""
    from ..sweeps import shipped_results

    cases = []
    for name in ("permuted_mnist_cpu", "cifar100_superclasses_cpu", "synthia_segmentation_cpu", "autoencoders_h100"):
        grid = [(c, h) for c, h in shipped_results(name)[0] if c.get("layer", "output") == "output"]
        cases.append((name, grid))
        for s in sorted({c["seed"] for c, _ in grid}):
            cases.append((f"{name}, seed {s}", [(c, h) for c, h in grid if c["seed"] == s]))
    return cases


def check_choose_on_validation(fn):
    """``fn(grid, method) -> λ``: the λ of ``method`` whose runs in ``grid`` (a list of (config, History)) have
    the best mean final average metric on the **validation** split over their seeds — the highest for an accuracy,
    the lowest for an error (``History.higher_is_better``).

    Examples
    --------
    >>> from scpviz import sweeps
    >>> check_choose_on_validation(lambda grid, m: sweeps.choose_lambda(grid, split="val")[m]["lam"])
    True
    """
    from ..sweeps import choose_lambda

    def pick(grid, method, split, direction=True):
        lams = sorted({c["lam"] for c, _ in grid if c["method"] == method})
        score = [np.mean([h.final_average_metric(split) for c, h in grid if c["method"] == method and c["lam"] == l])
                 for l in lams]
        sign = 1.0 if (grid[0][1].higher_is_better or not direction) else -1.0
        return lams[int(np.argmax(sign * np.array(score)))]

    for name, grid in _choice_cases():
        chosen = choose_lambda(grid, split="val")
        for method in sorted(m for m in chosen if m != "none"):
            what = f"{method} on {name}"
            got = _call(fn, what, list(grid), method)
            want = chosen[method]["lam"]
            if got is not None and math.isclose(float(got), want, rel_tol=1e-12):
                continue
            bugs = [
                ("you chose on the *test* split: that is the exam itself; choose on validation",
                 lambda: pick(grid, method, "test")),
                ("the metric here is an error (lower is better: History.higher_is_better is False); pick the lowest",
                 lambda: pick(grid, method, "val", direction=False)),
            ]
            for hint_, wrong in bugs:
                if got is not None and math.isclose(float(got), wrong(), rel_tol=1e-12):
                    raise AssertionError(f"{what}: {hint_}")
            raise AssertionError(f"{what}: got λ = {got}, expected λ = {want:g} (best mean final average on "
                                 f"validation over the seeds in the grid)")
    return True


def _planted_autoencoder(seed=0):
    """A tiny auto-encoder at θ* on inputs x where some hidden units never fire (blind weights), then moved as
    training on another task would move it: the blind weights a lot, the seen ones a little.

    Returns (model_now, importance, theta_star, x)."""
    from ..models import AutoEncoder

    g = torch.Generator().manual_seed(seed)
    model = AutoEncoder(in_features=12, hidden=(10,), code=4, seed=seed).double()
    x = torch.rand(30, 12, generator=g, dtype=torch.float64)
    with torch.no_grad():   # plant dead units: three first-layer units with a large negative bias never fire on x
        first = next(m for m in model.modules() if isinstance(m, nn.Linear))
        first.bias[:3] = -50.0
    imp = importance.mas_importance(model, x)
    theta_star = {n: p.detach().clone() for n, p in model.named_parameters()}
    top = max(float(v.max()) for v in imp.values())
    with torch.no_grad():
        for n, p in model.named_parameters():
            blind = imp[n] < 1e-9 * top
            p.add_(torch.where(blind, 0.8, 0.02) * torch.randn(p.shape, generator=g, dtype=torch.float64))
        first.bias[:3] = 0.5   # ... and training on the new task woke the dead units up
    return model, imp, theta_star, x


def check_blind_mask(fn):
    """``fn(importance, rel=1e-9) -> dict``: {name: bool tensor}, True where the importance is below ``rel`` times
    the largest importance of the whole network (the entries the penalty is blind to).

    Examples
    --------
    >>> def blind_mask(imp, rel=1e-9):
    ...     top = max(float(v.max()) for v in imp.values())
    ...     return {n: v < rel * top for n, v in imp.items()}
    >>> check_blind_mask(blind_mask)
    True
    """
    g = torch.Generator().manual_seed(0)
    for rel in (1e-9, 1e-3):
        imp = {}
        for i, (k, s) in enumerate({"w1": (6, 4), "b1": (6,), "w2": (3, 6)}.items()):
            v = torch.rand(s, generator=g, dtype=torch.float64) * 10.0 ** (-6 * i)
            v[torch.rand(s, generator=g) < 0.4] = 0.0
            imp[k] = v
        what = f"the blind mask (rel = {rel:g})"
        got = _call(fn, what, {k: v.clone() for k, v in imp.items()}, rel=rel)
        if not isinstance(got, dict) or set(got) != set(imp):
            raise AssertionError(f"{what}: return a dict with the importance's keys, one bool tensor each")
        top = max(float(v.max()) for v in imp.values())
        for k, v in imp.items():
            m = torch.as_tensor(got[k])
            if m.shape != v.shape:
                raise AssertionError(f"{what}: entry {k!r} has shape {tuple(m.shape)}, expected {tuple(v.shape)}")
            want = v < rel * top
            if torch.equal(m.bool(), want):
                continue
            if torch.equal(m.bool(), ~want):
                raise AssertionError(f"{what}: your mask marks the weights the penalty *sees*; True must mean blind")
            if torch.equal(m.bool(), v < rel * v.max()):
                raise AssertionError(f"{what}: you compared each tensor with its own maximum; the threshold is "
                                     f"relative to the largest importance of the whole network")
            if torch.equal(m.bool(), v == 0):
                raise AssertionError(f"{what}: you marked only exact zeros; use the threshold rel × (largest "
                                     f"importance)")
            raise AssertionError(f"{what}: entry {k!r} differs from importance < rel × (largest importance)")
    return True


def check_reset_entries(fn):
    """``fn(model, theta_star, mask) -> nn.Module``: a *copy* of ``model`` in which the entries where ``mask`` is
    True are put back to θ* and all others keep their current values; ``model`` itself is not changed.

    Examples
    --------
    >>> import copy
    >>> def reset_entries(model, theta_star, mask):
    ...     twin = copy.deepcopy(model)
    ...     with torch.no_grad():
    ...         for n, p in twin.named_parameters():
    ...             p.copy_(torch.where(mask[n], theta_star[n], p))
    ...     return twin
    >>> check_reset_entries(reset_entries)
    True
    """
    model, imp, theta_star, x = _planted_autoencoder()
    top = max(float(v.max()) for v in imp.values())
    mask = {n: v < 1e-9 * top for n, v in imp.items()}
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    what = "resetting the masked entries"
    got = _call(fn, what, model, {k: v.clone() for k, v in theta_star.items()}, {k: v.clone() for k, v in mask.items()})
    if got is model:
        raise AssertionError(f"{what}: you returned the model itself; return a copy (copy.deepcopy) and leave the "
                             f"model as it was")
    if not all(torch.equal(p.detach(), before[n]) for n, p in model.named_parameters()):
        raise AssertionError(f"{what}: the model you were handed changed; reset the entries of a copy "
                             f"(copy.deepcopy(model))")
    for n, p in dict(got.named_parameters()).items():
        want = torch.where(mask[n], theta_star[n], before[n])
        if torch.equal(p.detach(), want):
            continue
        if torch.equal(p.detach(), torch.where(mask[n], before[n], theta_star[n])):
            raise AssertionError(f"{what}: you reset the entries where the mask is False; reset where it is True")
        if torch.equal(p.detach(), theta_star[n]):
            raise AssertionError(f"{what}: you reset every entry of {n!r}; only the masked ones go back to θ*")
        raise AssertionError(f"{what}: parameter {n!r} is not θ* where the mask is True and unchanged elsewhere")
    return True


def check_blind_reset_test(fn):
    """``fn(model, importance, theta_star, x, rel=1e-9) -> dict``: the causal test of notebook 07 — the mean ℓ1
    reconstruction error on ``x`` of the model ``"now"``, with only its blind entries reset to θ*
    (``"blind_reset"``) and with only the others reset (``"seen_reset"``); the model is left unchanged. Checked on
    a planted case: a tiny auto-encoder whose dead units' weights moved a lot and whose other weights moved a little.

    Examples
    --------
    >>> from scpviz.training import blind_reset_test
    >>> check_blind_reset_test(lambda m, imp, ts, x, rel=1e-9: blind_reset_test(m, imp, ts, x, rel_tol=rel))
    True
    """
    from ..training import blind_reset_test as reference

    model, imp, theta_star, x = _planted_autoencoder()
    want = reference(copy.deepcopy(model), imp, theta_star, x, rel_tol=1e-9)
    what = "the blind-reset test on a planted auto-encoder"
    got = _call(fn, what, model, imp, theta_star, x)
    if not isinstance(got, dict) or not {"now", "blind_reset", "seen_reset"} <= set(got):
        raise AssertionError(f"{what}: return a dict with 'now', 'blind_reset' and 'seen_reset'")
    for key in ("now", "blind_reset", "seen_reset"):
        value = float(got[key])
        if math.isclose(value, want[key], rel_tol=1e-6):
            continue
        if key != "now" and math.isclose(value, want["seen_reset" if key == "blind_reset" else "blind_reset"],
                                          rel_tol=1e-6):
            raise AssertionError(f"{what}: '{key}' holds the other reset's error; 'blind_reset' resets the entries "
                                 f"with importance below rel × max, 'seen_reset' all the others")
        if math.isclose(value, want["anchor"], rel_tol=1e-6):
            raise AssertionError(f"{what}: '{key}' is the error at θ* (every entry reset); reset only one group")
        raise AssertionError(f"{what}: '{key}' = {value:.6g}, expected {want[key]:.6g} (mean ℓ1 reconstruction "
                             f"error per image, training.evaluate(model, x, None, 'reconstruction'))")
    return True
