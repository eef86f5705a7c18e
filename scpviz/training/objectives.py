"""What a task is trained on and scored by: an :class:`Objective` (batch loss + per-sample score) and its
:class:`Metric` (name, unit, direction), so tables and axes say what a number is.

Examples
--------
>>> ACCURACY.format(0.8732), L1_ERROR.format(51.06, sd=4.4)
('87.3 %', '51.1 ± 4.4')
>>> ACCURACY.label, L1_ERROR.higher_is_better
('accuracy (%)', False)
"""

from __future__ import annotations

import dataclasses
from typing import Callable

import torch
import torch.nn.functional as F

from .dice import mean_dice, soft_dice_loss

__all__ = ["Metric", "ACCURACY", "L1_ERROR", "DICE", "SEGMENTATION", "METRICS", "metric_named", "Objective", "CLASSIFICATION",
           "RECONSTRUCTION", "OBJECTIVES", "objective", "RECONSTRUCTION_LOSSES", "reconstruction_loss",
           "reconstruction_objective"]


@dataclasses.dataclass(frozen=True)
class Metric:
    """A per-task score.

    Attributes
    ----------
    name : str
        What the number is (``"accuracy"``, ``"mean ℓ1 reconstruction error"``).
    unit : str
        ``"%"`` for fractions shown as percentages (values are stored in [0, 1]); otherwise the unit of the raw
        value, e.g. ``"summed over 784 pixels"``, or ``""``.
    higher_is_better : bool
    digits : int
        Decimals when formatted.
    """

    name: str
    unit: str = ""
    higher_is_better: bool = True
    digits: int = 1

    @property
    def scale(self) -> float:
        """Factor from the stored value to the displayed one (100 for a percentage)."""
        return 100.0 if self.unit == "%" else 1.0

    @property
    def label(self) -> str:
        """Axis label / table header: the name and, where there is one, the unit."""
        return f"{self.name} ({self.unit})" if self.unit else self.name

    @property
    def direction(self) -> str:
        """``"higher is better"`` or ``"lower is better"``, for labels."""
        return "higher is better" if self.higher_is_better else "lower is better"

    def format(self, value, sd=None) -> str:
        """``value`` (and ``± sd``) as displayed, e.g. ``87.3 %`` or ``51.1 ± 4.4``."""
        s = self.scale
        text = f"{s * value:.{self.digits}f}" + ("" if sd is None else f" ± {s * sd:.{self.digits}f}")
        return text + (" %" if self.unit == "%" else "")


ACCURACY = Metric("accuracy", "%", higher_is_better=True)
L1_ERROR = Metric("mean ℓ1 reconstruction error", "", higher_is_better=False)
DICE = Metric("mean Dice", "%", higher_is_better=True)
METRICS = {m.name: m for m in (ACCURACY, L1_ERROR, DICE)}
# other spellings of known metrics that result files record (ASCII "l1" in the shipped auto-encoder results)
_LEGACY = {"mean l1 reconstruction error": L1_ERROR}


def metric_named(name: str, higher_is_better: bool = True, unit: str | None = None) -> Metric:
    """The :class:`Metric` a History records by name (known names keep their unit); unknown names get ``unit``."""
    known = METRICS.get(name) or _LEGACY.get(name)
    if known is not None and unit is None:
        return known
    return Metric(name, unit or "", higher_is_better)


@dataclasses.dataclass(frozen=True)
class Objective:
    """A per-task objective: a batch loss and a per-sample score measured by ``metric``.

    Attributes
    ----------
    name : str
    loss : callable(output, x, y) -> scalar Tensor
    score : callable(output, x, y) -> Tensor of per-sample scores (their mean is the metric)
    metric : Metric
    """

    name: str
    loss: Callable
    score: Callable
    metric: Metric = ACCURACY

    @property
    def metric_name(self) -> str:
        """The name of :attr:`metric`."""
        return self.metric.name

    @property
    def higher_is_better(self) -> bool:
        """Whether a larger :attr:`metric` is better."""
        return self.metric.higher_is_better


def _accuracy(out, x, y):
    return (out.argmax(1) == y).to(torch.float32)


def _recon_loss(out, x, y):
    target = x.reshape(out.shape)
    return F.binary_cross_entropy(out, target) + (out - target).abs().sum(1).mean()


# The reconstruction losses, named by how each term is reduced over an image's pixels (then averaged over images).
# "bce-pixel-mean+l1-image-sum" is RECONSTRUCTION's own loss, the default: the BCE term then weighs ≈ 1/784 of ℓ1.
RECONSTRUCTION_LOSSES = ("bce-pixel-mean+l1-image-sum", "bce-image-sum+l1-image-sum", "bce-pixel-mean+l1-pixel-mean")


def reconstruction_loss(name):
    """The training loss ``loss(out, x, y)`` called ``name`` (one of :data:`RECONSTRUCTION_LOSSES`).

    Examples
    --------
    >>> out, x = torch.full((2, 4), 0.5), torch.ones(2, 4)
    >>> round(float(reconstruction_loss("bce-image-sum+l1-image-sum")(out, x, None)), 4)   # 4·log 2 + 4·0.5
    4.7726
    """
    if name not in RECONSTRUCTION_LOSSES:
        raise ValueError(f"loss={name!r} must be one of {RECONSTRUCTION_LOSSES}.")
    bce_red, l1_red = (part.split("-", 1)[1] for part in name.split("+"))

    def loss(out, x, y):
        target = x.reshape(out.shape)
        bce = F.binary_cross_entropy(out, target, reduction="none")
        l1 = (out - target).abs()
        bce = bce.mean(1) if bce_red == "pixel-mean" else bce.sum(1)
        l1 = l1.mean(1) if l1_red == "pixel-mean" else l1.sum(1)
        return (bce + l1).mean()
    return loss


def reconstruction_objective(loss="bce-pixel-mean+l1-image-sum"):
    """:data:`RECONSTRUCTION` with another training loss (the metric, mean ℓ1 error per image, is unchanged)."""
    if loss == RECONSTRUCTION_LOSSES[0]:
        return RECONSTRUCTION
    return Objective(f"reconstruction ({loss})", reconstruction_loss(loss), _l1_error, L1_ERROR)


def _l1_error(out, x, y):
    return (out - x.reshape(out.shape)).abs().sum(1)


CLASSIFICATION = Objective("classification", lambda out, x, y: F.cross_entropy(out, y), _accuracy, ACCURACY)
RECONSTRUCTION = Objective("reconstruction", _recon_loss, _l1_error, L1_ERROR)
# §5.3: loss 1 − soft Dice over the class maps, metric the hard Dice (mean over the classes present per image)
SEGMENTATION = Objective("segmentation", lambda out, x, y: soft_dice_loss(out, y), lambda out, x, y: mean_dice(out, y),
                         DICE)
OBJECTIVES = {o.name: o for o in (CLASSIFICATION, RECONSTRUCTION, SEGMENTATION)}


def objective(obj) -> Objective:
    """``obj`` itself, or the built-in objective of that name (``"classification"``, ``"reconstruction"``)."""
    if isinstance(obj, Objective):
        return obj
    if obj in OBJECTIVES:
        return OBJECTIVES[obj]
    raise ValueError(f"objective={obj!r} must be an Objective or one of {sorted(OBJECTIVES)}.")
