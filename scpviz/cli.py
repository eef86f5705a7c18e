"""Headless entry point, generated from the experiment registry: ``python -m scpviz list | run | sweep | info``.

* ``list`` — the experiments, the paper figure each is about, their budgets per mode and default λ;
* ``run EXPERIMENT`` — one run per method × seed, Histories and the experiment's figures written to ``--out``;
* ``sweep EXPERIMENT`` — the grid methods × λ × L × seeds into a resumable cache, on a backend (serial,
  processes, Ray); λ chosen on validation; ``--export`` writes one results file;
* ``info`` — versions, device, mode, and which dataset would be used;
* ``study figure4`` — the Figure 4 study (auto-encoder run variants × λ × remedies) into a resumable cache;
* ``gallery OUT`` — every notebook executed and rendered to HTML (a static gallery).

Each experiment's flags come from its options (:attr:`scpviz.experiments.base.Experiment.options`), so a new
experiment gets its commands without new CLI code. ``--mode`` and ``--data`` are passed down as arguments (the
mode is stored in each run's :class:`~scpviz.experiments.RunConfig`, the data folder travels with it), never
through environment variables; without them ``$SCPVIZ_MODE`` and ``$SCPVIZ_DATA`` are read.
"""

from __future__ import annotations

import argparse
import platform
import sys

from . import __version__
from .config import MODES

__all__ = ["main", "build_parser", "info_lines", "list_lines", "sweep_configs", "study_configs"]


def _synthia_layout(r) -> list[str]:
    """The folders and files SYNTHIA-SEQS-01 must have under the data root ``r`` (what find_synthia checks)."""
    from .datasets.synthia import LABEL_DIR, RGB_DIR, SYNTHIA_SEQUENCES

    return [f"              {r / seq / d / '000000.png'} ..." for seq in SYNTHIA_SEQUENCES.values()
            for d in (RGB_DIR, LABEL_DIR)] + ["              (RGB frames, and 16-bit label PNGs whose first channel "
                                              "is the class id 0..12, one file per frame, same names)"]


def info_lines(root=None) -> list[str]:
    """The lines ``python -m scpviz info`` prints (no dataset is loaded)."""
    import matplotlib
    import numpy
    import scipy
    import torch
    import torchvision

    from .config import MODE_ENV, data_root, get_device, get_mode
    from .datasets import DIGITS_NAME, MNIST_NAME, data_plan, find_mnist, find_synthia

    r = data_root(root)
    found = find_mnist(r)
    if found is not None:
        dataset = f"{MNIST_NAME} (found in {r / 'MNIST' / 'raw'})"
    else:
        dataset = (f"{DIGITS_NAME} — fallback: MNIST not found under {r}; "
                   f"set SCPVIZ_DATA to a folder holding MNIST/raw or go online to download it")
    return [
        f"scpviz      {__version__}",
        f"python      {platform.python_version()}",
        f"torch       {torch.__version__}",
        f"torchvision {torchvision.__version__}",
        f"numpy       {numpy.__version__}",
        f"scipy       {scipy.__version__}",
        f"matplotlib  {matplotlib.__version__}",
        f"device      {get_device()}",
        f"mode        {get_mode()} (set {MODE_ENV} to one of {', '.join(MODES)})",
        f"data root   {r}",
        f"dataset     {dataset}",
        "svhn        " + data_plan("svhn", r),
        "cifar100    " + data_plan("cifar100", r),
        "synthia     " + data_plan("synthia", r) + ("" if find_synthia("summer", r) else " Layout expected:"),
        *([] if find_synthia("summer", r) else _synthia_layout(r)),
    ]


def _fmt(v):
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k}: {_fmt(x)}" for k, x in v.items()) + "}"
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_fmt(x) for x in v) + "]" if len(v) <= 6 else f"[{_fmt(v[0])} … {_fmt(v[-1])}] ({len(v)})"
    return f"{v:g}" if isinstance(v, float) else str(v)


def list_lines() -> list[str]:
    """What ``python -m scpviz list`` prints: every experiment with its figure, metric, default λ and budgets."""
    from . import experiments, methods

    lines = ["consolidation methods (--methods; the paper's run by default):"]
    for m in methods.METHODS.values():
        lines.append(f"  {m.name:<9} {m.label}{' [paper]' if m.paper else ''} — {m.reference}")
    lines.append("")
    for name in experiments.names():
        exp = experiments.get(name)
        lams = ", ".join(f"{m} {exp.default_lam(m):g}" for m in exp.methods if m != "none")
        extra = [m for m in exp.available_methods if m not in exp.methods]
        lines += [f"{name}: {exp.title} — {exp.paper}",
                  f"  metric    {exp.metric.label}, {exp.metric.direction}",
                  f"  methods   {', '.join(exp.methods)} (also: {', '.join(extra)}); default λ {lams}"
                  + (f" (validation-chosen on the shipped grid {exp.shipped!r})" if exp.shipped else ""),
                  f"  figures   {', '.join(f.paper or f.filename for f in exp.figures)}"]
        for mode in MODES:
            b = exp.budget(mode).as_dict()
            lines.append(f"  {mode:<9} " + ", ".join(f"{k}={_fmt(v)}" for k, v in b.items()))
        lines.append("")
    return lines


# --------------------------------------------------------------------------- parser

def _common_flags(p):
    p.add_argument("--mode", choices=MODES, default=None,
                   help="budget: quick (CI), teach (default; minutes on a laptop CPU), paper (a GPU). "
                        "Default: $SCPVIZ_MODE, else teach")
    p.add_argument("--seeds", nargs="+", type=int, default=None, help="default: the mode's seeds (teach: one)")
    p.add_argument("--data", default=None, help="data root (default $SCPVIZ_DATA)")
    p.add_argument("--device", default=None, help="cpu, cuda, mps (default: the best available)")
    p.add_argument("--data-seed", type=int, default=None,
                   help="draw every seed's training and validation images with this one seed (default: each seed its "
                        "own; 0 reproduces results made before version 0.4)")


def _experiment_flags(p, exp):
    for opt in exp.all_options():
        if opt.type is bool:
            p.add_argument(opt.flag, dest=opt.key, action=argparse.BooleanOptionalAction, default=None,
                           help=opt.help + " (default: the mode's budget)")
        else:
            p.add_argument(opt.flag, dest=opt.key, type=opt.type, nargs=opt.nargs, choices=opt.choices, default=None,
                           help=opt.help + " (default: the mode's budget)")


def _methods_help(exp):
    return (f"consolidation methods (default: the paper's, {' '.join(exp.methods)}; "
            "python -m scpviz list describes them all)")


def _lam_help(exp):
    lams = ", ".join(f"{m} {exp.default_lam(m):g}" for m in exp.methods if m != "none")
    where = f"validation-chosen on the shipped grid {exp.shipped!r}" if exp.shipped else "no shipped grid yet"
    return f"λ of eq 17 for every method; default: each method's own ({lams}; {where})"


def build_parser() -> argparse.ArgumentParser:
    from . import experiments

    parser = argparse.ArgumentParser(
        prog="python -m scpviz",
        description="scpviz: Sliced Cramér Preservation, online-EWC and MAS — the paper's experiments, headless.")
    parser.add_argument("--version", action="version", version=f"scpviz {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="command")

    p_info = sub.add_parser("info", help="versions, device, mode and the dataset that would be used")
    p_info.add_argument("--data", default=None, help="data root (default: $SCPVIZ_DATA or a user cache dir)")
    p_info.set_defaults(func=_cmd_info)

    p_list = sub.add_parser("list", help="the experiments, the paper figure each is about, budgets per mode")
    p_list.set_defaults(func=_cmd_list)

    p_gal = sub.add_parser("gallery", help="execute every notebook and render it to HTML with its outputs")
    p_gal.add_argument("out", help="output folder (index.html and one page per notebook)")
    p_gal.add_argument("--mode", choices=MODES, default="quick", help="budget of the notebooks (default quick)")
    p_gal.add_argument("--data", default=None, help="data root (default $SCPVIZ_DATA)")
    p_gal.set_defaults(func=_cmd_gallery)

    p_st = sub.add_parser("study", help="a study beyond one sweep: figure4 (the auto-encoder run variants × λ × "
                                        "remedies of notebook 07b, into a resumable cache) or figure3b (how alike "
                                        "the EWC, MAS and SCP importances are, over seeds)")
    p_st.add_argument("name", choices=["figure3b", "figure4"], help="which study")
    p_st.add_argument("--cache", default=None, help="figure4: cache folder (one JSON per run; resumable; required)")
    p_st.add_argument("--export", default=None, help="figure4: also write all runs to one .json.gz; figure3b: write "
                                                     "the comparison to this .json")
    p_st.add_argument("--mode", choices=MODES, default="teach", help="figure3b: the budget (default teach)")
    p_st.add_argument("--device", default=None, help="figure3b: cpu, cuda, mps (default: the best available)")
    p_st.add_argument("--variants", nargs="+", default=None, help="default: every variant and remedy")
    p_st.add_argument("--reset-test", action="store_true", help="also the blind-reset runs")
    p_st.add_argument("--seeds", nargs="+", type=int, default=None, help="figure4: digit orders (default 0 1 2); "
                                                                         "figure3b: seeds (default 0 1 2 3 4)")
    p_st.add_argument("--backend", choices=["serial", "processes", "ray"], default="processes")
    p_st.add_argument("--workers", type=int, default=2)
    p_st.add_argument("--data", default=None, help="data root (default $SCPVIZ_DATA)")
    p_st.add_argument("--dry-run", action="store_true", help="only count the runs")
    p_st.set_defaults(func=_cmd_study)

    p_res = sub.add_parser("results", help="write RESULTS.md: every shipped result file as its tables, generated "
                                           "from the files")
    p_res.add_argument("--out", default="RESULTS.md", help="where to write it (default RESULTS.md)")
    p_res.add_argument("--readme", default="README.md", help="the README whose results-summary block is rewritten "
                                                            "(default README.md; 'none': leave it)")
    p_res.add_argument("--check", action="store_true", help="write nothing; exit 1 when --out differs from what "
                                                            "the files give")
    p_res.set_defaults(func=_cmd_results)

    p_as = sub.add_parser("assignments", help="course assignments: regenerate the student versions (nbgrader)")
    p_as.add_argument("action", choices=["release", "list"], help="release: nbgrader generate_assignment for each "
                                                                   "source; list: the assignments")
    p_as.add_argument("names", nargs="*", help="assignments (default: all under DIR/source)")
    p_as.add_argument("--dir", default="assignments", help="the folder holding nbgrader_config.py (default "
                                                            "assignments)")
    p_as.set_defaults(func=_cmd_assignments)


    p_run = sub.add_parser("run", help="one run per method and seed; Histories and figures into --out")
    p_sweep = sub.add_parser("sweep", help="grid methods × λ × L × seeds into a resumable cache; λ chosen on "
                                           "validation")
    runs = p_run.add_subparsers(dest="experiment", metavar="experiment", required=True)
    sweeps = p_sweep.add_subparsers(dest="experiment", metavar="experiment", required=True)
    for name in experiments.names():
        exp = experiments.get(name)
        desc = f"{exp.title} ({exp.paper}); metric: {exp.metric.label}, {exp.metric.direction}."
        r = runs.add_parser(name, aliases=[name.replace("_", "-")] if "_" in name else [], help=exp.paper,
                            description=desc)
        r.add_argument("--method", "--methods", dest="methods", nargs="+", default=list(exp.methods),
                       choices=list(exp.available_methods), help=_methods_help(exp))
        r.add_argument("--lam", type=float, default=None, help=_lam_help(exp))
        r.add_argument("--slices", type=int, default=None, help="L, the number of slices (SCP)")
        r.add_argument("--out", required=True, help="output folder for History JSON files and figures")
        r.add_argument("--cache", default=None, help="optional cache folder (re-use finished runs)")
        _common_flags(r)
        _experiment_flags(r, exp)
        r.set_defaults(func=_cmd_run, experiment=name)

        s = sweeps.add_parser(name, aliases=[name.replace("_", "-")] if "_" in name else [], help=exp.paper,
                              description=desc)
        s.add_argument("--methods", "--method", dest="methods", nargs="+", default=list(exp.methods),
                       choices=list(exp.available_methods), help=_methods_help(exp))
        s.add_argument("--lams", nargs="+", type=float, default=None,
                       help=f"λ grid (default: the mode's; the paper's is {_lams_text(exp.budget('paper').lams)})")
        s.add_argument("--method-lams", nargs="+", default=None, metavar="METHOD=λ,λ,...", type=_method_lams,
                       help="a λ grid per method, e.g. mas=1e-9,1e-8 scp=1,10 (replaces --lams for those methods: "
                            "importances of different methods live on different scales)")
        s.add_argument("--slices", nargs="+", type=int, default=None, help="L values for SCP (default: the mode's)")
        s.add_argument("--cache", required=True, help="cache folder (one JSON per run; resumable)")
        s.add_argument("--export", default=None, help="also write all runs to one (.json or .json.gz) file")
        s.add_argument("--backend", choices=["serial", "processes", "ray", "ensemble"], default="serial",
                       help="where runs execute; ray uses RAY_ADDRESS's cluster when set; ensemble trains runs that "
                            "share a budget as one stacked model (MLP experiments)")
        s.add_argument("--ensemble-size", type=int, default=None,
                       help="ensemble: runs per stacked model (default: as many as fit in 60%% of the device's free "
                       "memory; the sweep says what it chose); ray: each task trains an ensemble of this many runs "
                       "(default: one run a task)")
        s.add_argument("--workers", type=int, default=None, help="parallel runs (processes) / CPUs of a local Ray")
        s.add_argument("--threads", type=int, default=None, help="torch threads per run (default: serial keeps "
                       "torch's; processes share the cores out; Ray: 1 per task)")
        s.add_argument("--dry-run", action="store_true", help="only count the runs (and those already cached)")
        _common_flags(s)
        _experiment_flags(s, exp)
        s.set_defaults(func=_cmd_sweep, experiment=name)
    return parser


# --------------------------------------------------------------------------- commands

def _cmd_info(args) -> int:
    print("\n".join(info_lines(args.data)))
    return 0


def _cmd_gallery(args) -> int:
    from .gallery import build_gallery

    pages = build_gallery(args.out, mode=args.mode, data_root=args.data)
    for page, seconds in pages:
        print(f"{page}  ({seconds:.0f} s)")
    print(f"gallery: {len(pages)} notebooks executed in {args.mode} mode; open {args.out}/index.html")
    return 0


def study_configs(args) -> list:
    """The run configs of ``python -m scpviz study figure4 ...`` (what ``--dry-run`` counts)."""
    from .studies import figure4

    seeds = args.seeds if args.seeds is not None else list(figure4.STUDY_SEEDS)
    return (figure4.study_configs(args.variants, seeds, data_root=args.data)
            + (figure4.reset_configs(seeds, data_root=args.data) if args.reset_test else []))


def _cmd_study(args) -> int:
    import shlex

    from .studies import figure4
    from .sweeps import export_results, run_configs
    from .viz.tables import format_reset_table, format_study_table

    cmd = "python -m scpviz " + " ".join(shlex.quote(a) for a in args.argv)
    if args.name == "figure3b":
        return _study_figure3b(args, cmd)
    if args.cache is None and not args.dry_run:
        print("scpviz: study figure4 needs --cache DIR (a folder for its runs; an interrupted study resumes there).",
              file=sys.stderr)
        return 2
    cfgs = study_configs(args)
    if args.dry_run:
        print(f"study {args.name}: {len(cfgs)} runs")
        return 0
    hists = run_configs(cfgs, args.cache, backend=args.backend, workers=args.workers, progress=True, threads=1)
    results = list(zip(cfgs, hists))
    rows = figure4.study_rows(results)
    print(format_study_table(rows, figure4.chosen_rows(rows)))
    if args.reset_test:
        print(format_reset_table(figure4.reset_rows(results)))
    if args.export:
        from .config import describe_machine

        path = export_results(results, args.export, compact=lambda c: False, command=cmd, machine=describe_machine())
        print(f"exported {len(results)} runs to {path}")
    return 0


def _study_figure3b(args, cmd) -> int:
    from .studies import figure3b
    from .viz.tables import format_shape_table

    seeds = args.seeds if args.seeds is not None else [0, 1, 2, 3, 4]
    if args.dry_run:
        print(f"study figure3b: {len(seeds)} networks trained on task 1 ({args.mode} budget)")
        return 0
    result = figure3b.importance_shapes(seeds, mode=args.mode, data_root=args.data, device=args.device,
                                        progress=True)
    print(format_shape_table(result))
    if args.export:
        print(f"wrote {figure3b.save_shapes(result, args.export, command=cmd)}")
    return 0


def _cmd_results(args) -> int:
    from pathlib import Path

    from .viz.results_report import build_results_report, with_summary

    files = {Path(args.out): build_results_report()}
    if args.readme != "none":
        readme = Path(args.readme)
        if not readme.exists():
            raise SystemExit(f"--readme {readme}: no such file; run from the repository root or pass --readme none")
        files[readme] = with_summary(readme.read_text(encoding="utf-8"))
    if args.check:
        stale = [str(p) for p, text in files.items() if not p.exists() or p.read_text(encoding="utf-8") != text]
        print(f"{', '.join(stale)}: differ from the shipped result files; run python -m scpviz results" if stale
              else f"{', '.join(map(str, files))}: up to date")
        return 1 if stale else 0
    for path, text in files.items():
        _writable_folder(path.resolve().parent, "--out's folder")
        path.write_text(text, encoding="utf-8")
        print(f"wrote {path} ({len(text.splitlines())} lines)")
    return 0


def _cmd_assignments(args) -> int:
    from .assignments import assignment_names, release

    if args.action == "list":
        print("\n".join(assignment_names(args.dir)))
        return 0
    for path in release(args.dir, args.names):
        print(f"released {path}")
    return 0


def _cmd_list(args) -> int:
    print("\n".join(list_lines()).rstrip())
    return 0


def _setup(args):
    """(experiment, mode, overrides) from parsed arguments: the mode resolved once, here; a device that this machine
    does not have is refused before anything runs."""
    from . import experiments
    from .config import get_device, get_mode

    mode = get_mode(args.mode)
    if args.device is not None:
        try:
            get_device(args.device)
        except (ValueError, RuntimeError) as exc:
            raise ValueError(f"--device {args.device}: {exc} Pass --device cpu, or leave --device out for the best "
                             "device this machine has.") from None
    exp = experiments.get(args.experiment)
    overrides = {o.key: getattr(args, o.key) for o in exp.all_options() if getattr(args, o.key, None) is not None}
    if getattr(args, "data_seed", None) is not None:
        overrides["data_seed"] = args.data_seed
    return exp, mode, overrides


def _writable_folder(path, flag):
    """``path`` created if needed and checked writable (a probe file written and removed), before any training."""
    import tempfile

    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".scpviz-probe-"):
            pass
    except OSError as exc:
        raise ValueError(f"{flag} {path} cannot be written ({exc.strerror or exc}): choose a folder you can write "
                         "to.") from None
    return path


def _cmd_run(args) -> int:
    from pathlib import Path

    import matplotlib
    matplotlib.use("Agg")
    from .sweeps import cached_run, summarize
    from .viz.tables import format_table
    from .viz.figures import draw_figures

    exp, mode, overrides = _setup(args)
    overrides = {**exp.run_overrides, **overrides}
    if args.slices is not None:
        overrides["n_slices"] = args.slices
    out = _writable_folder(Path(args.out), "--out")
    seeds = args.seeds if args.seeds is not None else list(exp.budget(mode).seeds)
    print(f"{exp.name} ({exp.paper}), {mode} mode, seeds {seeds}")
    results = []
    for method in args.methods:
        for seed in seeds:
            cfg = exp.config(method, args.lam, seed, mode=mode, data_root=args.data, **overrides)
            hist = cached_run(cfg, args.cache, device=args.device, progress=True)
            stem = f"{method}_lam{cfg['lam']:g}_seed{seed}"
            hist.to_json(out / f"{stem}.json")
            print(f"{stem}: final average test {hist.metric.name} {hist.metric.format(hist.final_average_metric())} "
                  f"({hist.dataset})")
            results.append((cfg, hist))
    for name, fig in draw_figures(exp, results).items():
        fig.savefig(out / f"{name}.png", dpi=120)
    print(format_table(summarize(results)))
    return 0


def _lams_text(lams) -> str:
    """A budget's λ grid as text: one list, or one per method when the budget gives each method its own."""
    if isinstance(lams, dict):
        return "; ".join(f"{m}: {', '.join(f'{v:g}' for v in vs)}" for m, vs in lams.items())
    return ", ".join(f"{v:g}" for v in lams)


def _method_lams(text: str) -> tuple:
    """``"mas=1e-9,1e-8"`` → ``("mas", [1e-09, 1e-08])`` (argparse type of ``--method-lams``)."""
    import argparse

    method, sep, values = text.partition("=")
    try:
        lams = [float(v) for v in values.split(",") if v.strip()]
    except ValueError:
        lams = []
    if not sep or not method.strip() or not lams:
        raise argparse.ArgumentTypeError(f"{text!r} is not METHOD=λ,λ,... (e.g. scp=1,10,100).")
    return method.strip(), lams


def _grid_kwargs(args) -> dict:
    exp, mode, overrides = _setup(args)
    per_method = dict(getattr(args, "method_lams", None) or [])
    unknown = set(per_method) - set(exp.available_methods)
    if unknown:
        raise ValueError(f"--method-lams names {sorted(unknown)}, not methods of {exp.name}: "
                         f"{list(exp.available_methods)}.")
    unswept = set(per_method) - set(args.methods)
    if unswept:
        raise ValueError(f"--method-lams names {sorted(unswept)}, which --methods does not sweep "
                         f"({' '.join(args.methods)}): add them to --methods.")
    return dict(experiment=exp.name, methods=args.methods, lams=args.lams, seeds=args.seeds, n_slices=args.slices,
                mode=mode, lams_per_method=per_method or None, data_root=args.data, **overrides)


def sweep_configs(argv) -> list:
    """The run configs a ``sweep`` command line stands for (what ``--dry-run`` counts)."""
    from .sweeps import make_grid

    args = build_parser().parse_args(list(argv))
    if args.command != "sweep":
        raise ValueError(f"{' '.join(argv)!r} is not a sweep command.")
    return make_grid(**_grid_kwargs(args))


def _cmd_sweep(args) -> int:
    import shlex
    from pathlib import Path

    from .sweeps import choose_lambda, export_results, make_grid, summarize, sweep
    from .viz.tables import format_table

    kwargs = _grid_kwargs(args)
    exp, mode = get_experiment(kwargs["experiment"]), kwargs["mode"]
    if args.dry_run:
        cfgs = make_grid(**kwargs)
        print(f"{exp.name} ({exp.paper}), {mode} mode: {len(cfgs)} runs "
              f"({sum(1 for c in cfgs if args.cache and entry_exists(args.cache, c))} already in {args.cache})")
        return 0
    _writable_folder(Path(args.cache), "--cache")
    if args.export:
        _writable_folder(Path(args.export).parent, "--export's folder")
    results = sweep(cache_dir=args.cache, device=args.device, progress=True, backend=args.backend,
                    workers=args.workers, threads=args.threads, ensemble_size=args.ensemble_size, **kwargs)
    chosen = choose_lambda(results, split="val")
    metric = results[0][1].metric
    print(f"{exp.name} ({exp.paper}), {mode} mode, backend {args.backend}: {len(results)} runs")
    print(f"chosen on validation (final average validation {metric.name}, mean over seeds, {metric.direction}):")

    def name(k):
        return {"lam": "λ", "n_slices": "L"}.get(k, k)

    for m, c in chosen.items():
        print(f"  {m}: " + ", ".join(f"{name(k)} = {_fmt(v)}" for k, v in c["options"].items()) + "   scores: "
              + "; ".join(", ".join(f"{name(k)} {_fmt(v)}" for k, v in s.items() if k != "score")
                          + f": {metric.format(s['score'])}" for s in c["scores"]))
    print("\nTest results at the chosen options:")
    print(format_table(summarize(results, chosen), chosen))
    if args.export:
        cmd = "python -m scpviz " + " ".join(shlex.quote(a) for a in args.argv)
        from .config import describe_machine

        path = export_results(results, args.export, command=cmd, machine=describe_machine(args.device))
        print(f"\nexported {len(results)} runs to {path}")
    return 0


def get_experiment(name):
    from .experiments import get

    return get(name)


def entry_exists(cache_dir, cfg) -> bool:
    from .sweeps.cache import entry_path

    return entry_path(cache_dir, cfg).exists()


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser()
    try:
        try:
            args = parser.parse_args(argv)
        except SystemExit as exc:  # argparse has printed its message (bad flag or choice, or --help)
            return int(exc.code or 0)
        args.argv = argv
        if not getattr(args, "command", None):
            parser.print_help()
            return 0
        return args.func(args)
    except ValueError as exc:  # bad configuration, e.g. SCPVIZ_MODE=full
        print(f"error: {exc}", file=sys.stderr)
        return 2
