"""Checkers of online consolidation (notebook 05, assignment 03): the eq 20 merge of importances, the eq 17
penalty, and what a student's online-EWC loop actually recorded, task by task.
"""

from __future__ import annotations

import torch

from ... import importance
from .common import _as_dict, _call, _close, _diagnose, _params, checker_models

__all__ = ["check_online_merge", "check_penalty", "check_consolidation_run"]


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
    from ...training import evaluate

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
