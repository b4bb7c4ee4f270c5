"""Generation measured fairly: the Fréchet distance, density and coverage, and class coverage on distributions whose
answer is known, and the report that puts them in one row."""

import math

import numpy as np
import pytest
import torch
from scipy import linalg

from helpers import instruments, metrics


def normal(n: int, d: int, seed: int = 0) -> torch.Tensor:
    return torch.randn(n, d, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def modes(n: int, which: list[int], seed: int = 0) -> torch.Tensor:
    """``n`` points in 10-D from an equal mixture of tight Gaussians (σ = 0.3) around ``10·e_m``, for ``m`` in
    ``which``: ten well-separated modes, like ten digits."""
    generator = torch.Generator().manual_seed(seed)
    picks = torch.tensor(which)[torch.randint(len(which), (n,), generator=generator)]
    return 10 * torch.eye(10)[picks] + 0.3 * torch.randn(n, 10, generator=generator)


def test_frechet_distance_of_diagonal_gaussians_matches_the_closed_form() -> None:
    """For diagonal covariances the distance is ‖Δμ‖² + Σ (√a − √b)²; with exact moments the estimate is exact."""
    d = 6
    mean_a, mean_b = torch.zeros(d, dtype=torch.float64), torch.linspace(-1, 2, d, dtype=torch.float64)
    var_a, var_b = torch.linspace(0.5, 3, d, dtype=torch.float64), torch.linspace(4, 0.1, d, dtype=torch.float64)
    white = _whitened(normal(4000, d, seed=1))  # mean exactly 0, covariance exactly I
    a, b = mean_a + white * var_a.sqrt(), mean_b + _whitened(normal(3000, d, seed=2)) * var_b.sqrt()
    expected = float(((mean_a - mean_b) ** 2).sum() + ((var_a.sqrt() - var_b.sqrt()) ** 2).sum())
    assert metrics.frechet_distance(a, b) == pytest.approx(expected, rel=1e-9)
    assert metrics.frechet_distance(a, a) == pytest.approx(0.0, abs=1e-9)


def test_frechet_distance_agrees_with_scipy_sqrtm_for_full_covariances() -> None:
    a = normal(500, 5, seed=1) @ normal(5, 5, seed=2)
    b = 1 + normal(400, 5, seed=3) @ normal(5, 5, seed=4)
    ca, cb = np.cov(a.numpy(), rowvar=False), np.cov(b.numpy(), rowvar=False)
    reference = float(((a.mean(0) - b.mean(0)) ** 2).sum() + np.trace(ca + cb - 2 * linalg.sqrtm(ca @ cb).real))
    assert metrics.frechet_distance(a, b) == pytest.approx(reference, rel=1e-8)
    assert metrics.frechet_distance(b, a) == pytest.approx(reference, rel=1e-8)


def test_frechet_distance_handles_singular_covariances() -> None:
    """A feature that is always 0 (a dead ReLU unit) or two copies of one feature make Σ singular."""
    a, b = normal(300, 4, seed=1), normal(300, 4, seed=2)
    a[:, 0], b[:, 0] = 0, 0
    a[:, 1], b[:, 1] = a[:, 2], b[:, 2]
    distance = metrics.frechet_distance(a, b)
    assert math.isfinite(distance) and 0 < distance < 0.2
    assert metrics.frechet_distance(a, a) == pytest.approx(0.0, abs=1e-6)  # √ of rounding: about 1e-8 × trace


def test_frechet_distance_is_biased_upwards_for_small_samples() -> None:
    """Two samples of one distribution: clearly above 0 with 100 vectors each, ten times closer with 10,000."""
    small = metrics.frechet_distance(normal(100, 16, seed=1), normal(100, 16, seed=2))
    large = metrics.frechet_distance(normal(10_000, 16, seed=1), normal(10_000, 16, seed=2))
    assert small > 1.0 and large < small / 10


def test_frechet_distance_rejects_mismatched_sets() -> None:
    with pytest.raises(ValueError, match="features"):
        metrics.frechet_distance(normal(10, 3), normal(10, 4))
    with pytest.raises(ValueError, match="at least 2"):
        metrics.frechet_distance(normal(1, 3), normal(10, 3))


def test_density_and_coverage_of_one_distribution() -> None:
    """Samples of the real distribution itself: density about 1, coverage about 1 − 2⁻⁵ = 0.97."""
    scores = metrics.density_coverage(normal(2000, 8, seed=1), normal(2000, 8, seed=2))
    assert set(scores) == {"density", "coverage"}
    assert scores["density"] == pytest.approx(1.0, abs=0.1)
    assert scores["coverage"] == pytest.approx(1 - 2**-5, abs=0.03)


def test_a_generator_of_half_the_modes_is_faithful_but_covers_half() -> None:
    real, half = modes(2000, list(range(10)), seed=1), modes(2000, [0, 1, 2, 3, 4], seed=2)
    scores = metrics.density_coverage(real, half)
    assert scores["density"] > 0.8
    assert scores["coverage"] == pytest.approx(0.5, abs=0.05)


def test_disjoint_distributions_score_zero() -> None:
    scores = metrics.density_coverage(modes(1000, [0, 1, 2], seed=1), modes(1000, [5, 6], seed=2))
    assert scores == {"density": 0.0, "coverage": 0.0}


def test_stray_samples_earn_nothing() -> None:
    """Half of the samples faithful to two of four modes, half scattered over a wide box: the scatter adds no
    coverage (only real balls count) and halves the density."""
    real = modes(1000, [0, 1, 2, 3], seed=1)
    scatter = 20 * torch.rand(500, 10, generator=torch.Generator().manual_seed(3)) - 5
    scores = metrics.density_coverage(real, torch.cat([modes(500, [0, 1], seed=2), scatter]))
    assert scores["coverage"] == pytest.approx(0.5, abs=0.05)
    assert scores["density"] == pytest.approx(0.5, abs=0.1)


def test_density_coverage_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="k must be"):
        metrics.density_coverage(normal(5, 2), normal(5, 2), k=5)
    with pytest.raises(ValueError, match="features"):
        metrics.density_coverage(normal(10, 2), normal(10, 3))


def test_class_coverage_of_balanced_confident_predictions() -> None:
    probabilities = torch.eye(10).repeat(30, 1)  # every class 30 times, fully confident
    coverage = metrics.class_coverage(probabilities)
    assert coverage["classes"] == 10 and coverage["recognizable"] == 1.0
    assert coverage["class_kl"] == pytest.approx(0.0, abs=1e-12)
    assert torch.allclose(coverage["shares"], torch.full((10,), 0.1, dtype=torch.float64))


def test_class_coverage_of_a_generator_of_zeros_and_ones() -> None:
    """60 confident 0s and 40 confident 1s, plus 100 unsure blots that the judge files as 8s: two classes."""
    sure = torch.eye(10)[torch.tensor([0] * 60 + [1] * 40)]
    unsure = torch.full((100, 10), 0.05).index_fill(1, torch.tensor([8]), 0.55)
    coverage = metrics.class_coverage(torch.cat([sure, unsure]))
    assert coverage["classes"] == 2 and coverage["recognizable"] == 0.5
    entropy = -(0.6 * math.log(0.6) + 0.4 * math.log(0.4))
    assert coverage["class_kl"] == pytest.approx(math.log(10) - entropy)
    assert metrics.class_coverage(torch.eye(10)[torch.zeros(50, dtype=torch.long)])["class_kl"] == pytest.approx(
        math.log(10))


def test_class_coverage_ignores_classes_below_the_minimum_share() -> None:
    labels = torch.tensor([3] * 995 + [7] * 5)  # 7 makes 0.5 % of the confident predictions
    assert metrics.class_coverage(torch.eye(10)[labels])["classes"] == 1
    assert metrics.class_coverage(torch.eye(10)[labels], min_share=0.005)["classes"] == 2


def test_class_coverage_without_confident_predictions() -> None:
    coverage = metrics.class_coverage(torch.full((20, 10), 0.1))
    assert coverage["classes"] == 0 and coverage["recognizable"] == 0.0 and math.isnan(coverage["class_kl"])
    with pytest.raises(ValueError, match="N×C"):
        metrics.class_coverage(torch.ones(10))


def test_generation_report_uses_equal_sample_sizes_and_has_a_zero_floor() -> None:
    torch.manual_seed(0)
    judge = instruments.judge_network().eval()
    real = torch.rand(300, 1, 28, 28)
    report = metrics.generation_report(judge, real, torch.rand(120, 1, 28, 28))
    assert set(report) == {"n", "frechet", "density", "coverage", "recognizable", "classes", "class_kl"}
    assert report["n"] == 120
    same = metrics.generation_report(judge, real, real)
    assert same["frechet"] == pytest.approx(0.0, abs=1e-6)  # the same images, in another order
    assert same["coverage"] == 1.0
    blank = metrics.generation_report(judge, real, torch.zeros(300, 1, 28, 28))
    assert blank["frechet"] > same["frechet"] + 1e-3 and blank["coverage"] < 0.05


def _whitened(x: torch.Tensor) -> torch.Tensor:
    """``x`` with sample mean exactly 0 and sample covariance (N − 1) exactly I."""
    centred = x - x.mean(0)
    return centred @ torch.linalg.inv(torch.linalg.cholesky(torch.cov(centred.T))).T
