"""The notebooks' "Your turn" exercises: every solution shown in a notebook passes its checker, one plausible wrong
answer per checker is rejected with a hint that names the mistake, and the course's structure (exercises in every
core notebook, Core/Bonus marks, links to the assignments) holds."""

import json
import math
import re
from pathlib import Path

import numpy as np
import pytest
import torch

from scpviz import distances
from scpviz.teaching import checks
from scpviz.teaching.numerics import gamma_relative_sd, gamma_relative_sd_monte_carlo

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
CORE = ["00_start_here", "01_cramer_vs_js", "02_sliced_cramer", "03_taylor_checks", "04_geometric_mas",
        "05_scp_importance", "06_permuted_mnist", "07_autoencoders"]
EXERCISE = re.compile(r"checks\.try_exercise\(checks\.(\w+), (\w+)\)")


def _cells(path):
    return [(c["cell_type"], "".join(c["source"])) for c in json.loads(path.read_text())["cells"]]


def _exercises():
    """(notebook, checker name, function name, solution source) for every coding exercise of every notebook."""
    out = []
    for path in NOTEBOOKS:
        cells = _cells(path)
        for i, (kind, src) in enumerate(cells):
            m = EXERCISE.search(src) if kind == "code" else None
            if not m:
                continue
            solution = next((s for k, s in cells[i + 1:i + 3] if k == "markdown" and "<b>Solution</b>" in s), None)
            assert solution, f"{path.name}, cell {i}: the exercise has no solution cell right after it"
            code = re.search(r"```python\n(.*?)```", solution, re.S)
            assert code, f"{path.name}, cell {i}: the solution cell holds no ```python block"
            out.append(pytest.param(path.stem, m.group(1), m.group(2), code.group(1), id=f"{path.stem}-{m.group(2)}"))
    return out


EXERCISES = _exercises()


def test_every_core_notebook_has_two_exercises_one_of_them_coding():
    for stem in CORE:
        cells = _cells(ROOT / "notebooks" / f"{stem}.ipynb")
        turns = sum(src.count("### Your turn") for kind, src in cells if kind == "markdown")
        coding = sum(bool(EXERCISE.search(src)) for kind, src in cells if kind == "code")
        assert turns >= 2 and coding >= 1, f"{stem}: {turns} 'Your turn' exercises, {coding} coding"


@pytest.mark.parametrize("stem, checker, name, solution", EXERCISES)
def test_the_notebooks_solution_passes_its_checker(stem, checker, name, solution):
    ns = {"np": np, "torch": torch, "math": math}
    exec(solution, ns)
    assert getattr(checks, checker)(ns[name]) is True


def _forgetting_minus_bwt(acc):
    T = len(acc)
    return float(np.mean([acc[j, j] - acc[T - 1, j] for j in range(T - 1)]))


# One plausible wrong answer per checker, and a fragment of the hint that must name its mistake.
WRONG = {
    "check_forgetting": (_forgetting_minus_bwt, "*best* accuracy"),
    "check_cramer_from_cdfs": (lambda q0, q1, dt, p=2.0: float((np.abs(q0 - q1) ** p).sum() * dt), "1/p-th root"),
    "check_gamma_relative_sd": (lambda K, L: 1 / math.sqrt(L), "depends on K"),
    "check_kl_replay": (lambda a, b: float((torch.softmax(b, 1) * (torch.log_softmax(b, 1) - torch.log_softmax(a, 1)))
                                           .sum(1).mean()), "old* probabilities"),
    "check_mas_replay": (lambda a, b: float((((b ** 2).sum(1) - (a ** 2).sum(1)) ** 2).mean()), "½ of eq 6"),
    "check_online_merge": (lambda old, new, a: dict(new) if old is None else
                           {k: (1 - a) * new[k] + a * old[k] for k in new}, "old importance"),
    "check_choose_lambda": (lambda lams, val, test: lams[int(np.argmax(test))], "*test* scores"),
    "check_blind_fraction": (lambda imp, rel=1e-9: float(torch.cat([(v < rel * v.max()).flatten()
                                                                    for v in imp.values()]).double().mean()),
                             "its own maximum"),
}


def test_every_exercise_checker_has_a_wrong_answer_to_reject():
    assert {p.values[1] for p in EXERCISES} <= set(WRONG)


@pytest.mark.parametrize("checker", sorted(WRONG))
def test_a_wrong_answer_is_rejected_with_a_hint_that_names_it(checker):
    wrong, fragment = WRONG[checker]
    with pytest.raises(AssertionError, match=re.escape(fragment)):
        getattr(checks, checker)(wrong)


def test_try_exercise_prints_not_attempted_wrong_or_right_and_never_raises(capsys):
    def todo(acc):
        raise NotImplementedError("your turn")

    assert checks.try_exercise(checks.check_forgetting, todo) is None
    assert "Not attempted yet" in capsys.readouterr().out
    assert checks.try_exercise(checks.check_forgetting, _forgetting_minus_bwt) is False
    out = capsys.readouterr().out
    assert out.startswith("Not yet.") and "*best* accuracy" in out
    assert checks.try_exercise(checks.check_forgetting,
                               lambda a: float(np.mean([np.nanmax(a[:-1, j]) - a[-1, j] for j in range(len(a) - 1)])))
    assert "Right" in capsys.readouterr().out


@pytest.mark.parametrize("K", [2, 10, 50])
def test_gamma_relative_sd_closed_form_matches_a_simulation(K):
    mc = gamma_relative_sd_monte_carlo(K, 20, n_draws=4000, seed=1)
    assert mc == pytest.approx(gamma_relative_sd(K, 20), rel=0.06)


def test_cramer_from_cdfs_contract_matches_the_box_closed_form():
    """The exercise's Riemann sum on the CDFs of two boxes equals the closed form of notebook 01."""
    grid = np.linspace(-3.0, 4.5, 30001)
    q0, q1 = np.clip(grid, 0.0, 1.0), np.clip(grid - 0.6, 0.0, 1.0)
    riemann = float(((q0 - q1) ** 2).sum() * (grid[1] - grid[0])) ** 0.5
    assert riemann == pytest.approx(distances.box_closed_forms([0.6])["C2"][0], rel=1e-3)


def test_wrong_answers_bounds_also_fail_on_guesses_that_are_close():
    """A relative sd off by 10 % is not accepted (the checker compares to 1e-6, not to a loose band)."""
    with pytest.raises(AssertionError):
        checks.check_gamma_relative_sd(lambda K, L: 1.1 * gamma_relative_sd(K, L))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_every_section_is_marked_core_or_bonus_and_every_notebook_links_its_assignment(path):
    cells = _cells(path)
    text = "\n".join(src for kind, src in cells if kind == "markdown")
    assert "assignments/release/" in text, f"{path.name} links no assignment"
    for kind, src in cells:
        for heading in re.findall(r"^## (.+)$", src, re.M) if kind == "markdown" else []:
            if heading.startswith(("Summary", "References")):
                continue
            assert re.search(r"\*(Core|Bonus)\b", heading), f"{path.name}: section '{heading}' is not marked Core or Bonus"
    assert "~?" not in text, f"{path.name}: a time estimate was left unfilled"


def test_every_assignment_links_back_to_its_notebooks():
    for folder in ("source", "release"):
        for nb in sorted((ROOT / "assignments" / folder).glob("*/*.ipynb")):
            first = _cells(nb)[0][1]
            linked = re.findall(r"\.\./\.\./\.\./notebooks/(\w+)\.ipynb", first)
            assert linked and all((ROOT / "notebooks" / f"{n}.ipynb").exists() for n in linked), nb
