"""The causal test of a quadratic penalty's blind spot: reset only the weights it cannot see.

A diagonal penalty λ Σ Γ_i (θ_i − θ*_i)² with Γ from derivatives at θ* cannot see weights with Γ_i ≈ 0 (those of
units silent on the old task, :mod:`scpviz.teaching.diagnostics`). Whether their drift *causes* the old task's
loss is a causal question: put back only those weights, or only the others, and measure the old task again.
"""

from __future__ import annotations

import copy

import torch

from .engine import evaluate

__all__ = ["blind_reset_test", "blind_entries"]


def blind_entries(importance, theta_star, model, rel_tol=1e-9) -> dict:
    """``{name: bool tensor}``: the entries the penalty cannot see, Γ_i < rel_tol · max_j Γ_j (max over all
    parameters), after checking that ``importance``, ``theta_star`` and ``model`` belong to the same network."""
    if rel_tol < 0:
        raise ValueError(f"rel_tol={rel_tol!r} must be >= 0.")
    params = dict(model.named_parameters())
    missing = [n for n in importance if n not in params or n not in theta_star]
    if missing:
        raise ValueError(f"importance names {missing} are not parameters of model / keys of theta_star; "
                         "pass the importance, θ* and model of the same network.")
    top = max(float(g.max()) for g in importance.values())
    return {n: g < rel_tol * top for n, g in importance.items()}


def blind_reset_test(model, importance, theta_star, data, objective="reconstruction", rel_tol=1e-9,
                     batch_size=2000) -> dict:
    """The causal test of the blind spot: put only the blind weights back to θ*, or only the seen ones.

    If the old task's error rise comes from weights the penalty cannot see (Γ_i ≈ 0), resetting *those* to θ*
    — and nothing else — brings the old task back to its error at θ*, and resetting every other weight does not.
    The model itself is left unchanged (copies are reset).

    Parameters
    ----------
    model : nn.Module
        After training on later tasks.
    importance, theta_star : dict[str, Tensor]
        Γ (or F, Ω) and the anchor θ* of the penalty, per parameter (e.g. a Consolidation's attributes).
    data : Tensor or (x, y) tuple, or list of them
        The old task's evaluation data (several tasks: the metric is averaged over them).
    objective : Objective or str
        How the metric is computed (:func:`scpviz.training.evaluate`).
    rel_tol : float
        Entry i is blind when Γ_i < rel_tol · max_j Γ_j (as :func:`drift_by_importance`).

    Returns
    -------
    dict
        ``now``, ``anchor`` (θ*), ``blind_reset`` and ``seen_reset``: the metric of each model; ``n_blind`` and
        ``n_seen`` entries; ``recovered``: the share of the change (now − anchor) that the blind reset undoes
        (1 = all of it; None when nothing changed).
    """
    blind = blind_entries(importance, theta_star, model, rel_tol)
    sets = data if isinstance(data, list) else [data]

    def metric_of(which):
        twin = copy.deepcopy(model)
        with torch.no_grad():
            for name, p in twin.named_parameters():
                if name not in importance:
                    continue
                anchor = theta_star[name].to(p)
                mask = {"anchor": torch.ones_like(blind[name]), "blind": blind[name], "seen": ~blind[name],
                        "now": torch.zeros_like(blind[name])}[which]
                p.copy_(torch.where(mask, anchor, p))
        vals = [evaluate(twin, *(d if isinstance(d, tuple) else (d, None)), objective, batch_size) for d in sets]
        return float(sum(vals) / len(vals))

    out = dict(now=metric_of("now"), anchor=metric_of("anchor"), blind_reset=metric_of("blind"),
               seen_reset=metric_of("seen"), n_blind=int(sum(int(b.sum()) for b in blind.values())),
               n_seen=int(sum(int((~b).sum()) for b in blind.values())))
    change = out["now"] - out["anchor"]
    out["recovered"] = (out["now"] - out["blind_reset"]) / change if change != 0 else None
    return out
