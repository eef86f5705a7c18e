"""Figure 3b, quantified: are online-EWC's and MAS's importances alike, and SCP's different?

The paper reads its Figure 3b (histograms of log₁₀(λ × importance) after the first permuted-MNIST task) as the
sample-based importances F (eq 3) and Ω (eq 7) resembling each other more than SCP's Γ (eq 19). Here the same
importances are computed for several seeds (each seed its own initialisation, batch order and training images) and
every pair is compared with :func:`scpviz.importance.shape_agreement`: Spearman's ρ (do they rank the weights
alike?), and the Kolmogorov–Smirnov distance and histogram overlap of the standardised log-importances (are their
shapes alike, whatever their scales?). :func:`shape_verdict` says, per measure, whether (EWC, MAS) is the more alike
pair on every seed. Run with ``python -m scpviz study figure3b --export FILE``; notebooks 05 and 06 read the
shipped file.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..config import describe_machine, get_device
from ..experiments import get
from ..experiments.permuted_mnist import importances_after_first_task
from ..importance import shape_agreement

__all__ = ["PAIRS", "MEASURES", "importance_shapes", "shape_verdict", "save_shapes", "load_shapes"]

PAIRS = (("ewc", "mas"), ("ewc", "scp"), ("mas", "scp"))
# each measure, and whether a larger value means "more alike"
MEASURES = {"spearman": True, "ks": False, "overlap": True}


def importance_shapes(seeds=(0, 1, 2, 3, 4), mode: str = "teach", data_root=None, device=None,
                      progress: bool = False) -> dict:
    """F, Ω and Γ after the first task of permuted MNIST, compared pair by pair, for each seed.

    Parameters
    ----------
    seeds : sequence of int
        One network trained on task 1 per seed, at the ``mode`` budget (:func:`importances_after_first_task`).
    mode : {"quick", "teach", "paper"}
    data_root : path, optional
    device : str, optional
    progress : bool

    Returns
    -------
    dict
        ``dataset``, ``mode``, ``seeds``, ``machine``, ``config`` (seed 0's), ``kept`` (per seed: the share of weights every
        importance sees) and ``pairs``: ``{"ewc-mas": {"spearman": [per seed], "ks": [...], "overlap": [...]}, ...}``.
    """
    seeds = [int(s) for s in seeds]
    if not seeds:
        raise ValueError("seeds is empty: give at least one seed, e.g. seeds=(0, 1, 2).")
    exp = get("permuted_mnist")
    device = get_device(None if device is None else str(device))
    out = dict(mode=mode, seeds=seeds, machine=describe_machine(device), kept=[], pairs={f"{a}-{b}": {m: [] for m in MEASURES} for a, b in PAIRS})
    for seed in seeds:                      # one network per seed: a run each, not a hot loop
        cfg = exp.config("scp", seed=seed, mode=mode, data_root=data_root)
        agree = shape_agreement(importances_after_first_task(cfg, device=device, progress=progress))
        out["kept"].append(agree["kept"])
        for a, b in PAIRS:
            for m in MEASURES:
                out["pairs"][f"{a}-{b}"][m].append(agree[(a, b)][m])
        if "config" not in out:
            out["config"] = cfg.to_dict()
            out["dataset"] = exp.cached_tasks(cfg, device)[0].dataset
    return out


def shape_verdict(result: dict) -> dict:
    """Per measure: each pair's mean and sd over seeds, and whether (EWC, MAS) is more alike than both pairs with
    SCP (``"paper_reading"``: True when it is on every seed, False when it is on none, None when the seeds
    disagree).

    Returns
    -------
    dict
        ``{measure: {"mean": {pair: m}, "sd": {pair: s}, "paper_reading": bool or None}}``.
    """
    out = {}
    for m, larger_alike in MEASURES.items():
        vals = {p: np.asarray(v[m], dtype=float) for p, v in result["pairs"].items()}
        sign = 1.0 if larger_alike else -1.0
        wins = [(sign * (vals["ewc-mas"] - vals[p]) > 0) for p in ("ewc-scp", "mas-scp")]
        most_alike = np.logical_and(*wins)                  # per seed: (EWC, MAS) beats both pairs with SCP
        out[m] = dict(mean={p: float(v.mean()) for p, v in vals.items()},
                      sd={p: float(v.std(ddof=1)) if len(v) > 1 else 0.0 for p, v in vals.items()},
                      paper_reading=True if most_alike.all() else (False if not most_alike.any() else None))
    return out


def save_shapes(result: dict, path, command: str) -> Path:
    """Write :func:`importance_shapes`' result with the command that made it (relative paths) as JSON."""
    from .. import __version__

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(dict(version=__version__, command=command, **result), indent=1) + "\n")
    return path


def load_shapes(name_or_path="figure3b_shapes_teach") -> dict:
    """A saved result: a path, or the name of a file shipped in ``scpviz/results``."""
    path = Path(name_or_path)
    if not path.suffix:
        path = Path(__file__).parent.parent / "results" / f"{name_or_path}.json"
    if not path.exists():
        raise FileNotFoundError(f"no Figure 3b result at {path}: make one with python -m scpviz study figure3b "
                                "--export FILE.")
    return json.loads(path.read_text())
