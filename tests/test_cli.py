import subprocess
import sys

from scpviz import cli


def test_help_lists_info(capsys):
    assert cli.main([]) == 0
    assert "info" in capsys.readouterr().out


def test_info_reports_mnist(tmp_path, write_idx_mnist, capsys):
    write_idx_mnist(tmp_path)
    assert cli.main(["info", "--data", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "dataset     MNIST (found in" in out and "torch" in out and "device" in out


def test_info_reports_fallback(tmp_path, capsys):
    assert cli.main(["info", "--data", str(tmp_path / "empty")]) == 0
    assert "fallback" in capsys.readouterr().out


def test_bad_quick_value_exits_2(monkeypatch, capsys):
    monkeypatch.setenv("SCPVIZ_QUICK", "maybe")
    assert cli.main(["info"]) == 2
    assert "SCPVIZ_QUICK" in capsys.readouterr().err


def test_bad_mode_exits_2_naming_the_modes(monkeypatch, capsys):
    monkeypatch.delenv("SCPVIZ_QUICK", raising=False)
    monkeypatch.setenv("SCPVIZ_MODE", "full")
    assert cli.main(["info"]) == 2
    assert "quick, teach, paper" in capsys.readouterr().err


def test_info_prints_the_mode(monkeypatch, capsys):
    monkeypatch.delenv("SCPVIZ_QUICK", raising=False)
    monkeypatch.delenv("SCPVIZ_MODE", raising=False)
    assert cli.main(["info"]) == 0
    assert "mode        teach" in capsys.readouterr().out


def test_module_entry_point():
    out = subprocess.run([sys.executable, "-m", "scpviz", "--help"], capture_output=True, text=True, check=True)
    assert "info" in out.stdout


def test_permuted_mnist_cli_quick_smoke(tmp_path, capsys, monkeypatch):
    from scpviz.training import History

    monkeypatch.setenv("SCPVIZ_DATA", str(tmp_path / "no-mnist"))  # the digits fallback: fast and offline
    out = tmp_path / "run"
    rc = cli.main(["permuted-mnist", "--quick", "--method", "none", "mas", "--lam", "10", "--tasks", "2",
                   "--train", "100", "--val", "20", "--test", "50", "--hidden", "16", "--seeds", "0",
                   "--device", "cpu", "--out", str(out)])
    assert rc == 0
    h = History.from_json(out / "mas_lam10_seed0.json")
    assert h.config["method"] == "mas" and h.config["lam"] == 10.0 and h.config["n_tasks"] == 2
    assert (out / "average_accuracy.png").stat().st_size > 0 and (out / "none_lam0_seed0_forgetting.png").exists()
    assert "final average test accuracy" in capsys.readouterr().out


def test_sweep_cli_quick_smoke(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("SCPVIZ_DATA", str(tmp_path / "no-mnist"))
    args = ["sweep", "--quick", "--methods", "none", "scp", "--lams", "1", "100", "--slices", "5", "--tasks", "2",
            "--train", "100", "--val", "20", "--test", "50", "--hidden", "16", "--seeds", "0", "1",
            "--device", "cpu", "--cache", str(tmp_path / "cache"), "--export", str(tmp_path / "grid.json")]
    assert cli.main(args) == 0
    out = capsys.readouterr().out
    assert "chosen on validation" in out and "scp" in out and (tmp_path / "grid.json").exists()
    assert len(list((tmp_path / "cache").glob("*.json"))) == 2 + 4
    assert cli.main(args) == 0  # resumes from the cache: nothing recomputed
