"""Sweeps over an experiment's grid (methods × λ × L × seeds): a content-addressed resumable cache, backends that
scale out (serial, local processes, Ray), λ chosen on validation, summaries and the shipped result files.

Their Markdown tables are in :mod:`scpviz.viz.tables`. Modules: ``grid`` (the grid and :func:`sweep`), ``cache``, ``backends``, ``selection`` (choose λ, summarise),
``comparison`` (forgetting / intransigence per method, differences paired by seed), ``export`` (result files, shipped grids).
"""

from .backends import BACKENDS, SweepWarning, ensemble_groups, run_configs
from .comparison import (batchnorm_restore_rows, chosen_runs_by_seed, continual_metrics, paired_difference,
                         paired_interval)
from .cache import CacheWarning, cached_run, config_key
from .export import compact_history, export_results, load_exported, shipped_results
from .grid import make_grid, sweep
from .selection import choose_lambda, group_runs, row_metric, summarize

__all__ = ["sweep", "make_grid", "run_configs", "ensemble_groups", "BACKENDS", "SweepWarning", "cached_run", "config_key",
           "CacheWarning", "choose_lambda", "summarize", "group_runs", "row_metric",
           "compact_history", "export_results", "load_exported", "shipped_results", "chosen_runs_by_seed",
           "continual_metrics", "paired_difference", "paired_interval", "batchnorm_restore_rows"]
