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

def test_svhn_loader_reads_the_mat_format(tmp_path, write_svhn):
    from scpviz.datasets import find_svhn, load_dataset, load_svhn

    raw = write_svhn(tmp_path / "SVHN")
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


def test_svhn_missing_or_malformed_gives_a_clear_error(tmp_path, write_svhn):
    from scipy.io import savemat

    from scpviz.datasets import find_svhn, load_svhn

    assert find_svhn(tmp_path) is None
    with pytest.raises(FileNotFoundError, match="train_32x32.mat and test_32x32.mat"):
        load_svhn(tmp_path, device="cpu")
    bad = tmp_path / "bad" / "SVHN"
    write_svhn(bad)
    savemat(str(bad / "test_32x32.mat"), {"X": np.zeros((32, 32, 3, 2), np.uint8), "y": np.array([[0], [3]])})
    with pytest.raises(ValueError, match="1..10"):
        load_svhn(tmp_path / "bad", device="cpu")
    with pytest.raises(ValueError, match="size="):
        load_svhn(tmp_path, size=4)


def test_info_reports_svhn(tmp_path, write_svhn):
    from scpviz.cli import info_lines

    assert any(line.startswith("svhn") and "SVHN: not under" in line for line in info_lines(tmp_path))
    write_svhn(tmp_path / "SVHN")
    assert any(line.startswith("svhn") and "SVHN: found under" in line for line in info_lines(tmp_path))


# ----------------------------------------------------------------------------- MNIST-M stand-in and the two-domain stream

def test_blend_with_photos_equals_a_crop_loop():
    from scpviz.datasets import blend_with_photos

    g = torch.Generator().manual_seed(3)
    digits = torch.rand(9, 1, 6, 6, generator=g)
    photos = torch.randint(0, 256, (2, 3, 11, 13), generator=g, dtype=torch.uint8)
    out = blend_with_photos(digits, photos, seed=5, chunk=4)
    # the same draws, in the documented order, and a plain slice per image
    r = torch.Generator().manual_seed(5)
    which, top, left = (torch.randint(k, (9,), generator=r) for k in (2, 11 - 6 + 1, 13 - 6 + 1))
    for n in range(9):
        patch = photos[which[n], :, top[n]:top[n] + 6, left[n]:left[n] + 6].double() / 255
        assert torch.allclose(out[n].double(), (patch - digits[n].double()).abs(), atol=1e-6)
    assert torch.equal(out, blend_with_photos(digits, photos, seed=5))          # deterministic from the seed
    assert not torch.equal(out, blend_with_photos(digits, photos, seed=6))
    with pytest.raises(ValueError, match="digits must be"):
        blend_with_photos(torch.rand(2, 3, 6, 6), photos)
    with pytest.raises(ValueError, match="smaller than"):
        blend_with_photos(torch.rand(2, 1, 20, 20), photos)


def test_mnist_m_stand_in_is_labelled_seeded_and_keeps_labels():
    from scpviz.datasets import MNIST_M_NAME, load_digits_fallback, load_mnist_m, mnist_m

    base = load_digits_fallback(device="cpu")
    mnist_m._CACHE.clear()
    a = load_mnist_m(base, seed=0, size=32, device="cpu")
    assert a.name.startswith(MNIST_M_NAME) and "stand-in for SVHN" in a.name and base.name in a.name
    assert a.x_train.shape == (len(base.y_train), 1, 32, 32) and a.x_test.shape == (len(base.y_test), 1, 32, 32)
    assert torch.equal(a.y_train, base.y_train) and torch.equal(a.y_test, base.y_test)
    assert 0 <= float(a.x_train.min()) and float(a.x_train.max()) <= 1
    assert load_mnist_m(base, seed=0, size=32, device="cpu") is a                     # cached per process
    mnist_m._CACHE.clear()
    b = load_mnist_m(base, seed=0, size=32, device="cpu")
    assert b is not a and torch.equal(a.x_train, b.x_train)                          # deterministic from the seed
    c = load_mnist_m(base, seed=1, size=32, device="cpu")
    assert not torch.equal(a.x_train, c.x_train)
    colour = load_mnist_m(base, seed=0, size=32, color=True, device="cpu")
    assert colour.x_train.shape[1] == 3
    # grayscale = BT.601 luma of the colour version (quantised to 8 bits as a photo would be)
    luma = (colour.x_train * torch.tensor([0.299, 0.587, 0.114]).reshape(1, 3, 1, 1) * 255).round().sum(1, keepdim=True)
    assert torch.allclose(a.x_train, luma / 255, atol=2 / 255)
    # not noise: the photo backgrounds differ from the black MNIST background, the digit strokes stay visible
    assert float(a.x_train[:, :, :3, :3].mean()) > 0.1 > float(base.x_train[:, :, :3, :3].mean())
    assert load_dataset("mnist_m", base=base, device="cpu") is b
    with pytest.raises(ValueError, match="size"):
        load_mnist_m(base, size=4, device="cpu")


def test_domain_shift_tasks_resize_normalise_and_keep_shared_images_apart():
    from scpviz.datasets import domain_shift_tasks, load_digits_fallback, load_mnist_m

    base = load_digits_fallback(device="cpu")
    stand_in = load_mnist_m(base, seed=0, size=32, device="cpu")
    t1, t2 = domain_shift_tasks(base, stand_in, size=32, n_train=200, n_val=50, n_test=100, shared_images=True)
    assert t1.dataset == t2.dataset == f"{base.name} → {stand_in.name}"
    assert (t1.name, t2.name) == (base.name, stand_in.name)
    for t in (t1, t2):
        assert t.x_train.shape == (200, 1, 32, 32) and t.x_val.shape == (50, 1, 32, 32) and t.x_test.shape == (100, 1, 32, 32)
        assert float(t.x_train.min()) >= -1 and float(t.x_train.max()) <= 1 and float(t.x_train.min()) < -0.9
    # no digit image in both tasks (the stand-in's image i is base image i)
    assert not set(t1.meta["indices"].tolist()) & set(t2.meta["indices"].tolist())
    assert not set(t1.meta["test_indices"].tolist()) & set(t2.meta["test_indices"].tolist())
    # labels follow the images; task 1's images are the base images, resized and mapped to [-1, 1]
    i = t1.meta["indices"][50 + 3]
    assert t1.y_train[3] == base.y_train[i]
    up = torch.nn.functional.interpolate(base.x_train[i:i + 1], size=(32, 32), mode="bilinear", align_corners=False)
    assert torch.allclose(t1.x_train[3], up[0].clamp(0, 1) * 2 - 1, atol=1e-6)
    # asking for more than half: each task gets at most half of the shared images
    a, b = domain_shift_tasks(base, stand_in, n_train=None, n_val=10, shared_images=True)
    assert len(a.x_train) + len(b.x_train) + 20 <= len(base.y_train)
    with pytest.raises(ValueError, match="shared_images"):
        domain_shift_tasks(base, load_mnist_m(base, seed=0, size=32, device="cpu").__class__(
            "x", base.x_train[:5], base.y_train[:5], base.x_test, base.y_test, "x"), shared_images=True)
    with pytest.raises(ValueError, match="size"):
        domain_shift_tasks(base, stand_in, size=4)


def test_domain_shift_tasks_read_generated_svhn(tmp_path, write_svhn):
    from scpviz.datasets import domain_shift_tasks, load_digits_fallback, load_svhn

    write_svhn(tmp_path / "SVHN", n_train=30, n_test=12)
    t1, t2 = domain_shift_tasks(load_digits_fallback(device="cpu"), load_svhn(tmp_path, device="cpu"), n_train=20,
                                n_val=5, n_test=10)
    assert t2.x_train.shape == (20, 1, 32, 32) and t2.x_test.shape == (10, 1, 32, 32) and "SVHN" in t2.dataset
    assert set(t2.y_train.tolist()) <= set(range(10))


# ----------------------------------------------------------------------------- CIFAR-100 (pickles, torchvision's format)

def _write_cifar100(folder, per_fine=(2, 1), seed=0):
    """Small train/test/meta pickles exactly as CIFAR-100's python version: ``data`` (N, 3072) uint8 (R, G, B planes,
    row-major), ``fine_labels``, ``coarse_labels`` lists; fine ids assigned to super-classes at random (as the real
    alphabetical ids are), 5 per super-class."""
    import pickle

    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    fine_to_coarse = {int(f): int(c) for f, c in zip(rng.permutation(100), np.repeat(np.arange(20), 5))}
    out = {}
    for split, k in zip(("train", "test"), per_fine):
        fine = np.repeat(np.arange(100), k)
        rng.shuffle(fine)
        data = rng.integers(0, 256, size=(len(fine), 3072), dtype=np.uint8)
        d = {"filenames": [f"img_{i}.png" for i in range(len(fine))], "batch_label": f"{split} batch",
             "fine_labels": fine.tolist(), "coarse_labels": [fine_to_coarse[f] for f in fine], "data": data}
        with open(folder / split, "wb") as f:
            pickle.dump(d, f, protocol=2)
        out[split] = d
    with open(folder / "meta", "wb") as f:
        pickle.dump({"fine_label_names": [f"fine{i}" for i in range(100)],
                     "coarse_label_names": [f"coarse{i}" for i in range(20)]}, f, protocol=2)
    return out, fine_to_coarse


def test_cifar100_loader_and_superclass_split(tmp_path):
    from scpviz.datasets import find_cifar100, fine_to_coarse, load_cifar100, superclass_split

    raw, mapping = _write_cifar100(tmp_path / "cifar-100-python")
    assert find_cifar100(tmp_path) == tmp_path / "cifar-100-python"
    ds = load_dataset("cifar100", root=tmp_path, device="cpu")
    assert ds.name == "CIFAR-100" and ds.x_train.shape == (200, 3, 32, 32) and ds.x_test.shape == (100, 3, 32, 32)
    d = raw["train"]
    for n, c, i, j in ((0, 0, 0, 0), (7, 1, 5, 17), (199, 2, 31, 30)):   # R, G, B planes, row-major
        assert float(ds.x_train[n, c, i, j]) == pytest.approx(d["data"][n, c * 1024 + i * 32 + j] / 255)
    assert ds.y_train.tolist() == d["coarse_labels"] and ds.extras["fine_train"].tolist() == d["fine_labels"]
    assert load_cifar100(tmp_path, device="cpu", label="fine").y_test.tolist() == raw["test"]["fine_labels"]
    assert ds.extras["coarse_names"][3] == "coarse3"
    assert fine_to_coarse(ds.extras["fine_train"], ds.extras["coarse_train"]) == mapping   # read off the files
    tasks = superclass_split(ds.extras["fine_train"], ds.extras["coarse_train"])
    assert len(tasks) == 5 and sorted(f for t in tasks for f in t) == list(range(100))   # no class in two tasks
    for i, t in enumerate(tasks):
        assert sorted(mapping[f] for f in t) == list(range(20))                           # every super-class once
        assert all(f == sorted(k for k, c in mapping.items() if c == mapping[f])[i] for f in t)   # its i-th fine class
    with pytest.raises(ValueError, match="needs 4 fine classes"):
        superclass_split(ds.extras["fine_train"], ds.extras["coarse_train"], n_tasks=4)
    with pytest.raises(ValueError, match="not a CIFAR-100 hierarchy"):
        fine_to_coarse(torch.tensor([1, 1]), torch.tensor([0, 2]))
    with pytest.raises(ValueError, match="label="):
        load_cifar100(tmp_path, label="both")


def test_cifar100_missing_or_malformed_gives_a_clear_error(tmp_path):
    import pickle

    from scpviz.datasets import load_cifar100

    with pytest.raises(FileNotFoundError, match="cifar-100-python"):
        load_cifar100(tmp_path / "nothing", device="cpu")
    bad = tmp_path / "cifar-100-python"
    _write_cifar100(bad)
    with open(bad / "test", "wb") as f:
        pickle.dump({"data": np.zeros((2, 3072), np.uint8), "fine_labels": [0, 1]}, f, protocol=2)
    with pytest.raises(ValueError, match="coarse_labels"):
        load_cifar100(tmp_path, device="cpu")


def test_superclass_tasks_on_generated_cifar100(tmp_path):
    from scpviz.datasets import load_cifar100, superclass_tasks

    raw, mapping = _write_cifar100(tmp_path / "cifar-100-python", per_fine=(6, 2))
    ds = load_cifar100(tmp_path, device="cpu")
    tasks = superclass_tasks(ds, n_val=20, n_test=None, subset_seed=3)
    assert len(tasks) == 5 and all(t.dataset == "CIFAR-100" for t in tasks)
    seen = set()
    fine = np.asarray(raw["train"]["fine_labels"])
    for i, t in enumerate(tasks):
        assert t.x_train.shape == (100, 3, 32, 32) and len(t.x_val) == 20 and len(t.x_test) == 40
        idx = torch.cat([t.meta["train_indices"], t.meta["val_indices"]]).tolist()
        assert len(set(idx)) == 120 and not seen & set(idx)               # no image twice, in no two tasks
        seen |= set(idx)
        # the i-th fine class (by id) of every super-class, labelled with the super-class
        want = sorted(sorted(f for f, c in mapping.items() if c == cc)[i] for cc in range(20))
        assert sorted(t.meta["fine_classes"]) == want and sorted(set(fine[idx].tolist())) == want
        assert sorted(set(t.y_train.tolist())) == list(range(20)) and sorted(set(t.y_test.tolist())) == list(range(20))
        assert t.y_train.tolist() == [mapping[f] for f in fine[t.meta["train_indices"].tolist()]]
        # images: the dataset's, scaled to [-1, 1]
        assert torch.equal(t.x_train, ds.x_train[t.meta["train_indices"]] * 2 - 1)
    assert len(seen) == 600
    with pytest.raises(ValueError, match="extras"):
        superclass_tasks(datasets.load_digits_fallback(device="cpu"))
    with pytest.raises(ValueError, match="n_val=120 leaves no training"):
        superclass_tasks(ds, n_val=120)


def test_superclass_standin_has_cifar100_structure():
    from scpviz.datasets import SUPERCLASS_STANDIN_NAME, load_superclass_standin, superclass_tasks

    ds = load_dataset("cifar100_standin", n_train_per_fine=4, n_test_per_fine=2, seed=1, device="cpu")
    assert ds.name == SUPERCLASS_STANDIN_NAME and ds.x_train.shape == (400, 3, 32, 32)
    assert 0 <= float(ds.x_train.min()) and float(ds.x_train.max()) <= 1
    fine, coarse = ds.extras["fine_train"], ds.extras["coarse_train"]
    assert torch.equal(coarse, fine // 5) and torch.equal(ds.y_train, coarse)
    assert fine.bincount().tolist() == [4] * 100 and ds.extras["fine_test"].bincount().tolist() == [2] * 100
    again = load_superclass_standin(4, 2, seed=1, device="cpu")
    assert again is ds and not torch.equal(load_superclass_standin(4, 2, seed=2, device="cpu").x_train, ds.x_train)
    tasks = superclass_tasks(ds)
    assert [t.meta["fine_classes"] for t in tasks] == [list(range(i, 100, 5)) for i in range(5)]
    assert tasks[2].meta["fine_names"][0] == "shape 0, look 2" and tasks[0].dataset == SUPERCLASS_STANDIN_NAME
    # the sub-population shifts per task: mean colour of task 1's images differs from task 2's within a super-class
    m = [t.x_train.view(20, 4, 3, -1).mean((1, 3)) for t in tasks[:2]]
    assert (m[0] - m[1]).abs().mean() > 0.1
    with pytest.raises(ValueError, match="n_train_per_fine"):
        load_superclass_standin(0)
