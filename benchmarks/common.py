"""Timing and memory helpers shared by the benchmark scripts."""

from __future__ import annotations

import resource
import time


def best_of(fn, repeat=3):
    """(best wall time in s, last result) over ``repeat`` calls."""
    best, out = float("inf"), None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def peak_rss_mb():
    """Peak resident set size of this process so far, in MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def max_rel_diff(a, b):
    """max over parameters of max|a − b| / max|b| (relative to each parameter's scale)."""
    return max(((a[k] - b[k]).abs().max() / b[k].abs().max().clamp_min(1e-30)).item() for k in b)


def table(rows, header):
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    fmt = " | ".join("{:<%d}" % w for w in widths)
    lines = [fmt.format(*header), "-|-".join("-" * w for w in widths)]
    lines += [fmt.format(*map(str, r)) for r in rows]
    return "\n".join(lines)
