"""Sliders over a figure: interactive with ipywidgets 7.7+ or 8.x, one static figure otherwise.

The static figure is shown when ``helpers.config.STATIC`` is true (``COURSE_STATIC=1``: the course runner and
the tests) or when ipywidgets cannot be imported, so that every notebook also runs without a widget front end.

Sliders live in the running kernel: a saved notebook that is opened again shows "Error displaying widget: model not
found" where they were, until their cell runs again. A line above the sliders tells the student so.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from decimal import Decimal
from typing import Any, Union

import matplotlib.pyplot as plt
from matplotlib.figure import Figure

from . import config

SliderSpec = Union[tuple[float, float, float, float], list[Any]]
"""``(min, max, step, value)`` for a slider (integer slider when all four are ints) or a list of choices."""

SLIDER_LAYOUT = {"width": "36em", "max_width": "100%"}
"""Slider size: wide enough for steps of a few pixels (ipywidgets' default is about 125 px), never wider than the
cell. The description takes the width its text needs (``description_width: initial``)."""
REOPEN_NOTE = ("If this notebook was saved and opened again, the sliders below show \u201cError displaying widget: "
               "model not found\u201d: run this cell again to get them back.")


class _Note:
    """A line of small grey text in a notebook's output (plain text elsewhere)."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return self.text

    def _repr_html_(self) -> str:
        return f'<p class="course-note" style="color:#666;font-size:0.85em;margin:0">{html.escape(self.text)}</p>'


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
    style = {"description_width": "initial"}
    if isinstance(spec, list):
        return ipywidgets.Dropdown(options=spec, value=value, description=name, style=style)
    low, high, step, _ = spec
    common = dict(min=low, max=high, step=step, value=value, description=name, continuous_update=continuous_update,
                  layout=dict(SLIDER_LAYOUT), style=style)
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
    ``ipywidgets.interactive`` under a line that says how to get it back after reopening the notebook or, in
    static mode, ``render`` once at the starting values; returns None, so the widget is never shown twice. ``continuous_update=True`` redraws while a slider is dragged (cheap renders).
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
    _display(_Note(REOPEN_NOTE))
    _display(ipywidgets.interactive(draw, **controls))
