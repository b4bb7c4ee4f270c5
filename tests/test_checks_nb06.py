"""The checks of notebook 06: right answers pass, each typical mistake is named, a stub is "not attempted"."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import torch
import torch.nn.functional as F

from helpers.checks import check_beta_vae_loss, check_effective_beta, check_kl_closed_form
from helpers.losses import kl_divergence, vae_loss

from exercise_support import assert_mistake, solutions_are_correct, stubs_are_not_attempted

NOTEBOOK = "06_kl_divergence.ipynb"
CHECKS = {"kl_closed_form": check_kl_closed_form, "beta_vae_loss": check_beta_vae_loss,
          "effective_beta": check_effective_beta}

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


def _bce(x: torch.Tensor, x_hat: torch.Tensor) -> torch.Tensor:
    return F.binary_cross_entropy(x_hat, x, reduction="none").flatten(1)


def _kl(mu: torch.Tensor, lv: torch.Tensor) -> torch.Tensor:
    return -0.5 * _terms(mu, lv).sum(1)


@pytest.mark.parametrize("answer, mistake", [
    (lambda x, xh, mu, lv, b: (_bce(x, xh).mean(1) + b * _kl(mu, lv)).mean(), "averaged_pixels"),
    (lambda x, xh, mu, lv, b: (b * _bce(x, xh).sum(1) + _kl(mu, lv)).mean(), "beta_on_reconstruction"),
    (lambda x, xh, mu, lv, b: _bce(x, xh).sum(1).mean(), "forgot_kl"),
    (lambda x, xh, mu, lv, b: (_bce(x, xh).sum(1) + _kl(mu, lv)).mean(), "ignored_beta"),
    (lambda x, xh, mu, lv, b: (_bce(x, xh).sum(1) - b * _kl(mu, lv)).mean(), "kl_sign_flipped"),
    (lambda x, xh, mu, lv, b: (_bce(x, xh).sum(1) + b * _kl(mu, lv)).sum(), "summed_over_batch"),
    (lambda x, xh, mu, lv, b: F.binary_cross_entropy(x, xh, reduction="sum") / len(x) + b * _kl(mu, lv).mean(),
     "swapped_bce_arguments"),
    (lambda x, xh, mu, lv, b: F.mse_loss(xh, x, reduction="sum") / len(x) + b * _kl(mu, lv).mean(), "used_mse"),
    (lambda x, xh, mu, lv, b: _bce(x, xh).sum(1) + b * _kl(mu, lv), "per_sample"),
    (lambda x, xh, mu, lv, b: (_bce(x, xh).sum(1)[:, None] + b * _kl(mu, lv)), "wrong_shape"),
    (lambda x, xh, mu, lv, b: (_bce(x, xh).sum(1) + b * _kl(mu, lv)).mean() + 1, "wrong_value"),
])
def test_beta_vae_loss_mistakes(answer: Callable[..., Any], mistake: str) -> None:
    assert_mistake(check_beta_vae_loss, answer, mistake)


def test_beta_vae_loss_accepts_the_helper_and_reduction_sum() -> None:
    assert check_beta_vae_loss(lambda x, xh, mu, lv, b: vae_loss(x, xh, mu, lv, beta=b)["total"]).ok
    assert check_beta_vae_loss(lambda x, xh, mu, lv, b: (F.binary_cross_entropy(xh, x, reduction="sum")
                                                         + b * _kl(mu, lv).sum()) / len(x)).ok


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
