"""Timing and memory helpers shared by the benchmark scripts."""

from __future__ import annotations

import resource
import statistics
import time


def interleaved(fns, repeat=5, warmup=None):
    """Median wall times of several functions, timed round-robin in one process so that machine drift hits
    every side alike.

    Parameters
    ----------
    fns : dict[str, callable]
    repeat : int
        Timed calls of each function (the median is reported).
    warmup : dict[str, callable], optional
        What to call once before timing (default: each function itself). A cheaper warm-up (same code on less
        data) keeps very slow baselines affordable.

    Returns
    -------
    (dict[str, float], dict[str, object])
        Median seconds and the last result of each function.
    """
    for name, fn in fns.items():
        (warmup or {}).get(name, fn)()
    times = {name: [] for name in fns}
    out = {}
    for _ in range(repeat):
        for name, fn in fns.items():
            t = time.perf_counter()
            out[name] = fn()
            times[name].append(time.perf_counter() - t)
    return {name: statistics.median(v) for name, v in times.items()}, out


def peak_rss_mb():
    """Peak resident set size of this process so far, in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def peak_mib(fn, device):
    """Peak device memory above what was allocated before ``fn`` (MiB); NaN off CUDA."""
    import torch

    if torch.device(device).type != "cuda":
        return float("nan")
    torch.cuda.synchronize()
    torch.cuda.empty_cache()
    torch.cuda.reset_peak_memory_stats()
    base = torch.cuda.memory_allocated()
    fn()
    torch.cuda.synchronize()
    return (torch.cuda.max_memory_allocated() - base) / 2 ** 20


def max_rel_diff(a, b):
    """max over parameters of max|a − b| / max|b| (relative to each parameter's scale)."""
    return max(((a[k] - b[k]).abs().max() / b[k].abs().max().clamp_min(1e-30)).item() for k in b)


def table(rows, header):
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    fmt = " | ".join("{:<%d}" % w for w in widths)
    lines = [fmt.format(*header), "-|-".join("-" * w for w in widths)]
    lines += [fmt.format(*map(str, r)) for r in rows]
    return "\n".join(lines)
