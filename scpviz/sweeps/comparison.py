"""Comparing methods the way a reader should: the continual-learning metrics per method, and differences
**paired by seed** with a test (the same seed gives every method the same tasks — permutations or digit
orders — and the same initialisation, so per-seed differences remove most of the spread that overlapping
mean ± sd bars hide).

Metrics (Chaudhry et al. 2018, see :class:`scpviz.training.History`): final average metric, forgetting,
backward transfer, and intransigence against a reference method's just-learned values on the same seed
(by default the no-consolidation run, the most plastic sequential learner).
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from .. import methods as method_table
from .selection import group_runs

__all__ = ["chosen_runs_by_seed", "continual_metrics", "paired_difference", "paired_interval", "batchnorm_restore_rows"]

METRICS = ("final", "forgetting", "backward_transfer", "intransigence", "learning")


def chosen_runs_by_seed(results, chosen) -> dict:
    """``{method: {seed: History}}`` for each method's chosen group (from :func:`~scpviz.sweeps.choose_lambda`)."""
    out = {}
    for (method, options), runs in group_runs(results).items():
        if method in chosen and chosen[method]["options"] == dict(options):
            out[method] = {c["seed"]: h for c, h in runs}
    if not out:
        raise ValueError("no run matches `chosen`; pass the dict choose_lambda(results) returned for these results")
    return dict(sorted(out.items(), key=lambda kv: method_table.sort_key(kv[0])))


def continual_metrics(results, chosen, split="test", reference="none") -> list:
    """One row per method: every metric's per-seed values, mean and sd.

    Parameters
    ----------
    results : list of (dict, History)
    chosen : dict
        From :func:`~scpviz.sweeps.choose_lambda`.
    reference : str
        Method whose just-learned values R[k, k] (same seed) are intransigence's reference a*_k.

    Returns
    -------
    list of dict
        Keys: ``method``, ``seeds``, ``metric`` (the :class:`~scpviz.training.Metric`), and for each of
        ``final``, ``forgetting``, ``backward_transfer``, ``intransigence``, ``learning`` (the metric right after
        learning each task, :meth:`~scpviz.training.History.learning_metric`): ``{"values", "mean", "sd"}``.
        Intransigence is None for every method when the reference method was not run.
    """
    by_seed = chosen_runs_by_seed(results, chosen)
    ref = by_seed.get(reference)
    rows = []
    for method, runs in by_seed.items():
        seeds = sorted(runs)
        vals = {"final": [runs[s].final_average_metric(split) for s in seeds],
                "forgetting": [runs[s].forgetting(split) for s in seeds],
                "backward_transfer": [runs[s].backward_transfer(split) for s in seeds],
                "learning": [runs[s].learning_metric(split) for s in seeds]}
        if ref is not None:
            missing = [s for s in seeds if s not in ref]
            if missing:
                raise ValueError(f"reference method {reference!r} has no run for seed(s) {missing} of {method!r}; "
                                 f"run it on the same seeds or pass another reference")
            vals["intransigence"] = [runs[s].intransigence(np.diag(ref[s].final_matrix(split)), split)
                                     for s in seeds]
        row = {"method": method, "seeds": seeds, "metric": runs[seeds[0]].metric}
        for k in METRICS:
            v = vals.get(k)
            row[k] = None if v is None else {"values": v, "mean": float(np.mean(v)),
                                             "sd": float(np.std(v, ddof=1)) if len(v) > 1 else 0.0}
        rows.append(row)
    return rows


def paired_difference(results, chosen, a, b, split="test", metric="final", level=0.95) -> dict:
    """Method ``a`` minus method ``b``, seed by seed, with a paired t-test (:func:`scipy.stats.ttest_rel`) and a
    confidence interval for the mean difference.

    Parameters
    ----------
    metric : {"final", "forgetting", "backward_transfer"}
    level : float
        Confidence level of the interval (Student's t with n − 1 degrees of freedom).

    Returns
    -------
    dict
        ``seeds``, ``a``, ``b`` (per-seed values), ``diff`` (a − b per seed), ``mean_diff``, ``t``, ``p``
        (two-sided; NaN with fewer than 2 seeds or identical differences), ``n``, ``ci`` (low, high; NaN with fewer
        than 2 seeds), ``level`` and ``conclusive``: whether the interval excludes 0 (a difference this study can
        state), False otherwise — "no conclusion", not "no difference".
    """
    if not 0 < level < 1:
        raise ValueError(f"level={level!r} must be between 0 and 1 (e.g. 0.95).")
    getters = {"final": lambda h: h.final_average_metric(split), "forgetting": lambda h: h.forgetting(split),
               "backward_transfer": lambda h: h.backward_transfer(split)}
    if metric not in getters:
        raise ValueError(f"metric={metric!r}: use one of {sorted(getters)}")
    by_seed = chosen_runs_by_seed(results, chosen)
    for m in (a, b):
        if m not in by_seed:
            raise ValueError(f"method {m!r} is not among the chosen runs {sorted(by_seed)}")
    seeds = sorted(set(by_seed[a]) & set(by_seed[b]))
    if not seeds:
        raise ValueError(f"{a!r} and {b!r} share no seed: a paired comparison needs runs on the same seeds")
    va = np.array([getters[metric](by_seed[a][s]) for s in seeds])
    vb = np.array([getters[metric](by_seed[b][s]) for s in seeds])
    d = paired_interval(va - vb, level)
    return {"seeds": seeds, "a": va.tolist(), "b": vb.tolist(), "diff": d["values"], "mean_diff": d["mean"],
            "t": d["t"], "p": d["p"], "n": d["n"], "ci": d["ci"], "level": level, "conclusive": d["conclusive"]}


def paired_interval(differences, level=0.95) -> dict:
    """The mean of paired differences (one per seed) with Student's t interval and the paired t-test
    (``scipy.stats.ttest_rel`` of a − b is the one-sample test of the differences against 0).

    Parameters
    ----------
    differences : array-like
        a − b, one value per seed.
    level : float
        Confidence level of the interval (t with n − 1 degrees of freedom).

    Returns
    -------
    dict
        ``values``, ``mean``, ``n``, ``ci`` (low, high; NaN with fewer than 2 values), ``t``, ``p`` (two-sided; NaN
        with fewer than 2 values or all differences equal) and ``conclusive``: whether the interval excludes 0.

    Examples
    --------
    >>> r = paired_interval([1.0, 2.0, 3.0])
    >>> r["mean"], [round(x, 3) for x in r["ci"]], r["conclusive"]
    (2.0, [-0.484, 4.484], False)
    """
    if not 0 < level < 1:
        raise ValueError(f"level={level!r} must be between 0 and 1 (e.g. 0.95).")
    d = np.asarray(differences, dtype=float).ravel()
    if d.size == 0:
        raise ValueError("differences is empty: pass one a − b per seed.")
    n = d.size
    t, p = (stats.ttest_1samp(d, 0.0) if n > 1 and np.ptp(d) > 0 else (np.nan, np.nan))
    if n > 1:
        half = stats.t.ppf(0.5 + level / 2, n - 1) * d.std(ddof=1) / np.sqrt(n)
        ci = (float(d.mean() - half), float(d.mean() + half))
    else:
        ci = (np.nan, np.nan)
    return {"values": d.tolist(), "mean": float(d.mean()), "n": n, "ci": ci, "t": float(t), "p": float(p),
            "conclusive": bool(n > 1 and (ci[0] > 0 or ci[1] < 0))}


def batchnorm_restore_rows(results) -> list:
    """One row per (method, λ) of runs that recorded the BatchNorm-restore test (``extras["bn_restore"]``, see
    :func:`scpviz.training.batchnorm_restore_test`): every task's final test metric as trained and with BatchNorm's
    running statistics put back to their end-of-task-1 values, mean and sd over seeds.

    Returns
    -------
    list of dict
        ``method``, ``lam``, ``n_seeds``, ``task_names``, ``now`` and ``restored`` (each ``{"mean": [...], "sd":
        [...]}`` over tasks), ``metric``; in the order none, EWC, MAS, SCP, then λ.
    """
    groups = {}
    for cfg, hist in results:
        rec = hist.extras.get("bn_restore")
        if rec is not None:
            groups.setdefault((cfg["method"], cfg["lam"]), []).append((hist, rec))
    if not groups:
        raise ValueError("no run in results recorded the BatchNorm-restore test: run with bn_restore_test=True.")
    rows = []
    for (method, lam), runs in sorted(groups.items(), key=lambda kv: (method_table.sort_key(kv[0][0]), kv[0][1])):
        row = {"method": method, "lam": lam, "n_seeds": len(runs), "task_names": runs[0][0].task_names,
               "metric": runs[0][0].metric}
        for key in ("now", "restored"):
            a = np.array([rec[key] for _, rec in runs], dtype=float)
            row[key] = {"mean": a.mean(0).tolist(), "sd": (a.std(0, ddof=1) if len(a) > 1 else 0 * a[0]).tolist()}
        rows.append(row)
    return rows


