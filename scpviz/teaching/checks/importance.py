"""Checkers of the importance functions: Γ of SCP (eq 19), the exact Fisher of EWC, Ω of MAS (eq 7), and
assignment 02's averaged-slices mistake and its measured bias.

Each checker runs the student's function on :func:`.common.checker_models` (train mode, stale gradients) and
compares with :mod:`scpviz.importance`; when the answer is wrong it tries the known bugs of public code
(:mod:`scpviz.teaching.bugs` and the variants here), and on the BatchNorm/Dropout network says the importance was
probably computed in train mode.
"""

from __future__ import annotations

import copy

import numpy as np
import torch

from ... import distances, importance
from .common import (TRAIN_MODE_HINT, _call, _close, _compare_number, _diagnose, _DropBN, _params,
                     _per_sample_grads, _ratio, _student_importance, checker_models)

__all__ = ["check_scp_importance", "check_fisher_importance", "check_mas_importance", "check_averaged_first",
           "check_bias"]


def check_scp_importance(fn):
    """``fn(model, x, slices) -> dict``: the diagonal Γ of eq 19 / Algorithm 1 at the model's output,
    Γ_i = (1/L) Σ_l (∂ ξ_l·φ̄ / ∂θ_i)² with φ̄ the mean output over x, in eval mode.

    Examples
    --------
    >>> from scpviz import importance
    >>> check_scp_importance(lambda model, x, slices: importance.scp_importance(model, x, slices=slices))
    True
    """
    from .. import bugs as gallery

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


def check_averaged_first(fn):
    """``fn(model, x, slices) -> dict``: the averaged-slices mistake itself — project φ̄ on the mean slice
    ξ̄ = (1/L) Σ_l ξ_l and square the gradient once (what NTU's HW14 sample code computes), in eval mode.

    Examples
    --------
    >>> from scpviz.teaching import bugs
    >>> check_averaged_first(bugs.scp_average_slices_first)
    True
    """
    from .. import bugs as gallery

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
