"""The check framework behind the exercises: run a student's function, name the mistake, give a hint.

While grading (nbgrader's ``validate`` and ``autograde`` set ``NBGRADER_EXECUTION``; ``COURSE_GRADING=1`` does the
same by hand) a check shows its verdict, and one that is not passed then raises :class:`NotPassed`, an
``AssertionError``, so that nbgrader gives its graded cell no marks. Outside grading a check returns its verdict,
which the notebook shows, and "Run all" never stops at an exercise.
"""

from __future__ import annotations

import html
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from IPython.display import display  # IPython comes with ipywidgets

CORRECT, WRONG, NOT_ATTEMPTED = "correct", "wrong", "not attempted"
_SYMBOLS = {CORRECT: "✅", WRONG: "❌", NOT_ATTEMPTED: "⏳"}
_COLOURS = {CORRECT: "#1a7f37", WRONG: "#cf222e", NOT_ATTEMPTED: "#9a6700"}


class Mistake(Exception):
    """Raised inside a check's body when the answer is wrong: ``id`` names the mistake for tests and teachers."""

    def __init__(self, id: str, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.id, self.message, self.hint = id, message, hint


@dataclass(frozen=True)
class Verdict:
    """The outcome of a check, shown as one coloured line in a notebook."""

    title: str
    status: str
    message: str
    mistake: str | None = None
    hint: str = ""

    @property
    def ok(self) -> bool:
        return self.status == CORRECT

    def __str__(self) -> str:
        text = f"{_SYMBOLS[self.status]} {self.title}: {self.message}"
        return text + (f"\n   Hint: {self.hint}" if self.hint else "")

    __repr__ = __str__

    def _repr_html_(self) -> str:
        hint = f"<br><b>Hint:</b> {html.escape(self.hint)}" if self.hint else ""
        return (f'<div style="border-left:4px solid {_COLOURS[self.status]};padding:4px 10px">'
                f"{_SYMBOLS[self.status]} <b>{html.escape(self.title)}</b>: {html.escape(self.message)}{hint}</div>")


def grading() -> bool:
    """Whether checks are being graded: under nbgrader (``NBGRADER_EXECUTION``) or with ``COURSE_GRADING=1``."""
    forced = os.environ.get("COURSE_GRADING", "").lower() in {"1", "true", "yes"}
    return forced or bool(os.environ.get("NBGRADER_EXECUTION"))


class NotPassed(AssertionError):
    """A check that was not passed while grading; its message is the verdict, hint included."""

    def __init__(self, verdict: Verdict) -> None:
        super().__init__(str(verdict))
        self.verdict = verdict

    def _render_traceback_(self) -> list[str]:
        """What IPython shows instead of a traceback: one line that names the error and the verdict."""
        return [f"{type(self).__name__}: {self.verdict}"]


def run_check(title: str, body: Callable[[], None]) -> Verdict | None:
    """Run ``body``, which calls the student's code and raises :class:`Mistake` on a recognized error.

    ``NotImplementedError`` (the exercise stub) gives "not attempted yet"; any other exception is reported as
    wrong, with the exception described, never as a traceback. While :func:`grading`, the verdict is displayed
    instead of returned (nbgrader would read a returned value as a partial mark) and a verdict other than
    "correct" is then raised as :class:`NotPassed`.
    """
    verdict = _judge(title, body)
    if not grading():
        return verdict
    display(verdict)  # in a notebook its HTML; printed outside IPython
    if not verdict.ok:
        raise NotPassed(verdict)
    return None


def _judge(title: str, body: Callable[[], None]) -> Verdict:
    """The verdict on ``body`` (see :func:`run_check`)."""
    try:
        body()
    except NotImplementedError:
        return Verdict(title, NOT_ATTEMPTED, "not attempted yet: replace `raise NotImplementedError()` with your "
                       "code, run that cell, then run this one again.")
    except Mistake as mistake:
        return Verdict(title, WRONG, mistake.message, mistake.id, mistake.hint)
    except Exception as error:  # the student's code crashed: say how, without a traceback
        return Verdict(title, WRONG, f"your function raised {type(error).__name__}: {error}", "raised",
                       "Run your function on a small example by hand and read the error message.")
    return Verdict(title, CORRECT, "correct. Well done!")


Candidates = list[tuple[str, Any, str, str]]
"""(mistake id, the value that mistake gives, message, hint) for each mistake a check recognizes."""


def as_numbers(value: Any, name: str, hint: str = "Return a number or a tensor of numbers.") -> np.ndarray:
    """The student's result as a float array; ``None`` or a non-number is a mistake of its own."""
    if value is None:
        raise Mistake("returned_none", f"`{name}` returned None.", "Did you forget the `return` statement?")
    if isinstance(value, torch.Tensor):
        return value.detach().cpu().double().numpy()
    try:
        return np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise Mistake("not_a_number", f"`{name}` returned a {type(value).__name__}, not numbers.", hint) from None


def as_number(value: Any, name: str, hint: str = "Return one number (a float, or a tensor of one element).") -> float:
    """The student's result as one number; ``None``, text, or an array of several numbers is a mistake of its own."""
    if isinstance(value, (str, bytes, list, tuple, dict, set)):
        raise Mistake("not_a_number", f"`{name}` returned a {type(value).__name__}, not a number.", hint)
    array = as_numbers(value, name, hint)
    if array.size != 1:
        raise Mistake("not_a_number", f"`{name}` returned an array of shape {array.shape}, not one number.", hint)
    return float(array.reshape(()))


def same(a: Any, b: Any, rtol: float = 1e-5, atol: float = 1e-7) -> bool:
    """Whether two results agree: the same shape and the same numbers up to rounding (NaN never agrees)."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=rtol, atol=atol))


def match_mistake(result: np.ndarray, candidates: Candidates, rtol: float = 1e-5, atol: float = 1e-7) -> None:
    """Raise the first recognized mistake whose value ``result`` equals."""
    for mistake_id, value, message, hint in candidates:
        if same(result, value, rtol, atol):
            raise Mistake(mistake_id, message, hint)


def diagnose(
    result: np.ndarray, expected: Any, candidates: Candidates, case: str,
    shape_hint: str = "Return one value per element of the input, or one number where one number is asked for.",
    describe: Callable[[np.ndarray, np.ndarray], str] | None = None, *,
    nan_hint: str = "NaN comes from a square root or a log of a negative number, or from 0/0.",
    rtol: float = 1e-5, atol: float = 1e-7,
) -> None:
    """Return if ``result`` is right; otherwise raise the first mistake it matches, or a generic one.

    ``describe(result, expected)`` words a wrong value (default: both printed, rounded).
    """
    if same(result, expected, rtol, atol):
        return
    match_mistake(result, candidates, rtol, atol)
    expected = np.asarray(expected, dtype=float)
    if result.shape != expected.shape:
        raise Mistake("wrong_shape", f"for {case} the result has shape {result.shape}, expected {expected.shape}.",
                      shape_hint)
    if np.isnan(result).any():
        raise Mistake("nan", f"for {case} the result contains NaN.", nan_hint)
    described = (describe(result, expected) if describe else
                 f"expected {np.round(expected, 4).tolist()}, got {np.round(result, 4).tolist()}")
    raise Mistake("wrong_value", f"for {case} {described}.", "Compare your code with the formula above it, term by term.")
