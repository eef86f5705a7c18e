"""Checker of choosing λ honestly (assignment 04): on the **validation** split, over the seeds of a grid, in
the direction of the metric (highest accuracy, lowest error).

The grids are the shipped results of three experiments (:func:`scpviz.sweeps.shipped_results`), per seed and
pooled, on which choosing on validation and on test differ for some method.
"""

from __future__ import annotations

import math

import numpy as np

from .common import _call

__all__ = ["check_choose_on_validation"]


def _choice_cases():
    """Grids on which choosing λ on validation and on test differ for some method: three experiments, per seed
    (one seed's runs) and pooled, one of them with an error metric (lower is better)."""
    from ...sweeps import shipped_results

    cases = []
    for name in ("permuted_mnist_cpu", "cifar100_superclasses_cpu", "synthia_segmentation_cpu", "autoencoders_h100"):
        grid = [(c, h) for c, h in shipped_results(name)[0] if c.get("layer", "output") == "output"]
        cases.append((name, grid))
        for s in sorted({c["seed"] for c, _ in grid}):
            cases.append((f"{name}, seed {s}", [(c, h) for c, h in grid if c["seed"] == s]))
    return cases


def check_choose_on_validation(fn):
    """``fn(grid, method) -> λ``: the λ of ``method`` whose runs in ``grid`` (a list of (config, History)) have
    the best mean final average metric on the **validation** split over their seeds — the highest for an accuracy,
    the lowest for an error (``History.higher_is_better``).

    Examples
    --------
    >>> from scpviz import sweeps
    >>> check_choose_on_validation(lambda grid, m: sweeps.choose_lambda(grid, split="val")[m]["lam"])
    True
    """
    from ...sweeps import choose_lambda

    def pick(grid, method, split, direction=True):
        lams = sorted({c["lam"] for c, _ in grid if c["method"] == method})
        score = [np.mean([h.final_average_metric(split) for c, h in grid if c["method"] == method and c["lam"] == l])
                 for l in lams]
        sign = 1.0 if (grid[0][1].higher_is_better or not direction) else -1.0
        return lams[int(np.argmax(sign * np.array(score)))]

    for name, grid in _choice_cases():
        chosen = choose_lambda(grid, split="val")
        for method in sorted(m for m in chosen if m != "none"):
            what = f"{method} on {name}"
            got = _call(fn, what, list(grid), method)
            want = chosen[method]["lam"]
            if got is not None and math.isclose(float(got), want, rel_tol=1e-12):
                continue
            bugs = [
                ("you chose on the *test* split: that is the exam itself; choose on validation",
                 lambda: pick(grid, method, "test")),
                ("the metric here is an error (lower is better: History.higher_is_better is False); pick the lowest",
                 lambda: pick(grid, method, "val", direction=False)),
            ]
            for hint_, wrong in bugs:
                if got is not None and math.isclose(float(got), wrong(), rel_tol=1e-12):
                    raise AssertionError(f"{what}: {hint_}")
            raise AssertionError(f"{what}: got λ = {got}, expected λ = {want:g} (best mean final average on "
                                 f"validation over the seeds in the grid)")
    return True
