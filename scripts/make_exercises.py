"""Generate the student notebooks in notebooks/exercises/ from the solution notebooks in notebooks/.

Each block between ``### BEGIN SOLUTION`` and ``### END SOLUTION`` becomes the stub nbgrader writes,
``# YOUR CODE HERE`` / ``raise NotImplementedError()`` at the block's indentation; each block between
``### BEGIN HIDDEN TESTS`` and ``### END HIDDEN TESTS`` (in a check cell) is removed; outputs are cleared; nothing
else changes but the Colab badge, which points at the student version.

In the source notebooks the cells get nbgrader's cell metadata, so that ``nbgrader generate_assignment`` takes
them as they are: each solution cell is an autograded answer, and the check cell after it
(``helpers.checks.check_<name>(...)``) a graded, locked test cell worth 1 point for a warm-up exercise (its
``### Exercise`` heading says "warm-up") and 2 points otherwise. Under nbgrader a check that is not passed raises,
so its cell gets no marks (see ``helpers/checks/_core.py``).

    python scripts/make_exercises.py          # write notebooks/exercises/
    python scripts/make_exercises.py --check  # exit 1 if a committed student notebook is out of date
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
SOURCE_DIR = ROOT / "notebooks"
EXERCISE_DIR = SOURCE_DIR / "exercises"
BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
BEGIN_HIDDEN, END_HIDDEN = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"
STUB = ("# YOUR CODE HERE", "raise NotImplementedError()")
CHECK_CALL = re.compile(r"helpers\.checks\.(check_\w+)\(")
EXERCISE_HEADING = "### Exercise"
WARM_UP_POINTS, POINTS = 1, 2
"""Points of a graded check cell: for a warm-up exercise (its heading says so), for any other."""


class MarkerError(ValueError):
    """Solution markers that do not pair up."""


def _strip_blocks(source: str, begin: str, end: str, replacement: tuple[str, ...], where: str) -> tuple[str, int]:
    """Replace each block from a ``begin`` line to an ``end`` line by ``replacement`` (at the block's indentation);
    return the new source and the number of blocks."""
    out: list[str] = []
    indent: str | None = None
    blocks = 0
    for number, line in enumerate(source.splitlines(), 1):
        stripped = line.strip()
        if stripped == begin:
            if indent is not None:
                raise MarkerError(f"{where}, line {number}: {begin} inside another block")
            indent = line[: len(line) - len(line.lstrip())]
            out += [indent + text for text in replacement]
        elif stripped == end:
            if indent is None:
                raise MarkerError(f"{where}, line {number}: {end} without a {begin}")
            indent = None
            blocks += 1
        elif indent is None:
            out.append(line)
    if indent is not None:
        raise MarkerError(f"{where}: {begin} without an {end}")
    return "\n".join(out), blocks


def strip_solutions(source: str, where: str = "cell") -> tuple[str, int]:
    """Replace each solution block with the stub; return the new source and the number of blocks."""
    return _strip_blocks(source, BEGIN, END, STUB, where)


def strip_hidden_tests(source: str, where: str = "cell") -> str:
    """Remove each hidden-tests block (markers included)."""
    return _strip_blocks(source, BEGIN_HIDDEN, END_HIDDEN, (), where)[0]


def _nbgrader(grade_id: str, *, solution: bool, points: int | None = None) -> dict:
    """nbgrader's cell metadata (schema 3) for an answer cell (``solution``) or a graded, locked test cell."""
    metadata = {"grade": not solution, "grade_id": grade_id, "locked": not solution, "schema_version": 3,
                "solution": solution, "task": False}
    if points is not None:
        metadata["points"] = points
    return metadata


def _points(cells: list[nbformat.NotebookNode], index: int) -> int:
    """The points of the exercise whose solution is cell ``index``: from the nearest ``### Exercise`` heading above."""
    for cell in reversed(cells[:index]):
        headings = [line for line in cell.source.splitlines() if line.startswith(EXERCISE_HEADING)]
        if cell.cell_type == "markdown" and headings:
            return WARM_UP_POINTS if "warm-up" in headings[-1] else POINTS
    return POINTS


def tag_cells(notebook: nbformat.NotebookNode, stem: str) -> bool:
    """Give every solution cell, and the check cell that follows it, nbgrader's metadata; True when any changed."""
    wanted: dict[int, dict] = {}
    cells = notebook.cells
    for index, cell in enumerate(cells):
        if cell.cell_type != "code" or BEGIN not in cell.source:
            continue
        name = re.search(r"def (\w+)", cell.source)
        wanted[index] = _nbgrader(f"{stem}-{name.group(1) if name else index}", solution=True)
        following = next((i for i in range(index + 1, len(cells)) if cells[i].cell_type == "code"), None)
        check = CHECK_CALL.search(cells[following].source) if following is not None else None
        if check:
            wanted[following] = _nbgrader(f"{stem}-{check.group(1)}", solution=False, points=_points(cells, index))
    changed = False
    for index, metadata in wanted.items():
        if cells[index].metadata.get("nbgrader") != metadata:
            cells[index].metadata["nbgrader"] = metadata
            changed = True
    return changed


def student_version(notebook: nbformat.NotebookNode, name: str) -> tuple[nbformat.NotebookNode, int]:
    """The student notebook: solutions stubbed, outputs cleared, badge pointing at notebooks/exercises/."""
    student = nbformat.from_dict(notebook)
    blocks = 0
    for index, cell in enumerate(student.cells):
        if cell.cell_type == "code":
            where = f"{name}, cell {index}"
            cell.source, found = strip_solutions(strip_hidden_tests(cell.source, where), where)
            blocks += found
            cell.outputs, cell.execution_count = [], None
        elif any(marker in cell.source for marker in (BEGIN, END, BEGIN_HIDDEN, END_HIDDEN)):
            raise MarkerError(f"{name}, cell {index}: solution and hidden-test markers belong in code cells")
    badge = student.cells[0]
    badge.source = badge.source.replace(f"/notebooks/{name}", f"/notebooks/exercises/{name}")
    return student, blocks


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only report out-of-date student notebooks")
    args = parser.parse_args()
    stale: list[str] = []
    for path in sorted(SOURCE_DIR.glob("[0-9][0-9]_*.ipynb")):
        notebook = nbformat.read(path, as_version=4)
        if tag_cells(notebook, path.stem):
            stale.append(f"{path.relative_to(ROOT)} (nbgrader metadata)")
            if not args.check:
                nbformat.write(notebook, path)
        student, blocks = student_version(notebook, path.name)
        target = EXERCISE_DIR / path.name
        text = nbformat.writes(student) + "\n"
        if not target.exists() or target.read_text(encoding="utf-8") != text:
            stale.append(str(target.relative_to(ROOT)))
            if not args.check:
                EXERCISE_DIR.mkdir(exist_ok=True)
                target.write_text(text, encoding="utf-8")
        print(f"{path.name}: {blocks} exercise(s)")
    sources = {path.name for path in SOURCE_DIR.glob("[0-9][0-9]_*.ipynb")}
    for orphan in sorted(EXERCISE_DIR.glob("*.ipynb")):
        if orphan.name not in sources:
            stale.append(f"{orphan.relative_to(ROOT)} (no solution notebook)")
            if not args.check:
                orphan.unlink()
    if args.check and stale:
        print("out of date (run `make exercises`):\n  " + "\n  ".join(stale), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
