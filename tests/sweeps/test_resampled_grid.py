"""The permuted-MNIST grid re-made with resampled data (each seed its own images) and λ inside each method's grid,
and the ten seeds at the chosen λ: their commands stand for their runs, every choice is interior, and RESULTS.md's
paired comparisons are these files' numbers."""
from pathlib import Path

import pytest

from scpviz import cli, sweeps
from scpviz.viz import tables

PAIRS = (("scp", "ewc"), ("scp", "mas"), ("ewc", "mas"), ("mas_abs", "mas"), ("scp", "mas_abs"), ("scp", "none"))


def _configs(command):
    return sorted(repr(sorted(c.items())) for c in cli.sweep_configs(command.split("python -m scpviz ")[1].split()))


@pytest.fixture(scope="module")
def grid():
    return sweeps.shipped_results("permuted_mnist_cpu_resampled")


@pytest.fixture(scope="module")
def ten():
    return sweeps.shipped_results("permuted_mnist_cpu_10seeds")


def test_the_grid_is_its_command_with_resampled_data_and_every_choice_interior(grid):
    runs, command = grid
    assert "/work" not in command and "--data-seed" not in command
    assert _configs(command) == sorted(repr(sorted(c.items())) for c, _ in runs)
    assert all(c["data_seed"] == c["seed"] for c, _ in runs) and {h.dataset for _, h in runs} == {"MNIST"}
    chosen = sweeps.choose_lambda(runs, split="val")
    for method, ch in chosen.items():
        if method == "none":
            continue
        tried = sorted({c["lam"] for c, _ in runs if c["method"] == method})
        assert tried[0] < ch["lam"] < tried[-1], (method, ch["lam"], tried)


def test_ten_seeds_at_the_grids_choice_and_results_md_quotes_them(grid, ten):
    runs, command = ten
    assert _configs(command) == sorted(repr(sorted(c.items())) for c, _ in runs)
    chosen = sweeps.choose_lambda(grid[0], split="val")
    assert {(c["method"], c["lam"]) for c, _ in runs} == {(m, ch["lam"]) for m, ch in chosen.items()}
    assert all(sorted(c["seed"] for c, _ in runs if c["method"] == m) == list(range(10)) for m in chosen)
    c10 = sweeps.choose_lambda(runs, split="val")
    pairs = {(a, b): sweeps.paired_difference(runs, c10, a, b) for a, b in PAIRS}
    results_md = (Path(__file__).resolve().parents[2] / "RESULTS.md").read_text(encoding="utf-8")
    for line in tables.format_paired_table(pairs).splitlines()[2:]:
        assert line in results_md, line
