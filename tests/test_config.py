import random

import numpy as np
import pytest
import torch

from scpviz import config


@pytest.mark.parametrize("value,expected", [("1", True), ("0", False), ("", False), (" 1 ", True)])
def test_is_quick_values(value, expected):
    assert config.is_quick(value) is expected


@pytest.mark.parametrize("value", ["yes", "true", "2", "quick"])
def test_is_quick_rejects_other_values(value):
    with pytest.raises(ValueError, match="SCPVIZ_QUICK"):
        config.is_quick(value)


def test_is_quick_reads_environment(monkeypatch):
    monkeypatch.setenv("SCPVIZ_QUICK", "1")
    assert config.is_quick() and config.mode_name() == "quick"
    monkeypatch.setenv("SCPVIZ_QUICK", "0")
    assert not config.is_quick() and config.mode_name() == "full"
    monkeypatch.delenv("SCPVIZ_QUICK")
    assert not config.is_quick()


def test_budget_follows_mode(monkeypatch):
    monkeypatch.setenv("SCPVIZ_QUICK", "1")
    quick = config.budget("permuted_mnist")
    monkeypatch.setenv("SCPVIZ_QUICK", "0")
    full = config.budget("permuted_mnist")
    assert quick.mode == "quick" and full.mode == "full"
    assert quick.n_train < full.n_train and quick.n_tasks < full.n_tasks
    # full mode is the paper's §5.1 setting
    assert full.n_tasks == 10 and full.hidden == (1024, 512, 256) and full.lr == 1e-4 and full.n_slices == 100


def test_every_budget_has_both_modes_with_same_keys():
    for name, modes in config.BUDGETS.items():
        assert set(modes) == {"quick", "full"}, name
        assert set(modes["quick"]) == set(modes["full"]), name


def test_budget_errors():
    with pytest.raises(ValueError, match="not a known budget"):
        config.budget("nope")
    with pytest.raises(AttributeError, match="known"):
        config.budget("distances", quick=True).no_such_entry


def test_get_device_order(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(config, "_mps_available", lambda: False)
    assert config.get_device().type == "cpu"
    monkeypatch.setattr(config, "_mps_available", lambda: True)
    assert config.get_device().type == "mps"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert config.get_device().type == "cuda"


def test_get_device_prefer_unavailable(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ValueError, match="CUDA is not available"):
        config.get_device("cuda")
    assert config.get_device("cpu").type == "cpu"


def test_seed_everything_reproduces_all_generators():
    def draw():
        return random.random(), np.random.rand(), torch.rand(1).item()

    config.seed_everything(123)
    a = draw()
    config.seed_everything(123)
    b = draw()
    config.seed_everything(124)
    c = draw()
    assert a == b
    assert a != c
    g = config.seed_everything(5)
    assert torch.rand(1, generator=g).item() == torch.rand(1, generator=torch.Generator().manual_seed(5)).item()


@pytest.mark.parametrize("bad", [-1, 1.5, "3", True])
def test_seed_everything_rejects_bad_seed(bad):
    with pytest.raises(ValueError, match="seed"):
        config.seed_everything(bad)


def test_data_root_order(monkeypatch, tmp_path):
    monkeypatch.setenv("SCPVIZ_DATA", str(tmp_path / "env"))
    assert config.data_root() == tmp_path / "env"
    assert config.data_root(tmp_path / "arg") == tmp_path / "arg"
    monkeypatch.delenv("SCPVIZ_DATA")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    assert config.data_root() == tmp_path / "cache" / "scpviz"
