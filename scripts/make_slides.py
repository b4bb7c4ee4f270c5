"""Build a reveal.js slide deck per notebook into build/slides/, for a lecturer to project at 1280×720.

    python scripts/make_slides.py                # every notebook, full mode (what `make slides` does)
    python scripts/make_slides.py --fast --only 04 --build /tmp/slides

Each notebook runs with the slide style for its figures (``COURSE_SLIDES=1``: ``helpers.plots.SLIDE_STYLE``, larger
text and lines) and static widgets, by the course runner, into ``build/slides/executed/<mode>/``. The pages of
``make run`` cannot be reused, since their figures have the page style, but their checkpoint cache is: after
``make run`` every training cell loads in a second. An executed notebook newer than its source and than every
``helpers`` module is reused as it is.

The slides follow each notebook's structure, computed here and never committed to the notebooks:

- the title cell opens the deck; each ``##`` section is a slide, and each further Markdown cell (a step) a sub-slide
  below it, with the code cells that follow it; a figure gets a sub-slide of its own with the code that draws it,
  unless that code comes right after the step's text, and so does the code after a figure;
- plumbing is skipped: the Colab setup cell and cells of imports and ``helpers.setup()``;
- an exercise shows the student's stub, its solution goes to the speaker notes (press S) and its check is skipped.

``build/slides/NN_name.slides.html`` loads reveal.js (``scripts/vendor/reveal.js``, copied to
``build/slides/reveal.js/``) and MathJax (``build/slides/mathjax/``) from its own folder, so it works offline;
``build/slides/index.html`` lists the decks. ``build/slides/NN_name.ipynb`` is the executed notebook with the same
slide metadata, for live slides in JupyterLab with jupyterlab-rise (``pip install -e ".[teach]"``).
"""

from __future__ import annotations

import argparse
import ast
import html
import os
import shutil
import sys
from pathlib import Path

import nbformat
from nbconvert import SlidesExporter

from make_exercises import BEGIN, strip_solutions
from run_course import REPO_DIR, NotebookFailed, course_mode, mathjax_url, outline, render, run_notebook, select

REVEAL = Path(__file__).resolve().parent / "vendor" / "reveal.js"
WIDTH, HEIGHT = 1280, 720
SETUP_CALLS = {"helpers.setup", "torch.set_num_threads"}


def is_plumbing(cell: nbformat.NotebookNode) -> bool:
    """The Colab setup cell, or a code cell of imports and ``helpers.setup()`` calls only: no slide content."""
    if "colab-setup" in cell.metadata.get("tags", []):
        return True
    try:
        statements = ast.parse(cell.source).body
    except SyntaxError:  # IPython magics
        return False

    def plumbing(node: ast.stmt) -> bool:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            return True
        call = node.value if isinstance(node, ast.Expr) else None
        return isinstance(call, ast.Call) and ast.unparse(call.func) in SETUP_CALLS

    return bool(statements) and all(plumbing(node) for node in statements)


def _draws_figure(cell: nbformat.NotebookNode) -> bool:
    return any(key.startswith("image/") for output in cell.get("outputs", []) for key in output.get("data", {}))


def slide_deck(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A copy of an executed notebook with reveal.js slide metadata (``cell.metadata.slideshow.slide_type``) set
    from its structure, its exercises shown as stubs with the solutions in the speaker notes."""
    deck = nbformat.v4.new_notebook(metadata=nbformat.from_dict(nb.metadata))
    figure_shown = code_shown = False  # whether the current sub-slide already shows a figure, a code cell
    for index, original in enumerate(nb.cells):
        cell = nbformat.from_dict(original)
        grading = cell.metadata.get("nbgrader", {})
        notes = None
        if index == 0:
            kind = "slide"
        elif cell.cell_type != "code":
            kind = "slide" if cell.source.lstrip().startswith(("# ", "## ")) else "subslide"
            figure_shown = code_shown = False
        elif is_plumbing(cell) or grading.get("grade"):
            kind = "skip"
        else:
            figure = _draws_figure(cell)
            kind = "subslide" if figure_shown or (figure and code_shown) else "-"
            figure_shown, code_shown = figure, True
            if BEGIN in cell.source:
                notes = nbformat.v4.new_markdown_cell(f"Solution:\n\n```python\n{cell.source}\n```")
                notes.metadata["slideshow"] = {"slide_type": "notes"}
                cell.source = strip_solutions(cell.source)[0]
                cell.outputs = []
        cell.metadata["slideshow"] = {"slide_type": kind}
        deck.cells.append(cell)
        if notes is not None:
            deck.cells.append(notes)
    return deck


def executed(path: Path, folder: Path, timeout: int, mode: str) -> nbformat.NotebookNode:
    """``path`` run by the course runner into ``folder`` (slide style, static widgets), or its earlier run there
    when that is newer than the notebook and every helpers module."""
    target = folder / f"{path.stem}.ipynb"
    sources = [path, *sorted((REPO_DIR / "helpers").rglob("*.py"))]
    if target.exists() and target.stat().st_mtime > max(source.stat().st_mtime for source in sources):
        print(f"{path.stem:<32} reused {target}")
    else:
        result = run_notebook(path, folder, timeout, mode)
        print(f"{path.stem:<32} ran in {result.seconds:.1f} s")
    return nbformat.read(target, as_version=4)


def write_deck(nb: nbformat.NotebookNode, name: str, build: Path) -> int:
    """Write the deck ``build/<name>.slides.html`` and its notebook ``build/<name>.ipynb``; return its slide count
    (slides and sub-slides)."""
    deck = slide_deck(nb)
    title, _ = outline(nb, name)
    page = render(SlidesExporter, deck, title, template_name="course_slides", reveal_url_prefix="reveal.js",
                  reveal_theme="white", reveal_width=str(WIDTH), reveal_height=str(HEIGHT),
                  mathjax_url=mathjax_url(build))
    (build / f"{name}.slides.html").write_text(page, encoding="utf-8")
    nbformat.write(deck, build / f"{name}.ipynb")
    return slide_count(deck)


def slide_count(deck: nbformat.NotebookNode) -> int:
    """The slides and sub-slides of a deck's notebook."""
    return sum(cell.metadata.get("slideshow", {}).get("slide_type") in ("slide", "subslide") for cell in deck.cells)


def index_page(build: Path) -> str:
    """A list of the decks in ``build``: link, title and number of slides."""
    rows = []
    for path in sorted(build.glob("*.slides.html")):
        name = path.name.removesuffix(".slides.html")
        deck = nbformat.read(build / f"{name}.ipynb", as_version=4)
        title = html.escape(outline(deck, name)[0])
        rows.append(f"<li><a href='{html.escape(path.name)}'>{title}</a> ({slide_count(deck)} slides)</li>")
    return f"""<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>Slides</title>
<style>body {{ font-family: system-ui, sans-serif; max-width: 50rem; margin: 2rem auto; line-height: 1.6; }}</style>
</head>
<body>
<h1>Slides</h1>
<p>One deck per notebook. The arrow keys move on (down: the steps of a section); S opens the speaker notes,
F goes full screen, Esc shows the overview.</p>
<ul>
{chr(10).join(rows)}
</ul>
</body>
</html>
"""


def main(argv: list[str] | None = None) -> int:
    """Build the decks; return the exit code."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fast", action="store_true", help="set COURSE_FAST=1 (small data, few epochs)")
    parser.add_argument("--only", metavar="PATTERN", help="the notebooks whose name matches *PATTERN*")
    parser.add_argument("--timeout", type=int, default=1800, help="seconds a single cell may take (default 1800)")
    parser.add_argument("--notebooks", type=Path, default=REPO_DIR / "notebooks", help="folder of the notebooks")
    parser.add_argument("--build", type=Path, default=REPO_DIR / "build" / "slides", help="output folder")
    args = parser.parse_args(argv)

    os.environ["COURSE_SLIDES"] = "1"
    mode = course_mode(args.fast)
    _, selected = select(args.notebooks, args.only)
    if not selected:
        return 2

    args.build.mkdir(parents=True, exist_ok=True)
    shutil.copytree(REVEAL, args.build / "reveal.js", dirs_exist_ok=True)
    for path in selected:
        try:
            nb = executed(path, args.build / "executed" / mode, args.timeout, mode)
        except NotebookFailed as error:
            print(f"FAILED {error}", file=sys.stderr)
            return 1
        count = write_deck(nb, path.stem, args.build)
        print(f"{path.stem:<32} {count} slides: {args.build / (path.stem + '.slides.html')}")
    (args.build / "index.html").write_text(index_page(args.build), encoding="utf-8")
    print(f"\nopen {args.build / 'index.html'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
