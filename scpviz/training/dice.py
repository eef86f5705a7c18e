"""The Dice loss and score of the segmentation experiment (§5.3: loss 1 − Dice, test Dice in Figure 6).

For class maps of ``C`` classes, with ``p`` the softmax over the class channel and ``g`` the one-hot target of one
image, the soft Dice of class ``c`` is ``(2 Σ p_c g_c + ε) / (Σ p_c + Σ g_c + ε)`` (sums over pixels; V-Net's form,
ε = 1 keeps a class absent from both at 1 and the gradient finite). The loss is ``1 −`` its mean over the classes
and the images. The score uses the hard prediction (argmax): ``2 |P_c ∩ G_c| / (|P_c| + |G_c|)`` per class, a class
absent from both prediction and target left out of the image's mean (it is neither right nor wrong).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

__all__ = ["soft_dice_loss", "dice_per_class", "mean_dice"]


def _check(logits, target):
    if logits.ndim != 4 or target.ndim != 3 or logits.shape[0] != target.shape[0] \
            or logits.shape[2:] != target.shape[1:]:
        raise ValueError(f"logits must be (N, C, H, W) and target (N, H, W) with the same N, H, W; got "
                         f"{tuple(logits.shape)} and {tuple(target.shape)}.")


def soft_dice_loss(logits: torch.Tensor, target: torch.Tensor, eps: float = 1.0) -> torch.Tensor:
    """``1 −`` the soft Dice, averaged over classes and images (a scalar, differentiable in ``logits``).

    Examples
    --------
    >>> t = torch.tensor([[[0, 1]]])                       # one image, 1 × 2 pixels
    >>> perfect = torch.tensor([[[[50., -50.]], [[-50., 50.]]]])
    >>> round(float(soft_dice_loss(perfect, t)), 6)
    0.0
    """
    _check(logits, target)
    p = logits.softmax(1)
    g = F.one_hot(target, logits.shape[1]).permute(0, 3, 1, 2).to(p.dtype)
    inter = (p * g).sum((2, 3))
    dice = (2 * inter + eps) / (p.sum((2, 3)) + g.sum((2, 3)) + eps)
    return 1 - dice.mean()


def dice_per_class(pred: torch.Tensor, target: torch.Tensor, n_classes: int) -> torch.Tensor:
    """Hard Dice ``2 |P ∩ G| / (|P| + |G|)`` per image and class, (N, C); NaN where a class is in neither.

    Parameters
    ----------
    pred, target : Tensor (N, H, W) of class ids
    """
    if pred.shape != target.shape or pred.ndim != 3:
        raise ValueError(f"pred and target must both be (N, H, W) class maps; got {tuple(pred.shape)} and "
                         f"{tuple(target.shape)}.")
    P = F.one_hot(pred, n_classes).flatten(1, 2).float()          # (N, HW, C)
    G = F.one_hot(target, n_classes).flatten(1, 2).float()
    inter, size = (P * G).sum(1), P.sum(1) + G.sum(1)
    return torch.where(size > 0, 2 * inter / size.clamp_min(1), torch.full_like(size, float("nan")))


def mean_dice(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Per-image mean over the classes present (in prediction or target) of the hard Dice, (N,)."""
    _check(logits, target)
    return dice_per_class(logits.argmax(1), target, logits.shape[1]).nanmean(1)
