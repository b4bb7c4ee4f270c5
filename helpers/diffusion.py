"""Diffusion's arithmetic (notebook 09): the noise schedule, the forward process, its posterior and one reverse step.

Steps are numbered as in the notes, t = 1, …, T; every array of a :class:`Schedule` has T + 1 entries so that
index t is step t, and index 0 stands for the clean data x₀ (β₀ = 0, ᾱ₀ = 1).

- :func:`linear_schedule`: β_t rising linearly (Ho et al. 2020), with α_t = 1 − β_t and ᾱ_t = ∏_{s ≤ t} α_s.
- :func:`add_noise`: a draw of q(x_t | x₀) = N(√ᾱ_t·x₀, (1 − ᾱ_t)·I) in closed form.
- :func:`posterior`: the mean and variance of q(x_{t−1} | x_t, x₀), the target of every reverse step.
- :func:`reverse_step`: one step of DDPM's ancestral sampler with a noise-predicting network ε_θ(x_t, t).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

STEPS, BETA_FIRST, BETA_LAST = 200, 5e-4, 0.1
"""The course's schedule: 200 steps, β from 5·10⁻⁴ to 0.1 (DDPM's 10⁻⁴ to 0.02 over 1,000 steps, scaled by 1000/T)."""


@dataclass(frozen=True)
class Schedule:
    """The arrays of a noise schedule, float64, each of length T + 1 (index t is step t; index 0 is x₀)."""

    betas: Tensor
    alphas: Tensor
    alpha_bars: Tensor

    @property
    def steps(self) -> int:
        """T, the number of noising steps."""
        return len(self.betas) - 1


def linear_schedule(steps: int = STEPS, beta_first: float = BETA_FIRST, beta_last: float = BETA_LAST) -> Schedule:
    """β_1, …, β_T evenly spaced from ``beta_first`` to ``beta_last``, with β₀ = 0; α_t = 1 − β_t, ᾱ_t = ∏ α_s."""
    if steps < 1 or not 0 < beta_first <= beta_last < 1:
        raise ValueError(f"need steps >= 1 and 0 < beta_first <= beta_last < 1, got {steps}, {beta_first}, {beta_last}")
    betas = torch.cat([torch.zeros(1, dtype=torch.float64),
                       torch.linspace(beta_first, beta_last, steps, dtype=torch.float64)])
    alphas = 1 - betas
    return Schedule(betas, alphas, torch.cumprod(alphas, 0))


def _per_row(values: Tensor, t: Tensor | int, like: Tensor) -> Tensor:
    """``values[t]`` shaped to broadcast over the rows of ``like`` (``t`` one step for all rows, or one per row)."""
    picked = values[torch.as_tensor(t)].to(like.dtype).to(like.device)
    return picked.reshape(-1, *([1] * (like.dim() - 1))) if picked.dim() else picked


def add_noise(x0: Tensor, t: Tensor | int, eps: Tensor, schedule: Schedule) -> Tensor:
    """x_t = √ᾱ_t·x₀ + √(1 − ᾱ_t)·ε: a draw of q(x_t | x₀) for the noise ``eps``; ``t`` one step, or one per row."""
    alpha_bar = _per_row(schedule.alpha_bars, t, x0)
    return alpha_bar.sqrt() * x0 + (1 - alpha_bar).sqrt() * eps


def posterior(x0: Tensor, xt: Tensor, t: int, schedule: Schedule) -> tuple[Tensor, float]:
    """The mean and the variance β̃_t of q(x_{t−1} | x_t, x₀), for a step 1 ≤ t ≤ T:

    μ̃ = √ᾱ_{t−1}·β_t/(1 − ᾱ_t)·x₀ + √α_t·(1 − ᾱ_{t−1})/(1 − ᾱ_t)·x_t,  β̃_t = (1 − ᾱ_{t−1})/(1 − ᾱ_t)·β_t.
    """
    b, a, a_bar, a_bar_prev = (float(v) for v in (schedule.betas[t], schedule.alphas[t], schedule.alpha_bars[t],
                                                  schedule.alpha_bars[t - 1]))
    mean = (a_bar_prev**0.5 * b / (1 - a_bar)) * x0 + (a**0.5 * (1 - a_bar_prev) / (1 - a_bar)) * xt
    return mean, (1 - a_bar_prev) / (1 - a_bar) * b


def reverse_step(denoiser: Callable[[Tensor, Tensor], Tensor], xt: Tensor, t: int, noise: Tensor,
                 schedule: Schedule) -> Tensor:
    """One step of DDPM's ancestral sampler, x_t → x_{t−1}, for all rows at step ``t`` (1 ≤ t ≤ T):

    x_{t−1} = (x_t − β_t/√(1 − ᾱ_t)·ε_θ(x_t, t)) / √α_t + σ_t·noise, with σ_t² = β_t, and no noise at t = 1.
    """
    b, a, a_bar = (float(v) for v in (schedule.betas[t], schedule.alphas[t], schedule.alpha_bars[t]))
    steps = torch.full((len(xt),), t, dtype=torch.long, device=xt.device)
    mean = (xt - b / (1 - a_bar) ** 0.5 * denoiser(xt, steps)) / a**0.5
    return mean + b**0.5 * noise if t > 1 else mean

