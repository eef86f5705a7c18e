"""How many runs fit in one stacked model: the memory one run adds to an ensemble, and the device's free memory.

A run of an ensemble holds, beyond its share of the stacked network:

* its tasks (every split, as the experiment made them; lazy permuted tasks share one copy of the images) and the
  stacked copies the trainer makes — up to three of a task's training inputs (the stack's, the next task's while it
  is made, the importances'), the held-out inputs of every task (of lazy tasks: once) and, for lazy tasks, the
  unpermuted training images;
* eight copies of its parameters: the weights, their gradient, Adam's two moments, the importance and θ*, the new
  importance and the importances' detached copy of the weights;
* the layer outputs of an evaluation batch (two numbers per unit and input);
* for SCP's importance, V = min(K, L) copies of its weights or its network's layer outputs, activations and their
  derivatives on a task's training inputs (three numbers per unit and sample), whichever is less (as
  :func:`~scpviz.ensemble.stacked_importance` chooses).

The whole stack adds :data:`FIXED` bytes and twice ``max_memory`` (the importances' chunks: autograd's graph and
gradients for EWC and MAS, two δ tensors for SCP). :func:`ensemble_size` divides a fraction of the free memory by
the sum. The estimate is checked against the measured peak memory of CPU ensembles (tests/ensemble/test_memory.py:
never below it, at most 2.5 times it).
"""

from __future__ import annotations

import os

import torch

__all__ = ["run_bytes", "free_bytes", "ensemble_size", "stack_overhead", "FIXED"]

#: bytes an ensemble takes whatever its size: the framework's kernels and buffers, first touched when training
FIXED = 256 * 2 ** 20


def _nbytes(t) -> int:
    return 0 if t is None else t.numel() * t.element_size()


def run_bytes(run, *, eval_batch_size: int = 2000, n_slices: int = 100, dtype=None) -> int:
    """Bytes one run adds to an ensemble (see the module's text for what is counted).

    Parameters
    ----------
    run : scpviz.ensemble.EnsembleRun
        A run of the budget (its model and tasks, as the experiment makes them).
    eval_batch_size : int
        Inputs per run and forward pass when scoring (:func:`~scpviz.ensemble.train_ensemble`'s).
    n_slices : int
        SCP's L (its V = min(K, L) vectors set what its importance keeps).
    dtype : torch.dtype, optional
        The stack's dtype (default: the model's); the inputs are stacked in it.

    Examples
    --------
    >>> from scpviz.datasets import Task
    >>> from scpviz.ensemble import EnsembleRun
    >>> from scpviz.models import MLP
    >>> task = Task("t", torch.zeros(100, 4), torch.zeros(100, dtype=torch.long), torch.zeros(10, 4),
    ...             torch.zeros(10, dtype=torch.long), "toy")
    >>> run_bytes(EnsembleRun(MLP(4, (8,), 3), [task], seed=0)) > 0
    True
    """
    params = list(run.model.parameters())
    dtype = dtype or params[0].dtype
    size = torch.empty((), dtype=dtype).element_size()
    unique = lambda ts: list({id(v): v for v in ts if v is not None}.values())   # noqa: E731  lazy tasks share
    tasks = sum(_nbytes(v) for v in unique(getattr(t, f"{k}_{split}") for t in run.tasks for k in ("x", "y")
                                           for split in ("train", "val", "test")))
    inputs = lambda v: v[0].numel() * len(v) * size   # noqa: E731  stacked in the stack's dtype
    n_train = max(len(t.x_train) for t in run.tasks)
    lazy = run.tasks[0].meta.get("lazy_permutation") is not None
    stacked = (3 * max(inputs(t.x_train) for t in run.tasks)
               + sum(inputs(v) for v in unique(getattr(t, f"x_{s}") for t in run.tasks for s in ("val", "test")))
               + (sum(inputs(v) for v in unique(t.x_train for t in run.tasks)) if lazy else 0))
    weights = sum(p.numel() for p in params) * size
    units = sum(m.out_features for m in run.model.modules() if isinstance(m, torch.nn.Linear))
    outputs = [m.out_features for m in run.model.modules() if isinstance(m, torch.nn.Linear)][-1]
    n_weights = sum(p.numel() for p in params)
    # SCP keeps V copies of the weights or every layer's outputs on the task, whichever is less (stacked_importance)
    scp = min(min(outputs, n_slices) * n_weights, 3 * n_train * units) * size if run.method == "scp" else 0
    return tasks + stacked + 8 * weights + 2 * eval_batch_size * units * size + scp


def stack_overhead(max_memory: int = 2 ** 30) -> int:
    """Bytes an ensemble takes beyond its runs': :data:`FIXED` and twice the importances' ``max_memory``."""
    return FIXED + 2 * max_memory


def free_bytes(device) -> int:
    """Free memory of ``device``: CUDA's free global memory, or the machine's available memory for the CPU."""
    device = torch.device(device)
    if device.type == "cuda":
        return int(torch.cuda.mem_get_info(device)[0])
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        import psutil
        return int(psutil.virtual_memory().available)
    except ImportError:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")


def ensemble_size(run, n_runs: int, device, *, fraction: float = 0.6, max_memory: int = 2 ** 30,
                  free: int | None = None, n_slices: int = 100) -> tuple:
    """How many runs like ``run`` to stack: ``(M, message)``, M between 1 and ``n_runs``.

    Parameters
    ----------
    run : scpviz.ensemble.EnsembleRun
        One run of the grid (every run of a budget takes about the same memory).
    n_runs : int
        Runs to train in all (M is no larger).
    device : torch.device or str
    fraction : float
        Of the free memory, the share the ensemble may take (the rest: the estimate's slack, other processes).
    max_memory : int
        The importances' working memory; :func:`stack_overhead` is taken off first.
    free : int, optional
        Free bytes (default: :func:`free_bytes` of ``device``).
    n_slices : int
        SCP's L (:func:`run_bytes`).

    Returns
    -------
    (int, str)
        M, and a sentence saying what was chosen and why.

    Examples
    --------
    >>> from scpviz.datasets import Task
    >>> from scpviz.ensemble import EnsembleRun
    >>> from scpviz.models import MLP
    >>> task = Task("t", torch.zeros(100, 4), torch.zeros(100, dtype=torch.long), torch.zeros(10, 4),
    ...             torch.zeros(10, dtype=torch.long), "toy")
    >>> ensemble_size(EnsembleRun(MLP(4, (8,), 3), [task], seed=0), 400, "cpu", free=2 ** 33)[0]
    400
    """
    if not 0 < fraction <= 1:
        raise ValueError(f"fraction={fraction!r} must be in (0, 1]: the share of the free memory to use.")
    if isinstance(n_runs, bool) or not isinstance(n_runs, int) or n_runs < 1:
        raise ValueError(f"n_runs={n_runs!r} must be a positive integer.")
    per_run = run_bytes(run, n_slices=n_slices)
    free = free_bytes(device) if free is None else int(free)
    fits = int((fraction * free - stack_overhead(max_memory)) // per_run)
    M = max(1, min(n_runs, fits))
    gib = 2 ** 30
    why = (f"ensemble: {M} runs per stacked model ({per_run / gib:.2f} GiB a run; {free / gib:.1f} GiB free on "
           f"{torch.device(device).type}, {fraction:.0%} of it used")
    if fits < 1:
        why += "; not even one run fits the estimate: running them one at a time, which may run out of memory"
    return M, why + ")"
