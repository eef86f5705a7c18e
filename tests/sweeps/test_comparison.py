"""Methods compared per seed: metrics against hand computations, the paired test against its closed form."""
import numpy as np
import pytest

from scpviz import experiments, sweeps
from scpviz.training import History
from scpviz.viz import tables

cfg_of = experiments.get("permuted_mnist").config


def _hist(method, lam, seed, R, val=0.5):
    """A two-task History whose end-of-task test matrix is R (2 × 2, R[0, 1] unused)."""
    pts = [{"task": 0, "epoch": 1, "test": [R[0][0], None], "val": [val, None]},
           {"task": 1, "epoch": 1, "test": [R[1][0], R[1][1]], "val": [val, val]}]
    return cfg_of(method, lam, seed, mode="quick"), History(config={}, dataset="fake", task_names=["a", "b"],
                                                            points=pts)


# per seed: none forgets a lot and learns task 2 best; scp forgets little and learns task 2 a bit worse
RUNS = {"none": {0: [[0.90, 0], [0.50, 0.95]], 1: [[0.92, 0], [0.55, 0.96]], 2: [[0.88, 0], [0.45, 0.94]]},
        "scp": {0: [[0.90, 0], [0.85, 0.93]], 1: [[0.92, 0], [0.88, 0.93]], 2: [[0.88, 0], [0.80, 0.92]]}}


@pytest.fixture
def grid():
    results = [_hist(m, 1.0 if m == "scp" else 0.0, s, R) for m, by in RUNS.items() for s, R in by.items()]
    return results, sweeps.choose_lambda(results, split="val")


def test_continual_metrics_match_hand_computations(grid):
    results, chosen = grid
    rows = {r["method"]: r for r in sweeps.continual_metrics(results, chosen)}
    for m, by in RUNS.items():
        fgt = [by[s][0][0] - by[s][1][0] for s in (0, 1, 2)]
        intr = [RUNS["none"][s][1][1] - by[s][1][1] + RUNS["none"][s][0][0] - by[s][0][0] for s in (0, 1, 2)]
        final = [(by[s][1][0] + by[s][1][1]) / 2 for s in (0, 1, 2)]
        assert rows[m]["forgetting"]["values"] == pytest.approx(fgt)
        assert rows[m]["backward_transfer"]["values"] == pytest.approx([-f for f in fgt])
        assert rows[m]["intransigence"]["values"] == pytest.approx([v / 2 for v in intr])
        assert rows[m]["final"]["mean"] == pytest.approx(np.mean(final))
        assert rows[m]["final"]["sd"] == pytest.approx(np.std(final, ddof=1))
        assert rows[m]["learning"]["values"] == pytest.approx([(by[s][0][0] + by[s][1][1]) / 2 for s in (0, 1, 2)])
    table = tables.format_metrics_table(list(rows.values()))
    assert "+40.00 ± 3.00" in table  # none: forgetting 0.40, 0.37, 0.43 → mean 40.00 points, sd 3.00


def test_paired_difference_is_the_paired_t_test(grid):
    results, chosen = grid
    r = sweeps.paired_difference(results, chosen, "scp", "none")
    d = np.array([(RUNS["scp"][s][1][0] + RUNS["scp"][s][1][1] - RUNS["none"][s][1][0] - RUNS["none"][s][1][1]) / 2
                  for s in (0, 1, 2)])
    t = d.mean() / (d.std(ddof=1) / np.sqrt(3))   # the closed form of the paired t statistic
    assert r["diff"] == pytest.approx(d.tolist()) and r["t"] == pytest.approx(t) and r["n"] == 3
    from scipy import stats
    assert r["p"] == pytest.approx(2 * stats.t.sf(abs(t), df=2))
    # 95 % interval: mean ± t(0.975, 2) · sd / √3, with the table value t(0.975, 2) = 4.302652729911275
    half = 4.302652729911275 * d.std(ddof=1) / np.sqrt(3)
    assert r["ci"] == pytest.approx((d.mean() - half, d.mean() + half)) and r["level"] == 0.95
    assert r["conclusive"] == (d.mean() - half > 0)
    wide = sweeps.paired_difference(results, chosen, "none", "scp", level=0.999999)   # wide enough to hold 0
    assert wide["ci"][0] < 0 < wide["ci"][1] and not wide["conclusive"]
    table = tables.format_paired_table({("scp", "none"): r, ("none", "scp"): wide})
    assert f"scp − none | 3 | {100 * d.mean():+.2f} | [{100 * (d.mean() - half):+.2f}," in table
    assert table.splitlines()[2].endswith("scp > none") and table.splitlines()[3].endswith("no conclusion")
    with pytest.raises(ValueError, match="level=95 must be between 0 and 1"):
        sweeps.paired_difference(results, chosen, "scp", "none", level=95)


def test_paired_interval_against_the_closed_form():
    d = np.array([0.5, -0.25, 1.75, 0.0])
    r = sweeps.paired_interval(d)
    half = 3.182446305284263 * d.std(ddof=1) / 2       # t(0.975, 3) from the table, √4 = 2
    assert r["ci"] == pytest.approx((d.mean() - half, d.mean() + half)) and r["n"] == 4 and not r["conclusive"]
    assert r["t"] == pytest.approx(d.mean() / (d.std(ddof=1) / 2))
    assert sweeps.paired_interval([1.0, 1.1, 0.9])["conclusive"]          # tight and away from 0
    one = sweeps.paired_interval([2.0])
    assert one["mean"] == 2.0 and np.isnan(one["ci"][0]) and not one["conclusive"]
    with pytest.raises(ValueError, match="differences is empty"):
        sweeps.paired_interval([])
    with pytest.raises(ValueError, match="level=1.5"):
        sweeps.paired_interval(d, level=1.5)


def test_bad_comparisons_say_what_is_wrong(grid):
    results, chosen = grid
    with pytest.raises(ValueError, match="'mas' is not among"):
        sweeps.paired_difference(results, chosen, "scp", "mas")
    with pytest.raises(ValueError, match="metric="):
        sweeps.paired_difference(results, chosen, "scp", "none", metric="accuracy")
    only_scp = [(c, h) for c, h in results if c["method"] == "scp"]
    with pytest.raises(ValueError, match="reference method 'none'"):
        sweeps.continual_metrics(only_scp + [r for r in results if r[0]["method"] == "none" and r[0]["seed"] == 0],
                                 chosen)
    with pytest.raises(ValueError, match="no run matches"):
        sweeps.continual_metrics(results, {"ewc": {"options": {}}})


def test_plot_forgetting_and_learning_bars(grid):
    from scpviz.viz import plots

    results, chosen = grid
    rows = sweeps.continual_metrics(results, chosen)
    ax = plots.plot_forgetting_and_learning(rows).axes[0]
    bars = [p for p in ax.patches]
    heights = [b.get_height() for b in bars]
    # forgetting bars first (none, scp), then learning bars, in percentage points
    assert heights[:2] == pytest.approx([rows[0]["forgetting"]["mean"] * 100, rows[1]["forgetting"]["mean"] * 100])
    assert heights[2:] == pytest.approx([rows[0]["learning"]["mean"] * 100, rows[1]["learning"]["mean"] * 100])


def test_batchnorm_restore_rows_average_the_recorded_tests():
    results = []
    recs = {("none", 0): [([0.9, 0.8], [0.5, 0.3]), ([0.7, 0.6], [0.3, 0.1])],
            ("scp", 0): [([0.92, 0.6], [0.97, 0.5]), ([0.94, 0.62], [0.99, 0.48])]}
    for (m, _), pairs in recs.items():
        for seed, (now, restored) in enumerate(pairs):
            cfg, h = _hist(m, 1.0 if m == "scp" else 0.0, seed, [[0.9, 0], [0.5, 0.9]])
            h.extras["bn_restore"] = {"now": now, "restored": restored}
            results.append((cfg, h))
    results.append(_hist("none", 0.0, 7, [[0.9, 0], [0.5, 0.9]]))     # no test recorded: left out
    rows = sweeps.batchnorm_restore_rows(results)
    assert [(r["method"], r["n_seeds"]) for r in rows] == [("none", 2), ("scp", 2)]
    assert rows[0]["now"]["mean"] == pytest.approx([0.8, 0.7]) and rows[0]["restored"]["mean"] == pytest.approx([0.4, 0.2])
    assert rows[1]["restored"]["sd"] == pytest.approx([np.std([0.97, 0.99], ddof=1), np.std([0.5, 0.48], ddof=1)])
    table = tables.format_batchnorm_restore_table(rows)
    assert "80.0 ± 14.1 % → 40.0 ± 14.1 %" in table and "a: as trained → task-1 statistics" in table
    with pytest.raises(ValueError, match="bn_restore_test=True"):
        sweeps.batchnorm_restore_rows(results[-1:])
