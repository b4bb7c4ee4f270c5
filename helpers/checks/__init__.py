"""Self-checks for the exercises: ``check_<name>(student_function)`` returns a :class:`Verdict`.

Each notebook's checks live in ``nbNN.py`` beside this file (with an ``__all__``). A notebook calls
``helpers.checks.check_<name>(...)``; the module that defines it is imported on first use, so that notebook 01 does
not load what notebook 07's checks need.
"""

import importlib
import pkgutil
from typing import Any

from ._core import Mistake, Verdict, run_check

CHECK_MODULES = sorted(info.name for info in pkgutil.iter_modules(__path__) if info.name.startswith("nb"))

__all__ = ["Mistake", "Verdict", "run_check"]


def __getattr__(name: str) -> Any:
    """Find ``check_<name>`` in the first ``nbNN`` module that exports it (PEP 562)."""
    if name.startswith("check_"):
        for module_name in CHECK_MODULES:
            module = importlib.import_module(f"{__name__}.{module_name}")
            if name in module.__all__:
                return getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    names = [name for module in CHECK_MODULES for name in importlib.import_module(f"{__name__}.{module}").__all__]
    return sorted(set(__all__) | set(names) | set(globals()))
