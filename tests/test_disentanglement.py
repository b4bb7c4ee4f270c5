"""helpers.disentanglement: the mutual information gap on constructed codes, best single R², active units, KL."""

import math

import pytest
import torch

from helpers.disentanglement import (active_units, best_single_r2, discretize, entropy, kl_per_dimension, mig,
                                     mutual_information, mutual_information_matrix)
from helpers.losses import kl_divergence


def _factors(n=2000, seed=0):
    """Three uniform factors and a binary one, independent."""
    g = torch.Generator().manual_seed(seed)
    return torch.cat([torch.rand(n, 3, generator=g), (torch.rand(n, 1, generator=g) < 0.3).double()], dim=1)


def test_discretize_gives_equal_counts_and_keeps_few_values():
    values = torch.rand(1000, generator=torch.Generator().manual_seed(1))
    assert torch.bincount(discretize(values, 10)).tolist() == [100] * 10
    assert discretize(torch.tensor([0.0, 1.0, 1.0, 0.0])).tolist() == [0, 1, 1, 0]


def test_entropy_and_mutual_information_of_known_variables():
    a = torch.arange(1000) % 4
    assert math.isclose(entropy(a), math.log(4), rel_tol=1e-9)
    assert math.isclose(mutual_information(a, a), math.log(4), rel_tol=1e-9)
    assert math.isclose(mutual_information(a, a % 2), math.log(2), rel_tol=1e-9)
    assert abs(mutual_information(a, torch.arange(1000) // 200)) < 1e-12  # a cycles within each block: independent


def test_a_code_that_copies_the_factors_has_a_gap_of_one():
    factors = _factors()
    codes = torch.cat([factors, torch.randn(len(factors), 2, generator=torch.Generator().manual_seed(2))], dim=1)
    assert mig(codes, factors).min() > 0.95
    assert mig(3 * codes[:, [2, 0, 1, 3, 4, 5]] - 1, factors).min() > 0.95  # any order and scale of the dimensions


def test_a_random_code_has_a_gap_near_zero():
    factors = _factors()
    codes = torch.randn(len(factors), 6, generator=torch.Generator().manual_seed(3))
    assert mig(codes, factors).max() < 0.03


def test_a_code_that_mixes_two_factors_in_its_dimensions_scores_low_on_both():
    factors = _factors()
    codes = factors.clone()
    codes[:, 0], codes[:, 1] = factors[:, 0] + factors[:, 1], factors[:, 0] - factors[:, 1]  # each dimension: both
    gaps = mig(codes, factors)
    assert gaps[:2].max() < 0.1 and gaps[2:].min() > 0.95


def test_a_factor_carried_twice_has_no_gap():
    factors = _factors()
    codes = torch.cat([factors, factors[:, :1]], dim=1)  # factor 0 in dimensions 0 and 4
    assert mig(codes, factors)[0] < 0.01


def test_mutual_information_matrix_is_dimensions_by_factors():
    factors = _factors(500)
    assert mutual_information_matrix(torch.randn(500, 5), factors).shape == (5, 4)


def test_mig_refuses_a_single_dimension_and_mismatched_lengths():
    with pytest.raises(ValueError, match="at least two"):
        mig(torch.randn(100, 1), torch.rand(100, 2))
    with pytest.raises(ValueError, match="same N"):
        mig(torch.randn(100, 3), torch.rand(90, 2))


def test_best_single_r2_finds_a_curved_dimension():
    factors = _factors()[:, :2]
    noise = torch.randn(len(factors), generator=torch.Generator().manual_seed(4))
    codes = torch.stack([noise, torch.exp(2 * factors[:, 0]), factors[:, 1] + factors[:, 0]], dim=1)
    best, dimension = best_single_r2(codes, factors)
    assert dimension.tolist() == [1, 2] and best[0] > 0.99  # a logarithm is close to a cubic
    assert 0.4 < best[1] < 0.6  # a sum of two equal uniforms: half the variance is the other's


def test_active_units_use_the_variance_of_the_posterior_mean_over_the_data():
    z_mean = torch.stack([torch.linspace(-1, 1, 100), torch.full((100,), 3.0), 0.05 * torch.linspace(-1, 1, 100)], 1)
    assert active_units(z_mean).tolist() == [True, False, False]
    assert active_units(z_mean, threshold=1e-4).tolist() == [True, False, True]
    g = torch.Generator().manual_seed(0)
    z_mean = torch.randn(1000, 3, generator=g) * torch.tensor([1.0, 0.2, 0.05])  # variances 1, 0.04, 0.0025
    assert active_units(z_mean).tolist() == [True, True, False]
    assert not active_units(torch.zeros(50, 4)).any()


@pytest.mark.parametrize("z_mean", [torch.zeros(5), torch.zeros(1, 3)])
def test_active_units_refuse_codes_that_are_not_a_table_of_at_least_two_rows(z_mean):
    with pytest.raises(ValueError, match="N×d"):
        active_units(z_mean)


def test_kl_per_dimension_sums_to_the_kl():
    g = torch.Generator().manual_seed(5)
    z_mean, z_log_var = torch.randn(50, 4, generator=g), torch.randn(50, 4, generator=g)
    assert torch.allclose(kl_per_dimension(z_mean, z_log_var).sum(), kl_divergence(z_mean, z_log_var).mean())
    assert torch.allclose(kl_per_dimension(torch.zeros(3, 2), torch.zeros(3, 2)), torch.zeros(2))
