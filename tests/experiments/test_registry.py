"""The registry: every experiment's three budgets build tasks and a model that fit together; defaults and errors."""
import pytest
import torch

from scpviz import config, experiments, sweeps
from scpviz.experiments.base import COMMON_OPTIONS

# the paper's networks, by parameter count: 784-1024-512-256-10 and 784-1024³-256 + mirror
# and our Figure 8 widths: convs 1→32→32 (pool) →64→64 (pool) with BatchNorm, 64·11·11 → 128 (+ BatchNorm) → 10
PAPER_PARAMS = {"permuted_mnist": 784 * 1024 + 1024 + 1024 * 512 + 512 + 512 * 256 + 256 + 256 * 10 + 10,
                "autoencoders": 2 * (784 * 1024 + 2 * 1024 * 1024 + 1024 * 256) + 3 * 1024 + 256 + 3 * 1024 + 784,
                "mnist_svhn": (9 * 32 + 32 + 64) + (32 * 9 * 32 + 32 + 64) + (32 * 9 * 64 + 64 + 128)
                + (64 * 9 * 64 + 64 + 128) + (64 * 11 * 11 * 128 + 128 + 256) + (128 * 10 + 10),
                # WRN-28-10 for 20 super-classes (counted block by block in test_cifar100_superclasses.py)
                "cifar100_superclasses": 36_485_604,   # = the 36,479,194 of WRN-28-10 on CIFAR-10, + 640·10 + 10 for ten more classes
                # U-Net 64/4 (Ronneberger et al.'s widths 64…1024), 13 classes: double convs down, then per level up a
                # 3×3 conv halving the channels and a double conv on the concatenation, and the 1×1 head
                "synthia_segmentation": sum(9 * a * b + b + 9 * b * b + b for a, b in
                                            [(3, 64), (64, 128), (128, 256), (256, 512), (512, 1024)])
                + sum(9 * 2 * c * c + c + (9 * 2 * c * c + c + 9 * c * c + c) for c in (64, 128, 256, 512))
                + 64 * 13 + 13}
# each experiment's paper grid of λ: §5.1 {1e-3, ..., 1e9} (used for §5.2 too), §8.4 {1e2, ..., 1e6}
PAPER_LAMS = {"permuted_mnist": [10.0 ** i for i in range(-3, 10)], "autoencoders": [10.0 ** i for i in range(-3, 10)],
              "mnist_svhn": [10.0 ** i for i in range(2, 7)], "cifar100_superclasses": [10.0 ** i for i in range(2, 7)],
              "synthia_segmentation": None}   # §5.3 names none: each method's own (tested below)
# the stand-in each experiment runs on in these structural tests (the real data is not in CI)
STANDIN = {"cifar100_superclasses": "shape_superclasses", "synthia_segmentation": "synthia_standin"}
# frames cut small so that the paper budget's network runs in CI (its weights do not depend on the frame size)
CUT = {"synthia_segmentation": dict(height=32, width=48, n_frames=40, gap=2)}
# the paper's learning rate and runs; §8.5 gives no learning rate and ran once: Adam's 1e-4 as §5, three seeds
PAPER_SEEDS = {"cifar100_superclasses": 3}


def test_names_and_get():
    assert experiments.names() == ["permuted_mnist", "autoencoders", "mnist_svhn", "synthia_segmentation",
                                   "cifar100_superclasses"]
    assert experiments.get("permuted-mnist") is experiments.get("permuted_mnist")
    with pytest.raises(ValueError, match=r"experiment='svhn' is not registered; choose one of"):
        experiments.get("svhn")


@pytest.mark.parametrize("name", experiments.names())
@pytest.mark.parametrize("mode", config.MODES)
def test_each_budget_builds_tasks_and_a_model_that_fit(name, mode):
    """The budget's structure (tasks, widths) on a few stand-in images: the tasks go through the model and the
    objective, and the metric is finite. Sizes are cut so that the paper budget fits in CI."""
    exp = experiments.get(name)
    b = exp.budget(mode)
    assert b.mode == mode and set(b.as_dict()) >= {o.key for o in exp.all_options()} | {"seeds", "lams", "n_slices"}
    assert {o.key for o in exp.all_options()} >= {o.key for o in COMMON_OPTIONS} - set(exp.unused_options)
    assert {o.key for o in exp.options} <= set(b.as_dict()), "every own option has a default in every mode"
    cfg = exp.config(exp.methods[-1], seed=0, mode=mode, dataset=STANDIN.get(name, "digits"), n_train=20, n_val=5,
                     n_test=10, **CUT.get(name, {}))
    tasks = exp.tasks(cfg, "cpu")
    model = exp.model(cfg, tasks)
    n_tasks = cfg.get("n_tasks") or len(cfg.get("order") or [1, 2]) if name != "cifar100_superclasses" else 5
    assert len(tasks) == n_tasks and all(t.dataset.startswith(("sklearn-digits", "shapes with parts", "SYNTHIA-style"))
                                         for t in tasks)
    for t in tasks:
        out = model(t.x_train)
        loss = exp.objective.loss(out, t.x_train, t.y_train)
        score = exp.objective.score(out, t.x_train, t.y_train)
        assert torch.isfinite(loss) and score.shape == (len(t.x_train),)
    n_params = sum(p.numel() for p in model.parameters())
    if mode == "paper":
        assert n_params == PAPER_PARAMS[name]
        assert cfg["lr"] == 1e-4 and cfg["n_slices"] == 100 and len(b.seeds) == PAPER_SEEDS.get(name, 10)
        if PAPER_LAMS[name] is not None:
            assert list(b.lams) == PAPER_LAMS[name]
    else:
        assert len(b.seeds) == 1, "teach and quick: one seed, not ten"


def test_budgets_shrink_from_paper_to_quick():
    for name in experiments.names():
        exp = experiments.get(name)
        q, t, p = (exp.budget(m) for m in ("quick", "teach", "paper"))
        assert q.epochs * (q.n_train or 6000) <= t.epochs * (t.n_train or 6000) < p.epochs * (p.n_train or 6000)


def test_config_takes_defaults_from_the_mode(monkeypatch):
    exp = experiments.get("permuted_mnist")
    monkeypatch.delenv("SCPVIZ_MODE", raising=False)
    assert exp.config("none")["n_train"] == exp.budget("teach").n_train  # teach is the default
    monkeypatch.setenv("SCPVIZ_MODE", "paper")
    assert exp.config("none")["epochs"] == 20


def test_per_method_default_lambda_is_the_shipped_validation_choice():
    """default_lams is what choose_lambda picks on the shipped grid (recomputed here from the file)."""
    for name in experiments.names():
        exp = experiments.get(name)
        runs, _ = sweeps.shipped_results(exp.shipped)
        runs = [(c, h) for c, h in runs if c.get("layer", "output") == "output"]
        chosen = sweeps.choose_lambda(runs, split="val")
        assert {m: c["lam"] for m, c in chosen.items() if m != "none"} == dict(exp.default_lams), name
        for m in exp.methods:
            want = 0.0 if m == "none" else exp.default_lams[m]
            assert exp.default_lam(m) == want and exp.config(m, mode="quick")["lam"] == want
    # the example: SCP on permuted MNIST no longer defaults to λ = 1
    assert experiments.get("permuted_mnist").config("scp", mode="quick")["lam"] == 1000.0


@pytest.mark.parametrize("call,match", [
    (lambda e: e.config("ewc", mode="quick"), r"method='ewc' is not available in autoencoders.*needs class probabilities"),
    (lambda e: e.config("scp", mode="quick", layer="middle"), r"layer='middle' must be one of \['output', 'code'\]"),
    (lambda e: e.config("scp", mode="quick", n_layers=3), r"unknown config keys \['n_layers'\]"),
    (lambda e: e.config("scp", -1.0, mode="quick"), r"lam=-1.0 must be a finite number >= 0"),
    (lambda e: e.config("scp", mode="full"), r"mode='full' is not a mode"),
    (lambda e: e.run(experiments.get("permuted_mnist").config("none", mode="quick")), r"not 'autoencoders'"),
])
def test_bad_configs_are_named(call, match):
    with pytest.raises(ValueError, match=match):
        call(experiments.get("autoencoders"))


def test_seed_permutes_the_digit_order_unless_given():
    ae = experiments.get("autoencoders")
    assert ae.config("none", seed=0, mode="paper")["order"] == [2, 7, 4, 0, 9, 1, 6, 5, 8, 3]
    o3 = ae.config("none", seed=3, mode="paper")["order"]
    assert sorted(o3) == list(range(10)) and o3 != [2, 7, 4, 0, 9, 1, 6, 5, 8, 3]
    assert ae.config("none", seed=3, mode="paper", order=[1, 2])["order"] == [1, 2]


def test_declared_figures_exist():
    from scpviz.viz import plots

    for name in experiments.names():
        for spec in experiments.get(name).figures:
            assert callable(getattr(plots, spec.plot)), (name, spec)
            assert spec.reference is None or isinstance(getattr(plots, spec.reference), dict)
            assert spec.input in ("rows", "run", "by_method", "seeds_by_method")


def test_the_paper_segmentation_grid_inherits_each_methods_scale_from_the_cpu_grid():
    """§5.3 names no λ: each method's paper grid is its CPU grid's validation choice ± 4 decades (not one range
    shared by methods whose importances differ by ten decades), and the teach grid is the shipped grid's λ."""
    from scpviz.experiments.synthia_segmentation import decades_around

    exp = experiments.get("synthia_segmentation")
    runs, _ = sweeps.shipped_results(exp.shipped)
    chosen = sweeps.choose_lambda(runs, split="val")
    paper = exp.budget("paper").lams
    for m in ("ewc", "mas", "scp"):
        assert paper[m] == decades_around(chosen[m]["lam"], 4) and len(paper[m]) == 9
        assert min(paper[m]) == pytest.approx(chosen[m]["lam"] * 1e-4) and max(paper[m]) == pytest.approx(chosen[m]["lam"] * 1e4)
        assert tuple(sorted({c["lam"] for c, _ in runs if c["method"] == m})) == tuple(exp.budget("teach").lams[m])


@pytest.mark.parametrize("name", ["cifar100_superclasses", "mnist_svhn"])
def test_scores_do_not_depend_on_the_evaluation_batch(name):
    """The conv experiments score in batches of 100 (faster on a CPU); eval mode makes that a speed knob only."""
    from scpviz.training.engine import evaluate

    exp = experiments.get(name)
    assert exp.eval_batch_size == 100 and experiments.get("permuted_mnist").eval_batch_size == 2000
    extra = dict(dataset="shape_superclasses") if name == "cifar100_superclasses" else dict(dataset="digits")
    cfg = exp.config("none", seed=0, mode="quick", n_train=20, n_val=10, n_test=150, **extra)
    tasks = exp.tasks(cfg, "cpu")
    model = exp.model(cfg, tasks).double()
    x, y = tasks[0].x_test.double(), tasks[0].y_test
    model.train()   # evaluate switches to eval mode itself (running statistics) and back
    scores = [evaluate(model, x, y, batch_size=b) for b in (7, 100, 2000)]
    assert scores[0] == scores[1] == scores[2] and model.training
