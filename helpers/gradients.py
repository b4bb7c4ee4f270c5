"""Two ways to estimate the gradient of an expectation, d/dμ E[f(z)] with z ~ N(μ, diag σ²) (notebook 05).

- :func:`reparameterization_gradients`: write z = μ + σ·ε and let autograd differentiate f(μ + σ·ε) (needs a
  differentiable f).
- :func:`score_function_gradients` (REINFORCE): f(z) · ∇_μ log N(z; μ, σ²) = f(z) · (z − μ)/σ², which needs only
  the values f(z) (works for a black-box f).

Both return one estimate per sample, so that their means (both unbiased) and their variances can be compared.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor
from torch.distributions import Normal

Objective = Callable[[Tensor], Tensor]
"""f: codes ``n×d`` to one value per code, ``n``."""


def _draw(
    mu: Tensor | float, sigma: Tensor | float, n: int, generator: torch.Generator | None
) -> tuple[Tensor, Tensor, Tensor]:
    """Per-sample copies of μ (a leaf that collects per-sample gradients), σ as a tensor, and the noise ε."""
    if n < 1:
        raise ValueError(f"n must be positive, got {n}")
    mu = torch.as_tensor(mu, dtype=torch.float64).reshape(-1)
    sigma = torch.as_tensor(sigma, dtype=torch.float64).expand_as(mu)
    if (sigma <= 0).any():
        raise ValueError("sigma must be positive")
    mu_rows = mu.expand(n, len(mu)).clone().requires_grad_(True)
    eps = torch.randn(n, len(mu), generator=generator, dtype=torch.float64)
    return mu_rows, sigma, eps


def _values(f: Objective, z: Tensor) -> Tensor:
    values = f(z)
    if values.shape != (len(z),):
        raise ValueError(f"f must map codes n×d to n values, got shape {tuple(values.shape)} for n = {len(z)}")
    return values


def reparameterization_gradients(
    f: Objective, mu: Tensor | float, sigma: Tensor | float, n: int, generator: torch.Generator | None = None
) -> Tensor:
    """``n×d`` single-sample estimates of ∇_μ E[f(z)]: autograd through z = μ + σ·ε, ε ~ N(0, I) (float64)."""
    mu_rows, sigma, eps = _draw(mu, sigma, n, generator)
    _values(f, mu_rows + sigma * eps).sum().backward()
    return mu_rows.grad


def score_function_gradients(
    f: Objective, mu: Tensor | float, sigma: Tensor | float, n: int, generator: torch.Generator | None = None
) -> Tensor:
    """``n×d`` single-sample REINFORCE estimates of ∇_μ E[f(z)]: f(z) · ∇_μ log N(z; μ, σ²), autograd for the score.

    z is drawn without a gradient (a plain sample); only the log-density is differentiated.
    """
    mu_rows, sigma, eps = _draw(mu, sigma, n, generator)
    z = (mu_rows + sigma * eps).detach()
    Normal(mu_rows, sigma).log_prob(z).sum().backward()  # row i's gradient: (z_i − μ)/σ², the score
    with torch.no_grad():
        return _values(f, z)[:, None] * mu_rows.grad
