"""Course-wide settings: fast mode, where data lives, the device, and the setup every notebook runs first."""

from __future__ import annotations

import contextlib
import faulthandler
import os
import platform
import random
import sys
import threading
from pathlib import Path
from typing import Any, TextIO, TypeVar

import numpy as np
import torch

T = TypeVar("T")

FAST: bool = os.environ.get("COURSE_FAST", "").lower() in {"1", "true", "yes"}
"""True when ``COURSE_FAST=1``: notebooks shrink data and epochs (tests and CI set it)."""

STATIC: bool = os.environ.get("COURSE_STATIC", "").lower() in {"1", "true", "yes"}
"""True when ``COURSE_STATIC=1``: widgets are replaced by static figures (the course runner and tests set it)."""

REPO_DIR: Path = Path(__file__).resolve().parents[1]
DATA_DIR: Path = Path(os.environ.get("COURSE_DATA_DIR", REPO_DIR / "data")).resolve()
"""Downloaded data sets, the bundled MNIST subset and the checkpoint cache."""
CHECKPOINT_DIR: Path = DATA_DIR / "checkpoints"

STALL_ENV, STALL_LOG_ENV = "COURSE_STALL_S", "COURSE_STALL_LOG"
"""``COURSE_STALL_S=600``: in a notebook, a cell still running after 600 s writes every thread's stack (Python's
``faulthandler``), and again every 600 s while it runs; to the kernel's stderr (the cell's output) or, with
``COURSE_STALL_LOG=path``, appended to that file. The course runner and the notebook tests set both."""


def pick(full: T, fast: T) -> T:
    """Return ``fast`` in fast mode (``COURSE_FAST=1``) and ``full`` otherwise."""
    return fast if FAST else full


def pick_device() -> torch.device:
    """The fastest device here: CUDA, then Apple's MPS, then the CPU."""
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def seed_everything(seed: int = 0) -> None:
    """Seed Python, NumPy and PyTorch so that a notebook gives the same numbers on every run."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def _ipython() -> Any:
    """The running IPython shell, or None outside IPython."""
    try:
        from IPython import get_ipython
    except ImportError:
        return None
    return get_ipython()


def _inline_figures() -> None:
    """In a Jupyter kernel, show returned matplotlib figures as images (the inline backend's display hook)."""
    shell = _ipython()
    if shell is not None and hasattr(shell, "kernel"):
        shell.run_line_magic("matplotlib", "inline")


class _StallWatch:
    """faulthandler armed for one cell: every thread's stack after ``limit`` seconds, and again every ``limit``."""

    def __init__(self, limit: float, stream: TextIO) -> None:
        self.limit, self.stream = limit, stream

    def arm(self, info: Any = None) -> None:
        faulthandler.dump_traceback_later(self.limit, repeat=True, file=self.stream)

    def disarm(self, result: Any = None) -> None:
        faulthandler.cancel_dump_traceback_later()


def watch_for_stalls(shell: Any) -> bool:
    """With ``COURSE_STALL_S`` set, arm ``faulthandler`` before each cell of the IPython ``shell``, disarm it after.

    A cell that runs past the limit then gets every thread's stack written (see ``STALL_ENV``); faulthandler writes
    from a thread of its own, so this works even when the stalled thread holds the interpreter lock. A second call
    replaces the first one's hooks. Returns whether the watch is on.
    """
    for event in ("pre_run_cell", "post_run_cell"):
        for hook in [h for h in shell.events.callbacks[event] if isinstance(getattr(h, "__self__", None), _StallWatch)]:
            shell.events.unregister(event, hook)
    if not os.environ.get(STALL_ENV):
        return False
    watch = _StallWatch(float(os.environ[STALL_ENV]), _stall_stream(os.environ.get(STALL_LOG_ENV)))
    shell.events.register("pre_run_cell", watch.arm)
    shell.events.register("post_run_cell", watch.disarm)
    return True


def _stall_stream(log: str | None) -> TextIO:
    """The ``COURSE_STALL_LOG`` file opened for appending, or stderr when there is none or it cannot be opened."""
    if log:
        with contextlib.suppress(OSError):
            return open(log, "a", encoding="utf-8")  # noqa: SIM115 - faulthandler writes to it while armed
    return sys.__stderr__


class StallReport:
    """For the process that runs the kernels (the course runner, the notebook tests): when the cell started with
    :meth:`start` runs past ``limit`` seconds, print its label and what its kernel wrote to the stall log since.

    Repeats every ``limit`` seconds until :meth:`stop`. It reads the log a second after the kernel's faulthandler
    wrote to it (see :func:`watch_for_stalls`), so it needs nothing from the stalled kernel itself.
    """

    def __init__(self, limit: float, log: Path, out: TextIO | None = None) -> None:
        self.limit, self.log, self.out = limit, Path(log), out
        self._done = threading.Event()

    def start(self, label: str) -> None:
        self.stop()
        self._done = threading.Event()
        offset = self.log.stat().st_size if self.log.exists() else 0
        threading.Thread(target=self._watch, args=(label, offset, self._done), daemon=True).start()

    def stop(self) -> None:
        self._done.set()

    def _watch(self, label: str, offset: int, done: threading.Event) -> None:
        times = 1
        while not done.wait(self.limit + 1 if times == 1 else self.limit):
            stacks = ""
            with contextlib.suppress(OSError), self.log.open("rb") as log:
                log.seek(offset)
                stacks = log.read().decode(errors="replace")
                offset = log.tell()
            stacks = stacks or "(none written: the kernel arms its watch in helpers.setup())"
            print(f"\n{label} is still running after {times * self.limit:g} s ({STALL_ENV}={self.limit:g}); every "
                  f"thread of its kernel:\n{stacks}", file=self.out or sys.stderr, flush=True)
            times += 1


def setup(seed: int = 0) -> None:
    """Seed everything, show figures inline and print the mode, device and versions: every notebook's first call.

    In a Jupyter kernel it also turns on the stall watch when ``COURSE_STALL_S`` is set (:func:`watch_for_stalls`).
    """
    seed_everything(seed)
    _inline_figures()
    if _ipython() is not None:
        watch_for_stalls(_ipython())
    mode = "fast (COURSE_FAST=1: small data, few epochs)" if FAST else "full"
    print(
        f"mode: {mode} | device: {pick_device()} | torch {torch.__version__} "
        f"| python {platform.python_version()} | seed {seed}"
    )
