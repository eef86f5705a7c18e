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


def test_the_mode_and_data_folder_reach_the_kernel_as_arguments(tmp_path, monkeypatch):
    """build_gallery gives each kernel its mode and data folder; this process's environment is left as it was."""
    import os

    import nbformat

    from scpviz.gallery import build_gallery

    monkeypatch.setenv("SCPVIZ_MODE", "quick")
    monkeypatch.delenv("SCPVIZ_DATA", raising=False)
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("# probe"),
        nbformat.v4.new_code_cell("import os\nfrom scpviz import config\n"
                                  "print('mode=' + config.get_mode(), 'data=' + str(config.data_root()))")])
    path = tmp_path / "probe.ipynb"
    nbformat.write(nb, path)
    before = dict(os.environ)
    build_gallery(tmp_path / "out", mode="teach", notebooks=[path], data_root=tmp_path / "data", progress=False)
    html = (tmp_path / "out" / "probe.html").read_text()
    assert "mode=teach" in html and f"data={tmp_path / 'data'}" in html
    assert dict(os.environ) == before
