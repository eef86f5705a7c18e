"""Every Markdown table scpviz prints: a grid's summary and λ choice, the continual-learning metrics per method,
the BatchNorm-restore test, the Figure 4 study's variants and blind-reset test, and the Figure 3b comparison of
importances. The numbers come from
:mod:`scpviz.sweeps` and :mod:`scpviz.studies`; here they are only laid out.
"""

from __future__ import annotations

from ..sweeps.comparison import METRICS
from ..sweeps.selection import row_metric

__all__ = ["format_table", "format_metrics_table", "format_batchnorm_restore_table", "format_study_table",
           "format_reset_table", "format_shape_table", "format_paired_table"]


def format_table(rows, chosen=None, split="test") -> str:
    """A Markdown table of :func:`scpviz.sweeps.summarize` rows: every varying option, seeds, the final average metric (mean ±
    sd, in the metric's unit) and, with ``chosen``, the validation score it was chosen by."""
    if not rows:
        return "(no runs)"
    metric = row_metric(rows[0])
    extra = sorted({k for r in rows for k in r["options"]} - {"lam", "n_slices"})
    head = ["method", "λ", "L", *extra, "seeds", f"final average {split} {metric.name} (mean ± sd, {metric.direction})"]
    if chosen is not None:
        head.append("validation score")
    lines = [" | ".join(head), "|".join(["---"] * len(head))]
    for r in rows:
        cells = [r["method"], f"{r['lam']:g}", str(r["n_slices"]) if r["n_slices"] else "-",
                 *[str(r["options"].get(k, "-")) for k in extra], str(r["n_seeds"]), metric.format(r["mean"], r["sd"])]
        if chosen is not None:
            cells.append(metric.format(chosen[r["method"]]["score"]))
        lines.append(" | ".join(cells))
    return "\n".join(lines)


def format_metrics_table(rows) -> str:
    """A Markdown table of :func:`scpviz.sweeps.continual_metrics` rows (mean ± sd over seeds; percentage points for accuracy)."""
    if not rows:
        return "(no runs)"
    m = rows[0]["metric"]
    unit = " (points)" if m.unit == "%" else ""
    head = ["method", "seeds", f"final average {m.name} ({m.direction})", f"forgetting{unit} (lower is better)",
            f"backward transfer{unit} (higher is better)", f"intransigence vs none{unit} (lower is better)"]
    lines = [" | ".join(head), "|".join(["---"] * len(head))]
    for r in rows:
        cells = [r["method"], str(len(r["seeds"])), m.format(r["final"]["mean"], r["final"]["sd"])]
        for k in METRICS[1:4]:
            cells.append("-" if r[k] is None else f"{r[k]['mean'] * m.scale:+.2f} ± {r[k]['sd'] * m.scale:.2f}")
        lines.append(" | ".join(cells))
    return "\n".join(lines)


def format_batchnorm_restore_table(rows) -> str:
    """A Markdown table of :func:`scpviz.sweeps.batchnorm_restore_rows`: each task as trained → with task 1's statistics."""
    m = rows[0]["metric"]
    names = rows[0]["task_names"]
    head = ["method", "λ", "seeds"] + [f"{n}: as trained → task-1 statistics" for n in names]
    lines = [" | ".join(head), "|".join(["---"] * len(head))]
    for r in rows:
        cells = [r["method"], "-" if r["method"] == "none" else f"{r['lam']:g}", str(r["n_seeds"])]
        for j in range(len(names)):
            cells.append(f"{m.format(r['now']['mean'][j], r['now']['sd'][j])} → "
                         f"{m.format(r['restored']['mean'][j], r['restored']['sd'][j])}")
        lines.append(" | ".join(cells))
    return "\n".join(lines)


def format_reset_table(rows) -> str:
    """A Markdown table of :func:`scpviz.studies.figure4.reset_rows`."""
    lines = ["method | λ | old digits' ℓ1 rise, 4 new digits | undone by resetting the blind weights | undone by "
             "resetting the seen weights | blind share of the weights", "---|---|---|---|---|---"]
    for r in rows:
        def pct(k):
            return f"{100 * r[k]['mean']:.0f} ± {100 * r[k]['sd']:.0f} %"
        lines.append(" | ".join([r["method"], f"{r['lam']:g}", f"{r['rise']['mean']:.1f} ± {r['rise']['sd']:.1f}",
                                 pct("blind_undone"), pct("seen_undone"), f"{100 * r['blind_share']['mean']:.0f} %"]))
    return "\n".join(lines)


def format_study_table(rows, chosen=None) -> str:
    """A Markdown table of :func:`scpviz.studies.figure4.study_rows` (ℓ1 in pixel-sum units; lower is better in every column); rows
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


def format_shape_table(result) -> str:
    """A Markdown table of :func:`scpviz.studies.figure3b.importance_shapes`: per pair of importances, each measure's
    mean ± sd over the seeds, and per measure whether (EWC, MAS) is the more alike pair on every seed."""
    from ..studies.figure3b import MEASURES, shape_verdict

    verdict = shape_verdict(result)
    names = {"spearman": "Spearman ρ (↑ alike)", "ks": "KS distance (↓ alike)", "overlap": "histogram overlap (↑ alike)"}
    head = ["pair", *[names[m] for m in MEASURES]]
    lines = [f"{result['dataset']}, {result['mode']} budget, seeds {result['seeds']}: importances after task 1, "
             f"log₁₀ standardised ({result.get('machine', 'machine not recorded')})", "", " | ".join(head), "|".join(["---"] * len(head))]
    for pair in result["pairs"]:
        lines.append(" | ".join([pair.upper().replace("-", " – ")]
                                + [f"{verdict[m]['mean'][pair]:.3f} ± {verdict[m]['sd'][pair]:.3f}" for m in MEASURES]))
    said = {True: "yes, on every seed", False: "no, on every seed", None: "on some seeds only"}
    lines.append(" | ".join(["EWC – MAS the most alike?"] + [said[verdict[m]["paper_reading"]] for m in MEASURES]))
    return "\n".join(lines)


def format_paired_table(pairs, unit_scale=100.0, unit="points", higher_is_better=True) -> str:
    """A Markdown table of :func:`scpviz.sweeps.paired_difference` results: per comparison the seeds, the mean
    difference, its confidence interval, the paired t-test's p and what can be said — "A > B" or "A < B" when the
    interval excludes 0, else "no conclusion".

    Parameters
    ----------
    pairs : mapping
        ``{(a, b): paired_difference(..., a, b)}``.
    unit_scale, unit : float, str
        Differences are shown × ``unit_scale`` in ``unit`` (accuracy differences in percentage points).
    higher_is_better : bool
        False for an error (ℓ1): a conclusion then says which side is better, "a > b (worse)".
    """
    head = ["comparison", "seeds", f"mean difference ({unit})", "confidence interval", "paired t-test p",
            "conclusion"]
    lines = [" | ".join(head), "|".join(["---"] * len(head))]
    for (a, b), r in pairs.items():
        lo, hi = (unit_scale * v for v in r["ci"])
        said = (f"{a} > {b}" if lo > 0 else f"{a} < {b}") if r["conclusive"] else "no conclusion"
        if r["conclusive"] and not higher_is_better:
            said += " (worse)" if lo > 0 else " (better)"
        lines.append(" | ".join([f"{a} − {b}", str(r["n"]), f"{unit_scale * r['mean_diff']:+.2f}",
                                 f"[{lo:+.2f}, {hi:+.2f}] ({100 * r['level']:g} %)", f"{r['p']:.3g}", said]))
    return "\n".join(lines)
