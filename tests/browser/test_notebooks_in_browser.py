"""Every notebook, run the way a learner runs it: in JupyterLab, in Chromium, through the Run menu.

For each notebook: Run → Run All Cells, wait for the kernel; every code cell must have executed, none may
hold an error or write to stderr, and the number of static figures and of explorers must be the expected one. Then each
explorer is driven through the page: its main slider (``scpviz-main-slider``) is focused and moved with
the arrow keys, and the slider's readout, the explorer's figure (``scpviz-figure``) and its text readout
(``scpviz-readout``, where it has one) must change; each toggle (``scpviz-toggle``) is switched to another
button and the figure must change again. Screenshots before and after each move go to the folder printed
at the end of the session. Unit tests (``tests/viz``) set ``slider.value`` from Python; these tests catch
what they cannot: a widget that does not render, a front end that does not talk to the kernel, an
observer that does not redraw.

Run only these: ``SCPVIZ_MODE=quick python -m pytest tests/browser`` (needs the ``browser`` extra and a
Chromium, see README).
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import pytest

if os.environ.get("SCPVIZ_CI"):
    import pytest_playwright  # noqa: F401  CI installs the browser extra: a missing plugin is a failure
else:
    pytest.importorskip("pytest_playwright", reason="the browser tests need the browser extra: "
                        "pip install -e '.[browser]' (and a Chromium, see README)")
from playwright.sync_api import expect  # noqa: E402


# What each notebook shows in quick mode: static figures (image outputs of cells) and explorers (in page
# order, by their scpviz-<name> class). A new notebook must be added here.
EXPECTED = {
    "00_start_here.ipynb": dict(figures=2, explorers=["stability-plasticity-explorer", "digit-browser"]),
    "01_cramer_vs_js.ipynb": dict(figures=1, explorers=["landscape-explorer"]),
    "02_sliced_cramer.ipynb": dict(figures=3, explorers=["slicing-explorer", "convergence-explorer"]),
    "03_taylor_checks.ipynb": dict(figures=4, explorers=[]),
    "04_geometric_mas.ipynb": dict(figures=1, explorers=["output-transform-explorer", "riemannian-explorer"]),
    "05_scp_importance.ipynb": dict(figures=6, explorers=["importance-explorer"]),
    "06_permuted_mnist.ipynb": dict(figures=4, explorers=["permuted-mnist-explorer"]),
    "07_autoencoders.ipynb": dict(figures=7, explorers=["autoencoder-explorer", "autoencoder-explorer"]),
    "07b_autoencoder_study.ipynb": dict(figures=3, explorers=["study-explorer"]),
    "08_mnist_svhn.ipynb": dict(figures=6, explorers=["domain-shift-explorer"]),
    "09_cifar100_superclasses.ipynb": dict(figures=7, explorers=["superclass-explorer"]),
    "10_synthia_segmentation.ipynb": dict(figures=5, explorers=["segmentation-explorer"]),
}
REPO = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted(p.name for p in (REPO / "notebooks").glob("*.ipynb"))
RUN_TIMEOUT_S = 300
REDRAW_TIMEOUT_S = 90   # 06's live mode trains before it redraws

# The notebook's state, read from JupyterLab's own model (the server runs with expose_app_in_browser).
STATE_JS = """() => {
  const nb = window.jupyterapp.shell.currentWidget;
  const cells = nb.content.model.cells;
  const s = {code: 0, executed: 0, errors: [], stderr: [], figures: 0,
             kernel: nb.sessionContext.session ? nb.sessionContext.session.kernel.status : 'none'};
  for (let i = 0; i < cells.length; i++) {
    const c = cells.get(i);
    if (c.type !== 'code' || c.sharedModel.getSource().trim() === '') continue;
    s.code += 1;
    if (c.executionCount !== null) s.executed += 1;
    for (const o of c.outputs.toJSON()) {
      if (o.output_type === 'error') s.errors.push(`cell ${i}: ${o.ename}: ${o.evalue}`);
      if (o.output_type === 'stream' && o.name === 'stderr') s.stderr.push(`cell ${i}: ${[].concat(o.text).join('')}`);
      if (o.data && o.data['image/png']) s.figures += 1;
    }
  }
  return s;
}"""


def _open(page, url, name):
    page.goto(f"{url}/lab/tree/notebooks/{name}?reset")
    page.wait_for_function("() => window.jupyterapp && window.jupyterapp.shell.currentWidget"
                           " && window.jupyterapp.shell.currentWidget.sessionContext", timeout=90_000)
    page.evaluate("async () => { const w = window.jupyterapp.shell.currentWidget;"
                  " await w.context.ready; await w.sessionContext.ready; }")
    page.wait_for_function("() => { const k = window.jupyterapp.shell.currentWidget.sessionContext.session;"
                           " return k && k.kernel && k.kernel.status === 'idle'; }", timeout=90_000)


def _run_all(page, name):
    """Run → Run All Cells through the menu bar, then wait until every code cell ran (or one failed)."""
    page.locator(".jp-Notebook").first.click()
    page.get_by_role("menuitem", name="Run", exact=True).click()
    page.get_by_role("menuitem", name="Run All Cells", exact=True).click()
    deadline = time.monotonic() + RUN_TIMEOUT_S
    while True:
        state = page.evaluate(STATE_JS)
        if state["errors"]:
            pytest.fail(f"{name}: a cell failed in the browser:\n" + "\n".join(state["errors"]), pytrace=False)
        if state["executed"] == state["code"] and state["kernel"] == "idle":
            return state
        if time.monotonic() > deadline:
            pytest.fail(f"{name}: {state['executed']} of {state['code']} code cells ran in {RUN_TIMEOUT_S} s "
                        f"(kernel {state['kernel']})", pytrace=False)
        time.sleep(0.5)


def _slider_readout(slider):
    return slider.locator(".widget-readout").first.inner_text()


def _figure_src(explorer):
    img = explorer.locator(".scpviz-figure img").first
    expect(img).to_be_visible(timeout=REDRAW_TIMEOUT_S * 1000)
    return img.get_attribute("src")


def _readout(explorer):
    r = explorer.locator(".scpviz-readout")
    return r.first.inner_text() if r.count() else None


def _wait_redrawn(explorer, old_src, old_readout, what):
    """Wait until the explorer's figure (and its readout, if it has one) differ from before; fail after a while."""
    deadline = time.monotonic() + REDRAW_TIMEOUT_S
    img = explorer.locator(".scpviz-figure img").first
    while True:
        src = img.get_attribute("src") if img.count() else old_src
        readout = _readout(explorer)
        if src != old_src and (old_readout is None or readout != old_readout):
            return
        if time.monotonic() > deadline:
            stale = [part for part, same in (("figure", src == old_src),
                                             ("readout", old_readout is not None and readout == old_readout)) if same]
            pytest.fail(f"{what}: the {' and the '.join(stale)} did not change within {REDRAW_TIMEOUT_S} s",
                        pytrace=False)
        time.sleep(0.25)


def _move_slider(page, explorer, what, steps=3):
    """Focus the main slider's handle and press arrow keys (right, or left if it sits at its maximum)."""
    slider = explorer.locator(".scpviz-main-slider").first
    handle = slider.locator(".noUi-handle, .ui-slider-handle").first   # ipywidgets 8 / 7
    before = _slider_readout(slider)
    handle.scroll_into_view_if_needed()
    handle.focus()
    for key in ("ArrowRight", "ArrowLeft"):
        for _ in range(steps):
            page.keyboard.press(key)
        try:
            expect(slider.locator(".widget-readout").first).not_to_have_text(before, timeout=3000)
            return before, _slider_readout(slider)
        except AssertionError:
            continue
    pytest.fail(f"{what}: the arrow keys did not move the slider (readout stayed {before!r})", pytrace=False)


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_runs_and_its_explorers_respond(page, jupyterlab, screenshot_dir, name):
    assert name in EXPECTED, f"{name} is new: add its expected figures and explorers to EXPECTED in {__file__}"
    expected = EXPECTED[name]
    _open(page, jupyterlab, name)
    try:
        state = _run_all(page, name)
        assert not state["stderr"], f"{name}: output on stderr (a learner sees it in red):\n" + "\n".join(state["stderr"])
        assert state["figures"] == expected["figures"], (
            f"{name}: {state['figures']} static figures in the browser, expected {expected['figures']}")
        explorers = page.locator(".scpviz-explorer")
        found = [re.search(r"scpviz-(?!explorer)([\w-]+)", explorers.nth(i).get_attribute("class")).group(1)
                 for i in range(explorers.count())]
        assert found == expected["explorers"], f"{name}: explorers in the page {found}, expected {expected['explorers']}"
        stem = name.removesuffix(".ipynb")
        for i, kind in enumerate(found):
            ex = explorers.nth(i)
            what = f"{name}, explorer {i} ({kind})"
            ex.scroll_into_view_if_needed()
            src, readout = _figure_src(ex), _readout(ex)
            ex.screenshot(path=screenshot_dir / f"{stem}_{i}_{kind}_0_before.png")
            _move_slider(page, ex, what)
            _wait_redrawn(ex, src, readout, f"{what}, main slider")
            ex.screenshot(path=screenshot_dir / f"{stem}_{i}_{kind}_1_slider.png")
            toggles = ex.locator(".scpviz-toggle")
            for t in range(toggles.count()):
                src, readout = _figure_src(ex), _readout(ex)
                other = toggles.nth(t).locator("button:not(.mod-active)").first
                label = other.inner_text()
                other.click()
                _wait_redrawn(ex, src, readout, f"{what}, toggle → {label}")
                ex.screenshot(path=screenshot_dir / f"{stem}_{i}_{kind}_{2 + t}_toggle_{re.sub(r'[^0-9A-Za-z]+', '-', label).strip('-')}.png")
    finally:
        page.evaluate("async () => { const w = window.jupyterapp.shell.currentWidget;"
                      " if (w && w.sessionContext) { await w.sessionContext.shutdown(); } }")
