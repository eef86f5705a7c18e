"""Shared machinery of the checkers: call the student's code, compare, and name the likely mistake.

Every checker of :mod:`scpviz.teaching.checks` calls the student's function through ``_call`` (its errors become
an ``AssertionError`` that says where), compares the answer with this package's tested implementation
(``_close``, ``_compare_number``) and, when it is wrong, tries the known bugs one by one (``_diagnose``) to say
which one it looks like. The importance checkers get their networks from :func:`checker_models` (two MLPs and
one with BatchNorm and Dropout, handed over in train mode with stale gradients, as right after training) and
call the student's code through ``_student_importance``; ``_forbidden`` makes scpviz's own implementation refuse
to run while a student's is checked. Every other module of the package imports from this one, never the reverse.
"""

from __future__ import annotations

import copy
import math
import sys
from contextlib import contextmanager

import torch
from torch import nn

from ... import importance

__all__ = ["checker_models"]

RTOL = 1e-6


def _call(fn, what, *args, **kwargs):
    try:
        return fn(*args, **kwargs)
    except AssertionError:
        raise
    except Exception as e:  # the student's code failed: say where, keep the original error
        hint = (" — the model is in train mode (BatchNorm needs batches then); compute importances in eval mode: "
                "model.eval()" if "when training" in str(e) else "")
        raise AssertionError(f"{what} raised {type(e).__name__}: {e}{hint}") from e


def _as_dict(got, like, what):
    if not isinstance(got, dict):
        raise AssertionError(f"{what} must return a dict {{parameter name: tensor}}, got {type(got).__name__}")
    missing, extra = set(like) - set(got), set(got) - set(like)
    if missing or extra:
        raise AssertionError(f"{what}: keys must be the model's trainable parameter names "
                             f"(missing {sorted(missing)}, unexpected {sorted(extra)}); use model.named_parameters()")
    out = {}
    for k, v in got.items():
        v = torch.as_tensor(v).detach().double()
        if v.shape != like[k].shape:
            raise AssertionError(f"{what}: entry {k!r} has shape {tuple(v.shape)}, the parameter has "
                                 f"{tuple(like[k].shape)} — one importance per parameter entry")
        out[k] = v
    return out


def _close(a, b, rtol=RTOL):
    """Two importances (dicts) or numbers agree to ``rtol`` relative to the larger one's scale."""
    if isinstance(a, dict):
        fa, fb = importance.flatten_importance(a).double(), importance.flatten_importance(b).double()
        scale = max(float(fb.abs().max()), 1e-300)
        return float((fa - fb).abs().max()) <= rtol * scale
    return math.isclose(float(a), float(b), rel_tol=rtol, abs_tol=1e-12)


def _ratio(a, b):
    """Total of ``a`` over total of ``b`` (importance dicts)."""
    return float(importance.flatten_importance(a).sum() / importance.flatten_importance(b).sum())


TRAIN_MODE_HINT = ("right for plain MLPs but not for a network with BatchNorm and Dropout: the importance was "
                   "probably computed in train mode; call model.eval() first")


def _diagnose(got, expected, bugs, what, default):
    """Raise with the hint of the first bug whose output ``got`` matches; else a generic message."""
    for hint, wrong in bugs:
        try:
            candidate = wrong()
        except Exception:  # a bug variant not applicable to this case
            continue
        if _close(got, candidate, rtol=1e-4):
            raise AssertionError(f"{what}: {hint}")
    raise AssertionError(f"{what}: {default}")


class _DropBN(nn.Module):
    """A small classifier with BatchNorm and Dropout: its outputs differ between train and eval mode."""

    def __init__(self, d_in, d_hidden, k, seed):
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        self.net = nn.Sequential(nn.Linear(d_in, d_hidden), nn.BatchNorm1d(d_hidden), nn.ReLU(), nn.Dropout(0.5),
                                 nn.Linear(d_hidden, k))
        with torch.no_grad():
            for p in self.parameters():
                p.copy_(torch.randn(p.shape, generator=g) * 0.5)
            bn = self.net[1]
            bn.running_mean.copy_(torch.randn(d_hidden, generator=g) * 0.3)
            bn.running_var.copy_(torch.rand(d_hidden, generator=g) + 0.5)

    def forward(self, x):
        return self.net(x)


def checker_models(seed=0):
    """The (model, x) pairs the importance checkers use: two MLPs and one with BatchNorm and Dropout (float64).

    Each model is handed over as it is right after training: in **train** mode, and with stale, non-zero
    gradients in every ``.grad`` (the last minibatch's). Importance code must compute in eval mode, restore the
    mode it found, and not add what was already in ``.grad``.
    """
    from ...models import MLP

    g = torch.Generator().manual_seed(seed)
    cases = []
    for d_in, hidden, k, n in ((5, (7,), 3, 12), (4, (6, 5), 4, 9)):
        m = MLP(d_in, hidden, k, seed=seed).double()
        cases.append((m, torch.randn(n, d_in, generator=g, dtype=torch.float64)))
    m = _DropBN(6, 8, 3, seed).double()
    cases.append((m, torch.randn(10, 6, generator=g, dtype=torch.float64)))
    for m, _ in cases:
        m.train()
        _stale_gradients(m, seed)
    return cases


def _stale_gradients(model, seed):
    """Fill every ``.grad`` with a seeded random tensor: what a training step leaves behind."""
    g = torch.Generator().manual_seed(1000 + seed)
    for p in model.parameters():
        p.grad = torch.randn(p.shape, generator=g, dtype=p.dtype)


def _params(model):
    return {n: p for n, p in model.named_parameters() if p.requires_grad}


def _per_sample_grads(model, x, scalar_fn):
    """{name: (N, *shape)} gradients of scalar_fn(output_row, n) per sample, by a plain loop (reference only)."""
    params = _params(model)
    out = {n: [] for n in params}
    for i in range(len(x)):
        y = scalar_fn(model(x[i:i + 1])[0], i)
        grads = torch.autograd.grad(y, list(params.values()), allow_unused=True)
        for (n, p), g in zip(params.items(), grads):
            out[n].append(torch.zeros_like(p) if g is None else g)
    return {n: torch.stack(v) for n, v in out.items()}


def _student_importance(fn, what, model, *args):
    """Call the student's importance function on ``model`` (train mode, stale ``.grad``, as from
    :func:`checker_models`); check its keys and shapes, that it left the model's mode as it found it, and that
    its result does not depend on the stale gradients.

    Returns
    -------
    (dict, nn.Module)
        The student's importance, and a copy of the model as it was *before* the call, in eval mode — the
        reference and the known bugs are computed on it (the student's code may have moved BatchNorm's
        running statistics by running the network in train mode).
    """
    before = copy.deepcopy(model)
    was = model.training
    with _seeded():   # the same Dropout masks on both calls: only the stale gradients differ
        got = _as_dict(_call(fn, what, model, *args), _params(model), what)
    _restore_mode(model, was, what)
    other = copy.deepcopy(before)
    for p in other.parameters():
        p.grad = None if p.grad is None else -3.0 * p.grad
    with _seeded():
        again = _as_dict(_call(fn, what, other, *args), _params(other), what)
    if not _close(got, again, 1e-9):
        raise AssertionError(f"{what}: your result changes with the gradients already stored in .grad when your "
                             f"function is called (after training they hold the last minibatch's gradient): start "
                             f"from zero — model.zero_grad() before the first backward pass, or torch.autograd.grad")
    return got, before.eval()


@contextmanager
def _seeded(seed=0):
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        yield


def _restore_mode(model, was_training, what):
    if model.training != was_training:
        left = "train" if model.training else "eval"
        model.train(was_training)
        raise AssertionError(f"{what} left the model in {left} mode, but it was handed over in "
                             f"{'train' if was_training else 'eval'} mode; restore the mode it had (remember "
                             f"model.training, switch to eval, and switch back before returning)")


def _compare_number(got, want, bugs, what, rtol=1e-6):
    if _close(got, want, rtol):
        return
    _diagnose(got, want, bugs, what, f"got {got:.6g}, expected {want:.6g}")


@contextmanager
def _forbidden(module, names, hint):
    """Replace ``module.name`` for each name by a function that fails with ``hint`` (the student must write it).

    For a package the name is replaced wherever the same object is reachable: in the package and in each of its
    submodules (``scpviz.distances.slicing.sliced_cramer`` as well as ``scpviz.distances.sliced_cramer``).
    """
    prefix = module.__name__ + "."
    holders = [module] + [m for k, m in sorted(sys.modules.items()) if k.startswith(prefix) and m is not None]
    originals = {n: getattr(module, n) for n in names}
    saved = [(h, n, getattr(h, n)) for h in holders for n in names if getattr(h, n, None) is originals[n]]

    def refuse(*args, **kwargs):
        raise AssertionError(hint)

    try:
        for h, n, _ in saved:
            setattr(h, n, refuse)
        yield
    finally:
        for h, n, f in saved:
            setattr(h, n, f)
