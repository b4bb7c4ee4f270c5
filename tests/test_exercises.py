"""The student notebooks: generated from the solutions, in step with them, and every exercise checked."""

import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
from make_exercises import BEGIN, END, MarkerError, strip_solutions, student_version  # noqa: E402

SOLUTIONS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def test_solution_blocks_become_nbgrader_stubs_at_their_indentation():
    source = f"def f(x):\n    {BEGIN}\n    y = x + 1\n    return y\n    {END}\n\nprint(f)"
    stub, blocks = strip_solutions(source)
    assert blocks == 1
    assert stub == "def f(x):\n    # YOUR CODE HERE\n    raise NotImplementedError()\n\nprint(f)"


@pytest.mark.parametrize("source", [
    f"{BEGIN}\nx = 1",  # never closed
    f"x = 1\n{END}",  # never opened
    f"{BEGIN}\n{BEGIN}\n{END}\n{END}",  # nested
])
def test_unbalanced_markers_are_refused_with_the_place(source):
    with pytest.raises(MarkerError, match="cell"):
        strip_solutions(source, "cell 3")


def test_student_version_clears_outputs_and_changes_nothing_else():
    notebook = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("# T\n[badge](https://x/blob/main/notebooks/01_t.ipynb)"),
        nbformat.v4.new_code_cell(f"def f():\n    {BEGIN}\n    return 1\n    {END}", execution_count=3,
                                  outputs=[nbformat.v4.new_output("stream", text="hi")]),
        nbformat.v4.new_code_cell("print(2)"),
    ])
    student, blocks = student_version(notebook, "01_t.ipynb")
    assert blocks == 1
    assert "notebooks/exercises/01_t.ipynb" in student.cells[0].source
    assert student.cells[1].outputs == [] and student.cells[1].execution_count is None
    assert "return 1" not in student.cells[1].source
    assert student.cells[2].source == "print(2)"
    assert notebook.cells[1].outputs  # the solution notebook itself is untouched


def test_committed_student_notebooks_are_up_to_date():
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "make_exercises.py"), "--check"],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("path", SOLUTIONS, ids=[p.stem for p in SOLUTIONS])
def test_each_notebook_has_two_to_four_checked_exercises(path):
    cells = nbformat.read(path, as_version=4).cells
    exercises = [i for i, cell in enumerate(cells) if cell.cell_type == "code" and BEGIN in cell.source]
    assert 2 <= len(exercises) <= 4, f"{path.name} has {len(exercises)} exercises"
    for i in exercises:
        following = next(c for c in cells[i + 1:] if c.cell_type == "code")
        assert "helpers.checks.check_" in following.source, f"{path.name}: exercise in cell {i} has no check cell"
