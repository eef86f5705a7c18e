"""A static gallery: every notebook executed (quick or teach mode) and rendered to HTML with its outputs, so a
reader sees every figure without running anything (``python -m scpviz gallery OUT``).

Runs from a checkout (the notebooks are not part of the installed package). Uses nbclient to execute and
nbconvert to render — both come with JupyterLab (the ``dev`` extra). Widget state is not captured: nbclient's capture
of ``Output`` widgets deadlocks on the explorers (kernel and client both idle until the timeout), and a static
page cannot move a slider anyway; each explorer's first figure lands in the page as an ordinary output.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

__all__ = ["NOTEBOOKS", "build_gallery"]

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


def _client():
    """nbclient's NotebookClient without widget-state capture (see the module docstring)."""
    from nbclient import NotebookClient

    class StaticClient(NotebookClient):
        def handle_comm_msg(self, outs, msg, cell_index):
            return None

    return StaticClient


def _index(entries, mode) -> str:
    rows = "\n".join(f'<li><a href="{html}">{title}</a> — {seconds:.0f} s</li>' for html, title, seconds in entries)
    return (f"<!doctype html><meta charset='utf-8'><title>scpviz gallery ({mode} mode)</title>"
            f"<h1>scpviz: the notebooks, executed in {mode} mode</h1><ul>\n{rows}\n</ul>\n")


def build_gallery(out, mode: str = "quick", notebooks=None, timeout: int = 900, progress: bool = True,
                  data_root=None) -> list:
    """Execute ``notebooks`` (default: every ``notebooks/NN_*.ipynb``) in ``mode`` and write one HTML page each,
    plus ``index.html``.

    Parameters
    ----------
    out : path
        Output folder (created).
    mode : {"quick", "teach", "paper"}
        The mode of the notebooks (given to each kernel as its ``SCPVIZ_MODE``; this process's environment is
        left alone).
    data_root : path, optional
        The data folder of the notebooks (each kernel's ``SCPVIZ_DATA``; default: this process's).
    notebooks : list of paths, optional
    timeout : int
        Seconds a cell may run.

    Returns
    -------
    list of (Path, float)
        Each HTML page and the seconds its notebook took.

    Raises
    ------
    FileNotFoundError
        Outside a checkout (no notebooks folder), naming the folder looked in.
    nbclient.exceptions.CellExecutionError
        When a cell fails: the gallery shows working notebooks only.
    """
    import nbformat
    from nbconvert import HTMLExporter
    from tqdm.auto import tqdm

    from .config import DATA_ENV, MODE_ENV, get_mode

    mode = get_mode(mode)
    paths = sorted(NOTEBOOKS.glob("[0-9][0-9]*_*.ipynb")) if notebooks is None else [Path(p) for p in notebooks]
    if not paths:
        raise FileNotFoundError(f"no notebooks found in {NOTEBOOKS}: build the gallery from a checkout of scpviz.")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    exporter = HTMLExporter(template_name="lab")
    written, entries = [], []
    # a kernel is another process: the mode and data folder reach it in its environment, set for it alone
    kernel_env = dict(os.environ, **{MODE_ENV: mode}, **({DATA_ENV: str(data_root)} if data_root else {}))
    for path in tqdm(paths, desc=f"gallery ({mode})", disable=not progress):
        nb = nbformat.read(path, as_version=4)
        t0 = time.perf_counter()
        _client()(nb, timeout=timeout, kernel_name="python3",
                  resources={"metadata": {"path": str(path.parent)}}).execute(env=kernel_env)
        seconds = time.perf_counter() - t0
        body, _ = exporter.from_notebook_node(nb)
        html = out / f"{path.stem}.html"
        html.write_text(body, encoding="utf-8")
        title = next((c.source.splitlines()[0].lstrip("# ") for c in nb.cells if c.cell_type == "markdown"), path.stem)
        written.append((html, seconds))
        entries.append((html.name, title, seconds))
    (out / "index.html").write_text(_index(entries, mode), encoding="utf-8")
    return written
