"""The check framework behind the exercises: run a student's function, name the mistake, give a hint."""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass

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


def run_check(title: str, body: Callable[[], None]) -> Verdict:
    """Run ``body``, which calls the student's code and raises :class:`Mistake` on a recognized error.

    ``NotImplementedError`` (the exercise stub) gives "not attempted yet"; any other exception is reported as
    wrong, with the exception described, never as a traceback.
    """
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
