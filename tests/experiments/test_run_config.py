"""RunConfig: the JSON document a run is, typed where every run agrees, validated once; mode and data root travel
with it (to a worker process, through pickle) without being part of what the cache hashes."""
import json
import pickle

import pytest

from scpviz import experiments
from scpviz.experiments import RunConfig
from scpviz.sweeps import config_key


def _cfg(**kw):
    return experiments.get("permuted_mnist").config("scp", 1000.0, seed=2, mode="quick", data_root="/data/x", **kw)


def test_typed_access_and_the_json_document_agree():
    cfg = _cfg()
    assert isinstance(cfg, RunConfig) and isinstance(cfg, dict)
    assert (cfg.method, cfg.lam, cfg.seed, cfg.n_slices, cfg.alpha) == ("scp", 1000.0, 2, 20, 0.75)
    assert (cfg.mode, cfg.data_root) == ("quick", "/data/x")
    assert cfg.row.uses_slices and cfg.row.label == "SCP (Γ)"
    doc = json.loads(json.dumps(cfg))
    assert doc == cfg.to_dict() and "mode" not in doc and "data_root" not in doc


def test_mode_and_data_root_are_not_part_of_the_key_but_travel_with_the_config():
    a, b = _cfg(), RunConfig(_cfg().to_dict(), mode="paper", data_root=None)
    assert config_key(a) == config_key(b) and a == b
    back = pickle.loads(pickle.dumps(a))          # what a processes / Ray worker receives
    assert back == a and (back.mode, back.data_root) == ("quick", "/data/x") and isinstance(back, RunConfig)
    c = a.replace(lam=10.0)
    assert c.lam == 10.0 and a.lam == 1000.0 and (c.mode, c.data_root) == (a.mode, a.data_root)


@pytest.mark.parametrize("change,match", [
    (dict(lam=-1.0), "lam=-1.0 must be a finite number >= 0"),
    (dict(lam=float("inf")), "lam=inf"),
    (dict(lam=True), "lam=True"),
    (dict(seed=-1), "seed=-1 must be an integer >= 0"),
    (dict(seed=1.5), "seed=1.5"),
    (dict(method="si"), "method='si' is not a consolidation method"),
])
def test_bad_values_are_refused_once_naming_the_key(change, match):
    with pytest.raises(ValueError, match=match):
        RunConfig({**_cfg(), **change})


def test_a_config_read_back_from_a_file_is_taken_as_it_is():
    plain = json.loads(json.dumps(_cfg()))
    cfg = RunConfig.of(plain)
    assert cfg == plain and cfg.mode is None and cfg.data_root is None and RunConfig.of(cfg) is cfg
    with pytest.raises(ValueError, match=r"needs \['lam'\]"):
        RunConfig({k: v for k, v in plain.items() if k != "lam"})
