"""Generate the student notebooks in notebooks/exercises/ from the solution notebooks in notebooks/.

Each block between ``### BEGIN SOLUTION`` and ``### END SOLUTION`` becomes the stub nbgrader writes,
``# YOUR CODE HERE`` / ``raise NotImplementedError()`` at the block's indentation; outputs are cleared; nothing
else changes but the Colab badge, which points at the student version. The solution cells also get nbgrader's
cell metadata in the source notebooks, so a course that uses nbgrader can take them as they are.

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
STUB = ("# YOUR CODE HERE", "raise NotImplementedError()")


class MarkerError(ValueError):
    """Solution markers that do not pair up."""


def strip_solutions(source: str, where: str = "cell") -> tuple[str, int]:
    """Replace each solution block with the stub; return the new source and the number of blocks."""
    out: list[str] = []
    indent: str | None = None
    blocks = 0
    for number, line in enumerate(source.splitlines(), 1):
        stripped = line.strip()
        if stripped == BEGIN:
            if indent is not None:
                raise MarkerError(f"{where}, line {number}: {BEGIN} inside another solution block")
            indent = line[: len(line) - len(line.lstrip())]
            out += [indent + STUB[0], indent + STUB[1]]
        elif stripped == END:
            if indent is None:
                raise MarkerError(f"{where}, line {number}: {END} without a {BEGIN}")
            indent = None
            blocks += 1
        elif indent is None:
            out.append(line)
    if indent is not None:
        raise MarkerError(f"{where}: {BEGIN} without an {END}")
    return "\n".join(out), blocks


def tag_solution_cells(notebook: nbformat.NotebookNode, stem: str) -> bool:
    """Give every cell with a solution block nbgrader's metadata; return True when anything changed."""
    changed = False
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type != "code" or BEGIN not in cell.source:
            continue
        name = re.search(r"def (\w+)", cell.source)
        wanted = {"grade": False, "grade_id": f"{stem}-{name.group(1) if name else index}", "locked": False,
                  "schema_version": 3, "solution": True, "task": False}
        if cell.metadata.get("nbgrader") != wanted:
            cell.metadata["nbgrader"] = wanted
            changed = True
    return changed


def student_version(notebook: nbformat.NotebookNode, name: str) -> tuple[nbformat.NotebookNode, int]:
    """The student notebook: solutions stubbed, outputs cleared, badge pointing at notebooks/exercises/."""
    student = nbformat.from_dict(notebook)
    blocks = 0
    for index, cell in enumerate(student.cells):
        if cell.cell_type == "code":
            cell.source, found = strip_solutions(cell.source, f"{name}, cell {index}")
            blocks += found
            cell.outputs, cell.execution_count = [], None
        elif BEGIN in cell.source or END in cell.source:
            raise MarkerError(f"{name}, cell {index}: solution markers belong in code cells")
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
        if tag_solution_cells(notebook, path.stem):
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
