"""Checks for the exercises of notebook 09 (a conditional VAE and the road to diffusion).

Each check runs the student's function on its own small cases (a fixed, made-up denoiser for ``reverse_step``),
compares the result with the right answer and, when it is wrong, with the answers the usual mistakes give, to name
the mistake.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor

from ..diffusion import Schedule, add_noise, linear_schedule, reverse_step
from ..losses import gaussian_kl
from ._core import Candidates, Verdict, as_numbers, diagnose, run_check

__all__ = ["check_gaussian_kl", "check_noise", "check_reverse_step"]

_NOISE = "x_t = √ᾱ_t·x₀ + √(1 − ᾱ_t)·ε, with ᾱ_t = alpha_bars[t] taken row by row."
_KL = "KL = ½ Σ_j (log σ₂² − log σ₁² + (σ₁² + (μ₁ − μ₂)²)/σ₂² − 1), σ² = exp(log σ²), summed over the last dimension."
_STEP = "x_{t−1} = (x_t − β_t/√(1 − ᾱ_t)·ε_θ(x_t, t)) / √α_t + √β_t·noise, and no noise at t = 1."


def _schedule() -> Schedule:
    """A short schedule (20 steps, β from 0.01 to 0.3) whose numbers differ clearly from step to step."""
    return linear_schedule(20, 0.01, 0.3)


def check_noise(noise: Callable[..., Any]) -> Verdict:
    """Check ``noise(x0, t, eps, alpha_bars)``: x_t = √ᾱ_t·x₀ + √(1 − ᾱ_t)·ε, one step t per row of ``x0`` (N×d)."""

    def body() -> None:
        generator = torch.Generator().manual_seed(9)
        x0 = torch.rand(6, 4, generator=generator) * 2 - 1
        eps = torch.randn(6, 4, generator=generator)
        t = torch.tensor([1, 3, 7, 12, 18, 20])
        alpha_bars = _schedule().alpha_bars
        result = as_numbers(noise(x0.clone(), t.clone(), eps.clone(), alpha_bars.clone()), "noise")
        a = alpha_bars[t].float()[:, None]
        expected = a.sqrt() * x0 + (1 - a).sqrt() * eps

        def at(a: Tensor) -> Tensor:
            return a.sqrt() * x0 + (1 - a).sqrt() * eps

        candidates: Candidates = [
            ("no_square_roots", a * x0 + (1 - a) * eps, "you weighted x₀ by ᾱ_t and ε by 1 − ᾱ_t: those are the "
             "squares of the right weights.", "The *variance* of the noise is 1 − ᾱ_t, so ε is multiplied by its "
             "square root; the mean √ᾱ_t·x₀ keeps √ᾱ_t. " + _NOISE),
            ("variance_as_std", a.sqrt() * x0 + (1 - a) * eps, "you multiplied ε by the variance 1 − ᾱ_t instead of "
             "the standard deviation √(1 − ᾱ_t).", _NOISE),
            ("swapped_weights", (1 - a).sqrt() * x0 + a.sqrt() * eps, "the weights are swapped: x₀ got √(1 − ᾱ_t).",
             "At small t the image should dominate: ᾱ_t is near 1 there. " + _NOISE),
            ("off_by_one", at(alpha_bars[t - 1].float()[:, None]), "you used ᾱ_{t−1} (alpha_bars[t − 1]).",
             "alpha_bars has T + 1 entries so that alpha_bars[t] is ᾱ_t itself (alpha_bars[0] = 1 is x₀)."),
            ("last_step", at(alpha_bars[-1].float()), "you used ᾱ_T, the last step, for every row.",
             "Each row has its own step: `alpha_bars[t]` picks one ᾱ per row. " + _NOISE),
            ("first_row_step", at(alpha_bars[t[0]].float()), "every row got the step of the first row.",
             "Index with the whole tensor, `alpha_bars[t]`, then add a dimension (`[:, None]`) to broadcast."),
        ]
        diagnose(result, expected, candidates, "6 rows at steps 1 to 20", "Return x_t in the shape of x0 (N×d): "
                 "`alpha_bars[t][:, None]` gives one weight per row that broadcasts over the columns.",
                 rtol=1e-4, atol=1e-6)

    return run_check("noise", body)


def _kl_with_variances(mu1: Tensor, var1: Tensor, mu2: Tensor, var2: Tensor) -> Tensor:
    """The right formula written with variances, to build mistakes that misread log σ²."""
    return 0.5 * torch.sum(var2.log() - var1.log() + (var1 + (mu1 - mu2) ** 2) / var2 - 1, dim=-1)


def check_gaussian_kl(gaussian_kl_student: Callable[..., Any]) -> Verdict:
    """Check ``gaussian_kl(mean1, log_var1, mean2, log_var2)``: KL(N(μ₁, σ₁²) ‖ N(μ₂, σ₂²)) per row, summed."""

    def body() -> None:
        generator = torch.Generator().manual_seed(10)
        mu1, mu2 = torch.randn(2, 5, 3, generator=generator, dtype=torch.float64)
        lv1, lv2 = 1.2 * torch.randn(2, 5, 3, generator=generator, dtype=torch.float64)
        result = as_numbers(gaussian_kl_student(mu1.clone(), lv1.clone(), mu2.clone(), lv2.clone()), "gaussian_kl")
        expected = gaussian_kl(mu1, lv1, mu2, lv2)
        per_dimension = 0.5 * (lv2 - lv1 + (lv1.exp() + (mu1 - mu2) ** 2) / lv2.exp() - 1)
        candidates: Candidates = [
            ("reversed", gaussian_kl(mu2, lv2, mu1, lv1), "you computed KL(N(μ₂, σ₂²) ‖ N(μ₁, σ₁²)): the KL is "
             "not symmetric, and the arguments are the other way round.", "The variance in the denominator is the "
             "second distribution's, σ₂²; the log ratio is log σ₂² − log σ₁². " + _KL),
            ("missing_half", 2 * expected, "the factor ½ is missing: your values are twice the KL.", _KL),
            ("missing_minus_one", expected + 0.5 * mu1.shape[-1], "the −1 inside the sum is missing: two equal "
             "Gaussians would have a KL of ½ per dimension instead of 0.", _KL),
            ("log_var_as_log_sigma", _kl_with_variances(mu1, (2 * lv1).exp(), mu2, (2 * lv2).exp()),
             "you read log σ² as log σ (σ² = exp(2·log_var)).", "The arguments are log-variances: σ² = exp(log σ²)."),
            ("wrong_denominator", 0.5 * torch.sum(lv2 - lv1 + (lv1.exp() + (mu1 - mu2) ** 2) / lv1.exp() - 1, -1),
             "you divided by σ₁², the first distribution's variance.", "Divide σ₁² + (μ₁ − μ₂)² by σ₂². " + _KL),
            ("not_summed", per_dimension, "you returned one value per dimension (shape N×d).",
             "Sum over the last dimension, `dim=-1`: the KL of independent dimensions is the sum of theirs."),
            ("averaged", per_dimension.mean(-1), "you averaged over the dimensions instead of summing.",
             "Use `.sum(dim=-1)`: the KL of independent dimensions is the sum of theirs."),
        ]
        diagnose(result, expected, candidates, "5 pairs of 3-D Gaussians",
                 "Return one KL per row (shape N): sum over the last dimension.",
                 nan_hint="NaN comes from the log of a negative number: use the log-variances as they are.")

    return run_check("gaussian_kl", body)


class _MadeUpDenoiser:
    """A fixed stand-in for ε_θ(x_t, t) that depends on both arguments and wants the steps as a tensor."""

    def __call__(self, xt: Tensor, steps: Tensor) -> Tensor:
        if not isinstance(steps, Tensor) or steps.shape != (len(xt),):
            raise TypeError("the denoiser takes the steps as a tensor with one step per row, "
                            "e.g. torch.full((len(x_t),), t)")
        return 0.4 * xt.sin() + 0.05 * steps[:, None].to(xt.dtype)


def check_reverse_step(reverse_step_student: Callable[..., Any]) -> Verdict:
    """Check ``reverse_step(denoiser, x_t, t, noise, schedule)``: one DDPM ancestral step x_t → x_{t−1}."""

    def body() -> None:
        schedule, denoiser = _schedule(), _MadeUpDenoiser()
        generator = torch.Generator().manual_seed(11)
        xt, noise = torch.randn(2, 5, 3, generator=generator)
        for t in (7, 1):
            result = as_numbers(reverse_step_student(denoiser, xt.clone(), t, noise.clone(), schedule), "reverse_step")
            expected = reverse_step(denoiser, xt, t, noise, schedule)
            b, a, a_bar = (float(v) for v in (schedule.betas[t], schedule.alphas[t], schedule.alpha_bars[t]))
            steps = torch.full((5,), t)
            eps = denoiser(xt, steps)

            def step(scale: float = a**0.5, coefficient: float = b / (1 - a_bar) ** 0.5, sign: float = -1.0,
                     sigma: float = b**0.5, eps: Tensor = eps, noisy: bool = t > 1) -> Tensor:
                mean = (xt + sign * coefficient * eps) / scale
                return mean + sigma * noise if noisy else mean

            candidates: Candidates = [
                ("no_noise", step(noisy=False), f"at t = {t} you added no noise: every sample would follow the same "
                 "path from x_T.", "Add √β_t·noise at every step except the last one (t = 1). " + _STEP),
                ("noise_at_last_step", step(noisy=True), "at t = 1 you added noise: the last step returns the mean.",
                 "Skip the noise when t == 1, so that x₀ is the denoised mean. " + _STEP),
                ("alpha_bar_scale", step(scale=a_bar**0.5), "you divided by √ᾱ_t where one step divides by √α_t.",
                 "A reverse step undoes one forward step, x_t = √α_t·x_{t−1} + √β_t·ε: divide by √α_t. " + _STEP),
                ("coefficient_without_root", step(coefficient=b / (1 - a_bar)), "the noise's coefficient lacks its "
                 "square root: β_t/(1 − ᾱ_t) instead of β_t/√(1 − ᾱ_t).", _STEP),
                ("plus_noise_estimate", step(sign=1.0), "you added the predicted noise instead of removing it.",
                 "Subtract β_t/√(1 − ᾱ_t)·ε_θ: the step removes the noise the network sees. " + _STEP),
                ("variance_as_std", step(sigma=b), "you multiplied the noise by β_t, the variance, instead of √β_t.",
                 _STEP),
                ("step_off_by_one", step(eps=denoiser(xt, steps - 1)), "you gave the denoiser step t − 1.",
                 "The denoiser is asked about x_t, so it gets step t: `torch.full((len(x_t),), t)`."),
            ]
            diagnose(result, expected, candidates, f"5 rows at step t = {t}",
                     "Return x_{t−1} in the shape of x_t (N×d).", rtol=1e-4, atol=1e-6)

    return run_check("reverse_step", body)
