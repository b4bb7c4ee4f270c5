"""helpers.posterior: the importance-weighted bound and the aggregate posterior's estimators, against cases whose
answer is known in closed form."""

import math

import pytest
import torch
from torch import nn
from torch.distributions import Categorical, Independent, MixtureSameFamily, Normal

from helpers import posterior
from helpers.losses import kl_divergence, reconstruction_loss
from helpers.models import ConvVAE


def _random_codes(n=300, d=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    z_mean = 1.5 * torch.randn(n, d, generator=g, dtype=torch.float64)
    return z_mean, torch.randn(n, d, generator=g, dtype=torch.float64) - 1


def _linear_gaussian_weights(x, mu, sigma, k, a=2.0, b=0.5, s=0.7, seed=0):
    """log p(x|z) + log p(z) − log q(z) for z ~ q = N(mu, sigma²), in the model z ~ N(0, 1), x|z ~ N(az + b, s²)."""
    z = mu + sigma * torch.randn(k, 1, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    x = torch.full_like(z, x)
    return Normal(a * z + b, s).log_prob(x) + Normal(0.0, 1.0).log_prob(z) - Normal(mu, sigma).log_prob(z)


def test_iwae_bound_rises_from_the_elbo_to_log_p_x():
    a, b, s, x = 2.0, 0.5, 0.7, 3.0
    log_p_x = Normal(b, math.sqrt(a**2 + s**2)).log_prob(torch.tensor(x, dtype=torch.float64)).item()
    log_w = _linear_gaussian_weights(x, mu=0.0, sigma=1.0, k=100_000)  # q = the prior: a poor proposal
    bounds = [posterior.iwae_bound(log_w, k).item() for k in (1, 10, 100, 1000, 10_000)]
    assert all(lower < higher for lower, higher in zip(bounds, bounds[1:])), bounds
    assert bounds[0] < log_p_x - 1  # the ELBO of the prior as q is loose by over a nat here
    assert abs(bounds[-1] - log_p_x) < 0.05 and bounds[-1] < log_p_x + 0.01
    assert torch.isclose(posterior.iwae_bound(log_w, 1), log_w.mean(0))


def test_iwae_bound_is_exact_for_the_true_posterior():
    a, b, s, x = 2.0, 0.5, 0.7, 3.0
    v = s**2 / (a**2 + s**2)
    log_w = _linear_gaussian_weights(x, mu=a * (x - b) / (a**2 + s**2), sigma=math.sqrt(v), k=64)
    log_p_x = Normal(b, math.sqrt(a**2 + s**2)).log_prob(torch.tensor(x, dtype=torch.float64))
    assert torch.allclose(log_w, log_p_x.expand_as(log_w), atol=1e-12)
    assert torch.allclose(posterior.iwae_bound(log_w, 8), log_p_x.expand(1), atol=1e-12)


def test_iwae_bound_refuses_a_group_size_that_does_not_divide():
    with pytest.raises(ValueError, match="divide"):
        posterior.iwae_bound(torch.zeros(10, 3), 3)
    with pytest.raises(ValueError, match="K×N"):
        posterior.iwae_bound(torch.zeros(10))


class _ConstantVAE(nn.Module):
    """q(z|x) = N(0, I) for every image and a decoder that outputs 0.5 for every pixel."""

    variational = True

    def __init__(self):
        super().__init__()
        self.unused = nn.Parameter(torch.zeros(1))

    def encode(self, x):
        return torch.zeros(len(x), 2), torch.zeros(len(x), 2)

    def decode(self, z):
        return torch.full((len(z), 1, 28, 28), 0.5)


def test_log_importance_weights_are_exact_when_q_is_the_prior_and_the_decoder_constant():
    images = torch.rand(7, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    log_w = posterior.log_importance_weights(_ConstantVAE(), images, k=5)
    assert log_w.shape == (5, 7)
    assert torch.allclose(log_w, torch.full_like(log_w, -784 * math.log(2)), atol=1e-3)


def test_log_importance_weights_average_to_the_elbo_of_a_convvae():
    torch.manual_seed(0)
    model = ConvVAE(2, channels=(4, 8), hidden=16).eval()
    images = torch.rand(3, 1, 28, 28, generator=torch.Generator().manual_seed(1))
    log_w = posterior.log_importance_weights(model, images, k=1000, seed=2)
    with torch.no_grad():
        z_mean, z_log_var = model.encode(images)
        eps = torch.randn(1000, *z_mean.shape, generator=torch.Generator().manual_seed(3))
        z = z_mean + torch.exp(0.5 * z_log_var) * eps
        recon = reconstruction_loss(images.repeat(1000, 1, 1, 1), model.decode(z.flatten(0, 1))).view(1000, 3)
    elbo = -(recon.mean(0) + kl_divergence(z_mean, z_log_var)).double()
    error = log_w.std(0) / math.sqrt(1000) + recon.std(0).double() / math.sqrt(1000)
    assert torch.all((log_w.mean(0) - elbo).abs() < 4 * error)
    assert torch.all(posterior.iwae_bound(log_w, 100) > posterior.iwae_bound(log_w, 1))


def test_log_aggregate_density_is_the_mixture_density():
    z_mean, z_log_var = _random_codes()
    mixture = MixtureSameFamily(Categorical(torch.ones(len(z_mean), dtype=torch.float64)),
                                Independent(Normal(z_mean, torch.exp(0.5 * z_log_var)), 1))
    points = 2 * torch.randn(2500, 3, generator=torch.Generator().manual_seed(5), dtype=torch.float64)
    assert torch.allclose(posterior.log_aggregate_density(points, z_mean, z_log_var), mixture.log_prob(points),
                          rtol=1e-9, atol=1e-9)


def test_aggregate_of_prior_clouds_is_the_prior():
    zeros = torch.zeros(50, 4, dtype=torch.float64)
    assert abs(posterior.aggregate_kl(zeros, zeros, n=2000).value) < 1e-9
    assert abs(posterior.mutual_information(zeros, zeros, n=2000).value) < 1e-9
    assert posterior.prior_holes(zeros, zeros, n=2000) == 0.0


def test_one_image_aggregate_kl_is_its_closed_form_kl():
    z_mean, z_log_var = torch.tensor([[1.0, -0.5]]), torch.tensor([[-1.0, 0.4]])
    estimate = posterior.aggregate_kl(z_mean, z_log_var, n=50_000)
    assert abs(estimate.value - kl_divergence(z_mean, z_log_var).item()) < 4 * estimate.standard_error
    assert abs(posterior.mutual_information(z_mean, z_log_var, n=1000).value) < 1e-12


def test_separated_images_have_mutual_information_log_n_and_leave_the_prior_full_of_holes():
    z_mean = 10.0 * torch.arange(20, dtype=torch.float64).view(-1, 1)  # 20 clouds of σ = 0.05, 10 apart
    z_log_var = torch.full_like(z_mean, -6.0)
    assert abs(posterior.mutual_information(z_mean, z_log_var, n=4000).value - math.log(20)) < 1e-9
    assert posterior.prior_holes(z_mean + 1000, z_log_var, n=1000) == 1.0


def test_average_kl_is_mutual_information_plus_aggregate_kl():
    z_mean, z_log_var = _random_codes(n=200, d=2, seed=3)
    information = posterior.mutual_information(z_mean, z_log_var, n=40_000, seed=1)
    aggregate = posterior.aggregate_kl(z_mean, z_log_var, n=40_000, seed=2)
    error = math.hypot(information.standard_error, aggregate.standard_error)
    assert 0 < information.value < math.log(200)
    assert abs(kl_divergence(z_mean, z_log_var).mean().item() - (information.value + aggregate.value)) < 4 * error


def test_prior_holes_count_prior_samples_where_q_is_small():
    # q(z) = N(3, 1) in 1-D: q < p/10 where z < 1.5 − ln(10)/3 ≈ 0.732, a share Φ(0.732) ≈ 0.768 of the prior
    share = posterior.prior_holes(torch.full((1, 1), 3.0), torch.zeros(1, 1), n=200_000)
    assert abs(share - torch.distributions.Normal(0.0, 1.0).cdf(torch.tensor(1.5 - math.log(10) / 3)).item()) < 0.005


@pytest.mark.parametrize("z_mean, z_log_var", [
    (torch.zeros(3), torch.zeros(3)), (torch.zeros(3, 2), torch.zeros(3, 1)), (torch.zeros(0, 2), torch.zeros(0, 2)),
])
def test_codes_of_the_wrong_shape_are_refused(z_mean, z_log_var):
    with pytest.raises(ValueError, match="N×d"):
        posterior.aggregate_kl(z_mean, z_log_var, n=10)
