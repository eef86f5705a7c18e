"""The install files agree with each other, and committed notebooks follow the conventions."""
import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CONDA_TO_PIP = {"pytorch": "torch"}
NOT_PACKAGES = {"python", "pip", "pip:"}


def _name(spec):
    return re.split(r"[<>=!~ \[]", spec.strip(), maxsplit=1)[0].lower()


def test_environment_yml_matches_pyproject():
    tomllib = pytest.importorskip("tomllib")
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pip_deps = project["dependencies"] + project["optional-dependencies"]["dev"]
    pip_specs = {_name(s): s.replace(" ", "") for s in pip_deps}
    conda_specs = {}
    env = (ROOT / "environment.yml").read_text().split("dependencies:", 1)[1]
    for line in env.splitlines():
        m = re.match(r"^  - ([A-Za-z0-9_.\-]+[^#]*)$", line)
        if m:
            spec = m.group(1).strip()
            name = CONDA_TO_PIP.get(_name(spec), _name(spec))
            if name not in NOT_PACKAGES:
                conda_specs[name] = name + spec[len(_name(spec)):]
    assert sorted(conda_specs) == sorted(pip_specs)
    assert conda_specs == pip_specs  # same lower bounds too
    assert all("<" not in s and "==" not in s for s in pip_specs.values()), "runtime bounds are lower bounds only"


def test_readme_has_exactly_one_test_command_used_by_ci():
    readme = (ROOT / "README.md").read_text()
    block = re.findall(r"<!-- test-command -->\n```bash\n(.+?)\n```\n<!-- /test-command -->", readme, re.DOTALL)
    assert len(block) == 1 and "pytest" in block[0] and 'pip install -e ".[dev,ray,browser,instructor]"' in block[0]
    assert "SCPVIZ_MODE=quick" in block[0]
    ci = (ROOT / ".ci" / "run").read_text()
    assert "test-command" in ci and "SCPVIZ_CI=1" in ci  # CI fails, not skips, the Ray test without Ray
    assert "apt-get install -y chromium" in ci  # the browser tests' Chromium (tests/browser/conftest.py)


def test_importing_scpviz_silences_torchs_jit_script_warning_and_nothing_else():
    """torch.func.jvp warns (FutureWarning from torch.jit.script) on first use unless scpviz filtered it;
    a FutureWarning of anyone else still shows."""
    import subprocess
    import sys

    code = ("import warnings, torch, scpviz\n"
            "torch.func.jvp(torch.sin, (torch.ones(2),), (torch.ones(2),))\n"
            "with warnings.catch_warnings(record=True) as w:\n"
            "    warnings.simplefilter('default')\n"
            "    warnings.warn('other', FutureWarning)\n"
            "assert len(w) == 1, w\n")
    done = subprocess.run([sys.executable, "-W", "error::FutureWarning", "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]


def test_versions_agree():
    tomllib = pytest.importorskip("tomllib")
    import scpviz

    assert tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"] == scpviz.__version__


NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_conventions(path):
    nb = json.loads(path.read_text())
    assert re.match(r"^\d\d[a-z]?_[a-z0-9_]+\.ipynb$", path.name), "name notebooks NN_topic.ipynb (NNb_ for a bonus companion)"
    cells = nb["cells"]
    for c in cells:
        if c["cell_type"] == "code":
            assert not c.get("outputs") and c.get("execution_count") is None, "strip outputs before committing"
    first, second = "".join(cells[0]["source"]), "".join(cells[1]["source"])
    assert cells[0]["cell_type"] == "markdown" and first.startswith("# ") and "colab.research.google.com" in first
    assert cells[1]["cell_type"] == "code" and '"google.colab" in sys.modules' in second
    import scpviz

    install = [ln.strip() for ln in second.splitlines() if "%pip install" in ln]
    assert install == [scpviz.COLAB_INSTALL], f"the install line comes from scpviz.COLAB_INSTALL: {scpviz.COLAB_INSTALL}"
    lines = [ln for ln in second.splitlines() if ln.strip()]
    assert lines[0] == "import sys" and "google.colab" in lines[1] and "%pip install" in lines[2], \
        "badge → guarded install → imports"
    assert any(ln.startswith(("import scpviz", "from scpviz")) for ln in lines[3:]), "then the imports"
    assert any("assert" in "".join(c["source"]) for c in cells if c["cell_type"] == "code"), \
        "a notebook asserts its key numbers"


def test_every_notebook_is_in_the_readme_table():
    readme = (ROOT / "README.md").read_text()
    for p in NOTEBOOKS:
        assert f"notebooks/{p.name}" in readme, p.name


# The layers of scpviz/__init__.py, top to bottom; a module may import from its own layer and the ones above.
LAYERS = [{"config"}, {"datasets", "models"}, {"distances"}, {"importance"}, {"methods"}, {"consolidation", "replay"},
          {"training"}, {"ensemble"}, {"experiments"}, {"sweeps"}, {"studies"}, {"teaching"}, {"viz"}, {"cli", "gallery", "assignments", "__main__"}]


def _layer(top):
    return next(i for i, names in enumerate(LAYERS) if top in names)


def test_imports_flow_one_way():
    """Every ``from scpviz...`` / relative import, at module level or inside a function, points up (or sideways)."""
    import ast

    pkg = ROOT / "scpviz"
    bad = []
    for path in sorted(pkg.rglob("*.py")):
        rel = path.relative_to(pkg).with_suffix("").parts
        if rel == ("__init__",):
            continue
        own = _layer(rel[0])
        depth = len(rel) - 1  # how deep the module sits below scpviz/
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.ImportFrom):
                continue
            if node.level:
                base = list(rel[:-1])[:len(rel) - node.level] if node.level <= depth + 1 else []
                target = (base + (node.module.split(".") if node.module else []))
                if not target:  # "from . import x" at the top: x is a top-level module
                    target = [node.names[0].name]
            elif node.module and node.module.split(".")[0] == "scpviz":
                target = node.module.split(".")[1:] or [node.names[0].name]
            else:
                continue
            if target[0] == "__init__" or target[0] not in {n for names in LAYERS for n in names}:
                continue
            if _layer(target[0]) > own:
                bad.append(f"{'/'.join(rel)}.py imports {'.'.join(target)} (line {node.lineno})")
    assert not bad, "upward imports:\n" + "\n".join(bad)


def test_layer_list_in_the_package_docstring_is_true():
    import scpviz

    doc = scpviz.__doc__
    order = [doc.index(f"\n    {names_line}") for names_line in
             ("config", "datasets, models", "distances", "importance", "methods", "consolidation", "training",
              "experiments", "sweeps", "studies", "teaching", "viz", "cli")]
    assert order == sorted(order)
    tops = {p.stem if p.is_file() else p.name for p in (ROOT / "scpviz").iterdir()
            if (p.suffix == ".py" or (p / "__init__.py").exists()) and p.stem != "__init__"}
    assert tops == {n for names in LAYERS for n in names}, "every top-level module sits in a layer"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_teaching_frame(path):
    """Objectives and a time estimate at the top; questions with answers to reveal, a summary and references
    at the end; every cell has an id (nbformat 4.5)."""
    cells = json.loads(path.read_text())["cells"]
    top, end = "".join(cells[0]["source"]), "".join(cells[-1]["source"])
    assert "**You will learn:**" in top and "**Time:**" in top, "state the learning objectives and a time estimate"
    assert "## Check yourself" in end and "<details><summary><b>Answers</b>" in end, "questions need answers"
    assert end.index("## Summary") < end.index("## References") and "](http" in end.split("## References")[1]
    assert all(c.get("id") for c in cells), "every cell needs an id"


def _module_graph():
    """{module: modules of scpviz it imports}, every import statement counted (module level or inside a function)."""
    import ast

    pkg = ROOT / "scpviz"
    mods = {}
    for path in pkg.rglob("*.py"):
        parts = ("scpviz",) + path.relative_to(pkg).with_suffix("").parts
        mods[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    graph = {m: set() for m in mods}

    def known(name):
        while name not in mods and "." in name:
            name = name.rsplit(".", 1)[0]
        return name if name in mods else None

    for mod, path in mods.items():
        is_pkg = path.name == "__init__.py"
        for node in ast.walk(ast.parse(path.read_text())):
            targets = []
            if isinstance(node, ast.ImportFrom):
                if node.level:
                    base = mod.split(".") if is_pkg else mod.split(".")[:-1]
                    base = base[:len(base) - (node.level - 1)]
                    target = ".".join(base + ([node.module] if node.module else []))
                else:
                    target = node.module or ""
                targets = [f"{target}.{a.name}" for a in node.names] if target.startswith("scpviz") else []
            elif isinstance(node, ast.Import):
                targets = [a.name for a in node.names if a.name.startswith("scpviz")]
            for t in targets:
                t = known(t)
                if t and t != mod:
                    graph[mod].add(t)
    return graph


def test_no_import_cycles_anywhere_in_the_package():
    """The layer test above checks imports between layers; this one finds cycles inside a layer too (Tarjan's
    strongly connected components over every import, function-level ones included)."""
    graph = _module_graph()
    index, low, stack, on, cycles = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                cycles.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    assert not cycles, f"import cycles: {cycles}"
    assert "scpviz.datasets.registry" in graph["scpviz.datasets"]   # the mirror is of the package as it is


def _readme_package_map():
    readme = (ROOT / "README.md").read_text()
    block = readme.split("## The package")[1].split("```")[1]
    folders, current = {}, None
    for line in block.splitlines():
        if line.startswith("scpviz/"):
            current = line.split()[0]
            folders.setdefault(current, "")
        if current:
            folders[current] += " " + line.replace(current, "", 1) if line.startswith("scpviz/") else " " + line
    return folders


def test_the_readme_package_map_names_every_module_and_only_real_ones():
    """Every module of scpviz appears in README's package map (a top-level file by its path, a module of a folder by
    its file name — or, inside a sub-folder like plots/, by its stem), and every .py the map names exists."""
    import re

    folders = _readme_package_map()
    missing = []
    for path in sorted((ROOT / "scpviz").rglob("*.py")):
        rel = path.relative_to(ROOT / "scpviz")
        if rel.name in ("__init__.py", "__main__.py") and len(rel.parts) <= 2:
            continue
        if len(rel.parts) == 1:
            ok = f"scpviz/{rel.name}" in folders
        else:
            text = folders.get(f"scpviz/{rel.parts[0]}/", "")
            if len(rel.parts) == 2:
                ok = re.search(rf"\b{re.escape(rel.name)}\b", text) is not None
            else:   # scpviz/viz/plots/continual.py: "plots/ (... continual ...)"
                sub = rel.parts[1]
                ok = rel.name == "__init__.py" or (f"{sub}/" in text and re.search(
                    rf"{re.escape(sub)}/ \([^)]*\b{re.escape(rel.stem)}\b", text) is not None)
        if not ok:
            missing.append(str(rel))
    assert not missing, f"modules missing from README's package map: {missing}"
    for folder, text in folders.items():
        for name in re.findall(r"\b([a-z_0-9]+\.py)\b", text):
            assert any((ROOT / "scpviz").rglob(name)), f"{folder}: {name} does not exist in scpviz/"
