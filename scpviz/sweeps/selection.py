"""Reading a grid of runs: λ (and every other swept option) chosen on validation, summaries over seeds, tables.

Runs are grouped per method by **every option that varies** among that method's runs (λ, L, α, the preserved
layer, ...), never by λ alone, so runs at two L values cannot overwrite each other. The seed, and what an
experiment derives from it (the auto-encoders' digit order), is what a group averages over.
"""

from __future__ import annotations

import warnings

import numpy as np

from .. import methods as method_table
from ..experiments import get
from ..training import metric_named

__all__ = ["group_runs", "choose_lambda", "summarize", "row_metric"]

_NOT_OPTIONS = {"experiment", "method", "seed", "data_seed", "snapshots"}   # data_seed: one per seed


def _per_seed_keys(cfg) -> set:
    try:
        return set(get(cfg["experiment"]).per_seed)
    except (KeyError, ValueError):
        return set()


def _freeze(v):
    return tuple(v) if isinstance(v, list) else v


def group_runs(results) -> dict:
    """``{(method, ((key, value), ...)): [(config, History), ...]}``: runs of a method that differ only in the seed.

    The key lists λ first, then every other option that varies among the method's runs (sorted by name).

    Raises
    ------
    ValueError
        When the runs were made on different datasets (a real dataset and its stand-in, say): every table, λ choice
        and figure built on groups compares runs on one dataset.
    """
    results = list(results)
    names = sorted({hist.dataset for _, hist in results})
    if len(names) > 1:
        raise ValueError(f"results mix datasets {names}: compare runs on one dataset at a time (split the results by "
                         "History.dataset first).")
    by_method = {}
    for cfg, hist in results:
        by_method.setdefault(cfg["method"], []).append((cfg, hist))
    groups = {}
    for method, runs in by_method.items():
        skip = _NOT_OPTIONS | _per_seed_keys(runs[0][0])
        keys = sorted({k for c, _ in runs for k in c} - skip)
        varying = [k for k in keys if len({repr(_freeze(c.get(k))) for c, _ in runs}) > 1]
        varying = ["lam"] + [k for k in varying if k != "lam"]
        for cfg, hist in runs:
            key = (method, tuple((k, _freeze(cfg.get(k))) for k in varying))
            groups.setdefault(key, []).append((cfg, hist))
    return groups


def _describe(method, options, cfg):
    opts = dict(options)
    return dict(lam=float(opts.get("lam", cfg["lam"])), n_slices=cfg.get("n_slices") if method == "scp" else None,
                options=opts)


def choose_lambda(results, split="val") -> dict:
    """Per method, the options (λ first) with the best mean final average metric on ``split`` (validation!).

    "Best" is the highest accuracy, or the lowest error for lower-is-better metrics.

    Returns
    -------
    dict
        ``{method: {"lam": λ, "n_slices": L or None, "options": {key: value} (λ and every other varying option),
        "score": mean, "scores": [{**options, "score": mean}, ...]}}``.
    """
    if split == "test":
        warnings.warn("choosing λ on the test split leaks test information; use split='val'.", stacklevel=2)
    best = {}
    for (method, options), runs in group_runs(results).items():
        score = float(np.mean([h.final_average_metric(split) for _, h in runs]))
        sign = 1.0 if runs[0][1].higher_is_better else -1.0  # e.g. an ℓ1 error: lower is better
        b = best.setdefault(method, {"score": -np.inf * sign, "scores": []})
        b["scores"].append({**dict(options), "score": score})
        if sign * score > sign * b["score"]:
            b.update(_describe(method, options, runs[0][0]), score=score)
    return best


def summarize(results, chosen=None, split="test") -> list:
    """One row per group of :func:`group_runs`: the final average metric (mean ± sd over seeds) and its curve.

    Row keys: method, lam, n_slices, options, n_seeds, mean, sd, curve_mean, curve_sd, seeds, config (of the first
    run), dataset, metric_name, metric_unit, higher_is_better. With ``chosen`` (from :func:`choose_lambda`) only each method's chosen group.
    """
    rows = []
    for (method, options), runs in group_runs(results).items():
        if chosen is not None and (method not in chosen or chosen[method]["options"] != dict(options)):
            continue
        finals = np.array([h.final_average_metric(split) for _, h in runs])
        curves = np.array([h.average_metric(split) for _, h in runs])
        metric = runs[0][1].metric
        rows.append(dict(_describe(method, options, runs[0][0]), method=method, n_seeds=len(runs),
                         mean=float(finals.mean()), sd=float(finals.std(ddof=1)) if len(finals) > 1 else 0.0,
                         curve_mean=curves.mean(0).tolist(),
                         curve_sd=(curves.std(0, ddof=1) if len(finals) > 1 else 0 * curves[0]).tolist(),
                         seeds=sorted(c["seed"] for c, _ in runs), config=runs[0][0], dataset=runs[0][1].dataset,
                         metric_name=metric.name,
                         metric_unit=metric.unit, higher_is_better=metric.higher_is_better))
    return sorted(rows, key=lambda r: (method_table.sort_key(r["method"]), r["lam"], repr(sorted(r["options"].items()))))


def row_metric(row):
    """The :class:`~scpviz.training.Metric` a summary row is measured in."""
    return metric_named(row["metric_name"], row["higher_is_better"], row.get("metric_unit"))


