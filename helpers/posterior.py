"""Estimators around a VAE's posterior: how tight its ELBO is, and where the codes of all images together lie.

- :func:`log_importance_weights` and :func:`iwae_bound`: the importance-weighted bound on log p(x) of Burda et
  al. (2015), which is the ELBO for K = 1 and rises towards log p(x) as K grows.
- The **aggregate posterior** q(z) = (1/N) Σₙ q(z|xₙ), the mixture of the N images' Gaussians, the distribution
  of codes the decoder is trained on: :func:`log_aggregate_density` (its exact log-density),
  :func:`sample_aggregate`, :func:`aggregate_kl` (its KL divergence from the prior N(0, I)),
  :func:`mutual_information` (between the image and its code), and :func:`prior_holes` (the share of the prior's
  samples that land where q(z) is small).
Posterior collapse (the KL per dimension, active units) is measured in :mod:`helpers.disentanglement`.

Codes are given as the encoder's outputs ``z_mean`` and ``z_log_var`` (``N×d``). Monte Carlo estimates return an
:class:`Estimate`: the value and its standard error.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
from torch import Tensor, nn

from .batches import model_device
from .losses import reconstruction_loss

CHUNK = 1024
"""Points whose density under a mixture is computed at once (1,024 × 10,000 float64 values are 80 MB)."""
DECODINGS = 1_000
"""Images decoded at once by :func:`log_importance_weights`."""
LOG_2PI = math.log(2 * math.pi)


class Estimate(NamedTuple):
    """A Monte Carlo estimate and its standard error (the standard deviation of the terms over √n)."""

    value: float
    standard_error: float


def _mean_with_error(terms: Tensor) -> Estimate:
    return Estimate(float(terms.mean()), float(terms.std() / math.sqrt(len(terms))))


def _encoded(z_mean: Tensor, z_log_var: Tensor) -> tuple[Tensor, Tensor]:
    z_mean = torch.as_tensor(z_mean).detach().cpu().double()
    z_log_var = torch.as_tensor(z_log_var).detach().cpu().double()
    if z_mean.dim() != 2 or z_mean.shape != z_log_var.shape or len(z_mean) == 0:
        raise ValueError(f"z_mean and z_log_var must have one shape N×d, got {tuple(z_mean.shape)} and "
                         f"{tuple(z_log_var.shape)}")
    return z_mean, z_log_var


@torch.no_grad()
def log_importance_weights(model: nn.Module, images: Tensor, k: int, seed: int = 0) -> Tensor:
    """``k`` log importance weights per image, ``k×N`` (float64): log w = log p(x|z) + log p(z) − log q(z|x) for
    codes z drawn from the encoder's q(z|x).

    ``model`` is a VAE (``encode`` returns z_mean and z_log_var, ``decode`` pixel probabilities); log p(x|z) is
    minus the BCE summed over the pixels, the Bernoulli decoder's log-likelihood, and p(z) = N(0, I). The mean
    of the weights' logs over q is the ELBO. Images are decoded in batches of about ``DECODINGS``.
    """
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    model.eval()
    device = model_device(model)
    generator = torch.Generator().manual_seed(seed)
    per_batch = max(1, DECODINGS // k)
    columns = []
    for start in range(0, len(images), per_batch):
        x = images[start : start + per_batch].to(device)
        z_mean, z_log_var = (part.double() for part in model.encode(x))
        eps = torch.randn(k, *z_mean.shape, generator=generator, dtype=torch.float64).to(device)
        z = z_mean + torch.exp(0.5 * z_log_var) * eps  # k × n × d
        x_hat = model.decode(z.flatten(0, 1).float())
        log_p_x = -reconstruction_loss(x.repeat(k, *[1] * (x.dim() - 1)), x_hat).double().view(k, len(x))
        log_p_z = -0.5 * (LOG_2PI + z**2).sum(-1)
        log_q_z = -0.5 * (LOG_2PI + z_log_var + eps**2).sum(-1)  # (z − μ)²/σ² = ε²
        columns.append((log_p_x + log_p_z - log_q_z).cpu())
    return torch.cat(columns, dim=1)


def iwae_bound(log_weights: Tensor, k: int | None = None) -> Tensor:
    """The importance-weighted bound L_k = E[log (1/k) Σᵢ wᵢ] per image, from log-weights ``K×N``.

    The K weights of each image are split into K/k disjoint groups of ``k`` (``k`` must divide K; default all K),
    each group gives ``logsumexp − log k``, and the groups are averaged: so one set of K weights estimates every
    L_k with k dividing K. L_1 is the ELBO; L_k never decreases with k and tends to log p(x) (Burda et al. 2015).
    """
    log_weights = torch.as_tensor(log_weights).double()
    if log_weights.dim() != 2:
        raise ValueError(f"log_weights must have shape K×N, got {tuple(log_weights.shape)}")
    total = len(log_weights)
    k = total if k is None else k
    if not 1 <= k <= total or total % k:
        raise ValueError(f"k must divide the number of weights per image ({total}), got {k}")
    groups = log_weights[: total // k * k].view(total // k, k, -1)
    return (torch.logsumexp(groups, dim=1) - math.log(k)).mean(0)


def log_aggregate_density(z: Tensor, z_mean: Tensor, z_log_var: Tensor) -> Tensor:
    """log q(z) for points ``z`` (``M×d``) under the aggregate posterior, the mixture (1/N) Σₙ N(μₙ, diag σₙ²):
    exact, in float64, in chunks of ``CHUNK`` points."""
    z_mean, z_log_var = _encoded(z_mean, z_log_var)
    z = torch.as_tensor(z).detach().cpu().double()
    if z.dim() != 2 or z.shape[1] != z_mean.shape[1]:
        raise ValueError(f"z must have shape M×{z_mean.shape[1]}, got {tuple(z.shape)}")
    precision = torch.exp(-z_log_var)  # 1/σ², N×d
    constant = -0.5 * (z_mean.shape[1] * LOG_2PI + z_log_var.sum(1) + (z_mean**2 * precision).sum(1))  # N
    densities = []
    for start in range(0, len(z), CHUNK):
        part = z[start : start + CHUNK]
        # log N(z; μₙ, σₙ²) = constant_n − ½ Σⱼ (zⱼ²/σ²ₙⱼ − 2 zⱼ μₙⱼ/σ²ₙⱼ), for all points and images at once
        log_components = constant - 0.5 * (part**2 @ precision.T - 2 * part @ (z_mean * precision).T)
        densities.append(torch.logsumexp(log_components, dim=1) - math.log(len(z_mean)))
    return torch.cat(densities)


def sample_aggregate(z_mean: Tensor, z_log_var: Tensor, n: int, seed: int = 0) -> tuple[Tensor, Tensor]:
    """``n`` codes drawn from the aggregate posterior (an image at random, then a code from its q(z|x)), and the
    index of the image each came from."""
    z_mean, z_log_var = _encoded(z_mean, z_log_var)
    generator = torch.Generator().manual_seed(seed)
    which = torch.randint(len(z_mean), (n,), generator=generator)
    eps = torch.randn(n, z_mean.shape[1], generator=generator, dtype=torch.float64)
    return z_mean[which] + torch.exp(0.5 * z_log_var[which]) * eps, which


def aggregate_kl(z_mean: Tensor, z_log_var: Tensor, n: int = 10_000, seed: int = 0) -> Estimate:
    """KL(q(z) ‖ N(0, I)) of the aggregate posterior, in nats: the mean of log q(z) − log p(z) over ``n`` codes
    z ~ q(z), with q(z) evaluated exactly as the mixture of the N images' Gaussians."""
    z, _ = sample_aggregate(z_mean, z_log_var, n, seed)
    log_prior = -0.5 * (LOG_2PI + z**2).sum(1)
    return _mean_with_error(log_aggregate_density(z, z_mean, z_log_var) - log_prior)


def mutual_information(z_mean: Tensor, z_log_var: Tensor, n: int = 10_000, seed: int = 0) -> Estimate:
    """The mutual information I(x; z) in nats between an image x, drawn uniformly from the N images, and its code
    z ~ q(z|x): the mean of log q(z|x) − log q(z) over ``n`` draws. It lies between 0 (codes that say nothing
    about the image) and log N (codes that tell every image apart)."""
    z_mean, z_log_var = _encoded(z_mean, z_log_var)
    z, which = sample_aggregate(z_mean, z_log_var, n, seed)
    eps2 = (z - z_mean[which]) ** 2 * torch.exp(-z_log_var[which])
    log_posterior = -0.5 * (LOG_2PI + z_log_var[which] + eps2).sum(1)
    return _mean_with_error(log_posterior - log_aggregate_density(z, z_mean, z_log_var))


def prior_holes(z_mean: Tensor, z_log_var: Tensor, n: int = 10_000, ratio: float = 0.1, seed: int = 0) -> float:
    """The share of samples of the prior N(0, I) that land in a hole of the aggregate posterior: where
    q(z) < ``ratio`` · p(z), so that the decoder met codes there at under a tenth (by default) of the rate at which
    the prior asks it to decode them. Between 0 and 1; ``n`` draws from ``seed``."""
    z_mean, _ = _encoded(z_mean, z_log_var)
    z = torch.randn(n, z_mean.shape[1], generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    log_prior = -0.5 * (LOG_2PI + z**2).sum(1)
    return float((log_aggregate_density(z, z_mean, z_log_var) < math.log(ratio) + log_prior).double().mean())
