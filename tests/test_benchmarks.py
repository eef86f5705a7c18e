"""The benchmark scripts run (tiny sizes) and their fast paths agree with their baselines."""
import math

from benchmarks.__main__ import run


def test_benchmarks_smoke():
    rows = run(smoke=True)
    assert len(rows) == 8
    for r in rows:
        assert r["ours"] > 0 and r["baseline"] > 0
        if not math.isnan(r["diff"]):
            assert r["diff"] < 1e-4, r["metric"]
