"""Checks for the exercises of notebook 04 (the normal distribution).

Each check runs the student's function on its own cases, compares with the right answer and, when the answer is
wrong, compares it with the answers the usual mistakes give, so that the verdict can name the mistake.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from scipy import stats

from ._core import Candidates, Mistake, Verdict, as_numbers, diagnose, match_mistake, run_check, same

__all__ = ["check_fraction_within", "check_gaussian_log_density", "check_sample_normal", "check_standardize"]


def check_standardize(standardize: Callable[..., Any]) -> Verdict:
    """Check ``standardize(x, mu, sigma) = (x - mu) / sigma``."""

    def body() -> None:
        x = np.array([150.0, 165.0, 170.0, 182.0, 196.0])
        mu, sigma = 170.0, 8.0
        given = x.copy()
        result = as_numbers(standardize(given, mu, sigma), "standardize")
        if not np.array_equal(given, x):
            raise Mistake("modified_input", "your function changed the array `x` it was given.",
                          "Write `x - mu` (a new array) instead of `x -= mu` (changes the caller's data).")
        diagnose(result, (x - mu) / sigma, [
            ("divided_by_variance", (x - mu) / sigma**2, "you divided by the variance σ² instead of σ.",
             "`sigma` is already the standard deviation: divide by it as it is."),
            ("precedence", x - mu / sigma, "you computed x − (μ/σ): only μ got divided by σ.",
             "Put brackets around the difference: (x - mu) / sigma."),
            ("forgot_mean", x / sigma, "you forgot to subtract the mean μ.",
             "First centre the data (x − μ), then scale it (÷ σ)."),
            ("forgot_sigma", x - mu, "you subtracted μ but did not divide by σ.",
             "After centring, divide by σ so that the spread becomes 1."),
            ("sign_flipped", (mu - x) / sigma, "the sign is flipped: you computed (μ − x)/σ.",
             "Values above the mean must get a positive z: use x − μ."),
            ("inverse", x * sigma + mu, "you computed μ + σ·x, the way back from z to x.",
             "Standardizing goes the other way: subtract μ, then divide by σ."),
        ], f"x = {x.tolist()}, mu = {mu}, sigma = {sigma}")

    return run_check("standardize", body)


def check_fraction_within(fraction_within: Callable[..., Any]) -> Verdict:
    """Check ``fraction_within(samples, mu, sigma, k)``: the share of samples with ``|x - mu| <= k * sigma``."""

    def body() -> None:
        mu, sigma = 10.0, 2.0
        samples = np.random.default_rng(4).normal(mu, sigma, size=1000)
        d = samples - mu
        one_side = ("you counted one side of μ only.",
                    "Within kσ means μ − kσ ≤ x ≤ μ + kσ: both sides. `np.abs(samples - mu)` does it.")
        for k in (1.0, 2.0, 0.5):
            result = as_numbers(fraction_within(samples.copy(), mu, sigma, k), "fraction_within")
            if result.shape == samples.shape:
                raise Mistake("not_a_number", "you returned one value per sample instead of one number.",
                              "Turn the True/False per sample into a share with `np.mean(...)`.")
            expected = np.mean(np.abs(d) <= k * sigma)
            candidates: Candidates = [
                ("one_sided", np.mean(d <= k * sigma), *one_side),
                ("one_sided", np.mean(d >= -k * sigma), *one_side),
                ("one_sided", np.mean((d >= 0) & (d <= k * sigma)), *one_side),
                ("one_sided", np.mean((d <= 0) & (d >= -k * sigma)), *one_side),
                ("used_variance", np.mean(np.abs(d) <= k * sigma**2), "you measured the distance in variances kσ².",
                 "The rule uses the standard deviation: the band is μ ± kσ, with σ = `sigma`."),
                ("forgot_mean", np.mean(np.abs(samples) <= k * sigma), "you measured the distance from 0, not from μ.",
                 "Subtract the mean first: |x − μ| ≤ kσ."),
                ("count_not_fraction", np.sum(np.abs(d) <= k * sigma), "you returned a count, not a share.",
                 "Divide by the number of samples, or use `np.mean` of the True/False values."),
                ("percentage", 100 * expected, "you returned a percentage; return a share between 0 and 1.",
                 "Drop the factor 100."),
                ("outside", 1 - expected, "you returned the share *outside* the band.",
                 "Count the samples with |x − μ| ≤ kσ, not those farther away."),
                ("ignored_k", np.mean(np.abs(d) <= sigma), "your answer does not change with k.",
                 "Use k: the band is μ ± k·σ."),
            ]
            diagnose(result.reshape(()) if result.size == 1 else result, expected, candidates,
                      f"1000 samples of N(10, 2²) and k = {k}")

    return run_check("fraction_within", body)


def check_gaussian_log_density(gaussian_log_density: Callable[..., Any]) -> Verdict:
    """Check ``gaussian_log_density(x, mu, sigma) = -½ log(2πσ²) - (x - mu)² / (2σ²)``."""

    def body() -> None:
        x = np.array([-1.0, 0.3, 2.0, 4.5])
        for mu, sigma in ((1.0, 1.5), (-0.5, 0.4)):
            result = as_numbers(gaussian_log_density(x.copy(), mu, sigma), "gaussian_log_density")
            square = (x - mu) ** 2
            log_norm = -0.5 * np.log(2 * np.pi * sigma**2)
            diagnose(result, stats.norm.logpdf(x, loc=mu, scale=sigma), [
                ("density_not_log", stats.norm.pdf(x, loc=mu, scale=sigma), "you returned the density, not its log.",
                 "Take the log of the formula by hand: the exp goes away and the factor in front becomes "
                 "the term −½ log(2πσ²)."),
                ("forgot_normalizer", -square / (2 * sigma**2), "the term −½ log(2πσ²) is missing.",
                 "The factor 1/√(2πσ²) in front of the density becomes −½ log(2πσ²) in the log."),
                ("sigma_in_normalizer", -0.5 * np.log(2 * np.pi * sigma) - square / (2 * sigma**2),
                 "in the first term you used σ where σ² belongs.",
                 "The first term is −½ log(2π·σ²): square sigma."),
                ("forgot_half_in_normalizer", -np.log(2 * np.pi * sigma**2) - square / (2 * sigma**2),
                 "the factor ½ in front of log(2πσ²) is missing.", "log(1/√a) = −½ log(a)."),
                ("forgot_two_in_exponent", log_norm - square / sigma**2,
                 "the second term should be divided by 2σ², not σ².",
                 "The exponent of the density is −(x − μ)²/(2σ²)."),
                ("sigma_in_exponent", log_norm - square / (2 * sigma),
                 "in the second term you divided by 2σ instead of 2σ².",
                 "The exponent of the density is −(x − μ)²/(2σ²): square sigma."),
                ("sign_flipped", log_norm + square / (2 * sigma**2),
                 "the sign of the second term is flipped: far from μ the log-density must go down.",
                 "Subtract (x − μ)²/(2σ²)."),
            ], f"x = {x.tolist()}, mu = {mu}, sigma = {sigma}")

    return run_check("gaussian_log_density", body)


_FORMULA = "z = mu + torch.exp(0.5 * log_var) * eps, since exp(½ log σ²) = σ."
_LOG_VAR_AS_SIGMA = ("log_var_as_sigma", "you used log σ² as if it were σ.",
                     "log_var is the log of the variance: σ = exp(½ · log_var).")
_VARIANCE_AS_SIGMA = ("variance_as_sigma", "you scaled ε by the variance σ² = exp(log σ²), not by σ.",
                      "The noise is scaled by the standard deviation σ = exp(½ · log_var).")
_FORGOT_MU = ("forgot_mu", "the samples are not shifted by μ.", "Add mu: " + _FORMULA)


def check_sample_normal(sample_normal: Callable[..., Any]) -> Verdict:
    """Check ``sample_normal(mu, log_var, n, generator)``: ``n`` samples of N(mu, exp(log_var)), shape ``n × d``.

    With the generator, the right answer is exactly ``mu + exp(½ log_var) * torch.randn(n, d)``; an answer that
    draws its noise another way is judged by the mean and spread of many samples. The samples must also carry
    gradients back to ``mu`` and ``log_var``, as the VAE needs.
    """

    def body() -> None:
        mu, log_var, n = torch.tensor([1.5, -2.0]), torch.tensor([0.8, -1.2]), 5
        mu_in, log_var_in = mu.clone().requires_grad_(True), log_var.clone().requires_grad_(True)
        z = sample_normal(mu_in, log_var_in, n, torch.Generator().manual_seed(0))
        result = as_numbers(z, "sample_normal")
        if result.shape != (n, 2):
            raise Mistake("wrong_shape", f"for n = {n} and a 2-D μ the result has shape {result.shape}, "
                          f"expected ({n}, 2): one row per sample.",
                          "Draw eps with `torch.randn(n, *mu.shape, generator=generator)`.")
        eps = torch.randn(n, 2, generator=torch.Generator().manual_seed(0))
        if not same(result, mu + torch.exp(0.5 * log_var) * eps):
            match_mistake(result, [(_LOG_VAR_AS_SIGMA[0], mu + log_var * eps, *_LOG_VAR_AS_SIGMA[1:]),
                            (_VARIANCE_AS_SIGMA[0], mu + torch.exp(log_var) * eps, *_VARIANCE_AS_SIGMA[1:]),
                            (_FORGOT_MU[0], torch.exp(0.5 * log_var) * eps, *_FORGOT_MU[1:])])
            _check_distribution(sample_normal, mu, log_var)
        if not isinstance(z, torch.Tensor) or not z.requires_grad:
            raise Mistake("no_gradient", "your samples carry no gradient back to μ and log σ².",
                          "Compute z from `mu` and `log_var` with torch operations only (no `.item()`, NumPy, "
                          "`torch.no_grad()` or `Normal(...).sample()`): " + _FORMULA)
        z.sum().backward()
        if log_var_in.grad is None or mu_in.grad is None or not torch.allclose(mu_in.grad, torch.full_like(mu, n)):
            raise Mistake("no_gradient", "the gradient does not flow back to both μ and log σ².",
                          "Use `mu` and `log_var` themselves in the formula: " + _FORMULA)

    return run_check("sample_normal", body)


def _check_distribution(sample_normal: Callable[..., Any], mu: torch.Tensor, log_var: torch.Tensor) -> None:
    """Judge many samples by their mean and spread (for answers that draw their noise in their own way)."""
    result = as_numbers(sample_normal(mu, log_var, 200_000, torch.Generator().manual_seed(1)), "sample_normal")
    if np.isnan(result).any():
        raise Mistake("nan", "your samples contain NaN.",
                      "log σ² can be negative: never take its square root or its log. " + _FORMULA)
    mean, std = result.mean(axis=0), result.std(axis=0)
    sigma = torch.exp(0.5 * log_var).double().numpy()
    if np.allclose(mean, mu.numpy(), atol=0.02) and np.allclose(std, sigma, rtol=0.02):
        return
    for (mistake_id, message, hint), spread in ((_LOG_VAR_AS_SIGMA, log_var.abs().numpy()),
                                                (_VARIANCE_AS_SIGMA, log_var.exp().numpy())):
        if np.allclose(std, spread, rtol=0.02):
            raise Mistake(mistake_id, message, hint)
    if np.allclose(mean, 0.0, atol=0.02):
        raise Mistake(*_FORGOT_MU)
    raise Mistake("wrong_distribution",
                  f"for μ = {mu.tolist()} and σ = {np.round(sigma, 3).tolist()} your samples have mean "
                  f"{np.round(mean, 3).tolist()} and standard deviation {np.round(std, 3).tolist()}.", _FORMULA)
