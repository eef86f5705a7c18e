"""Where a diagonal quadratic penalty is blind: dead units and the drift of zero-importance weights.

EWC, MAS and SCP all penalise λ Σ_i Γ_i (θ_i − θ*_i)² (eq 17) with Γ from derivatives *at θ** on the old
task's data. A ReLU unit that never fires on that data has zero derivative there, so its incoming and outgoing
weights get Γ_i = 0 (and so do weights into saturated sigmoid outputs, Γ_i ≈ 0). The penalty lets them move
freely; once they make the unit fire on old inputs, the old task's outputs change — a change no second-order
expansion at θ* can see (§3's Taylor expansion is local). This module measures that: which units are dead on
a task, and how much of the parameter drift during the next task lands on weights the penalty cannot see.
"""

from __future__ import annotations

import torch
import torch.nn as nn

from ..training import blind_entries, blind_reset_test, evaluate, train_task
from ..importance import eval_mode, iter_batches

__all__ = ["dead_units", "drift_by_importance", "two_task_drift", "blind_reset_test"]


def dead_units(model, data, kinds=(nn.ReLU,), batch_size=2000) -> dict:
    """Units that output ≤ 0 for every input in ``data`` (ReLU units that never fire on it).

    Parameters
    ----------
    model : nn.Module
    data : Tensor, (x, y) tuple or Task
        Inputs (labels ignored).
    kinds : tuple of module types
        Activation modules whose outputs are inspected (default ``nn.ReLU``).
    batch_size : int
        Memory knob only.

    Returns
    -------
    dict[str, Tensor]
        Module name → boolean tensor over that module's output units (flattened per sample), True = dead.
    """
    mods = {n: m for n, m in model.named_modules() if isinstance(m, tuple(kinds))}
    if not mods:
        raise ValueError(f"model has no module of kinds={kinds!r}; pass the activation types it uses.")
    alive = {}

    def hook(name):
        def fn(mod, inp, out):
            fired = (out.detach().flatten(1) > 0).any(0)
            alive[name] = fired if name not in alive else alive[name] | fired
        return fn

    handles = [m.register_forward_hook(hook(n)) for n, m in mods.items()]
    try:
        with eval_mode(model), torch.no_grad():
            p = next(model.parameters())
            for x, _ in iter_batches(data, batch_size, device=p.device, dtype=p.dtype):
                model(x)
    finally:
        for h in handles:
            h.remove()
    return {n: ~alive[n] for n in mods}


def drift_by_importance(importance, theta_star, model, lam=1.0, rel_tol=1e-9) -> dict:
    """How much of the drift θ − θ* lands on weights whose importance is (numerically) zero.

    Parameters
    ----------
    importance : dict[str, Tensor]
        Γ (or F, Ω) per parameter, as from :mod:`scpviz.importance`.
    theta_star : dict[str, Tensor]
        The anchor θ* (parameters at the end of the old task).
    model : nn.Module
        The model now (after training on the new task).
    lam : float
        λ, for the penalty column.
    rel_tol : float
        An entry is "blind" when Γ_i < rel_tol · max_j Γ_j (max over all parameters).

    Returns
    -------
    dict
        ``rows``: one dict per parameter tensor (``name``, ``n``, ``blind_fraction``, ``drift`` = Σ δ²,
        ``blind_drift`` = Σ δ² over blind entries, ``penalty`` = λ Σ Γ δ²); and totals ``blind_fraction``
        (share of parameters that are blind), ``blind_drift_share`` (share of Σ δ² on blind entries),
        ``drift`` and ``penalty``.
    """
    mask = blind_entries(importance, theta_star, model, rel_tol)
    params = dict(model.named_parameters())
    rows = []
    for name, g in importance.items():
        d2 = (params[name].detach() - theta_star[name].to(params[name].device)).pow(2)
        blind = mask[name]
        rows.append(dict(name=name, n=g.numel(), blind_fraction=float(blind.float().mean()),
                         drift=float(d2.sum()), blind_drift=float(d2[blind].sum()),
                         penalty=float(lam * (g * d2).sum())))
    n = sum(r["n"] for r in rows)
    drift = sum(r["drift"] for r in rows)
    return dict(rows=rows, blind_fraction=sum(r["blind_fraction"] * r["n"] for r in rows) / n,
                blind_drift_share=sum(r["blind_drift"] for r in rows) / drift if drift > 0 else 0.0,
                drift=drift, penalty=sum(r["penalty"] for r in rows))


def two_task_drift(model, task_a, task_b, consolidation, epochs=1, lr=1e-4, batch_size=100,
                   objective="reconstruction", seed=0, rel_tol=1e-9) -> dict:
    """Train on ``task_a``, consolidate, train on ``task_b``; report where the parameters moved.

    Returns
    -------
    dict
        ``a_before`` / ``a_after`` (task A's metric after A and after B), ``b_after``, ``dead`` (units dead on
        A's training inputs after A, per module), ``revived`` (how many of those fire on A after B), and
        the :func:`drift_by_importance` summary under ``drift``.
    """
    train_task(model, task_a, epochs=epochs, lr=lr, batch_size=batch_size, objective=objective, seed=seed,
               progress=False)
    a_before = evaluate(model, task_a.x_test, task_a.y_test, objective)
    dead = dead_units(model, task_a.x_train)
    data = task_a.x_train if task_a.y_train is None else (task_a.x_train, task_a.y_train)
    consolidation.consolidate(model, data)
    theta_star = {n: p.detach().clone() for n, p in model.named_parameters()}
    train_task(model, task_b, epochs=epochs, lr=lr, batch_size=batch_size, objective=objective, seed=seed + 1,
               consolidation=consolidation, progress=False)
    after = dead_units(model, task_a.x_train)
    return dict(a_before=a_before, a_after=evaluate(model, task_a.x_test, task_a.y_test, objective),
                b_after=evaluate(model, task_b.x_test, task_b.y_test, objective),
                dead={n: int(d.sum()) for n, d in dead.items()},
                units={n: d.numel() for n, d in dead.items()},
                revived={n: int((dead[n] & ~after[n]).sum()) for n in dead},
                drift=drift_by_importance(consolidation.importance, theta_star, model, lam=consolidation.lam,
                                          rel_tol=rel_tol))

