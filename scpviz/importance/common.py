"""Plumbing shared by every importance: trainable parameters, eval mode, batches of any data form,
the preserved layer's output."""

from __future__ import annotations

import contextlib
from typing import Iterable

import numpy as np
import torch
import torch.nn as nn

from ..datasets import Task


def trainable_parameters(model: nn.Module) -> dict:
    """``{name: parameter}`` of the parameters with ``requires_grad`` (error if there are none)."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}.")
    params = {n: p for n, p in model.named_parameters() if p.requires_grad}
    if not params:
        raise ValueError("model has no trainable parameters (all have requires_grad=False); "
                         "there is nothing to consolidate.")
    return params


def _model_device(model):
    for p in model.parameters():
        return p.device
    return torch.device("cpu")


def _model_dtype(model):
    for p in model.parameters():
        if p.is_floating_point():
            return p.dtype
    return torch.get_default_dtype()


@contextlib.contextmanager
def eval_mode(model: nn.Module):
    """Put every submodule in eval mode, restoring each one's previous mode on exit."""
    modes = [(m, m.training) for m in model.modules()]
    model.eval()
    try:
        yield model
    finally:
        for m, was in modes:
            m.training = was


def _is_labelled_pair(data) -> bool:
    return (isinstance(data, tuple) and len(data) == 2 and all(isinstance(t, torch.Tensor) for t in data)
            and data[1].ndim >= 1 and not data[1].is_floating_point() and len(data[0]) == len(data[1]))


def iter_batches(data, batch_size: int = 500, device=None, dtype=None) -> Iterable:
    """Yield ``(x, y_or_None)`` batches on ``device`` from any accepted form of ``data``.

    Raises ``ValueError`` for empty data or NaN inputs (naming ``data``).
    """
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"batch_size={batch_size!r} must be a positive integer.")
    if isinstance(data, Task):
        data = data.x_train if data.y_train is None else (data.x_train, data.y_train)
    if isinstance(data, torch.Tensor):
        source = ((data[i:i + batch_size], None) for i in range(0, len(data), batch_size))
    elif _is_labelled_pair(data):
        xs, ys = data
        source = ((xs[i:i + batch_size], ys[i:i + batch_size]) for i in range(0, len(xs), batch_size))
    elif isinstance(data, (np.ndarray,)):
        raise TypeError("data is a NumPy array: pass torch.as_tensor(data) (inputs) instead.")
    else:
        try:
            it = iter(data)
        except TypeError:
            raise TypeError(f"data must be a tensor, an (x, y) tuple, a Task or an iterable of batches, "
                            f"got {type(data).__name__}.") from None
        source = ((b if isinstance(b, (tuple, list)) else (b, None)) for b in it)
    n = 0
    for batch in source:
        x, y = batch[0], (batch[1] if len(batch) > 1 else None)
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"data yielded a batch of type {type(x).__name__}; expected tensors.")
        if len(x) == 0:
            continue
        if x.is_floating_point() and torch.isnan(x).any():
            raise ValueError("data contains NaN inputs; clean or impute them before computing importances.")
        n += len(x)
        x = x.to(device=device, dtype=dtype if (dtype is not None and x.is_floating_point()) else None)
        yield x, (None if y is None else y.to(device))
    if n == 0:
        raise ValueError("data is empty: pass at least one input sample.")


def _resolve_layer(model, layer):
    if layer is None:
        return None
    if isinstance(layer, str):
        mods = dict(model.named_modules())
        if layer not in mods:
            raise ValueError(f"layer={layer!r} is not a submodule name of the model; "
                             f"choose one of {[n for n in mods if n]}.")
        return mods[layer]
    if not isinstance(layer, nn.Module) or not any(m is layer for m in model.modules()):
        raise ValueError("layer must be a submodule of model (e.g. model.encoder or its name), "
                         "whose output is the representation to preserve.")
    return layer


def _forward_at(model, x, layer):
    """Output of ``layer`` (or of the model) for input ``x``, flattened to (N, K)."""
    if layer is None:
        out = model(x)
    else:
        store = []
        h = layer.register_forward_hook(lambda m, i, o: store.append(o))
        try:
            model(x)
        finally:
            h.remove()
        if len(store) != 1:
            raise ValueError(f"layer was called {len(store)} times in one forward pass; pick a layer used once.")
        out = store[0]
    if not isinstance(out, torch.Tensor):
        raise TypeError(f"the preserved representation must be a tensor, got {type(out).__name__}.")
    return out.reshape(len(x), -1)


def _zeros_like(params):
    return {n: torch.zeros_like(p, memory_format=torch.contiguous_format) for n, p in params.items()}


def flatten_importance(imp: dict) -> torch.Tensor:
    """All entries of an importance dict as one 1-D tensor (parameter order of the dict)."""
    return torch.cat([v.reshape(-1) for v in imp.values()])
