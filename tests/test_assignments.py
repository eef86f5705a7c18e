"""The course assignments: student versions equal a fresh nbgrader release, sources pass their own checks,
released notebooks fail them until solved."""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ASSIGNMENTS = ROOT / "assignments"
NAMES = sorted(p.name for p in (ASSIGNMENTS / "source").iterdir() if p.is_dir())


@pytest.fixture(scope="module")
def nbgrader():
    try:
        import nbgrader  # noqa: F401
    except ImportError:
        if os.environ.get("SCPVIZ_CI"):
            pytest.fail("nbgrader is missing: CI installs the instructor extra (README test command)")
        pytest.skip("nbgrader not installed: pip install -e '.[instructor]'")


def _cells(path):
    nb = json.loads(Path(path).read_text())
    return [(c["cell_type"], "".join(c["source"]), c.get("metadata", {}).get("nbgrader")) for c in nb["cells"]]


def test_release_equals_a_fresh_regeneration(tmp_path, nbgrader):
    from scpviz.assignments import release

    work = tmp_path / "assignments"
    shutil.copytree(ASSIGNMENTS / "source", work / "source")
    shutil.copy(ASSIGNMENTS / "nbgrader_config.py", work)
    written = release(work)
    assert [p.parent.name for p in written] == NAMES
    for p in written:
        committed = ASSIGNMENTS / "release" / p.parent.name / p.name
        assert committed.exists(), f"{committed} is missing: run python -m scpviz assignments release"
        assert _cells(p) == _cells(committed), f"{committed} is stale: run python -m scpviz assignments release"


def _validate(path, invert=False):
    cmd = [sys.executable, "-m", "nbgrader", "validate", str(path)] + (["--invert"] if invert else [])
    env = {**os.environ, "SCPVIZ_MODE": "quick"}
    return subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=ASSIGNMENTS, timeout=600)


@pytest.mark.parametrize("name", NAMES)
def test_sources_pass_and_releases_fail_nbgrader_validate(name, nbgrader):
    src = _validate(ASSIGNMENTS / "source" / name / f"{name}.ipynb")
    assert "Success! Your notebook passes all the tests." in src.stdout, src.stdout[-3000:] + src.stderr[-2000:]
    rel = _validate(ASSIGNMENTS / "release" / name / f"{name}.ipynb", invert=True)
    assert "Success! The notebook does not pass any tests." in rel.stdout, rel.stdout[-3000:] + rel.stderr[-2000:]


@pytest.mark.parametrize("folder", ["source", "release"])
@pytest.mark.parametrize("name", NAMES)
def test_assignments_install_scpviz_on_colab_and_link_their_release(name, folder):
    import scpviz

    cells = _cells(ASSIGNMENTS / folder / name / f"{name}.ipynb")
    assert scpviz.COLAB_INSTALL in cells[1][1]
    assert f"assignments/release/{name}/{name}.ipynb" in cells[0][1], "the Colab badge points at the release"


def test_release_rejects_bad_input(tmp_path):
    from scpviz.assignments import release

    with pytest.raises(ValueError, match="nbgrader_config.py"):
        release(tmp_path)
    (tmp_path / "nbgrader_config.py").write_text("")
    (tmp_path / "source" / "a").mkdir(parents=True)
    with pytest.raises(ValueError, match=r"unknown assignment\(s\) \['b'\]"):
        release(tmp_path, ["b"])
