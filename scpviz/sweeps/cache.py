"""A content-addressed, resumable on-disk cache of runs: one JSON file per run, named by a hash of the run's
full config and the package version.

Entries are written atomically (a temporary file, then a rename), so an interrupted sweep resumes where it
stopped; an entry that is unreadable, partial or belongs to another config is reported with a
:class:`CacheWarning` and recomputed — never silently used. A run that diverges (non-finite loss) raises and is
not cached.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import warnings
from pathlib import Path

from .. import __version__
from ..training import History

__all__ = ["CacheWarning", "config_key", "entry_path", "read_entry", "write_entry", "cached_run"]


class CacheWarning(UserWarning):
    """A cache entry could not be used and is being recomputed."""


def config_key(cfg: dict) -> str:
    """Hash of the config and the package version (16 hex digits)."""
    text = json.dumps({"config": cfg, "version": __version__}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def entry_path(cache_dir, cfg: dict) -> Path:
    return Path(cache_dir) / f"{config_key(cfg)}.json"


def read_entry(cache_dir, cfg: dict):
    """The cached History of ``cfg``, or None when there is none or it is unusable (then with a warning)."""
    path = entry_path(cache_dir, cfg)
    if not path.exists():
        return None
    try:
        with open(path) as f:
            entry = json.load(f)
        if not entry.get("complete") or entry.get("config") != json.loads(json.dumps(cfg, default=str)) \
                or entry.get("version") != __version__:
            raise ValueError("incomplete entry or a different config/version")
        return History.from_dict(entry["history"])
    except Exception as exc:  # unreadable, truncated, wrong content
        warnings.warn(f"cache entry {path} is unusable ({type(exc).__name__}: {exc}); recomputing it.",
                      CacheWarning, stacklevel=3)
        return None


def write_entry(cache_dir, cfg: dict, hist: History) -> Path:
    """Write ``hist`` as the entry of ``cfg``, atomically."""
    path = entry_path(cache_dir, cfg)
    path.parent.mkdir(parents=True, exist_ok=True)
    entry = {"key": path.stem, "version": __version__, "config": cfg, "complete": True, "history": hist.to_dict()}
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".json")
    with os.fdopen(fd, "w") as f:
        json.dump(entry, f, default=str)
    os.replace(tmp, path)
    return path


def cached_run(cfg: dict, cache_dir=None, device=None, progress=False, runner=None) -> History:
    """``runner(cfg)`` through the cache in ``cache_dir`` (no cache when None).

    ``runner`` defaults to the registered experiment's :meth:`~scpviz.experiments.base.Experiment.run`
    (``cfg["experiment"]``).
    """
    if runner is None:
        from ..experiments import get

        runner = get(cfg["experiment"]).run
    if cache_dir is not None:
        hist = read_entry(cache_dir, cfg)
        if hist is not None:
            return hist
    hist = runner(cfg, device=device, progress=progress)
    if cache_dir is not None:
        write_entry(cache_dir, cfg, hist)
    return hist
