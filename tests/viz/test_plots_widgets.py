import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
from matplotlib.figure import Figure

from scpviz import distances
from scpviz.datasets import load_digits_fallback
from scpviz.teaching import toy
from scpviz.viz import plots, widgets


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def test_show_images_returns_figure_and_uses_given_axes():
    imgs = torch.rand(12, 784)
    fig = plots.show_images(imgs, labels=list(range(12)), ncols=6, title="t")
    assert isinstance(fig, Figure)
    f2, ax = plt.subplots()
    assert plots.show_images(imgs[:3].reshape(3, 28, 28), ax=ax) is f2
    with pytest.raises(ValueError, match="empty"):
        plots.show_images(torch.rand(0, 784))


def test_distance_plots_return_figures():
    L = distances.box_landscape(np.linspace(-2, 2, 21))
    assert isinstance(plots.plot_landscape(L, tau=0.5), Figure)
    fig = plots.plot_figure2(L, 0.5)
    assert isinstance(fig, Figure) and len(fig.axes) == 2
    # the shifted density drawn on the left is the box moved by tau
    X = toy.gaussian_mixture_2d(100, seed=0)
    Y = toy.transform_2d(X, angle=0.3, shift=(1, 0))
    assert len(plots.plot_cloud_slice(X, Y, 0.4).axes) == 3
    res = distances.sliced_cramer_estimates(X, Y, [1, 10, 100], n_seeds=4)
    assert isinstance(plots.plot_sliced_convergence(res, reference=0.5), Figure)
    assert isinstance(plots.plot_sd_scaling(res["L"], res["sd"], slope=-0.5), Figure)
    f, ax = plt.subplots()
    assert plots.plot_landscape(L, ax=ax) is f


def test_digit_browser_slider_changes_figure():
    ds = load_digits_fallback(device="cpu")
    box = widgets.digit_browser(ds, n=10)
    first = box.figure
    box.slider.value = 10
    assert box.figure is not first and box.n_draws == 2
    assert "10" in box.figure.axes[0].get_title()


def test_landscape_explorer_controls():
    box = widgets.landscape_explorer(taus=np.linspace(-2, 2, 41))
    before_fig, before_land = box.figure, box.landscape
    box.tau.value = 1.5  # moves the marker only
    assert box.figure is not before_fig and box.landscape is before_land
    box.p.value = 3.0
    assert "C3" in box.landscape and "W3" in box.landscape
    c3_box = box.landscape["C3"].copy()
    box.shape.value = "gaussian"
    assert box.landscape["shape"] == "gaussian"
    assert not np.allclose(box.landscape["C3"], c3_box)
    # the landscape shown is the library's
    ref = distances.shift_landscape(box.landscape["tau"], shape="gaussian", ps=(3,), grid=box.landscape["x"])
    assert np.allclose(box.landscape["C3"], ref["C3"])


def test_slicing_explorer_value_grows_with_shift():
    box = widgets.slicing_explorer(n_points=200)
    box.shift.value = 0.0
    box.rotation.value = 0.0
    assert box.value == pytest.approx(0.0, abs=1e-12)
    values = []
    for s in (0.5, 1.0, 2.0):
        box.shift.value = s
        values.append(box.value)
    assert np.all(np.diff(values) > 0)
    fig = box.figure
    box.angle.value = 90.0
    assert box.figure is not fig


def test_convergence_explorer_slider():
    X = toy.gaussian_mixture_2d(200, seed=0)
    Y = toy.transform_2d(X, angle=0.5)
    box = widgets.convergence_explorer(X, Y, max_slices=100, n_seeds=5)
    fig = box.figure
    box.n_slices.value = box.n_slices.options[-1]
    assert box.figure is not fig
    assert "L = 100" in box.figure.axes[1].get_title()


def _tiny_model():
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(5, 8), torch.nn.ReLU(), torch.nn.Linear(8, 4))


def test_importance_plots_return_figures():
    from scpviz import importance
    from scpviz.teaching import bugs

    m, x = _tiny_model(), torch.randn(20, 5)
    imps = {"ewc": importance.fisher_importance(m, x), "mas": importance.mas_importance(m, x),
            "scp": importance.scp_importance(m, x, n_slices=10, seed=0)}
    assert isinstance(plots.plot_importance_histograms(imps, {"ewc": 10.0}), Figure)
    conv = importance.scp_convergence(importance.mean_jacobian(m, x), [1, 10, 100], n_seeds=3)
    assert isinstance(plots.plot_gamma_convergence(conv), Figure)
    full = importance.full_importance_matrices(m.double(), x.double(), exact=True)
    assert isinstance(plots.plot_spectra({"ewc": full["F"], "scp": full["Gamma"]}), Figure)
    assert isinstance(plots.plot_merge_weights(bugs.all_merge_weights(4)), Figure)


def test_importance_explorer_controls():
    m, x = _tiny_model(), torch.randn(30, 5)
    box = widgets.importance_explorer(m, x, layers={"output": None, "hidden": m[1]}, n_slices_options=(1, 10, 100),
                                      n_seeds=2)
    g100, fig = box.gamma, box.figure
    box.n_slices.value = 1
    assert box.figure is not fig
    assert not torch.allclose(box.gamma["0.weight"], g100["0.weight"])
    box.layer.value = "hidden"
    assert "K = 8" in box.figure.axes[0].get_title()
    assert torch.all(box.gamma["2.weight"] == 0)  # parameters after the preserved layer


def _fake_grid():
    from scpviz import experiments
    from scpviz.training import History
    permuted_mnist_config = experiments.get("permuted_mnist").config

    res = []
    for method, lams in (("none", [0.0]), ("mas", [1.0, 100.0]), ("scp", [1.0, 100.0])):
        for lam in lams:
            for seed in (0, 1):
                cfg = permuted_mnist_config(method, lam, seed, mode="quick")
                acc = 0.5 + 0.001 * lam + 0.01 * seed
                pts = [{"task": 0, "epoch": 1, "test": [0.9, None], "val": [0.9, None]},
                       {"task": 1, "epoch": 1, "test": [acc, 0.9], "val": [acc, 0.9]}]
                res.append((cfg, History(config=cfg, dataset="fake", task_names=["a", "b"], points=pts)))
    return res


def test_continual_plots_return_figures():
    from scpviz.sweeps import summarize

    grid = _fake_grid()
    fig = plots.plot_forgetting_curves(grid[0][1])
    assert isinstance(fig, Figure) and fig.axes[0].get_ylabel() == "test accuracy (%)"
    assert fig.axes[0].lines[0].get_ydata()[0] == pytest.approx(90.0)  # stored 0.9, drawn in %
    assert fig.axes[0].get_ylim() == (0.0, 101.0)  # every accuracy picture on the same axis: they compare
    assert "fake, 2 tasks × 1 epoch × 2,000 images" in fig.axes[0].get_title()  # dataset and budget
    assert all(txt.get_position()[1] < 1.0 for txt in fig.axes[0].texts)  # task labels inside, off the title
    fig = plots.plot_average_metric(summarize(grid), reference=plots.PAPER_FIG3A)
    ax = fig.axes[0]
    assert isinstance(fig, Figure) and "accuracy (%)" in ax.get_ylabel() and "Average accuracy" in ax.get_title()
    assert max(max(line.get_ydata()) for line in ax.lines if len(line.get_ydata())) > 80  # percent, as the marks
    assert ax.get_ylim() == (0.0, 101.0) and "fake" in ax.get_title() and "2 tasks × 1 epoch" in ax.get_title()


def test_average_metric_plot_names_an_l1_error():
    """Figure 4b's axis says what the number is (it once read "average test accuracy" for an ℓ1 error)."""
    from scpviz import experiments
    from scpviz.sweeps import summarize
    from scpviz.training import History

    ae = experiments.get("autoencoders")
    res = []
    for m in ("none", "mas"):
        cfg = ae.config(m, seed=0, mode="quick")
        pts = [{"task": 0, "epoch": 1, "test": [40.0, None]}, {"task": 1, "epoch": 1, "test": [60.0, 30.0]}]
        res.append((cfg, History(config=cfg, dataset="fake", task_names=["2", "7"], points=pts,
                                 metric_name=ae.metric.name, higher_is_better=False)))
    ax = plots.plot_average_metric(summarize(res)).axes[0]
    assert "ℓ1 reconstruction error" in ax.get_ylabel() and "accuracy" not in ax.get_ylabel().lower()
    assert "lower is better" in ax.get_ylabel() and "accuracy" not in ax.get_title().lower()
    assert ax.lines[0].get_ydata()[-1] == pytest.approx(45.0)  # not scaled: not a percentage
    assert "ℓ1" in plots.plot_lambda_sweep(summarize(res)).axes[0].get_ylabel()


def test_permuted_mnist_explorer_precomputed():
    box = widgets.permuted_mnist_explorer(_fake_grid())
    assert box.mode.value == "precomputed"
    fig = box.figure
    box.method.value = "mas"
    box.lam.value = 50.0  # nearest grid λ on a log scale: 100
    assert box.figure is not fig
    assert {c["lam"] for c, _ in box.runs} == {100.0} and len(box.runs) == 2
    box.lam.value = 2.0
    assert {c["lam"] for c, _ in box.runs} == {1.0}
    labels = [line.get_label() for line in box.figure.axes[1].lines]
    assert any("no consolidation" in lb for lb in labels) and any("MAS" in lb for lb in labels), labels
    box.method.value = "none"
    assert box.runs[0][0]["method"] == "none"
    labels = [line.get_label() for line in box.figure.axes[1].lines]
    assert sum("no consolidation" in lb for lb in labels) == 1, labels   # the reference is not drawn twice


def test_permuted_mnist_explorer_live(tmp_path, monkeypatch):
    monkeypatch.setenv("SCPVIZ_DATA", str(tmp_path))  # digits fallback, offline
    box = widgets.permuted_mnist_explorer(mode="live", device="cpu",
                                          live_config=dict(n_tasks=2, n_train=100, n_val=20, n_test=40, hidden=[8]))
    first = box.history
    assert first.config["method"] == "scp" and first.config["n_tasks"] == 2
    box.alpha.value = 0.5
    assert box.history is not first and box.history.config["alpha"] == 0.5
    labels = [line.get_label() for line in box.figure.axes[1].lines]
    assert any("no consolidation" in lb for lb in labels), labels   # a live none run drawn as the reference


def test_geometry_plots_and_widgets():
    phi = torch.tensor(toy.gaussian_mixture_2d(50, seed=0))
    box = widgets.output_transform_explorer(phi)
    assert box.values["MAS"] == pytest.approx(0.0, abs=1e-15)
    box.rotation.value = 90.0
    assert abs(box.values["MAS"]) < 1e-12 and box.values["SC₂² (SCP)"] > 0
    box.permute.value = 1.0
    before = dict(box.values)
    box.scale.value = 1.5
    assert box.values["MAS"] > before["MAS"]
    labels = (phi[:, 1] > phi[:, 0]).long()   # the class each output already votes for
    lb = widgets.output_transform_explorer(phi, labels=labels)
    assert lb.accuracy == 1.0 and "task A accuracy 100.0 %" in lb.children[3].value
    lb.permute.value = 1.0
    shuffled = lb.accuracy
    lb.within_class.value = True   # the same permutation fraction, now within each class: accuracy is kept
    assert shuffled < 0.9 and lb.accuracy == 1.0 and lb.values["SC₂² (SCP)"] < 1e-12
    from scpviz import models
    X, c = toy.gaussian_mixture_2d(60, seed=0, return_labels=True)
    net = models.MLP(2, (4,), 2, seed=0).double()
    plane = toy.riemannian_plane(net, torch.tensor(X), torch.tensor(X), torch.tensor((c + 1) % 2), n=9)
    rb = widgets.riemannian_explorer(plane)
    fig, opt = rb.figure, rb.optima
    rb.lam.value = 1000.0
    assert rb.figure is not fig and rb.optima != opt
    rb.kind.value = "diag"
    assert isinstance(rb.figure, Figure)


def test_expansion_plots():
    eps = np.logspace(-4, -1, 5)
    assert isinstance(plots.plot_expansion(eps, eps ** 2, eps ** 2), Figure)
    assert isinstance(plots.plot_ratio_histograms({"ewc": np.ones(5), "scp": np.linspace(0.5, 2, 5)}), Figure)


def test_plot_blind_drift_draws_one_bar_per_tensor():
    from scpviz.teaching.diagnostics import drift_by_importance
    from scpviz.viz.plots import plot_blind_drift

    model = torch.nn.Linear(3, 2)
    theta = {n: p.detach().clone() for n, p in model.named_parameters()}
    with torch.no_grad():
        model.weight.add_(1.0)
    imp = {"weight": torch.tensor([[1.0, 0.0, 0.0], [1.0, 1.0, 1.0]]), "bias": torch.ones(2)}
    fig = plot_blind_drift(drift_by_importance(imp, theta, model))
    ax = fig.axes[0]
    heights = [p.get_height() for p in ax.patches]
    assert heights == pytest.approx([2 / 6, 0.0]) and "33% of the drift" in ax.get_title()


def test_plot_lambda_sweep_draws_one_line_per_method_and_the_none_level():
    from scpviz.viz.plots import plot_lambda_sweep

    rows = [dict(method="none", lam=0.0, mean=5.0, sd=0.5)] + \
        [dict(method=m, lam=10.0 ** k, mean=5.0 + k, sd=0.1) for m in ("mas", "scp") for k in range(3)]
    ax = plot_lambda_sweep(rows).axes[0]
    lines = [ln for ln in ax.get_lines() if len(ln.get_xdata()) == 3]
    assert len(lines) == 2 and list(lines[0].get_ydata()) == [5.0, 6.0, 7.0]
    assert any(list(ln.get_ydata()) == [5.0, 5.0] for ln in ax.get_lines())  # the none level


def test_forgetting_side_by_side_shares_one_axis():
    grid = _fake_grid()
    fig = plots.plot_forgetting_side_by_side([grid[0][1], grid[-1][1]])
    a, b = fig.axes[:2]
    assert a.get_ylim() == b.get_ylim() == (0.0, 101.0) and a.get_shared_y_axes().joined(a, b)
    assert "no consolidation" in a.get_title() and "SCP" in b.get_title()


def test_plot_task_change_bars_are_each_tasks_loss_with_the_metrics_sign():
    from scpviz.training import History

    def hist(R, higher):
        pts = [{"task": i, "epoch": 1, "test": [None if np.isnan(v) else v for v in R[i]], "val": [None] * 3}
               for i in range(3)]
        name = "accuracy" if higher else "mean ℓ1 reconstruction error"
        return History(config={}, dataset="hand", task_names=["2", "7", "4"], points=pts, higher_is_better=higher,
                       metric_name=name)

    R = np.array([[0.9, np.nan, np.nan], [0.7, 0.95, np.nan], [0.6, 0.8, 0.92]])
    ax = plots.plot_task_change({"none": hist(R, True)}).axes[0]
    heights = [p.get_height() for p in ax.patches]
    assert heights == pytest.approx([(0.9 - 0.6) * 100, (0.95 - 0.8) * 100])     # points lost, last task left out
    E = np.array([[10.0, np.nan, np.nan], [12.0, 9.0, np.nan], [15.0, 8.0, 11.0]])   # an error: up = forgotten
    ax = plots.plot_task_change({"scp λ=1": hist(E, False), "none": hist(E * 2, False)}).axes[0]
    assert [p.get_height() for p in ax.patches][:2] == pytest.approx([5.0, -1.0])
    assert [t.get_text() for t in ax.get_xticklabels()] == ["2", "7"] and "above 0 = forgotten" in ax.get_title()


def test_stability_plasticity_explorer_looks_runs_up():
    from scpviz import datasets, models
    from scpviz.teaching.forgetting import stability_plasticity_sweep

    ds = datasets.load_digits_fallback()
    a, b = datasets.permuted_mnist_tasks(ds, n_tasks=2, seed=0, n_train=100, n_test=50)
    runs = stability_plasticity_sweep(lambda: models.MLP(784, (16,), 10, seed=0), a, b, [0.0, 10.0],
                                      penalties=("l2", "ewc"), epochs=1, progress=False)
    box = widgets.stability_plasticity_explorer(runs, lam=0.0)
    assert box.history is runs["l2"][0.0] and box.n_draws == 1
    box.lam.value = 10.0
    assert box.history is runs["l2"][10.0] and "λ = 10" in box.children[1].value
    box.penalty.value = "ewc"
    assert box.history is runs["ewc"][10.0] and box.n_draws == 3
    assert isinstance(box.figure, Figure) and len(box.figure.axes[1].get_lines()) == 6   # 2 penalties × 2, A before B, λ marker


def _study_rows():
    """Rows shaped like scpviz.studies.figure4.study_rows: variant × method × λ with final/forgetting/learning stats."""
    def st(m):
        return {"values": [m - 1, m + 1], "mean": float(m), "sd": 1.0}
    rows = []
    for v, shift in (("paper", 0.0), ("leaky_relu", -3.0)):
        rows.append(dict(variant=v, method="none", lam=0.0, seeds=[0, 1], final=st(40 + shift), forgetting=st(15),
                         learning=st(30)))
        for m, lams in (("mas", (1.0, 10.0, 100.0)), ("scp", (1e3, 1e4))):
            for k, lam in enumerate(lams):
                rows.append(dict(variant=v, method=m, lam=lam, seeds=[0, 1], final=st(41 + 5 * k + shift),
                                 forgetting=st(14 - k), learning=st(31 + 6 * k)))
    return rows


def test_study_plots_return_their_figure():
    rows = _study_rows()
    chosen = [r for r in rows if r["lam"] in (0.0, 1.0, 1e3)]
    fig = plots.plot_study_overview(rows, chosen)
    assert isinstance(fig, Figure) and len(fig.axes[0].patches) == 6   # 2 variants × 3 methods
    f2, ax = plt.subplots()
    assert plots.plot_study_lambda(rows, "paper", "mas", lam=10.0, ax=ax) is f2
    labelled = [ln for ln in ax.lines if not ln.get_label().startswith("_")]
    assert [ln.get_label() for ln in labelled] == ["final mean ℓ1", "forgetting", "learning error"]
    assert list(ax.lines[0].get_ydata()) == [41.0, 46.0, 51.0]
    with pytest.raises(ValueError, match="variant="):
        plots.plot_study_lambda(rows, "nope", "mas")


def test_study_explorer_slider_toggle_and_dropdown_redraw():
    rows = _study_rows()
    w = widgets.study_explorer(rows, variant="paper", method="mas")
    assert [v for _, v in w.lam.options] == [1.0, 10.0, 100.0] and w.lam.value == 10.0
    assert "46.0" in w.children[2].value and "none 40.0" in w.children[2].value
    n = w.n_draws
    w.lam.value = 100.0
    assert w.n_draws == n + 1 and "51.0" in w.children[2].value
    w.method.value = "scp"       # the λ grid follows the method
    assert [v for _, v in w.lam.options] == [1e3, 1e4] and w.n_draws == n + 2
    w.variant.value = "leaky_relu"
    assert "leaky_relu" in w.children[2].value and "none 37.0" in w.children[2].value
    assert "scpviz-study-explorer" in w._dom_classes and "scpviz-main-slider" in w.lam._dom_classes
    with pytest.raises(ValueError, match="variant="):
        widgets.study_explorer(rows, variant="nope")


def test_domain_shift_explorer_follows_the_method_and_lambda():
    from scpviz.training import History

    def run(method, lam, seed, t1, t2):
        pts = [{"task": 0, "epoch": 1, "test": [0.97, None], "val": [0.9, None]},
               {"task": 1, "epoch": 1, "test": [t1, t2], "val": [0.9, 0.9]}]
        cfg = {"method": method, "lam": lam, "seed": seed}
        return cfg, History(config=cfg, dataset="MNIST → MNIST-M (stand-in for SVHN)", task_names=["MNIST", "MNIST-M"],
                            points=pts)

    results = [run("none", 0.0, s, 0.95, 0.88) for s in (0, 1)]
    results += [run("scp", lam, s, 0.94 - 0.01 * i, 0.80 - 0.1 * i) for i, lam in enumerate((1.0, 100.0)) for s in (0, 1)]
    results += [run("mas", 1.0, s, 0.93, 0.6) for s in (0, 1)]
    w = widgets.domain_shift_explorer(results, method="scp", lam=1.0)
    assert [v for _, v in w.lam.options] == [1.0, 100.0] and w.lam.value == 1.0 and len(w.runs) == 2
    text = w.children[2].value
    assert "MNIST <b>94.0 %</b>" in text and "MNIST-M <b>80.0 %</b>" in text and "no consolidation: 95.0 %, 88.0 %" in text
    n = w.n_draws
    w.lam.value = 100.0
    assert w.n_draws == n + 1 and "MNIST-M <b>70.0 %</b>" in w.children[2].value
    assert len(w.figure.axes) == 3 and len(w.figure.axes[1].lines) == 2       # none and the method, per panel
    w.method.value = "mas"                     # the λ grid follows the method
    assert [v for _, v in w.lam.options] == [1.0] and "MAS" in w.children[2].value and w.n_draws == n + 2
    assert "scpviz-domain-shift-explorer" in w._dom_classes and "scpviz-main-slider" in w.lam._dom_classes
    with pytest.raises(ValueError, match="no run of a method with a penalty"):
        widgets.domain_shift_explorer(results[:2])


def _three_task_run(method, lam, seed, R, dataset="synthetic super-classes (stand-in for CIFAR-100)"):
    """A History whose end-of-task accuracy matrix is R (3 tasks, one epoch each)."""
    from scpviz.training import History

    pts = [{"task": i, "epoch": 1, "test": [R[i][j] if j <= i else None for j in range(3)],
            "val": [R[i][j] if j <= i else None for j in range(3)]} for i in range(3)]
    cfg = {"method": method, "lam": lam, "seed": seed}
    return cfg, History(config=cfg, dataset=dataset, task_names=["task 1", "task 2", "task 3"], points=pts)


def test_accuracy_matrix_is_the_mean_end_of_task_matrix():
    a = _three_task_run("none", 0.0, 0, [[0.8, 0, 0], [0.2, 0.7, 0], [0.1, 0.3, 0.9]])[1]
    b = _three_task_run("none", 0.0, 1, [[0.6, 0, 0], [0.4, 0.5, 0], [0.3, 0.1, 0.7]])[1]
    fig = plots.plot_accuracy_matrix([a, b])
    img = fig.axes[0].images[0].get_array()
    assert np.allclose(img[2], [20, 20, 80]) and img.mask[0, 1] and img.mask[1, 2]     # not seen: masked
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert texts[:2] == ["70", "30"] and "2 seeds" in fig.axes[0].get_title()
    assert "stand-in for CIFAR-100" in fig.axes[0].get_title()
    with pytest.raises(ValueError, match="histories is empty"):
        plots.plot_accuracy_matrix([])


def test_task_split_and_rgb_grids_show_the_images():
    from scpviz.datasets import Task

    x = torch.linspace(-1, 1, 4 * 3 * 4 * 4).reshape(4, 3, 4, 4)
    tasks = [Task(name=f"task {i + 1}", x_train=x.roll(i, 0), y_train=torch.tensor([1, 0, 1, 0]), x_test=x,
                  y_test=None, dataset="toy") for i in range(2)]
    fig = plots.show_task_split(tasks, ["zero", "one"])
    canvas = fig.axes[0].images[0].get_array()
    assert canvas.shape == (2 * 6, 2 * 6, 3)
    # task 2, super-class 0: the first image labelled 0 in task 2 is x.roll(1)[1] = x[0], mapped to [0, 1]
    assert np.allclose(canvas[7:11, 1:5], ((x[0] + 1) / 2).permute(1, 2, 0).numpy())
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == ["zero", "one"]
    fig = plots.show_rgb_images(x[:3] * 0.5 + 0.5, ncols=2)
    assert fig.axes[0].images[0].get_array().shape == (12, 12, 3)
    with pytest.raises(ValueError, match="RGB"):
        plots.show_rgb_images(torch.zeros(2, 1, 4, 4))
    with pytest.raises(ValueError, match="RGB"):
        plots.show_task_split([Task(name="t", x_train=torch.zeros(2, 1, 4, 4), y_train=torch.zeros(2, dtype=torch.long),
                                    x_test=torch.zeros(1), y_test=None, dataset="x")])


def test_superclass_explorer_follows_the_method_and_lambda():
    none = [_three_task_run("none", 0.0, s, [[0.8, 0, 0], [0.1, 0.8, 0], [0.1, 0.1, 0.8]]) for s in (0, 1)]
    scp = [_three_task_run("scp", lam, s, [[0.8, 0, 0], [0.5 - 0.1 * i, 0.6, 0], [0.4, 0.5, 0.5 - 0.1 * i]])
           for i, lam in enumerate((1.0, 10.0)) for s in (0, 1)]
    mas = [_three_task_run("mas", 1.0, 0, [[0.8, 0, 0], [0.3, 0.7, 0], [0.2, 0.3, 0.7]])]
    w = widgets.superclass_explorer(none + scp + mas, method="scp", lam=1.0)
    assert [v for _, v in w.lam.options] == [1.0, 10.0] and len(w.runs) == 2
    text = w.children[2].value
    # final average (0.4 + 0.5 + 0.5) / 3; forgetting: task 1 0.8 → 0.4, task 2 0.6 → 0.5; intransigence: diag vs none
    assert "average <b>46.7 %</b>" in text and "forgetting <b>25.0 points</b>" in text
    assert "intransigence <b>16.7 points</b>" in text and "no consolidation: average 33.3 %" in text
    n = w.n_draws
    w.lam.value = 10.0
    assert w.n_draws == n + 1 and "average <b>43.3 %</b>" in w.children[2].value
    assert len(w.figure.axes[1].lines) == 2      # Figure 9b: none and the method
    w.method.value = "mas"
    assert [v for _, v in w.lam.options] == [1.0] and "MAS" in w.children[2].value
    assert "scpviz-superclass-explorer" in w._dom_classes
    with pytest.raises(ValueError, match="no run of a method with a penalty"):
        widgets.superclass_explorer(none)


def _two_task_run(method, lam, seed, R):
    """A History of two tasks (summer, winter) whose end-of-task matrix is R, with the mean Dice metric."""
    from scpviz.training import History

    pts = [{"task": i, "epoch": 1, "test": [R[i][j] if j <= i else None for j in range(2)],
            "val": [R[i][j] if j <= i else None for j in range(2)]} for i in range(2)]
    cfg = {"method": method, "lam": lam, "seed": seed}
    return cfg, History(config=cfg, dataset="SYNTHIA-style scenes (stand-in for SYNTHIA-SEQS-01)",
                        task_names=["summer", "winter"], points=pts, metric_name="mean Dice", metric_unit="%")


def test_tradeoff_plots_forgetting_and_winter_metric_per_lambda():
    res = [_two_task_run("none", 0.0, s, [[0.6, 0], [0.1 + 0.1 * s, 0.5]]) for s in (0, 1)]
    res += [_two_task_run("scp", lam, s, [[0.6, 0], [0.3 + 0.1 * s, 0.4 - k * 0.1]])
            for k, lam in enumerate((1.0, 10.0)) for s in (0, 1)]
    fig = plots.plot_tradeoff(res)
    ax = fig.axes[0]
    star = next(l for l in ax.lines if l.get_marker() == "*")
    # none: forgetting mean(0.6 − 0.1, 0.6 − 0.2) = 0.45 → 45 points; winter 50 %
    assert np.allclose(star.get_xydata(), [[45, 50]])
    dots = [l for l in ax.lines if l.get_marker() == "o"]
    assert len(dots) == 1 and np.allclose(dots[0].get_xydata(), [[25, 40], [25, 30]])   # λ = 1, 10 in order
    assert "stand-in for SYNTHIA" in ax.get_title()
    with pytest.raises(ValueError, match="two-task sweep"):
        plots.plot_tradeoff([_three_task_run("none", 0.0, 0, [[0.8, 0, 0], [0.2, 0.7, 0], [0.1, 0.3, 0.9]])])


def test_season_frames_and_label_colours():
    from scpviz.datasets import Task

    x = torch.linspace(-1, 1, 3 * 3 * 4 * 6).reshape(3, 3, 4, 6)
    y = torch.arange(3 * 4 * 6).reshape(3, 4, 6) % 13
    tasks = [Task(name=n, x_train=x, y_train=y, x_test=x, y_test=y, dataset="toy") for n in ("summer", "winter")]
    fig = plots.show_season_frames(tasks, n=2)
    canvas = fig.axes[0].images[0].get_array()
    assert canvas.shape == (4 * (4 + 2), 2 * (6 + 2), 3)
    assert np.allclose(canvas[:4, :6], ((x[0] + 1) / 2).permute(1, 2, 0).numpy())        # summer, first frame
    assert np.allclose(canvas[6:10, 8:14], plots.SEGMENTATION_COLORS[y[2].numpy()])        # its labels, last frame
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == ["summer", "summer labels", "winter",
                                                                     "winter labels"]
    assert np.allclose(plots.color_labels(np.array([[0, 3]])), [[[0, 0, 0], [128 / 255, 64 / 255, 128 / 255]]])
    with pytest.raises(ValueError, match="segmentation tasks"):
        plots.show_season_frames([Task(name="t", x_train=x, y_train=torch.zeros(3, dtype=torch.long), x_test=x,
                                       y_test=None, dataset="x")])
