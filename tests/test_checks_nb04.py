"""The checks of notebook 04: right answers pass, each typical mistake is named, a stub is "not attempted"."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch
from scipy import stats

from helpers.checks import (
    check_fraction_within,
    check_gaussian_log_density,
    check_sample_normal,
    check_standardize,
)

from exercise_support import assert_mistake, solutions_are_correct, stubs_are_not_attempted

NOTEBOOK = "04_normal_distribution.ipynb"
CHECKS = {
    "standardize": check_standardize,
    "fraction_within": check_fraction_within,
    "gaussian_log_density": check_gaussian_log_density,
    "sample_normal": check_sample_normal,
}

test_notebook_solutions_are_correct = solutions_are_correct(NOTEBOOK, CHECKS)
test_notebook_stubs_are_not_attempted = stubs_are_not_attempted(NOTEBOOK, CHECKS)


def _minus_in_place(x: np.ndarray, mu: float, sigma: float) -> np.ndarray:
    x -= mu
    return x / sigma


@pytest.mark.parametrize("answer, mistake", [
    (lambda x, mu, sigma: (x - mu) / sigma**2, "divided_by_variance"),
    (lambda x, mu, sigma: x - mu / sigma, "precedence"),
    (lambda x, mu, sigma: x / sigma, "forgot_mean"),
    (lambda x, mu, sigma: x - mu, "forgot_sigma"),
    (lambda x, mu, sigma: (mu - x) / sigma, "sign_flipped"),
    (lambda x, mu, sigma: x * sigma + mu, "inverse"),
    (_minus_in_place, "modified_input"),
    (lambda x, mu, sigma: None, "returned_none"),
    (lambda x, mu, sigma: "z", "not_a_number"),
    (lambda x, mu, sigma: (x - mu) / sigma + 1, "wrong_value"),
])
def test_standardize_mistakes(answer: Callable[..., Any], mistake: str) -> None:
    assert_mistake(check_standardize, answer, mistake)


def test_standardize_accepts_other_correct_forms() -> None:
    assert check_standardize(lambda x, mu, sigma: x / sigma - mu / sigma).ok
    assert check_standardize(lambda x, mu, sigma: torch.as_tensor(x - mu) / sigma).ok


@pytest.mark.parametrize("answer, mistake", [
    (lambda s, mu, sigma, k: np.mean(s - mu <= k * sigma), "one_sided"),
    (lambda s, mu, sigma, k: np.mean((s >= mu) & (s <= mu + k * sigma)), "one_sided"),
    (lambda s, mu, sigma, k: np.mean(np.abs(s - mu) <= k * sigma**2), "used_variance"),
    (lambda s, mu, sigma, k: np.mean(np.abs(s) <= k * sigma), "forgot_mean"),
    (lambda s, mu, sigma, k: np.sum(np.abs(s - mu) <= k * sigma), "count_not_fraction"),
    (lambda s, mu, sigma, k: 100 * np.mean(np.abs(s - mu) <= k * sigma), "percentage"),
    (lambda s, mu, sigma, k: np.mean(np.abs(s - mu) > k * sigma), "outside"),
    (lambda s, mu, sigma, k: np.mean(np.abs(s - mu) <= sigma), "ignored_k"),
    (lambda s, mu, sigma, k: np.abs(s - mu) <= k * sigma, "not_a_number"),
    (lambda s, mu, sigma, k: 0.68, "wrong_value"),
])
def test_fraction_within_mistakes(answer: Callable[..., Any], mistake: str) -> None:
    assert_mistake(check_fraction_within, answer, mistake)


def test_fraction_within_accepts_strict_inequalities_and_tensors() -> None:
    assert check_fraction_within(lambda s, mu, sigma, k: ((s > mu - k * sigma) & (s < mu + k * sigma)).mean()).ok
    assert check_fraction_within(
        lambda s, mu, sigma, k: (torch.as_tensor(s - mu).abs() <= k * sigma).float().mean()).ok


@pytest.mark.parametrize("answer, mistake", [
    (lambda x, mu, s: stats.norm.pdf(x, mu, s), "density_not_log"),
    (lambda x, mu, s: -(x - mu) ** 2 / (2 * s**2), "forgot_normalizer"),
    (lambda x, mu, s: -0.5 * np.log(2 * np.pi * s) - (x - mu) ** 2 / (2 * s**2), "sigma_in_normalizer"),
    (lambda x, mu, s: -np.log(2 * np.pi * s**2) - (x - mu) ** 2 / (2 * s**2), "forgot_half_in_normalizer"),
    (lambda x, mu, s: -0.5 * np.log(2 * np.pi * s**2) - (x - mu) ** 2 / s**2, "forgot_two_in_exponent"),
    (lambda x, mu, s: -0.5 * np.log(2 * np.pi * s**2) - (x - mu) ** 2 / (2 * s), "sigma_in_exponent"),
    (lambda x, mu, s: -0.5 * np.log(2 * np.pi * s**2) + (x - mu) ** 2 / (2 * s**2), "sign_flipped"),
    (lambda x, mu, s: stats.norm.logpdf(x[:2], mu, s), "wrong_shape"),
    (lambda x, mu, s: np.full_like(x, np.nan), "nan"),
])
def test_gaussian_log_density_mistakes(answer: Callable[..., Any], mistake: str) -> None:
    assert_mistake(check_gaussian_log_density, answer, mistake)


def test_gaussian_log_density_accepts_log_of_density() -> None:
    assert check_gaussian_log_density(lambda x, mu, s: np.log(stats.norm.pdf(x, mu, s))).ok


def _eps(mu: torch.Tensor, n: int, generator: torch.Generator) -> torch.Tensor:
    return torch.randn(n, *mu.shape, generator=generator)


@pytest.mark.parametrize("answer, mistake", [
    (lambda mu, lv, n, g: mu + lv * _eps(mu, n, g), "log_var_as_sigma"),
    (lambda mu, lv, n, g: mu + torch.exp(lv) * _eps(mu, n, g), "variance_as_sigma"),
    (lambda mu, lv, n, g: torch.exp(0.5 * lv) * _eps(mu, n, g), "forgot_mu"),
    (lambda mu, lv, n, g: mu + lv * torch.randn(n, *mu.shape), "log_var_as_sigma"),
    (lambda mu, lv, n, g: mu + torch.exp(lv) * torch.randn(n, *mu.shape), "variance_as_sigma"),
    (lambda mu, lv, n, g: torch.exp(0.5 * lv) * torch.randn(n, *mu.shape), "forgot_mu"),
    (lambda mu, lv, n, g: mu + torch.sqrt(lv) * _eps(mu, n, g), "nan"),
    (lambda mu, lv, n, g: torch.distributions.Normal(mu, torch.exp(0.5 * lv)).sample((n,)), "no_gradient"),
    (lambda mu, lv, n, g: (mu + torch.exp(0.5 * lv) * _eps(mu, n, g)).detach(), "no_gradient"),
    (lambda mu, lv, n, g: mu + torch.exp(0.5 * lv) * torch.randn(*mu.shape, generator=g), "wrong_shape"),
    (lambda mu, lv, n, g: 2 * mu + torch.exp(0.5 * lv) * _eps(mu, n, g), "wrong_distribution"),
])
def test_sample_normal_mistakes(answer: Callable[..., Any], mistake: str) -> None:
    assert_mistake(check_sample_normal, answer, mistake)


def test_sample_normal_accepts_other_noise() -> None:
    assert check_sample_normal(lambda mu, lv, n, g: mu + torch.exp(0.5 * lv) * torch.randn(n, *mu.shape)).ok
    assert check_sample_normal(
        lambda mu, lv, n, g: torch.distributions.Normal(mu, torch.exp(lv / 2)).rsample((n,))).ok
