"""Losses of the course, in nats per image: summed over pixels and latent dimensions, averaged over the batch.

Summing over pixels (as the ELBO does) and averaging over pixels (as many Keras notebooks do) differ by a factor of
the number of pixels, which changes the effective weight β of the KL term: the course always sums.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

RECONSTRUCTIONS = ("bce", "mse", "rmse")
PIXEL_SIGMA = 0.05
"""The pixel noise σ of the course's Gaussian decoder (faces, notebook 07), on the [0, 1] scale."""


def reconstruction_loss(x: Tensor, x_hat: Tensor, kind: str = "bce") -> Tensor:
    """One value per image: ``"bce"`` and ``"mse"`` summed over pixels, ``"rmse"`` the root of the pixel mean.

    BCE is the negative log-likelihood of a Bernoulli decoder, in nats. ``x_hat`` lies in [0, 1].
    """
    if x.shape != x_hat.shape:
        raise ValueError(f"x and x_hat must have the same shape, got {tuple(x.shape)} and {tuple(x_hat.shape)}")
    if kind == "bce":
        per_pixel = F.binary_cross_entropy(x_hat, x, reduction="none")
    elif kind in ("mse", "rmse"):
        per_pixel = (x_hat - x) ** 2
    else:
        raise ValueError(f"reconstruction kind must be one of {RECONSTRUCTIONS}, got {kind!r}")
    per_image = per_pixel.flatten(1)
    return per_image.mean(1).sqrt() if kind == "rmse" else per_image.sum(1)


def gaussian_beta(sigma: float = PIXEL_SIGMA) -> float:
    """The β that turns ``recon="mse"`` (summed squared error) into a Gaussian likelihood of pixel noise σ.

    ``−log N(x; x̂, σ²) = (x − x̂)²/(2σ²) + const`` per pixel, so ``recon + KL`` with the Gaussian log-likelihood
    is ``SSE/(2σ²) + KL``; multiplied by ``2σ²`` (which moves no minimum) it is ``SSE + 2σ²·KL``: an exact ELBO up to
    that factor and a constant, with ``β = 2σ²``.
    """
    return 2 * sigma**2


def kl_divergence(z_mean: Tensor, z_log_var: Tensor) -> Tensor:
    """KL(N(μ, σ²) ‖ N(0, I)) = −½ Σ (1 + log σ² − μ² − σ²), summed over latent dimensions: one value per sample."""
    return -0.5 * torch.sum(1 + z_log_var - z_mean.pow(2) - z_log_var.exp(), dim=1)


def gaussian_kl(mean1: Tensor, log_var1: Tensor, mean2: Tensor, log_var2: Tensor) -> Tensor:
    """KL(N(μ₁, σ₁²) ‖ N(μ₂, σ₂²)) of two diagonal Gaussians, summed over the last dimension:
    ½ Σ (log σ₂² − log σ₁² + (σ₁² + (μ₁ − μ₂)²)/σ₂² − 1). With μ₂ = 0, σ₂ = 1 it is :func:`kl_divergence`."""
    return 0.5 * torch.sum(log_var2 - log_var1 + (log_var1.exp() + (mean1 - mean2) ** 2) / log_var2.exp() - 1, dim=-1)


def vae_loss(
    x: Tensor, x_hat: Tensor, z_mean: Tensor, z_log_var: Tensor, beta: float = 1.0, recon: str = "bce"
) -> dict[str, Tensor]:
    """Reconstruction + β·KL, each averaged over the batch: ``{"total", "recon", "kl"}``."""
    rec = reconstruction_loss(x, x_hat, recon).mean()
    kl = kl_divergence(z_mean, z_log_var).mean()
    return {"total": rec + beta * kl, "recon": rec, "kl": kl}


def model_loss(model: nn.Module, x: Tensor, recon: str = "bce", beta: float = 1.0) -> dict[str, Tensor]:
    """Run ``model`` on a batch and return its loss parts; a plain autoencoder's KL is zero."""
    if model.variational:
        x_hat, z_mean, z_log_var = model(x)
        return vae_loss(x, x_hat, z_mean, z_log_var, beta=beta, recon=recon)
    x_hat, _ = model(x)
    rec = reconstruction_loss(x, x_hat, recon).mean()
    return {"total": rec, "recon": rec, "kl": torch.zeros((), device=x.device)}
