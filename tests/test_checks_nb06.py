"""The checks of notebook 06: right answers pass, each typical mistake is named, a stub is "not attempted"."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import torch

from helpers.checks import check_effective_beta, check_kl_closed_form, check_predict_beta_sweep
from helpers.losses import kl_divergence

from exercise_support import assert_mistake, solutions_are_correct, stubs_are_not_attempted

NOTEBOOK = "06_kl_divergence.ipynb"
SWEEP = {0.25: {"recon": 79.4, "kl": 36.0, "active_units": 16}, 1.0: {"recon": 90.0, "kl": 20.1, "active_units": 16},
         4.0: {"recon": 118.9, "kl": 8.1, "active_units": 11}}
"""A β sweep like the one notebook 06 measures at d = 16."""
CHECKS = {"kl_closed_form": check_kl_closed_form, "effective_beta": check_effective_beta,
          "predict_beta_sweep": lambda answer: check_predict_beta_sweep(answer, SWEEP)}

test_notebook_solutions_are_correct = solutions_are_correct(NOTEBOOK, CHECKS)
test_notebook_stubs_are_not_attempted = stubs_are_not_attempted(NOTEBOOK, CHECKS)


def _terms(mu: torch.Tensor, lv: torch.Tensor) -> torch.Tensor:
    return 1 + lv - mu**2 - lv.exp()


@pytest.mark.parametrize("answer, mistake", [
    (lambda mu, lv: 0.5 * _terms(mu, lv).sum(1), "sign_flipped"),
    (lambda mu, lv: -_terms(mu, lv).sum(1), "missing_half"),
    (lambda mu, lv: _terms(mu, lv).sum(1), "missing_minus_half"),
    (lambda mu, lv: -0.5 * _terms(mu, lv), "per_dimension"),
    (lambda mu, lv: -0.5 * _terms(mu, lv).mean(1), "mean_over_dimensions"),
    (lambda mu, lv: -0.5 * _terms(mu, lv).sum(1).mean(), "averaged_over_batch"),
    (lambda mu, lv: -0.5 * torch.sum(_terms(mu, lv)), "summed_over_batch"),
    (lambda mu, lv: -0.5 * (1 + lv - mu**2 - torch.exp(2 * lv)).sum(1), "variance_squared"),
    (lambda mu, lv: -0.5 * (1 + lv - mu**2 - torch.exp(0.5 * lv)).sum(1), "sigma_not_variance"),
    (lambda mu, lv: -0.5 * (1 + lv - mu**2 - lv).sum(1), "log_var_as_variance"),
    (lambda mu, lv: -0.5 * (1 + lv - lv.exp()).sum(1), "forgot_mean_term"),
    (lambda mu, lv: -0.5 * (lv - mu**2 - lv.exp()).sum(1), "forgot_one"),
    (lambda mu, lv: -0.5 * (1 + torch.log(lv) - mu**2 - lv.exp()).sum(1), "nan"),
    (lambda mu, lv: -0.5 * _terms(mu, lv)[:, :2].sum(1), "wrong_value"),
    (lambda mu, lv: -0.5 * _terms(mu, lv).sum(0), "wrong_shape"),
    (lambda mu, lv: None, "returned_none"),
])
def test_kl_closed_form_mistakes(answer: Callable[..., Any], mistake: str) -> None:
    assert_mistake(check_kl_closed_form, answer, mistake)


def test_kl_closed_form_accepts_the_helper_and_torch_distributions() -> None:
    assert check_kl_closed_form(kl_divergence).ok
    assert check_kl_closed_form(lambda mu, lv: torch.distributions.kl_divergence(
        torch.distributions.Normal(mu, (0.5 * lv).exp()), torch.distributions.Normal(0.0, 1.0)).sum(1)).ok


@pytest.mark.parametrize("answer, mistake", [
    (lambda w, k, n: w / (k * n), "inverted"),
    (lambda w, k, n: k * n * w, "recon_weight_times"),
    (lambda w, k, n: k / (w * n), "pixels_divided"),
    (lambda w, k, n: k / w, "ignored_pixels"),
    (lambda w, k, n: k * n, "ignored_recon_weight"),
    (lambda w, k, n: n / w, "ignored_kl_weight"),
    (lambda w, k, n: k * n / w + 1, "wrong_value"),
    (lambda w, k, n: None, "returned_none"),
])
def test_effective_beta_mistakes(answer: Callable[..., Any], mistake: str) -> None:
    assert_mistake(check_effective_beta, answer, mistake)


def test_effective_beta_accepts_tensors() -> None:
    assert check_effective_beta(lambda w, k, n: torch.tensor(k) / (torch.tensor(w) / n)).ok


def _predicts(reconstruction, kl, active_units=None):
    return lambda: {"reconstruction": reconstruction, "kl": kl, "active_units": active_units}


@pytest.mark.parametrize("answer, mistake", [
    (_predicts("falls", "rises"), "both_reversed"),
    (_predicts("falls", "falls"), "reconstruction_wrong"),
    (_predicts("rises", "rises"), "kl_wrong"),
    (_predicts("stays", "falls"), "no_change"),
    (_predicts("rises", "stays"), "no_change"),
    (_predicts("rises", "falls", "rises"), "active_units_wrong"),
    (_predicts("rises", "falls", "stays"), "active_units_wrong"),
    (_predicts("rises", "sideways"), "unknown_direction"),
    (_predicts("rises", 1), "unknown_direction"),
    (lambda: {"kl": "falls"}, "missing_term"),
    (lambda: "reconstruction rises, KL falls", "not_a_dict"),
    (lambda: None, "returned_none"),
])
def test_predict_beta_sweep_mistakes(answer: Callable[..., Any], mistake: str) -> None:
    assert_mistake(CHECKS["predict_beta_sweep"], answer, mistake)


def test_predict_beta_sweep_accepts_synonyms_and_no_active_units_and_quotes_the_sweep() -> None:
    verdict = CHECKS["predict_beta_sweep"](lambda: {"reconstruction": "Up", "kl": "decreases"})
    assert verdict.ok and "79.4 to 118.9" in verdict.message and "16 to 11" in verdict.message
    assert CHECKS["predict_beta_sweep"](_predicts("goes up", "down", "fewer")).ok


def test_predict_beta_sweep_follows_the_measured_sweep() -> None:
    flat = {beta: {"recon": 150.0 + beta / 10, "kl": 9.0 - beta} for beta in (0.0, 1.0, 4.0)}
    assert check_predict_beta_sweep(_predicts("stays", "falls"), flat).ok
    assert check_predict_beta_sweep(_predicts("rises", "falls"), flat).mistake == "reconstruction_wrong"
    with pytest.raises(ValueError, match="two values"):
        check_predict_beta_sweep(_predicts("rises", "falls"), {1.0: {"recon": 1.0, "kl": 1.0}})
