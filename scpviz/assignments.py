"""Course assignments (``assignments/`` in the repository): regenerate the student versions with nbgrader.

The sources (``assignments/source/<name>/<name>.ipynb``) hold the solutions between nbgrader's
``### BEGIN SOLUTION`` / ``### END SOLUTION`` markers and nbgrader cell metadata; ``nbgrader generate_assignment``
writes the student versions to ``assignments/release/<name>/``, which are committed so that Colab badges can
point at them. nbgrader is an instructor tool (the ``instructor`` extra); students need only scpviz, whose
:mod:`scpviz.teaching.checks` grade their functions.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

__all__ = ["assignment_names", "release"]


def assignment_names(root) -> list:
    """The assignments under ``root/source`` (folder names), sorted."""
    src = Path(root) / "source"
    if not src.is_dir():
        raise ValueError(f"{root!s} has no source/ folder: pass the assignments folder (the one holding "
                         f"nbgrader_config.py), e.g. --dir assignments")
    return sorted(p.name for p in src.iterdir() if p.is_dir() and not p.name.startswith("."))


def release(root, names=None) -> list:
    """Run ``nbgrader generate_assignment NAME --force`` in ``root`` for each assignment; return the written
    release notebooks. Needs nbgrader (``pip install -e ".[instructor]"``)."""
    root = Path(root).resolve()
    if not (root / "nbgrader_config.py").exists():
        raise ValueError(f"{root} has no nbgrader_config.py: pass the assignments folder, e.g. --dir assignments")
    known = assignment_names(root)
    names = list(names or known)
    unknown = sorted(set(names) - set(known))
    if unknown:
        raise ValueError(f"unknown assignment(s) {unknown}; the sources hold {known}")
    try:
        import nbgrader  # noqa: F401
    except ImportError as e:
        raise ValueError("nbgrader is not installed: pip install -e \".[instructor]\"") from e
    written = []
    for name in names:
        done = subprocess.run([sys.executable, "-m", "nbgrader", "generate_assignment", name, "--force"],
                              cwd=root, capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"nbgrader generate_assignment {name} failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
        written += sorted((root / "release" / name).glob("*.ipynb"))
    return written
