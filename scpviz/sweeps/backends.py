"""Where the runs of a sweep execute: ``serial`` (this process), ``processes`` (a local pool), ``ray``
(Ray core tasks: this machine, or a cluster; with ``ensemble_size`` each task an ensemble) or ``ensemble`` (runs that
share a budget trained as one stacked model, :mod:`scpviz.ensemble`; a run whose experiment has no stacked form runs
alone, and the sweep says so).

Every backend goes through the same content-addressed cache (:mod:`scpviz.sweeps.cache`): the *driver* reads
the entries that exist, sends only the missing runs out, and writes each entry as soon as its run comes back —
so an interrupted sweep resumes in any backend, and a cluster's workers need no shared file system (only the
data under ``$SCPVIZ_DATA``). Each parallel run gets ``threads`` torch threads (default: the cores shared out
among the workers, so that they do not oversubscribe the CPU: workers whose threads add up to more than the cores
run slower together than one run alone). torch's float reductions depend on the thread count, so a run's numbers match ``serial``
exactly when both use the same ``threads`` (tested), and to float rounding otherwise.

``processes`` starts fresh interpreters (multiprocessing's *spawn*): from a script of your own, call it under
``if __name__ == "__main__":``, as with any spawn pool (the command line and notebooks need nothing).
"""

from __future__ import annotations

import concurrent.futures as cf
import dataclasses
import multiprocessing as mp
import os
import warnings

import torch
from tqdm.auto import tqdm

from ..training import History
from .cache import read_entry, write_entry

__all__ = ["BACKENDS", "SweepWarning", "run_configs", "execute", "execute_ensemble", "ensemble_groups"]

BACKENDS = ("serial", "processes", "ray", "ensemble")


class SweepWarning(UserWarning):
    """Some runs of a sweep failed (the others finished and are cached)."""


def execute(cfg: dict, device=None, threads: int | None = None) -> dict:
    """Run one config (no cache) with ``threads`` torch threads (None: as they are) and return its History as a
    plain dict — what a worker sends back. The process's thread count is restored afterwards."""
    from ..experiments import get

    before = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(int(threads))
    try:
        return get(cfg["experiment"]).run(cfg, device=device, progress=False).to_dict()
    finally:
        torch.set_num_threads(before)


def _check(backend, workers, threads):
    if backend not in BACKENDS:
        raise ValueError(f"backend={backend!r} must be one of {list(BACKENDS)}.")
    for name, v in (("workers", workers), ("threads", threads)):
        if v is not None and (isinstance(v, bool) or not isinstance(v, int) or v < 1):
            raise ValueError(f"{name}={v!r} must be a positive integer or None (the default shares out the cores).")


def ensemble_groups(cfgs, size) -> list:
    """Indices of ``cfgs`` grouped into ensembles: runs of one experiment that share every option but its
    :meth:`~scpviz.experiments.base.Experiment.ensemble_axes` (seed, data_seed, method, λ), at most ``size`` per
    group, in the order they come; a run that cannot be stacked is a group of its own (``(indices, reason)`` pairs,
    reason None for a stackable group)."""
    from ..experiments import get

    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise ValueError(f"ensemble_size={size!r} must be a positive integer (runs per stacked model).")
    groups, out = {}, []
    for i, c in enumerate(cfgs):
        why = get(c["experiment"]).ensemble_refusal(c)
        if why:
            out.append(([i], why))
            continue
        axes = get(c["experiment"]).ensemble_axes(c)
        key = repr(sorted((k, repr(v)) for k, v in dict(c).items() if k not in axes))
        groups.setdefault(key, []).append(i)
    for idx in groups.values():
        out += [(idx[j:j + size], None) for j in range(0, len(idx), size)]
    return out


def run_configs(cfgs, cache_dir=None, device=None, backend="serial", workers=None, progress=True,
                threads=None, ensemble_size=None) -> list:
    """The History of every config in ``cfgs`` (in order), from the cache or computed on ``backend``.

    Parameters
    ----------
    cfgs : list of dict
        Run configs (:meth:`scpviz.experiments.base.Experiment.config`).
    cache_dir : path, optional
        Content-addressed cache; every finished run is written there at once (resume after an interruption).
    device : str, optional
        Device of each run (``"cuda"`` makes every Ray task ask for one GPU).
    backend : {"serial", "processes", "ray", "ensemble"}
    workers : int, optional
        Parallel runs for ``processes`` (default: CPU cores) and the CPUs of a *local* Ray started here
        (ignored when Ray is already initialised or ``RAY_ADDRESS`` names a cluster).
    progress : bool
        A tqdm bar over runs.
    threads : int, optional
        torch threads per run. Default: ``serial`` keeps this process's setting; ``processes`` shares the CPU
        cores out among the workers (at least one each); a Ray task gets one (Ray's own default), and asks Ray for
        ``num_cpus=threads``.
    ensemble_size : int, optional
        ``ensemble``: runs per stacked model (memory grows about linearly with it). Default: as many as fit in 60 %
        of the device's free memory (:func:`scpviz.ensemble.ensemble_size`; the sweep says what it chose).
        ``ray``: given, each Ray task trains an ensemble of at most this many runs (one GPU with ``device="cuda"``);
        None, each task trains one run.

    Raises
    ------
    Exception
        When runs fail, the first failure — raised after every other run has finished and been cached, with a
        :class:`SweepWarning` listing all failed configs. An interrupt (Ctrl-C) stops at once; finished runs
        are cached.
    """
    _check(backend, workers, threads)
    cfgs = list(cfgs)
    hists = [read_entry(cache_dir, c) if cache_dir is not None else None for c in cfgs]
    todo = [i for i, h in enumerate(hists) if h is None]
    bar = tqdm(total=len(cfgs), initial=len(cfgs) - len(todo), disable=not progress,
               desc=f"sweep ({backend}): {len(cfgs) - len(todo)} cached, {len(todo)} to run")
    failures = []

    def finish(i, hist_dict=None, error=None):
        if error is not None:
            failures.append((i, error))
        else:
            hists[i] = History.from_dict(hist_dict)
            if cache_dir is not None:
                write_entry(cache_dir, cfgs[i], hists[i])
        bar.update(1)

    n_workers = min(len(todo), workers or os.cpu_count() or 1) if todo else 1
    if threads is None and backend == "processes":
        threads = max(1, (os.cpu_count() or 1) // n_workers)
    try:
        if backend == "serial" or not todo:
            for i in todo:
                try:
                    result = execute(cfgs[i], device, threads)
                except Exception as exc:
                    finish(i, error=exc)
                else:
                    finish(i, result)
        elif backend == "processes":
            _run_processes(cfgs, todo, device, threads, n_workers, finish)
        elif backend == "ensemble":
            _run_ensembles(cfgs, todo, device, threads, ensemble_size, finish, progress)
        else:
            _run_ray(cfgs, todo, device, threads, workers, finish, ensemble_size)
    finally:
        bar.close()
    if failures:
        lines = [f"{cfgs[i]['experiment']} {cfgs[i]['method']} λ={cfgs[i]['lam']:g} seed={cfgs[i]['seed']}: "
                 f"{type(e).__name__}: {e}" for i, e in failures]
        warnings.warn(f"{len(failures)} of {len(todo)} runs failed (the others are cached):\n  " + "\n  ".join(lines),
                      SweepWarning, stacklevel=2)
        raise failures[0][1]
    return hists


def _run_ensembles(cfgs, todo, device, threads, size, finish, progress):
    from ..experiments import get

    before = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(int(threads))
    try:
        if size is None:
            size = _auto_ensemble_size([cfgs[i] for i in todo], device, progress)
        for idx, why in ensemble_groups([cfgs[i] for i in todo], size):
            chosen = [todo[k] for k in idx]
            if why:
                if progress:
                    tqdm.write(f"ensemble: {cfgs[chosen[0]]['method']} λ={cfgs[chosen[0]]['lam']:g} runs alone: {why}")
                try:
                    finish(chosen[0], execute(cfgs[chosen[0]], device))
                except Exception as exc:
                    finish(chosen[0], error=exc)
                continue
            try:
                hists = get(cfgs[chosen[0]]["experiment"]).run_ensemble([cfgs[i] for i in chosen], device=device)
            except Exception as exc:
                for i in chosen:
                    finish(i, error=exc)
            else:
                for i, h in zip(chosen, hists):
                    finish(i, h.to_dict())
    finally:
        torch.set_num_threads(before)


def _auto_ensemble_size(cfgs, device, progress):
    """M from the free memory of ``device`` and the memory of the first stackable run (which it builds), said."""
    from ..config import get_device
    from ..ensemble import ensemble_size
    from ..experiments import get

    stackable = [c for c in cfgs if get(c["experiment"]).ensemble_refusal(c) is None]
    if not stackable:
        return 1
    device = get_device(None if device is None else str(device))
    run = get(stackable[0]["experiment"]).ensemble_run(stackable[0], device)
    if any(c["method"] == "scp" for c in stackable):   # SCP's importance keeps the most per run: size for it
        run = dataclasses.replace(run, method="scp")
    size, why = ensemble_size(run, len(stackable), device, n_slices=max(int(c["n_slices"]) for c in stackable))
    if progress:
        tqdm.write(why)
    return size


def _run_processes(cfgs, todo, device, threads, n, finish):
    # spawn: a fresh interpreter per worker (fork after torch has started threads can deadlock)
    with cf.ProcessPoolExecutor(max_workers=n, mp_context=mp.get_context("spawn")) as pool:
        futures = {pool.submit(execute, cfgs[i], device, threads): i for i in todo}
        try:
            for fut in cf.as_completed(futures):
                exc = fut.exception()
                finish(futures[fut], None if exc else fut.result(), error=exc)
        except BaseException:  # an interrupt: drop what has not started; what finished is cached
            for fut in futures:
                fut.cancel()
            raise


def _connect_ray(workers):
    import ray

    if ray.is_initialized():
        return
    address = os.environ.get("RAY_ADDRESS")
    if not address:
        ray.init(num_cpus=workers or os.cpu_count(), include_dashboard=False, log_to_driver=False)
        return
    try:
        ray.init()  # the cluster RAY_ADDRESS names
    except ConnectionError as exc:
        raise ConnectionError(
            f"could not connect to the Ray cluster at RAY_ADDRESS={address!r}: {exc}. Check that its head runs "
            "(ray start --head) and that this machine reaches the address; a ray://HOST:10001 address needs the "
            "Ray Client (pip install 'scpviz[ray]' installs it), and a cluster with token authentication needs "
            "RAY_AUTH_MODE=token here and its token (ray get-auth-token on the head; RAY_AUTH_TOKEN or "
            "~/.ray/auth_token).") from exc


def execute_ensemble(cfgs, device=None, threads=None) -> list:
    """Train the runs of ``cfgs`` (one stackable group) as one ensemble with ``threads`` torch threads and return
    their Histories as plain dicts — what a Ray task sends back."""
    from ..experiments import get

    before = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(int(threads))
    try:
        return [h.to_dict() for h in get(cfgs[0]["experiment"]).run_ensemble(cfgs, device=device)]
    finally:
        torch.set_num_threads(before)


def _run_ray(cfgs, todo, device, threads, workers, finish, ensemble_size=None):
    try:
        import ray
    except ImportError:
        raise ImportError("backend='ray' needs Ray: pip install 'scpviz[ray]' (or pip install 'ray[default]').") \
            from None
    _connect_ray(workers)
    gpus = 1 if device is not None and str(device).startswith("cuda") else 0
    env = {k: os.environ[k] for k in ("SCPVIZ_DATA",) if os.environ.get(k)}  # where the tasks find the data
    threads = threads or 1
    options = dict(num_cpus=threads, num_gpus=gpus, max_retries=0, runtime_env={"env_vars": env} if env else None)
    # a task is one run, or with ensemble_size one stacked ensemble (on one GPU with --device cuda)
    groups = [([i], None) for i in range(len(todo))] if ensemble_size is None else \
        ensemble_groups([cfgs[i] for i in todo], ensemble_size)
    one, many = ray.remote(**options)(execute), ray.remote(**options)(execute_ensemble)
    refs = {}
    for idx, why in groups:
        chosen = [todo[k] for k in idx]
        if ensemble_size is None or why:
            refs[one.remote(cfgs[chosen[0]], device, threads)] = chosen
        else:
            refs[many.remote([cfgs[i] for i in chosen], device, threads)] = chosen
    pending = list(refs)
    try:
        while pending:
            ready, pending = ray.wait(pending, num_returns=1)
            chosen = refs[ready[0]]
            try:
                result = ray.get(ready[0])
            except ray.exceptions.RayTaskError as exc:  # the run's own exception, re-raised as its type
                for i in chosen:
                    finish(i, error=exc.as_instanceof_cause())
            else:
                for i, r in zip(chosen, result if isinstance(result, list) else [result]):
                    finish(i, r)
    except BaseException:  # an interrupt
        for ref in pending:
            ray.cancel(ref, force=True)
        raise
