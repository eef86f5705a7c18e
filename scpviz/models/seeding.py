"""Seeded initialisation that leaves the caller's random stream alone."""

from __future__ import annotations

import contextlib

import torch


@contextlib.contextmanager
def seeded(seed: int | None):
    """Inside the block, torch's global generator is seeded with ``seed`` (the initial weights are drawn from it);
    afterwards it is as it was (``torch.random.fork_rng``). ``None``: the block draws from the stream unseeded.

    Examples
    --------
    >>> with seeded(3):
    ...     a = torch.rand(2)
    >>> with seeded(3):
    ...     b = torch.rand(2)
    >>> bool(torch.equal(a, b))
    True
    """
    if seed is None:
        yield
        return
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield
