"""The two gradient estimators of notebook 05: both unbiased, the reparameterization one with a far smaller variance."""

from __future__ import annotations

import math

import pytest
import torch

from helpers.gradients import reparameterization_gradients, score_function_gradients

N = 40_000


def squared_distance_to_3(z: torch.Tensor) -> torch.Tensor:
    """f(z) = Σ_i (z_i − 3)², whose expectation has the gradient 2(μ − 3)."""
    return ((z - 3) ** 2).sum(1)


@pytest.mark.parametrize("estimator", [reparameterization_gradients, score_function_gradients])
@pytest.mark.parametrize("mu, sigma", [(1.0, 1.0), (-0.5, 0.5), (4.0, 2.0)])
def test_estimators_are_unbiased(estimator, mu: float, sigma: float) -> None:
    grads = estimator(squared_distance_to_3, mu, sigma, N, torch.Generator().manual_seed(1))
    assert grads.shape == (N, 1) and grads.dtype == torch.float64
    standard_error = grads.std() / math.sqrt(N)
    assert abs(grads.mean() - 2 * (mu - 3)) < 4 * standard_error


def test_reparameterization_gradient_is_exact_per_sample() -> None:
    # ∂/∂μ (μ + σε − 3)² = 2(μ + σε − 3): variance 4σ², and the same ε as the generator gives
    mu, sigma = 1.0, 0.7
    grads = reparameterization_gradients(squared_distance_to_3, mu, sigma, 1000, torch.Generator().manual_seed(2))
    eps = torch.randn(1000, 1, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    assert torch.allclose(grads, 2 * (mu + sigma * eps - 3))


def test_score_function_has_the_textbook_form_and_larger_variance() -> None:
    mu, sigma = 1.0, 1.0
    grads = score_function_gradients(squared_distance_to_3, mu, sigma, N, torch.Generator().manual_seed(3))
    z = mu + sigma * torch.randn(N, 1, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    assert torch.allclose(grads, squared_distance_to_3(z)[:, None] * (z - mu) / sigma**2)
    # exact variances for μ = σ = 1: E[(ε − 2)⁴ ε²] − 16 = 87 against 4σ² = 4
    assert abs(grads.var() / 87 - 1) < 0.1
    reparam = reparameterization_gradients(squared_distance_to_3, mu, sigma, N, torch.Generator().manual_seed(3))
    assert abs(reparam.var() / 4 - 1) < 0.05


def test_vector_mean_gives_one_gradient_per_dimension() -> None:
    mu = torch.tensor([0.0, 1.0, 2.0])
    grads = reparameterization_gradients(squared_distance_to_3, mu, 0.5, 20_000, torch.Generator().manual_seed(4))
    assert grads.shape == (20_000, 3)
    assert torch.allclose(grads.mean(0), 2 * (mu.double() - 3), atol=0.03)
    score = score_function_gradients(squared_distance_to_3, mu, 0.5, 20_000, torch.Generator().manual_seed(4))
    assert (score.var(0) > 10 * grads.var(0)).all()


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="sigma"):
        reparameterization_gradients(squared_distance_to_3, 0.0, 0.0, 10)
    with pytest.raises(ValueError, match="n must"):
        score_function_gradients(squared_distance_to_3, 0.0, 1.0, 0)
    with pytest.raises(ValueError, match="n values"):
        score_function_gradients(lambda z: z, 0.0, 1.0, 10)
