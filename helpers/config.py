"""Course-wide settings: fast mode, where data lives, the device, and the setup every notebook runs first."""

from __future__ import annotations

import os
import platform
import random
from pathlib import Path
from typing import TypeVar

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


def _inline_figures() -> None:
    """In a Jupyter kernel, show returned matplotlib figures as images (the inline backend's display hook)."""
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is not None and hasattr(shell, "kernel"):
        shell.run_line_magic("matplotlib", "inline")


def setup(seed: int = 0) -> None:
    """Seed everything, show figures inline and print the mode, device and versions: every notebook's first call."""
    seed_everything(seed)
    _inline_figures()
    mode = "fast (COURSE_FAST=1: small data, few epochs)" if FAST else "full"
    print(
        f"mode: {mode} | device: {pick_device()} | torch {torch.__version__} "
        f"| python {platform.python_version()} | seed {seed}"
    )
