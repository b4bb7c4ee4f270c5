"""Every plot returns a titled Figure with labelled axes, for one- and three-channel images."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from scipy.stats import norm  # noqa: E402

from helpers import plots  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def assert_titled_and_labelled(fig):
    """A Figure with a title; every axes that shows tick labels also names its axis."""
    assert isinstance(fig, Figure)
    titles = [fig._suptitle.get_text() if fig._suptitle else ""] + [ax.get_title() for ax in fig.axes]
    assert any(t.strip() for t in titles), "figure has no title"
    for ax in fig.axes:
        if not ax.axison:
            continue
        if len(ax.get_xticks()) and ax.xaxis.get_visible():
            assert ax.get_xlabel().strip(), f"x axis of {ax.get_title()!r} has ticks but no label"
        if len(ax.get_yticks()) and ax.yaxis.get_visible():
            assert ax.get_ylabel().strip(), f"y axis of {ax.get_title()!r} has ticks but no label"


def images(n, channels, size=28):
    return torch.rand(n, channels, size, size)


@pytest.mark.parametrize("channels", [1, 3])
def test_show_images_tiles_a_grid(channels):
    fig = plots.show_images(images(8, channels), nrow=4, title="eight images")
    assert_titled_and_labelled(fig)
    (ax,) = fig.axes
    assert ax.get_title() == "eight images"
    # make_grid: 2 rows × 4 columns of 28 px with 2 px padding around every image
    assert ax.images[0].get_array().shape == (2 * 28 + 3 * 2, 4 * 28 + 5 * 2, 3)


def test_show_images_accepts_n_h_w_and_grad_tensors_out_of_range():
    x = (torch.randn(5, 28, 28) * 3).requires_grad_()
    fig = plots.show_images(x, nrow=5)
    grid = fig.axes[0].images[0].get_array()
    assert grid.shape == (28 + 4, 5 * 28 + 6 * 2, 3)
    assert grid.min() >= 0 and grid.max() <= 1


@pytest.mark.parametrize("channels", [1, 3])
def test_show_images_with_labels_has_one_captioned_panel_per_image(channels):
    labels = [f"a={a}, b={b}" for a, b in [(3, 4), (5, 6), (7, 8)]]
    fig = plots.show_images(images(3, channels), nrow=2, title="ellipses", labels=labels)
    assert_titled_and_labelled(fig)
    assert fig._suptitle.get_text() == "ellipses"
    shown = [ax for ax in fig.axes if ax.images]
    assert [ax.get_title() for ax in shown] == labels
    assert len(fig.axes) == 4 and not fig.axes[3].axison  # the empty fourth cell is hidden
    expected_dims = 2 if channels == 1 else 3
    assert shown[0].images[0].get_array().ndim == expected_dims


def test_show_images_rejects_wrong_label_count_and_shape():
    with pytest.raises(ValueError, match="2 labels for 3 images"):
        plots.show_images(images(3, 1), labels=["a", "b"])
    with pytest.raises(ValueError, match="N×1×H×W"):
        plots.show_images(torch.rand(3, 2, 28, 28))


def test_image_strip_is_one_row():
    labels = [f"α = {a:.2f}" for a in np.linspace(0, 1, 7)]
    fig = plots.image_strip(images(7, 3, size=32), title="interpolation", labels=labels)
    assert_titled_and_labelled(fig)
    assert [ax.get_title() for ax in fig.axes] == labels
    assert len({round(ax.get_position().y0, 4) for ax in fig.axes}) == 1
    unlabelled = plots.image_strip(images(7, 1), title="strip")
    assert unlabelled.axes[0].images[0].get_array().shape == (28 + 4, 7 * 28 + 8 * 2, 3)


@pytest.mark.parametrize("channels", [1, 3])
def test_show_reconstructions_two_rows_with_default_labels(channels):
    x = images(12, channels)
    fig = plots.show_reconstructions(x, x.flip(-1), n=5)
    assert_titled_and_labelled(fig)
    assert [ax.get_ylabel() for ax in fig.axes] == ["original", "reconstruction"]
    for ax in fig.axes:
        assert ax.images[0].get_array().shape == (28 + 4, 5 * 28 + 6 * 2, 3)


def test_show_reconstructions_several_rows():
    x = images(4, 1)
    fig = plots.show_reconstructions(x, [x, 1 - x], row_labels=("original", "BCE", "RMSE"), title="BCE vs RMSE")
    assert_titled_and_labelled(fig)
    assert [ax.get_ylabel() for ax in fig.axes] == ["original", "BCE", "RMSE"]
    assert fig.axes[0].get_position().y0 > fig.axes[2].get_position().y0  # originals on top
    with pytest.raises(ValueError, match="2 row labels for 3 rows"):
        plots.show_reconstructions(x, [x, x], row_labels=("original", "BCE"))


def test_latent_scatter_discrete_labels_get_a_legend():
    z = torch.randn(60, 2, requires_grad=True)
    labels = torch.arange(60) % 3
    fig = plots.latent_scatter(z, labels, class_names=["zero", "one", "two"], label_name="digit")
    assert_titled_and_labelled(fig)
    (ax,) = fig.axes
    legend = ax.get_legend()
    assert [t.get_text() for t in legend.get_texts()] == ["zero", "one", "two"]
    assert legend.get_title().get_text() == "digit"
    assert len(ax.collections) == 3
    colours = {tuple(c.get_facecolor()[0][:3]) for c in ax.collections}
    assert len(colours) == 3
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("$z_1$", "$z_2$")


def test_latent_scatter_float_labels_get_a_colorbar_and_high_dims_are_named():
    z = torch.randn(50, 5)
    a = torch.rand(50) * 10
    fig = plots.latent_scatter(z, a, title="ellipse codes", label_name="a (pixels)")
    assert_titled_and_labelled(fig)
    ax, colorbar = fig.axes
    assert colorbar.get_ylabel() == "a (pixels)"
    assert ax.get_legend() is None
    assert "first 2 of 5" in ax.get_xlabel() and "first 2 of 5" in ax.get_ylabel()
    np.testing.assert_allclose(ax.collections[0].get_offsets(), z[:, :2].numpy())


def test_latent_scatter_draws_on_a_given_axes():
    fig, (left, right) = plt.subplots(1, 2)
    returned = plots.latent_scatter(torch.randn(10, 2), ax=right, title="right panel")
    assert returned is fig
    assert right.get_title() == "right panel" and not left.collections


class RecordingDecoder:
    """Decoder stub: remembers the codes, returns images of the given channel count."""

    def __init__(self, channels, size=28):
        self.channels, self.size, self.codes = channels, size, []

    def __call__(self, z):
        self.codes.append(z.clone())
        brightness = torch.sigmoid(z.sum(1))
        return brightness[:, None, None, None].expand(len(z), self.channels, self.size, self.size)


def tick_values(labels):
    return np.array([float(t.get_text()) for t in labels])


@pytest.mark.parametrize("channels", [1, 3])
def test_latent_grid_normal_prior_uses_finite_symmetric_quantiles(channels):
    n = 7
    decode = RecordingDecoder(channels)
    fig = plots.latent_grid(decode, n=n, prior="normal")
    assert_titled_and_labelled(fig)
    (codes,) = decode.codes
    assert codes.shape == (n * n, 2) and torch.isfinite(codes).all()
    grid = codes.reshape(n, n, 2)  # [row, column, (z_1, z_2)] as drawn
    z1, z2_top_down = grid[0, :, 0], grid[:, 0, 1]
    expected = torch.tensor(norm.ppf((np.arange(n) + 0.5) / n), dtype=torch.float32)
    torch.testing.assert_close(z1, expected)
    torch.testing.assert_close(z2_top_down, expected.flip(0))  # largest z_2 in the top row
    assert (grid[:, :, 0] == z1).all() and (grid[:, :, 1] == z2_top_down[:, None]).all()
    torch.testing.assert_close(z1, -z1.flip(0))  # symmetric around 0
    assert (z1.diff() > 0).all()
    ax = fig.axes[0]
    assert ax.images[0].get_array().shape == (n * 28, n * 28, 3)
    xticks, yticks = tick_values(ax.get_xticklabels()), tick_values(ax.get_yticklabels())
    assert np.isfinite(xticks).all() and np.isfinite(yticks).all()
    assert xticks[0] == pytest.approx(float(z1[0]), abs=0.006)
    assert yticks[0] == pytest.approx(float(z2_top_down[0]), abs=0.006)


def test_latent_grid_default_extent_and_tick_thinning():
    decode = RecordingDecoder(1, size=8)
    fig = plots.latent_grid(decode, n=15, title="plain grid")
    codes = decode.codes[0]
    assert codes[:, 0].min() == -3 and codes[:, 0].max() == 3
    assert codes[:, 1].min() == -3 and codes[:, 1].max() == 3
    assert 2 <= len(fig.axes[0].get_xticks()) <= 8


def test_latent_grid_custom_extent_and_bad_arguments():
    decode = RecordingDecoder(1, size=8)
    plots.latent_grid(decode, n=4, extent=((0, 1), (-2, 2)))
    codes = decode.codes[0]
    assert (codes[:, 0].min(), codes[:, 0].max()) == (0, 1)
    assert (codes[:, 1].min(), codes[:, 1].max()) == (-2, 2)
    with pytest.raises(ValueError, match="not both"):
        plots.latent_grid(decode, extent=((0, 1), (0, 1)), prior="normal")
    with pytest.raises(ValueError, match="unknown prior"):
        plots.latent_grid(decode, prior="uniform")


class TinyDecoder(torch.nn.Module):
    """A model whose ``decode`` remembers whether autograd was on."""

    def __init__(self):
        super().__init__()
        self.linear = torch.nn.Linear(2, 64)
        self.grad_enabled = []

    def decode(self, z):
        self.grad_enabled.append(torch.is_grad_enabled())
        return torch.sigmoid(self.linear(z)).view(-1, 1, 8, 8)


def test_latent_grid_with_a_model_decode_runs_without_gradients():
    model = TinyDecoder()
    fig = plots.latent_grid(model.decode, n=3, prior="normal")
    assert model.grad_enabled == [False]
    assert fig.axes[0].images[0].get_array().shape == (24, 24, 3)


VAE_HISTORY = {
    "train_total": [200.0, 150.0, 120.0],
    "test_total": [190.0, 150.0, 125.0],
    "train_recon": [180.0, 130.0, 100.0],
    "test_recon": [175.0, 132.0, 105.0],
    "train_kl": [20.0, 20.0, 20.0],
    "test_kl": [15.0, 18.0, 20.0],
    "seconds": [1.0, 1.0, 1.0],
}


def test_loss_curves_one_panel_per_component_train_and_test():
    fig = plots.loss_curves(VAE_HISTORY, title="VAE")
    assert_titled_and_labelled(fig)
    assert [ax.get_title() for ax in fig.axes] == ["total loss", "reconstruction", "KL divergence"]
    for ax in fig.axes:
        assert ax.get_ylabel() == "loss (nats per image)" and ax.get_xlabel() == "epoch"
        assert [line.get_label() for line in ax.get_lines()] == ["train", "test"]
        np.testing.assert_array_equal(ax.get_lines()[0].get_xdata(), [1, 2, 3])
    np.testing.assert_array_equal(fig.axes[2].get_lines()[1].get_ydata(), VAE_HISTORY["test_kl"])


def test_loss_curves_skip_zero_kl_and_missing_keys():
    history = {"train_total": [3.0, 2.0], "train_recon": [3.0, 2.0], "train_kl": [0.0, 0.0]}
    fig = plots.loss_curves(history, unit="mean squared error")
    assert_titled_and_labelled(fig)
    assert [ax.get_title() for ax in fig.axes] == ["reconstruction"]  # total = reconstruction without a KL
    assert [line.get_label() for line in fig.axes[0].get_lines()] == ["train"]
    assert fig.axes[0].get_ylabel() == "loss (mean squared error)"
    only_test = plots.loss_curves({"test_total": [1.0]})
    assert [line.get_label() for line in only_test.axes[0].get_lines()] == ["test"]
    with pytest.raises(ValueError, match="no loss curves"):
        plots.loss_curves({"seconds": [1.0]})


def test_figures_are_not_left_open_in_pyplot(tmp_path):
    """A notebook cell ending in a plot must show it once: pyplot would show its figures a second time."""
    before = plt.get_fignums()
    fig = plots.show_reconstructions(images(3, 1), images(3, 1))
    assert plt.get_fignums() == before
    fig.savefig(tmp_path / "figure.png")
    assert (tmp_path / "figure.png").stat().st_size > 1000


def test_image_table_draws_one_axis_per_image() -> None:
    fig = plots.image_table(torch.rand(2, 3, 3, 8, 8), "t", ["a", "b", "c"], ["r1", "r2"])
    assert isinstance(fig, Figure) and len(fig.axes) == 6
    assert [ax.get_title() for ax in fig.axes[:3]] == ["a", "b", "c"]
    assert fig.axes[3].get_ylabel() == "r2"
    with pytest.raises(ValueError, match="column labels"):
        plots.image_table(torch.rand(2, 3, 1, 8, 8), "t", ["a", "b"])


def test_recipe_figure_has_title_and_the_four_steps():
    fig = plots.recipe_figure()
    ax = fig.axes[0]
    texts = " ".join(t.get_text() for t in ax.texts)
    assert "generative recipe" in ax.get_title()
    for step in ("1 · encode", "2 · model", "3 · sample", "4 · decode"):
        assert step in texts
