"""The Figure 4 study: its grid, its rows and tables on hand-made histories, the shipped file and its command."""
import numpy as np
import pytest

from scpviz.training import History


def test_figure4_study_grid_and_tables():
    from scpviz.studies import figure4 as st

    cfgs = st.study_configs(["paper", "replay_10"])
    by = {}
    for c in cfgs:
        by.setdefault((st.variant_of(c), c["method"]), set()).add(c["lam"])
    assert by[("paper", "mas")] == set(st.STUDY_LAMS["mas"]) and by[("paper", "none")] == {0.0}
    assert by[("replay_10", "scp")] == set(st.REMEDY_LAMS["replay_10"]["scp"])
    assert {tuple(sorted(c["order"])) for c in cfgs} == {(0, 2, 4, 7, 9)}
    assert len({tuple(c["order"]) for c in cfgs}) == len(st.STUDY_SEEDS)     # one digit order per seed
    assert all(st.variant_of(c) == name for name in st.VARIANTS for c in st.study_configs([name])[:3])
    with pytest.raises(ValueError, match="variants"):
        st.study_configs(["nope"])

    def fake(cfg, diag, final):     # a two-digit History: R = [[diag0, -], [final0, diag1]]
        pts = [{"task": 0, "epoch": 1, "test": [diag[0], None], "val": [diag[0], None]},
               {"task": 1, "epoch": 1, "test": [final, diag[1]], "val": [final, diag[1]]}]
        return cfg, History(config={}, dataset="fake", task_names=["a", "b"], points=pts, higher_is_better=False,
                            metric_name="mean ℓ1")
    paper = [c for c in cfgs if st.variant_of(c) == "paper"]
    none = [c for c in paper if c["method"] == "none"]
    mas = [c for c in paper if c["method"] == "mas" and c["lam"] == 10.0]
    results = [fake(c, (30.0, 34.0 + s), 50.0 + 2 * s) for s, c in enumerate(none)] + \
              [fake(c, (30.0, 44.0), 40.0) for c in mas]
    rows = st.study_rows(results)
    r_none, r_mas = rows
    assert r_none["forgetting"]["values"] == pytest.approx([20.0, 22.0, 24.0])
    assert r_none["learning"]["mean"] == pytest.approx(np.mean([32.0, 32.5, 33.0]))
    assert r_none["final"]["mean"] == pytest.approx(np.mean([(50 + 34) / 2, (52 + 35) / 2, (54 + 36) / 2]))
    assert r_mas["forgetting"]["mean"] == pytest.approx(10.0) and r_mas["forgetting"]["sd"] == 0.0
    d = st.paired_between(r_mas, r_none)
    assert d["values"] == pytest.approx([0.0, -1.5, -3.0]) and d["wins"] == 2
    chosen = st.chosen_rows(rows)       # each method's only λ here
    from scpviz.viz.tables import format_study_table

    table = format_study_table(rows, chosen)
    # paired with none's run of the same order: 42 − (42, 43.5, 45)
    assert r_mas["vs_none"]["values"] == pytest.approx([0.0, -1.5, -3.0]) and r_mas["wins"] == 2
    assert "paper | mas | 10 | 42.00 ± 0.00 | -1.50 ± 1.50 (2/3) | 10.00 ± 0.00 | 37.00 ± 0.00 | ✓" in table


def test_shipped_figure4_study_is_the_whole_grid_on_mnist():
    from scpviz import sweeps
    from scpviz.studies import figure4 as st
    from scpviz.sweeps.cache import config_key

    runs, command = sweeps.shipped_results("figure4_cpu_study_v04")
    assert command.startswith("python -m scpviz study figure4") and "--reset-test" in command
    from scpviz import cli     # the stored command stands for exactly these runs

    args = cli.build_parser().parse_args(command.split("python -m scpviz ")[1].split())
    assert {config_key(c) for c in cli.study_configs(args)} == {config_key(c) for c, _ in runs}
    assert {c["data_seed"] for c, _ in runs} == set(st.STUDY_SEEDS)           # each order its own images
    assert all(c["data_seed"] == c["seed"] for c, _ in runs)
    want = {config_key(c) for c in st.study_configs() + st.reset_configs()}
    assert {config_key(c) for c, _ in runs} == want          # every run of the grid, nothing else
    assert {h.dataset for _, h in runs} == {"MNIST"}
    assert all(len(h.final_matrix()) == 5 for _, h in runs)
    rows = st.study_rows(runs)
    assert {(r["variant"], r["method"]) for r in rows} == {(v, m) for v in {**st.VARIANTS, **st.REMEDIES}
                                                           for m in ("none", "mas", "scp")}
    assert all(r["seeds"] == list(st.STUDY_SEEDS) for r in rows)
    resets = st.reset_rows(runs)
    assert {(r["method"], r["lam"]) for r in resets} == {(m, lam) for m, ls in st.RESET_LAMS.items() for lam in ls}



def test_figure3b_shapes_over_seeds_and_the_verdict(tmp_path, capsys):
    from scpviz.studies import figure3b

    r = figure3b.importance_shapes(seeds=(0, 1), mode="quick", data_root=tmp_path / "none", device="cpu")
    assert r["seeds"] == [0, 1] and r["dataset"].startswith("sklearn-digits") and len(r["kept"]) == 2
    assert set(r["pairs"]) == {"ewc-mas", "ewc-scp", "mas-scp"}
    for v in r["pairs"].values():
        assert all(-1 <= x <= 1 for x in v["spearman"]) and all(0 <= x <= 1 for x in v["ks"] + v["overlap"])
    path = figure3b.save_shapes(r, tmp_path / "f3b.json", command="python -m scpviz study figure3b")
    assert figure3b.load_shapes(path) == {**r, "version": figure3b.load_shapes(path)["version"],
                                          "command": "python -m scpviz study figure3b"}
    with pytest.raises(FileNotFoundError, match="study figure3b --export"):
        figure3b.load_shapes("no_such_result")


def test_figure3b_verdict_reads_every_seed():
    from scpviz.studies.figure3b import shape_verdict

    def result(em, es, ms):
        return {"pairs": {"ewc-mas": {"spearman": em, "ks": [1 - x for x in em], "overlap": em},
                          "ewc-scp": {"spearman": es, "ks": [1 - x for x in es], "overlap": es},
                          "mas-scp": {"spearman": ms, "ks": [1 - x for x in ms], "overlap": ms}}}

    alike = shape_verdict(result([0.9, 0.8], [0.5, 0.6], [0.4, 0.7]))
    assert all(alike[m]["paper_reading"] is True for m in ("spearman", "ks", "overlap"))
    assert alike["spearman"]["mean"]["ewc-mas"] == pytest.approx(0.85)
    assert alike["spearman"]["sd"]["ewc-scp"] == pytest.approx(0.0707107, rel=1e-5)
    assert shape_verdict(result([0.5, 0.5], [0.9, 0.9], [0.4, 0.4]))["ks"]["paper_reading"] is False
    assert shape_verdict(result([0.9, 0.5], [0.5, 0.9], [0.4, 0.4]))["overlap"]["paper_reading"] is None


def test_cli_study_figure3b_and_figure4_needs_a_cache(tmp_path, capsys):
    from scpviz import cli

    assert cli.main(["study", "figure3b", "--seeds", "0", "1", "--dry-run"]) == 0
    assert "2 networks trained on task 1" in capsys.readouterr().out
    assert cli.main(["study", "figure4", "--variants", "paper"]) == 2                # refused before any run
    assert "needs --cache" in capsys.readouterr().err


def test_the_shipped_figure3b_result_and_the_readme_quote_it():
    """The shipped comparison (10 seeds, real MNIST, teach budget): its command, and the README's numbers are its
    numbers."""
    from pathlib import Path

    from scpviz.studies import figure3b

    r = figure3b.load_shapes("figure3b_shapes_teach")
    assert r["seeds"] == list(range(10)) and r["dataset"] == "MNIST" and r["mode"] == "teach"
    assert r["command"].startswith("python -m scpviz study figure3b") and "/work" not in r["command"]
    v = figure3b.shape_verdict(r)
    assert v["ks"]["paper_reading"] and v["overlap"]["paper_reading"] and v["spearman"]["paper_reading"] is False
    p = r["pairs"]
    assert all(a > b for a, b in zip(p["ewc-scp"]["spearman"], p["ewc-mas"]["spearman"]))   # "larger on every seed"
    readme = " ".join((Path(__file__).resolve().parents[1] / "README.md").read_text().split())
    f = lambda m, pair: f"{v[m]['mean'][pair]:.3f}"   # noqa: E731
    assert (f"KS distance {f('ks', 'ewc-mas')} against {f('ks', 'ewc-scp')} (EWC–SCP) and {f('ks', 'mas-scp')}" in readme
            and f"histogram overlap {f('overlap', 'ewc-mas')} against {f('overlap', 'ewc-scp')} and "
                f"{f('overlap', 'mas-scp')}" in readme
            and f"Spearman's ρ is {f('spearman', 'ewc-mas')} for EWC–MAS and {f('spearman', 'ewc-scp')} for EWC–SCP"
                in readme)
