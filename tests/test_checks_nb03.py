"""The checks of notebook 03: right answers pass, each typical mistake is named, a stub is "not attempted"."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch

from helpers import latent
from helpers.checks import check_empty_fraction, check_fitted_gaussian_samples, check_interpolate
from helpers.checks.nb03 import empty_fraction_cases, gaussian_codes

from exercise_support import assert_mistake, solutions_are_correct, stubs_are_not_attempted

NOTEBOOK = "03_ae_latent_gaps.ipynb"
CHECKS = {"empty_fraction": check_empty_fraction, "fitted_gaussian_samples": check_fitted_gaussian_samples,
          "interpolate": check_interpolate}

test_notebook_solutions_are_correct = solutions_are_correct(NOTEBOOK, CHECKS)
test_notebook_stubs_are_not_attempted = stubs_are_not_attempted(NOTEBOOK, CHECKS)


def _nearest(codes: torch.Tensor, probes: torch.Tensor) -> torch.Tensor:
    return torch.cdist(probes, codes).min(dim=1).values


def _squared_nearest(codes: torch.Tensor, probes: torch.Tensor) -> torch.Tensor:
    return ((probes[:, None, :] - codes[None, :, :]) ** 2).sum(-1).min(dim=1).values


@pytest.mark.parametrize("answer, mistake", [
    (lambda c, p, r: (_nearest(c, p) <= r).float().mean(), "inverted"),
    (lambda c, p, r: (_nearest(c, p) > r).sum(), "count_not_fraction"),
    (lambda c, p, r: 100 * (_nearest(c, p) > r).float().mean(), "percentage"),
    (lambda c, p, r: (torch.cdist(p, c).min(dim=0).values > r).float().mean(), "codes_not_probes"),
    (lambda c, p, r: (torch.cdist(p, c) > r).any(dim=1).float().mean(), "not_nearest"),
    (lambda c, p, r: (torch.cdist(p, c).mean(dim=1) > r).float().mean(), "mean_distance"),
    (lambda c, p, r: (_squared_nearest(c, p) > r).float().mean(), "squared_distance"),
    (lambda c, p, r: _nearest(c, p) > r, "not_one_number"),
    (lambda c, p, r: None, "returned_none"),
    (lambda c, p, r: "half", "not_a_number"),
    (lambda c, p, r: 0.5, "wrong_value"),
])
def test_empty_fraction_mistakes(answer: Callable[..., Any], mistake: str) -> None:
    assert_mistake(check_empty_fraction, answer, mistake)


def test_empty_fraction_cases_tell_the_mistakes_apart() -> None:
    """Each recognized mistake gives another list of answers over the examples than the right one."""
    shares = []
    for rule in (lambda d, r: d.min(1).values > r, lambda d, r: d.min(1).values <= r, lambda d, r: d.min(0).values > r,
                 lambda d, r: (d > r).any(1), lambda d, r: d.mean(1) > r, lambda d, r: d.min(1).values ** 2 > r):
        shares.append(tuple(round(float(rule(torch.cdist(p, c), r).double().mean()), 6)
                            for c, p, r in empty_fraction_cases()))
    assert len(set(shares)) == len(shares)


def test_empty_fraction_accepts_other_correct_forms() -> None:
    assert check_empty_fraction(lambda c, p, r: float((torch.cdist(p, c) > r).all(dim=1).float().mean())).ok
    assert check_empty_fraction(lambda c, p, r: np.mean(_squared_nearest(c, p).numpy() > r**2)).ok


@pytest.mark.parametrize("answer, mistake", [
    (lambda a, b, t: t[:, None] * a + (1 - t[:, None]) * b, "swapped"),
    (lambda a, b, t: a + t[:, None] * b, "forgot_one_minus"),
    (lambda a, b, t: a + t[:, None] * (a - b), "wrong_direction"),
    (lambda a, b, t: ((1 - t[:, None]) * a + t[:, None] * b).T, "transposed"),
    (lambda a, b, t: (1 - t[:, None]) * a + t[:, None] * b + 0.1, "wrong_value"),
    (lambda a, b, t: (1 - t.mean()) * a + t.mean() * b, "wrong_shape"),
    (lambda a, b, t: None, "returned_none"),
])
def test_interpolate_mistakes(answer: Callable[..., Any], mistake: str) -> None:
    assert_mistake(check_interpolate, answer, mistake)


def test_interpolate_accepts_other_correct_forms() -> None:
    assert check_interpolate(lambda a, b, t: torch.lerp(a, b, t[:, None])).ok
    assert check_interpolate(lambda a, b, t: torch.stack([a + float(s) * (b - a) for s in t])).ok


def _eps(n: int, d: int, seed: int, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    return torch.randn(n, d, generator=torch.Generator().manual_seed(seed), dtype=dtype)


def _fit(codes: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    codes = codes.double()
    covariance = torch.cov(codes.T)
    return codes.mean(0), covariance, torch.linalg.cholesky(covariance)


def _diagonal(c, n, s):
    mean, cov, _ = _fit(c)
    return mean + _eps(n, c.shape[1], s) * cov.diagonal().sqrt()


def _no_mean(c, n, s):
    return _eps(n, c.shape[1], s) @ _fit(c)[2].T


def _sigma_not_root(c, n, s):
    mean, cov, _ = _fit(c)
    return mean + _eps(n, c.shape[1], s) @ cov


def _wrong_side(c, n, s):
    mean, _, chol = _fit(c)
    return mean + _eps(n, c.shape[1], s) @ chol


def _resampled(c, n, s):
    return c[torch.randint(len(c), (n,), generator=torch.Generator().manual_seed(s))]


def _unseeded(c, n, s):
    mean, _, chol = _fit(c)
    return mean + torch.randn(n, c.shape[1], dtype=torch.float64) @ chol.T


def _seed_ignored(c, n, s):
    return latent.fitted_gaussian_samples(c, n, 0)


@pytest.mark.parametrize("answer, mistake", [
    (_diagonal, "diagonal_only"),
    (_no_mean, "forgot_mean"),
    (_sigma_not_root, "covariance_not_root"),
    (_wrong_side, "wrong_side"),
    (_resampled, "resampled_codes"),
    (_unseeded, "not_reproducible"),
    (_seed_ignored, "seed_ignored"),
    (lambda c, n, s: latent.fitted_gaussian_samples(c, n, s).T, "wrong_shape"),
    (lambda c, n, s: latent.fitted_gaussian_samples(c, n, s)[0], "wrong_shape"),
    (lambda c, n, s: 2 * latent.fitted_gaussian_samples(c, n, s), "wrong_distribution"),
    (lambda c, n, s: c.mean(0) + _eps(n, c.shape[1], s), "wrong_distribution"),
    (lambda c, n, s: None, "returned_none"),
    (lambda c, n, s: torch.linalg.cholesky(torch.cov(c)), "raised"),  # the N×N covariance of the rows
])
def test_fitted_gaussian_samples_mistakes(answer: Callable[..., Any], mistake: str) -> None:
    assert_mistake(check_fitted_gaussian_samples, answer, mistake)


def test_fitted_gaussian_samples_accepts_other_correct_forms() -> None:
    """Another square root of Σ, float32, or torch.distributions: the same Gaussian, so also right."""

    def symmetric_root(c, n, s):
        mean, cov, _ = _fit(c)
        values, vectors = torch.linalg.eigh(cov)
        return mean + _eps(n, c.shape[1], s) @ (vectors * values.sqrt()) @ vectors.T

    def in_float32(c, n, s):
        chol = torch.linalg.cholesky(torch.cov(c.T))
        return c.mean(0) + _eps(n, c.shape[1], s, torch.float32) @ chol.T

    def with_distributions(c, n, s):
        torch.manual_seed(s)
        return torch.distributions.MultivariateNormal(c.mean(0), torch.cov(c.T)).sample((n,))

    for answer in symmetric_root, in_float32, with_distributions:
        assert check_fitted_gaussian_samples(answer).ok, answer.__name__


def test_fitted_gaussian_samples_solution_is_the_helper_notebook_05_uses() -> None:
    """The notebook's solution and ``helpers.latent.fitted_gaussian_samples`` give the very same samples."""
    from exercise_support import exercise_functions

    solution = exercise_functions(NOTEBOOK, ["fitted_gaussian_samples"], solved=True)["fitted_gaussian_samples"]
    codes = gaussian_codes()
    assert torch.equal(solution(codes, 500, 3), latent.fitted_gaussian_samples(codes, 500, 3))
