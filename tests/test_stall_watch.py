"""The stall watch: a notebook cell that runs past COURSE_STALL_S gets every thread's stack written, and the course
runner and the notebook tests name the cell and print those stacks."""

from __future__ import annotations

import importlib.util
import io
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import nbformat
import pytest
from IPython.core.events import EventManager, available_events
from nbformat.v4 import new_code_cell, new_notebook

from helpers import config

REPO = Path(__file__).resolve().parents[1]


class Shell:
    """The part of an IPython shell the watch uses: its events."""

    def __init__(self) -> None:
        self.events = EventManager(self, available_events)


def wait_in_a_helper_thread(release: threading.Event) -> None:
    release.wait(10)


@pytest.fixture
def watched(tmp_path, monkeypatch):
    log = tmp_path / "stacks.log"
    monkeypatch.setenv(config.STALL_ENV, "0.3")
    monkeypatch.setenv(config.STALL_LOG_ENV, str(log))
    shell = Shell()
    assert config.watch_for_stalls(shell)
    yield shell, log
    shell.events.trigger("post_run_cell", None)


def test_a_cell_past_the_limit_gets_every_threads_stack(watched):
    shell, log = watched
    release = threading.Event()
    helper = threading.Thread(target=wait_in_a_helper_thread, args=(release,))
    helper.start()
    shell.events.trigger("pre_run_cell", None)
    time.sleep(0.5)
    shell.events.trigger("post_run_cell", None)
    release.set()
    helper.join()
    stacks = log.read_text()
    assert "most recent call first" in stacks and "wait_in_a_helper_thread" in stacks
    assert "test_a_cell_past_the_limit_gets_every_threads_stack" in stacks  # the stalled (main) thread too


def test_a_cell_within_the_limit_writes_nothing_and_disarming_holds(watched):
    shell, log = watched
    shell.events.trigger("pre_run_cell", None)
    shell.events.trigger("post_run_cell", None)
    time.sleep(0.5)
    assert not log.exists() or log.read_text() == ""


def test_the_watch_is_off_without_the_variable_and_never_doubled(monkeypatch):
    shell = Shell()
    monkeypatch.setenv(config.STALL_ENV, "5")
    monkeypatch.delenv(config.STALL_LOG_ENV, raising=False)
    config.watch_for_stalls(shell)
    config.watch_for_stalls(shell)  # setup() run twice in one kernel
    assert len(shell.events.callbacks["pre_run_cell"]) == len(shell.events.callbacks["post_run_cell"]) == 1
    monkeypatch.delenv(config.STALL_ENV)
    assert not config.watch_for_stalls(shell)
    assert shell.events.callbacks["pre_run_cell"] == shell.events.callbacks["post_run_cell"] == []


def test_a_stall_log_that_cannot_be_opened_falls_back_to_stderr(tmp_path, monkeypatch):
    """setup() must never fail a notebook because of the stall log."""
    monkeypatch.setenv(config.STALL_ENV, "5")
    monkeypatch.setenv(config.STALL_LOG_ENV, str(tmp_path / "removed" / "stacks.log"))
    shell = Shell()
    assert config.watch_for_stalls(shell)
    (hook,) = shell.events.callbacks["pre_run_cell"]
    assert hook.__self__.stream is sys.__stderr__


def test_the_runner_run_in_process_leaves_no_stall_log_behind_in_the_environment(tmp_path, monkeypatch):
    """The runner removes its stall logs when it ends; a later kernel of the same process must not look for them."""
    spec = importlib.util.spec_from_file_location("run_course_for_stalls", REPO / "scripts" / "run_course.py")
    run_course = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, run_course)  # dataclasses look their module up there
    spec.loader.exec_module(run_course)
    for name in (config.STALL_ENV, config.STALL_LOG_ENV, "OMP_WAIT_POLICY", "COURSE_STATIC"):
        monkeypatch.setenv(name, "recorded")  # the runner sets them: each is restored after the test
        monkeypatch.delenv(name)
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    nbformat.write(new_notebook(cells=[new_code_cell("1")]), notebooks / "01_one.ipynb")
    assert run_course.main(["--notebooks", str(notebooks), "--build", str(tmp_path / "build")]) == 0
    assert config.STALL_LOG_ENV not in os.environ


def test_the_report_names_the_cell_and_prints_what_the_kernel_wrote(tmp_path):
    log = tmp_path / "stacks.log"
    out = io.StringIO()
    report = config.StallReport(0.2, log, out=out)
    log.write_text("written by an earlier cell\n")
    report.start("03_gaps.ipynb, cell 7 (model = train())")
    log.write_text(log.read_text() + "Thread 0x1 (most recent call first):\n  File x, line 1 in stuck\n")
    time.sleep(1.5)
    report.stop()
    text = out.getvalue()
    assert "03_gaps.ipynb, cell 7 (model = train()) is still running after 0.2 s" in text
    assert "in stuck" in text and "earlier cell" not in text


def stalling_notebook(folder: Path) -> Path:
    """A notebook whose second cell stalls; its first checks that the kernel's OpenMP threads do not spin-wait
    (the cause of the slow runs: spinning threads on busy cores made two-thread training many times slower)."""
    folder.mkdir()
    path = folder / "01_stall.ipynb"
    setup = "import os\nassert os.environ.get('OMP_WAIT_POLICY') == 'PASSIVE'\nimport helpers\nhelpers.setup()"
    cells = [new_code_cell(setup), new_code_cell("import time\ntime.sleep(8)  # stalls")]
    nbformat.write(new_notebook(cells=cells), path)
    return path


def course_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COURSE_STALL", "PYTEST", "OMP_WAIT"))}
    return env | {"PYTHONPATH": os.pathsep.join([str(REPO), env.get("PYTHONPATH", "")]), "COURSE_FAST": "1"} | extra


def test_the_course_runner_names_the_stalled_cell_and_prints_its_stacks(tmp_path):
    notebooks = stalling_notebook(tmp_path / "notebooks").parent
    command = [sys.executable, str(REPO / "scripts" / "run_course.py"), "--notebooks", str(notebooks),
               "--build", str(tmp_path / "build"), "--stall", "3"]
    run = subprocess.run(command, capture_output=True, text=True, env=course_env(), timeout=300)
    assert run.returncode == 0, run.stderr
    assert "01_stall.ipynb, cell 1 (import time) is still running after 3 s" in run.stderr, run.stderr
    assert "most recent call first" in run.stderr and "in <module>" in run.stderr


def test_the_notebook_tests_name_the_stalled_cell_and_print_its_stacks(tmp_path):
    notebook = stalling_notebook(tmp_path / "notebooks")
    (notebook.parent / "conftest.py").write_text((REPO / "notebooks" / "conftest.py").read_text())
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--nbval-lax", "--nbval-current-env",
               str(notebook)]
    run = subprocess.run(command, capture_output=True, text=True, env=course_env(COURSE_STALL_S="3"),
                         cwd=tmp_path, timeout=300)
    output = run.stdout + run.stderr
    assert run.returncode == 0, output
    assert "01_stall.ipynb::Cell 1 is still running after 3 s" in output, output
    assert "most recent call first" in output and "in <module>" in output
