from pathlib import Path

import numpy as np
import pytest
import torch

from scpviz import datasets
from scpviz.datasets import (
    DIGITS_NAME,
    MNIST_NAME,
    digit_tasks,
    load_dataset,
    load_mnist,
    permutations,
    permuted_mnist_tasks,
)
from scpviz.datasets import mnist as mnist_module

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "data"


@pytest.fixture(autouse=True)
def fresh_cache():
    mnist_module._CACHE.clear()
    mnist_module._NOTIFIED.clear()
    yield
    mnist_module._CACHE.clear()


@pytest.fixture
def tiny_mnist(tmp_path, write_idx_mnist):
    return write_idx_mnist(tmp_path, n_train=30, n_test=20, seed=1)


def test_mnist_path_reads_idx_files_through_torchvision(tiny_mnist, capsys):
    ds = load_mnist(tiny_mnist, device="cpu", download=False)
    assert ds.name == MNIST_NAME and not ds.is_fallback
    assert ds.x_train.shape == (30, 1, 28, 28) and ds.x_test.shape == (20, 1, 28, 28)
    assert ds.x_train.dtype == torch.float32 and ds.y_train.dtype == torch.int64
    # pixel values: the bytes written, scaled to [0, 1]
    raw = np.fromfile(tiny_mnist / "MNIST" / "raw" / "train-images-idx3-ubyte", dtype=np.uint8)[16:]
    assert np.allclose(ds.x_train.flatten().numpy(), raw / 255.0)
    assert ds.y_train.tolist() == [i % 10 for i in range(30)]
    assert "fallback" not in capsys.readouterr().out


def test_fallback_when_missing_prints_one_notice(tmp_path, capsys):
    ds = load_mnist(tmp_path / "empty", device="cpu", download=False)
    assert ds.name == DIGITS_NAME and ds.is_fallback
    assert len(ds.y_train) + len(ds.y_test) == 1797
    assert ds.x_train.shape[1:] == (1, 28, 28)
    assert 0.0 <= ds.x_train.min() and ds.x_train.max() <= 1.0
    assert sorted(ds.y_train.unique().tolist()) == list(range(10))
    out = capsys.readouterr().out
    assert "MNIST not found" in out and "SCPVIZ_DATA" in out and DIGITS_NAME in out
    assert ds.notice and "SCPVIZ_DATA" in ds.notice
    load_mnist(tmp_path / "empty", device="cpu", download=False)
    assert capsys.readouterr().out == ""  # once per process


def test_fallback_pixels_match_sklearn():
    from sklearn.datasets import load_digits

    ds = datasets.load_digits_fallback(device="cpu")
    imgs = load_digits().images
    # the total ink of each image, relative to the 8x8 original, is preserved up to resampling
    # (bilinear 8->20 scales area by (20/8)^2)
    ratio = ds.x_train.sum(dim=(1, 2, 3)).mean() / (imgs.sum(axis=(1, 2)).mean() / 16.0)
    assert 5.0 < float(ratio) < 7.5
    assert torch.all(ds.x_train[:, :, :4, :] == 0) and torch.all(ds.x_train[:, :, -4:, :] == 0)


def test_no_fallback_raises(tmp_path):
    with pytest.raises(FileNotFoundError, match="SCPVIZ_DATA"):
        load_mnist(tmp_path / "none", device="cpu", download=False, allow_fallback=False)


def test_unwritable_root_is_named(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(mnist_module, "_writable", lambda p: False)
    ds = load_mnist(tmp_path / "ro", device="cpu", download=True)
    assert ds.is_fallback
    assert "not writable" in capsys.readouterr().out


def test_unknown_dataset():
    with pytest.raises(ValueError, match="not a known dataset"):
        load_dataset("cifar-1000")


def test_env_variable_is_used(tiny_mnist, monkeypatch):
    monkeypatch.setenv("SCPVIZ_DATA", str(tiny_mnist))
    assert load_dataset("mnist", device="cpu", download=False).name == MNIST_NAME


@pytest.mark.skipif(not (SHARED / "MNIST" / "raw").is_dir(), reason="shared MNIST not beside this checkout")
def test_real_mnist_from_shared():
    ds = load_mnist(SHARED, device="cpu", download=False)
    assert ds.name == MNIST_NAME and len(ds.y_train) == 60000 and len(ds.y_test) == 10000


def test_permutations_reproducible_and_distinct():
    a = permutations(5, dim=784, seed=3)
    b = permutations(5, dim=784, seed=3)
    c = permutations(5, dim=784, seed=4)
    assert torch.equal(a, b) and not torch.equal(a[1:], c[1:])
    assert torch.equal(a[0], torch.arange(784))
    for p in a:  # each row is a permutation
        assert torch.equal(p.sort().values, torch.arange(784))
    rows = {tuple(p.tolist()) for p in a}
    assert len(rows) == 5
    assert not torch.equal(permutations(2, 784, seed=3, identity_first=False)[0], torch.arange(784))


def test_permuted_stream_applies_permutation(tiny_mnist):
    ds = load_mnist(tiny_mnist, device="cpu", download=False)
    tasks = permuted_mnist_tasks(ds, n_tasks=3, seed=0, n_train=20, n_test=10, n_val=5)
    assert len(tasks) == 3 and all(t.dataset == MNIST_NAME for t in tasks)
    base = tasks[0]
    for t in tasks:
        perm = t.meta["permutation"]
        assert t.x_train.shape == (20, 784) and t.x_val.shape == (5, 784) and t.x_test.shape == (10, 784)
        # brute force: permute each image with a Python loop
        for i in range(3):
            assert torch.equal(t.x_train[i], base.x_train[i][perm])
        assert torch.equal(t.y_train, base.y_train)
    # validation images come from the training split, disjoint from the training subset
    flat = ds.x_train.flatten(1)
    def rows_in(x):
        return [int(((flat - r).abs().sum(1) == 0).nonzero()[0]) for r in x]
    assert not set(rows_in(base.x_val)) & set(rows_in(base.x_train))


def test_digit_stream(tiny_mnist):
    ds = load_mnist(tiny_mnist, device="cpu", download=False)
    tasks = digit_tasks(ds, order=(3, 1))
    assert [t.meta["digit"] for t in tasks] == [3, 1]
    for t, d in zip(tasks, (3, 1)):
        expected = ds.x_train[ds.y_train == d].flatten(1)
        assert t.x_train.shape == expected.shape and t.y_train is None
        assert sorted(map(tuple, t.x_train.tolist())) == sorted(map(tuple, expected.tolist()))
    imgs = digit_tasks(ds, order=(0,), flatten=False)
    assert imgs[0].input_shape == (1, 28, 28)


@pytest.mark.parametrize("order,msg", [((), "empty"), ((1, 1), "repeats"), ((10,), "0-9"), ((-1,), "0-9")])
def test_digit_stream_bad_order(tiny_mnist, order, msg):
    ds = load_mnist(tiny_mnist, device="cpu", download=False)
    with pytest.raises(ValueError, match=msg):
        digit_tasks(ds, order=order)


def test_stream_bad_sizes(tiny_mnist):
    ds = load_mnist(tiny_mnist, device="cpu", download=False)
    with pytest.raises(ValueError, match="n_train"):
        permuted_mnist_tasks(ds, n_tasks=2, n_train=0)
    with pytest.raises(ValueError, match="n_val"):
        permuted_mnist_tasks(ds, n_tasks=2, n_val=30)
    with pytest.raises(ValueError, match="n_tasks"):
        permuted_mnist_tasks(ds, n_tasks=0)


# ----------------------------------------------------------------------------- SVHN (.mat files, torchvision's format)

def _write_svhn(folder, n_train=7, n_test=4, seed=0):
    """Small train/test .mat files exactly as SVHN ships them: X (32, 32, 3, N) uint8, y (N, 1), digit 0 → 10."""
    from scipy.io import savemat

    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    out = {}
    for split, n in (("train", n_train), ("test", n_test)):
        X = rng.integers(0, 256, size=(32, 32, 3, n), dtype=np.uint8)
        y = rng.integers(1, 11, size=(n, 1)).astype(np.uint8)
        y[0, 0] = 10                                     # at least one zero digit in each split
        savemat(str(folder / f"{split}_32x32.mat"), {"X": X, "y": y})
        out[split] = (X, y)
    return out


def test_svhn_loader_reads_the_mat_format(tmp_path):
    from scpviz.datasets import find_svhn, load_dataset, load_svhn

    raw = _write_svhn(tmp_path / "SVHN")
    assert find_svhn(tmp_path) == tmp_path / "SVHN"
    ds = load_dataset("svhn", root=tmp_path, device="cpu")
    assert ds.name == "SVHN (grayscale, 32x32)" and ds.x_train.shape == (7, 1, 32, 32) and ds.x_test.shape == (4, 1, 32, 32)
    X, y = raw["train"]
    want_y = np.where(y[:, 0] == 10, 0, y[:, 0])
    assert ds.y_train.tolist() == want_y.tolist() and ds.y_train.dtype == torch.int64 and ds.y_train[0] == 0
    # grayscale: ITU-R BT.601 luma of the RGB pixel, by hand for a few pixels
    for n, i, j in ((0, 0, 0), (3, 5, 17), (6, 31, 2)):
        r, g, b = (float(v) for v in X[i, j, :, n])
        assert float(ds.x_train[n, 0, i, j]) == pytest.approx((0.299 * r + 0.587 * g + 0.114 * b) / 255, abs=1e-6)
    assert 0 <= float(ds.x_train.min()) and float(ds.x_train.max()) <= 1
    small = load_svhn(tmp_path, device="cpu", size=28)
    assert small.x_test.shape == (4, 1, 28, 28) and small.name == "SVHN (grayscale, 28x28)"
    assert torch.allclose(small.x_test.mean((1, 2, 3)), ds.x_test.mean((1, 2, 3)), atol=0.02)   # same images


def test_svhn_missing_or_malformed_gives_a_clear_error(tmp_path):
    from scipy.io import savemat

    from scpviz.datasets import find_svhn, load_svhn

    assert find_svhn(tmp_path) is None
    with pytest.raises(FileNotFoundError, match="train_32x32.mat and test_32x32.mat"):
        load_svhn(tmp_path, device="cpu")
    bad = tmp_path / "bad" / "SVHN"
    _write_svhn(bad)
    savemat(str(bad / "test_32x32.mat"), {"X": np.zeros((32, 32, 3, 2), np.uint8), "y": np.array([[0], [3]])})
    with pytest.raises(ValueError, match="1..10"):
        load_svhn(tmp_path / "bad", device="cpu")
    with pytest.raises(ValueError, match="size="):
        load_svhn(tmp_path, size=4)


def test_info_reports_svhn(tmp_path):
    from scpviz.cli import info_lines

    assert any(line.startswith("svhn") and "not found" in line for line in info_lines(tmp_path))
    _write_svhn(tmp_path / "SVHN")
    assert any(line.startswith("svhn") and "found in" in line and "not" not in line for line in info_lines(tmp_path))
