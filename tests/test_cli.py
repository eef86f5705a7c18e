import subprocess
import sys
from pathlib import Path

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
    out = capsys.readouterr().out
    assert "fallback" in out and "cifar100    CIFAR-100: not under" in out and "shapes with parts" in out
    assert "synthia     SYNTHIA: not under" in out and "no scripted download" in out
    assert "SYNTHIA-SEQS-01-WINTER/GT/LABELS/Stereo_Left/Omni_F/000000.png" in out   # the layout expected


def test_info_reports_cifar100_when_found(tmp_path, capsys):
    from tests.datasets.test_datasets import _write_cifar100

    _write_cifar100(tmp_path / "cifar-100-python")
    assert cli.main(["info", "--data", str(tmp_path)]) == 0
    assert f"cifar100    CIFAR-100: found under {tmp_path} — the real dataset is used" in capsys.readouterr().out


def test_the_removed_quick_variable_exits_2_naming_its_replacement(monkeypatch, capsys):
    monkeypatch.setenv("SCPVIZ_QUICK", "1")
    assert cli.main(["info"]) == 2
    err = capsys.readouterr().err
    assert "SCPVIZ_QUICK is no longer read" in err and "SCPVIZ_MODE=quick" in err


def test_bad_mode_exits_2_naming_the_modes(monkeypatch, capsys):
    monkeypatch.setenv("SCPVIZ_MODE", "full")
    assert cli.main(["info"]) == 2
    assert "quick, teach, paper" in capsys.readouterr().err


def test_info_prints_the_mode(monkeypatch, capsys):
    monkeypatch.delenv("SCPVIZ_MODE", raising=False)
    assert cli.main(["info"]) == 0
    assert "mode        teach" in capsys.readouterr().out


def test_module_entry_point():
    out = subprocess.run([sys.executable, "-m", "scpviz", "--help"], capture_output=True, text=True, check=True)
    assert "info" in out.stdout


def test_permuted_mnist_cli_quick_smoke(tmp_path, capsys, monkeypatch):
    from scpviz.training import History

    monkeypatch.setenv("SCPVIZ_DATA", "/nonexistent")   # --data, an argument, wins over the environment
    out = tmp_path / "run"
    rc = cli.main(["run", "permuted_mnist", "--data", str(tmp_path / "no-mnist"), "--mode", "quick", "--method", "none", "mas", "--lam", "10", "--tasks", "2",
                   "--train", "100", "--val", "20", "--test", "50", "--hidden", "16", "--seeds", "0",
                   "--device", "cpu", "--out", str(out)])
    assert rc == 0
    h = History.from_json(out / "mas_lam10_seed0.json")
    assert h.config["method"] == "mas" and h.config["lam"] == 10.0 and h.config["n_tasks"] == 2
    assert (out / "average_accuracy.png").stat().st_size > 0 and (out / "none_lam0_seed0_forgetting.png").exists()
    assert "final average test accuracy" in capsys.readouterr().out


def test_sweep_cli_quick_smoke(tmp_path, capsys, monkeypatch):
    args = ["sweep", "permuted_mnist", "--data", str(tmp_path / "no-mnist"), "--mode", "quick", "--methods", "none", "scp", "--lams", "1", "100", "--slices", "5", "--tasks", "2",
            "--train", "100", "--val", "20", "--test", "50", "--hidden", "16", "--seeds", "0", "1",
            "--device", "cpu", "--cache", str(tmp_path / "cache"), "--export", str(tmp_path / "grid.json")]
    assert cli.main(args) == 0
    out = capsys.readouterr().out
    assert "chosen on validation" in out and "scp" in out and (tmp_path / "grid.json").exists()
    assert len(list((tmp_path / "cache").glob("*.json"))) == 2 + 4
    assert cli.main(args) == 0  # resumes from the cache: nothing recomputed


def test_list_shows_every_experiment_budget_and_default_lambda(capsys):
    assert cli.main(["list"]) == 0
    out = capsys.readouterr().out
    for text in ("permuted_mnist", "§5.1, Figure 3", "autoencoders", "§5.2, Figure 4", "quick ", "teach ", "paper ",
                 "default λ ewc 1000, mas 1, scp 1000", "mean ℓ1 reconstruction error, lower is better"):
        assert text in out, text


def test_run_help_states_the_per_method_default_lambda(capsys):
    assert cli.main(["run", "permuted_mnist", "--help"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "ewc 1000, mas 1, scp 1000" in out and "validation-chosen on the shipped grid" in out


def test_run_uses_each_methods_default_lambda_and_the_mode(tmp_path, capsys, monkeypatch):
    from scpviz.training import History

    monkeypatch.setenv("SCPVIZ_DATA", str(tmp_path / "no-mnist"))
    out = tmp_path / "run"
    rc = cli.main(["run", "permuted-mnist", "--mode", "quick", "--method", "ewc", "scp", "--tasks", "2", "--train",
                   "60", "--val", "10", "--test", "20", "--hidden", "8", "--device", "cpu", "--out", str(out)])
    assert rc == 0
    assert History.from_json(out / "ewc_lam1000_seed0.json").config["lam"] == 1000.0
    assert History.from_json(out / "scp_lam1000_seed0.json").config["n_slices"] == 20  # the quick budget's L
    assert "quick mode, seeds [0]" in capsys.readouterr().out


def test_a_repeated_sweep_reads_its_runs_from_the_cache(tmp_path, capsys):
    common = ["--data", str(tmp_path / "no-mnist"), "--methods", "none", "mas", "--lams", "10", "--order", "1", "2", "--train", "40", "--val", "10",
              "--test", "20", "--hidden", "8", "--code", "4", "--epochs", "1", "--seeds", "0", "--device", "cpu",
              "--cache", str(tmp_path / "c")]
    assert cli.main(["sweep", "autoencoders", "--mode", "quick", *common]) == 0
    new = capsys.readouterr().out
    assert "mean ℓ1 reconstruction error" in new and "%" not in new.split("Test results")[1]
    n = len(list((tmp_path / "c").glob("*.json")))
    assert cli.main(["sweep", "autoencoders", "--mode", "quick", *common]) == 0
    assert len(list((tmp_path / "c").glob("*.json"))) == n == 2  # same configs: read from the cache
    assert capsys.readouterr().out.split("runs")[1] == new.split("runs")[1]
    # the 0.1 spellings are gone (0.3.0): an error, not another experiment
    assert cli.main(["sweep", "--experiment", "autoencoders", "--mode", "quick", *common]) == 2
    assert cli.main(["autoencoders", "--mode", "quick", "--out", str(tmp_path)]) == 2


def test_cli_errors_name_the_problem(capsys, tmp_path):
    assert cli.main(["run", "autoencoders", "--method", "ewc", "--out", str(tmp_path)]) == 2
    assert "invalid choice: 'ewc'" in capsys.readouterr().err
    assert cli.main(["sweep", "svhn", "--cache", str(tmp_path)]) == 2
    assert "invalid choice: 'svhn'" in capsys.readouterr().err
    assert cli.main(["run", "permuted_mnist", "--quick", "--out", str(tmp_path)]) == 2   # removed in 0.3.0
    assert "unrecognized arguments: --quick" in capsys.readouterr().err


def _strip(cfg):
    return {k: (list(v) if isinstance(v, tuple) else v) for k, v in cfg.items()}


def test_the_shipped_commands_still_describe_the_shipped_runs(monkeypatch):
    """The command stored with the shipped CPU grid (rewritten in today's spelling, with --data-seed 0 for the images
    every seed then drew; the command as run, in 0.1's, is kept beside it) stands for exactly the 57 shipped
    configs; so does one paper-budget auto-encoder run (with --data-seed 0)."""
    import json

    from scpviz import sweeps

    runs, command = sweeps.shipped_results("permuted_mnist_cpu")
    want = sorted(repr(sorted(c.items())) for c, _ in runs)
    argv = command.split("python -m scpviz ")[1].split()
    got = sorted(repr(sorted(_strip(c).items())) for c in cli.sweep_configs(argv))
    assert got == want
    doc = json.loads((Path(sweeps.__file__).parents[1] / "results" / "permuted_mnist_cpu.json").read_text())
    as_run = doc["command_as_run"].split("python -m scpviz ")[1].split()
    # 0.1 spelled it without the experiment, the mode and the data folder; every seed drew its images with 0 then
    today = command.replace(" --data-seed 0", "").split("python -m scpviz ")[1].split()
    assert "--data-seed 0" in command
    assert as_run[0] == "sweep" and as_run[1:] == [a for a in today[1:] if a not in ("permuted_mnist", "--mode",
                                                                                    "paper", "--data", "../shared/data")]
    ae, _ = sweeps.shipped_results("autoencoders_h100")
    code = next(c for c, _ in ae if c["layer"] == "code" and c["method"] == "mas")
    argv = ["sweep", "autoencoders", "--mode", "paper", "--snapshots", "--methods", "mas", "--lams",
            "100", "--seeds", "0", "--layer", "code", "--cache", "c", "--data-seed", "0"]
    assert [_strip(c) for c in cli.sweep_configs(argv)] == [code]


def test_sweep_dry_run_counts(tmp_path, capsys):
    argv = ["sweep", "permuted_mnist", "--mode", "paper", "--cache", str(tmp_path), "--dry-run"]
    assert cli.main(argv) == 0
    assert "paper mode: 400 runs (0 already in" in capsys.readouterr().out  # none: 10 seeds; EWC, MAS, SCP: 13 λ × 10


def test_method_lams_give_each_method_its_grid_and_the_shipped_segmentation_command_holds(capsys):
    """--method-lams METHOD=λ,... replaces --lams per method; the command stored with the shipped SYNTHIA-style grid
    stands for exactly its 54 configs."""
    from scpviz import sweeps

    argv = ["sweep", "synthia_segmentation", "--mode", "quick", "--methods", "none", "mas", "scp", "--lams", "5",
            "--method-lams", "mas=1e-9,1e-8", "--cache", "c"]
    got = sorted((c["method"], c["lam"]) for c in cli.sweep_configs(argv))
    assert got == [("mas", 1e-9), ("mas", 1e-8), ("none", 0.0), ("scp", 5.0)]
    assert cli.main(["sweep", "synthia_segmentation", "--method-lams", "mas", "--cache", "c", "--dry-run"]) == 2
    assert "'mas' is not METHOD=λ,λ,..." in capsys.readouterr().err
    assert cli.main(["sweep", "synthia_segmentation", "--method-lams", "si=1", "--cache", "c", "--dry-run"]) == 2
    assert "--method-lams names ['si'], not methods of synthia_segmentation" in capsys.readouterr().err
    assert cli.main(["sweep", "synthia_segmentation", "--method-lams", "l2=1", "--cache", "c", "--dry-run"]) == 2
    assert "--method-lams names ['l2'], which --methods does not sweep" in capsys.readouterr().err
    runs, command = sweeps.shipped_results("synthia_segmentation_cpu")
    want = sorted(repr(sorted(c.items())) for c, _ in runs)
    got = sorted(repr(sorted(_strip(c).items())) for c in cli.sweep_configs(command.split("python -m scpviz ")[1].split()))
    assert len(want) == 54 and got == want


def test_the_sweep_command_takes_the_ensemble_backend():
    from scpviz import cli

    args = cli.build_parser().parse_args(["sweep", "permuted_mnist", "--cache", "c", "--backend", "ensemble",
                                          "--ensemble-size", "4"])
    assert (args.backend, args.ensemble_size) == ("ensemble", 4)
