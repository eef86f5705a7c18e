"""EWC's importance: the diagonal Fisher information F (eq 3–4), exact, sampled or empirical."""

from __future__ import annotations


import torch
import torch.nn as nn  # noqa: F401  (the Examples use nn)
import torch.nn.functional as F

from .common import trainable_parameters
from .per_sample import _run_per_sample

FISHER_LABELS = ("exact", "sample", "empirical")


def fisher_importance(model, data, labels="exact", seed=None, batch_size=500, method="auto", per_position=False):
    r"""Diagonal Fisher information of the classifier p_θ(y|x) = softmax(φ(x; θ)) (eq 3–4).

    .. math:: F_{ii} = \mathbb E_x\, \mathbb E_{y}\Big[\Big(\frac{\partial \log p_\theta(y|x)}{\partial\theta_i}\Big)^2\Big]

    Parameters
    ----------
    model : nn.Module
        Returns logits (N, C).
    data : tensor, (x, y) tuple, iterable of batches or Task
    labels : {"exact", "sample", "empirical"}
        How y is taken: ``"exact"`` sums over all classes weighted by
        p_θ(y|x) — the true Fisher of eq 3; ``"sample"`` draws one y ~ p_θ(·|x)
        per input (unbiased Monte-Carlo estimate, seeded by ``seed``);
        ``"empirical"`` uses the data's labels (the "empirical Fisher", which is
        *not* the Fisher of eq 3; needs labelled data).
    seed : int, optional
        For ``"sample"``.
    method : {"auto", "hooks", "func"}
        ``"hooks"``: the per-layer rule for nn.Linear (fast); ``"func"``:
        torch.func per-sample gradients (any module); ``"auto"`` picks hooks
        when every trainable parameter sits in an nn.Linear fed 2-D inputs.
    per_position : bool
        For dense outputs (N, C, H, W) such as segmentation (§5.3): a softmax over the C classes at *every* position,
        the positions independent given x, so log p(Y|x) = Σ_positions log p(y_pos|x). With ``labels="sample"`` one
        label map Y ~ p(·|x) is drawn per image (every position drawn from its own softmax) — an unbiased estimate of
        the diagonal Fisher at one backward pass per image; ``"empirical"`` uses the data's label maps. ``"exact"``
        is refused: it needs C·H·W backward passes per image.

    Returns
    -------
    dict[str, Tensor]
        Same shapes as the trainable parameters.

    Notes
    -----
    EWC's penalty (eq 5) is (λ_EWC/2) Σ F (θ − θ*)²; scpviz's penalty is
    λ Σ F (θ − θ*)² (eq 17's form for every method), so λ = λ_EWC / 2.

    Examples
    --------
    >>> model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
    >>> F_ = fisher_importance(model, torch.randn(16, 4))
    >>> F_["0.weight"].shape
    torch.Size([8, 4])
    """
    if labels not in FISHER_LABELS:
        raise ValueError(f"labels={labels!r} must be one of {FISHER_LABELS}.")
    if per_position and labels == "exact":
        raise ValueError("labels='exact' with per_position=True needs one backward pass per class and position "
                         "(C·H·W per image): use labels='sample' (unbiased, one per image) or 'empirical'.")
    params = trainable_parameters(model)
    gen = torch.Generator().manual_seed(int(seed)) if seed is not None else None

    def losses(out, y):
        if per_position:
            if out.ndim < 3:
                raise ValueError(f"per_position=True needs dense outputs (N, C, H, W), got {tuple(out.shape)}.")
            if y is None:
                raise ValueError("labels='empirical' needs labelled data: pass (x, y) batches with label maps.")
            logp = F.log_softmax(out, dim=1).gather(1, y.long()[:, None]).squeeze(1)
            return [logp.flatten(1).sum(1)]
        logp = F.log_softmax(out.reshape(len(out), -1), dim=1)
        if labels == "exact":
            w = logp.detach().exp().sqrt()
            return [w[:, c] * logp[:, c] for c in range(logp.shape[1])]
        if y is None:
            raise ValueError("labels='empirical' needs labelled data: pass (x, y) batches, an (x, y) tuple "
                             "or a Task with labels.")
        return [logp.gather(1, y.long()[:, None]).squeeze(1)]

    def sample_labels(x):
        """y ~ p_θ(·|x), drawn once per input before the gradients are taken (per position: a label map)."""
        with torch.no_grad():
            out = model(x).to(torch.float64)
            if per_position:
                probs = F.softmax(out, dim=1).movedim(1, -1)
                flat = torch.multinomial(probs.reshape(-1, probs.shape[-1]).cpu(), 1, generator=gen)
                return flat.reshape(probs.shape[:-1]).to(x.device)
            probs = F.softmax(out.reshape(len(x), -1), dim=1).cpu()
        return torch.multinomial(probs, 1, generator=gen).squeeze(1).to(x.device)

    return _run_per_sample(model, params, data, losses, "square", method, batch_size,
                           relabel=sample_labels if labels == "sample" else None)
