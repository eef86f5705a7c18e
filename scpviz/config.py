"""Run configuration: the mode (quick / teach / paper), budgets, device, seeds, data root.

Three modes, chosen once with ``SCPVIZ_MODE`` (or per call with ``mode=``):

* ``quick`` — CI: seconds, every code path;
* ``teach`` — **the default**: every notebook runs in minutes on a laptop CPU and still shows the
  phenomenon (forgetting without consolidation, and what consolidation does);
* ``paper`` — the paper's settings, for a GPU; opt-in. Paper-budget numbers reach the notebooks as shipped
  results, so nothing a user runs by default starts a paper-budget job.

The budgets of the paper's experiments live with the experiments (:mod:`scpviz.experiments`); this module
holds the mode and the budgets of the notebooks that are not experiments (distances, importances).

Examples
--------
>>> b = budget("distances", mode="quick")
>>> b.mode, b.n_seeds >= 2
('quick', True)
>>> budget("importance", mode="paper").n_train   # the whole MNIST training set
60000
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
    "describe_machine",
    "MODE_ENV",
    "DATA_ENV",
    "MODES",
    "get_mode",
    "get_device",
    "seed_everything",
    "data_root",
    "run_cache",
    "Budget",
    "select_budget",
    "budget",
    "BUDGETS",
]

MODE_ENV = "SCPVIZ_MODE"
DATA_ENV = "SCPVIZ_DATA"
CACHE_ENV = "SCPVIZ_CACHE"
MODES = ("quick", "teach", "paper")
DEFAULT_MODE = "teach"


def get_mode(value: str | None = None) -> str:
    """The run mode: ``"quick"`` (CI), ``"teach"`` (the default: a laptop CPU, minutes) or ``"paper"`` (a GPU).

    Parameters
    ----------
    value : str, optional
        A mode name to check and return. Default: ``$SCPVIZ_MODE``, else ``"teach"``.

    Returns
    -------
    str
        One of :data:`MODES`.

    Raises
    ------
    ValueError
        For an unknown mode, naming the variable and the valid values.

    Examples
    --------
    >>> get_mode("paper"), get_mode("Quick ")
    ('paper', 'quick')
    >>> get_mode("full")
    Traceback (most recent call last):
    ...
    ValueError: mode='full' is not a mode: choose one of quick, teach, paper (quick: CI, seconds; teach: the default, minutes on a laptop CPU; paper: the paper's budget, for a GPU).
    """
    valid = ", ".join(MODES)
    why = "quick: CI, seconds; teach: the default, minutes on a laptop CPU; paper: the paper's budget, for a GPU"
    if value is not None:
        v = str(value).strip().lower()
        if v not in MODES:
            raise ValueError(f"mode={value!r} is not a mode: choose one of {valid} ({why}).")
        return v
    if os.environ.get("SCPVIZ_QUICK", "").strip():   # set but not read: fail rather than silently run another mode
        raise ValueError(f"SCPVIZ_QUICK is no longer read (removed in scpviz 0.3.0): set {MODE_ENV}=quick instead, "
                         "and unset SCPVIZ_QUICK.")
    env = os.environ.get(MODE_ENV, "").strip().lower()
    if env:
        if env not in MODES:
            raise ValueError(f"{MODE_ENV}={env!r} is not understood: set it to one of {valid} ({why}).")
        return env
    return DEFAULT_MODE


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


def run_cache(name: str = "runs", root: str | os.PathLike | None = None) -> Path:
    """A stable folder for cached runs, so that rerunning a notebook costs nothing (not a fresh temp dir).

    Order: ``root``, then ``$SCPVIZ_CACHE``, then ``runs/`` in the per-user cache folder
    (``$XDG_CACHE_HOME/scpviz`` or ``~/.cache/scpviz``); ``name`` is a subfolder (one per notebook or experiment).
    The cache is content-addressed (:mod:`scpviz.sweeps.cache`), so sharing it between notebooks and modes is safe.

    Examples
    --------
    >>> run_cache("06", root="/tmp/cache").as_posix()
    '/tmp/cache/06'
    """
    if root is None:
        root = os.environ.get(CACHE_ENV, "").strip() or None
    if root is None:
        base = os.environ.get("XDG_CACHE_HOME", "").strip() or str(Path.home() / ".cache")
        root = Path(base) / "scpviz" / "runs"
    return Path(root).expanduser() / name


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
        """The budget's values as a plain (mutable) dict."""
        return dict(self.values)


def select_budget(name: str, table: Mapping[str, Mapping[str, Any]], mode: str | None = None) -> Budget:
    """The :class:`Budget` of ``table[mode]`` (one entry per mode of :data:`MODES`), mode from :func:`get_mode`."""
    mode = get_mode(mode)
    missing = set(MODES) - set(table)
    if missing:
        raise ValueError(f"budget {name!r} lacks the modes {sorted(missing)}; every budget has {list(MODES)}.")
    return Budget(name=name, mode=mode, values=MappingProxyType(dict(table[mode])))


# The notebooks that are not experiments. paper = the paper's settings; teach = minutes on a laptop CPU;
# quick = what CI affords while still exercising every code path.
BUDGETS: Mapping[str, Mapping[str, Mapping[str, Any]]] = MappingProxyType({
    "distances": {
        "paper": dict(n_grid=8001, n_taus=401, n_points=2000, max_slices=1000, n_seeds=20),
        "teach": dict(n_grid=8001, n_taus=201, n_points=1000, max_slices=1000, n_seeds=20),
        "quick": dict(n_grid=3001, n_taus=81, n_points=500, max_slices=300, n_seeds=8),
    },
    "forgetting": {   # 00_start_here: A then B (two permuted-MNIST tasks), one λ grid per penalty
        "paper": dict(n_train=2000, n_test=1000, epochs=10, lr=1e-2, hidden=(100,),
                      lams=(0.0, 0.01, 0.1, 1.0, 10.0, 100.0, 1000.0)),
        "teach": dict(n_train=2000, n_test=1000, epochs=10, lr=1e-2, hidden=(100,),
                      lams=(0.0, 0.01, 0.1, 1.0, 10.0, 100.0, 1000.0)),
        "quick": dict(n_train=1000, n_test=500, epochs=6, lr=1e-2, hidden=(100,), lams=(0.0, 1.0, 100.0)),
    },
    "importance": {
        "paper": dict(n_train=60000, epochs=5, lr=1e-4, n_slices=100, hidden=(1024, 512, 256)),
        "teach": dict(n_train=10000, epochs=3, lr=1e-3, n_slices=100, hidden=(256, 128)),
        "quick": dict(n_train=2000, epochs=5, lr=1e-3, n_slices=100, hidden=(64, 32)),
    },
})


def budget(name: str, mode: str | None = None) -> Budget:
    """Budget of notebook ``name`` (``"forgetting"``, ``"distances"``, ``"importance"``) in ``mode`` (default
    :func:`get_mode`).

    The experiments' budgets are ``scpviz.experiments.get(name).budget(mode)``.
    """
    if name not in BUDGETS:
        raise ValueError(f"name={name!r} is not a notebook budget; choose one of {sorted(BUDGETS)}, or, for a paper "
                         f"experiment, use scpviz.experiments.get({name!r}).budget(mode).")
    return select_budget(name, BUDGETS[name], mode)


def describe_machine(device=None) -> str:
    """What a result was computed on, for result files: the device (the card's name for CUDA), the CPU's
    architecture and cores, and torch's version — e.g. ``"cpu (x86_64, 2 cores), torch 2.14.1"``."""
    import os
    import platform

    dev = get_device(None if device is None else str(device))
    where = torch.cuda.get_device_name(dev) if dev.type == "cuda" else dev.type
    return f"{where} ({platform.machine()}, {os.cpu_count()} cores), torch {torch.__version__}"
