"""The configuration of one run, typed where every run agrees and open where experiments differ.

A run is identified by a JSON document: what the sweep cache hashes, what result files store and what a
History carries. :class:`RunConfig` *is* that document (a ``dict``, so that it serialises, hashes and compares as
one) and adds typed access to the keys every run has, validated once when it is made:

>>> cfg = RunConfig({"experiment": "permuted_mnist", "method": "scp", "lam": 1000, "seed": 0, "n_slices": 100,
...                  "alpha": 0.75, "epochs": 2, "lr": 1e-3, "batch_size": 100}, mode="teach")
>>> cfg.method, cfg.lam, cfg.seed, cfg.mode
('scp', 1000.0, 0, 'teach')
>>> cfg.row.label                         # the method's row of scpviz.methods
'SCP (Γ)'
>>> RunConfig(dict(cfg, lam=-1.0))
Traceback (most recent call last):
...
ValueError: lam=-1.0 must be a finite number >= 0 (λ of eq 17).

Two things a run needs are *not* part of its identity, and so not keys: ``mode`` (which budget gave the defaults;
the keys already hold every value it chose) and ``data_root`` (where this machine keeps the datasets). They are
attributes, passed along with the config to wherever it runs (a worker process, a Ray task) instead of through
environment variables.
"""

from __future__ import annotations

import math
from typing import Any, Mapping

from .. import methods as method_table

__all__ = ["RunConfig"]


class RunConfig(dict):
    """One run: ``experiment``, ``method``, ``lam``, ``seed``, ``n_slices`` and every option of its experiment.

    Parameters
    ----------
    values : mapping
        The keys (as :meth:`scpviz.experiments.base.Experiment.config` makes them, or as a result file holds them).
    mode : {"quick", "teach", "paper"}, optional
        The budget the defaults came from (None: not known, e.g. a config read back from a file).
    data_root : path, optional
        Where the datasets are (None: :func:`scpviz.config.data_root`'s default).

    Raises
    ------
    ValueError
        For a missing ``experiment``/``method``/``lam``/``seed``, an unknown method, λ < 0 or not finite, or a
        negative or non-integer ``seed`` or ``data_seed``.
    """

    def __init__(self, values: Mapping[str, Any] = (), *, mode: str | None = None, data_root=None):
        super().__init__(values)
        self.mode = mode
        self.data_root = data_root
        missing = [k for k in ("experiment", "method", "lam", "seed") if k not in self]
        if missing:
            raise ValueError(f"a run config needs {missing}: make it with experiments.get(name).config(...).")
        method_table.get(self["method"])   # an unknown method: a clear error naming the choices
        lam = self["lam"]
        if isinstance(lam, bool) or not isinstance(lam, (int, float)) or not math.isfinite(lam) or lam < 0:
            raise ValueError(f"lam={lam!r} must be a finite number >= 0 (λ of eq 17).")
        for key in ("seed", "data_seed"):
            seed = self.get(key, 0)
            if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
                raise ValueError(f"{key}={seed!r} must be an integer >= 0.")

    @classmethod
    def of(cls, cfg: Mapping[str, Any], mode: str | None = None, data_root=None) -> "RunConfig":
        """``cfg`` as a RunConfig (itself when it is one; its mode and data root kept unless given)."""
        if isinstance(cfg, RunConfig) and mode is None and data_root is None:
            return cfg
        return cls(cfg, mode=mode if mode is not None else getattr(cfg, "mode", None),
                   data_root=data_root if data_root is not None else getattr(cfg, "data_root", None))

    # -- what every run has
    @property
    def experiment(self) -> str:
        """The experiment's registry name, e.g. ``"permuted_mnist"``."""
        return str(self["experiment"])

    @property
    def method(self) -> str:
        """A row of :data:`scpviz.methods.METHODS`."""
        return str(self["method"])

    @property
    def row(self) -> method_table.Method:
        """The method's row of the methods table."""
        return method_table.get(self.method)

    @property
    def lam(self) -> float:
        """λ of the penalty λ Σ Γ (θ − θ*)² (eq 17)."""
        return float(self["lam"])

    @property
    def seed(self) -> int:
        """Seeds the initialisation, the batch order, the slices and the experiment's random stream."""
        return int(self["seed"])

    @property
    def data_seed(self) -> int:
        """Seeds which training and validation images the run draws from each task's pool (the run's seed unless
        given; result files made before it existed drew them all with 0)."""
        return int(self.get("data_seed", 0))

    @property
    def n_slices(self) -> int:
        """L, the number of slices (SCP, Algorithm 1)."""
        return int(self["n_slices"])

    @property
    def alpha(self) -> float:
        """Weight of the newest task's importance in the online merge (eq 20)."""
        return float(self["alpha"])

    @property
    def epochs(self) -> int:
        """Epochs per task."""
        return int(self["epochs"])

    @property
    def lr(self) -> float:
        """Adam's learning rate."""
        return float(self["lr"])

    @property
    def batch_size(self) -> int:
        """Training batch size."""
        return int(self["batch_size"])

    # -- derived copies
    def replace(self, **changes) -> "RunConfig":
        """A copy with ``changes`` applied (validated again), keeping the mode and data root."""
        return RunConfig({**self, **changes}, mode=self.mode, data_root=self.data_root)

    def to_dict(self) -> dict:
        """The plain JSON document (what the cache hashes and a result file stores)."""
        return dict(self)

    def __repr__(self):
        return f"RunConfig({dict.__repr__(self)}, mode={self.mode!r})"
