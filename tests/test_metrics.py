"""The latent-space measures and the judge's plumbing, on data whose answer is known."""

import math

import pytest
import torch
from torch import nn

from helpers import instruments, metrics
from helpers.models import ConvVAE


def normal(n: int, d: int, seed: int = 0) -> torch.Tensor:
    return torch.randn(n, d, generator=torch.Generator().manual_seed(seed))


def test_latent_stats_of_a_standard_normal() -> None:
    stats = metrics.latent_stats(normal(5000, 3))
    assert set(stats) == {"mean", "std", "skewness", "normality_p"}
    assert all(v.shape == (3,) for v in stats.values())
    assert stats["mean"].abs().max() < 0.05
    assert (stats["std"] - 1).abs().max() < 0.05
    assert stats["skewness"].abs().max() < 0.1
    assert stats["normality_p"].min() > 0.01  # a normal sample is not rejected


def test_latent_stats_of_a_skewed_sample() -> None:
    torch.manual_seed(0)
    stats = metrics.latent_stats(torch.distributions.Exponential(1.0).sample((5000, 1)))  # mean 1, skewness 2
    assert abs(float(stats["mean"][0]) - 1) < 0.1
    assert abs(float(stats["skewness"][0]) - 2) < 0.3
    assert float(stats["normality_p"][0]) < 1e-6


def test_latent_stats_needs_enough_codes() -> None:
    with pytest.raises(ValueError, match="at least 8"):
        metrics.latent_stats(torch.zeros(5, 2))


def test_nearest_code_distance_matches_brute_force() -> None:
    points, codes = normal(50, 3, seed=1), normal(2000, 3, seed=2)  # more than one chunk of codes
    brute = (points[:, None, :] - codes[None]).norm(dim=2).min(1).values
    assert torch.allclose(metrics.nearest_code_distance(points, codes), brute, atol=1e-5)
    # Excluding each code itself gives the distance to the nearest *other* code, never 0.
    own = metrics.nearest_code_distance(codes[:1500], codes, exclude=torch.arange(1500))
    assert own.min() > 0
    assert torch.allclose(own[:3], torch.stack([(codes[i] - torch.cat([codes[:i], codes[i + 1:]])).norm(dim=1).min()
                                                for i in range(3)]), atol=1e-5)


def test_gap_fraction_is_small_for_codes_that_fill_their_box() -> None:
    uniform = torch.rand(2000, 2, generator=torch.Generator().manual_seed(0))
    assert metrics.gap_fraction(uniform) < 0.1


def test_gap_fraction_is_large_for_two_tight_clusters_in_the_corners() -> None:
    corners = torch.cat([0.01 * normal(1000, 2, seed=1), 1 + 0.01 * normal(1000, 2, seed=2)])
    assert metrics.gap_fraction(corners) > 0.9


def test_gap_fraction_grows_with_dimension_for_codes_of_the_same_kind() -> None:
    """The same N(0, I) codes seen in 2 and in 32 dimensions: the box's empty corners take over in 32-D."""
    codes = normal(3000, 32)
    low, high = metrics.gap_fraction(codes[:, :2]), metrics.gap_fraction(codes)
    assert 0.2 < low < 0.8
    assert high > 0.95 and high > low


def test_gap_fraction_ignores_scale_and_shift() -> None:
    codes = normal(1000, 2) ** 2
    assert metrics.gap_fraction(3 * codes + 5) == pytest.approx(metrics.gap_fraction(codes), abs=0.01)


def test_gap_fraction_against_the_prior() -> None:
    codes = normal(3000, 8)
    assert metrics.gap_fraction(codes, region="prior") < 0.1  # probes from the codes' own distribution: about 5 %
    assert metrics.gap_fraction(codes + 4, region="prior") > 0.9
    with pytest.raises(ValueError, match="region"):
        metrics.gap_fraction(codes, region="sphere")


def test_class_areas_of_known_covariances() -> None:
    z = torch.cat([normal(20000, 2, seed=1), 2 * normal(20000, 2, seed=2)])
    labels = torch.cat([torch.zeros(20000, dtype=torch.long), torch.ones(20000, dtype=torch.long)])
    areas = metrics.class_areas(z, labels)
    assert areas.shape == (2,)
    assert areas[0] == pytest.approx(math.pi, rel=0.03)
    assert areas[1] == pytest.approx(4 * math.pi, rel=0.03)
    with pytest.raises(ValueError, match="2-D"):
        metrics.class_areas(normal(10, 3), labels[:10])


def test_dead_units_finds_units_that_never_switch_on() -> None:
    linear = nn.Linear(2, 3)
    conv = nn.Conv2d(1, 2, 3, padding=1)
    with torch.no_grad():
        linear.weight.zero_()
        linear.bias.copy_(torch.tensor([-1.0, 1.0, 0.0]))  # unit 0 always off, unit 1 always on, unit 2 at 0: off
        conv.weight.zero_()
        conv.bias.copy_(torch.tensor([0.5, -0.5]))
    model = nn.Sequential(nn.Flatten(), nn.Linear(4, 2), linear, nn.ReLU())
    dead = metrics.dead_units(model, torch.randn(30, 1, 2, 2))
    assert dead == {"3": dead["3"]} and dead["3"].tolist() == [True, False, True]
    conv_dead = metrics.dead_units(nn.Sequential(conv, nn.LeakyReLU(0.2)), torch.randn(5, 1, 4, 4))
    assert conv_dead["1"].tolist() == [False, True]
    assert not any(module._forward_hooks for module in model.modules())  # hooks are removed afterwards


def test_judge_predictions_shapes_and_ranges() -> None:
    torch.manual_seed(0)
    classifier = instruments.judge_network()
    images = torch.rand(25, 1, 28, 28)
    predicted, confidence = metrics.judge_predictions(classifier, images)
    assert predicted.shape == confidence.shape == (25,)
    assert predicted.dtype == torch.int64 and predicted.min() >= 0 and predicted.max() <= 9
    assert confidence.min() >= 0.1 and confidence.max() <= 1  # the largest of 10 probabilities is at least 1/10
    assert metrics.recognizable_share(classifier, images, threshold=0.0) == 1.0
    assert metrics.recognizable_share(classifier, images, threshold=1.01) == 0.0


def test_slopes_recovers_straight_lines() -> None:
    alphas = torch.linspace(-1, 1, 5)
    values = torch.stack([2 * alphas + 1, -0.5 * alphas])  # 2 × 5
    assert torch.allclose(metrics.slopes(alphas, values), torch.tensor([2.0, -0.5]))
    per_column = torch.stack([values.T, 3 * values.T], dim=2).permute(1, 0, 2)  # 2 rows × 5 α × 2 columns
    assert torch.allclose(metrics.slopes(alphas, per_column), torch.tensor([[2.0, 6.0], [-0.5, -1.5]]))


def test_measure_codes_keeps_the_leading_shape() -> None:
    torch.manual_seed(0)
    vae = ConvVAE(4, in_channels=3, image_size=32, channels=(4, 8))
    measured = metrics.measure_codes(vae, instruments.AttributeRegressor(), torch.randn(2, 3, 4))
    assert measured.shape == (2, 3, 9)


@pytest.mark.parametrize("shear", [-0.4, 0.0, 0.25, 0.5])
def test_slant_reads_the_shear_of_a_line(shear: float) -> None:
    assert metrics.slant(_bar(shear)).item() == pytest.approx(shear, abs=0.03)


def test_ink_grows_with_stroke_width() -> None:
    inks = metrics.ink(torch.cat([_bar(0.0, w) for w in (1.0, 2.0, 4.0)]))
    assert inks.shape == (3,) and inks[0] < inks[1] < inks[2]


def _bar(shear: float, half_width: float = 1.0, size: int = 28) -> torch.Tensor:
    """A line through the image centre, x = s·y (y up), of the given half width, as a 1×1×size×size image."""
    coords = torch.arange(size, dtype=torch.float32) - (size - 1) / 2
    y, x = -coords[:, None], coords[None, :]
    inside = ((x - shear * y).abs() <= half_width) & (y.abs() <= 9)
    return inside.float()[None, None]
