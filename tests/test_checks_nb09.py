"""The checks of notebook 09: right answers pass, each typical mistake is named, a stub is "not attempted"."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch

import helpers
from helpers import diffusion
from helpers.checks import check_gaussian_kl, check_noise, check_reverse_step
from helpers.losses import gaussian_kl
from exercise_support import assert_mistake, solutions_are_correct, stubs_are_not_attempted

NOTEBOOK = "09_conditional_vae_and_diffusion.ipynb"
CHECKS = {"noise": check_noise, "gaussian_kl": check_gaussian_kl, "reverse_step": check_reverse_step}
NAMESPACE = {"helpers": helpers}

test_notebook_solutions_are_correct = solutions_are_correct(NOTEBOOK, CHECKS, NAMESPACE)
test_notebook_stubs_are_not_attempted = stubs_are_not_attempted(NOTEBOOK, CHECKS, NAMESPACE)


# --- noise ------------------------------------------------------------------------------------------------------------


def _noise(x0, t, eps, alpha_bars, *, weights=lambda a: (a.sqrt(), (1 - a).sqrt()), pick=lambda ab, t: ab[t]):
    """The forward process in closed form, right (the defaults) or with other weights or another ᾱ."""
    a = pick(alpha_bars, t).to(x0.dtype)
    a = a[:, None] if a.dim() else a
    signal, noise = weights(a)
    return signal * x0 + noise * eps


def _noise_in_a_loop(x0, t, eps, alpha_bars):
    rows = [math.sqrt(float(alpha_bars[s])) * x + math.sqrt(1 - float(alpha_bars[s])) * e
            for x, s, e in zip(x0.numpy(), t.tolist(), eps.numpy())]
    return np.stack(rows)


def _noise_in_place(x0, t, eps, alpha_bars):
    x0 *= alpha_bars[t].float()[:, None].sqrt()
    return x0 + (1 - alpha_bars[t].float()[:, None]).sqrt() * eps


@pytest.mark.parametrize("answer, mistake", [
    (lambda *args: _noise(*args, weights=lambda a: (a, 1 - a)), "no_square_roots"),
    (lambda *args: _noise(*args, weights=lambda a: (a.sqrt(), 1 - a)), "variance_as_std"),
    (lambda *args: _noise(*args, weights=lambda a: ((1 - a).sqrt(), a.sqrt())), "swapped_weights"),
    (lambda *args: _noise(*args, pick=lambda ab, t: ab[t - 1]), "off_by_one"),
    (lambda *args: _noise(*args, pick=lambda ab, t: ab[-1]), "last_step"),
    (lambda *args: _noise(*args, pick=lambda ab, t: ab[t[0]]), "first_row_step"),
    (lambda x0, t, eps, ab: ab[t].sqrt() * x0 + (1 - ab[t]).sqrt() * eps, "raised"),  # no [:, None]: 6 vs 4
    (lambda *args: _noise(*args)[:, :2], "wrong_shape"),
    (lambda *args: _noise(*args) + 0.1, "wrong_value"),
    (lambda *args: None, "returned_none"),
])
def test_noise_mistakes(answer: Callable[..., Any], mistake: str) -> None:
    assert_mistake(check_noise, answer, mistake)


def test_noise_accepts_a_loop_and_an_in_place_product_of_its_own_copy() -> None:
    assert check_noise(_noise_in_a_loop).ok
    assert check_noise(_noise_in_place).ok  # the check hands out copies


# --- gaussian_kl ------------------------------------------------------------------------------------------------------


def _kl_terms(m1, v1, m2, v2):
    """The per-dimension terms of the right formula, written with variances v (not log-variances)."""
    return 0.5 * (v2.log() - v1.log() + (v1 + (m1 - m2) ** 2) / v2 - 1)


@pytest.mark.parametrize("answer, mistake", [
    (lambda m1, l1, m2, l2: gaussian_kl(m2, l2, m1, l1), "reversed"),
    (lambda m1, l1, m2, l2: 2 * gaussian_kl(m1, l1, m2, l2), "missing_half"),
    (lambda m1, l1, m2, l2: 0.5 * (l2 - l1 + (l1.exp() + (m1 - m2) ** 2) / l2.exp()).sum(-1), "missing_minus_one"),
    (lambda m1, l1, m2, l2: _kl_terms(m1, (2 * l1).exp(), m2, (2 * l2).exp()).sum(-1), "log_var_as_log_sigma"),
    (lambda m1, l1, m2, l2: 0.5 * (l2 - l1 + (l1.exp() + (m1 - m2) ** 2) / l1.exp() - 1).sum(-1),
     "wrong_denominator"),
    (lambda m1, l1, m2, l2: _kl_terms(m1, l1.exp(), m2, l2.exp()), "not_summed"),
    (lambda m1, l1, m2, l2: _kl_terms(m1, l1.exp(), m2, l2.exp()).mean(-1), "averaged"),
    (lambda m1, l1, m2, l2: _kl_terms(m1, l1, m2, l2).sum(-1), "nan"),  # log-variances used as variances
    (lambda m1, l1, m2, l2: gaussian_kl(m1, l1, m2, l2).sum(), "wrong_shape"),
    (lambda m1, l1, m2, l2: gaussian_kl(m1, l1, 0 * m2, 0 * l2), "wrong_value"),  # notebook 06's KL to N(0, I)
    (lambda *args: "KL", "not_a_number"),
])
def test_gaussian_kl_mistakes(answer: Callable[..., Any], mistake: str) -> None:
    assert_mistake(check_gaussian_kl, answer, mistake)


def test_gaussian_kl_accepts_torch_distributions() -> None:
    def with_torch(m1, l1, m2, l2):
        normal = torch.distributions.Normal
        return torch.distributions.kl_divergence(normal(m1, (0.5 * l1).exp()), normal(m2, (0.5 * l2).exp())).sum(-1)

    assert check_gaussian_kl(with_torch).ok


# --- reverse_step -----------------------------------------------------------------------------------------------------


def _step(denoiser, x_t, t, noise, schedule, *, scale=None, coefficient=None, sign=-1.0, sigma=None, noisy=None,
          shift=0):
    """One reverse step, right (the defaults) or with one part changed."""
    b, a, a_bar = (float(v) for v in (schedule.betas[t], schedule.alphas[t], schedule.alpha_bars[t]))
    eps = denoiser(x_t, torch.full((len(x_t),), t + shift))
    scale = math.sqrt(a) if scale is None else scale(a, a_bar)
    coefficient = b / math.sqrt(1 - a_bar) if coefficient is None else coefficient(b, a_bar)
    mean = (x_t + sign * coefficient * eps) / scale
    noisy = t > 1 if noisy is None else noisy(t)
    return mean + (math.sqrt(b) if sigma is None else sigma(b)) * noise if noisy else mean


def _step_with_an_int(denoiser, x_t, t, noise, schedule):
    return _step(lambda x, steps: denoiser(x, int(steps[0])), x_t, t, noise, schedule)


@pytest.mark.parametrize("answer, mistake", [
    (lambda *args: _step(*args, noisy=lambda t: False), "no_noise"),
    (lambda *args: _step(*args, noisy=lambda t: True), "noise_at_last_step"),
    (lambda *args: _step(*args, scale=lambda a, a_bar: math.sqrt(a_bar)), "alpha_bar_scale"),
    (lambda *args: _step(*args, coefficient=lambda b, a_bar: b / (1 - a_bar)), "coefficient_without_root"),
    (lambda *args: _step(*args, sign=1.0), "plus_noise_estimate"),
    (lambda *args: _step(*args, sigma=lambda b: b), "variance_as_std"),
    (lambda *args: _step(*args, shift=-1), "step_off_by_one"),
    (_step_with_an_int, "raised"),  # the denoiser wants a tensor of steps
    (lambda *args: _step(*args)[:2], "wrong_shape"),
    (lambda *args: _step(*args, coefficient=lambda b, a_bar: b), "wrong_value"),
    (lambda *args: None, "returned_none"),
])
def test_reverse_step_mistakes(answer: Callable[..., Any], mistake: str) -> None:
    assert_mistake(check_reverse_step, answer, mistake)


def test_reverse_step_accepts_the_helpers_version() -> None:
    assert check_reverse_step(diffusion.reverse_step).ok
