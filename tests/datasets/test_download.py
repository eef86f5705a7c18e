"""Downloads, end to end, against a local HTTP server (127.0.0.1) standing in for the official hosts through
$SCPVIZ_MIRROR: files generated in exactly the real formats, served, checked against checksums (the tests put their
files' MD5 sums where torchvision keeps the real ones), unpacked, moved into place, loaded, and fed to the
experiments; a wrong checksum leaves the data folder as it was. Also: damaged MNIST files and impossible requests
give clear errors."""
import functools
import gzip
import hashlib
import http.server
import shutil
import tarfile
import threading
from pathlib import Path

import numpy as np
import pytest
import torch

from scpviz import cli, experiments
from scpviz.datasets import download, load_dataset, resolve_auto
from scpviz.datasets.mnist import damaged_mnist_files, load_mnist

from tests.conftest import _write_idx_mnist, _write_svhn_mat
from tests.datasets.test_datasets import _write_cifar100


def _md5(path):
    return hashlib.md5(Path(path).read_bytes()).hexdigest()


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def mirror(tmp_path, monkeypatch):
    """A folder served on 127.0.0.1 as $SCPVIZ_MIRROR; files written into ``served`` are downloadable."""
    served = tmp_path / "served"
    served.mkdir()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(served)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv(download.MIRROR_ENV, f"http://127.0.0.1:{server.server_address[1]}/")
    yield served
    server.shutdown()
    server.server_close()


def _serve_svhn(served, monkeypatch, corrupt=False):
    from torchvision.datasets import SVHN

    raw = _write_svhn_mat(served, n_train=7, n_test=4)
    table = {s: [f"http://ufldl.stanford.edu/housenumbers/{s}_32x32.mat", f"{s}_32x32.mat",
                 _md5(served / f"{s}_32x32.mat")] for s in ("train", "test")}
    if corrupt:
        table["test"][2] = "0" * 32
    monkeypatch.setattr(SVHN, "split_list", table)
    return raw


def _serve_cifar100(served, tmp_path, monkeypatch):
    from torchvision.datasets import CIFAR100

    raw, mapping = _write_cifar100(tmp_path / "src" / "cifar-100-python", per_fine=(2, 1))
    with tarfile.open(served / "cifar-100-python.tar.gz", "w:gz") as tar:
        tar.add(tmp_path / "src" / "cifar-100-python", arcname="cifar-100-python")
    monkeypatch.setattr(CIFAR100, "tgz_md5", _md5(served / "cifar-100-python.tar.gz"))
    return raw, mapping


def _serve_mnist(served, tmp_path, monkeypatch, n_train=60, n_test=30):
    from torchvision.datasets import MNIST

    src = _write_idx_mnist(tmp_path / "mnist-src", n_train=n_train, n_test=n_test) / "MNIST" / "raw"
    resources = []
    for p in sorted(src.iterdir()):
        with open(p, "rb") as f, gzip.open(served / f"{p.name}.gz", "wb") as g:
            shutil.copyfileobj(f, g)
        resources.append((f"{p.name}.gz", _md5(served / f"{p.name}.gz")))
    monkeypatch.setattr(MNIST, "resources", resources)


def _leftovers(folder):
    return [p.name for p in Path(folder).glob(".scpviz-download-*")]


def test_svhn_is_downloaded_checked_and_loaded_through_the_mirror(mirror, tmp_path, monkeypatch):
    raw = _serve_svhn(mirror, monkeypatch)
    data = tmp_path / "data"
    assert resolve_auto("svhn", data) == "svhn"           # absent, but the mirror answers: the real one
    ds = load_dataset("svhn", root=data, device="cpu")
    assert sorted(p.name for p in (data / "SVHN").iterdir()) == ["test_32x32.mat", "train_32x32.mat"]
    assert _leftovers(data) == [] and ds.x_train.shape == (7, 1, 32, 32) and ds.x_test.shape == (4, 1, 32, 32)
    y = raw["train"][1].reshape(-1).astype(int)
    y[y == 10] = 0
    assert ds.y_train.tolist() == y.tolist()


def test_a_wrong_checksum_names_the_file_and_leaves_the_data_folder_as_it_was(mirror, tmp_path, monkeypatch):
    _serve_svhn(mirror, monkeypatch, corrupt=True)
    data = tmp_path / "data"
    data.mkdir()
    with pytest.raises(ValueError, match=r"test_32x32\.mat from http://127\.0\.0\.1:\d+/test_32x32\.mat does not "
                                         r"match torchvision's checksum"):
        load_dataset("svhn", root=data, device="cpu")
    assert list(data.iterdir()) == []                     # no SVHN folder, no half file, no temporary folder
    with pytest.raises(FileNotFoundError, match="SVHN not found"):
        load_dataset("svhn", root=data, device="cpu", download=False)


def test_cifar100_archive_is_downloaded_unpacked_and_feeds_the_experiment(mirror, tmp_path, monkeypatch):
    raw, mapping = _serve_cifar100(mirror, tmp_path, monkeypatch)
    data = tmp_path / "data"
    exp = experiments.get("cifar100_superclasses")
    cfg = exp.config("none", mode="quick", data_root=data, n_train=20, n_val=5, n_test=10)
    assert cfg["dataset"] == "cifar100"                   # "auto": downloadable, so the real dataset
    tasks = exp.tasks(cfg, "cpu")
    assert sorted(p.name for p in (data / "cifar-100-python").iterdir()) == ["meta", "test", "train"]
    assert _leftovers(data) == [] and not (data / "cifar-100-python.tar.gz").exists()
    assert tasks[0].dataset == "CIFAR-100"
    model = exp.model(cfg, tasks)
    out = model(tasks[0].x_train[:4])
    assert out.shape[0] == 4 and torch.isfinite(out).all()


def test_mnist_and_svhn_come_from_the_mirror_into_the_experiment(mirror, tmp_path, monkeypatch):
    _serve_svhn(mirror, monkeypatch)
    _serve_mnist(mirror, tmp_path, monkeypatch)
    data = tmp_path / "data"
    exp = experiments.get("mnist_svhn")
    cfg = exp.config("none", mode="quick", data_root=data, dataset="mnist", n_train=20, n_val=5, n_test=10)
    assert cfg["second"] == "svhn"
    tasks = exp.tasks(cfg, "cpu")
    assert [t.name for t in tasks] == ["MNIST", "SVHN (grayscale, 32x32)"]
    assert tasks[0].dataset == "MNIST → SVHN (grayscale, 32x32)"
    assert damaged_mnist_files(data) == {} and _leftovers(data) == []
    out = exp.model(cfg, tasks)(tasks[1].x_train)       # SVHN's first batch (what is left of 7 after validation)
    assert out.shape == (len(tasks[1].x_train), 10) and len(out) > 0 and torch.isfinite(out).all()


@pytest.mark.parametrize("damage", ["truncate", "random"])
def test_a_damaged_mnist_file_is_named_offline_and_downloaded_again_online(damage, mirror, tmp_path, monkeypatch):
    data = tmp_path / "data"
    _write_idx_mnist(data, n_train=60, n_test=30)
    path = data / "MNIST" / "raw" / "train-images-idx3-ubyte"
    if damage == "truncate":
        path.write_bytes(path.read_bytes()[:5000])
    else:
        path.write_bytes(np.random.default_rng(0).integers(0, 256, path.stat().st_size, dtype=np.uint8).tobytes())
    assert list(damaged_mnist_files(data)) == [path]
    with pytest.raises(ValueError, match=r"MNIST file .*train-images-idx3-ubyte is damaged .*delete it"):
        load_mnist(data, device="cpu", download=False)
    _serve_mnist(mirror, tmp_path, monkeypatch)           # online: the damaged file is fetched again
    ds = load_mnist(data, device="cpu")
    assert ds.name == "MNIST" and ds.x_train.shape == (60, 1, 28, 28) and damaged_mnist_files(data) == {}


def test_offline_auto_means_the_stand_in_and_a_bad_mirror_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(download, "_reachable", lambda url: False)
    assert resolve_auto("svhn", tmp_path) == "printed_digits" and resolve_auto("cifar100", tmp_path) == "shape_superclasses"
    with pytest.raises(FileNotFoundError, match="CIFAR-100 not found"):
        load_dataset("cifar100", root=tmp_path, device="cpu")
    monkeypatch.setenv(download.MIRROR_ENV, "ftp://example.org/data")
    with pytest.raises(ValueError, match=r"must be an http\(s\):// or file:// URL"):
        download.can_download("svhn")


def test_impossible_requests_are_refused_before_anything_runs(tmp_path, capsys, monkeypatch):
    if not torch.cuda.is_available():
        assert cli.main(["run", "permuted_mnist", "--mode", "quick", "--device", "cuda", "--out", str(tmp_path)]) == 2
        err = capsys.readouterr().err
        assert "--device cuda" in err and "CUDA is not available" in err and "--device cpu" in err
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    out = blocker / "runs"                                # a folder inside a file: cannot be made
    assert cli.main(["run", "permuted_mnist", "--mode", "quick", "--dataset", "digits", "--out", str(out)]) == 2
    assert f"--out {out} cannot be written" in capsys.readouterr().err
    assert cli.main(["sweep", "permuted_mnist", "--mode", "quick", "--cache", str(out)]) == 2
    assert f"--cache {out} cannot be written" in capsys.readouterr().err


def test_runs_on_a_real_dataset_and_on_its_stand_in_never_share_a_table_or_figure():
    from scpviz import sweeps
    from scpviz.training import History
    from scpviz.viz import plots

    def run(method, seed, dataset):
        pts = [{"task": 0, "epoch": 1, "test": [0.9, None], "val": [0.9, None]},
               {"task": 1, "epoch": 1, "test": [0.5, 0.8], "val": [0.5, 0.8]}]
        cfg = {"method": method, "lam": 0.0 if method == "none" else 1.0, "seed": seed}
        return cfg, History(config=cfg, dataset=dataset, task_names=["A", "B"], points=pts)

    mixed = [run("none", 0, "MNIST → SVHN (grayscale, 32x32)"), run("none", 1, "MNIST → MNIST-M (stand-in for SVHN)")]
    for draw in (sweeps.summarize, lambda r: sweeps.choose_lambda(r, split="val"), plots.plot_tradeoff,
                 lambda r: plots.plot_task_panels({"none": [h for _, h in r]})):
        with pytest.raises(ValueError, match="mix datasets"):
            draw(mixed)
    assert len(sweeps.summarize(mixed[:1])) == 1
