"""The seam every paper experiment extends: an :class:`Experiment` declares its task stream, model,
objective and metric, the consolidation options that make sense, three budgets and its figures; the
shared :meth:`Experiment.run` trains it (d2l's Module/DataModule/Trainer split, in one small class).

A run is a :class:`~scpviz.experiments.run_config.RunConfig`: a JSON document (hashed by the sweep cache) of the
keys of :data:`COMMON_OPTIONS` plus the experiment's own :attr:`Experiment.options`, and ``experiment``,
``method``, ``lam``, ``seed``, ``n_slices`` — typed where every run agrees, with the mode that gave its defaults
and the data folder it reads from.

The path from the command line to the penalty: ``python -m scpviz run|sweep`` → :meth:`Experiment.config`
(``method: str``, ``lam: float``, ``seed: int``, ``mode: str``, ``data_root``) → ``RunConfig`` →
:meth:`Experiment.run` → :meth:`Experiment.consolidation` → ``Consolidation(cfg.method, cfg.lam, ...)`` → its
row of :data:`scpviz.methods.METHODS` → the row's importance function → the penalty λ Σ Γ (θ − θ*)² (eq 17).
"""

from __future__ import annotations

import dataclasses
from typing import Any, Mapping

import torch

from ..config import Budget, get_device, get_mode, select_budget
from .. import methods as method_table
from ..consolidation import Consolidation
from ..training import History, Objective, train_sequence
from .run_config import RunConfig

__all__ = ["Option", "FigureSpec", "COMMON_OPTIONS", "SWEEP_KEYS", "Experiment"]

SWEEP_KEYS = ("seeds", "lams")  # budget entries that shape a sweep, not a single run


@dataclasses.dataclass(frozen=True)
class Option:
    """One configurable key of a run, and how the command line spells it.

    Attributes
    ----------
    key : str
        The config key (``"n_train"``).
    flag : str
        The command-line flag (``"--train"``).
    type : type
        ``int``, ``float``, ``str`` or ``bool`` (a switch).
    help : str
    nargs : str, optional
        ``"+"`` for list values (``hidden``, ``order``).
    choices : tuple, optional
    """

    key: str
    flag: str
    type: type
    help: str
    nargs: str | None = None
    choices: tuple | None = None

    def coerce(self, value):
        """``value`` converted to this option's type (lists element-wise); None stays None."""
        if value is None:
            return None
        if self.nargs:
            return [self.type(v) for v in value]
        return self.type(value)


@dataclasses.dataclass(frozen=True)
class FigureSpec:
    """A figure an experiment reproduces, drawn by :mod:`scpviz.viz.figures` from a sweep's results.

    Attributes
    ----------
    paper : str
        Which figure of the paper (``"Figure 3a"``); ``""`` for a figure of ours.
    plot : str
        Name of the function in :mod:`scpviz.viz.plots` that draws it.
    input : {"rows", "run", "by_method", "seeds_by_method"}
        What the function takes: the summary rows of all runs, one run's History, ``{label: History}``
        with the first run of each method, or ``{label: [History, ...]}`` with every seed of each method's first λ.
    filename : str
        File stem when the command line saves it.
    reference : str, optional
        Name of a constant in :mod:`scpviz.viz.plots` holding the paper's numbers, passed as ``reference=``.
    """

    paper: str
    plot: str
    input: str
    filename: str
    reference: str | None = None


# keys that every experiment's configs gained after results were shipped, with the value those runs had: before
# version 0.4 every seed trained on the images drawn with subset seed 0
_LATER_COMMON = {"data_seed": 0}
# what the runs of one stacked ensemble may differ in (everything else is one budget)
ENSEMBLE_AXES = ("seed", "data_seed", "method", "lam")

COMMON_OPTIONS = (
    Option("epochs", "--epochs", int, "epochs per task"),
    Option("n_train", "--train", int, "training images per task"),
    Option("n_val", "--val", int, "validation images per task, held out of the training images (λ is chosen on them)"),
    Option("n_test", "--test", int, "test images per task"),
    Option("hidden", "--hidden", int, "hidden-layer widths", nargs="+"),
    Option("lr", "--lr", float, "Adam learning rate"),
    Option("batch_size", "--batch-size", int, "batch size"),
    Option("alpha", "--alpha", float, "eq 20: weight of the newest task's importance in the online merge"),
    Option("optimizer_reset", "--optimizer-reset", str, "a fresh Adam every task (as the paper) or every epoch "
                                                         "(as grid_search.py of lihr04/corel2m)", choices=("task", "epoch")),
    Option("dataset", "--dataset", str, "mnist, or the labelled offline stand-in 'digits'", choices=("mnist", "digits")),
)


def _split_sizes(task) -> tuple:
    """(n_train, n_val, n_test) of a task."""
    return tuple(0 if v is None else len(v) for v in (task.x_train, task.x_val, task.x_test))


class Experiment:
    """One paper experiment. Subclasses set the class attributes and implement :meth:`tasks` and :meth:`model`.

    Attributes
    ----------
    name : str
        Registry name (``"permuted_mnist"``); the command line also accepts it with dashes.
    title : str
    paper : str
        The section and figure reproduced (``"§5.1, Figure 3"``).
    objective : scpviz.training.Objective
        Batch loss and metric (name, unit, higher or lower is better).
    has_class_probabilities : bool
        The network outputs class scores (a softmax per image or per position): methods that need them (EWC)
        make sense here. :attr:`methods` and :attr:`available_methods` follow from it and the methods table.
    budgets : mapping
        ``{"quick": {...}, "teach": {...}, "paper": {...}}``: each holds a value for every config option
        (common and own) plus ``seeds`` and ``lams`` (the default sweep grid).
    options : tuple of Option
        The experiment's own config keys, beyond :data:`COMMON_OPTIONS`.
    figures : tuple of FigureSpec
    default_lams : mapping
        Per method, the λ a single run uses when none is given: the validation-chosen λ of ``shipped``
        (a test recomputes it from the shipped file).
    shipped : str, optional
        Name of the shipped results grid in ``scpviz/results``.
    eval_batch_size : int
        Images per forward pass when the tasks are scored after every epoch (speed only: eval mode makes each
        image's output independent of the others').
    task_keys : tuple of str
        The config keys that determine the task stream (runs sharing them reuse the tensors).
    run_overrides : mapping
        Config values ``python -m scpviz run`` sets because its figures need them (Figure 4a's snapshots);
        sweeps do not.
    live : mapping
        Overrides of the quick budget for an explorer's *live* mode: one run of a few seconds on a laptop CPU that
        still shows forgetting (the quick budget itself is sized for CI).
    unused_options : tuple of str
        Keys of :data:`COMMON_OPTIONS` that mean nothing here (``hidden`` for a network without such widths):
        neither in the config nor on the command line.
    later_options : mapping
        Options that the configs of a shipped result file may lack, each with the value those runs used;
        :meth:`upgrade` adds them to a config read back from such a file, so that it equals the config the same
        run gets today.
    per_seed : tuple of str
        Config keys the seed decides (the auto-encoders' digit order): a sweep averages over them, it does not
        compare them.
    """

    name: str = ""
    title: str = ""
    paper: str = ""
    objective: Objective
    has_class_probabilities: bool = True
    budgets: Mapping[str, Mapping[str, Any]] = {}
    options: tuple = ()
    figures: tuple = ()
    default_lams: Mapping[str, float] = {}
    shipped: str | None = None
    eval_batch_size: int = 2000
    task_keys: tuple = ("dataset", "seed", "data_seed", "n_train", "n_val", "n_test")
    per_seed: tuple = ()
    later_options: Mapping[str, Any] = {}
    unused_options: tuple = ()
    run_overrides: Mapping[str, Any] = {}
    live: Mapping[str, Any] = {}

    def __init__(self):
        self._task_cache: dict = {}

    # -- declarations
    @property
    def metric(self):
        """The :class:`~scpviz.training.objectives.Metric` the experiment reports (its objective's)."""
        return self.objective.metric

    def all_options(self) -> tuple:
        """:data:`COMMON_OPTIONS` and the experiment's own, in that order; an own option replaces the common one of
        the same key (e.g. a ``dataset`` with other choices); :attr:`unused_options` are left out."""
        skip = {o.key for o in self.options} | set(self.unused_options)
        return tuple(o for o in COMMON_OPTIONS if o.key not in skip) + tuple(self.options)

    def budget(self, mode: str | None = None) -> Budget:
        """This experiment's budget in ``mode`` (default :func:`scpviz.config.get_mode`)."""
        return select_budget(self.name, self.budgets, mode)

    def defaults(self, mode: str | None = None) -> dict:
        """Config defaults of ``mode``: the budget without its sweep entries (seeds, λ grid)."""
        return {k: v for k, v in self.budget(mode).as_dict().items() if k not in SWEEP_KEYS}

    @property
    def available_methods(self) -> tuple:
        """Every method of :data:`scpviz.methods.METHODS` that makes sense here, in table order."""
        return tuple(m.name for m in method_table.METHODS.values()
                     if self.has_class_probabilities or not m.needs_class_probabilities)

    @property
    def methods(self) -> tuple:
        """The paper's methods among :attr:`available_methods`: what a sweep runs when none are named."""
        return tuple(m for m in self.available_methods if method_table.get(m).paper)

    def default_lam(self, method: str) -> float:
        """The λ a run of ``method`` gets when none is given: the shipped grid's validation choice where there is
        one, else the middle of the method's λ scale (:attr:`scpviz.methods.Method.lam_grid`); 0 without a penalty."""
        self.check_method(method)
        row = method_table.get(method)
        return 0.0 if row.importance is None else float(self.default_lams.get(method, row.default_lam))

    def check_method(self, method):
        """Raise ``ValueError`` naming the choices unless ``method`` is one of :attr:`available_methods`."""
        if method not in self.available_methods:
            why = (" (it needs class probabilities; this experiment's network outputs none)"
                   if method in method_table.METHODS else "")
            raise ValueError(f"method={method!r} is not available in {self.name}{why}: choose one of "
                             f"{list(self.available_methods)}.")

    # -- configs
    def config(self, method: str = "scp", lam: float | None = None, seed: int = 0, mode: str | None = None,
               data_root=None, **overrides) -> RunConfig:
        """The full configuration of one run.

        Parameters
        ----------
        method : str
            One of :attr:`available_methods`.
        lam : float, optional
            λ of eq 17; default :meth:`default_lam` (the shipped grid's validation choice); 0 without a penalty.
        seed : int
            Seeds the model's initialisation, the batch order, the slices and the experiment's random stream, and
            (as ``data_seed``, unless that is given among ``overrides``) which training and validation images each
            task draws, so that seeds differ in their data as well.
        mode : str, optional
            Budget to take defaults from (default :func:`scpviz.config.get_mode`); stored as ``cfg.mode``.
        data_root : path, optional
            Where the datasets are (default :func:`scpviz.config.data_root`); decides ``"auto"`` datasets and is
            stored as ``cfg.data_root`` (not a key: it does not change what the run computes).
        **overrides
            Any config key of :meth:`all_options` (or ``n_slices``); unknown keys raise ``ValueError``.
        """
        mode = get_mode(mode)
        self.check_method(method)
        lam = self.default_lam(method) if lam is None else lam
        if method_table.get(method).importance is None:
            lam = 0.0
        cfg = dict(experiment=self.name, method=method, lam=float(lam), seed=int(seed), data_seed=int(seed),
                   **self.defaults(mode))
        cfg = self.derive(cfg, overrides)
        unknown = set(overrides) - set(cfg)
        if unknown:
            raise ValueError(f"unknown config keys {sorted(unknown)} for {self.name}; known: {sorted(cfg)}.")
        cfg.update(overrides)
        for opt in self.all_options():
            if opt.key in cfg:
                cfg[opt.key] = opt.coerce(cfg[opt.key])
                if opt.choices and cfg[opt.key] not in opt.choices:
                    raise ValueError(f"{opt.key}={cfg[opt.key]!r} must be one of {list(opt.choices)} ({opt.help}).")
        cfg["n_slices"] = int(cfg["n_slices"])
        cfg = RunConfig(cfg, mode=mode, data_root=data_root)
        self.validate(cfg)
        return self.finalize(cfg)

    def upgrade(self, cfg: Mapping[str, Any]) -> dict:
        """A config read back from a result file made by an earlier version, as this version writes it: the
        :attr:`later_options` it lacks added with the values its run had (the one converter of old results)."""
        return {**cfg, **{k: v for k, v in self.all_later_options().items() if k not in cfg}}

    def all_later_options(self) -> dict:
        """The options every experiment's configs gained after results were shipped (``data_seed``: 0) and this
        experiment's :attr:`later_options`, each at the value those runs had."""
        return {**_LATER_COMMON, **self.later_options}

    def finalize(self, cfg: RunConfig) -> RunConfig:
        """Hook: the last normalisation of a complete, valid config (e.g. dropping keys at their defaults that
        older results lack); default: none."""
        return cfg

    def derive(self, cfg: dict, overrides: dict) -> dict:
        """Hook: values that follow from others (e.g. the digit order from the seed); default: none."""
        return cfg

    def validate(self, cfg: dict) -> None:
        """Hook: experiment-specific checks of a complete config; raise ``ValueError`` naming the key."""

    # -- the pieces of a run
    def tasks(self, cfg: RunConfig, device) -> list:
        """The task stream of ``cfg`` on ``device`` (a list of :class:`scpviz.datasets.Task`)."""
        raise NotImplementedError

    def model(self, cfg: RunConfig, tasks: list) -> torch.nn.Module:
        """A freshly initialised network for ``tasks`` (seeded by ``cfg["seed"]``)."""
        raise NotImplementedError

    def consolidation(self, cfg: RunConfig, model, tasks: list) -> Consolidation:
        """The consolidation of ``cfg`` (method, λ, α, L, seed)."""
        return Consolidation(cfg.method, lam=cfg.lam, alpha=cfg.alpha, n_slices=cfg.n_slices, seed=cfg.seed)

    def recorder(self, cfg: dict, tasks: list, consolidation=None):
        """Hook: ``(on_task_end, finish)`` callables that record extras (e.g. Figure 4a's reconstructions, a
        diagnostic of the run's ``consolidation``); default: nothing recorded."""
        return None, None

    @staticmethod
    def data_root_of(cfg) -> Any:
        """Where the run of ``cfg`` reads its datasets: a RunConfig's ``data_root``; None (the default folder,
        :func:`scpviz.config.data_root`) for a plain dict."""
        return getattr(cfg, "data_root", None)

    def cached_tasks(self, cfg: RunConfig, device) -> list:
        """:meth:`tasks`, kept in memory for runs that share :attr:`task_keys` (a sweep re-uses them)."""
        cfg = RunConfig.of(cfg)
        key = tuple(str(cfg.get(k)) for k in self.task_keys) + (str(device), str(cfg.data_root))
        if key not in self._task_cache:
            if len(self._task_cache) > 4:
                self._task_cache.clear()
            self._task_cache[key] = self.tasks(cfg, device)
        return self._task_cache[key]

    def augment(self, cfg: dict):
        """Hook: a callable ``(batch, generator) -> batch`` applied to every training batch (e.g.
        :class:`scpviz.datasets.Augmentation`); default: none."""
        return None

    def objective_for(self, cfg: dict):
        """The training objective of run ``cfg`` (default: the experiment's; an option may change the loss)."""
        return self.objective

    def run(self, cfg: RunConfig, device=None, progress: bool = False, on_epoch=None) -> History:
        """Train the run described by ``cfg`` (no cache; see :func:`scpviz.sweeps.cached_run`); a plain dict (a
        config read back from a file) is taken as a :class:`RunConfig`.

        ``on_epoch(end)`` is called after every evaluation point with a :class:`scpviz.training.EpochEnd`
        (``end.history`` is the History so far).
        """
        if cfg.get("experiment") != self.name:
            raise ValueError(f"cfg is a {cfg.get('experiment')!r} config, not {self.name!r}: make it with "
                             f"experiments.get({self.name!r}).config(...).")
        cfg = RunConfig.of(cfg)
        device = get_device(None if device is None else str(device))   # a device this machine lacks: a clear error
        tasks = self.cached_tasks(cfg, device)
        model = self.model(cfg, tasks).to(device)
        cons = self.consolidation(cfg, model, tasks)
        on_task_end, finish = self.recorder(cfg, tasks, cons)
        # the global random stream (Dropout's masks) seeded by the run's seed, without touching the caller's
        with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
            torch.manual_seed(cfg.seed)
            hist = train_sequence(model, tasks, consolidation=cons, epochs=cfg.epochs, lr=cfg.lr,
                                  batch_size=cfg.batch_size, objective=self.objective_for(cfg),
                                  optimizer_reset=cfg["optimizer_reset"], seed=cfg.seed, progress=progress,
                                  config=cfg.to_dict(), on_epoch=on_epoch, on_task_end=on_task_end,
                                  augment=self.augment(cfg), adam_eps=cfg.get("adam_eps", 1e-8),
                                  eval_batch_size=self.eval_batch_size)
        if finish is not None:
            finish(hist)
        return hist

    #: whether runs of this experiment can train as one stacked model (:mod:`scpviz.ensemble`): a fully connected
    #: network (an MLP classifier, an auto-encoder) without augmentation
    ensemble_ready: bool = False

    def ensemble_refusal(self, cfg) -> str | None:
        """Why the run of ``cfg`` cannot train in a stacked ensemble, or None when it can."""
        if not self.ensemble_ready:
            return (f"{self.name}'s network has no stacked form (the ensemble batches fully connected networks; "
                    "convolutions and BatchNorm run alone)")
        if cfg["method"] != "none" and method_table.get(cfg["method"]).stacked_rule is None:
            return f"method {cfg['method']!r} has no batched importance rule"
        return None

    def ensemble_axes(self, cfg) -> tuple:
        """The config keys in which the runs of one stacked ensemble may differ (everything else is one budget)."""
        return ENSEMBLE_AXES

    def ensemble_recorder(self, cfgs, runs):
        """``(on_task_end(t, stack), finish(histories))`` recording the extras :meth:`recorder` records for single
        runs, for every run of an ensemble at once; ``(None, None)`` when there are none."""
        return None, None

    def ensemble_tasks(self, cfg, device):
        """The tasks of ``cfg`` as the ensemble trainer reads them (default: :meth:`tasks`; an experiment may keep
        them in a lazier form the trainer expands, see :func:`scpviz.datasets.permuted_mnist_tasks`)."""
        return self.tasks(cfg, device)

    def ensemble_run(self, cfg, device=None):
        """The :class:`~scpviz.ensemble.EnsembleRun` of ``cfg``: its tasks and network on ``device``."""
        from ..ensemble import EnsembleRun

        cfg = RunConfig.of(cfg)
        device = get_device(None if device is None else str(device))
        tasks = self.ensemble_tasks(cfg, device)
        return EnsembleRun(self.model(cfg, tasks).to(device), tasks, seed=cfg.seed, method=cfg.method, lam=cfg.lam,
                           config=cfg.to_dict())

    def run_ensemble(self, cfgs, device=None) -> list:
        """Train the runs of ``cfgs`` as one :class:`~scpviz.ensemble.StackedMLP` (:func:`scpviz.ensemble.
        train_ensemble`); one History per config, each what :meth:`run` makes of it (tested).

        The configs must share everything but :meth:`ensemble_axes` (``seed``, ``data_seed``, ``method``,
        ``lam``).
        """
        from ..ensemble import train_ensemble
        from ..training import HyperParams

        cfgs = [RunConfig.of(c) for c in cfgs]
        axes = self.ensemble_axes(cfgs[0])
        shared = [{k: v for k, v in c.to_dict().items() if k not in axes} for c in cfgs]
        if any(s != shared[0] for s in shared):
            raise ValueError(f"cfgs differ in more than {', '.join(axes)}: group them first "
                             "(scpviz.sweeps.ensemble_groups).")
        for c in cfgs:
            why = self.ensemble_refusal(c)
            if why:
                raise ValueError(f"cannot ensemble {c['method']} λ={c['lam']:g}: {why}.")
        device = get_device(None if device is None else str(device))
        runs = [self.ensemble_run(c, device) for c in cfgs]
        c = cfgs[0]
        hp = HyperParams(epochs=c.epochs, lr=c.lr, batch_size=c.batch_size, optimizer_reset=c["optimizer_reset"],
                         adam_eps=c.get("adam_eps", 1e-8))
        # a stack needs equal task sizes; a dataset smaller than the budget's splits can make them differ, so the
        # runs are stacked by their actual sizes
        by_size = {}
        for m, r in enumerate(runs):
            by_size.setdefault(tuple(_split_sizes(t) for t in r.tasks), []).append(m)
        hists = [None] * len(runs)
        for idx in by_size.values():
            part = [runs[m] for m in idx]
            on_task_end, finish = self.ensemble_recorder([cfgs[m] for m in idx], part)
            got = train_ensemble(part, hparams=hp, objective=self.objective_for(c), alpha=c.alpha,
                                 n_slices=c.n_slices, eval_batch_size=self.eval_batch_size, device=device,
                                 on_task_end=on_task_end)
            if finish is not None:
                finish(got)
            for m, h in zip(idx, got):
                hists[m] = h
        return hists

    def describe(self, mode: str | None = None) -> str:
        """One line: name, what it reproduces, the metric and the budget of ``mode``."""
        b = self.budget(mode)
        short = {k: v for k, v in b.as_dict().items() if k not in ("lams",)}
        return f"{self.name} ({self.paper}, {self.metric.name}, {self.metric.direction}) [{b.mode}] {short}"

    def __repr__(self):
        return f"<Experiment {self.name!r}: {self.title} ({self.paper})>"
