"""Marks with nbgrader: graded check cells, checks that fail while grading, and a real nbgrader course."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from helpers.checks import Mistake, run_check
from helpers.checks._core import NotPassed

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
from make_exercises import (  # noqa: E402
    BEGIN, BEGIN_HIDDEN, END, END_HIDDEN, CHECK_CALL, MarkerError, strip_hidden_tests, student_version, tag_cells,
)

SOLUTIONS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
NOTEBOOK = "04_normal_distribution.ipynb"


def wrong() -> None:
    raise Mistake("sign", "the sign is flipped", "look at the minus")


def stub() -> None:
    raise NotImplementedError()


@pytest.fixture
def grading(monkeypatch):
    """Set one of the variables that turn grading on: ``grading("NBGRADER_EXECUTION", "autograde")``."""
    for name in ("NBGRADER_EXECUTION", "COURSE_GRADING"):
        monkeypatch.delenv(name, raising=False)
    return lambda name, value: monkeypatch.setenv(name, value)


def test_outside_grading_a_check_returns_its_verdict_and_never_raises(grading):
    grading("COURSE_GRADING", "0")
    assert run_check("t", wrong).status == "wrong"
    assert run_check("t", stub).status == "not attempted"
    assert run_check("t", lambda: None).ok


@pytest.mark.parametrize("name, value", [("NBGRADER_EXECUTION", "autograde"), ("NBGRADER_EXECUTION", "validate"),
                                         ("COURSE_GRADING", "1")])
def test_while_grading_a_wrong_answer_shows_its_verdict_then_fails(grading, capsys, name, value):
    grading(name, value)
    with pytest.raises(AssertionError, match="the sign is flipped") as raised:
        run_check("t", wrong)
    assert isinstance(raised.value, NotPassed) and raised.value.verdict.mistake == "sign"
    assert raised.value._render_traceback_() == [f"NotPassed: {raised.value.verdict}"]  # IPython: one line
    shown = capsys.readouterr().out
    assert "❌ t: the sign is flipped" in shown and "Hint: look at the minus" in shown
    with pytest.raises(NotPassed, match="not attempted yet"):
        run_check("t", stub)


def test_while_grading_a_correct_answer_is_shown_not_returned(grading, capsys):
    grading("NBGRADER_EXECUTION", "autograde")
    assert run_check("t", lambda: None) is None  # a returned value would be read by nbgrader as a partial mark
    assert "✅ t: correct" in capsys.readouterr().out


def exercise_notebook(check_source: str = "helpers.checks.check_f(f)") -> nbformat.NotebookNode:
    """Two exercises, a warm-up and another, each a heading, a solution cell and a check cell."""
    cell = nbformat.v4.new_code_cell
    return nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("# T\n[badge](https://x/blob/main/notebooks/09_t.ipynb)"),
        nbformat.v4.new_markdown_cell("Some prose.\n\n### Exercise 1 · `f` (warm-up)\n\nWrite f."),
        cell(f"def f(x):\n    {BEGIN}\n    return x\n    {END}"),
        cell(check_source),
        nbformat.v4.new_markdown_cell("### Exercise 2 · `g`"),
        cell(f"def g(x):\n    {BEGIN}\n    return -x\n    {END}"),
        nbformat.v4.new_markdown_cell("Between the answer and its check."),
        cell("helpers.checks.check_g(g)"),
        cell("print('a teaching cell')"),
    ])


def test_check_cells_after_solutions_become_graded_locked_test_cells():
    notebook = exercise_notebook()
    assert tag_cells(notebook, "09_t")
    meta = [cell.metadata.get("nbgrader") for cell in notebook.cells]
    assert meta[2] == {"grade": False, "grade_id": "09_t-f", "locked": False, "schema_version": 3,
                       "solution": True, "task": False}
    assert meta[3] == {"grade": True, "grade_id": "09_t-check_f", "locked": True, "points": 1, "schema_version": 3,
                       "solution": False, "task": False}
    assert meta[7]["grade_id"] == "09_t-check_g" and meta[7]["points"] == 2 and meta[7]["grade"]
    assert meta[8] is None and meta[6] is None
    assert not tag_cells(notebook, "09_t")  # nothing left to change


def test_hidden_tests_are_removed_from_the_student_version_only():
    check = f"helpers.checks.check_f(f)\n{BEGIN_HIDDEN}\nassert f(2) == 2\n{END_HIDDEN}"
    notebook = exercise_notebook(check)
    tag_cells(notebook, "09_t")
    student, blocks = student_version(notebook, "09_t.ipynb")
    assert blocks == 2
    assert student.cells[3].source == "helpers.checks.check_f(f)"
    assert student.cells[3].metadata.nbgrader["grade"]  # still graded and locked
    assert "assert f(2) == 2" in notebook.cells[3].source
    assert strip_hidden_tests(f"a\n    {BEGIN_HIDDEN}\n    b\n    {END_HIDDEN}\nc") == "a\nc"


@pytest.mark.parametrize("source", [f"{BEGIN_HIDDEN}\nx = 1", f"x = 1\n{END_HIDDEN}"])
def test_unbalanced_hidden_test_markers_are_refused(source):
    with pytest.raises(MarkerError, match="cell 3"):
        strip_hidden_tests(source, "cell 3")


@pytest.mark.parametrize("path", SOLUTIONS, ids=[p.stem for p in SOLUTIONS])
def test_every_exercise_of_the_course_has_a_graded_check(path):
    cells = nbformat.read(path, as_version=4).cells
    graded = [cell for cell in cells if cell.metadata.get("nbgrader", {}).get("grade")]
    solutions = [cell for cell in cells if cell.metadata.get("nbgrader", {}).get("solution")]
    assert len(graded) == len(solutions) >= 2
    for cell in graded:
        assert CHECK_CALL.search(cell.source) and cell.metadata.nbgrader["locked"]
        assert cell.metadata.nbgrader["points"] in (1, 2) and cell.metadata.nbgrader["schema_version"] == 3


def nbgrader(course: Path, *args: str) -> subprocess.CompletedProcess:
    """Run nbgrader in ``course`` with this environment's tools (nbgrader calls `alembic` from PATH)."""
    bin_dir = Path(sys.executable).parent
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}", "PYTHONPATH": str(ROOT)}
    for name in ("COURSE_FAST", "COURSE_STATIC"):  # the course's nbgrader_config.py must set them for its kernels
        env.pop(name, None)
    result = subprocess.run([str(bin_dir / "nbgrader"), *args], cwd=course, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


def submission(release: dict, solutions: dict[str, str], solved: set[str], wrong: set[str]) -> dict:
    """The released notebook with the answers ``solved`` filled in, those in ``wrong`` answered `return None`."""
    notebook = json.loads(json.dumps(release))
    for cell in notebook["cells"]:
        grade_id = cell["metadata"].get("nbgrader", {}).get("grade_id")
        if grade_id in solved:
            cell["source"] = solutions[grade_id]
        elif grade_id in wrong:
            cell["source"] = "".join(cell["source"]).replace("raise NotImplementedError()", "return None")
    return notebook


def test_nbgrader_marks_all_half_and_wrong_answers(tmp_path):
    pytest.importorskip("nbgrader")
    course = tmp_path / "course"
    (course / "source" / "ps04").mkdir(parents=True)
    shutil.copy(ROOT / "nbgrader_config.py", course)
    shutil.copy(ROOT / "notebooks" / NOTEBOOK, course / "source" / "ps04")
    nbgrader(course, "generate_assignment", "ps04")

    release_text = (course / "release" / "ps04" / NOTEBOOK).read_text(encoding="utf-8")
    release = json.loads(release_text)
    code = [cell for cell in nbformat.reads(release_text, as_version=4).cells if cell.cell_type == "code"]
    handed_out = [cell for cell in nbformat.read(ROOT / "notebooks" / "exercises" / NOTEBOOK, 4).cells
                  if cell.cell_type == "code"]
    assert [cell.source for cell in code] == [cell.source for cell in handed_out]  # nbgrader's release = ours

    source = nbformat.read(course / "source" / "ps04" / NOTEBOOK, as_version=4)
    solutions = {cell.metadata.nbgrader["grade_id"]: cell.source for cell in source.cells
                 if cell.metadata.get("nbgrader", {}).get("solution")}
    ids = sorted(solutions)
    answers = {"all": (set(ids), set()), "half": (set(ids[::2]), set(ids[1::2]))}  # half: the others answered wrong
    for student, (solved, wrong_ones) in answers.items():
        folder = course / "submitted" / student / "ps04"
        folder.mkdir(parents=True)
        notebook = submission(release, solutions, solved, wrong_ones)
        (folder / NOTEBOOK).write_text(json.dumps(notebook), encoding="utf-8")
    nbgrader(course, "autograde", "ps04")
    nbgrader(course, "generate_feedback", "ps04")

    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        scores = {student: gradebook.find_submission("ps04", student).score for student in answers}
        total = gradebook.find_submission("ps04", "all").max_score
    assert total == 6  # 1 + 1 for the warm-ups, 2 + 2 for the others
    assert scores == {"all": total, "half": 3}  # fraction_within (1) and sample_normal (2); the wrong ones 0

    for student in answers:  # every submission ran to the end, no kernel died or timed out
        graded = nbformat.read(course / "autograded" / student / "ps04" / NOTEBOOK, as_version=4)
        assert all(cell.get("execution_count") for cell in graded.cells if cell.cell_type == "code"), student
    feedback = (course / "feedback" / "half" / "ps04" / NOTEBOOK.replace(".ipynb", ".html")).read_text("utf-8")
    assert "returned None" in feedback and "Did you forget the <code>return</code> statement?" not in feedback
    assert "Hint:</b> Did you forget the `return` statement?" in feedback  # the course's verdict and hint
