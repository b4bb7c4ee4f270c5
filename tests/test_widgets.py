"""slider_view: one static figure in static mode or without ipywidgets, real sliders otherwise."""

import sys

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from helpers import config, widgets  # noqa: E402

SLIDERS = {"alpha": (0.0, 1.0, 0.05, 0.5), "n": (1, 10, 1, 3), "loss": ["bce", "rmse"]}
DEFAULTS = {"alpha": 0.5, "n": 3, "loss": "bce"}


@pytest.fixture
def shown(monkeypatch):
    """Everything slider_view hands to IPython's display, in order."""
    objects = []
    monkeypatch.setattr(widgets, "_display", objects.append)
    yield objects
    plt.close("all")


class Render:
    """A render function that records its calls and returns a new figure each time."""

    def __init__(self):
        self.calls = []

    def __call__(self, **values):
        self.calls.append(values)
        fig, ax = plt.subplots()
        ax.set_title(str(values))
        return fig


def test_static_mode_renders_once_with_the_defaults(monkeypatch, shown, capsys):
    monkeypatch.setattr(config, "STATIC", True)
    render = Render()
    assert widgets.slider_view(render, **SLIDERS) is None
    assert render.calls == [DEFAULTS]
    (fig,) = shown
    assert fig.axes[0].get_title() == str(DEFAULTS)
    assert not plt.fignum_exists(fig.number)  # closed after display: not shown a second time
    out = capsys.readouterr().out
    assert out.count("\n") == 1
    assert "interactive version: run this notebook in Jupyter or Colab" in out and "alpha=0.5" in out


def test_static_without_ipywidgets(monkeypatch, shown, capsys):
    monkeypatch.setattr(config, "STATIC", False)
    monkeypatch.setitem(sys.modules, "ipywidgets", None)  # makes `import ipywidgets` fail
    render = Render()
    widgets.slider_view(render, alpha=(0.0, 1.0, 0.1, 0.2))
    assert render.calls == [{"alpha": 0.2}] and len(shown) == 1
    assert "ipywidgets is not installed" in capsys.readouterr().out


def test_render_that_draws_with_pyplot_is_shown_by_plt_show(monkeypatch, shown):
    monkeypatch.setattr(config, "STATIC", True)
    show_calls = []
    monkeypatch.setattr(plt, "show", lambda: show_calls.append(True))
    widgets.slider_view(lambda k: plt.plot([0, k]) and None, k=[1, 2])
    assert show_calls == [True] and shown == []


def test_interactive_mode_builds_matching_controls(monkeypatch, shown):
    ipywidgets = pytest.importorskip("ipywidgets")
    monkeypatch.setattr(config, "STATIC", False)
    render = Render()
    widgets.slider_view(render, **SLIDERS)
    view = shown[-1]
    assert isinstance(view, ipywidgets.interactive)
    alpha, n, loss = view.kwargs_widgets
    assert isinstance(alpha, ipywidgets.FloatSlider)
    assert (alpha.min, alpha.max, alpha.step, alpha.value) == (0.0, 1.0, 0.05, 0.5)
    assert alpha.readout_format == ".2f" and alpha.description == "alpha"
    assert isinstance(n, ipywidgets.IntSlider) and (n.min, n.max, n.step, n.value) == (1, 10, 1, 3)
    assert isinstance(loss, ipywidgets.Dropdown) and list(loss.options) == ["bce", "rmse"] and loss.value == "bce"
    assert not alpha.continuous_update and not n.continuous_update
    # the first draw: ipywidgets 8 on construction, 7 once displayed (simulated here)
    if not render.calls:
        view.update()
    assert render.calls == [DEFAULTS]
    alpha.value = 0.25
    assert render.calls[-1] == {**DEFAULTS, "alpha": 0.25}
    figures = [obj for obj in shown if isinstance(obj, plt.Figure)]
    assert len(figures) == 2 and not any(plt.fignum_exists(f.number) for f in figures)


def test_continuous_update_can_be_switched_on(monkeypatch, shown):
    pytest.importorskip("ipywidgets")
    monkeypatch.setattr(config, "STATIC", False)
    widgets.slider_view(Render(), continuous_update=True, alpha=(0.0, 1.0, 0.1, 0.0))
    (alpha,) = shown[-1].kwargs_widgets
    assert alpha.continuous_update and alpha.readout_format == ".1f"


def test_bad_slider_specs_are_refused(monkeypatch, shown):
    monkeypatch.setattr(config, "STATIC", True)
    with pytest.raises(ValueError, match="min <= value <= max"):
        widgets.slider_view(Render(), alpha=(0.0, 1.0, 0.1, 2.0))
    with pytest.raises(ValueError, match="empty"):
        widgets.slider_view(Render(), loss=[])
    with pytest.raises(TypeError, match="alpha"):
        widgets.slider_view(Render(), alpha=(0.0, 1.0))
    assert shown == []


def test_sliders_are_wide_and_a_note_above_says_how_to_get_them_back(monkeypatch, shown):
    ipywidgets = pytest.importorskip("ipywidgets")
    monkeypatch.setattr(config, "STATIC", False)
    widgets.slider_view(Render(), **SLIDERS)
    note, view = shown[0], shown[-1]
    assert "model not found" in repr(note) and "run this cell again" in note._repr_html_()
    alpha, n, loss = view.kwargs_widgets
    for slider in (alpha, n):
        assert slider.layout.width == widgets.SLIDER_LAYOUT["width"] and slider.layout.max_width == "100%"
        assert slider.style.description_width == "initial"
    assert isinstance(loss, ipywidgets.Dropdown) and loss.style.description_width == "initial"
