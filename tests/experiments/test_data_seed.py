"""Each seed draws its own training and validation images, reproducibly; the seed that drew them (``data_seed``) is
in the config and so in the cache key; result files made before it existed read back with the 0 their runs used."""
import pytest
import torch

from scpviz import experiments, sweeps
from scpviz.sweeps.cache import config_key

SMALL = dict(n_train=30, n_val=10, n_test=20)
# stand-ins and sizes small enough for CI; a fixed digit order so that only the images can differ between seeds
CASES = {"permuted_mnist": dict(dataset="digits", n_tasks=2),
         "autoencoders": dict(dataset="digits", order=[2, 7]),
         "mnist_svhn": dict(dataset="digits", second="mnist_m"),
         "cifar100_superclasses": dict(dataset="shape_superclasses")}


def _tasks(name, seed, **extra):
    exp = experiments.get(name)
    cfg = exp.config("none", seed=seed, mode="quick", **SMALL, **CASES[name], **extra)
    return cfg, exp.tasks(cfg, "cpu")


@pytest.mark.parametrize("name", CASES)
def test_each_seed_draws_its_own_images_and_the_same_seed_the_same_ones(name):
    (c0, t0), (c1, t1) = _tasks(name, 0), _tasks(name, 1)
    assert (c0["data_seed"], c1["data_seed"], c1.data_seed) == (0, 1, 1)
    assert config_key(c0) != config_key(c0.replace(data_seed=1))            # a different run in the cache
    _, again = _tasks(name, 0)
    for a, b, other in zip(t0, again, t1):
        assert torch.equal(a.x_train, b.x_train) and torch.equal(a.x_val, b.x_val)
        assert not torch.equal(a.x_train, other.x_train) and not torch.equal(a.x_val, other.x_val)
    _, fixed = _tasks(name, 1, data_seed=0)                                    # the seed's other draws, seed 0's images
    assert torch.equal(fixed[0].x_train, t0[0].x_train) and torch.equal(fixed[0].x_val, t0[0].x_val)


def test_a_bad_data_seed_is_refused():
    with pytest.raises(ValueError, match="data_seed=-1 must be an integer >= 0"):
        experiments.get("permuted_mnist").config("none", mode="quick", data_seed=-1)


def test_shipped_results_read_back_with_data_seed_zero_and_seeds_still_group():
    grid, _ = sweeps.shipped_results("permuted_mnist_cpu")
    assert {c["data_seed"] for c, _ in grid} == {0}
    before = {k: len(v) for k, v in sweeps.group_runs(grid).items()}
    resampled = [({**c, "data_seed": c["seed"]}, h) for c, h in grid]          # as a grid made today holds them
    assert {k: len(v) for k, v in sweeps.group_runs(resampled).items()} == before
    assert max(before.values()) == 3                                          # the seeds of one λ form one group


def test_the_command_line_can_draw_every_seeds_images_with_one_seed():
    """--data-seed 0 reproduces grids made before version 0.4 (every seed trained on the images of subset seed 0)."""
    from scpviz import cli

    argv = ["sweep", "permuted_mnist", "--mode", "quick", "--methods", "none", "--seeds", "0", "1", "2", "--cache", "c"]
    assert [c["data_seed"] for c in cli.sweep_configs(argv)] == [0, 1, 2]
    assert [c["data_seed"] for c in cli.sweep_configs(argv + ["--data-seed", "0"])] == [0, 0, 0]
