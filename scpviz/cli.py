"""Headless entry point: ``python -m scpviz <command>``.

One sub-command per paper figure is added as the notebooks land; ``info``
reports versions, device, mode and which dataset would be used.
"""

from __future__ import annotations

import argparse
import platform
import sys

from . import __version__

__all__ = ["main", "build_parser", "info_lines"]


def info_lines(root=None) -> list[str]:
    """The lines ``python -m scpviz info`` prints (no dataset is loaded)."""
    import matplotlib
    import numpy
    import scipy
    import torch
    import torchvision

    from .config import data_root, get_device, mode_name
    from .data import DIGITS_NAME, MNIST_NAME, find_mnist

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
        f"mode        {mode_name()} (SCPVIZ_QUICK=1 for quick mode)",
        f"data root   {r}",
        f"dataset     {dataset}",
    ]


def _cmd_info(args) -> int:
    print("\n".join(info_lines(args.data)))
    return 0


def _add_run_args(p, multi):
    p.add_argument("--quick", action="store_true", help="quick-mode budgets (as SCPVIZ_QUICK=1)")
    if multi:
        p.add_argument("--methods", nargs="+", default=["none", "ewc", "mas", "scp"],
                       choices=["none", "ewc", "mas", "scp"])
        p.add_argument("--lams", nargs="+", type=float, default=[1.0], help="λ grid (the paper's: 1e-3 ... 1e9)")
        p.add_argument("--slices", nargs="+", type=int, default=None, help="L values for SCP")
    else:
        p.add_argument("--method", nargs="+", default=["scp"], choices=["none", "ewc", "mas", "scp"])
        p.add_argument("--lam", type=float, default=1.0)
        p.add_argument("--slices", type=int, default=None, help="L for SCP")
    p.add_argument("--seeds", nargs="+", type=int, default=None)
    p.add_argument("--tasks", type=int, default=None)
    p.add_argument("--epochs", type=int, default=None)
    p.add_argument("--train", type=int, default=None, help="training images per task")
    p.add_argument("--val", type=int, default=None, help="validation images held out of the training images")
    p.add_argument("--test", type=int, default=None, help="test images per task")
    p.add_argument("--hidden", nargs="+", type=int, default=None)
    p.add_argument("--lr", type=float, default=None)
    p.add_argument("--batch-size", type=int, default=None)
    p.add_argument("--alpha", type=float, default=None, help="eq 20 weight of the newest task (default 0.75)")
    p.add_argument("--optimizer-reset", choices=["task", "epoch"], default=None)
    p.add_argument("--data", default=None, help="data root (default $SCPVIZ_DATA)")
    p.add_argument("--device", default=None)


def _overrides(args):
    pairs = dict(n_tasks=args.tasks, epochs=args.epochs, n_train=args.train, n_val=args.val, n_test=args.test,
                 hidden=args.hidden, lr=args.lr, batch_size=args.batch_size, alpha=args.alpha,
                 optimizer_reset=args.optimizer_reset)
    return {k: v for k, v in pairs.items() if v is not None}


def _seeds(args, quick, experiment="permuted_mnist"):
    from .config import budget
    return args.seeds if args.seeds is not None else list(budget(experiment, quick=quick).seeds)


def _prepare(args):
    import os
    if args.data:
        os.environ["SCPVIZ_DATA"] = args.data
    from .config import is_quick
    return True if args.quick else is_quick()


def _cmd_permuted_mnist(args) -> int:
    from pathlib import Path

    import matplotlib
    matplotlib.use("Agg")
    from . import plots, sweep

    quick = _prepare(args)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    results = []
    for method in args.method:
        for seed in _seeds(args, quick):
            extra = _overrides(args)
            if args.slices is not None:
                extra["n_slices"] = args.slices
            cfg = sweep.permuted_mnist_config(method, 0.0 if method == "none" else args.lam, seed, quick=quick, **extra)
            hist = sweep.cached_run(cfg, None, device=args.device, progress=True)
            stem = f"{method}_lam{cfg['lam']:g}_seed{seed}"
            hist.to_json(out / f"{stem}.json")
            plots.plot_forgetting_curves(hist).savefig(out / f"{stem}_forgetting.png", dpi=120)
            print(f"{stem}: final average test accuracy {hist.final_average_accuracy():.4f} ({hist.dataset})")
            results.append((cfg, hist))
    rows = sweep.summarize(results)
    plots.plot_average_accuracy(rows, reference=plots.PAPER_FIG3A, dataset=results[0][1].dataset) \
        .savefig(out / "average_accuracy.png", dpi=120)
    print(sweep.format_table(rows))
    return 0


def _ae_overrides(args):
    pairs = dict(epochs=args.epochs, n_train=args.train, n_val=args.val, n_test=args.test, hidden=args.hidden,
                 lr=args.lr, batch_size=args.batch_size, alpha=args.alpha, optimizer_reset=args.optimizer_reset,
                 code=getattr(args, "code", None), layer=getattr(args, "layer", None))
    return {k: v for k, v in pairs.items() if v is not None}


def _cmd_autoencoders(args) -> int:
    from pathlib import Path

    import matplotlib
    matplotlib.use("Agg")
    from . import plots, sweep

    quick = _prepare(args)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    results, last = [], {}
    for method in args.method:
        for seed in _seeds(args, quick, "autoencoders"):
            extra = _ae_overrides(args)
            if args.order:
                extra["order"] = args.order
            if args.slices is not None:
                extra["n_slices"] = args.slices
            cfg = sweep.autoencoder_config(method, 0.0 if method == "none" else args.lam, seed, quick=quick,
                                           snapshots=True, **extra)
            hist = sweep.cached_run(cfg, None, device=args.device, progress=True)
            stem = f"{method}_lam{cfg['lam']:g}_seed{seed}"
            hist.to_json(out / f"{stem}.json")
            print(f"{stem}: order {cfg['order']}, final average l1 error over seen digits "
                  f"{hist.final_average_accuracy():.3f} ({hist.dataset})")
            results.append((cfg, hist))
            last.setdefault(method, hist)
    plots.plot_reconstruction_grid(last).savefig(out / "reconstructions.png", dpi=120)
    rows = sweep.summarize(results)
    plots.plot_average_accuracy(rows, dataset=results[0][1].dataset, title="Average l1 error over digits seen (Fig 4b)",
                                ylabel="mean l1 reconstruction error").savefig(out / "average_l1.png", dpi=120)
    print(sweep.format_table(rows, percent=False))
    return 0


def _cmd_sweep(args) -> int:
    import shlex
    import sys as _sys

    from . import sweep

    quick = _prepare(args)
    ae = args.experiment == "autoencoders"
    extra = _ae_overrides(args) if ae else _overrides(args)
    if ae and args.order:
        extra["order"] = args.order
    if ae and args.snapshots:
        extra["snapshots"] = True
    results = sweep.sweep(methods=args.methods, lams=args.lams, seeds=_seeds(args, quick, args.experiment),
                          n_slices=args.slices, cache_dir=args.cache, quick=quick, device=args.device, progress=True,
                          experiment=args.experiment, **extra)
    chosen = sweep.choose_lambda(results, split="val")
    print("λ chosen on validation (final average validation accuracy, mean over seeds):")
    for m, c in chosen.items():
        print(f"  {m}: λ = {c['lam']:g}" + (f", L = {c['n_slices']}" if c["n_slices"] else "") +
              "   scores: " + ", ".join(f"{k:g}: {100 * v:.1f}%" for k, v in sorted(c["scores"].items())))
    print("\nTest results at the chosen λ:")
    print(sweep.format_table(sweep.summarize(results, chosen), chosen, percent=not ae))
    if args.export:
        cmd = "python -m scpviz " + " ".join(shlex.quote(a) for a in _sys.argv[1:])
        print(f"\nexported {len(results)} runs to {sweep.export_results(results, args.export, command=cmd)}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m scpviz",
        description="scpviz: Sliced Cramér Preservation, online-EWC and MAS — headless runs of the notebooks' experiments.",
    )
    parser.add_argument("--version", action="version", version=f"scpviz {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="command")
    p_info = sub.add_parser("info", help="versions, device, quick/full mode and the dataset that would be used")
    p_info.add_argument("--data", default=None, help="data root (default: $SCPVIZ_DATA or a user cache dir)")
    p_info.set_defaults(func=_cmd_info)

    p_pm = sub.add_parser("permuted-mnist", help="Figure 3a: train on the permuted-MNIST stream, write Histories "
                                                 "and figures")
    _add_run_args(p_pm, multi=False)
    p_pm.add_argument("--out", required=True, help="output folder for History JSON files and figures")
    p_pm.set_defaults(func=_cmd_permuted_mnist)

    p_sw = sub.add_parser("sweep", help="grid methods × λ × L × seeds into a cache dir; λ chosen on validation")
    _add_run_args(p_sw, multi=True)
    p_sw.add_argument("--cache", required=True, help="cache folder (one JSON per run; resumable)")
    p_sw.add_argument("--export", default=None, help="also write all runs to one JSON file")
    p_sw.add_argument("--experiment", choices=["permuted_mnist", "autoencoders"], default="permuted_mnist")
    p_sw.add_argument("--order", nargs="+", type=int, default=None, help="auto-encoders: digit order")
    p_sw.add_argument("--code", type=int, default=None, help="auto-encoders: code width")
    p_sw.add_argument("--layer", choices=["output", "code"], default=None, help="auto-encoders: preserved layer")
    p_sw.add_argument("--snapshots", action="store_true", help="auto-encoders: record the Figure 4a reconstructions")
    p_sw.set_defaults(func=_cmd_sweep)

    p_ae = sub.add_parser("autoencoders", help="Figure 4: sequential auto-encoders on single digits")
    _add_run_args(p_ae, multi=False)
    p_ae.add_argument("--order", nargs="+", type=int, default=None, help="digit order (default: the budget's; "
                                                                            "seeds > 0 permute it)")
    p_ae.add_argument("--code", type=int, default=None, help="code width")
    p_ae.add_argument("--layer", choices=["output", "code"], default=None, help="preserved layer")
    p_ae.add_argument("--out", required=True)
    p_ae.set_defaults(func=_cmd_autoencoders)
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return 0
    try:
        return args.func(args)
    except ValueError as exc:  # bad configuration, e.g. SCPVIZ_QUICK=yes
        print(f"error: {exc}", file=sys.stderr)
        return 2
