import random

import numpy as np
import pytest
import torch

from scpviz import config


@pytest.fixture
def clean_env(monkeypatch):
    monkeypatch.delenv("SCPVIZ_MODE", raising=False)
    monkeypatch.delenv("SCPVIZ_QUICK", raising=False)
    return monkeypatch


def test_default_mode_is_teach(clean_env):
    assert config.get_mode() == "teach"


@pytest.mark.parametrize("env,expected", [
    ({"SCPVIZ_MODE": "quick"}, "quick"), ({"SCPVIZ_MODE": "paper"}, "paper"), ({"SCPVIZ_MODE": " Teach "}, "teach"),
])
def test_mode_from_environment(clean_env, env, expected):
    for k, v in env.items():
        clean_env.setenv(k, v)
    assert config.get_mode() == expected


@pytest.mark.parametrize("env,match", [
    ({"SCPVIZ_MODE": "full"}, r"SCPVIZ_MODE='full'.*quick, teach, paper"),
    ({"SCPVIZ_MODE": "fast"}, r"SCPVIZ_MODE='fast'.*quick, teach, paper"),
    ({"SCPVIZ_QUICK": "1"}, r"SCPVIZ_QUICK is no longer read.*SCPVIZ_MODE=quick"),   # removed in 0.3.0
    ({"SCPVIZ_QUICK": "1", "SCPVIZ_MODE": "quick"}, r"SCPVIZ_QUICK is no longer read"),
])
def test_bad_mode_names_the_valid_ones(clean_env, env, match):
    for k, v in env.items():
        clean_env.setenv(k, v)
    with pytest.raises(ValueError, match=match):
        config.get_mode()


def test_explicit_mode_argument():
    assert config.get_mode("PAPER") == "paper"
    with pytest.raises(ValueError, match=r"mode='full' is not a mode: choose one of quick, teach, paper"):
        config.get_mode("full")


def test_budget_follows_mode(clean_env):
    clean_env.setenv("SCPVIZ_MODE", "quick")
    quick = config.budget("importance")
    clean_env.setenv("SCPVIZ_MODE", "paper")
    paper = config.budget("importance")
    teach = config.budget("importance", mode="teach")
    assert (quick.mode, teach.mode, paper.mode) == ("quick", "teach", "paper")
    assert quick.n_train < teach.n_train < paper.n_train
    assert paper.n_train == 60000 and paper.hidden == (1024, 512, 256) and paper.lr == 1e-4  # the paper's MLP


def test_every_budget_has_three_modes_with_same_keys():
    for name, modes in config.BUDGETS.items():
        assert set(modes) == set(config.MODES), name
        assert set(modes["quick"]) == set(modes["teach"]) == set(modes["paper"]), name


def test_budget_errors():
    with pytest.raises(ValueError, match="not a notebook budget.*experiments.get"):
        config.budget("permuted_mnist")
    with pytest.raises(AttributeError, match="known"):
        config.budget("distances", mode="quick").no_such_entry
    with pytest.raises(ValueError, match="lacks the modes"):
        config.select_budget("x", {"quick": {}}, "quick")


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


def test_run_cache_is_stable(monkeypatch, tmp_path):
    monkeypatch.delenv("SCPVIZ_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert config.run_cache("06") == tmp_path / "xdg" / "scpviz" / "runs" / "06" == config.run_cache("06")
    monkeypatch.setenv("SCPVIZ_CACHE", str(tmp_path / "mine"))
    assert config.run_cache("07") == tmp_path / "mine" / "07"
    assert config.run_cache("x", root=tmp_path) == tmp_path / "x"
