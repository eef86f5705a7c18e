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
