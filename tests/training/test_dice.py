"""Dice loss and score (§5.3) against hand-computed values; the loss's gradient by gradcheck in float64."""
import math

import pytest
import torch

from scpviz.training import SEGMENTATION, dice_per_class, mean_dice, soft_dice_loss


def test_hard_dice_per_class_and_mean_by_hand():
    # one 2 × 3 image, 3 classes; class 2 is in neither the prediction nor the target
    target = torch.tensor([[[0, 0, 1], [1, 1, 0]]])
    pred = torch.tensor([[[0, 1, 1], [1, 0, 0]]])
    # class 0: |P| = 3, |G| = 3, |P∩G| = 2 → 4/6; class 1: |P| = 3, |G| = 3, |P∩G| = 2 → 4/6; class 2: absent → NaN
    d = dice_per_class(pred, target, 3)
    assert torch.allclose(d[0, :2], torch.tensor([4 / 6, 4 / 6])) and math.isnan(d[0, 2])
    logits = torch.nn.functional.one_hot(pred, 3).permute(0, 3, 1, 2).float() * 10
    assert mean_dice(logits, target).tolist() == pytest.approx([4 / 6])
    # a class predicted but absent from the target scores 0 and counts
    pred2 = torch.tensor([[[2, 0, 1], [1, 1, 0]]])
    assert dice_per_class(pred2, target, 3)[0].tolist() == pytest.approx([2 * 2 / 5, 1.0, 0.0])
    assert SEGMENTATION.metric.name == "mean Dice" and SEGMENTATION.metric.unit == "%"


def test_soft_dice_loss_by_hand_and_gradcheck():
    # one pixel pair, two classes, probabilities p = softmax(logits) per pixel
    logits = torch.tensor([[[[0.0, 1.0]], [[1.0, 0.0]]]], dtype=torch.float64)     # (1, 2, 1, 2)
    target = torch.tensor([[[0, 0]]])
    p0 = torch.softmax(torch.tensor([0.0, 1.0]), 0)[0].item()                      # class 0 at pixel 1
    p1 = 1 - p0                                                                   # class 0 at pixel 2
    # class 0: inter = p0 + p1 = 1, Σp = 1, Σg = 2; class 1: inter = 0, Σp = 1, Σg = 0; ε = 1
    want = 1 - 0.5 * ((2 * 1 + 1) / (1 + 2 + 1) + (0 + 1) / (1 + 0 + 1))
    assert float(soft_dice_loss(logits, target)) == pytest.approx(want, rel=1e-12)
    x = torch.randn(2, 4, 3, 5, dtype=torch.float64, requires_grad=True)
    t = torch.randint(0, 4, (2, 3, 5))
    assert torch.autograd.gradcheck(lambda z: soft_dice_loss(z, t), (x,))
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        soft_dice_loss(x[0], t)
