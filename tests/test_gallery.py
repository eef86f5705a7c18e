"""The static gallery builds: every notebook executed in quick mode and rendered to HTML with its figures."""
from scpviz import cli
from scpviz.gallery import NOTEBOOKS


def test_gallery_builds_every_notebook_with_figures(tmp_path, capsys):
    out = tmp_path / "gallery"
    assert cli.main(["gallery", str(out), "--mode", "quick"]) == 0
    names = sorted(p.stem for p in NOTEBOOKS.glob("[0-9][0-9]*_*.ipynb"))
    assert sorted(p.stem for p in out.glob("[0-9][0-9]*_*.html")) == names
    index = (out / "index.html").read_text()
    assert all(f"{n}.html" in index for n in names) and "quick mode" in index
    for n in names:
        html = (out / f"{n}.html").read_text()
        assert "Traceback" not in html  # (a failing cell stops the build: nbclient raises)
        if n != "00_start_here":
            assert html.count("data:image/png;base64") >= 1, f"{n}: no figure in the gallery page"
    assert f"{len(names)} notebooks executed in quick mode" in capsys.readouterr().out
