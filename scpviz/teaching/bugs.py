"""A gallery of mistakes found in public SCP / EWC code, reproduced on purpose (notebook 05).

Each function computes what a buggy implementation computes, so that notebook 05
can measure it against the exact quantity of :mod:`scpviz.importance` and
:mod:`scpviz.consolidation`. Nothing here is used for training.

* :func:`scp_average_slices_first` — project on the *mean* of the L slices, then
  square once (a tempting shortcut; we know of no citable public source, so it is
  shown as a plausible mistake): E = Γ/L, and the noise of a single random direction.
* :func:`wrong_axis_slices` — normalise random directions along the slice axis
  instead of per slice: ‖ξ_l‖² ≈ K/L instead of 1. Kolouri's ``SCP`` class as
  published in lihr04/corel2m, ``utils/scp_utils/scp.py`` at commit 36c30fe, builds
  ``torch.randn((K, n_slices))`` and normalises each of its K rows.
* :func:`scp_per_batch_divided` — square the *batch* mean's projection per batch,
  then normalise by a count: sums of squares of batch means are not squares of the
  data mean, and the factor depends on the batch layout. ``scp_v2.py`` (same
  commit) squares per batch and divides by the dataset size N (≈ Γ / batch size);
  this function divides by B² (≈ Γ / B).
* :func:`merge_weights_alpha_on_old` — eq 20 with α on the *old* importance.
* :func:`merge_weights_sum_of_totals` — adding an already accumulated total to
  itself each task: the oldest task's weight doubles every task.
* :func:`merge_weights_gamma_sum` — online-EWC's γ-decayed sum (Schwarz et al. 2018).
"""

from __future__ import annotations

import numpy as np
import torch

from ..consolidation import merge_weights
from ..importance.common import (_forward_at, _model_device, _model_dtype, _resolve_layer, eval_mode, iter_batches,
                         trainable_parameters)

__all__ = ["scp_average_slices_first", "wrong_axis_slices", "scp_per_batch_divided",
           "merge_weights_alpha_on_old", "merge_weights_sum_of_totals", "merge_weights_gamma_sum",
           "all_merge_weights", "ratio_statistics", "gamma_unchecked"]


def scp_average_slices_first(model, data, slices, layer=None, batch_size=2000):
    """BUG: Γ_bug,i = (∂(ξ̄·φ̄)/∂θ_i)² with ξ̄ = (1/L) Σ_l ξ_l — averaged *before* squaring."""
    params = trainable_parameters(model)
    layer_mod = _resolve_layer(model, layer)
    xi_bar = torch.as_tensor(slices).mean(0)
    acc, n = {k: torch.zeros_like(p) for k, p in params.items()}, 0
    with eval_mode(model):
        for x, _ in iter_batches(data, batch_size, _model_device(model), _model_dtype(model)):
            out = _forward_at(model, x, layer_mod).sum(0)
            grads = torch.autograd.grad(out @ xi_bar.to(out), list(params.values()), allow_unused=True)
            for k, g in zip(params, grads):
                if g is not None:
                    acc[k] += g
            n += len(x)
    return {k: (v / n) ** 2 for k, v in acc.items()}


def wrong_axis_slices(n_slices, dim, seed=None):
    """BUG: Gaussian directions normalised along the slice axis (dim 0): each *column* has norm 1.

    Each row then has squared norm ≈ dim / n_slices instead of 1.
    """
    g = torch.Generator().manual_seed(int(seed)) if seed is not None else None
    xi = torch.randn(n_slices, dim, generator=g, dtype=torch.float64)
    return xi / xi.norm(dim=0, keepdim=True)


def scp_per_batch_divided(model, data, slices, layer=None, batch_size=100):
    """BUG: per batch b, Γ_b = (1/L) Σ_l (∂ ξ_l·φ̄_b/∂θ)² of the *batch* mean; then Γ = (1/B) Σ_b Γ_b / B.

    Squaring per batch (a sum of squares of batch means, not the square of the
    data mean) is what ``utils/scp_utils/scp_v2.py`` of lihr04/corel2m (commit
    36c30fe) does; it then divides by the dataset size N, this function by B².
    """
    params = trainable_parameters(model)
    layer_mod = _resolve_layer(model, layer)
    s = torch.as_tensor(slices)
    acc, n_batches = {k: torch.zeros_like(p) for k, p in params.items()}, 0
    with eval_mode(model):
        for x, _ in iter_batches(data, batch_size, _model_device(model), _model_dtype(model)):
            mean = _forward_at(model, x, layer_mod).mean(0)
            for l in range(len(s)):
                grads = torch.autograd.grad(mean @ s[l].to(mean), list(params.values()), retain_graph=True,
                                            allow_unused=True)
                for k, g in zip(params, grads):
                    if g is not None:
                        acc[k] += g ** 2 / len(s)
            n_batches += 1
    return {k: v / n_batches / n_batches for k, v in acc.items()}


def merge_weights_alpha_on_old(n_tasks, alpha):
    """BUG: Γ⁽ᵗ⁾ = (1 − α) Γ_t + α Γ⁽ᵗ⁻¹⁾ — eq 20 with α on the old importance."""
    return merge_weights(n_tasks, 1.0 - alpha) if alpha > 0 else np.eye(n_tasks)[-1]


def merge_weights_sum_of_totals(n_tasks):
    """BUG: total ← total + (total + Γ_t) — re-adding the accumulated total: weights 2^(T−t−1) (oldest doubles)."""
    w = np.zeros(n_tasks)
    for t in range(n_tasks):
        new = w.copy()
        new[t] += 1.0
        w = w + new if t > 0 else new
    return w


def merge_weights_gamma_sum(n_tasks, gamma=1.0):
    """Online-EWC (Schwarz et al. 2018): F̃⁽ᵗ⁾ = γ F̃⁽ᵗ⁻¹⁾ + F_t — weights γ^(T−t); γ = 1 is a plain sum."""
    return np.array([gamma ** (n_tasks - 1 - t) for t in range(n_tasks)])


def all_merge_weights(n_tasks, alpha=0.75, gamma=1.0):
    """Weight of each past task (oldest first) after ``n_tasks`` tasks under each rule, for one plot."""
    return {
        f"eq 20, α = {alpha} on new (scpviz)": merge_weights(n_tasks, alpha),
        f"α = {alpha} put on the old importance": merge_weights_alpha_on_old(n_tasks, alpha),
        f"online-EWC γ-sum, γ = {gamma}": merge_weights_gamma_sum(n_tasks, gamma),
        "re-added totals (bug)": merge_weights_sum_of_totals(n_tasks),
    }


def ratio_statistics(samples, exact):
    """How a buggy importance compares with the exact one, entry by entry.

    Parameters
    ----------
    samples : list of dict
        Buggy importances from independent slice draws.
    exact : dict
        The exact importance.

    Returns
    -------
    dict
        ``mean_ratio``: mean over draws and entries of bug/exact (1 = unbiased);
        ``median_cv``: median over entries of the coefficient of variation over
        draws (0 = no Monte-Carlo noise); None for a single draw, which has no spread.
    """
    from ..importance import flatten_importance

    ex = flatten_importance(exact).double()
    keep = ex > ex.max() * 1e-8
    S = torch.stack([flatten_importance(s).double()[keep] for s in samples]) / ex[keep]
    if len(S) < 2:
        return {"mean_ratio": S.mean().item(), "median_cv": None}
    cv = S.std(0) / S.mean(0)
    return {"mean_ratio": S.mean().item(), "median_cv": cv.median().item()}


def gamma_unchecked(jac, slices):
    """Γ_ii = (1/L) Σ_l (ξ_l · J̄_i)² for *any* slices, unit or not (what buggy code computes).

    :func:`scpviz.importance.scp_importance` refuses non-unit slices; this
    function exists to measure what they do.
    """
    s = torch.as_tensor(slices, dtype=torch.float64)
    S = s.T @ s / s.shape[0]
    K = S.shape[0]
    out = {}
    for name, J in jac.items():
        Jf = J.reshape(K, -1)
        out[name] = ((S.to(Jf) @ Jf) * Jf).sum(0).reshape(J.shape[1:])
    return out
