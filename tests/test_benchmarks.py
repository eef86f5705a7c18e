"""The benchmark scripts run (tiny sizes) and their fast paths agree with their baselines."""
import math

from benchmarks import profiles
from benchmarks.__main__ import run


def test_benchmarks_smoke():
    rows = run(smoke=True)
    assert len(rows) == 8
    for r in rows:
        assert r["ours"] > 0 and r["baseline"] > 0
        if not math.isnan(r["diff"]):
            assert r["diff"] < 1e-4, r["metric"]


def test_profiles_smoke(capsys):
    out = profiles.main(["--smoke"])
    assert len(out) == 3
    for rows, total in out.values():
        assert rows and total > 0
        assert all(0 <= float(r[3].rstrip("%")) <= 100 for r in rows)
    assert "DataLoader epoch" in capsys.readouterr().out


def test_accelerator_benchmark_smoke():
    from benchmarks import accelerator

    rows = accelerator.main(["--smoke", "--device", "cpu"])
    assert len(rows) == 5
    for r in rows[:3]:
        assert r["diff"] < 1e-4, r["metric"]  # every Γ mode equals Algorithm 1


def test_conv_benchmark_smoke_agrees_with_the_loop_in_float64():
    import torch

    from benchmarks import conv

    rows = conv.bench_conv(n=6, channels=(2, 3), hidden=(4,), repeat=1, dtype=torch.float64)
    assert len(rows) == 2 * (3 if conv.have_backpack() else 2)
    for r in rows:
        assert r["ours"] > 0 and r["baseline"] > 0 and r["diff"] < 1e-10, r["metric"]


def test_augment_benchmark_smoke():
    from benchmarks import augment

    rows = augment.bench_augment(n=120, workers=(0,), repeat=1, train=True)
    assert len(rows) == 1 and rows[0]["ours"] > 0 and rows[0]["baseline"] > 0


def test_segmentation_benchmark_smoke_agrees_with_algorithm1():
    from benchmarks import segmentation

    rows = segmentation.bench_segmentation(budget="quick", n=3, L=4, batch_size=8, repeat=1, memory=False)
    assert len(rows) == 8 and "K=19,968" in rows[0]["metric"] and "K=1,536" in rows[0]["metric"]
    assert all(r["ours"] > 0 and r["baseline"] > 0 for r in rows if r.get("unit", "s") == "s")
    assert rows[2]["diff"] < 1e-4          # Γ at the output equals Algorithm 1 verbatim (same slices)


def test_ensemble_benchmark_smoke():
    from benchmarks import ensemble

    rows = ensemble.main(["--smoke"])
    assert [r["M"] for r in rows] == [1, 3] and all(r["ratio"] > 0 and r["ensemble_run_epochs_per_h"] > 0 for r in rows)
