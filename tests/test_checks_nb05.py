"""The checks of notebook 05: right answers pass, each typical mistake is named, a stub is "not attempted"."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch

import torch.nn.functional as F

from helpers.checks import check_reparameterize, check_score_function_gradient, check_vae_training_step

from exercise_support import assert_mistake, solutions_are_correct, stubs_are_not_attempted

NOTEBOOK = "05_vae_reparameterization.ipynb"
CHECKS = {"reparameterize": check_reparameterize, "score_function_gradient": check_score_function_gradient,
          "vae_training_step": check_vae_training_step}

test_notebook_solutions_are_correct = solutions_are_correct(NOTEBOOK, CHECKS)
test_notebook_stubs_are_not_attempted = stubs_are_not_attempted(NOTEBOOK, CHECKS)


def _sigma(lv: torch.Tensor) -> torch.Tensor:
    return torch.exp(0.5 * lv)


@pytest.mark.parametrize("answer, mistake", [
    (lambda mu, lv: mu + lv * torch.randn_like(mu), "log_var_as_sigma"),
    (lambda mu, lv: mu + torch.exp(lv) * torch.randn_like(mu), "variance_as_sigma"),
    (lambda mu, lv: mu + 0.5 * torch.exp(lv) * torch.randn_like(mu), "half_outside_exp"),
    (lambda mu, lv: _sigma(lv) * torch.randn_like(mu), "forgot_mu"),
    (lambda mu, lv: mu + _sigma(lv) + torch.randn_like(mu), "added_noise"),
    # the same mistakes with noise the check cannot reproduce, judged by the spread of many samples
    (lambda mu, lv: mu + lv.abs() * torch.randn(mu.shape, dtype=torch.float64).float(), "log_var_as_sigma"),
    (lambda mu, lv: mu + torch.exp(lv) * torch.randn(mu.shape, dtype=torch.float64).float(), "variance_as_sigma"),
    (lambda mu, lv: _sigma(lv) * torch.randn(mu.shape, dtype=torch.float64).float(), "forgot_mu"),
    (lambda mu, lv: mu + _sigma(lv) * torch.randn(mu.shape[1]), "shared_noise"),
    (lambda mu, lv: mu + torch.sqrt(lv) * torch.randn_like(mu), "nan"),
    (lambda mu, lv: torch.normal(mu, _sigma(lv)), "no_gradient"),
    (lambda mu, lv: torch.distributions.Normal(mu, _sigma(lv)).sample(), "no_gradient"),
    (lambda mu, lv: (mu + _sigma(lv) * torch.randn_like(mu)).detach(), "no_gradient"),
    (lambda mu, lv: mu.detach() + _sigma(lv) * torch.randn_like(mu), "no_gradient"),
    (lambda mu, lv: (mu + _sigma(lv) * torch.randn_like(mu))[0], "wrong_shape"),
    (lambda mu, lv: 2 * mu + _sigma(lv) * torch.randn_like(mu), "wrong_distribution"),
    (lambda mu, lv: None, "returned_none"),
])
def test_reparameterize_mistakes(answer: Callable[..., Any], mistake: str) -> None:
    assert_mistake(check_reparameterize, answer, mistake)


def test_reparameterize_accepts_other_correct_forms_and_keeps_the_random_state() -> None:
    torch.manual_seed(123)
    expected_next = torch.rand(3)
    torch.manual_seed(123)
    assert check_reparameterize(lambda mu, lv: mu + torch.exp(lv / 2) * torch.randn(mu.shape)).ok
    assert torch.equal(torch.rand(3), expected_next)  # the check restored the caller's random state
    assert check_reparameterize(lambda mu, lv: mu + lv.exp().sqrt() * torch.randn_like(lv)).ok
    assert check_reparameterize(lambda mu, lv: torch.distributions.Normal(mu, _sigma(lv)).rsample()).ok
    assert check_reparameterize(
        lambda mu, lv: mu + _sigma(lv) * torch.randn(mu.shape, dtype=torch.float64).float()).ok


def _score(f: Callable[[torch.Tensor], torch.Tensor], z: torch.Tensor, mu: float, sigma: float) -> torch.Tensor:
    return f(z) * (z - mu) / sigma**2


@pytest.mark.parametrize("answer, mistake", [
    (lambda f, z, mu, s: (f(z) * (z - mu)).mean(), "forgot_variance"),
    (lambda f, z, mu, s: (f(z) * (z - mu) / s).mean(), "divided_by_sigma"),
    (lambda f, z, mu, s: ((z - mu) / s**2).mean(), "forgot_f"),
    (lambda f, z, mu, s: (f(z) * (mu - z) / s**2).mean(), "sign_flipped"),
    (lambda f, z, mu, s: _score(f, z, mu, s).sum(), "sum_not_mean"),
    (lambda f, z, mu, s: (f(torch.tensor(mu, dtype=torch.float64)) * (z - mu) / s**2).mean(), "f_of_mu"),
    (lambda f, z, mu, s: _score(f, z, mu, s), "per_sample"),
    (lambda f, z, mu, s: (f(z) * (z - mu) ** 2 / s**2).mean(), "wrong_value"),
    (lambda f, z, mu, s: None, "returned_none"),
])
def test_score_function_gradient_mistakes(answer: Callable[..., Any], mistake: str) -> None:
    assert_mistake(check_score_function_gradient, answer, mistake)


def test_score_function_gradient_accepts_floats_and_numpy() -> None:
    assert check_score_function_gradient(lambda f, z, mu, s: float(_score(f, z, mu, s).mean())).ok
    assert check_score_function_gradient(lambda f, z, mu, s: np.mean(_score(f, z, mu, s).numpy())).ok


def _step(*, scale: str = "std", sample: bool = True, pixels: str = "sum", kl_reduce: str = "sum",
          use_beta: bool = True, kl_sign: float = 1.0, batch: str = "mean", zero_grad: bool = True,
          step: bool = True) -> Callable[..., Any]:
    """A student's `vae_training_step`, right or with one mistake."""

    def vae_training_step(model, optimizer, x, beta=1.0):
        z_mean, z_log_var = model.encode(x)
        sigma = torch.exp(0.5 * z_log_var) if scale == "std" else torch.exp(z_log_var)
        z = z_mean + sigma * torch.randn_like(z_mean) if sample else z_mean
        per_pixel = F.binary_cross_entropy(model.decode(z), x, reduction="none").flatten(1)
        recon = per_pixel.sum(1) if pixels == "sum" else per_pixel.mean(1)
        terms = -0.5 * (1 + z_log_var - z_mean**2 - z_log_var.exp())
        kl = terms.sum(1) if kl_reduce == "sum" else terms.mean(1)
        per_image = recon + kl_sign * (beta if use_beta else 1.0) * kl
        loss = per_image.mean() if batch == "mean" else per_image.sum()
        if zero_grad:
            optimizer.zero_grad()
        loss.backward()
        if step:
            optimizer.step()
        return loss.item()

    return vae_training_step


def _forward_step(model, optimizer, x, beta=1.0):
    from helpers.losses import vae_loss

    loss = vae_loss(x, *model(x), beta=beta)["total"]
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss  # a tensor is fine too


def test_training_step_accepts_the_forward_pass_and_a_tensor() -> None:
    assert check_vae_training_step(_step()).ok and check_vae_training_step(_forward_step).ok


@pytest.mark.parametrize("answer, mistake", [
    (_step(sample=False), "no_sampling"),
    (_step(scale="variance"), "variance_as_sigma"),
    (_step(kl_sign=-1.0), "kl_sign"),
    (_step(pixels="mean"), "pixels_averaged"),
    (_step(kl_reduce="mean"), "kl_averaged"),
    (_step(batch="sum"), "batch_summed"),
    (_step(use_beta=False), "ignored_beta"),
    (_step(zero_grad=False), "gradients_add_up"),
    (_step(step=False), "no_step"),
    (lambda model, optimizer, x, beta=1.0: None, "returned_none"),
])
def test_training_step_mistakes(answer: Callable[..., Any], mistake: str) -> None:
    assert_mistake(check_vae_training_step, answer, mistake)
