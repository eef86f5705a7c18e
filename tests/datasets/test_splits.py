"""No image, frame or near-copy of a frame in two splits: segmentation's splits are runs of frames kept ``gap`` frames
apart (validation at the start of each sequence, test at its end), the gap at least the frames' measured
decorrelation lag; every other experiment's validation images are drawn from the training pool without
replacement, apart from its test images."""
import pytest
import torch

from scpviz import experiments
from scpviz.datasets import frame_decorrelation_lag, load_synthia_standin, sequence_tasks
from scpviz.datasets.images import ImageDataset


def _numbered(n_frames, n_test, h=2, w=3):
    """A sequence whose frame i is filled with i (train part) or 1000 + i (test part), labels likewise: the split
    each frame ended in can be read off its value."""
    v = torch.arange(n_frames, dtype=torch.float32)
    x = v[:, None, None, None].expand(n_frames, 3, h, w) / 10_000
    y = torch.arange(n_frames)[:, None, None].expand(n_frames, h, w).clone()
    k = n_frames - n_test
    return ImageDataset(name="numbered", x_train=x[:k], y_train=y[:k], x_test=x[k:], y_test=y[k:], source="test")


def _frames(t, split):
    return sorted(int(v) for v in getattr(t, f"y_{split}")[:, 0, 0])


@pytest.mark.parametrize("n_train, n_val, gap", [(10, 4, 3), (None, 5, 0), (6, 2, 7)])
def test_validation_first_training_last_with_gaps(n_train, n_val, gap):
    seq = _numbered(60, 10)
    t, = sequence_tasks([seq], n_train=n_train, n_val=n_val, n_test=8, gap=gap)
    val, train, test = _frames(t, "val"), _frames(t, "train"), _frames(t, "test")
    assert val == list(range(n_val))                                    # the sequence's first frames
    assert train[-1] == 50 - 1 - gap and min(test) == 50               # training ends gap frames before the test
    assert train[0] - val[-1] - 1 >= gap and min(test) - train[-1] - 1 == gap
    assert len(train) == (50 - gap - (n_val + gap) if n_train is None else n_train) and len(test) == 8
    assert t.meta["gap"] == gap and t.meta["val_frames"] == (0, n_val)


def test_the_earlier_layout_is_kept_for_results_made_with_it():
    t, = sequence_tasks([_numbered(60, 10)], n_train=10, n_val=4, n_test=8, val_frames="before_test")
    assert _frames(t, "val") == [46, 47, 48, 49] and _frames(t, "train") == list(range(36, 46))


def test_impossible_splits_are_refused():
    seq = _numbered(30, 10)
    with pytest.raises(ValueError, match="n_val=10 and gap=5 leave no training frames"):
        sequence_tasks([seq], n_val=10, gap=5)
    with pytest.raises(ValueError, match="gap=-1 must be a non-negative integer"):
        sequence_tasks([seq], gap=-1)
    with pytest.raises(ValueError, match="val_frames='end' must be"):
        sequence_tasks([seq], val_frames="end")


def test_decorrelation_lag_of_a_moving_sum_is_its_window():
    """Frame i = e_i + ... + e_{i+w-1} of white noise: frames k apart share w - k terms, so their distance grows
    with k up to k = w and is constant beyond — the lag is w (closed form; many pixels make the medians sharp)."""
    g = torch.Generator().manual_seed(0)
    for w in (1, 4, 9):
        e = torch.randn(120 + w, 4000, generator=g, dtype=torch.float64)
        frames = torch.stack([e[i:i + w].sum(0) for i in range(120)])
        assert frame_decorrelation_lag(frames, far=30) == w
    with pytest.raises(ValueError, match="far=200 must be an integer from 1 to 119"):
        frame_decorrelation_lag(frames, far=200)


def test_the_teach_gap_covers_the_stand_ins_decorrelation_lag():
    """The teach budget's gap (10 frames) is at least the lag measured on both stand-in sequences."""
    exp = experiments.get("synthia_segmentation")
    cfg = exp.config("none", mode="teach")
    for season in ("summer", "winter"):
        seq = load_synthia_standin(season, n_frames=cfg["n_frames"], size=(cfg["height"], cfg["width"]),
                                   n_test=cfg["n_test"], device="cpu")
        assert frame_decorrelation_lag(seq.x_train, far=30) <= cfg["gap"], season
    tasks = exp.tasks(cfg, "cpu")
    for t in tasks:
        (_, v1), (t0, _) = t.meta["val_frames"], t.meta["train_frames"]
        assert t0 - v1 >= cfg["gap"] and len(t.x_train) == cfg["n_train"] and len(t.x_val) == cfg["n_val"]


def _rows(x):
    return {tuple(r) for r in (x.flatten(1) * 1000).round().to(torch.int64).tolist()}


# every experiment, small: MNIST-based ones on random images written in MNIST's own files (sklearn's digits, the CI
# stand-in, repeat images by themselves), the others on their stand-ins
CASES = {"permuted_mnist": dict(dataset="mnist", n_tasks=2, n_train=200, n_val=50, n_test=100),
         "autoencoders": dict(dataset="mnist", order=[2, 7], n_train=60, n_val=20, n_test=40),
         "mnist_svhn": dict(dataset="mnist", second="printed_digits", n_train=200, n_val=50, n_test=100),
         "cifar100_superclasses": dict(dataset="shape_superclasses", n_train=200, n_val=40, n_test=100)}


@pytest.mark.parametrize("name", CASES)
def test_no_image_is_in_two_splits(name, tmp_path, write_idx_mnist):
    """Validation images are held out of the training pool (disjoint draws) and test images come from the test
    files; compared as images (rounded to 1/1000), so a duplicate under another index would be caught too."""
    exp = experiments.get(name)
    write_idx_mnist(tmp_path, n_train=1000, n_test=500)
    cfg = exp.config("none", seed=3, mode="quick", data_root=tmp_path, **CASES[name])
    for t in exp.tasks(cfg, "cpu"):
        train, val, test = _rows(t.x_train), _rows(t.x_val), _rows(t.x_test)
        assert (len(train), len(val), len(test)) == (len(t.x_train), len(t.x_val), len(t.x_test)), t.name
        assert not (train & val) and not (train & test) and not (val & test), t.name
