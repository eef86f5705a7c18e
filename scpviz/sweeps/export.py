"""What a sweep leaves behind to share: one (gzip) JSON file of runs with the command that made them, compacted
for shipping, and the grids shipped with the package (``scpviz/results``)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from .. import __version__
from ..experiments import REGISTRY
from ..training import History

__all__ = ["compact_history", "export_results", "load_exported", "shipped_results"]


def compact_history(hist: History, keep_snapshots=True, digits=4) -> History:
    """A smaller copy for shipping: only the end-of-task evaluation points (all that Figure 3a/4b and the
    end-of-task matrices use), values rounded to ``digits`` significant digits, snapshots optional."""
    def rnd(v):
        return None if v is None else float(f"{v:.{digits}g}")

    ends = {max(k for k, pt in enumerate(hist.points) if pt["task"] == t) for t in range(hist.n_trained)}
    points = [{**pt, "test": [rnd(v) for v in pt["test"]], "val": [rnd(v) for v in (pt.get("val") or [])],
               "loss": rnd(pt.get("loss")), "penalty": rnd(pt.get("penalty"))}
              for k, pt in enumerate(hist.points) if k in ends]
    extras = {k: v for k, v in hist.extras.items() if keep_snapshots or k not in ("snapshots", "inputs")}
    return dataclasses.replace(hist, points=points, extras=extras)


def export_results(results, path, command=None, compact=None, machine=None) -> Path:
    """Write ``(config, History)`` pairs to one JSON file (what the repository ships for notebooks 06, 07).

    ``compact``: optional ``callable(config) -> bool | None``; True/False = :func:`compact_history` keeping /
    dropping snapshots, None = the full History. ``command``: the command that made the file (relative paths);
    ``machine``: what it ran on (:func:`scpviz.config.describe_machine`), stored when given.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)

    def shrink(c, h):
        keep = None if compact is None else compact(c)
        return h if keep is None else compact_history(h, keep_snapshots=bool(keep))

    doc = {"version": __version__, "command": command, **({"machine": machine} if machine else {}),
           "runs": [{"config": c, "history": shrink(c, h).to_dict()} for c, h in results]}
    with _open(path, "wt") as f:
        json.dump(doc, f, default=str, separators=(",", ":"))
    return path


def _open(path, mode):
    """open, or gzip.open for a ``.gz`` path."""
    import gzip

    return gzip.open(path, mode, encoding="utf-8") if str(path).endswith(".gz") else open(path, mode)


def load_exported(path) -> tuple:
    """``(results, command)`` from a file written by :func:`export_results`."""
    try:
        with _open(path, "rt") as f:
            doc = json.load(f)
        runs = [(_upgrade(r["config"]), History.from_dict(r["history"])) for r in doc["runs"]]
        return runs, doc.get("command")
    except (OSError, EOFError, ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"cannot read results file {path}: {exc}") from None


def _upgrade(cfg: dict) -> dict:
    """The config as this version writes it (:meth:`scpviz.experiments.base.Experiment.upgrade`); a config of an
    experiment that is not registered stays as it is."""
    exp = REGISTRY.get(cfg.get("experiment"))
    return exp.upgrade(cfg) if exp is not None else cfg


def shipped_results(name="permuted_mnist_cpu") -> tuple:
    """The precomputed grid shipped with the package (``scpviz/results/<name>.json``)."""
    folder = Path(__file__).parent.parent / "results"
    for path in (folder / f"{name}.json", folder / f"{name}.json.gz"):
        if path.exists():
            return load_exported(path)
    known = sorted(p.name.split(".")[0] for p in folder.glob("*.json*"))
    raise FileNotFoundError(f"no shipped results named {name!r} in {folder}; shipped: {known}.")
