"""Run configuration: quick vs full mode, budgets, device, seeds, data root.

Every notebook and command reads its budgets (epochs, subset sizes, number of
tasks, seeds, slices) from :func:`budget`, so "quick mode" is a decision made
once, here, and not copy-pasted into notebooks.

Quick mode is on when the environment variable ``SCPVIZ_QUICK=1`` is set (the
tests and CI set it); users get full mode, the paper's settings.

Examples
--------
>>> import os
>>> b = budget("permuted_mnist", quick=True)
>>> b.n_tasks >= 2 and b.epochs >= 1
True
>>> budget("permuted_mnist", quick=False).n_tasks   # the paper's 10 tasks
10
"""

from __future__ import annotations

import dataclasses
import os
import random
from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping

import numpy as np
import torch

__all__ = [
    "QUICK_ENV",
    "DATA_ENV",
    "is_quick",
    "mode_name",
    "get_device",
    "seed_everything",
    "data_root",
    "Budget",
    "budget",
    "BUDGETS",
]

QUICK_ENV = "SCPVIZ_QUICK"
DATA_ENV = "SCPVIZ_DATA"


def is_quick(value: str | None = None) -> bool:
    """Whether quick mode is on.

    Parameters
    ----------
    value : str, optional
        The value to interpret; default the environment variable ``SCPVIZ_QUICK``.
        Unset or empty means full mode.

    Returns
    -------
    bool
        ``True`` for ``"1"``, ``False`` for ``"0"`` or unset.

    Raises
    ------
    ValueError
        For any other value, naming the variable and the accepted values.

    Examples
    --------
    >>> is_quick("1"), is_quick("0"), is_quick("")
    (True, False, False)
    """
    if value is None:
        value = os.environ.get(QUICK_ENV, "")
    value = value.strip()
    if value in ("", "0"):
        return False
    if value == "1":
        return True
    raise ValueError(
        f"{QUICK_ENV}={value!r} is not understood: set {QUICK_ENV}=1 for quick mode "
        f"(small budgets, as in CI) or {QUICK_ENV}=0 / unset it for full mode."
    )


def mode_name(quick: bool | None = None) -> str:
    """``"quick"`` or ``"full"`` (default: from the environment)."""
    if quick is None:
        quick = is_quick()
    return "quick" if quick else "full"


def get_device(prefer: str | None = None) -> torch.device:
    """The best available device: CUDA, then Apple MPS, then CPU.

    Parameters
    ----------
    prefer : str, optional
        Force a device (``"cpu"``, ``"cuda"``, ``"cuda:1"``, ``"mps"``). It must
        be available, otherwise a ``ValueError`` says so.

    Examples
    --------
    >>> get_device("cpu")
    device(type='cpu')
    """
    if prefer is not None:
        dev = torch.device(prefer)
        if dev.type == "cuda" and not torch.cuda.is_available():
            raise ValueError(f"prefer={prefer!r}: CUDA is not available here; use 'cpu' or leave prefer=None.")
        if dev.type == "mps" and not _mps_available():
            raise ValueError(f"prefer={prefer!r}: MPS is not available here; use 'cpu' or leave prefer=None.")
        return dev
    if torch.cuda.is_available():
        return torch.device("cuda")
    if _mps_available():
        return torch.device("mps")
    return torch.device("cpu")


def _mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def seed_everything(seed: int) -> torch.Generator:
    """Seed Python, NumPy and PyTorch (all devices) and return a seeded generator.

    Parameters
    ----------
    seed : int
        Non-negative integer seed.

    Returns
    -------
    torch.Generator
        A CPU generator seeded with ``seed``, for code that prefers explicit
        generators over the global state.

    Examples
    --------
    >>> _ = seed_everything(0); a = torch.rand(3)
    >>> _ = seed_everything(0); b = torch.rand(3)
    >>> bool(torch.equal(a, b))
    True
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed={seed!r} must be a non-negative integer.")
    seed = int(seed)
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)
    gen = torch.Generator()
    gen.manual_seed(seed)
    return gen


def data_root(root: str | os.PathLike | None = None) -> Path:
    """Folder that holds (or will hold) datasets, in torchvision's layout.

    Order: the ``root`` argument, then ``$SCPVIZ_DATA``, then a per-user cache
    folder (``$XDG_CACHE_HOME/scpviz`` or ``~/.cache/scpviz``).
    """
    if root is not None:
        return Path(root).expanduser()
    env = os.environ.get(DATA_ENV, "").strip()
    if env:
        return Path(env).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME", "").strip() or str(Path.home() / ".cache")
    return Path(cache) / "scpviz"


@dataclasses.dataclass(frozen=True)
class Budget:
    """The compute budget of one experiment in one mode.

    Attributes are read with dot access (``budget("permuted_mnist").epochs``);
    unknown attributes raise ``AttributeError`` naming the known ones.
    """

    name: str
    mode: str
    values: Mapping[str, Any]

    def __getattr__(self, key: str) -> Any:
        if key.startswith("__"):
            raise AttributeError(key)
        values = object.__getattribute__(self, "values")
        try:
            return values[key]
        except KeyError:
            raise AttributeError(
                f"budget {self.name!r} has no entry {key!r}; known: {sorted(values)}"
            ) from None

    def as_dict(self) -> dict:
        return dict(self.values)


# Full mode = the paper's settings (§5.1, §5.2); quick mode = what CI can afford
# on 2 CPU cores while still exercising every code path.
BUDGETS: Mapping[str, Mapping[str, Mapping[str, Any]]] = MappingProxyType({
    "distances": {
        "full": dict(n_grid=8001, n_taus=401, n_points=2000, max_slices=1000, n_seeds=20),
        "quick": dict(n_grid=3001, n_taus=81, n_points=500, max_slices=300, n_seeds=8),
    },
    "importance": {
        "full": dict(n_train=60000, epochs=5, lr=1e-4, n_slices=100, hidden=(1024, 512, 256)),
        "quick": dict(n_train=2000, epochs=5, lr=1e-3, n_slices=100, hidden=(64, 32)),
    },
    "permuted_mnist": {
        "full": dict(n_tasks=10, epochs=20, n_train=55000, n_val=5000, n_test=10000, n_slices=100,
                     seeds=(0, 1, 2, 3, 4, 5, 6, 7, 8, 9), hidden=(1024, 512, 256),
                     batch_size=100, lr=1e-4, lams=tuple(10.0 ** i for i in range(-3, 10))),
        "quick": dict(n_tasks=3, epochs=2, n_train=1000, n_val=200, n_test=500, n_slices=20,
                      seeds=(0,), hidden=(64, 32), batch_size=100, lr=1e-3, lams=(10.0, 1000.0)),
    },
    "autoencoders": {
        "full": dict(order=(2, 7, 4, 0, 9, 1, 6, 5, 8, 3), epochs=50, n_slices=100, seeds=tuple(range(10)),
                     batch_size=100, lr=1e-4, hidden=(1024, 1024, 1024), code=256, n_train=None, n_val=500,
                     n_test=None, lams=tuple(10.0 ** i for i in range(-3, 10))),
        "quick": dict(order=(2, 7, 4), epochs=10, n_slices=20, seeds=(0,), batch_size=50, lr=1e-3,
                      hidden=(128,), code=32, n_train=300, n_val=50, n_test=100, lams=(1.0, 100.0)),
    },
})


def budget(name: str, quick: bool | None = None) -> Budget:
    """Budget of experiment ``name`` in quick or full mode.

    Parameters
    ----------
    name : str
        One of ``BUDGETS`` (``"distances"``, ``"importance"``,
        ``"permuted_mnist"``, ``"autoencoders"``).
    quick : bool, optional
        Default: :func:`is_quick` (the ``SCPVIZ_QUICK`` variable).
    """
    if name not in BUDGETS:
        raise ValueError(f"name={name!r} is not a known budget; choose one of {sorted(BUDGETS)}.")
    mode = mode_name(quick)
    return Budget(name=name, mode=mode, values=MappingProxyType(dict(BUDGETS[name][mode])))
