"""Checks for the exercises of notebook 06 (the KL term and β).

Each check runs the student's function on its own cases and, when the answer is wrong, compares it with the
answers the usual mistakes give, so that the verdict can name the mistake.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from ._core import Candidates, Mistake, Verdict, as_numbers, match_mistake, run_check, same

__all__ = ["check_beta_vae_loss", "check_effective_beta", "check_kl_closed_form"]


_KL = "KL = −½ Σ_j (1 + log σ_j² − μ_j² − σ_j²), with σ² = exp(log σ²) and the sum over the latent dimensions j."


def _kl_terms(mu: torch.Tensor, log_var: torch.Tensor, variance: torch.Tensor | None = None) -> torch.Tensor:
    """The bracket 1 + log σ² − μ² − σ² per dimension (``variance`` replaces σ² to build a mistake)."""
    return 1 + log_var - mu**2 - (log_var.exp() if variance is None else variance)


def check_kl_closed_form(kl_closed_form: Callable[..., Any]) -> Verdict:
    """Check ``kl_closed_form(z_mean, z_log_var)``: KL(N(μ, σ²) ‖ N(0, I)) per sample, summed over dimensions."""

    def body() -> None:
        generator = torch.Generator().manual_seed(6)
        mu = torch.randn(5, 3, generator=generator, dtype=torch.float64)
        log_var = 1.5 * torch.randn(5, 3, generator=generator, dtype=torch.float64)
        result = as_numbers(kl_closed_form(mu.clone(), log_var.clone()), "kl_closed_form")
        terms = _kl_terms(mu, log_var)
        expected = -0.5 * terms.sum(1)
        if same(result, expected):
            return
        candidates: Candidates = [
            ("sign_flipped", 0.5 * terms.sum(1), "the sign is flipped: a KL divergence is never negative.",
             "The formula starts with −½: " + _KL),
            ("missing_half", -terms.sum(1), "the factor ½ is missing: your values are twice the KL.", _KL),
            ("missing_minus_half", terms.sum(1), "the factor −½ in front is missing.", _KL),
            ("per_dimension", -0.5 * terms, "you returned one value per latent dimension (shape N×d).",
             "Sum over the latent dimensions, `dim=1`, to get one KL per sample: " + _KL),
            ("mean_over_dimensions", -0.5 * terms.mean(1), "you averaged over the latent dimensions instead of "
             "summing: the KL of independent dimensions is the sum of their KLs.", "Use `.sum(dim=1)`, not `.mean`."),
            ("averaged_over_batch", -0.5 * terms.sum(1).mean(), "you averaged over the batch: the function should "
             "return one KL per sample (shape N).", "Sum over `dim=1` only; the loss averages over the batch later."),
            ("summed_over_batch", -0.5 * terms.sum(), "you summed over the batch too: the function should return "
             "one KL per sample (shape N).", "Sum over `dim=1` only."),
            ("variance_squared", -0.5 * _kl_terms(mu, log_var, (2 * log_var).exp()).sum(1),
             "you used exp(2·log σ²) = σ⁴ where the formula has σ².", "σ² = exp(log σ²): `z_log_var.exp()`."),
            ("sigma_not_variance", -0.5 * _kl_terms(mu, log_var, (0.5 * log_var).exp()).sum(1),
             "you used σ = exp(½ log σ²) where the formula has σ².", "σ² = exp(log σ²): `z_log_var.exp()`."),
            ("log_var_as_variance", -0.5 * _kl_terms(mu, log_var, log_var).sum(1),
             "you used log σ² itself where the formula has σ².", "σ² = exp(log σ²): `z_log_var.exp()`."),
            ("forgot_mean_term", -0.5 * (terms + mu**2).sum(1), "the term −μ² is missing.", _KL),
            ("forgot_one", -0.5 * (terms - 1).sum(1), "the constant 1 in the bracket is missing.", _KL),
        ]
        match_mistake(result, candidates)
        if np.isnan(result).any():
            raise Mistake("nan", "your result contains NaN.",
                          "log σ² is often negative: never take its log or its square root. " + _KL)
        if result.shape != tuple(expected.shape):
            raise Mistake("wrong_shape", f"for a batch of 5 samples with 3 latent dimensions the result has shape "
                          f"{result.shape}, expected (5,): one KL per sample.", "Sum over `dim=1`.")
        raise Mistake("wrong_value", f"expected {np.round(expected.numpy(), 4)}, got {np.round(result, 4)}.",
                      "Compare your code with the formula, term by term: " + _KL)

    return run_check("kl_closed_form", body)


def check_beta_vae_loss(beta_vae_loss: Callable[..., Any]) -> Verdict:
    """Check ``beta_vae_loss(x, x_hat, z_mean, z_log_var, beta)``: the batch mean of summed BCE + β·KL."""

    def body() -> None:
        generator = torch.Generator().manual_seed(7)
        x = torch.rand(6, 1, 28, 28, generator=generator, dtype=torch.float64)
        x_hat = torch.rand(6, 1, 28, 28, generator=generator, dtype=torch.float64) * 0.98 + 0.01
        mu = torch.randn(6, 2, generator=generator, dtype=torch.float64)
        log_var = torch.randn(6, 2, generator=generator, dtype=torch.float64)
        bce = F.binary_cross_entropy(x_hat, x, reduction="none").flatten(1)
        kl = -0.5 * _kl_terms(mu, log_var).sum(1)
        for beta in (4.0, 0.5):
            result = as_numbers(beta_vae_loss(x.clone(), x_hat.clone(), mu.clone(), log_var.clone(), beta),
                              "beta_vae_loss")
            expected = (bce.sum(1) + beta * kl).mean()
            if result.size == 1:
                result = result.reshape(())
            if same(result, expected):
                continue
            if result.shape == (len(x),):
                match_mistake(result, [("per_sample", bce.sum(1) + beta * kl, "you returned one loss per image.",
                                 "Average over the batch: `.mean()`, so that the loss is one number.")])
            swapped = F.binary_cross_entropy(x, x_hat, reduction="none").flatten(1)
            match_mistake(result, [
                ("averaged_pixels", (bce.mean(1) + beta * kl).mean(), "you averaged the reconstruction over the "
                 "784 pixels: that weakens it 784-fold against the KL (an effective β of 784·β).",
                 "Sum the BCE over the pixels of each image (`.flatten(1).sum(1)`), then average over the batch."),
                ("beta_on_reconstruction", (beta * bce.sum(1) + kl).mean(), "you put β on the reconstruction "
                 "instead of on the KL.", "loss = reconstruction + β · KL."),
                ("forgot_kl", bce.sum(1).mean(), "the KL term is missing.", "Add β · KL (your `kl_closed_form`)."),
                ("ignored_beta", (bce.sum(1) + kl).mean(), "your loss does not change with β.",
                 "Multiply the KL by `beta`."),
                ("kl_sign_flipped", (bce.sum(1) - beta * kl).mean(), "you subtracted the KL: it is a penalty.",
                 "loss = reconstruction + β · KL."),
                ("summed_over_batch", (bce.sum(1) + beta * kl).sum(), "you summed over the batch instead of "
                 "averaging.", "Average over the batch (`.mean()`) so that the loss is per image, in nats."),
                ("swapped_bce_arguments", (swapped.sum(1) + beta * kl).mean(), "the arguments of the binary cross-"
                 "entropy are swapped.", "`F.binary_cross_entropy(x_hat, x, ...)`: the prediction first, the "
                 "target second."),
                ("used_mse", (((x_hat - x) ** 2).flatten(1).sum(1) + beta * kl).mean(), "you used the squared "
                 "error; this VAE's decoder is Bernoulli: its reconstruction loss is the binary cross-entropy.",
                 "`F.binary_cross_entropy(x_hat, x, reduction='none')`, summed over the pixels."),
            ])
            if result.shape != ():
                raise Mistake("wrong_shape", f"the result has shape {result.shape}; the loss is one number.",
                              "Sum over pixels and latent dimensions, then average over the batch.")
            raise Mistake("wrong_value", f"for β = {beta} expected {float(expected):.3f}, got {float(result):.3f}.",
                          "Per image: BCE summed over pixels + β · KL summed over latent dimensions; then the "
                          "mean over the batch.")

    return run_check("beta_vae_loss", body)


def check_effective_beta(effective_beta: Callable[..., Any]) -> Verdict:
    """Check ``effective_beta(recon_weight, kl_weight, n_pixels)``: the β of the summed ELBO the loss is proportional to.

    A loss ``recon_weight · mean_pixels(BCE) + kl_weight · KL`` equals ``recon_weight / n_pixels`` times
    ``sum_pixels(BCE) + (kl_weight · n_pixels / recon_weight) · KL``.
    """

    def body() -> None:
        for w, k, n in ((500.0, 1.0, 1024), (1.0, 1.0, 784), (2.0, 3.0, 100), (1.0, 0.25, 1)):
            result = as_numbers(effective_beta(w, k, n), "effective_beta")
            result = result.reshape(()) if result.size == 1 else result
            expected = k * n / w
            if same(result, expected):
                continue
            case = f"recon_weight = {w:g}, kl_weight = {k:g}, n_pixels = {n}"
            match_mistake(result, [
                ("inverted", w / (k * n), f"for {case} you returned the inverse of the effective β.",
                 "Divide the whole loss by the weight of the summed reconstruction, recon_weight / n_pixels: what "
                 "multiplies the KL then is the effective β."),
                ("recon_weight_times", k * n * w, f"for {case} you multiplied by recon_weight instead of dividing.",
                 "Scaling the reconstruction up makes the KL relatively weaker: divide by recon_weight."),
                ("pixels_divided", k / (w * n), f"for {case} you divided by n_pixels instead of multiplying.",
                 "mean over pixels = sum / n_pixels; dividing the loss by recon_weight / n_pixels multiplies the KL's "
                 "weight by n_pixels."),
                ("ignored_pixels", k / w, f"for {case} your answer ignores n_pixels.",
                 "The mean over pixels is the sum divided by n_pixels: that factor moves to the KL's weight."),
                ("ignored_recon_weight", k * n, f"for {case} your answer ignores recon_weight.",
                 "Divide the whole loss by the reconstruction's weight."),
                ("ignored_kl_weight", n / w, f"for {case} your answer ignores kl_weight.",
                 "The KL's own weight multiplies the effective β."),
            ])
            raise Mistake("wrong_value", f"for {case} expected {expected:g}, got {np.round(result, 4)}.",
                          "Write the loss with sum_pixels / n_pixels in place of the mean and divide it by the "
                          "reconstruction's weight.")

    return run_check("effective_beta", body)
