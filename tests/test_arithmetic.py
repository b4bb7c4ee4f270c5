"""helpers.arithmetic: likelihood bookkeeping, the regressor's plumbing, attribute vectors, interpolation, MNIST
measures, the figure and the CelebA skip. No training here: the notebook runs the recipes."""

from __future__ import annotations

import math
import time

import pytest
import torch
from matplotlib.figure import Figure

import helpers.config
from helpers import arithmetic
from helpers.arithmetic import ATTRIBUTES
from helpers.data import DataError
from helpers.faces import sample_attributes
from helpers.models import ConvVAE


def test_gaussian_beta_turns_summed_squared_error_into_the_gaussian_likelihood() -> None:
    sigma = 0.05
    assert math.isclose(arithmetic.gaussian_beta(sigma), 0.005)
    x = torch.rand(3, 3, 4, 4, dtype=torch.float64)
    x_hat = torch.rand(3, 3, 4, 4, dtype=torch.float64)
    kl = torch.tensor([1.0, 5.0, 20.0], dtype=torch.float64)
    nll = -torch.distributions.Normal(x_hat, sigma).log_prob(x).flatten(1).sum(1)
    sse = ((x - x_hat) ** 2).flatten(1).sum(1)
    constant = x[0].numel() / 2 * math.log(2 * math.pi * sigma**2)
    assert torch.allclose(2 * sigma**2 * (nll + kl - constant), sse + arithmetic.gaussian_beta(sigma) * kl)


def test_attribute_matrix_has_one_column_per_attribute_in_order() -> None:
    attributes = sample_attributes(5, seed=2)
    matrix = arithmetic.attribute_matrix(attributes)
    assert matrix.shape == (5, len(ATTRIBUTES)) and matrix.dtype == torch.float32
    assert torch.equal(matrix[:, ATTRIBUTES.index("hair")], attributes["hair"])


def test_faces_data_in_fast_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(helpers.config, "FAST", True)
    x_train, a_train, x_test, a_test = arithmetic.faces_data()
    assert x_train.shape == (2000, 3, 32, 32) and a_train.shape == (2000, 9)
    assert x_test.shape == (500, 3, 32, 32) and a_test.shape == (500, 9)
    assert not torch.equal(x_train[:500], x_test)  # different seeds


def test_faces_vae_refuses_an_unknown_likelihood() -> None:
    with pytest.raises(ValueError, match="mse"):
        arithmetic.faces_vae("rmse")


def test_regressor_predicts_in_attribute_units_and_its_loss_standardizes() -> None:
    torch.manual_seed(0)
    mean, std = torch.arange(9.0), torch.full((9,), 2.0)
    model = arithmetic.AttributeRegressor(mean, std).eval()
    images = torch.rand(4, 3, 32, 32)
    standardized = model.predict(images, standardized=True)
    assert standardized.shape == (4, 9)
    assert torch.allclose(model.predict(images), standardized * std + mean)
    targets = standardized * std + mean  # attributes that the model predicts exactly
    parts = arithmetic.attribute_loss(model, (images, targets))
    assert parts["total"].item() < 1e-10 and parts["smile_mae"].item() < 1e-5
    parts = arithmetic.attribute_loss(model, (images, targets + std))  # one standard deviation off everywhere
    assert math.isclose(parts["total"].item(), 1.0, rel_tol=1e-5)
    assert math.isclose(parts["smile_mae"].item(), 2.0, rel_tol=1e-5)


def test_regressor_buffers_travel_with_the_state_dict() -> None:
    model = arithmetic.AttributeRegressor(torch.ones(9), torch.full((9,), 3.0))
    copy = arithmetic.AttributeRegressor()
    copy.load_state_dict(model.state_dict())
    assert torch.equal(copy.mean, torch.ones(9)) and torch.equal(copy.std, torch.full((9,), 3.0))


def test_attribute_vector_is_the_difference_of_group_means() -> None:
    codes = torch.tensor([[1.0, 0.0], [3.0, 2.0], [0.0, 0.0], [0.0, 4.0], [0.0, 2.0]])
    has = torch.tensor([True, True, False, False, False])
    assert torch.allclose(arithmetic.attribute_vector(codes, has), torch.tensor([2.0, -1.0]))
    with pytest.raises(ValueError, match="without"):
        arithmetic.attribute_vector(codes, torch.ones(5, dtype=torch.bool))


def test_edit_codes_moves_every_code_along_the_direction() -> None:
    z = torch.tensor([[0.0, 1.0], [2.0, 2.0]])
    edited = arithmetic.edit_codes(z, torch.tensor([1.0, -1.0]), torch.tensor([-1.0, 0.0, 2.0]))
    assert edited.shape == (2, 3, 2)
    assert torch.equal(edited[:, 1], z)
    assert torch.equal(edited[1, 2], torch.tensor([4.0, 0.0]))


def test_interpolate_runs_from_a_to_b() -> None:
    z_a, z_b = torch.tensor([0.0, 2.0]), torch.tensor([4.0, 0.0])
    path = arithmetic.interpolate(z_a, z_b, torch.tensor([0.0, 0.25, 1.0]))
    assert torch.equal(path, torch.tensor([[0.0, 2.0], [1.0, 1.5], [4.0, 0.0]]))


def test_slerp_keeps_the_length_of_equal_length_codes_and_hits_both_ends() -> None:
    generator = torch.Generator().manual_seed(0)
    z_a, z_b = torch.randn(2, 16, generator=generator)
    z_b = z_b / z_b.norm() * z_a.norm()
    alphas = torch.linspace(0, 1, 11)
    path = arithmetic.slerp(z_a, z_b, alphas)
    assert torch.allclose(path[0], z_a, atol=1e-5) and torch.allclose(path[-1], z_b, atol=1e-5)
    assert torch.allclose(path.norm(dim=1), z_a.norm().expand(11), rtol=1e-5)
    assert arithmetic.interpolate(z_a, z_b, alphas)[5].norm() < 0.9 * z_a.norm()  # the straight line dips


def test_slerp_of_parallel_codes_falls_back_to_the_straight_line() -> None:
    z_a = torch.tensor([1.0, 2.0, 2.0])
    alphas = torch.tensor([0.0, 0.5, 1.0])
    path = arithmetic.slerp(z_a, 3 * z_a, alphas)
    assert torch.isfinite(path).all()
    assert torch.allclose(path, arithmetic.interpolate(z_a, 3 * z_a, alphas))


def test_random_directions_have_the_given_length_and_repeat_with_the_seed() -> None:
    directions = arithmetic.random_directions(50, 8, 2.5, seed=3)
    assert directions.shape == (50, 8)
    assert torch.allclose(directions.norm(dim=1), torch.full((50,), 2.5))
    assert torch.equal(directions, arithmetic.random_directions(50, 8, 2.5, seed=3))
    assert directions.mean(0).norm() < 1.0  # spread over the sphere, not one direction


def test_slopes_recovers_straight_lines() -> None:
    alphas = torch.linspace(-1, 1, 5)
    values = torch.stack([2 * alphas + 1, -0.5 * alphas])  # 2 × 5
    assert torch.allclose(arithmetic.slopes(alphas, values), torch.tensor([2.0, -0.5]))
    per_column = torch.stack([values.T, 3 * values.T], dim=2).permute(1, 0, 2)  # 2 rows × 5 α × 2 columns
    assert torch.allclose(arithmetic.slopes(alphas, per_column), torch.tensor([[2.0, 6.0], [-0.5, -1.5]]))


def test_measure_codes_keeps_the_leading_shape() -> None:
    torch.manual_seed(0)
    vae = ConvVAE(4, in_channels=3, image_size=32, channels=(4, 8))
    measured = arithmetic.measure_codes(vae, arithmetic.AttributeRegressor(), torch.randn(2, 3, 4))
    assert measured.shape == (2, 3, 9)


def _bar(shear: float, half_width: float = 1.0, size: int = 28) -> torch.Tensor:
    """A line through the image centre, x = s·y (y up), of the given half width, as a 1×1×size×size image."""
    coords = torch.arange(size, dtype=torch.float32) - (size - 1) / 2
    y, x = -coords[:, None], coords[None, :]
    inside = ((x - shear * y).abs() <= half_width) & (y.abs() <= 9)
    return inside.float()[None, None]


@pytest.mark.parametrize("shear", [-0.4, 0.0, 0.25, 0.5])
def test_slant_reads_the_shear_of_a_line(shear: float) -> None:
    assert arithmetic.slant(_bar(shear)).item() == pytest.approx(shear, abs=0.03)


def test_ink_grows_with_stroke_width() -> None:
    inks = arithmetic.ink(torch.cat([_bar(0.0, w) for w in (1.0, 2.0, 4.0)]))
    assert inks.shape == (3,) and inks[0] < inks[1] < inks[2]


def test_within_class_vector_ignores_differences_between_classes() -> None:
    # dimension 0 follows the measure within each class; dimension 1 marks the class, whose measure differs a lot
    generator = torch.Generator().manual_seed(0)
    labels = torch.arange(2).repeat_interleave(400)
    within = torch.rand(800, generator=generator)
    measure = within + 5 * labels
    codes = torch.stack([within, labels.float()], dim=1)
    vector = arithmetic.within_class_vector(codes, labels, measure)
    assert vector[0] > 0.4 and abs(vector[1]) < 1e-6
    pooled = arithmetic.attribute_vector(codes, measure > measure.median())
    assert pooled[1] > 0.9  # quartiles over all codes would mostly pick the class


def test_image_table_draws_one_axis_per_image() -> None:
    fig = arithmetic.image_table(torch.rand(2, 3, 3, 8, 8), "t", ["a", "b", "c"], ["r1", "r2"])
    assert isinstance(fig, Figure) and len(fig.axes) == 6
    assert [ax.get_title() for ax in fig.axes[:3]] == ["a", "b", "c"]
    assert fig.axes[3].get_ylabel() == "r2"
    with pytest.raises(ValueError, match="column labels"):
        arithmetic.image_table(torch.rand(2, 3, 1, 8, 8), "t", ["a", "b"])


def test_load_celeba_skips_quickly_with_the_reason(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.setattr(arithmetic, "DATA_DIR", tmp_path)
    with pytest.raises(DataError, match="not in"):
        arithmetic.load_celeba()
    monkeypatch.setattr(arithmetic.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(DataError, match="gdown"):
        arithmetic.load_celeba(download=True)
    monkeypatch.setattr(arithmetic.importlib.util, "find_spec", lambda name: object())
    monkeypatch.setattr(arithmetic, "server_answers", lambda host, port: False)
    start = time.perf_counter()
    with pytest.raises(DataError, match="offline"):
        arithmetic.load_celeba(download=True)
    assert time.perf_counter() - start < 1.0
