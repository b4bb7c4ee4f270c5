"""Sliders over a figure: interactive with ipywidgets 7.7+ or 8.x, one static figure otherwise.

The static figure is shown when ``helpers.config.STATIC`` is true (``COURSE_STATIC=1``: the course runner and
the tests) or when ipywidgets cannot be imported, so that every notebook also runs without a widget front end.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any, Union

import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from . import config

SliderSpec = Union[tuple[float, float, float, float], list[Any]]
"""``(min, max, step, value)`` for a slider (integer slider when all four are ints) or a list of choices."""


def _display(obj: Any) -> None:
    """Show ``obj`` in the notebook (IPython's ``display``), or print it outside IPython."""
    try:
        from IPython.display import display
    except ImportError:
        print(obj)
    else:
        display(obj)


def _show(fig: Figure | None) -> None:
    """Show what ``render`` drew exactly once: the returned figure, or pyplot's current figures."""
    if fig is None:
        plt.show()
    else:
        _display(fig)
        plt.close(fig)


def _default(name: str, spec: SliderSpec) -> Any:
    """The starting value of one slider spec (checked)."""
    if isinstance(spec, list):
        if not spec:
            raise ValueError(f"slider {name!r}: the list of choices is empty")
        return spec[0]
    if isinstance(spec, tuple) and len(spec) == 4:
        low, high, step, value = spec
        if not (low <= value <= high and step > 0):
            raise ValueError(f"slider {name!r}: need min <= value <= max and step > 0, got {spec}")
        return value
    raise TypeError(f"slider {name!r}: give (min, max, step, value) or a list of choices, got {spec!r}")


def _is_int(x: Any) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


def _widget(name: str, spec: SliderSpec, continuous_update: bool) -> Any:
    """An ipywidgets control for one slider spec: IntSlider, FloatSlider or Dropdown."""
    import ipywidgets

    value = _default(name, spec)
    if isinstance(spec, list):
        return ipywidgets.Dropdown(options=spec, value=value, description=name)
    low, high, step, _ = spec
    common = dict(min=low, max=high, step=step, value=value, description=name, continuous_update=continuous_update)
    if all(_is_int(x) for x in spec):
        return ipywidgets.IntSlider(**common)
    decimals = max(1, -Decimal(str(step)).as_tuple().exponent)
    return ipywidgets.FloatSlider(readout_format=f".{decimals}f", **common)


def slider_view(
    render: Callable[..., Figure | None],
    *,
    continuous_update: bool = False,
    **sliders: SliderSpec,
) -> None:
    """Show ``render(**values)`` under one slider per keyword, e.g. ``alpha=(0.0, 1.0, 0.1, 0.5)``.

    ``render`` returns a Figure (shown, then closed) or None after drawing with pyplot. Each keyword is
    ``(min, max, step, value)`` or a list of choices (a drop-down starting at the first). Displays an
    ``ipywidgets.interactive`` or, in static mode, ``render`` once at the starting values; returns None, so
    the widget is never shown twice. ``continuous_update=True`` redraws while a slider is dragged (cheap renders).
    """
    defaults = {name: _default(name, spec) for name, spec in sliders.items()}
    try:
        import ipywidgets
    except ImportError:
        ipywidgets = None
    if config.STATIC or ipywidgets is None:
        reason = "COURSE_STATIC=1" if config.STATIC else "ipywidgets is not installed"
        values = ", ".join(f"{k}={v}" for k, v in defaults.items())
        print(f"Static view at {values} ({reason}); interactive version: run this notebook in Jupyter or Colab.")
        _show(render(**defaults))
        return

    def draw(**values: Any) -> None:
        _show(render(**values))

    controls = {name: _widget(name, spec, continuous_update) for name, spec in sliders.items()}
    _display(ipywidgets.interactive(draw, **controls))
