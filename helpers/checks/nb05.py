"""Checks for the exercises of notebook 05 (the VAE and the reparameterization trick).

Each check runs the student's function on its own cases and, when the answer is wrong, compares it with the
answers the usual mistakes give, so that the verdict can name the mistake.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from ._core import Mistake, Verdict, as_numbers, match_mistake, run_check, same

__all__ = ["check_reparameterize", "check_score_function_gradient", "check_vae_training_step"]


_FORMULA = "z = z_mean + torch.exp(0.5 * z_log_var) * torch.randn_like(z_mean), since exp(½ log σ²) = σ."
_LOG_VAR_AS_SIGMA = ("log_var_as_sigma", "you used log σ² as if it were σ.",
                     "z_log_var is the log of the variance: σ = exp(½ · z_log_var).")
_VARIANCE_AS_SIGMA = ("variance_as_sigma", "you scaled ε by the variance σ² = exp(log σ²), not by σ.",
                      "The noise is scaled by the standard deviation: σ = exp(½ · z_log_var), the ½ inside the exp.")
_HALF_VARIANCE = ("half_outside_exp", "you scaled ε by ½·exp(log σ²) = σ²/2: the ½ belongs inside the exp.",
                  "σ = exp(½ · z_log_var) = torch.exp(0.5 * z_log_var).")
_FORGOT_MU = ("forgot_mu", "the samples are not shifted by the mean μ.", "Add z_mean: " + _FORMULA)
_ADDED_NOISE = ("added_noise", "you added σ and ε instead of multiplying them.",
                "ε ~ N(0, 1) is stretched by σ and shifted by μ: " + _FORMULA)

# Two rows of μ and log σ² per kind of value: σ below, at and above 1, μ of both signs.
_MU = torch.tensor([[1.5, -2.0], [0.0, 0.7], [-1.0, 3.0], [2.5, 0.2]])
_LOG_VAR = torch.tensor([[0.8, -1.2], [0.0, 0.5], [-2.0, 1.0], [1.5, -0.3]])


def check_reparameterize(reparameterize: Callable[..., Any]) -> Verdict:
    """Check ``reparameterize(z_mean, z_log_var)``: one sample z = μ + σ·ε per row, gradients reaching μ and log σ².

    The noise is compared exactly with ``torch.randn_like`` after the same seed (the global random state is restored
    afterwards); an answer that draws its noise another way is judged by the mean and spread of many samples.
    """

    def body() -> None:
        mu_in, log_var_in = _MU.clone().requires_grad_(True), _LOG_VAR.clone().requires_grad_(True)
        with torch.random.fork_rng():
            torch.manual_seed(0)
            z = reparameterize(mu_in, log_var_in)
            torch.manual_seed(0)
            eps = torch.randn_like(_MU)
        result = as_numbers(z, "reparameterize")
        if result.shape != tuple(_MU.shape):
            raise Mistake("wrong_shape", f"for z_mean of shape {tuple(_MU.shape)} the result has shape "
                          f"{result.shape}: z must have the shape of z_mean, one sample per row.",
                          "Draw the noise with `torch.randn_like(z_mean)`.")
        if np.isnan(result).any():
            raise Mistake("nan", "your samples contain NaN.",
                          "log σ² is often negative: never take its square root or its log. " + _FORMULA)
        sigma = torch.exp(0.5 * _LOG_VAR)
        if not same(result, _MU + sigma * eps):
            match_mistake(result, [(_LOG_VAR_AS_SIGMA[0], _MU + _LOG_VAR * eps, *_LOG_VAR_AS_SIGMA[1:]),
                            (_VARIANCE_AS_SIGMA[0], _MU + _LOG_VAR.exp() * eps, *_VARIANCE_AS_SIGMA[1:]),
                            (_HALF_VARIANCE[0], _MU + 0.5 * _LOG_VAR.exp() * eps, *_HALF_VARIANCE[1:]),
                            (_FORGOT_MU[0], sigma * eps, *_FORGOT_MU[1:]),
                            (_ADDED_NOISE[0], _MU + sigma + eps, *_ADDED_NOISE[1:])])
            noise = (torch.as_tensor(result) - _MU) / sigma
            if torch.allclose(noise, noise[:1].expand_as(noise)):
                raise Mistake("shared_noise", "every row got the same noise ε: the samples of different inputs "
                              "are not independent.", "Draw one ε per entry: `torch.randn_like(z_mean)`, "
                              "not `torch.randn(z_mean.shape[1])`.")
            _check_distribution(reparameterize)
        _check_gradient(z, mu_in, log_var_in, torch.as_tensor(result, dtype=_MU.dtype))

    return run_check("reparameterize", body)


def _check_distribution(reparameterize: Callable[..., Any], copies: int = 50_000) -> None:
    """Judge ``copies`` samples of each of the 8 (μ, log σ²) pairs by their mean and spread."""
    mu, log_var = _MU.repeat(copies, 1), _LOG_VAR.repeat(copies, 1)
    with torch.random.fork_rng():
        torch.manual_seed(1)
        result = as_numbers(reparameterize(mu, log_var), "reparameterize")
    samples = result.reshape(copies, *_MU.shape)
    mean, std = samples.mean(0), samples.std(0)
    sigma = torch.exp(0.5 * _LOG_VAR).numpy()
    if np.allclose(mean, _MU.numpy(), atol=0.05) and np.allclose(std, sigma, rtol=0.03):
        return
    for (mistake_id, message, hint), spread in ((_LOG_VAR_AS_SIGMA, _LOG_VAR.abs().numpy()),
                                                (_VARIANCE_AS_SIGMA, _LOG_VAR.exp().numpy()),
                                                (_HALF_VARIANCE, 0.5 * _LOG_VAR.exp().numpy())):
        if np.allclose(std, spread, rtol=0.03):
            raise Mistake(mistake_id, message, hint)
    if np.allclose(mean, 0.0, atol=0.05):
        raise Mistake(*_FORGOT_MU)
    raise Mistake("wrong_distribution", f"for μ = {_MU[0].tolist()} and σ = {np.round(sigma[0], 3).tolist()} "
                  f"your samples have mean {np.round(mean[0], 3).tolist()} and standard deviation "
                  f"{np.round(std[0], 3).tolist()}.", _FORMULA)


def _check_gradient(z: Any, mu_in: torch.Tensor, log_var_in: torch.Tensor, values: torch.Tensor) -> None:
    """The sum of z must have the gradient 1 for μ and ½·σ·ε = ½·(z − μ) for log σ²."""
    hint = ("Compute z from `z_mean` and `z_log_var` with torch operations: " + _FORMULA + " Not `torch.normal`, "
            "`Normal(...).sample()`, NumPy, `.detach()` or `torch.no_grad()`.")
    if not isinstance(z, torch.Tensor) or not z.requires_grad:
        raise Mistake("no_gradient", "your samples carry no gradient back to μ and log σ² (requires_grad is "
                      "False), so the encoder could not learn through them.", hint)
    z.sum().backward()
    if mu_in.grad is None or log_var_in.grad is None or not (
            torch.allclose(mu_in.grad, torch.ones_like(_MU), atol=1e-5)
            and torch.allclose(log_var_in.grad, 0.5 * (values - _MU), atol=1e-5)):
        raise Mistake("no_gradient", "the samples are right, but the gradient that reaches μ and log σ² is not "
                      "∂z/∂μ = 1, ∂z/∂log σ² = ½σε: `torch.normal(mu, sigma)` for instance passes a zero "
                      "gradient back.", hint)


def check_score_function_gradient(score_function_gradient: Callable[..., Any]) -> Verdict:
    """Check ``score_function_gradient(f, z, mu, sigma)``: the mean of f(z)·(z − μ)/σ² over the samples z."""

    def body() -> None:
        cases = [(lambda z: (z - 3) ** 2, "f(z) = (z − 3)²", 1.0, 2.0),
                 (torch.sin, "f(z) = sin(z)", -0.5, 0.5)]
        for f, name, mu, sigma in cases:
            z = mu + sigma * torch.randn(200, generator=torch.Generator().manual_seed(5), dtype=torch.float64)
            result = as_numbers(score_function_gradient(f, z.clone(), mu, sigma), "score_function_gradient")
            fz, score = f(z), (z - mu) / sigma**2
            expected = (fz * score).mean()
            if result.size == 1:
                result = result.reshape(())
            if same(result, expected):
                continue
            if result.shape != ():
                raise Mistake("per_sample", f"you returned an array of shape {result.shape}; the estimate is one "
                              "number, the mean over the samples.", "Average the per-sample estimates: `.mean()`.")
            match_mistake(result, [
                ("forgot_variance", (fz * (z - mu)).mean(), "you did not divide by σ².",
                 "The score is ∂/∂μ log N(z; μ, σ²) = (z − μ)/σ²."),
                ("divided_by_sigma", (fz * (z - mu) / sigma).mean(), "you divided by σ instead of σ².",
                 "Differentiate −(z − μ)²/(2σ²) with respect to μ: (z − μ)/σ²."),
                ("forgot_f", score.mean(), "you averaged the score alone, without f(z).",
                 "Weight each sample's score by f(z): mean of f(z)·(z − μ)/σ². The score alone averages to 0."),
                ("sign_flipped", -expected, "the sign is flipped: the score is (z − μ)/σ², not (μ − z)/σ².",
                 "∂/∂μ [−(z − μ)²/(2σ²)] = +(z − μ)/σ²."),
                ("sum_not_mean", (fz * score).sum(), "you summed the per-sample estimates instead of averaging.",
                 "An expectation is estimated by a mean: `.mean()`, not `.sum()`."),
                ("f_of_mu", (f(torch.tensor(mu, dtype=torch.float64)) * score).mean(),
                 "you used f(μ) instead of f(z) for each sample.", "Evaluate f at the samples: `f(z)`."),
            ])
            raise Mistake("wrong_value", f"for {name}, μ = {mu}, σ = {sigma} and 200 samples expected "
                          f"{float(expected):.4f}, got {np.round(result, 4)}.",
                          "Compute f(z) * (z - mu) / sigma**2 for every sample and return its mean.")

    return run_check("score_function_gradient", body)


def _step_loss(model: Any, x: torch.Tensor, beta: float, *, sample: bool = True, sigma: str = "std",
               kl_sign: float = 1.0, pixels: str = "sum", kl_reduce: str = "sum", batch: str = "mean",
               ) -> torch.Tensor:
    """The loss of one step, right or with one of the usual mistakes, drawing ε as ``torch.randn_like`` would."""
    import torch.nn.functional as F  # noqa: N812

    z_mean, z_log_var = model.encode(x)
    scale = {"std": torch.exp(0.5 * z_log_var), "variance": torch.exp(z_log_var)}[sigma]
    z = z_mean + scale * torch.randn_like(z_mean) if sample else z_mean
    per_pixel = F.binary_cross_entropy(model.decode(z), x, reduction="none").flatten(1)
    recon = per_pixel.sum(1) if pixels == "sum" else per_pixel.mean(1)
    kl_terms = -0.5 * (1 + z_log_var - z_mean**2 - z_log_var.exp())
    kl = kl_terms.sum(1) if kl_reduce == "sum" else kl_terms.mean(1)
    per_image = recon + kl_sign * beta * kl
    return per_image.mean() if batch == "mean" else per_image.sum()


_STEP_MISTAKES = [  # (mistake id, how the loss differs, message, hint)
    ("no_sampling", {"sample": False}, "you decoded z_mean itself: the step does not sample z.",
     "Training must sample: z = z_mean + torch.exp(0.5 * z_log_var) * torch.randn_like(z_mean). Without it the "
     "KL term pulls σ towards 1 for nothing, and the model is a plain autoencoder with a penalty."),
    ("variance_as_sigma", {"sigma": "variance"}, "you scaled ε by σ² = exp(log σ²), not by σ.",
     "σ = exp(½ · z_log_var): torch.exp(0.5 * z_log_var)."),
    ("kl_sign", {"kl_sign": -1.0}, "the KL term has the wrong sign: your loss rewards codes far from the prior.",
     "KL = −½ Σ (1 + log σ² − μ² − σ²) is ≥ 0 and is *added* to the reconstruction term."),
    ("pixels_averaged", {"pixels": "mean"}, "you averaged the BCE over the pixels instead of summing it.",
     "The reconstruction term is −log p(x|z), summed over the 784 pixels (`.flatten(1).sum(1)`); averaging divides "
     "it by 784 and makes the KL 784 times heavier (notebook 06, section 5)."),
    ("kl_averaged", {"kl_reduce": "mean"}, "you averaged the KL over the latent dimensions instead of summing it.",
     "The KL of a diagonal Gaussian is the sum of one term per dimension: `.sum(1)`."),
    ("batch_summed", {"batch": "sum"}, "you summed the loss over the images of the batch instead of averaging.",
     "Average over the batch (`.mean()`), so that the loss is in nats per image and does not grow with the batch."),
]


def check_vae_training_step(vae_training_step: Callable[..., Any]) -> Verdict:
    """Check ``vae_training_step(model, optimizer, x, beta)``: two steps on two copies of a small VAE, with the same
    ε, against the reference: the returned losses and the weights afterwards; β = 3 as well."""

    def body() -> None:
        x = _step_images()
        for beta in (1.0, 3.0):
            with torch.random.fork_rng():
                reference, student = _step_model(), _step_model()
                expected, weights = _reference_steps(reference, x, beta)
                torch.manual_seed(10)
                optimizer = torch.optim.Adam(student.parameters(), lr=1e-3)
                first = vae_training_step(student, optimizer, x, beta)
                if first is None:
                    raise Mistake("returned_none", "`vae_training_step` returned None.",
                                  "Return the loss: `return loss.item()`.")
                got = [float(as_numbers(first, "vae_training_step").reshape(-1)[0])]
                got.append(float(as_numbers(vae_training_step(student, optimizer, x, beta), "vae_training_step")
                                 .reshape(-1)[0]))
            _judge_step(got, expected, student, weights, x, beta)

    return run_check("vae_training_step", body)


def _step_model() -> Any:
    """A small VAE with fixed weights whose encoder starts far from the prior (means up to about ±2, σ about 0.4),
    so that every mistake in the sampling or the KL term changes the loss visibly."""
    from ..models import ConvVAE

    with torch.random.fork_rng():
        torch.manual_seed(4)
        model = ConvVAE(2, channels=(4, 8), hidden=16)
        with torch.no_grad():
            model.to_mean.weight.mul_(8.0)
            model.to_mean.bias.copy_(torch.tensor([1.5, -1.0]))
            model.to_log_var.bias.fill_(-1.8)
            model.decoder.dense1.weight.mul_(10.0)  # images that depend on z clearly
    return model


def _step_images() -> torch.Tensor:
    """16 images in [0, 1] (ellipses with soft edges): enough for a VAE to take a meaningful step."""
    from ..data import make_ellipses

    return make_ellipses(16, seed=3)[0]


def _reference_steps(model: Any, x: torch.Tensor, beta: float) -> tuple[list[float], dict[str, torch.Tensor]]:
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    losses = []
    torch.manual_seed(10)
    for _ in range(2):
        loss = _step_loss(model, x, beta)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses, {name: value.detach().clone() for name, value in model.state_dict().items()}


def _judge_step(got: list[float], expected: list[float], student: Any, weights: dict[str, torch.Tensor],
                x: torch.Tensor, beta: float) -> None:
    if not np.isclose(got[0], expected[0], rtol=1e-4):
        for mistake_id, changes, message, hint in _STEP_MISTAKES:
            with torch.random.fork_rng():
                fresh = _step_model()
                torch.manual_seed(10)
                value = _step_loss(fresh, x, beta, **changes).item()
            if np.isclose(got[0], value, rtol=1e-4):
                raise Mistake(mistake_id, message, hint)
        if beta != 1.0:
            with torch.random.fork_rng():
                fresh = _step_model()
                torch.manual_seed(10)
                ignored = _step_loss(fresh, x, 1.0).item()
            if np.isclose(got[0], ignored, rtol=1e-4):
                raise Mistake("ignored_beta", f"with beta = {beta:g} your loss equals the loss for β = 1: β is not used.",
                              "Multiply the KL term by `beta`: (recon + beta * kl).mean().")
        raise Mistake("wrong_value", f"for β = {beta:g} the first step's loss is {expected[0]:.3f}, yours "
                      f"{got[0]:.3f}.", "Compare each line with the loss above it: BCE summed over the pixels, "
                      "the KL summed over the latent dimensions, both averaged over the batch.")
    changed = any(not torch.equal(value, weights_before) for value, weights_before in
                  zip(student.state_dict().values(), _step_model().state_dict().values()))
    if not changed:
        raise Mistake("no_step", "the weights did not change: the optimizer took no step.",
                      "After `loss.backward()`, call `optimizer.step()`.")
    if not np.isclose(got[1], expected[1], rtol=1e-3) or not all(
            torch.allclose(value, weights[name], rtol=1e-3, atol=1e-5) for name, value in student.state_dict().items()):
        raise Mistake("gradients_add_up", "the first step is right, the second is not: the gradients of the first "
                      "step were still there.", "Call `optimizer.zero_grad()` before `loss.backward()` in every step.")
