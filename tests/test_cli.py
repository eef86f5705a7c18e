import subprocess
import sys

from scpviz import cli
from scpviz.data import write_idx_mnist


def test_help_lists_info(capsys):
    assert cli.main([]) == 0
    assert "info" in capsys.readouterr().out


def test_info_reports_mnist(tmp_path, capsys):
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


def test_module_entry_point():
    out = subprocess.run([sys.executable, "-m", "scpviz", "--help"], capture_output=True, text=True, check=True)
    assert "info" in out.stdout
