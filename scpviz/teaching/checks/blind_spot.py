"""Checkers of the penalty's blind spot (notebook 07, assignment 05): the mask of the weights whose importance
is negligible, resetting masked entries to θ*, and the causal blind-reset test.

They run on a planted case: a tiny auto-encoder whose dead units' weights moved a lot after θ* and whose other
weights moved a little.
"""

from __future__ import annotations

import copy
import math

import torch
from torch import nn

from ... import importance
from .common import _call

__all__ = ["check_blind_mask", "check_reset_entries", "check_blind_reset_test"]


def _planted_autoencoder(seed=0):
    """A tiny auto-encoder at θ* on inputs x where some hidden units never fire (blind weights), then moved as
    training on another task would move it: the blind weights a lot, the seen ones a little.

    Returns (model_now, importance, theta_star, x)."""
    from ...models import AutoEncoder

    g = torch.Generator().manual_seed(seed)
    model = AutoEncoder(in_features=12, hidden=(10,), code=4, seed=seed).double()
    x = torch.rand(30, 12, generator=g, dtype=torch.float64)
    with torch.no_grad():   # plant dead units: three first-layer units with a large negative bias never fire on x
        first = next(m for m in model.modules() if isinstance(m, nn.Linear))
        first.bias[:3] = -50.0
    imp = importance.mas_importance(model, x)
    theta_star = {n: p.detach().clone() for n, p in model.named_parameters()}
    top = max(float(v.max()) for v in imp.values())
    with torch.no_grad():
        for n, p in model.named_parameters():
            blind = imp[n] < 1e-9 * top
            p.add_(torch.where(blind, 0.8, 0.02) * torch.randn(p.shape, generator=g, dtype=torch.float64))
        first.bias[:3] = 0.5   # ... and training on the new task woke the dead units up
    return model, imp, theta_star, x


def check_blind_mask(fn):
    """``fn(importance, rel=1e-9) -> dict``: {name: bool tensor}, True where the importance is below ``rel`` times
    the largest importance of the whole network (the entries the penalty is blind to).

    Examples
    --------
    >>> def blind_mask(imp, rel=1e-9):
    ...     top = max(float(v.max()) for v in imp.values())
    ...     return {n: v < rel * top for n, v in imp.items()}
    >>> check_blind_mask(blind_mask)
    True
    """
    g = torch.Generator().manual_seed(0)
    for rel in (1e-9, 1e-3):
        imp = {}
        for i, (k, s) in enumerate({"w1": (6, 4), "b1": (6,), "w2": (3, 6)}.items()):
            v = torch.rand(s, generator=g, dtype=torch.float64) * 10.0 ** (-6 * i)
            v[torch.rand(s, generator=g) < 0.4] = 0.0
            imp[k] = v
        what = f"the blind mask (rel = {rel:g})"
        got = _call(fn, what, {k: v.clone() for k, v in imp.items()}, rel=rel)
        if not isinstance(got, dict) or set(got) != set(imp):
            raise AssertionError(f"{what}: return a dict with the importance's keys, one bool tensor each")
        top = max(float(v.max()) for v in imp.values())
        for k, v in imp.items():
            m = torch.as_tensor(got[k])
            if m.shape != v.shape:
                raise AssertionError(f"{what}: entry {k!r} has shape {tuple(m.shape)}, expected {tuple(v.shape)}")
            want = v < rel * top
            if torch.equal(m.bool(), want):
                continue
            if torch.equal(m.bool(), ~want):
                raise AssertionError(f"{what}: your mask marks the weights the penalty *sees*; True must mean blind")
            if torch.equal(m.bool(), v < rel * v.max()):
                raise AssertionError(f"{what}: you compared each tensor with its own maximum; the threshold is "
                                     f"relative to the largest importance of the whole network")
            if torch.equal(m.bool(), v == 0):
                raise AssertionError(f"{what}: you marked only exact zeros; use the threshold rel × (largest "
                                     f"importance)")
            raise AssertionError(f"{what}: entry {k!r} differs from importance < rel × (largest importance)")
    return True


def check_reset_entries(fn):
    """``fn(model, theta_star, mask) -> nn.Module``: a *copy* of ``model`` in which the entries where ``mask`` is
    True are put back to θ* and all others keep their current values; ``model`` itself is not changed.

    Examples
    --------
    >>> import copy
    >>> def reset_entries(model, theta_star, mask):
    ...     twin = copy.deepcopy(model)
    ...     with torch.no_grad():
    ...         for n, p in twin.named_parameters():
    ...             p.copy_(torch.where(mask[n], theta_star[n], p))
    ...     return twin
    >>> check_reset_entries(reset_entries)
    True
    """
    model, imp, theta_star, x = _planted_autoencoder()
    top = max(float(v.max()) for v in imp.values())
    mask = {n: v < 1e-9 * top for n, v in imp.items()}
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    what = "resetting the masked entries"
    got = _call(fn, what, model, {k: v.clone() for k, v in theta_star.items()}, {k: v.clone() for k, v in mask.items()})
    if got is model:
        raise AssertionError(f"{what}: you returned the model itself; return a copy (copy.deepcopy) and leave the "
                             f"model as it was")
    if not all(torch.equal(p.detach(), before[n]) for n, p in model.named_parameters()):
        raise AssertionError(f"{what}: the model you were handed changed; reset the entries of a copy "
                             f"(copy.deepcopy(model))")
    for n, p in dict(got.named_parameters()).items():
        want = torch.where(mask[n], theta_star[n], before[n])
        if torch.equal(p.detach(), want):
            continue
        if torch.equal(p.detach(), torch.where(mask[n], before[n], theta_star[n])):
            raise AssertionError(f"{what}: you reset the entries where the mask is False; reset where it is True")
        if torch.equal(p.detach(), theta_star[n]):
            raise AssertionError(f"{what}: you reset every entry of {n!r}; only the masked ones go back to θ*")
        raise AssertionError(f"{what}: parameter {n!r} is not θ* where the mask is True and unchanged elsewhere")
    return True


def check_blind_reset_test(fn):
    """``fn(model, importance, theta_star, x, rel=1e-9) -> dict``: the causal test of notebook 07 — the mean ℓ1
    reconstruction error on ``x`` of the model ``"now"``, with only its blind entries reset to θ*
    (``"blind_reset"``) and with only the others reset (``"seen_reset"``); the model is left unchanged. Checked on
    a planted case: a tiny auto-encoder whose dead units' weights moved a lot and whose other weights moved a little.

    Examples
    --------
    >>> from scpviz.training import blind_reset_test
    >>> check_blind_reset_test(lambda m, imp, ts, x, rel=1e-9: blind_reset_test(m, imp, ts, x, rel_tol=rel))
    True
    """
    from ...training import blind_reset_test as reference

    model, imp, theta_star, x = _planted_autoencoder()
    want = reference(copy.deepcopy(model), imp, theta_star, x, rel_tol=1e-9)
    what = "the blind-reset test on a planted auto-encoder"
    got = _call(fn, what, model, imp, theta_star, x)
    if not isinstance(got, dict) or not {"now", "blind_reset", "seen_reset"} <= set(got):
        raise AssertionError(f"{what}: return a dict with 'now', 'blind_reset' and 'seen_reset'")
    for key in ("now", "blind_reset", "seen_reset"):
        value = float(got[key])
        if math.isclose(value, want[key], rel_tol=1e-6):
            continue
        if key != "now" and math.isclose(value, want["seen_reset" if key == "blind_reset" else "blind_reset"],
                                          rel_tol=1e-6):
            raise AssertionError(f"{what}: '{key}' holds the other reset's error; 'blind_reset' resets the entries "
                                 f"with importance below rel × max, 'seen_reset' all the others")
        if math.isclose(value, want["anchor"], rel_tol=1e-6):
            raise AssertionError(f"{what}: '{key}' is the error at θ* (every entry reset); reset only one group")
        raise AssertionError(f"{what}: '{key}' = {value:.6g}, expected {want[key]:.6g} (mean ℓ1 reconstruction "
                             f"error per image, training.evaluate(model, x, None, 'reconstruction'))")
    return True
