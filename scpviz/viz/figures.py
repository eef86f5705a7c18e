"""An experiment's declared figures (:attr:`scpviz.experiments.base.Experiment.figures`), drawn from a sweep's
``(config, History)`` results — what ``python -m scpviz run`` saves, and what a notebook can call."""

from __future__ import annotations

from .. import methods as method_table
from ..experiments import get
from ..sweeps import summarize
from . import plots

__all__ = ["first_run_per_method", "seeds_per_method", "chosen_runs", "draw_figures"]


def first_run_per_method(results) -> dict:
    """``{label: History}``: the first run of each method, labelled with its λ (Figure 4a's columns)."""
    out = {}
    for cfg, hist in results:
        out.setdefault(_label(cfg), hist)
    return out


def seeds_per_method(results) -> dict:
    """``{label: [History, ...]}``: every seed of each method's first λ (Figure 7b's mean ± sd curves)."""
    first, out = {}, {}
    for cfg, hist in results:
        lam = first.setdefault(cfg["method"], cfg["lam"])
        if cfg["lam"] == lam:
            out.setdefault(_label(cfg), []).append(hist)
    return out


def _label(cfg):
    return plots.METHOD_LABELS["none"] if cfg["method"] == "none" else f"{cfg['method'].upper()} λ={cfg['lam']:g}"


def chosen_runs(results, chosen, seed=0, layer="output") -> dict:
    """``{label: History}``: the run of ``seed`` at each method's chosen λ (:func:`scpviz.sweeps.choose_lambda`),
    in the order none, EWC, MAS, SCP — the columns of Figure 4a. ``layer`` filters on the preserved layer."""
    runs = sorted(((c, h) for c, h in results if c["seed"] == seed and c["method"] in chosen
                   and c["lam"] == chosen[c["method"]]["lam"] and c.get("layer", "output") == layer),
                  key=lambda r: method_table.sort_key(r[0]["method"]))
    if not runs:
        raise ValueError(f"no run of seed={seed} at the chosen λ with layer={layer!r}; seeds in results: "
                         f"{sorted({c['seed'] for c, _ in results})}.")
    return {_label(c): h for c, h in runs}


def draw_figures(experiment, results) -> dict:
    """``{filename: Figure}`` for every figure the experiment declares; per-run figures get one file per run.

    Parameters
    ----------
    experiment : str or Experiment
    results : list of (dict, History)
    """
    exp = get(experiment) if isinstance(experiment, str) else experiment
    if not results:
        raise ValueError("results is empty: nothing to draw.")
    dataset = results[0][1].dataset
    figs = {}
    for spec in exp.figures:
        fn = getattr(plots, spec.plot)
        title = f"{spec.paper}" if spec.paper else None
        if spec.input == "rows":
            ref = getattr(plots, spec.reference) if spec.reference else None
            figs[spec.filename] = fn(summarize(results), reference=ref, dataset=dataset,
                                     title=f"{exp.title} ({spec.paper})" if title else None)
        elif spec.input == "run":
            for cfg, hist in results:
                figs[f"{cfg['method']}_lam{cfg['lam']:g}_seed{cfg['seed']}_{spec.filename}"] = fn(hist)
        elif spec.input == "seeds_by_method":
            figs[spec.filename] = fn(seeds_per_method(results), **({"figure": spec.paper} if spec.paper else {}))
        elif spec.input == "by_method":
            # the runs that recorded pictures: Figure 4a's reconstructions, Figure 5's frames
            runs = first_run_per_method([(c, h) for c, h in results if {"snapshots", "frames"} & set(h.extras)])
            if runs:
                figs[spec.filename] = fn(runs)
        else:
            raise ValueError(f"figure {spec.filename!r} of {exp.name} has input={spec.input!r}; "
                             f"expected 'rows', 'run', 'by_method' or 'seeds_by_method'.")
    return figs
