"""Do two importances protect the same weights? Rank agreement of their diagonals (notebook 05)."""

from __future__ import annotations

import itertools

import numpy as np

from .common import flatten_importance

__all__ = ["rank_agreement"]


def rank_agreement(importances: dict, rel_floor: float = 1e-12) -> dict:
    """Spearman rank correlation between every pair of diagonal importances, on the weights all of them see.

    Weights that some importance sets to (numerically) zero — e.g. weights from MNIST's always-black border
    pixels — are left out: they would agree trivially and inflate the correlation.

    Parameters
    ----------
    importances : dict
        ``{name: importance}``, each a dict of tensors as returned by :mod:`scpviz.importance` (same model).
    rel_floor : float
        An entry counts as zero below ``rel_floor`` × that importance's largest entry.

    Returns
    -------
    dict
        ``{(a, b): rho}`` for every pair, plus ``"kept"``: the share of weights used.

    Examples
    --------
    >>> import torch
    >>> f = {"w": torch.tensor([1.0, 2.0, 3.0, 0.0])}
    >>> g = {"w": torch.tensor([10.0, 30.0, 20.0, 5.0])}
    >>> r = rank_agreement({"f": f, "g": g})
    >>> round(r[("f", "g")], 3), r["kept"]
    (0.5, 0.75)
    """
    from scipy import stats

    if len(importances) < 2:
        raise ValueError(f"importances must hold at least two importances to compare; got {list(importances)}")
    flat = {k: flatten_importance(v).detach().double().cpu().numpy() for k, v in importances.items()}
    sizes = {k: len(v) for k, v in flat.items()}
    if len(set(sizes.values())) != 1:
        raise ValueError(f"importances belong to different models (numbers of weights {sizes})")
    keep = np.all([v > rel_floor * v.max() for v in flat.values()], axis=0)
    out = {(a, b): float(stats.spearmanr(flat[a][keep], flat[b][keep]).statistic)
           for a, b in itertools.combinations(flat, 2)}
    out["kept"] = float(keep.mean())
    return out
