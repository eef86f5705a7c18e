"""The widget factories under ipywidgets 7.7 (what Colab ships), as well as the 8.x of the test environment.

CI (.ci/run) installs ipywidgets 7.7 into a side folder and names it in $SCPVIZ_IPYWIDGETS7; this test runs the
explorer tests of test_plots_widgets.py in a subprocess with that folder first on the path.
"""
import os
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent


def test_widget_factories_under_ipywidgets_7():
    side = os.environ.get("SCPVIZ_IPYWIDGETS7")
    if not side:
        msg = ("set SCPVIZ_IPYWIDGETS7 to a folder holding ipywidgets 7.7 (pip install --target DIR --no-deps "
               "'ipywidgets==7.7.*' ipython_genutils), as .ci/run does")
        if os.environ.get("SCPVIZ_CI"):
            pytest.fail("CI must test ipywidgets 7.7: " + msg)
        pytest.skip(msg)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([side, os.environ.get("PYTHONPATH", "")]))
    version = subprocess.run([sys.executable, "-c", "import ipywidgets; print(ipywidgets.__version__)"], env=env,
                             capture_output=True, text=True, check=True).stdout.strip()
    assert version.startswith("7.7"), f"{side} holds ipywidgets {version}, not 7.7"
    run = subprocess.run([sys.executable, "-m", "pytest", str(HERE / "test_plots_widgets.py"),
                          str(HERE.parent / "experiments" / "test_autoencoders.py"), "-q", "-p",
                          "no:cacheprovider", "--import-mode=importlib", "-o", "addopts=", "-k",
                          "explorer or browser or widget"], env=env, capture_output=True, text=True)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    assert " passed" in run.stdout and " failed" not in run.stdout
