"""Slides: the deck structure from a notebook's cells, the slide style of figures, and a deck opened offline."""

import json
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from browser_support import MATHJAX_DONE, chromium, requests, run_script, screenshot, wait_until

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
from make_exercises import BEGIN, END  # noqa: E402
from make_slides import is_plumbing, slide_count, slide_deck  # noqa: E402

NOTEBOOK = "04_normal_distribution"
FIGURE = new_output("display_data", data={"image/png": "iVBORw0KGgo=", "text/plain": "<Figure>"})


def kinds(deck: nbformat.NotebookNode) -> list[str]:
    return [cell.metadata.slideshow.slide_type for cell in deck.cells]


def test_a_slide_per_section_a_sub_slide_per_step_and_no_plumbing():
    setup = new_code_cell("# Colab only\nimport sys", metadata={"tags": ["colab-setup"]})
    notebook = new_notebook(cells=[
        new_markdown_cell("# 09 · Title\n\nGoals."),
        setup,
        new_code_cell("import numpy as np\nfrom helpers import plots\n\nhelpers.setup()"),
        new_markdown_cell("## 1 · A section\n\nIts first step."),
        new_code_cell("x = 1"),
        new_code_cell("# Check: x\nassert x == 1"),
        new_code_cell("plots.show(x)", outputs=[FIGURE]),  # a figure after code: a sub-slide of its own
        new_code_cell("y = 2"),  # code after a figure: its own sub-slide too
        new_markdown_cell("A second step."),
        new_code_cell("plots.show(y)", outputs=[FIGURE]),  # right after the step's text: stays with it
        new_markdown_cell("### Exercise 1 · `f`"),
        new_code_cell(f"def f():\n    {BEGIN}\n    return 1\n    {END}", metadata={"nbgrader": {"solution": True}}),
        new_code_cell("helpers.checks.check_f(f)", metadata={"nbgrader": {"grade": True}}),
        new_markdown_cell("## Summary"),
    ])
    deck = slide_deck(notebook)
    assert kinds(deck) == ["slide", "skip", "skip", "slide", "-", "-", "subslide", "subslide", "subslide", "-",
                           "subslide", "-", "notes", "skip", "slide"]
    stub, notes = deck.cells[11], deck.cells[12]
    assert "raise NotImplementedError()" in stub.source and "return 1" not in stub.source
    assert "return 1" in notes.source and notes.cell_type == "markdown"
    assert slide_count(deck) == 7
    assert "slideshow" not in notebook.cells[4].metadata  # the notebook itself is left as it was


@pytest.mark.parametrize("source, plumbing", [
    ("import torch\n\nimport helpers\nhelpers.setup(seed=1)", True),
    ("from helpers import (\n    plots,\n    zoo,\n)", True),
    ("import torch\nx = torch.zeros(3)", False),
    ("%timeit 1 + 1", False),
    ("", False),
])
def test_plumbing_is_imports_and_setup_only(source, plumbing):
    assert is_plumbing(new_code_cell(source)) is plumbing


@pytest.mark.parametrize("value", ["1", None])
def test_the_slide_style_applies_only_under_course_slides(value):
    code = ("import json, matplotlib, helpers.plots as p; "
            "print(json.dumps([{k: matplotlib.rcParams[k] for k in p.SLIDE_STYLE}, p.SLIDE_STYLE]))")
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "MPLBACKEND": "Agg"}
    if value:
        env["COURSE_SLIDES"] = value
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    applied, style = json.loads(result.stdout)
    assert (applied == style) is bool(value)
    assert style["font.size"] >= 14  # about 20 px on a 1280×720 slide


@pytest.fixture(scope="module")
def slides(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("slides")
    run_script("make_slides", "--fast", "--only", NOTEBOOK, "--build", str(folder))
    return folder


def test_make_slides_writes_a_deck_its_notebook_and_an_index(slides):
    deck = nbformat.read(slides / f"{NOTEBOOK}.ipynb", as_version=4)
    assert slide_count(deck) >= 10
    index = (slides / "index.html").read_text(encoding="utf-8")
    assert f"href='{NOTEBOOK}.slides.html'" in index and f"({slide_count(deck)} slides)" in index
    page = (slides / f"{NOTEBOOK}.slides.html").read_text(encoding="utf-8")
    assert "unpkg" not in page and "cdnjs" not in page and "require.js" not in page
    assert (slides / "reveal.js" / "dist" / "reveal.js").exists() and (slides / "mathjax" / "MathJax.js").exists()


def test_the_deck_opens_offline_with_every_slide_and_no_failed_request(slides):
    deck = nbformat.read(slides / f"{NOTEBOOK}.ipynb", as_version=4)
    sections = sum(cell.metadata.slideshow.slide_type == "slide" for cell in deck.cells)
    with chromium(1280, 720, offline=True) as browser:
        requests(browser)
        browser.get((slides / f"{NOTEBOOK}.slides.html").as_uri())
        wait_until(browser, f"window.Reveal && Reveal.isReady() && {MATHJAX_DONE}", 60, "the deck did not get ready")
        total, horizontal = browser.execute_script("return [Reveal.getTotalSlides(), Reveal.getHorizontalSlides().length]")
        screenshot(browser, "slides-title")
        image_width = browser.execute_script("""
            const slide = [...document.querySelectorAll(".reveal .slides section:not(.stack)")]
                .find(section => section.querySelector(".jp-OutputArea-output img"));
            const where = Reveal.getIndices(slide);
            Reveal.slide(where.h, where.v);
            return Math.max(...[...slide.querySelectorAll(".jp-OutputArea-output img")].map(img => img.naturalWidth));
        """)  # the first slide with a figure
        time.sleep(1)
        screenshot(browser, "slides-figure")
        seen = requests(browser)
    assert (total, horizontal) == (slide_count(deck), sections)
    assert seen.failed == [] and seen.remote() == []
    assert any(url.endswith("reveal.js/dist/reveal.js") for url in seen.urls)
    assert 600 < image_width <= 1280, "a figure should fill the slide's width without being scaled down"
