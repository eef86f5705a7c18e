"""The methods table: a method added as one importance module plus one row reaches every part of scpviz.

The row added this way is ``mas_abs``, MAS as Aljundi et al. (2018) wrote it (E|∂‖φ‖²/∂θ|). Each test below
checks one place it must reach without that place naming it: the importance (against a per-sample loop), the
consolidation, every experiment, the sweeps, the command line, the explorers' method toggles and the plots.
"""

import ast
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn as nn

from scpviz import cli, experiments, methods
from scpviz.consolidation import Consolidation
from scpviz.importance import mas_abs_importance
from scpviz.training import History
from scpviz.viz import plots, widgets

ROOT = Path(__file__).resolve().parents[1]


def _mlp():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 6), nn.Tanh(), nn.Linear(6, 3)).double()


def _abs_gradient_loop(model, x, layer=None):
    """E_x |∂‖φ(x)‖²/∂θ|, one sample at a time with autograd (the definition, no per-sample rules)."""
    params = dict(model.named_parameters())
    total = {n: torch.zeros_like(p) for n, p in params.items()}
    for xi in x:
        phi = model(xi[None]) if layer is None else model[:layer](xi[None])
        grads = torch.autograd.grad(phi.pow(2).sum(), list(params.values()), allow_unused=True)
        for (n, _), g in zip(params.items(), grads):
            if g is not None:
                total[n] += g.abs()
    return {n: t / len(x) for n, t in total.items()}


def test_mas_abs_importance_is_the_mean_absolute_gradient_of_the_squared_output_norm():
    model, x = _mlp(), torch.randn(9, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    got, want = mas_abs_importance(model, x), _abs_gradient_loop(model, x)
    for n in want:
        torch.testing.assert_close(got[n], want[n], rtol=1e-10, atol=1e-12)
    # and it is not the paper's squared form (eq 7): the two differ on this network
    from scpviz.importance import mas_importance
    sq = mas_importance(model, x)
    assert not torch.allclose(sq["0.weight"], got["0.weight"])
    # φ at a hidden layer
    got = mas_abs_importance(model, x, layer="1")
    want = _abs_gradient_loop(model, x, layer=2)
    torch.testing.assert_close(got["0.weight"], want["0.weight"], rtol=1e-10, atol=1e-12)
    assert float(got["2.weight"].abs().sum()) == 0.0   # parameters after φ do not move it


def test_consolidation_of_a_row_uses_the_rows_importance_and_merges_it():
    model, x = _mlp(), torch.randn(7, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    c = Consolidation("mas_abs", lam=2.0, alpha=0.5)
    c.consolidate(model, x)
    want = _abs_gradient_loop(model, x)
    for n in want:
        torch.testing.assert_close(c.importance[n], want[n], rtol=1e-10, atol=1e-12)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.1)
    x2 = x.flip(0)[:5]
    c.consolidate(model, x2)
    want2 = _abs_gradient_loop(model, x2)
    for n in want:   # eq 20 with α = 0.5
        torch.testing.assert_close(c.importance[n], 0.5 * want2[n] + 0.5 * want[n], rtol=1e-10, atol=1e-12)
    assert c.active and c.penalty(model).item() == 0.0   # θ* just stored
    assert c.config()["method"] == "mas_abs"


def test_every_method_row_is_complete_and_ordered():
    rows = list(methods.METHODS.values())
    assert [r.order for r in rows] == sorted(r.order for r in rows) and len({r.order for r in rows}) == len(rows)
    assert len({r.colour for r in rows}) == len(rows), "every method needs its own colour"
    assert [m.name for m in methods.paper_methods()] == ["none", "ewc", "mas", "scp"]
    for r in rows:
        assert r.label and r.reference and len(r.lam_grid) >= 3
        assert (r.default_lam == 0.0) == (r.importance is None)
    with pytest.raises(ValueError, match="method='si'.*choose one of"):
        methods.get("si")


STANDIN = {"cifar100_superclasses": "shape_superclasses", "synthia_segmentation": "synthia_standin"}
CUT = {"synthia_segmentation": dict(height=32, width=48, n_frames=40, gap=2)}


@pytest.mark.parametrize("name", experiments.names())
def test_a_new_row_is_available_to_every_experiment_and_consolidates_its_network(name):
    exp = experiments.get(name)
    assert "mas_abs" in exp.available_methods and "mas_abs" not in exp.methods   # available, not swept by default
    cfg = exp.config("mas_abs", seed=0, mode="quick", dataset=STANDIN.get(name, "digits"), n_train=20, n_val=5,
                     n_test=10, **CUT.get(name, {}))
    # its default λ: the experiment's validation choice where a shipped grid swept it, else the row's
    assert cfg["method"] == "mas_abs" and cfg["lam"] == exp.default_lams.get("mas_abs", methods.get("mas_abs").default_lam)
    tasks = exp.tasks(cfg, "cpu")
    model = exp.model(cfg, tasks)
    cons = exp.consolidation(cfg, model, tasks)
    assert cons.row is methods.get("mas_abs")
    imp = cons.consolidate(model, tasks[0].x_train[:4])
    assert all(torch.isfinite(v).all() for v in imp.values()) and sum(float(v.sum()) for v in imp.values()) > 0
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.01)
    assert cons.penalty(model).item() > 0


def test_a_new_row_trains_in_an_experiment_and_its_penalty_acts():
    exp = experiments.get("permuted_mnist")
    small = dict(dataset="digits", n_train=200, n_val=50, n_test=100, n_tasks=2, hidden=[32])
    runs = {lam: exp.run(exp.config("mas_abs", lam, seed=0, mode="quick", **small), device="cpu")
            for lam in (0.0, 1e4)}
    assert runs[1e4].config["consolidation"]["method"] == "mas_abs"
    assert runs[1e4].points[-1]["penalty"] > 0 and runs[0.0].points[-1]["penalty"] == 0.0
    # the penalty changed training (same seed, same data, same batches: only λ differs)
    assert not np.array_equal(runs[1e4].final_matrix(), runs[0.0].final_matrix())


def test_a_new_row_reaches_the_sweeps_and_the_command_line(tmp_path, capsys):
    from scpviz.sweeps import make_grid

    cfgs = make_grid("permuted_mnist", methods=["mas_abs"], seeds=[0], mode="teach")
    assert [c["lam"] for c in cfgs] == list(methods.get("mas_abs").lam_grid)   # its own λ scale
    argv = ["sweep", "permuted_mnist", "--mode", "quick", "--methods", "none", "mas_abs", "--method-lams", "mas_abs=1,10",
            "--cache", str(tmp_path / "c")]
    assert sorted((c["method"], c["lam"]) for c in cli.sweep_configs(argv)) == [("mas_abs", 1.0), ("mas_abs", 10.0),
                                                                                 ("none", 0.0)]
    out = tmp_path / "run"
    assert cli.main(["run", "permuted_mnist", "--mode", "quick", "--methods", "none", "mas_abs", "--lam", "100",
                     "--dataset", "digits", "--train", "100", "--val", "20", "--test", "50", "--out", str(out)]) == 0
    assert (out / "mas_abs_lam100_seed0.json").exists()
    assert "mas_abs" in capsys.readouterr().out
    assert any("mas_abs" in line and "Aljundi" in line for line in cli.list_lines())


def _two_task_results(extra_method="mas_abs"):
    def run(method, lam, seed, t1, t2):
        pts = [{"task": 0, "epoch": 1, "test": [0.97, None], "val": [0.9, None]},
               {"task": 1, "epoch": 1, "test": [t1, t2], "val": [0.9, 0.9]}]
        cfg = {"method": method, "lam": lam, "seed": seed}
        return cfg, History(config=cfg, dataset="a two-task test", task_names=["A", "B"], points=pts)

    return ([run("none", 0.0, s, 0.5, 0.9) for s in (0, 1)] + [run("scp", 1.0, s, 0.8, 0.8) for s in (0, 1)]
            + [run(extra_method, lam, s, 0.7, 0.85) for lam in (1.0, 10.0) for s in (0, 1)])


def test_a_new_row_reaches_the_explorers_method_toggles():
    w = widgets.domain_shift_explorer(_two_task_results(), method="mas_abs")
    assert ("MAS (|∇|, Aljundi et al.)", "mas_abs") in w.method.options
    assert w.method.value == "mas_abs" and [v for _, v in w.lam.options] == [1.0, 10.0]
    assert "MAS (|∇|, Aljundi et al.)" in w.children[2].value
    live = widgets.permuted_mnist_explorer(results=[(c, h) for c, h in _two_task_results() if c["method"] != "scp"],
                                           mode="precomputed")
    assert "mas_abs" in live.method.options
    import matplotlib.pyplot as plt

    plt.close("all")


def test_a_new_row_reaches_the_plots_with_its_colour_and_label():
    import matplotlib.pyplot as plt

    from scpviz.sweeps import summarize

    rows = summarize(_two_task_results())
    for draw in (plots.plot_lambda_sweep, plots.plot_average_metric):
        fig = draw(rows)
        ax = fig.axes[0]
        labels = [t.get_text() for t in ax.get_legend().get_texts()]
        assert any(t.startswith("MAS (|∇|, Aljundi et al.)") for t in labels), labels
        colours = {tuple(np.round(plt_colour(line), 3)) for line in ax.get_lines()}
        assert tuple(np.round(plt_colour(methods.get("mas_abs").colour), 3)) in colours
    fig = plots.plot_tradeoff(_two_task_results())
    assert any("Aljundi" in t.get_text() for t in fig.axes[0].get_legend().get_texts())
    plt.close("all")


def plt_colour(x):
    from matplotlib.colors import to_rgb
    return to_rgb(x.get_color() if hasattr(x, "get_color") else x)


def test_no_module_but_the_table_lists_the_methods():
    """A tuple, list or set of three or more of the paper's method names anywhere in the package but methods.py is a
    second table that a new method would have to be added to. (Dicts keyed by method are data: an experiment's
    chosen λ per method, the paper's numbers. replay.py lists the methods that have a replay regularizer, eq 6 and
    14 — a property of the regularizer, not of the importance.)"""
    names = set(methods.names())
    found = []
    for path in sorted((ROOT / "scpviz").rglob("*.py")):
        if path.name in ("methods.py", "replay.py") or "teaching" in path.parts:   # exercises name their methods
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, (ast.Tuple, ast.List, ast.Set)):
                continue
            strs = [e.value for e in node.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)]
            if len(strs) == len(node.elts) and set(strs) <= names and len(set(strs) & {"none", "ewc", "mas", "scp"}) >= 3:
                found.append(f"{path.relative_to(ROOT)}:{node.lineno} {strs}")
    assert not found, "method lists outside scpviz/methods.py:\n" + "\n".join(found)
