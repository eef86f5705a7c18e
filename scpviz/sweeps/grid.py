"""Grids of runs: methods × λ × L × seeds of one experiment, through the cache, on a backend."""

from __future__ import annotations

import itertools

from .. import methods as method_table
from ..config import get_mode
from ..experiments import get
from .backends import run_configs

__all__ = ["make_grid", "sweep"]


def _lams_for(exp, method, lams, lams_per_method, mode):
    row = method_table.get(method)
    if row.importance is None:
        return [0.0]  # λ is meaningless without a penalty: one run per seed
    if lams_per_method and method in lams_per_method:
        return list(lams_per_method[method])
    if lams is not None:
        return list(lams)
    grid = exp.budget(mode).lams
    if isinstance(grid, dict):
        # a method the budget names no grid for (one beyond the paper's) explores its own λ scale
        return list(grid.get(method, row.lam_grid))
    return list(grid)


def make_grid(experiment="permuted_mnist", methods=None, lams=None, seeds=None, n_slices=None, mode=None,
              lams_per_method=None, data_root=None, **overrides) -> list:
    """The configs of the grid methods × λ × L × seeds.

    Parameters
    ----------
    experiment : str
        A registered experiment (:func:`scpviz.experiments.names`).
    methods : sequence of str, optional
        Any of the experiment's :attr:`~scpviz.experiments.Experiment.available_methods`. Default: its
        :attr:`~scpviz.experiments.Experiment.methods` (the paper's).
    lams : sequence of float, optional
        λ grid for every method. Default: the budget's grid of ``mode`` (per method where the budget says so).
    seeds : sequence of int, optional
        Default: the budget's seeds.
    n_slices : int or sequence of int, optional
        L values (SCP only). Default: the budget's L.
    mode : str, optional
        Budget to take defaults from (default :func:`scpviz.config.get_mode`).
    lams_per_method : dict, optional
        ``{method: [λ, ...]}``, overriding ``lams`` per method.
    data_root : path, optional
        Where the datasets are (default :func:`scpviz.config.data_root`); carried by each
        :class:`~scpviz.experiments.RunConfig` to wherever it runs.
    **overrides
        Config keys of the experiment, applied to every run.

    Returns
    -------
    list of RunConfig
    """
    exp = get(experiment)
    mode = get_mode(mode)
    b = exp.budget(mode)
    methods = list(exp.methods if methods is None else methods)
    seeds = list(b.seeds if seeds is None else seeds)
    if isinstance(n_slices, int):
        n_slices = [n_slices]
    Ls = [None] if n_slices is None else [int(v) for v in n_slices]
    cfgs = []
    for method in methods:
        for lam, L, seed in itertools.product(_lams_for(exp, method, lams, lams_per_method, mode),
                                              Ls if method_table.get(method).uses_slices else [None], seeds):
            extra = dict(overrides) if L is None else dict(overrides, n_slices=L)
            cfgs.append(exp.config(method, lam, seed, mode=mode, data_root=data_root, **extra))
    return cfgs


def sweep(experiment="permuted_mnist", methods=None, lams=None, seeds=None, n_slices=None, cache_dir=None,
          mode=None, device=None, progress=True, backend="serial", workers=None, lams_per_method=None,
          threads=None, data_root=None, ensemble_size=None, **overrides) -> list:
    """Run (or read from the cache) the grid of :func:`make_grid` and return ``[(config, History), ...]``.

    ``backend``: ``"serial"``, ``"processes"``, ``"ray"`` or ``"ensemble"`` (:mod:`scpviz.sweeps.backends`;
    ``ensemble_size`` runs per stacked model, by default as many as fit in memory); all share the cache in ``cache_dir`` and give the same results for
    the same ``threads`` per run (the ensemble: to float rounding).

    Examples
    --------
    >>> res = sweep("permuted_mnist", methods=["none", "scp"], lams=[10.0], mode="quick", progress=False,
    ...             dataset="digits", n_tasks=2, n_train=100, n_val=20, n_test=50, hidden=[16])
    >>> [(c["method"], c["lam"], h.final_matrix().shape) for c, h in res]
    [('none', 0.0, (2, 2)), ('scp', 10.0, (2, 2))]
    """
    cfgs = make_grid(experiment, methods, lams, seeds, n_slices, mode, lams_per_method, data_root, **overrides)
    hists = run_configs(cfgs, cache_dir, device=device, backend=backend, workers=workers, progress=progress,
                        threads=threads, ensemble_size=ensemble_size)
    return list(zip(cfgs, hists))
