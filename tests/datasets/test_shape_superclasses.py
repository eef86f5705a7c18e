"""The shapes-with-parts stand-in for CIFAR-100: CIFAR-100's structure, deterministic from its seed, and the
properties it was designed for (decided before any grid ran on it; see its module notes): no colour code, every
super-class in every task, a texture family per task that says nothing of the label."""
import colorsys

import numpy as np
import pytest
import torch

from scpviz.datasets import (SHAPE_SUPERCLASSES_NAME, load_dataset, load_shape_superclasses, shape_superclass_properties,
                             superclass_split, superclass_tasks)


def test_structure_names_and_determinism():
    a = load_shape_superclasses(6, 2, seed=0, device="cpu")
    assert a.name == SHAPE_SUPERCLASSES_NAME and a.x_train.shape == (600, 3, 32, 32) and a.x_test.shape == (200, 3, 32, 32)
    assert torch.equal(a.extras["coarse_train"], a.extras["fine_train"] // 5)
    assert a.extras["fine_names"][17] == "silhouette 3, look 2 (checks)" and len(a.extras["coarse_names"]) == 20
    b = load_shape_superclasses(6, 2, seed=0, device="cpu")
    assert b is a                                                    # read once per process
    load_shape_superclasses.__globals__["_CACHE"].clear()
    assert torch.equal(load_shape_superclasses(6, 2, seed=0, device="cpu").x_train, a.x_train)
    assert not torch.equal(load_shape_superclasses(6, 2, seed=1, device="cpu").x_train, a.x_train)
    assert load_dataset("shape_superclasses", n_train_per_fine=6, n_test_per_fine=2, device="cpu").name == a.name
    with pytest.raises(ValueError, match="n_train_per_fine=0"):
        load_shape_superclasses(0, 1)


def test_tasks_hold_every_super_class_and_one_look_each():
    ds = load_shape_superclasses(10, 4, seed=0, device="cpu")
    split = superclass_split(ds.extras["fine_train"], ds.extras["coarse_train"])
    assert [sorted(f % 5 for f in task) for task in split] == [[i] * 20 for i in range(5)]
    tasks = superclass_tasks(ds)
    assert all(sorted(set(t.y_train.tolist())) == list(range(20)) for t in tasks)


def test_colour_says_nothing_of_the_super_class():
    """Decided before any grid: nearest class means of the images' average colours classify super-classes at most
    twice as well as chance (1/20)."""
    p = shape_superclass_properties(load_shape_superclasses(40, 20, seed=0, device="cpu"))
    assert p["classes_per_task"] == 20 and p["colour_accuracy"] <= 2 * p["chance"]
    fg = load_shape_superclasses(40, 20, seed=0, device="cpu").extras["fg_train"].double().numpy()
    hue = np.array([colorsys.rgb_to_hsv(*c)[0] for c in fg])
    counts = np.histogram(hue, bins=6, range=(0, 1))[0]
    assert counts.min() > 0.05 * len(hue)                            # every hue, not a few chosen ones
    for c in range(20):                                              # and the same spread for every super-class
        own = hue[np.repeat(np.arange(20), 5 * 40) == c]
        assert np.histogram(own, bins=6, range=(0, 1))[0].min() > 0


def test_bright_objects_on_dark_grounds():
    """The silhouette is visible whatever the hue: the object's luminance in [0.6, 1], the ground's in [0, 0.35]."""
    ds = load_shape_superclasses(20, 4, seed=0, device="cpu")
    luma = torch.tensor((0.299, 0.587, 0.114))
    fg = ds.extras["fg_train"] @ luma
    assert fg.min() >= 0.6 - 1e-6 and fg.max() <= 1.0 + 1e-6
    assert ds.extras["fg_train"].min() >= 0 and ds.extras["fg_train"].max() <= 1
    corners = ds.x_train[:, :, :3, :3].mean((2, 3)) @ luma            # the ground, away from the centred object
    assert corners.max() <= 0.35 + 0.15 and corners.median() < 0.25   # texture and noise add a little


def test_the_readme_numbers_of_the_forgetting_check_are_the_shipped_run():
    """One teach-budget run without consolidation on the stand-in (shipped): task 1 is forgotten in part when task 2
    is learned and partly comes back; the README quotes this file."""
    from pathlib import Path

    from scpviz import sweeps

    runs, command = sweeps.shipped_results("cifar100_superclasses_shape_superclasses_none_teach")
    (cfg, h), = runs
    assert cfg["dataset"] == "shape_superclasses" and cfg["method"] == "none" and "--dataset shape_superclasses" in command
    assert h.dataset == SHAPE_SUPERCLASSES_NAME
    R = h.final_matrix()
    assert R[0, 0] - R[1, 0] > 0.2 and R[-1, 0] > R[1, 0]
    readme = " ".join((Path(__file__).resolve().parents[2] / "README.md").read_text().split())
    assert (f"task 1 is learned to {100 * R[0, 0]:.1f} %, falls to {100 * R[1, 0]:.1f} %" in readme
            and f"back at {100 * R[-1, 0]:.1f} % after task 5 (final average {100 * h.final_average_metric():.1f} %)" in readme)
