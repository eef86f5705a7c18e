"""How many runs fit: the memory estimate against the measured peak of CPU ensembles, and the choice of M."""
import json
import pathlib
import subprocess
import sys

import pytest
import torch

from scpviz.datasets import Task
from scpviz.ensemble import EnsembleRun, ensemble_size, run_bytes, stack_overhead
from scpviz.models import MLP

PROBE = pathlib.Path(__file__).with_name("memory_probe.py")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/status")
@pytest.mark.parametrize("M,n,method", [(2, 2000, "scp"), (3, 8000, "scp"), (3, 2000, "ewc")])   # SCP by vectors, by samples
def test_the_estimate_bounds_the_measured_peak(M, n, method):
    """A fresh process's peak resident memory while it builds and trains M runs (the paper's MLP) stays under the
    estimate, which is no more than 2.5 times it (else M would be chosen far too small)."""
    out = subprocess.run([sys.executable, str(PROBE), str(M), str(n), method], capture_output=True, text=True,
                         check=True, timeout=600)
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["peak"] <= got["estimate"] <= 2.5 * got["peak"], got


def _run(n=100, method="scp"):
    task = Task("t", torch.zeros(n, 4), torch.zeros(n, dtype=torch.long), torch.zeros(10, 4),
                torch.zeros(10, dtype=torch.long), "toy")
    return EnsembleRun(MLP(4, (8,), 3), [task], seed=0, method=method)


def test_ensemble_size_divides_the_free_memory_and_says_so():
    run = _run()
    per = run_bytes(run)
    free = int((stack_overhead(2 ** 20) + 7.5 * per) / 0.5)
    M, why = ensemble_size(run, 100, "cpu", fraction=0.5, max_memory=2 ** 20, free=free)
    assert M == 7 and why.startswith("ensemble: 7 runs per stacked model") and "on cpu" in why
    assert ensemble_size(run, 3, "cpu", fraction=0.5, max_memory=2 ** 20, free=free)[0] == 3   # no more than asked
    M, why = ensemble_size(run, 10, "cpu", free=1)
    assert M == 1 and "not even one run fits" in why
    assert run_bytes(_run(method="scp")) > run_bytes(_run(method="ewc"))      # SCP keeps the layer outputs
    with pytest.raises(ValueError, match="fraction=0"):
        ensemble_size(run, 10, "cpu", fraction=0)
    with pytest.raises(ValueError, match="n_runs=0"):
        ensemble_size(run, 0, "cpu")
