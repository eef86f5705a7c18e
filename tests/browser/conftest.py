"""Fixtures for the real-browser tests: a JupyterLab server on a free localhost port and Debian's Chromium.

The server runs on a *copy* of ``notebooks/`` (so that nothing a test does can save outputs into the
repository), with a temporary settings folder: no token, no autosave, no news pop-up, and
``windowingMode: none`` so that every cell is in the page. Its kernels run in quick mode with an empty
run cache and matplotlib's inline backend, as a learner's would (``MPLBACKEND`` is dropped).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
IN_CI = bool(os.environ.get("SCPVIZ_CI"))

# Settings a learner would not change but that keep a test deterministic, in JupyterLab's user-settings layout.
LAB_SETTINGS = {
    "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"},
    "@jupyterlab/docmanager-extension/plugin": {"autosave": False},
    "@jupyterlab/apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False},
}


def chromium_executable() -> str | None:
    """The system Chromium: ``$SCPVIZ_CHROMIUM``, else the first of chromium / chromium-browser on ``PATH``."""
    explicit = os.environ.get("SCPVIZ_CHROMIUM")
    if explicit:
        return explicit if Path(explicit).exists() else None
    return next((p for p in map(shutil.which, ("chromium", "chromium-browser")) if p), None)


def _missing(what: str, fix: str):
    """Fail in CI (the browser tests must never skip silently there), skip with the fix elsewhere."""
    message = f"{what}. {fix}"
    if IN_CI:
        pytest.fail(message + " (SCPVIZ_CI is set, so this is a failure, not a skip)", pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """pytest-playwright's launch arguments, pointed at the system Chromium (Playwright cannot download its own)."""
    exe = chromium_executable()
    if exe is None:
        _missing("no Chromium found (looked at $SCPVIZ_CHROMIUM, chromium, chromium-browser)",
                 "Install Debian's package: `apt-get install -y chromium` (.ci/run does this), or point "
                 "SCPVIZ_CHROMIUM at a Chromium or Chrome binary.")
    return {**browser_type_launch_args, "executable_path": exe, "args": ["--no-sandbox"]}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    return {**browser_context_args, "viewport": {"width": 1400, "height": 1000}}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def jupyterlab(tmp_path_factory):
    """Base URL of a JupyterLab server whose root holds a copy of ``notebooks/``; stopped after the session."""
    home = tmp_path_factory.mktemp("jupyterlab")
    root = home / "root"
    shutil.copytree(REPO / "notebooks", root / "notebooks",
                    ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
    settings = home / "settings"
    for name, values in LAB_SETTINGS.items():
        f = settings / f"{name}.jupyterlab-settings"
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_text(json.dumps(values))
    port = _free_port()
    env = {**os.environ, "SCPVIZ_MODE": "quick", "SCPVIZ_CACHE": str(home / "run-cache"),
           "JUPYTER_CONFIG_DIR": str(home / "config"), "JUPYTER_RUNTIME_DIR": str(home / "runtime")}
    env.pop("MPLBACKEND", None)
    cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
           "--ServerApp.port_retries=0", "--IdentityProvider.token=", "--ServerApp.password=",
           "--ServerApp.allow_root=True", f"--ServerApp.root_dir={root}",
           f"--LabApp.user_settings_dir={settings}", f"--LabApp.workspaces_dir={home / 'workspaces'}",
           "--LabApp.expose_app_in_browser=True"]
    url = f"http://127.0.0.1:{port}"
    with open(home / "server.log", "w") as log:
        proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            _wait_until_up(url, proc, home / "server.log", cmd)
            yield url
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()


def _wait_until_up(url, proc, log_path, cmd, timeout_s=90):
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            urllib.request.urlopen(f"{url}/api/status", timeout=2)
            return
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"JupyterLab did not start ({' '.join(cmd)}); its log:\n"
                            + log_path.read_text()[-3000:], pytrace=False)
            time.sleep(0.5)


@pytest.fixture(scope="session")
def screenshot_dir(tmp_path_factory):
    """Where the explorers' before/after screenshots go: ``$SCPVIZ_SCREENSHOTS`` or a pytest temp folder."""
    d = Path(os.environ.get("SCPVIZ_SCREENSHOTS") or tmp_path_factory.mktemp("browser-screenshots"))
    d.mkdir(parents=True, exist_ok=True)
    _SHOWN["dir"] = d
    return d


_SHOWN: dict = {}


def pytest_terminal_summary(terminalreporter):
    if "dir" in _SHOWN:
        terminalreporter.write_line(f"browser tests: explorer screenshots (before/after each move) in {_SHOWN['dir']}")
