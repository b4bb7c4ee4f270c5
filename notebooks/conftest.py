"""pytest settings for the notebooks: fast mode, static widgets and the stall watch unless the caller chose otherwise.

Set at import, before nbval starts any kernel, so that the kernels inherit them and
``pytest --nbval-lax --nbval-current-env notebooks/`` runs in fast mode without `make`. A cell still running after
``COURSE_STALL_S`` seconds (600 unless set) is named, with every thread's stack its kernel wrote
(``helpers.config.watch_for_stalls``; nbval itself shows a cell's output only once the cell ends).
``OMP_WAIT_POLICY=PASSIVE``: torch's OpenMP threads sleep instead of spinning while they wait, which on cores that
other programs keep busy made training many times slower (README, troubleshooting). pytest loads this file
before any test imports torch, so with ``pytest tests notebooks`` it holds for the tests' own process too.
"""

import os
import tempfile
from pathlib import Path

import pytest

os.environ.setdefault("COURSE_FAST", "1")
os.environ.setdefault("COURSE_STATIC", "1")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("COURSE_STALL_S", "600")
os.environ.setdefault("COURSE_STALL_LOG", str(Path(tempfile.mkdtemp(prefix="course-stalls-")) / "stacks.log"))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item):
    from helpers.config import StallReport

    capture = item.config.pluginmanager.getplugin("capturemanager")
    report = StallReport(float(os.environ["COURSE_STALL_S"]), Path(os.environ["COURSE_STALL_LOG"]),
                         out=_Uncaptured(capture))
    report.start(item.nodeid)
    try:
        return (yield)
    finally:
        report.stop()


class _Uncaptured:
    """A stream to the terminal, around pytest's output capture."""

    def __init__(self, capture) -> None:
        self.capture = capture

    def write(self, text: str) -> None:
        if self.capture is None:  # pytest -p no:capture
            os.write(2, text.encode())
            return
        with self.capture.global_and_fixture_disabled():
            os.write(2, text.encode())

    def flush(self) -> None:
        pass
