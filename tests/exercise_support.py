"""What the tests of the exercise checks share: the notebooks' exercise functions, solved or stubbed, and verdicts.

The tests import it as a plain module: pytest puts this folder on ``sys.path`` for the test files in it.
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from helpers.checks import Verdict

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
from make_exercises import BEGIN, strip_solutions  # noqa: E402

Check = Callable[[Callable[..., Any]], Verdict]


def stub(*args: Any) -> Any:
    """An exercise left as the student notebook hands it out."""
    raise NotImplementedError()


def exercise_functions(notebook: str, names: Iterable[str], solved: bool,
                       namespace: dict[str, Any] | None = None) -> dict[str, Callable[..., Any]]:
    """The functions ``names`` that the exercise cells of ``notebooks/<notebook>`` define.

    The cells run with their solutions (``solved``) or as `make exercises` stubs them, with ``np``, ``torch``, ``F``
    and ``math`` defined, and whatever ``namespace`` adds.
    """
    scope: dict[str, Any] = {"np": np, "torch": torch, "F": F, "math": math, **(namespace or {})}
    for cell in json.loads((ROOT / "notebooks" / notebook).read_text(encoding="utf-8"))["cells"]:
        source = "".join(cell["source"])
        if cell["cell_type"] == "code" and BEGIN in source:
            exec(source if solved else strip_solutions(source, notebook)[0], scope)
    return {name: scope[name] for name in names}


def assert_mistake(check: Check, answer: Callable[..., Any], mistake: str) -> Verdict:
    """Assert that ``check`` finds ``answer`` wrong as ``mistake``, with a message and a hint; return the verdict."""
    verdict = check(answer)
    assert (verdict.status, verdict.mistake) == ("wrong", mistake), str(verdict)
    assert verdict.message and verdict.hint
    return verdict


def solutions_are_correct(notebook: str, checks: Mapping[str, Check],
                          namespace: dict[str, Any] | None = None) -> Callable[[str], None]:
    """A test, one case per exercise of ``checks``: the notebook's solution passes its check."""

    @pytest.mark.parametrize("name", list(checks))
    def test(name: str) -> None:
        verdict = checks[name](exercise_functions(notebook, [name], solved=True, namespace=namespace)[name])
        assert verdict.status == "correct", str(verdict)

    return test


def stubs_are_not_attempted(notebook: str, checks: Mapping[str, Check],
                            namespace: dict[str, Any] | None = None) -> Callable[[str], None]:
    """A test, one case per exercise of ``checks``: the student notebook's stub, and `stub`, are "not attempted"."""

    @pytest.mark.parametrize("name", list(checks))
    def test(name: str) -> None:
        for answer in exercise_functions(notebook, [name], solved=False, namespace=namespace)[name], stub:
            verdict = checks[name](answer)
            assert verdict.status == "not attempted", str(verdict)

    return test
