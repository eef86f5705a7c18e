"""Runs and grids of runs with an on-disk cache: methods × λ × L × seeds (§5.1).

Every run is described by a plain ``dict`` config (:func:`permuted_mnist_config`)
and cached as JSON under a key hashing the full config *and* the package
version. Entries are written atomically (temporary file, then rename), so an
interrupted sweep resumes where it stopped; an entry that is unreadable,
partial or belongs to another config is reported with a warning and
recomputed — never silently used. A run that diverges (non-finite loss) raises
and is not cached.

λ is chosen per method on the **validation** split (training images held out
before the permutation), by the final average validation accuracy, mean over
seeds; test numbers are only reported for the chosen λ.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
import os
import tempfile
import warnings
from pathlib import Path

import numpy as np
import torch

from . import __version__
from .config import budget, get_device
from .consolidation import Consolidation
from .continual import History, train_sequence
from .data import digit_tasks, load_dataset, permuted_mnist_tasks
from .models import MLP, AutoEncoder

__all__ = ["PAPER_LAMBDAS", "permuted_mnist_config", "autoencoder_config", "run_autoencoders", "RUNNERS", "config_key", "run_permuted_mnist", "cached_run", "sweep",
           "choose_lambda", "summarize", "load_results", "CacheWarning", "export_results", "load_exported",
           "shipped_results", "format_table", "importances_after_first_task"]

PAPER_LAMBDAS = tuple(10.0 ** i for i in range(-3, 10))  # §5.1: {1e-3, ..., 1e9}


class CacheWarning(UserWarning):
    """A cache entry could not be used and is being recomputed."""


def permuted_mnist_config(method="scp", lam=1.0, seed=0, quick=None, **overrides) -> dict:
    """The full configuration of one permuted-MNIST run; budgets from :func:`scpviz.config.budget`.

    Keys: method, lam, alpha, n_slices, seed, n_tasks, epochs, n_train, n_val,
    n_test, hidden, lr, batch_size, optimizer_reset, dataset.
    """
    b = budget("permuted_mnist", quick=quick)
    cfg = dict(experiment="permuted_mnist", method=method, lam=float(lam), alpha=0.75, n_slices=int(b.n_slices),
               seed=int(seed), n_tasks=int(b.n_tasks), epochs=int(b.epochs), n_train=int(b.n_train),
               n_val=int(b.n_val), n_test=int(b.n_test), hidden=list(b.hidden), lr=float(b.lr),
               batch_size=int(b.batch_size), optimizer_reset="task", dataset="mnist")
    unknown = set(overrides) - set(cfg)
    if unknown:
        raise ValueError(f"unknown config keys {sorted(unknown)}; known: {sorted(cfg)}")
    cfg.update(overrides)
    cfg["hidden"] = [int(h) for h in cfg["hidden"]]
    if cfg["lam"] < 0:
        raise ValueError(f"lam={cfg['lam']!r} must be >= 0.")
    return cfg


PAPER_ORDER = (2, 7, 4, 0, 9, 1, 6, 5, 8, 3)


def autoencoder_config(method="scp", lam=1.0, seed=0, quick=None, **overrides) -> dict:
    """The full configuration of one sequential auto-encoder run (§5.2).

    ``seed`` also permutes the digit order (seed 0: the budget's order, the paper's example in full
    mode; the paper's 10 runs permute it). ``layer``: ``"output"`` (the reconstruction, as in the
    paper) or ``"code"`` (the 256-D code layer) — what SCP/MAS preserve.
    """
    b = budget("autoencoders", quick=quick)
    order = list(b.order)
    if seed:
        order = [order[i] for i in np.random.default_rng(seed).permutation(len(order))]
    cfg = dict(experiment="autoencoders", method=method, lam=float(lam), alpha=0.75, n_slices=int(b.n_slices),
               layer="output", seed=int(seed), order=order, epochs=int(b.epochs), n_train=b.n_train, n_val=b.n_val,
               n_test=b.n_test, hidden=list(b.hidden), code=int(b.code), lr=float(b.lr),
               batch_size=int(b.batch_size), optimizer_reset="task", dataset="mnist", snapshots=False)
    unknown = set(overrides) - set(cfg)
    if unknown:
        raise ValueError(f"unknown config keys {sorted(unknown)}; known: {sorted(cfg)}")
    cfg.update(overrides)
    cfg["order"] = [int(d) for d in cfg["order"]]
    cfg["hidden"] = [int(h) for h in cfg["hidden"]]
    if cfg["method"] == "ewc":
        raise ValueError("method='ewc' needs class probabilities; the auto-encoder experiment has no labels "
                         "(the paper compares none, MAS and SCP here).")
    if cfg["layer"] not in ("output", "code"):
        raise ValueError(f"layer={cfg['layer']!r} must be 'output' or 'code'.")
    if cfg["lam"] < 0:
        raise ValueError(f"lam={cfg['lam']!r} must be >= 0.")
    return cfg


def run_autoencoders(cfg: dict, device=None, progress=False, on_epoch=None) -> History:
    """Train the auto-encoder on single digits in ``cfg["order"]`` (reconstruction objective, mean ℓ1 metric).

    With ``cfg["snapshots"]`` the reconstructions of the first test image of every digit in the order are
    recorded after each task in ``history.extras["snapshots"]`` (uint8 0–255, stage × digit × 784), with the
    inputs in ``extras["inputs"]`` (Figure 4a).
    """
    device = get_device() if device is None else torch.device(device)
    key = ("ae", cfg["dataset"], tuple(cfg["order"]), cfg["n_train"], cfg["n_val"], cfg["n_test"], str(device))
    if key not in _TASK_CACHE:
        if len(_TASK_CACHE) > 4:
            _TASK_CACHE.clear()
        ds = load_dataset(cfg["dataset"], device=device)
        _TASK_CACHE[key] = digit_tasks(ds, order=cfg["order"], n_train=cfg["n_train"], n_test=cfg["n_test"],
                                       n_val=cfg["n_val"])
    tasks = _TASK_CACHE[key]
    model = AutoEncoder(in_features=tasks[0].x_train.shape[1], hidden=cfg["hidden"], code=cfg["code"],
                        seed=cfg["seed"]).to(device)
    layer = model.encoder if cfg["layer"] == "code" else None
    # one batch per task for the importances: with K = 784 > L, scp_importance then squares each of the L VJPs at
    # once (Algorithm 1's cost, no per-slice gradient sums); a digit's graph is ~0.2 GB for the paper's network
    cons = Consolidation(cfg["method"], lam=cfg["lam"], alpha=cfg["alpha"], n_slices=cfg["n_slices"],
                         seed=cfg["seed"], layer=layer, batch_size=max(len(t.x_train) for t in tasks))
    probe = torch.stack([t.x_test[0] for t in tasks])
    snaps = []

    def snapshot(t, model, hist):
        if cfg.get("snapshots"):
            with torch.no_grad():
                model.eval()
                snaps.append((model(probe) * 255).round().to(torch.uint8).cpu().tolist())
                model.train()

    hist = train_sequence(model, tasks, consolidation=cons, epochs=cfg["epochs"], lr=cfg["lr"],
                          batch_size=cfg["batch_size"], objective="reconstruction",
                          optimizer_reset=cfg["optimizer_reset"], seed=cfg["seed"], progress=progress, config=cfg,
                          on_epoch=on_epoch, on_task_end=snapshot)
    if snaps:
        hist.extras["snapshots"] = snaps
        hist.extras["inputs"] = (probe * 255).round().to(torch.uint8).cpu().tolist()
    return hist


def config_key(cfg: dict) -> str:
    """Hash of the config and the package version (16 hex digits)."""
    text = json.dumps({"config": cfg, "version": __version__}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


_TASK_CACHE: dict = {}


def _tasks_for(cfg, device):
    key = (cfg["dataset"], cfg["n_tasks"], cfg["seed"], cfg["n_train"], cfg["n_val"], cfg["n_test"], str(device))
    if key not in _TASK_CACHE:
        if len(_TASK_CACHE) > 4:
            _TASK_CACHE.clear()
        ds = load_dataset(cfg["dataset"], device=device)
        _TASK_CACHE[key] = permuted_mnist_tasks(ds, n_tasks=cfg["n_tasks"], seed=cfg["seed"],
                                                n_train=cfg["n_train"], n_test=cfg["n_test"], n_val=cfg["n_val"],
                                                subset_seed=0)
    return _TASK_CACHE[key]


def run_permuted_mnist(cfg: dict, device=None, progress=False, on_epoch=None) -> History:
    """Train the MLP on the permuted-MNIST stream described by ``cfg`` (no cache)."""
    device = get_device() if device is None else torch.device(device)
    tasks = _tasks_for(cfg, device)
    model = MLP(in_features=tasks[0].x_train.shape[1], hidden=cfg["hidden"], n_classes=10,
                seed=cfg["seed"]).to(device)
    cons = Consolidation(cfg["method"], lam=cfg["lam"], alpha=cfg["alpha"], n_slices=cfg["n_slices"],
                         seed=cfg["seed"])
    return train_sequence(model, tasks, consolidation=cons, epochs=cfg["epochs"], lr=cfg["lr"],
                          batch_size=cfg["batch_size"], optimizer_reset=cfg["optimizer_reset"], seed=cfg["seed"],
                          progress=progress, config=cfg, on_epoch=on_epoch)


def _read_entry(path: Path, cfg: dict):
    """The cached History, or None (with a CacheWarning) if the entry is unusable."""
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


def _write_entry(path: Path, cfg: dict, hist: History):
    path.parent.mkdir(parents=True, exist_ok=True)
    entry = {"key": path.stem, "version": __version__, "config": cfg, "complete": True, "history": hist.to_dict()}
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".json")
    with os.fdopen(fd, "w") as f:
        json.dump(entry, f, default=str)
    os.replace(tmp, path)


RUNNERS = {"permuted_mnist": run_permuted_mnist, "autoencoders": run_autoencoders}


def cached_run(cfg: dict, cache_dir=None, device=None, progress=False, runner=None) -> History:
    """``runner(cfg)`` through the cache in ``cache_dir`` (no cache when None); the runner by default
    follows ``cfg["experiment"]`` (:data:`RUNNERS`)."""
    if runner is None:
        runner = RUNNERS[cfg.get("experiment", "permuted_mnist")]
    if cache_dir is None:
        return runner(cfg, device=device, progress=progress)
    path = Path(cache_dir) / f"{config_key(cfg)}.json"
    if path.exists():
        hist = _read_entry(path, cfg)
        if hist is not None:
            return hist
    hist = runner(cfg, device=device, progress=progress)
    _write_entry(path, cfg, hist)
    return hist


def sweep(methods=("none", "ewc", "mas", "scp"), lams=(1.0,), seeds=(0,), n_slices=None, cache_dir=None,
          quick=None, device=None, progress=True, lams_per_method=None, experiment="permuted_mnist",
          **overrides) -> list:
    """Run (or read from the cache) the grid methods × λ × L × seeds.

    ``"none"`` runs once per seed (λ is meaningless for it). ``lams_per_method``
    (``{method: [λ, ...]}``) overrides ``lams`` per method. Returns a list of
    ``(config, History)``.
    """
    from tqdm.auto import tqdm

    n_slices = [None] if n_slices is None else list(n_slices)
    grid = []
    for method in methods:
        m_lams = [0.0] if method == "none" else list((lams_per_method or {}).get(method, lams))
        m_slices = n_slices if method == "scp" else [None]
        for lam, L, seed in itertools.product(m_lams, m_slices, seeds):
            extra = dict(overrides)
            if L is not None:
                extra["n_slices"] = int(L)
            make = autoencoder_config if experiment == "autoencoders" else permuted_mnist_config
            grid.append(make(method, lam, seed, quick=quick, **extra))
    out = []
    for cfg in tqdm(grid, desc="sweep", disable=not progress):
        out.append((cfg, cached_run(cfg, cache_dir, device=device)))
    return out


def load_results(cache_dir) -> list:
    """All complete, readable entries of a cache dir as ``(config, History)`` (others are skipped with a warning)."""
    out = []
    for path in sorted(Path(cache_dir).glob("*.json")):
        try:
            with open(path) as f:
                entry = json.load(f)
            if not entry.get("complete"):
                raise ValueError("incomplete")
            out.append((entry["config"], History.from_dict(entry["history"])))
        except Exception as exc:
            warnings.warn(f"skipping unusable cache entry {path} ({exc})", CacheWarning, stacklevel=2)
    return out


def _group(results, keys=("method", "lam", "n_slices")):
    groups = {}
    for cfg, hist in results:
        k = tuple(cfg[key] if not (key == "n_slices" and cfg["method"] != "scp") else None for key in keys)
        groups.setdefault(k, []).append((cfg, hist))
    return groups


def choose_lambda(results, split="val") -> dict:
    """Per method, the (λ, L) with the best mean final average metric on ``split`` (validation!).

    "Best" is the highest accuracy, or the lowest error for lower-is-better metrics.

    Returns ``{method: {"lam": λ, "n_slices": L, "score": mean, "scores": {λ: mean}}}``.
    """
    if split == "test":
        warnings.warn("choosing λ on the test split leaks test information; use split='val'.", stacklevel=2)
    best = {}
    for (method, lam, L), runs in _group(results).items():
        score = float(np.mean([h.final_average_accuracy(split) for _, h in runs]))
        sign = 1.0 if runs[0][1].higher_is_better else -1.0  # e.g. an ℓ1 error: lower is better
        b = best.setdefault(method, {"lam": None, "n_slices": None, "score": -np.inf * sign, "scores": {}})
        b["scores"][lam] = score
        if sign * score > sign * b["score"]:
            b.update(lam=lam, n_slices=L, score=score)
    return best


def summarize(results, chosen=None, split="test") -> list:
    """Rows (method, λ, L, n_seeds, mean, sd, per-task curve mean) of the final average accuracy.

    With ``chosen`` (from :func:`choose_lambda`) only the chosen λ per method is reported.
    """
    rows = []
    for (method, lam, L), runs in _group(results).items():
        if chosen is not None and (chosen[method]["lam"] != lam or chosen[method]["n_slices"] != L):
            continue
        finals = np.array([h.final_average_accuracy(split) for _, h in runs])
        curves = np.array([h.average_accuracy(split) for _, h in runs])
        rows.append(dict(method=method, lam=lam, n_slices=L, n_seeds=len(runs), mean=float(finals.mean()),
                         sd=float(finals.std(ddof=1)) if len(finals) > 1 else 0.0,
                         curve_mean=curves.mean(0).tolist(),
                         curve_sd=(curves.std(0, ddof=1) if len(finals) > 1 else 0 * curves[0]).tolist(),
                         seeds=sorted(c["seed"] for c, _ in runs)))
    order = {"none": 0, "ewc": 1, "mas": 2, "scp": 3}
    return sorted(rows, key=lambda r: (order.get(r["method"], 9), r["lam"]))


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


def export_results(results, path, command=None, compact=None) -> Path:
    """Write ``(config, History)`` pairs to one JSON file (what the repository ships for notebooks 06, 07).

    ``compact``: optional ``callable(config) -> bool | None``; True/False = :func:`compact_history` keeping /
    dropping snapshots, None = the full History.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)

    def shrink(c, h):
        keep = None if compact is None else compact(c)
        return h if keep is None else compact_history(h, keep_snapshots=bool(keep))

    doc = {"version": __version__, "command": command,
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
        return [(r["config"], History.from_dict(r["history"])) for r in doc["runs"]], doc.get("command")
    except (OSError, EOFError, ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"cannot read results file {path}: {exc}") from None


def shipped_results(name="permuted_mnist_cpu") -> tuple:
    """The precomputed grid shipped with the package (``scpviz/results/<name>.json``)."""
    folder = Path(__file__).parent / "results"
    for path in (folder / f"{name}.json", folder / f"{name}.json.gz"):
        if path.exists():
            return load_exported(path)
    known = sorted(p.name.split(".")[0] for p in folder.glob("*.json*"))
    raise FileNotFoundError(f"no shipped results named {name!r} in {folder}; shipped: {known}.")


def format_table(rows, chosen=None, percent=True) -> str:
    """A plain-text table of :func:`summarize` rows (mean ± sd; in % when ``percent``), with the validation score."""
    f = 100.0 if percent else 1.0
    u = " %" if percent else ""
    lines = ["method | λ | L | seeds | final average test metric (mean ± sd) | validation score",
             "---|---|---|---|---|---"]
    for r in rows:
        val = "" if chosen is None else f"{f * chosen[r['method']]['score']:.{1 if percent else 2}f}{u}"
        lines.append(f"{r['method']} | {r['lam']:g} | {r['n_slices'] if r['n_slices'] else '-'} | {r['n_seeds']} | "
                     f"{f * r['mean']:.{1 if percent else 2}f} ± {f * r['sd']:.{1 if percent else 2}f}{u} | {val}")
    return "\n".join(lines)


def importances_after_first_task(cfg: dict, device=None) -> dict:
    """Train the run's MLP on its first task and return ``{"ewc": F, "mas": Ω, "scp": Γ}`` (Figure 3b).

    All three are computed on the task's training images, SCP with the config's L.
    """
    from .continual import train_task
    from .importance import fisher_importance, mas_importance, scp_importance

    device = get_device() if device is None else torch.device(device)
    task = _tasks_for(cfg, device)[0]
    model = MLP(in_features=task.x_train.shape[1], hidden=cfg["hidden"], n_classes=10, seed=cfg["seed"]).to(device)
    train_task(model, task, epochs=cfg["epochs"], lr=cfg["lr"], batch_size=cfg["batch_size"], seed=cfg["seed"],
               progress=False)
    return {"ewc": fisher_importance(model, task.x_train),
            "mas": mas_importance(model, task.x_train),
            "scp": scp_importance(model, task.x_train, n_slices=cfg["n_slices"], seed=cfg["seed"])}
