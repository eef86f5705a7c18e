"""RESULTS.md is the shipped result files, generated: it equals the regenerated report, every file is in it, every
grid's λ choice is inside its grid or the file says why, and every command is runnable as written."""
import gzip
import json
from pathlib import Path

import pytest

from scpviz import cli, sweeps
from scpviz.viz import results_report, tables

ROOT = Path(__file__).resolve().parents[2]


def test_results_md_and_the_readme_summary_are_regenerated():
    assert (ROOT / "RESULTS.md").read_text(encoding="utf-8") == results_report.build_results_report(), \
        "RESULTS.md is stale: run `python -m scpviz results`"
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert readme == results_report.with_summary(readme), "README's summary is stale: run `python -m scpviz results`"
    with pytest.raises(ValueError, match="results-summary"):
        results_report.with_summary("no markers here")


def test_every_shipped_file_has_a_section():
    files = {p.name.split(".json")[0] for p in results_report.results_folder().glob("*.json*")}
    assert files == {name for name, _, _ in results_report.SHIPPED}


@pytest.mark.parametrize("name", [n for n, _, status in results_report.SHIPPED if status.startswith("current")])
def test_current_grids_choose_lambda_inside_or_say_why(name):
    assert results_report.unjustified_edges(name) == []


def test_edges_are_read_from_the_grid():
    """Independent of the report: the λ each method tried, from the configs, against what validation chose."""
    runs, _ = sweeps.shipped_results("mnist_svhn_cpu_bn")
    chosen = sweeps.choose_lambda(runs, split="val")
    edges = results_report.lambda_edges(runs, chosen)
    for m, e in edges.items():
        tried = sorted({c["lam"] for c, _ in runs if c["method"] == m})
        want = "bottom" if chosen[m]["lam"] == min(tried) else "top" if chosen[m]["lam"] == max(tried) else "interior"
        assert e == want
    assert "none" not in edges and set(edges) == {"ewc", "mas", "scp"}


@pytest.mark.parametrize("name", [n for n, _, _ in results_report.SHIPPED])
def test_commands_are_runnable_as_written(name):
    """No machine's absolute paths or placeholders; a sweep command stands for exactly the file's configs."""
    path = next(p for p in results_report.results_folder().glob(f"{name}.json*") if p.name.split(".json")[0] == name)
    doc = json.load((gzip.open if path.suffix == ".gz" else open)(path, "rt"))
    command = doc["command"]
    assert "/work" not in command and "CACHE" not in command and "/tmp" not in command
    if command.startswith("python -m scpviz sweep"):
        runs, _ = sweeps.shipped_results(name)
        want = sorted(repr(sorted(c.items())) for c, _ in runs)
        got = sorted(repr(sorted({k: list(v) if isinstance(v, tuple) else v for k, v in c.items()}.items()))
                     for c in cli.sweep_configs(command.split("python -m scpviz ")[1].split()))
        assert got == want


def test_the_command_writes_and_checks(tmp_path, capsys):
    out, readme = tmp_path / "R.md", tmp_path / "README.md"
    out.write_text("stale\n")
    readme.write_text("# Title\n<!-- results-summary -->\nold\n<!-- /results-summary -->\nafter\n")
    argv = ["results", "--out", str(out), "--readme", str(readme)]
    assert cli.main(argv + ["--check"]) == 1
    assert "differ" in capsys.readouterr().out
    assert cli.main(argv) == 0
    assert cli.main(argv + ["--check"]) == 0
    assert out.read_text(encoding="utf-8") == results_report.build_results_report()
    text = readme.read_text(encoding="utf-8")
    assert text.startswith("# Title\n") and text.endswith("after\n") and "old" not in text
    assert results_report.build_results_summary() in text


def test_paired_table_says_better_or_worse_for_an_error():
    r = {"n": 3, "mean_diff": 2.0, "ci": (1.0, 3.0), "p": 0.01, "level": 0.95, "conclusive": True}
    low = dict(r, mean_diff=-2.0, ci=(-3.0, -1.0))
    text = tables.format_paired_table({("scp", "none"): r, ("mas", "none"): low}, unit_scale=1.0, unit="ℓ1",
                                      higher_is_better=False)
    assert "scp > none (worse)" in text and "mas < none (better)" in text
    assert "(worse)" not in tables.format_paired_table({("scp", "none"): r})


@pytest.mark.parametrize("name", [n for n, _, status in results_report.SHIPPED if status.startswith("current")])
def test_an_edge_excused_as_no_different_from_none_is_so(name):
    """A file may excuse a λ at its grid's end by "cannot be told from no consolidation": then the paired interval
    of that method against none, at the chosen λ, holds 0."""
    path = next(p for p in results_report.results_folder().glob(f"{name}.json*") if p.name.split(".json")[0] == name)
    notes = json.load((gzip.open if path.suffix == ".gz" else open)(path, "rt")).get("lambda_edges", {})
    excused = [m for m, note in notes.items() if "cannot be told from no consolidation" in note]
    if not excused:
        return
    runs, _ = sweeps.shipped_results(name)
    if name.startswith("figure4"):     # a grid per variant: every variant whose choice is an end of its grid
        from scpviz.studies import figure4

        rows = figure4.study_rows(runs)
        for r in figure4.chosen_rows(rows):
            tried = sorted(x["lam"] for x in rows if (x["variant"], x["method"]) == (r["variant"], r["method"]))
            if r["method"] in excused and r["lam"] in (tried[0], tried[-1]):
                lo, hi = r["vs_none"]["ci"]                 # paired with none's run of the same order
                assert lo < 0 < hi, (r["variant"], r["method"], lo, hi)
        return
    chosen = sweeps.choose_lambda(runs, split="val")
    for m in excused:
        lo, hi = sweeps.paired_difference(runs, chosen, m, "none")["ci"]
        assert lo < 0 < hi, (m, lo, hi)
