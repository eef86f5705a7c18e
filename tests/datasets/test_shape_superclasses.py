"""The shapes-with-parts stand-in for CIFAR-100: CIFAR-100's structure, deterministic from its seed, and the
properties it was designed for (decided before any grid ran on it; see its module notes): no colour code, every
super-class in every task, a texture family per task that says nothing of the label."""
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
    fg = load_shape_superclasses(40, 20, seed=0, device="cpu").extras["fg_train"]
    assert fg.std(0).min() > 0.2                                    # colours spread over the whole range
