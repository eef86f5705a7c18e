"""Grading a class end to end, as an instructor does: nbgrader's real pipeline on every assignment.

For each assignment: ``nbgrader generate_assignment``, then submissions under ``submitted/<student>/`` — one with the
solution, one per known mistake (the table below: which solution cell it replaces, what it writes there, the checks
it must fail, and a fragment of the hint the student must read) — then ``nbgrader autograde``, and the scores from
nbgrader's gradebook. The solution gets every automatic point; a mistake loses the points of the checks it breaks
and keeps the others; its hint names the mistake and shows none of the solution's code.
"""
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ASSIGNMENTS = ROOT / "assignments"

# (assignment, student, solution cell replaced, (old, new) edits of the solution's code, checks that fail, hint)
MISTAKES = [
    ("01_distances", "borrows_cramer", "cramer_samples",
     [("    t = torch.sort", "    from scpviz import distances as d\n    return float(d.cramer_samples(u, v, p=p))\n"
                            "    t = torch.sort")],
     {"check_cramer_samples", "check_sliced_cramer"}, "you called scpviz's own"),
    ("01_distances", "js_constant", "js_at",
     [("    x = np.linspace", "    return float(np.sqrt(np.log(2)))\n    x = np.linspace")],
     {"check_js_at"}, "only once the supports separate"),
    ("01_distances", "sliced_mean_of_cp", "sliced_cramer",
     [("np.mean([cramer_samples(X @ xi, Y @ xi, p) ** p for xi in slices]) ** (1 / p)",
       "np.mean([cramer_samples(X @ xi, Y @ xi, p) for xi in slices])")],
     {"check_sliced_cramer"}, "averaged C_p over the slices"),
    ("02_scp_importance", "forgets_eval", "scp_importance",
     [("    model.eval()\n", ""), ("    model.train(was)\n", "")],
     {"check_scp_importance", "check_averaged_first"}, "train mode"),
    ("02_scp_importance", "stale_gradients", "scp_importance",
     [("        grads = torch.autograd.grad(xi @ phi_bar, list(params.values()), retain_graph=True)",
       "        (xi @ phi_bar).backward(retain_graph=True)\n"
       "        grads = [p.grad.clone() for p in params.values()]\n"
       "        model.zero_grad()")],
     {"check_scp_importance", "check_averaged_first"}, "already stored in .grad"),
    ("02_scp_importance", "averaged_first_is_gamma_over_L", "bias",
     [("    return scp_importance(model, x, slices.mean(0, keepdim=True))",
       "    return {k: v / len(slices) for k, v in scp_importance(model, x, slices).items()}")],
     {"check_averaged_first"}, "divided by L"),
    ("02_scp_importance", "bias_is_one_over_L", "bias",
     [("    K = model(x).shape[1]", "    return 1 / L\n    K = model(x).shape[1]")],
     {"check_bias"}, "you returned 1/L"),
    ("03_online_consolidation", "penalty_not_detached", "penalty",
     [("theta_star[n].detach()", "theta_star[n]")],
     {"check_penalty"}, "detach it"),
    ("03_online_consolidation", "fisher_on_test", "train_sequence",
     [("importance.fisher_importance(model, task.x_train)", "importance.fisher_importance(model, task.x_test)")],
     {"check_train_sequence"}, "test images"),
    ("03_online_consolidation", "uniform_importance", "train_sequence",
     [("imp = merge(imp, importance.fisher_importance(model, task.x_train), alpha)",
       "imp = {n: torch.ones_like(p) for n, p in model.named_parameters()}")],
     {"check_train_sequence"}, "uniform importance"),
    ("04_honest_experiment", "forgetting_is_minus_bwt", "forgetting",
     [("np.nanmax(acc[:T - 1, j])", "acc[j, j]")],
     {"check_forgetting"}, "right after learning"),
    ("04_honest_experiment", "chooses_on_test", "choose",
     [('h.final_average_metric("val") for h in runs_of', 'h.final_average_metric("test") for h in runs_of')],
     {"check_choose"}, "*test* split"),
    ("05_blind_spot", "resets_in_place", "reset_entries",
     [("    twin = copy.deepcopy(model)\n", "    twin = model\n")],
     {"check_reset_entries", "check_blind_reset_test"}, "you returned the model itself"),
    ("05_blind_spot", "swaps_the_resets", "blind_reset_test",
     [('"blind_reset": error(reset_entries(model, theta_star, blind))', '"blind_reset": error(reset_entries(model, theta_star, seen))'),
      ('"seen_reset": error(reset_entries(model, theta_star, seen))', '"seen_reset": error(reset_entries(model, theta_star, blind))')],
     {"check_blind_reset_test"}, "holds the other reset's error"),
]
NAMES = sorted(p.name for p in (ASSIGNMENTS / "source").iterdir() if p.is_dir())


def _strip_markers(src):
    return "\n".join(ln for ln in src.splitlines() if ln.strip() not in ("### BEGIN SOLUTION", "### END SOLUTION"))


def _submission(released, source, edits=None, cell=None):
    """The released notebook with the source's solutions written in (a student who solved it), then ``edits``
    applied to solution cell ``cell``."""
    sol = {c["metadata"]["nbgrader"]["grade_id"]: _strip_markers("".join(c["source"]))
           for c in source["cells"] if c.get("metadata", {}).get("nbgrader", {}).get("solution")}
    nb = json.loads(json.dumps(released))
    for c in nb["cells"]:
        meta = c.get("metadata", {}).get("nbgrader", {})
        if meta.get("solution"):
            text = sol[meta["grade_id"]]
            if meta["grade_id"] == cell:
                for old, new in edits:
                    assert old in text, f"the mistake's edit does not apply to cell {cell}: {old!r}"
                    text = text.replace(old, new)
            c["source"] = text
    return nb


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """Every assignment generated, submitted by 'solution' and by each mistake's student, and autograded."""
    if not os.environ.get("SCPVIZ_CI"):
        pytest.importorskip("nbgrader", reason="pip install -e '.[instructor]'")
    else:
        import nbgrader  # noqa: F401  CI installs the instructor extra: a missing nbgrader is a failure
    course = tmp_path_factory.mktemp("course")
    shutil.copytree(ASSIGNMENTS / "source", course / "source")
    shutil.copy(ASSIGNMENTS / "nbgrader_config.py", course)
    env = {**os.environ, "SCPVIZ_MODE": "quick"}

    def nbgrader(*args):
        done = subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course, env=env, capture_output=True,
                              text=True, timeout=1800)
        assert done.returncode == 0, f"nbgrader {' '.join(args)} failed:\n{done.stdout[-3000:]}{done.stderr[-3000:]}"

    for name in NAMES:
        nbgrader("generate_assignment", name, "--force")
        source = json.loads((course / "source" / name / f"{name}.ipynb").read_text())
        released = json.loads((course / "release" / name / f"{name}.ipynb").read_text())
        subs = {"solution": _submission(released, source)}
        for a, student, cell, edits, _, _ in MISTAKES:
            if a == name:
                subs[student] = _submission(released, source, edits, cell)
        for student, nb in subs.items():
            folder = course / "submitted" / student / name
            folder.mkdir(parents=True)
            (folder / f"{name}.ipynb").write_text(json.dumps(nb))
        nbgrader("autograde", name, "--create", "--force")
    from nbgrader.api import Gradebook

    scores, hints = {}, {}
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        for name in NAMES:
            for student_dir in (course / "submitted").iterdir():
                if not (student_dir / name).exists():
                    continue
                student = student_dir.name
                nb = gb.find_submission_notebook(name, name, student)
                scores[(name, student)] = {g.name: (g.auto_score, g.max_score) for g in nb.grades
                                           if g.auto_score is not None}
                out = json.loads((course / "autograded" / student / name / f"{name}.ipynb").read_text())
                hints[(name, student)] = {
                    c["metadata"]["nbgrader"]["grade_id"]: " ".join(o.get("evalue", "") for o in c.get("outputs", [])
                                                                    if o.get("output_type") == "error")
                    for c in out["cells"] if c.get("metadata", {}).get("nbgrader", {}).get("grade")}
    return scores, hints, course


@pytest.mark.parametrize("name", NAMES)
def test_the_solution_earns_every_automatic_point(graded, name):
    scores, hints, _ = graded
    lost = {k: v for k, v in scores[(name, "solution")].items() if v[0] != v[1]}
    assert not lost, f"{name}: the solution lost points: {lost}\n{hints[(name, 'solution')]}"


@pytest.mark.parametrize("name, student, cell, edits, fails, hint", MISTAKES, ids=[m[1] for m in MISTAKES])
def test_a_mistake_loses_the_points_it_breaks_and_keeps_the_others(graded, name, student, cell, edits, fails, hint):
    scores, hints, course = graded
    got = scores[(name, student)]
    assert {k for k, (s, m) in got.items() if s == 0} == fails, got
    assert all(s == m for k, (s, m) in got.items() if k not in fails), got
    shown = " ".join(hints[(name, student)][k] for k in fails)
    assert hint in shown, f"the student reads: {shown!r}"
    # the hint names the mistake without showing the solution's code
    source = json.loads((course / "source" / name / f"{name}.ipynb").read_text())
    solution_lines = {ln.strip() for c in source["cells"] if c.get("metadata", {}).get("nbgrader", {}).get("solution")
                      for ln in "".join(c["source"]).splitlines() if len(ln.strip()) > 30}
    assert not [ln for ln in solution_lines if ln in shown], "a hint shows a line of the solution"
