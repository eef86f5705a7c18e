"""The cluster path as the README documents it: a head started with `ray start --head` (token authentication on),
and the sweep connecting from outside through the Ray Client (RAY_ADDRESS=ray://HOST:PORT) — single runs and
ensembles as Ray tasks, with serial's results."""
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

import pytest

from scpviz.sweeps import make_grid, run_configs
from scpviz.sweeps.cache import read_entry

TINY = {"n_tasks": 2, "epochs": 1, "n_train": 120, "n_val": 30, "n_test": 60, "hidden": [16], "n_slices": 5,
        "dataset": "digits"}


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for(port, timeout=180):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(1)
    raise TimeoutError(f"the Ray Client server did not open port {port} in {timeout} s")


def _need_ray_client():
    """The `ray` command, or a skip (a failure in CI, which installs scpviz[ray] and so ray[client])."""
    ray_cli = shutil.which("ray", path=os.path.dirname(sys.executable)) or shutil.which("ray")
    try:
        import grpc  # noqa: F401  (the Ray Client's transport: ray[client])
        import ray  # noqa: F401
    except ImportError:
        ray_cli = None
    if ray_cli is None:
        if os.environ.get("SCPVIZ_CI"):
            pytest.fail("CI installs scpviz[ray] (ray[client]); it is missing, so the Ray Client path would go "
                        "untested.")
        pytest.skip("needs scpviz[ray] (ray[client])")
    return ray_cli


@pytest.fixture(scope="module")
def ray_head():
    """A head on localhost in its own session (stopped with it afterwards, not with `ray stop`, which would stop
    every Ray on the machine); token authentication with a token of its own."""
    ray_cli = _need_ray_client()
    gcs, client = _free_port(), _free_port()
    temp = tempfile.mkdtemp(prefix="ray", dir="/tmp")    # short: Ray's socket paths live under it
    env = dict(os.environ, RAY_AUTH_MODE="token", RAY_AUTH_TOKEN=secrets.token_hex(32))
    head = subprocess.Popen([ray_cli, "start", "--head", "--block", f"--port={gcs}", f"--ray-client-server-port={client}",
                             "--num-cpus=1", "--include-dashboard=false", "--disable-usage-stats",
                             f"--temp-dir={temp}"], env=env, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_for(client)
        yield {"RAY_ADDRESS": f"ray://127.0.0.1:{client}", "RAY_AUTH_MODE": "token",
               "RAY_AUTH_TOKEN": env["RAY_AUTH_TOKEN"]}
    finally:
        os.killpg(head.pid, signal.SIGTERM)
        try:
            head.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(head.pid, signal.SIGKILL)
        shutil.rmtree(temp, ignore_errors=True)


def _sweep_through(ray_head, cache, *extra):
    """The README's command from outside the cluster: `python -m scpviz sweep ... --backend ray` with RAY_ADDRESS,
    RAY_AUTH_MODE and RAY_AUTH_TOKEN set (a fresh process, as a user's shell)."""
    args = [sys.executable, "-m", "scpviz", "sweep", "permuted_mnist", "--mode", "quick", "--methods", "none", "scp",
            "--lams", "10", "--seeds", "0", "1", "--tasks", "2", "--epochs", "1", "--train", "120", "--val", "30",
            "--test", "60", "--hidden", "16", "--slices", "5", "--dataset", "digits", "--threads", "1",
            "--backend", "ray", "--cache", str(cache), *extra]
    out = subprocess.run(args, env=dict(os.environ, **ray_head), capture_output=True, text=True, timeout=400)
    assert out.returncode == 0, out.stderr[-3000:]
    return out.stdout + out.stderr


def test_sweeps_reach_a_cluster_through_the_ray_client(ray_head, tmp_path):
    cfgs = make_grid("permuted_mnist", methods=["none", "scp"], lams=[10.0], seeds=[0, 1], mode="quick", **TINY)
    want = run_configs(cfgs, None, backend="serial", progress=False, threads=1)
    log = _sweep_through(ray_head, tmp_path / "runs")
    assert "ray://127.0.0.1:" in log                          # it went through the client
    got = [read_entry(tmp_path / "runs", c) for c in cfgs]
    assert [g.points for g in got] == [w.points for w in want] and [g.config for g in got] == [w.config for w in want]
    # each task an ensemble of the runs that share a budget: serial's scores, losses to float32 rounding
    _sweep_through(ray_head, tmp_path / "ensembles", "--ensemble-size", "4")
    for c, w in zip(cfgs, want):
        g = read_entry(tmp_path / "ensembles", c)
        assert g.config == w.config and [p["test"] for p in g.points] == [p["test"] for p in w.points]
        assert [p["loss"] for p in g.points] == pytest.approx([p["loss"] for p in w.points], rel=1e-5)


def test_an_unreachable_cluster_says_what_to_check(monkeypatch):
    _need_ray_client()
    import ray

    if ray.is_initialized():
        ray.shutdown()
    monkeypatch.setenv("RAY_ADDRESS", f"ray://127.0.0.1:{_free_port()}")
    monkeypatch.setattr("ray.util.client.worker.INITIAL_TIMEOUT_SEC", 1, raising=False)
    cfgs = make_grid("permuted_mnist", methods=["none"], lams=[10.0], seeds=[0], mode="quick", **TINY)
    with pytest.raises(ConnectionError, match="RAY_AUTH_MODE=token"):
        run_configs(cfgs, None, backend="ray", progress=False, threads=1)
