"""Figure 4, settled on a CPU budget: the run variants that could explain why consolidation does not help the
sequential auto-encoders (§5.2), crossed with a λ grid per method, over several digit orders — and remedies
beyond the paper in the same grid.

Every run is an ordinary :class:`~scpviz.experiments.autoencoders.AutoEncoders` config (the cache, the backends
and the tables of the other sweep modules all apply); a *variant* is a set of config overrides on top of
:data:`CPU_STUDY`. Run it with ``python -m scpviz.sweeps.figure4_study --cache DIR --export FILE`` (resumable;
``--variants`` picks some). :func:`study_rows` turns the results into one row per variant, method and λ with the
final mean ℓ1, the forgetting and the learning error apart (mean ± sd over orders).
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

from ..experiments import get
from ..experiments.autoencoders import _LATER_DEFAULTS, PAPER_ORDER, seed_order

__all__ = ["CPU_STUDY", "STUDY_LAMS", "VARIANTS", "REMEDIES", "REMEDY_LAMS", "RESET_LAMS", "variant_of",
           "study_configs", "reset_configs", "study_rows", "reset_rows", "chosen_rows", "paired_between", "format_study_table",
           "format_reset_table"]

# 784-256-64 and mirror, 1,800 training + 200 validation images and 15 epochs per digit, 5 digits, 3 orders:
# about 15 minutes a variant on a 2-core CPU
CPU_STUDY = dict(order=list(PAPER_ORDER[:5]), hidden=[256], code=64, n_train=2000, n_val=200, n_test=500,
                 epochs=15, n_slices=100, batch_size=100, lr=1e-3, alpha=0.75, dataset="mnist", layer="output",
                 snapshots=False, optimizer_reset="task")
STUDY_SEEDS = (0, 1, 2)
# spans each method's transition from "no effect" to "the new digit is not learned" on this network
# (a pilot on the paper variant: MAS at 1000 and SCP at 1e6 no longer learn the new digit; MAS at 1 already
# raises the learning error, hence 0.1)
STUDY_LAMS = {"mas": (0.1, 1.0, 10.0, 100.0), "scp": (1e3, 1e4, 1e5, 1e6)}

_DEFAULTS = dict(_LATER_DEFAULTS, optimizer_reset="task")
_DIAGNOSTIC = ("reset_test",)  # options that record, not change, a run

# the run variants the issue lists: each could explain the non-reproduction
VARIANTS = {
    "paper": {},  # ReLU, PyTorch init, biases, BCE per-pixel mean + ℓ1 per-image sum, Adam reset per task
    "leaky_relu": dict(activation="leaky_relu"),
    "xavier": dict(init="xavier"),
    "no_bias": dict(bias=False),
    "loss_image_sums": dict(loss="bce-image-sum+l1-image-sum"),
    "adam_per_epoch": dict(optimizer_reset="epoch"),
}
# remedies beyond the paper, on the paper's network unless named otherwise
REMEDIES = {
    # (a) the regularizers eq 6 / eq 14 themselves on 10 stored inputs per finished digit
    "replay_10": dict(penalty="replay", replay_per_task=10),
    # (b) importance averaged over 4 copies of θ* perturbed by 0.3 or 1.0 × each tensor's RMS (at θ* 57 % of this
    # network's weights have Γ < 1e-9 max Γ after the first digit; 55 % at 0.3, 47 % at 1.0 — measured with MAS)
    "neighbourhood_0.3": dict(neighbourhood=4, neighbourhood_scale=0.3),
    "neighbourhood_1.0": dict(neighbourhood=4, neighbourhood_scale=1.0),
    # (c) the network class of the authors' code (lihr04/corel2m utils/mlp.py): LeakyReLU(0.1), Xavier, no biases
    "authors_net": dict(activation="leaky_relu", init="xavier", bias=False),
}
# the replay regularizers are not on the quadratic penalties' λ scale (eq 6 ≈ ½ δᵀΩδ; eq 14's constant depends
# on the outputs' density along each slice): a grid of their own
REMEDY_LAMS = {"replay_10": {"mas": (0.1, 1.0, 10.0, 100.0, 1000.0), "scp": (1e2, 1e3, 1e4, 1e5, 1e6)}}
# the causal test, on the paper variant at the λ where the penalty is strong
RESET_LAMS = {"mas": (10.0, 100.0), "scp": (1e5, 1e6)}


def _studied():
    return {**VARIANTS, **REMEDIES}


def variant_of(cfg) -> str:
    """The name of the variant or remedy whose overrides ``cfg`` carries (``"paper"`` when it has none)."""
    keys = {k for over in _studied().values() for k in over}
    eff = {k: cfg.get(k, _DEFAULTS[k]) for k in keys}
    for name, over in _studied().items():
        if eff == {k: over.get(k, _DEFAULTS[k]) for k in keys}:
            return name
    raise ValueError(f"cfg is no run of the study: {({k: v for k, v in eff.items() if v != _DEFAULTS[k]})}.")


def study_configs(variants=None, seeds=STUDY_SEEDS, lams=None) -> list:
    """The configs of the study: for each variant, ``none`` once and MAS/SCP at every λ of :data:`STUDY_LAMS`,
    for every seed (seed s runs the digit order :func:`~scpviz.experiments.autoencoders.seed_order` of s)."""
    table = _studied()
    names = list(table) if variants is None else list(variants)
    unknown = [n for n in names if n not in table]
    if unknown:
        raise ValueError(f"variants={unknown} unknown: choose from {sorted(table)}.")
    exp = get("autoencoders")
    cfgs = []
    for name in names:
        grid = lams or REMEDY_LAMS.get(name, STUDY_LAMS)
        for method in exp.methods:
            for lam in ([0.0] if method == "none" else grid[method]):
                for seed in seeds:
                    cfgs.append(_config(method, lam, seed, **table[name]))
    return cfgs


def _config(method, lam, seed, **over):
    over = dict(CPU_STUDY, **over, order=seed_order(CPU_STUDY["order"], seed))
    return get("autoencoders").config(method, lam, seed, mode="quick", **over)


def reset_configs(seeds=STUDY_SEEDS) -> list:
    """The paper variant at :data:`RESET_LAMS` with ``reset_test`` on (the same training as the study's runs;
    the old digits' error with only the blind weights, or only the others, put back to θ* after each digit)."""
    return [_config(m, lam, s, reset_test=True) for m, lams in RESET_LAMS.items() for lam in lams for s in seeds]


def _stats(values):
    v = np.asarray(values, dtype=float)
    return dict(values=v.tolist(), mean=float(v.mean()), sd=float(v.std(ddof=1)) if len(v) > 1 else 0.0)


def reset_rows(results) -> list:
    """Per method and λ, the blind-reset test summed over the digits 2…5 of each run: how much the old digits' mean
    test ℓ1 rose while one new digit was learned (from θ*, the end of the previous digit), and the share of that
    rise undone by resetting only the blind weights, or only the seen ones, to θ* (``{"values", "mean", "sd"}``
    over the orders; shares are ratios of the sums, so a step with almost no rise cannot blow them up)."""
    groups = {}
    for cfg, hist in results:
        steps = hist.extras.get("reset_test") or []
        if cfg.get("reset_test") and steps:
            rise = sum(r["now"] - r["anchor"] for r in steps)
            groups.setdefault((cfg["method"], cfg["lam"]), []).append(dict(
                rise=rise, blind_undone=sum(r["now"] - r["blind_reset"] for r in steps) / rise,
                seen_undone=sum(r["now"] - r["seen_reset"] for r in steps) / rise,
                blind_share=steps[-1]["n_blind"] / (steps[-1]["n_blind"] + steps[-1]["n_seen"])))
    return [dict(method=m, lam=lam, n=len(v), **{k: _stats([r[k] for r in v]) for k in v[0]})
            for (m, lam), v in sorted(groups.items())]


def format_reset_table(rows) -> str:
    """A Markdown table of :func:`reset_rows`."""
    lines = ["method | λ | old digits' ℓ1 rise, 4 new digits | undone by resetting the blind weights | undone by "
             "resetting the seen weights | blind share of the weights", "---|---|---|---|---|---"]
    for r in rows:
        def pct(k):
            return f"{100 * r[k]['mean']:.0f} ± {100 * r[k]['sd']:.0f} %"
        lines.append(" | ".join([r["method"], f"{r['lam']:g}", f"{r['rise']['mean']:.1f} ± {r['rise']['sd']:.1f}",
                                 pct("blind_undone"), pct("seen_undone"), f"{100 * r['blind_share']['mean']:.0f} %"]))
    return "\n".join(lines)


def study_rows(results, split="test") -> list:
    """One row per (variant, method, λ): final mean ℓ1 over the digits, forgetting (old digits' rise from their
    best) and learning error (each digit's ℓ1 right after learning it), each ``{"values", "mean", "sd"}`` over
    the orders, plus the validation final (what λ is chosen on, ``val``), the final minus that of the variant's
    no-consolidation run of the same order (``vs_none``, paired) and in how many orders it is lower (``wins``)."""
    groups = {}
    for cfg, hist in results:
        if any(cfg.get(k) for k in _DIAGNOSTIC):
            continue
        groups.setdefault((variant_of(cfg), cfg["method"], cfg["lam"]), []).append((cfg, hist))
    order = {n: i for i, n in enumerate(_studied())}
    rows = []
    for (variant, method, lam), runs in sorted(groups.items(), key=lambda kv: (order.get(kv[0][0], 99),
                                                                               kv[0][1] != "none", kv[0][1],
                                                                               kv[0][2])):
        runs = sorted(runs, key=lambda r: r[0]["seed"])
        rows.append(dict(variant=variant, method=method, lam=lam, seeds=[c["seed"] for c, _ in runs],
                         final=_stats([h.final_average_metric(split) for _, h in runs]),
                         forgetting=_stats([h.forgetting(split) for _, h in runs]),
                         learning=_stats([np.mean(h.learning_metric(split)) for _, h in runs]),
                         val=_stats([h.final_average_metric("val") for _, h in runs]),
                         by_seed={c["seed"]: h.final_average_metric(split) for c, h in runs}))
    for r in rows:   # paired by order: the same digits, order and initialisation as the variant's no-consolidation run
        base = next((b for b in rows if b["variant"] == r["variant"] and b["method"] == "none"), None)
        common = [s for s in r["seeds"] if base is not None and s in base["by_seed"]]
        r["vs_none"] = _stats([r["by_seed"][s] - base["by_seed"][s] for s in common]) if common else None
        r["wins"] = sum(r["by_seed"][s] < base["by_seed"][s] for s in common) if common else None
    return rows


def paired_between(a, b) -> dict:
    """Row ``a``'s final minus row ``b``'s, paired by order (seed): ``{"values", "mean", "sd", "wins"}`` — wins: the
    orders where ``a`` ended lower."""
    common = [s for s in a["seeds"] if s in b["by_seed"]]
    if not common:
        raise ValueError("rows a and b share no seed: pass rows of the same study.")
    d = [a["by_seed"][s] - b["by_seed"][s] for s in common]
    return dict(_stats(d), wins=sum(x < 0 for x in d))


def chosen_rows(rows) -> list:
    """Per variant and method, the row whose λ has the lowest mean validation final ℓ1."""
    best = {}
    for r in rows:
        key = (r["variant"], r["method"])
        if key not in best or r["val"]["mean"] < best[key]["val"]["mean"]:
            best[key] = r
    return [r for r in rows if best[(r["variant"], r["method"])] is r]


def format_study_table(rows, chosen=None) -> str:
    """A Markdown table of :func:`study_rows` (ℓ1 in pixel-sum units; lower is better in every column); rows
    in ``chosen`` are marked ✓ (validation's pick)."""
    ids = {id(r) for r in (chosen or [])}
    lines = ["variant | method | λ | final mean ℓ1 | − none, paired (orders better) | forgetting | learning error | "
             "val ✓", "---|---|---|---|---|---|---|---"]
    for r in rows:
        def f(k):
            return f"{r[k]['mean']:.2f} ± {r[k]['sd']:.2f}"
        lam = "-" if r["method"] == "none" else f"{r['lam']:g}"
        paired = "-" if r["method"] == "none" or r["vs_none"] is None else \
            f"{r['vs_none']['mean']:+.2f} ± {r['vs_none']['sd']:.2f} ({r['wins']}/{len(r['vs_none']['values'])})"
        lines.append(" | ".join([r["variant"], r["method"], lam, f("final"), paired, f("forgetting"),
                                 f("learning"), "✓" if id(r) in ids else ""]))
    return "\n".join(lines)


def main(argv=None):
    from .backends import run_configs
    from .export import export_results
    p = argparse.ArgumentParser(prog="python -m scpviz.sweeps.figure4_study", description=__doc__.split("\n\n")[0])
    p.add_argument("--cache", required=True, help="cache folder (one JSON per run; resumable)")
    p.add_argument("--export", help="also write all runs to one .json.gz")
    p.add_argument("--variants", nargs="+", help=f"default: all of {list(_studied())}")
    p.add_argument("--reset-test", action="store_true", help="also the blind-reset runs (reset_configs)")
    p.add_argument("--seeds", nargs="+", type=int, default=list(STUDY_SEEDS))
    p.add_argument("--backend", default="processes")
    p.add_argument("--workers", type=int, default=2)
    a = p.parse_args(argv)
    cfgs = study_configs(a.variants, a.seeds) + (reset_configs(a.seeds) if a.reset_test else [])
    hists = run_configs(cfgs, a.cache, backend=a.backend, workers=a.workers, progress=True, threads=1)
    results = list(zip(cfgs, hists))
    rows = study_rows(results)
    print(format_study_table(rows, chosen_rows(rows)))
    if a.reset_test:
        print(format_reset_table(reset_rows(results)))
    if a.export:
        export_results(results, a.export, compact=lambda c: False, command="python -m scpviz.sweeps.figure4_study "
                       + " ".join(sys.argv[1:] if argv is None else argv))


if __name__ == "__main__":
    main()
