"""Do two importances protect the same weights, and are their magnitudes spread alike? Rank agreement of their
diagonals and the agreement of their shapes (Figure 3b; notebooks 05 and 06)."""

from __future__ import annotations

import itertools

import numpy as np

from .common import flatten_importance

__all__ = ["rank_agreement", "shape_agreement"]


def _positive_flat(importances: dict, rel_floor: float) -> tuple:
    if len(importances) < 2:
        raise ValueError(f"importances must hold at least two importances to compare; got {list(importances)}")
    flat = {k: flatten_importance(v).detach().double().cpu().numpy() for k, v in importances.items()}
    sizes = {k: len(v) for k, v in flat.items()}
    if len(set(sizes.values())) != 1:
        raise ValueError(f"importances belong to different models (numbers of weights {sizes})")
    keep = np.all([v > rel_floor * v.max() for v in flat.values()], axis=0)
    return flat, keep


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

    flat, keep = _positive_flat(importances, rel_floor)
    out = {(a, b): float(stats.spearmanr(flat[a][keep], flat[b][keep]).statistic)
           for a, b in itertools.combinations(flat, 2)}
    out["kept"] = float(keep.mean())
    return out


def shape_agreement(importances: dict, bins: int = 50, rel_floor: float = 1e-12) -> dict:
    """How alike the *shapes* of importance histograms are (Figure 3b), whatever their scales: every pair's
    two-sample Kolmogorov–Smirnov distance and histogram overlap between the standardised log-importances, with
    Spearman's ρ (:func:`rank_agreement`) beside them.

    Each importance's log₁₀ values on the weights all of them see (as in :func:`rank_agreement`) are standardised to
    mean 0 and standard deviation 1, so a λ (a shift of log₁₀) or a power (a stretch) cannot make two shapes differ.
    Figure 3b's reading in the paper — the sample-based importances (EWC, MAS) alike, SCP's different — predicts a
    smaller KS distance and a larger overlap for (ewc, mas) than for either with scp.

    Parameters
    ----------
    importances : dict
        ``{name: importance}`` (same model), at least two.
    bins : int
        Common bins of the standardised values, over the range of all of them, for the overlap.
    rel_floor : float
        As in :func:`rank_agreement`.

    Returns
    -------
    dict
        ``{(a, b): {"spearman": ρ, "ks": D, "overlap": Σ min(p_a, p_b)}}`` for every pair (D and overlap in [0, 1]:
        D = 0 and overlap = 1 for identical shapes), plus ``"kept"``.

    Examples
    --------
    >>> import torch
    >>> f = {"w": torch.tensor([1.0, 10.0, 100.0, 1000.0])}
    >>> g = {"w": torch.tensor([100.0, 1e3, 1e4, 1e5])}            # the same shape, another scale
    >>> r = shape_agreement({"f": f, "g": g}, bins=4)[("f", "g")]
    >>> r["ks"], r["overlap"], round(r["spearman"], 6)
    (0.0, 1.0, 1.0)
    """
    from scipy import stats

    if isinstance(bins, bool) or not isinstance(bins, (int, np.integer)) or bins < 2:
        raise ValueError(f"bins={bins!r} must be an integer >= 2.")
    flat, keep = _positive_flat(importances, rel_floor)
    if keep.sum() < 2:
        raise ValueError("fewer than two weights have a non-zero importance in every method: nothing to compare.")
    z = {}
    for k, v in flat.items():
        lv = np.log10(v[keep])
        z[k] = (lv - lv.mean()) / (lv.std() if lv.std() > 0 else 1.0)
    edges = np.linspace(min(v.min() for v in z.values()), max(v.max() for v in z.values()), bins + 1)
    hist = {k: np.histogram(v, bins=edges)[0] / len(v) for k, v in z.items()}
    ranks = rank_agreement(importances, rel_floor)
    out = {(a, b): dict(spearman=ranks[(a, b)], ks=float(stats.ks_2samp(z[a], z[b]).statistic),
                        overlap=float(np.minimum(hist[a], hist[b]).sum()))
           for a, b in itertools.combinations(z, 2)}
    out["kept"] = float(keep.mean())
    return out
