"""The losses against their definitions and against torch.distributions."""

import math

import pytest
import torch
from torch.distributions import Normal, kl_divergence as torch_kl

from helpers import losses
from helpers.losses import gaussian_kl, kl_divergence, model_loss, reconstruction_loss, vae_loss
from helpers.models import ConvAutoencoder, ConvVAE


@pytest.mark.parametrize("scale", [0.01, 1.0, 8.0])
def test_kl_matches_torch_distributions_including_extreme_log_variances(scale):
    torch.manual_seed(0)
    mu = torch.randn(64, 5, dtype=torch.float64) * 3
    log_var = torch.randn(64, 5, dtype=torch.float64) * scale
    expected = torch_kl(Normal(mu, (0.5 * log_var).exp()), Normal(0.0, 1.0)).sum(1)
    assert torch.allclose(kl_divergence(mu, log_var), expected, rtol=1e-9, atol=1e-9)


def test_kl_is_zero_only_at_the_prior():
    assert torch.equal(kl_divergence(torch.zeros(3, 4), torch.zeros(3, 4)), torch.zeros(3))
    assert (kl_divergence(torch.full((1, 4), 0.1), torch.zeros(1, 4)) > 0).all()


def test_reconstruction_losses_are_per_image_sums():
    x = torch.tensor([[[[0.0, 1.0], [1.0, 0.0]]]])
    x_hat = torch.full_like(x, 0.5)
    assert torch.allclose(reconstruction_loss(x, x_hat, "bce"), torch.tensor([4 * math.log(2)]))
    assert torch.allclose(reconstruction_loss(x, x_hat, "mse"), torch.tensor([4 * 0.25]))
    assert torch.allclose(reconstruction_loss(x, x_hat, "rmse"), torch.tensor([0.5]))
    with pytest.raises(ValueError, match="kind"):
        reconstruction_loss(x, x_hat, "l1")
    with pytest.raises(ValueError, match="shape"):
        reconstruction_loss(x, x_hat[..., :1], "bce")


def test_vae_loss_is_batch_mean_of_recon_plus_beta_kl():
    torch.manual_seed(0)
    x, x_hat = torch.rand(4, 1, 28, 28), torch.rand(4, 1, 28, 28).clamp(0.01, 0.99)
    mu, log_var = torch.randn(4, 2), torch.randn(4, 2)
    parts = vae_loss(x, x_hat, mu, log_var, beta=3.0)
    assert torch.allclose(parts["recon"], reconstruction_loss(x, x_hat).mean())
    assert torch.allclose(parts["kl"], kl_divergence(mu, log_var).mean())
    assert torch.allclose(parts["total"], parts["recon"] + 3.0 * parts["kl"])


def test_model_loss_dispatches_on_the_model_kind():
    x = torch.rand(2, 1, 28, 28)
    assert model_loss(ConvAutoencoder(2), x)["kl"] == 0
    assert model_loss(ConvVAE(2), x)["kl"] > 0


def test_gaussian_beta_turns_summed_squared_error_into_the_gaussian_likelihood() -> None:
    sigma = 0.05
    assert math.isclose(losses.gaussian_beta(sigma), 0.005)
    x = torch.rand(3, 3, 4, 4, dtype=torch.float64)
    x_hat = torch.rand(3, 3, 4, 4, dtype=torch.float64)
    kl = torch.tensor([1.0, 5.0, 20.0], dtype=torch.float64)
    nll = -torch.distributions.Normal(x_hat, sigma).log_prob(x).flatten(1).sum(1)
    sse = ((x - x_hat) ** 2).flatten(1).sum(1)
    constant = x[0].numel() / 2 * math.log(2 * math.pi * sigma**2)
    assert torch.allclose(2 * sigma**2 * (nll + kl - constant), sse + losses.gaussian_beta(sigma) * kl)


def test_gaussian_kl_matches_torch_distributions_and_reduces_to_the_kl_to_the_standard_normal():
    mu1, mu2, lv1, lv2 = torch.randn(4, 50, 3, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    expected = torch_kl(Normal(mu1, (0.5 * lv1).exp()), Normal(mu2, (0.5 * lv2).exp())).sum(-1)
    assert torch.allclose(gaussian_kl(mu1, lv1, mu2, lv2), expected, rtol=1e-10)
    assert torch.allclose(gaussian_kl(mu1, lv1, 0 * mu1, 0 * lv1), kl_divergence(mu1, lv1), rtol=1e-10)
    assert torch.equal(gaussian_kl(mu1, lv1, mu1, lv1), torch.zeros(50, dtype=torch.float64))
