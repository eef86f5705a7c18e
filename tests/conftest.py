import os
import struct
from pathlib import Path

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")
os.environ.setdefault("MPLBACKEND", "Agg")


def _write_svhn_mat(folder, n_train=7, n_test=4, seed=0):
    """Small train/test .mat files exactly as SVHN ships them: X (32, 32, 3, N) uint8, y (N, 1), digit 0 → 10."""
    from scipy.io import savemat

    folder = Path(folder)

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


@pytest.fixture
def write_svhn():
    """The SVHN .mat writer (``write_svhn(folder, n_train, n_test, seed)``) for tests of the loader and its users."""
    return _write_svhn_mat


def _write_idx_mnist(root, n_train: int = 20, n_test: int = 10, seed: int = 0) -> Path:
    """Write a tiny, random MNIST in torchvision's raw IDX layout under ``root``."""
    rng = np.random.default_rng(seed)
    raw = Path(root) / "MNIST" / "raw"
    raw.mkdir(parents=True, exist_ok=True)

    def write(name, arr, magic):
        with open(raw / name, "wb") as f:
            f.write(struct.pack(">I", magic))
            f.writelines(struct.pack(">I", s) for s in arr.shape)
            f.write(arr.astype(np.uint8).tobytes())

    for prefix, n in (("train", n_train), ("t10k", n_test)):
        write(f"{prefix}-images-idx3-ubyte", rng.integers(0, 256, size=(n, 28, 28)), 2051)
        write(f"{prefix}-labels-idx1-ubyte", np.arange(n) % 10, 2049)
    return Path(root)


@pytest.fixture
def write_idx_mnist():
    """``write_idx_mnist(root, n_train=20, n_test=10, seed=0)``: a tiny MNIST in torchvision's IDX layout."""
    return _write_idx_mnist
