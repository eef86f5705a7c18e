"""Catastrophic forgetting in its smallest form (notebook 00): learn task A, then task B, and watch A.

For each penalty strength λ the same network (same seed, same batches, so the same θ* after A) learns A and then
B under no penalty (λ = 0), a uniform pull λ Σ (θ − θ*)² towards A's weights (``"l2"``), or an
importance-weighted one λ Σ Fᵢᵢ (θᵢ − θ*ᵢ)² (online-EWC's Fisher, ``"ewc"``).
"""

from __future__ import annotations

from ..consolidation import Consolidation
from ..training import train_sequence

__all__ = ["stability_plasticity_sweep"]


def stability_plasticity_sweep(make_model, task_a, task_b, lams, penalties=("l2", "ewc"), epochs=2, lr=1e-3,
                               batch_size=100, seed=0, progress=True) -> dict:
    """Learn A then B once per penalty and λ, from the same initialisation.

    Parameters
    ----------
    make_model : callable() -> nn.Module
        Returns a fresh, identically initialised network (e.g. ``lambda: models.MLP(..., seed=0)``).
    task_a, task_b : scpviz.datasets.Task
    lams : sequence of float
        Penalty strengths; 0 is the no-consolidation run.
    penalties : sequence of {"l2", "ewc", "mas", "scp"}
        Methods of :class:`~scpviz.consolidation.Consolidation` (``"l2"``: every weight equally important).

    Returns
    -------
    dict
        ``{penalty: {lam: History}}``, each History over the two tasks (evaluated after every epoch).

    Examples
    --------
    >>> from scpviz import datasets, models
    >>> ds = datasets.load_digits_fallback()
    >>> a, b = datasets.permuted_mnist_tasks(ds, n_tasks=2, seed=0, n_train=100, n_test=50)
    >>> runs = stability_plasticity_sweep(lambda: models.MLP(a.x_train.shape[1], (16,), 10, seed=0), a, b, [0, 1],
    ...                                   penalties=["l2"], epochs=1, progress=False)
    >>> sorted(runs["l2"])
    [0.0, 1.0]
    """
    from tqdm.auto import tqdm

    lams = [float(v) for v in lams]
    if not lams or any(v < 0 for v in lams):
        raise ValueError(f"lams={lams!r} must be a non-empty list of numbers >= 0 (0 = no consolidation).")
    out = {p: {} for p in penalties}
    todo = [(p, lam) for p in penalties for lam in lams]
    for penalty, lam in tqdm(todo, disable=not progress, desc="A then B, per penalty and λ", leave=False):
        cons = Consolidation(penalty, lam=lam, seed=seed)
        out[penalty][lam] = train_sequence(make_model(), [task_a, task_b], consolidation=cons, epochs=epochs, lr=lr,
                                           batch_size=batch_size, seed=seed, progress=False,
                                           config=dict(penalty=penalty, lam=lam))
    return out
