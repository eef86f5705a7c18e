"""``RESULTS.md``: every shipped result file as its tables, generated from the files (``python -m scpviz results``).

Nothing in the report is typed: each section reads one file of ``scpviz/results`` and prints what the file holds —
the command that made it, the machine, the datasets, the budget (the configuration every run shares), the λ tried
and chosen on validation per method (and whether the choice is inside its grid), the final metric at the chosen λ,
the continual-learning metrics and the differences paired by seed with their confidence intervals. A test
regenerates the report and fails when ``RESULTS.md`` differs, so the file cannot drift from the results.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path

from .. import experiments
from ..studies import figure3b, figure4
from ..sweeps import (batchnorm_restore_rows, choose_lambda, continual_metrics, group_runs, paired_difference,
                      shipped_results, summarize)
from . import tables

__all__ = ["SHIPPED", "SUMMARY", "build_results_report", "build_results_summary", "lambda_edges", "results_folder",
           "unjustified_edges", "with_summary"]

_MARKERS = ("<!-- results-summary -->\n", "<!-- /results-summary -->\n")

# (file stem, title, status): one section each, in this order; a status other than "current" says what replaced it
SHIPPED = (
    ("permuted_mnist_cpu_10seeds", "Permuted MNIST: ten seeds at each method's chosen λ", "current"),
    ("permuted_mnist_cpu_resampled", "Permuted MNIST: the λ grid, each seed its own images", "current"),
    ("permuted_mnist_cpu", "Permuted MNIST: the first λ grid",
     "superseded by permuted_mnist_cpu_resampled: every seed trained on the same images"),
    ("figure3b_shapes_teach", "Figure 3b quantified: how alike the importances are", "current"),
    ("autoencoders_h100", "Sequential auto-encoders at the paper's budget (GPU)", "current"),
    ("autoencoders_h100_pilot", "Sequential auto-encoders: 10-epoch pilot over the paper's λ grid (GPU)", "current"),
    ("figure4_cpu_study_v04", "When does consolidation help the auto-encoder? The CPU study of notebook 07b",
     "current"),
    ("figure4_cpu_study", "The auto-encoder study, first run",
     "superseded by figure4_cpu_study_v04: every order trained on the same images, and MAS's λ stopped at the "
     "grid's smallest"),
    ("mnist_svhn_cpu_v04", "MNIST → SVHN's stand-in (printed digits): the λ grid, each seed its own images",
     "current"),
    ("mnist_svhn_cpu_bn_v04", "MNIST → printed digits: BatchNorm statistics restored at test", "current"),
    ("mnist_svhn_cpu_bn_freeze_v04", "MNIST → printed digits: BatchNorm frozen from task 2 on", "current"),
    ("mnist_svhn_cpu", "MNIST → MNIST-M (SVHN's first stand-in): the λ grid",
     "superseded by mnist_svhn_cpu_v04: on MNIST-M about a point of MNIST was forgotten, too little to test a "
     "penalty, and every seed trained on the same images"),
    ("mnist_svhn_cpu_bn", "MNIST → MNIST-M: BatchNorm statistics restored at test",
     "superseded by mnist_svhn_cpu_bn_v04 (made on MNIST-M, every seed on the same images)"),
    ("mnist_svhn_cpu_bn_freeze", "MNIST → MNIST-M: BatchNorm frozen from task 2 on",
     "superseded by mnist_svhn_cpu_bn_freeze_v04 (made on MNIST-M, every seed on the same images)"),
    ("mnist_svhn_mnist_m_none_teach", "MNIST → MNIST-M, one run without consolidation (stand-in check)", "current"),
    ("mnist_svhn_printed_digits_none_teach", "MNIST → printed digits, one run without consolidation (stand-in check)",
     "current"),
    ("cifar100_superclasses_cpu_v04", "CIFAR-100 super-classes' stand-in (shapes with parts): the λ grid",
     "current"),
    ("cifar100_superclasses_cpu", "CIFAR-100 super-classes' first stand-in: the λ grid",
     "superseded by cifar100_superclasses_cpu_v04: made on the first stand-in (synthetic super-classes, 4 epochs "
     "per task), where nothing learned on one task helped with the next"),
    ("cifar100_superclasses_shape_superclasses_none_teach",
     "CIFAR-100 super-classes' stand-in (shapes with parts), one run without consolidation", "current"),
    ("synthia_segmentation_cpu", "Segmentation, summer → winter (stand-in): the λ grid, old split",
     "superseded by synthia_segmentation_cpu_v04: its validation frames are the last training frames, just before "
     "the test frames"),
    ("synthia_segmentation_cpu_v04", "Segmentation, summer → winter (stand-in): the λ grid", "current"),
)
# the grids of README's one-screen summary: the current λ grid (or seeds at the chosen λ) of each experiment
SUMMARY = ("permuted_mnist_cpu_10seeds", "autoencoders_h100", "mnist_svhn_cpu_v04", "cifar100_superclasses_cpu_v04",
           "synthia_segmentation_cpu_v04")
_SUMMARY_METHODS = (("none", "none"), ("ewc", "online-EWC"), ("mas", "MAS (eq 7)"), ("mas_abs", "MAS (\\|∇\\|)"),
                    ("scp", "SCP"))
# comparisons shown for every grid, where both methods were run
_PAIRS = (("ewc", "none"), ("mas", "none"), ("mas_abs", "none"), ("scp", "none"), ("scp", "ewc"), ("scp", "mas"),
          ("ewc", "mas"), ("scp", "mas_abs"), ("mas_abs", "mas"))
# keys every run has, or that say which run it is rather than how runs were trained
_IDENTITY = {"experiment", "method", "lam", "seed", "data_seed"}


def results_folder() -> Path:
    """The folder of the shipped result files (``scpviz/results``)."""
    return Path(__file__).resolve().parent.parent / "results"


def _document(name):
    """The file's JSON document (its metadata: command, machine, lambda_edges, ...)."""
    for path in (results_folder() / f"{name}.json", results_folder() / f"{name}.json.gz"):
        if path.exists():
            opener = gzip.open if path.suffix == ".gz" else open
            with opener(path, "rt") as f:
                return path.name, json.load(f)
    raise FileNotFoundError(f"no shipped result file {name!r} in {results_folder()}")


def lambda_edges(runs, chosen) -> dict:
    """Per consolidating method, where validation's λ sits in the method's grid: ``"interior"``, ``"bottom"``,
    ``"top"`` or ``"single"`` (one λ tried)."""
    out = {}
    for method, ch in chosen.items():
        if method == "none":
            continue
        tried = sorted({c["lam"] for c, _ in runs if c["method"] == method})
        out[method] = ("single" if len(tried) == 1 else "bottom" if ch["lam"] == tried[0]
                       else "top" if ch["lam"] == tried[-1] else "interior")
    return out


def _edges_of(name, runs) -> dict:
    """``{method: [edge, ...]}`` of a grid file (one edge per variant for the Figure 4 study)."""
    if name.startswith("figure4"):
        rows = figure4.study_rows(runs)
        out = {}
        for r in figure4.chosen_rows(rows):
            if r["method"] != "none":
                tried = sorted(x["lam"] for x in rows if x["variant"] == r["variant"] and x["method"] == r["method"])
                out.setdefault(r["method"], []).append("bottom" if r["lam"] == tried[0] else
                                                       "top" if r["lam"] == tried[-1] else "interior")
        return out
    full, _ = _full_seed_groups(runs)
    return {m: [e] for m, e in lambda_edges(full, choose_lambda(full, split="val")).items()}


def unjustified_edges(name) -> list:
    """``[(method, edge), ...]`` of the shipped file ``name`` where validation chose the smallest or largest λ
    tried (or tried one λ) and the file's ``lambda_edges`` metadata gives no reason; ``[]`` for files that are not
    λ grids."""
    _, doc = _document(name)
    if "runs" not in doc or len(doc["runs"]) < 2:
        return []
    runs, _ = shipped_results(name)
    notes = doc.get("lambda_edges", {})
    return sorted({(m, e) for m, edges in _edges_of(name, runs).items() for e in edges
                   if e != "interior" and m not in notes})


def _value(v):
    return " ".join(map(str, v)) if isinstance(v, (list, tuple)) else f"{v:g}" if isinstance(v, float) else str(v)


def _shared_config(runs) -> str:
    keys = sorted({k for c, _ in runs for k in c} - _IDENTITY)
    shared = [k for k in keys if len({json.dumps(c.get(k), sort_keys=True) for c, _ in runs}) == 1]
    return ", ".join(f"{k} = {_value(runs[0][0].get(k))}" for k in shared)


def _data_line(runs) -> str:
    if len({c["seed"] for c, _ in runs}) == 1:
        return f"one seed ({runs[0][0]['seed']}), its images drawn with data_seed {runs[0][0].get('data_seed')}"
    if all(c.get("data_seed", c["seed"]) == c["seed"] for c, _ in runs):
        return "each seed draws its own training and validation images (data_seed = seed)"
    seeds = sorted({c.get("data_seed") for c, _ in runs})
    return f"every seed trained on the images drawn with data_seed {', '.join(map(str, seeds))}"


def _describe_run(cfg, reference) -> str:
    """``cfg`` by its method, λ, seed and the options in which it differs from ``reference``."""
    other = [f"{k} {_value(v)}" for k, v in sorted(cfg.items()) if k not in _IDENTITY and reference.get(k) != v]
    return ", ".join([f"{cfg['method']} λ={cfg['lam']:g} seed {cfg['seed']}", *other])


def _pairs_table(runs, chosen):
    metric = runs[0][1].metric
    pairs = {}
    for a, b in _PAIRS:
        if a in chosen and b in chosen:
            r = paired_difference(runs, chosen, a, b)
            if r["n"] > 1:
                pairs[(a, b)] = r
    if not pairs:
        return None
    unit = "points" if metric.unit == "%" else metric.name
    return tables.format_paired_table(pairs, unit_scale=metric.scale, unit=unit,
                                      higher_is_better=metric.higher_is_better)


def _matrix_table(hist) -> str:
    R = hist.final_matrix()
    m = hist.metric
    head = ["after task", *hist.task_names]
    lines = [" | ".join(head), "|".join(["---"] * len(head))]
    for i, name in enumerate(hist.task_names):
        lines.append(" | ".join([name] + [m.format(R[i, j]) if j <= i else "-" for j in range(len(hist.task_names))]))
    return "\n".join(lines)


def _full_seed_groups(runs):
    """The runs of the (method, options) groups run on every seed their method was run on, and the others: a λ
    tried on fewer seeds (a diagnostic on one seed) is not a candidate for validation's choice."""
    groups = group_runs(runs)
    seeds = {}
    for (method, _), g in groups.items():
        seeds.setdefault(method, set()).update(c["seed"] for c, _ in g)
    full, partial = [], []
    for (method, _), g in groups.items():
        (full if {c["seed"] for c, _ in g} == seeds[method] else partial).extend(g)
    return full, partial


def _grid_section(runs, doc) -> list:
    runs, partial = _full_seed_groups(runs)
    chosen = choose_lambda(runs, split="val")
    out = [f"Data: {_data_line(runs)}.", "", f"Shared by every run: {_shared_config(runs)}.", ""]
    if partial:
        out += [f"Left out of the tables: {len(partial)} run(s) of settings tried on fewer seeds than their method "
                f"({'; '.join(sorted({_describe_run(c, runs[0][0]) for c, _ in partial}))}).", ""]
    tried = {}
    for c, _ in runs:
        tried.setdefault(c["method"], set()).add(c["lam"])
    edges = lambda_edges(runs, chosen)
    said = {"interior": "inside its grid", "bottom": "the smallest λ tried", "top": "the largest λ tried",
            "single": "the only λ tried"}
    notes = doc.get("lambda_edges", {})
    lam_lines = []
    for method, lams in tried.items():
        if method == "none":
            continue
        line = (f"- {method}: λ tried {', '.join(f'{v:g}' for v in sorted(lams))}; validation chose "
                f"{chosen[method]['lam']:g} ({said[edges[method]]})")
        if method in notes:
            line += f" — {notes[method]}"
        lam_lines.append(line)
    if lam_lines:
        out += ["λ per method:", "", *lam_lines, ""]
    out += ["At each method's validation-chosen λ (test split):", "",
            tables.format_table(summarize(runs, chosen), chosen), ""]
    if len(runs[0][1].task_names) > 1 and "none" in chosen:
        out += [tables.format_metrics_table(continual_metrics(runs, chosen)), ""]
    paired = _pairs_table(runs, chosen)
    if paired:
        out += ["Differences paired by seed (\"no conclusion\" when the interval holds 0):", "", paired, ""]
    return out


def _section(name, title, status) -> list:
    filename, doc = _document(name)
    out = [f"## {title}", "", f"`scpviz/results/{filename}` — status: {status}.", ""]
    if name.startswith("figure3b"):
        result = figure3b.load_shapes(name)
        out += [f"Machine: {doc.get('machine', 'not recorded in the file')}. Made by:", "", "```bash",
                doc["command"], "```", "", tables.format_shape_table(result), ""]
        return out
    runs, command = shipped_results(name)
    exp = experiments.get(runs[0][0]["experiment"])
    datasets = sorted({h.dataset for _, h in runs})
    out += [f"{exp.title} ({exp.paper}); {len(runs)} run{'s' if len(runs) > 1 else ''}; data: {'; '.join(datasets)}; metric: "
            f"{runs[0][1].metric.name} ({runs[0][1].metric.direction}).", "",
            f"Machine: {doc.get('machine', 'not recorded in the file')}. Made by:", "", "```bash", command, "```", ""]
    if name.startswith("figure4"):
        rows = figure4.study_rows(runs)
        out += [f"- {m}: {note}" for m, note in doc.get("lambda_edges", {}).items()]
        out += ["", "Per variant and method, λ chosen on validation (✓):", "",
                tables.format_study_table(rows, figure4.chosen_rows(rows)), ""]
        reset = figure4.reset_rows(runs)
        if reset:
            out += ["The blind-reset test:", "", tables.format_reset_table(reset), ""]
        return out
    if len(runs) == 1:
        return out + [f"Shared by every run: {_shared_config(runs)}.", "", _matrix_table(runs[0][1]), ""]
    out += _grid_section(runs, doc)
    if any(c.get("bn_restore_test") for c, _ in runs):
        out += ["BatchNorm's running statistics of the end of task 1 put back at test:", "",
                tables.format_batchnorm_restore_table(batchnorm_restore_rows(runs)), ""]
    return out


def _summary_row(name) -> str:
    runs, _ = _full_seed_groups(shipped_results(name)[0])
    chosen = choose_lambda(runs, split="val")
    metric = runs[0][1].metric
    rows = {r["method"]: r for r in summarize(runs, chosen)}
    cells = [f"{experiments.get(runs[0][0]['experiment']).paper} `{name}`",
             "; ".join(sorted({h.dataset for _, h in runs})), str(max(r["n_seeds"] for r in rows.values()))]
    for method, _ in _SUMMARY_METHODS:
        r = rows.get(method)
        cells.append("–" if r is None else metric.format(r["mean"], r["sd"])
                     + ("" if method == "none" else f" (λ {r['lam']:g})"))
    said, open_, vs_none = [], [], []
    for a, b in _PAIRS:
        if a in chosen and b in chosen:
            d = paired_difference(runs, chosen, a, b)
            if d["n"] < 2:
                continue
            text = f"{a} {'>' if d['ci'][0] > 0 else '<'} {b}" if d["conclusive"] else f"{a} − {b}"
            if d["conclusive"] and not metric.higher_is_better:
                text += " (worse)" if d["ci"][0] > 0 else " (better)"
            if b == "none" and d["conclusive"]:
                vs_none.append((text[len(a) + 1], text))
            else:
                (said if d["conclusive"] else open_).append(text)
    signs = {sign for sign, _ in vs_none}
    n_methods = sum(1 for m in chosen if m != "none")
    if len(vs_none) == n_methods > 1 and len(signs) == 1:
        sign = signs.pop()
        said.insert(0, f"every method {sign} none" + ("" if metric.higher_is_better else
                                                      " (worse)" if sign == ">" else " (better)"))
    else:
        said[:0] = [text for _, text in vs_none]
    cells.append("; ".join(filter(None, [", ".join(said), "no conclusion: " + ", ".join(open_) if open_ else ""])))
    return " | ".join(cells)


def build_results_summary() -> str:
    """README's one-screen table: per experiment of :data:`SUMMARY`, the final metric of each method at its
    validation-chosen λ (mean ± sd over seeds) and which paired differences between the methods are conclusions
    (the 95 % interval excludes 0; for an error, "<" is better)."""
    head = ["experiment (file)", "data", "seeds", *[label for _, label in _SUMMARY_METHODS],
            "paired by seed: conclusions (95 % interval excludes 0)"]
    lines = [" | ".join(head), "|".join(["---"] * len(head))]
    lines += [_summary_row(name) for name in SUMMARY]
    return "\n".join(lines) + "\n"


def with_summary(readme: str) -> str:
    """``readme`` with the text between its ``<!-- results-summary -->`` markers replaced by
    :func:`build_results_summary`.

    Raises
    ------
    ValueError
        When ``readme`` lacks the markers.
    """
    start, end = _MARKERS
    if start not in readme or end not in readme:
        raise ValueError(f"readme has no {start.strip()} ... {end.strip()} block: add the two markers, each on its "
                         f"own line, where the summary belongs.")
    head, rest = readme.split(start, 1)
    return head + start + build_results_summary() + end + rest.split(end, 1)[1]


def build_results_report() -> str:
    """The text of ``RESULTS.md``: a header, then one section per file of :data:`SHIPPED`.

    Returns
    -------
    str
        Markdown, ending with one newline.

    Raises
    ------
    FileNotFoundError
        When a file of :data:`SHIPPED` is not in :func:`results_folder`.
    """
    lines = ["# Results", "",
             "Generated from the files in `scpviz/results` by `python -m scpviz results` — do not edit by hand; a "
             "test regenerates it. Each section is one file: the command that made it, the machine, the data, the "
             "budget every run shares, λ per method (chosen on validation images, never on test) and the test "
             "results at the chosen λ. MAS is eq 7 of the paper (the mean *squared* gradient of ‖φ‖²); `mas_abs` is "
             "Aljundi et al.'s mean absolute gradient. Comparisons are paired by seed (the same initialisation, "
             "data and order for every method); with few seeds most are \"no conclusion\".", ""]
    for name, title, status in SHIPPED:
        lines += _section(name, title, status)
    return "\n".join(lines).rstrip("\n") + "\n"
