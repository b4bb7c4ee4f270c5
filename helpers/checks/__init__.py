"""Self-checks for the exercises: ``check_<name>(student_function)`` returns a :class:`Verdict`.

Each notebook's checks live in ``nbNN.py`` beside this file (with an ``__all__``) and are collected here, so a
notebook calls ``helpers.checks.check_<name>(...)``.
"""

import importlib
import pkgutil

from ._core import Mistake, Verdict, run_check

__all__ = ["Mistake", "Verdict", "run_check"]

for _info in sorted(pkgutil.iter_modules(__path__), key=lambda info: info.name):
    if _info.name.startswith("nb"):
        _module = importlib.import_module(f"{__name__}.{_info.name}")
        for _name in _module.__all__:
            globals()[_name] = getattr(_module, _name)
            __all__.append(_name)
