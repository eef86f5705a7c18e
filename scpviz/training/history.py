"""What a continual run produced: the metric of every task after every epoch, and the continual-learning
metrics computed from it (average metric, forgetting, backward transfer, intransigence)."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import torch

from .objectives import Metric, metric_named

__all__ = ["History"]


@dataclasses.dataclass
class History:
    """Everything a continual run produced.

    Attributes
    ----------
    config : dict
        The run's full configuration (method, λ, budget, seed, ...).
    dataset : str
        Name of the dataset the tasks came from.
    task_names : list of str
    metric_name, metric_unit, higher_is_better : str, str or None, bool
        What the per-task number is (:attr:`metric` puts them together); ``metric_unit`` None means the
        unit of the known metric of that name (e.g. ``"%"`` for ``"accuracy"``).
    points : list of dict
        One per evaluation point (after every epoch): ``task`` (index of the task
        being trained), ``epoch`` (1-based), ``test`` and ``val`` (metric of
        every task, ``None`` for tasks not seen yet or without a split),
        ``loss``, ``penalty``.
    timings : dict
        Seconds spent training, computing importances and evaluating.
    extras : dict
        Experiment-specific records (e.g. reconstructions after each task, Figure 4a).

    Notes
    -----
    The end-of-task matrix ``R = final_matrix()`` has R[i, j] = metric on task j
    after finishing task i (NaN for j > i). The metrics follow Chaudhry et al.
    (2018, "Riemannian walk ..."), for a higher-is-better metric:

    * average metric (average accuracy, for classification) after task i: mean_j≤i R[i, j];
    * forgetting: mean over old tasks j < T−1 of max_{l<T−1} R[l, j] − R[T−1, j];
    * backward transfer: mean_j<T−1 (R[T−1, j] − R[j, j]);
    * intransigence of task k: a*_k − R[k, k] with a *reference* a*_k that you
      pass; Chaudhry et al. use a model trained jointly on tasks ≤ k, the
      notebooks use the just-learned accuracy of the no-consolidation run
      (fine-tuning, the most plastic sequential learner), which is cheaper.
    """

    config: dict
    dataset: str
    task_names: list
    metric_name: str = "accuracy"
    higher_is_better: bool = True
    metric_unit: str | None = None
    points: list = dataclasses.field(default_factory=list)
    timings: dict = dataclasses.field(default_factory=dict)
    extras: dict = dataclasses.field(default_factory=dict)

    # -- matrices
    def matrix(self, split="test") -> np.ndarray:
        """(n_points, T) metric of every task at every evaluation point (NaN = not seen)."""
        self._check_split(split)
        T = len(self.task_names)
        M = np.full((len(self.points), T), np.nan)
        for i, pt in enumerate(self.points):
            row = pt.get(split) or []
            for j, v in enumerate(row):
                if v is not None:
                    M[i, j] = v
        return M

    def final_matrix(self, split="test") -> np.ndarray:
        """(T, T) R[i, j]: metric on task j at the end of task i."""
        M = self.matrix(split)
        ends = [max(k for k, pt in enumerate(self.points) if pt["task"] == i) for i in range(self.n_trained)]
        return M[ends]

    @property
    def n_trained(self) -> int:
        """Number of tasks trained so far (0 before the first point)."""
        return 0 if not self.points else self.points[-1]["task"] + 1

    def _check_split(self, split):
        if split not in ("test", "val"):
            raise ValueError(f"split={split!r} must be 'test' or 'val'.")

    # -- metrics
    @property
    def metric(self) -> Metric:
        """The :class:`~scpviz.training.objectives.Metric` of this run (name, unit, direction)."""
        return metric_named(self.metric_name, self.higher_is_better, self.metric_unit)

    def average_metric(self, split="test", per_point=False) -> np.ndarray:
        """Mean metric over the tasks seen so far: after each task (array of length T), or at every
        evaluation point (``per_point=True``). For classification this is the *average accuracy*; for the
        auto-encoders the mean ℓ1 error over the digits seen (lower is better)."""
        M = self.matrix(split) if per_point else self.final_matrix(split)
        return np.nanmean(M, axis=1)

    def final_average_metric(self, split="test") -> float:
        """The metric averaged over all tasks after the last one (the number Figures 3a and 4b end on)."""
        return float(self.average_metric(split)[-1])

    def _require_accuracy(self, what):
        if self.metric_name != "accuracy":
            raise ValueError(f"{what}: this History's metric is {self.metric_name!r}, not an accuracy; "
                             f"use {what.replace('accuracy', 'metric')} (its name and unit are in .metric).")

    def average_accuracy(self, split="test", per_point=False) -> np.ndarray:
        """:meth:`average_metric` for classification runs; an error for any other metric."""
        self._require_accuracy("average_accuracy")
        return self.average_metric(split, per_point)

    def final_average_accuracy(self, split="test") -> float:
        """:meth:`final_average_metric` for classification runs; an error for any other metric."""
        self._require_accuracy("final_average_accuracy")
        return self.final_average_metric(split)

    def _signed_final(self, split):
        """(sign · R, T): the end-of-task matrix oriented so that higher is better."""
        R = self.final_matrix(split)
        return (1.0 if self.higher_is_better else -1.0) * R, len(R)

    def forgetting(self, split="test") -> float:
        """Mean over old tasks of (best earlier value − final value) (Chaudhry et al. 2018)."""
        R, T = self._signed_final(split)
        if T < 2:
            return 0.0
        return float(np.mean(np.nanmax(R[:T - 1, :T - 1], axis=0) - R[T - 1, :T - 1]))

    def backward_transfer(self, split="test") -> float:
        """Mean over old tasks of (final value − value right after learning it); negative = forgetting."""
        R, T = self._signed_final(split)
        if T < 2:
            return 0.0
        return float(np.mean(R[T - 1, :T - 1] - np.diag(R)[:T - 1]))

    def learning_metric(self, split="test") -> float:
        """Mean over tasks of the metric right after learning each one, R[k, k] — the *learning error* for an
        error metric (how well each new task is learned at all), kept apart from :meth:`forgetting` (how much
        of it is lost later). In the metric's own orientation (an error: lower is better)."""
        return float(np.mean(np.diag(self.final_matrix(split))))

    def intransigence(self, reference, split="test") -> float:
        """Mean over tasks k of a*_k − R[k, k] for a reference a* (see the class notes)."""
        R = self.final_matrix(split)
        ref = np.asarray(reference, dtype=float)
        if ref.shape != (len(R),):
            raise ValueError(f"reference must hold one value per trained task ({len(R)}), got shape {ref.shape}.")
        sign = 1.0 if self.higher_is_better else -1.0
        return float(np.mean(sign * (ref - np.diag(R))))

    # -- serialisation
    def to_dict(self) -> dict:
        """All fields as plain containers (:func:`dataclasses.asdict`); :meth:`from_dict` reads it back."""
        return dataclasses.asdict(self)

    def to_json(self, path=None) -> str:
        """The history as JSON text, also written to ``path`` when given; :meth:`from_json` reads it back."""
        text = json.dumps(self.to_dict(), indent=1, default=_json_default)
        if path is not None:
            with open(path, "w") as f:
                f.write(text)
        return text

    @classmethod
    def from_dict(cls, d) -> "History":
        """A History from :meth:`to_dict`'s dict; unknown keys are ignored, missing required ones raise
        ``ValueError``."""
        fields = {f.name for f in dataclasses.fields(cls)}
        missing = {"config", "dataset", "task_names", "points"} - set(d)
        if missing:
            raise ValueError(f"not a History: missing {sorted(missing)}")
        return cls(**{k: v for k, v in d.items() if k in fields})

    @classmethod
    def from_json(cls, text_or_path) -> "History":
        """A History from :meth:`to_json`'s text or a path to a file holding it."""
        text = str(text_or_path)
        if not text.lstrip().startswith("{"):
            with open(text_or_path) as f:
                text = f.read()
        return cls.from_dict(json.loads(text))


def _json_default(o):
    if isinstance(o, (np.integer,)):
        return int(o)
    if isinstance(o, (np.floating,)):
        return float(o)
    if isinstance(o, (tuple, set)):
        return list(o)
    if isinstance(o, torch.Tensor):
        return o.tolist()
    return str(o)
