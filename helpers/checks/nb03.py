"""Checks for the exercises of notebook 03 (why a plain autoencoder is a poor generator).

Each check runs the student's function on its own small examples, compares with the right answer and, when the
answer is wrong, with the answers the usual mistakes give, so that the verdict can name the mistake.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from ..latent import fitted_gaussian_samples as reference_gaussian_samples
from ._core import Mistake, Verdict, as_numbers, run_check, same

__all__ = ["check_empty_fraction", "check_fitted_gaussian_samples", "check_interpolate"]


def empty_fraction_cases() -> list[tuple[torch.Tensor, torch.Tensor, float]]:
    """The examples ``(codes, probes, radius)`` the check uses: clustered codes, probes spread over a square."""
    generator = torch.Generator().manual_seed(3)
    centres = torch.tensor([[0.0, 0.0], [3.0, 1.0], [1.0, 3.0]])
    cases = []
    for n_codes, n_probes, radius in ((60, 50, 0.6), (45, 80, 0.9), (30, 40, 2.0)):
        codes = centres[torch.arange(n_codes) % 3] + 0.4 * torch.randn(n_codes, 2, generator=generator)
        probes = 4 * torch.rand(n_probes, 2, generator=generator) - 0.5
        cases.append((codes, probes, radius))
    return cases


def check_empty_fraction(empty_fraction: Callable[..., Any]) -> Verdict:
    """Check ``empty_fraction(codes, probes, radius)``: the share of probes whose nearest code is farther than
    ``radius`` (a probe point with no code within the radius lies in a gap).

    All examples are judged together, so that a mistake is named only when it explains every answer.
    """

    def body() -> None:
        cases = empty_fraction_cases()
        results = []
        for codes, probes, radius in cases:
            result = as_numbers(empty_fraction(codes.clone(), probes.clone(), radius), "empty_fraction")
            if result.size != 1:
                raise Mistake("not_one_number", f"for {len(probes)} probes your function returned {result.size} "
                              "values instead of one share.",
                              "Turn the True/False per probe into one share with `.float().mean()`.")
            results.append(float(result.reshape(())))
        distances = [torch.cdist(probes, codes) for codes, probes, _ in cases]
        radii = [radius for _, _, radius in cases]

        def share(rule: Callable[[torch.Tensor, float], torch.Tensor]) -> list[float]:
            return [float(rule(d, r)) for d, r in zip(distances, radii)]

        expected = share(lambda d, r: (d.min(1).values > r).double().mean())
        if same(results, expected):
            return
        for mistake_id, rule, message, hint in [
            ("inverted", lambda d, r: (d.min(1).values <= r).double().mean(),
             "you returned the share of probes that *have* a code nearby: the covered part, not the gaps.",
             "A probe is in a gap when its nearest code is farther than the radius: `nearest > radius`."),
            ("count_not_fraction", lambda d, r: (d.min(1).values > r).sum(), "you returned a count, not a share.",
             "Divide by the number of probes, or take `.float().mean()` of the True/False values."),
            ("percentage", lambda d, r: 100 * (d.min(1).values > r).double().mean(),
             "you returned a percentage; return a share between 0 and 1.", "Drop the factor 100."),
            ("codes_not_probes", lambda d, r: (d.min(0).values > r).double().mean(),
             "you computed the share of *codes* with no probe nearby, not of probes with no code nearby.",
             "Take the minimum over the codes for each probe: `torch.cdist(probes, codes).min(dim=1)`."),
            ("not_nearest", lambda d, r: (d > r).any(1).double().mean(),
             "you counted a probe as empty when *some* code is farther than the radius; "
             "that is true of almost every probe.",
             "Only the nearest code matters: a probe is empty when *all* codes are farther, i.e. the minimum "
             "distance is larger than the radius."),
            ("mean_distance", lambda d, r: (d.mean(1) > r).double().mean(),
             "you compared the *mean* distance to all codes with the radius; use the nearest code.",
             "Replace `.mean(dim=1)` by `.min(dim=1).values`."),
            ("squared_distance", lambda d, r: (d.min(1).values ** 2 > r).double().mean(),
             "you compared squared distances with the radius itself.",
             "Take the square root of the summed squares (or use `torch.cdist`), or compare with radius²."),
        ]:
            if same(results, share(rule)):
                raise Mistake(mistake_id, message, hint)
        (codes, probes, radius), got, want = next(
            (case, got, want) for case, got, want in zip(cases, results, expected) if not same(got, want))
        raise Mistake("wrong_value", f"for {len(codes)} codes, {len(probes)} probes and radius {radius} the "
                      f"share is {want:.3f}, your function gave {got:.3f}.",
                      "For each probe find the distance to its nearest code; the answer is the share of probes "
                      "for which that distance exceeds the radius.")

    return run_check("empty_fraction", body)


def check_interpolate(interpolate: Callable[..., Any]) -> Verdict:
    """Check ``interpolate(z_a, z_b, alphas)``: one row ``(1 − α)·z_a + α·z_b`` per α (``len(alphas) × d``)."""

    def body() -> None:
        z_a, z_b = torch.tensor([1.0, -2.0, 0.5]), torch.tensor([3.0, 1.0, -1.5])
        alphas = torch.tensor([0.0, 0.25, 0.5, 1.0])
        result = as_numbers(interpolate(z_a.clone(), z_b.clone(), alphas.clone()), "interpolate")
        a = alphas[:, None]
        expected = ((1 - a) * z_a + a * z_b).numpy()
        if same(result, expected):
            return
        for mistake_id, value, message, hint in [
            ("swapped", (a * z_a + (1 - a) * z_b).numpy(),
             "your path runs backwards: at α = 0 it is at z_b.",
             "At α = 0 the path must start at z_a: weight z_a by (1 − α) and z_b by α."),
            ("forgot_one_minus", (z_a + a * z_b).numpy(),
             "you added α·z_b to z_a without taking (1 − α) of z_a: the path misses z_b at α = 1.",
             "Use (1 − α)·z_a + α·z_b, or equivalently z_a + α·(z_b − z_a)."),
            ("wrong_direction", (z_a + a * (z_a - z_b)).numpy(),
             "your path moves away from z_b: the direction is z_b − z_a, not z_a − z_b.",
             "z_a + α·(z_b − z_a) reaches z_b at α = 1."),
            ("transposed", expected.T, "your result is transposed: it has one column per α.",
             "Return one row per α, shape (len(alphas), d): write `alphas[:, None]` so that α varies down the rows."),
        ]:
            if same(result, value):
                raise Mistake(mistake_id, message, hint)
        if result.shape != expected.shape:
            raise Mistake("wrong_shape", f"for 4 values of α and 3-D codes the result has shape {result.shape}, "
                          f"expected {expected.shape}.",
                          "Give α a column axis, `alphas[:, None]`, so that it broadcasts against the codes.")
        raise Mistake("wrong_value", f"expected {np.round(expected, 3).tolist()}, got {np.round(result, 3).tolist()}.",
                      "Check the endpoints: α = 0 must give z_a and α = 1 must give z_b.")

    return run_check("interpolate", body)


GAUSSIAN_SAMPLES = 20_000
"""How many samples the check of ``fitted_gaussian_samples`` judges by their mean and covariance."""


def gaussian_codes() -> torch.Tensor:
    """The codes the check fits: 300 skewed, strongly correlated 3-D codes far from the origin, whose covariance
    has eigenvalues well above and below 1 (so that Σ, Σ², its diagonal and LᵀL all differ)."""
    generator = torch.Generator().manual_seed(5)
    w = torch.rand(300, 3, generator=generator) ** 2 * 3.0  # skewed, not Gaussian: the Gaussian is a model of them
    mixing = torch.tensor([[1.5, 0.0, 0.0], [1.2, 0.6, 0.0], [-0.4, 0.5, 0.3]])
    return torch.tensor([2.0, -1.0, 3.0]) + (w - w.mean(0)) @ mixing.T


def _fitted(codes: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    codes = codes.double()
    return codes.mean(0), torch.cov(codes.T)


def check_fitted_gaussian_samples(fitted_gaussian_samples: Callable[..., Any]) -> Verdict:
    """Check ``fitted_gaussian_samples(codes, n, seed)``: ``n`` codes from N(z̄, Σ), the mean and full covariance of
    ``codes``, drawn as z̄ + L·ε with L Lᵀ = Σ, the same samples for the same seed.

    The answer passes when it equals ``helpers.latent.fitted_gaussian_samples``, or when 20,000 samples have the
    right mean and covariance (another square root of Σ, or another way to draw ε, is just as right); otherwise
    the mean and covariance name the mistake.
    """

    def body() -> None:
        codes = gaussian_codes()
        n, d = GAUSSIAN_SAMPLES, codes.shape[1]
        result = as_numbers(fitted_gaussian_samples(codes.clone(), n, 7), "fitted_gaussian_samples")
        if result.shape != (n, d):
            raise Mistake("wrong_shape", f"for {len(codes)} codes of {d} dimensions and n = {n} the result has shape "
                          f"{result.shape}, expected ({n}, {d}): one sample per row.",
                          "Draw ε of shape (n, d), one row per sample, with `torch.randn(n, d, generator=...)`.")
        if not same(result, reference_gaussian_samples(codes, n, 7), rtol=1e-4, atol=1e-5):
            _judge_distribution(codes, result)
        again = as_numbers(fitted_gaussian_samples(codes.clone(), 50, 7), "fitted_gaussian_samples")
        if not same(again, as_numbers(fitted_gaussian_samples(codes.clone(), 50, 7), "fitted_gaussian_samples")):
            raise Mistake("not_reproducible", "two calls with the same seed gave different samples.",
                          "Draw ε from a generator seeded with `seed`: "
                          "`torch.randn(n, d, generator=torch.Generator().manual_seed(seed))`.")
        if same(again, as_numbers(fitted_gaussian_samples(codes.clone(), 50, 8), "fitted_gaussian_samples")):
            raise Mistake("seed_ignored", "seeds 7 and 8 gave the same samples: the seed is not used.",
                          "Seed the generator with the argument `seed`, not with a fixed number.")

    return run_check("fitted_gaussian_samples", body)


def _judge_distribution(codes: torch.Tensor, result: np.ndarray) -> None:
    """Pass ``result`` if its mean and covariance are the codes' (to 5 % of each spread); else name the mistake."""
    centre, covariance = _fitted(codes)
    samples = torch.as_tensor(result, dtype=torch.float64)
    if torch.cdist(samples[:200], codes.double()).min(1).values.max() < 1e-6:
        raise Mistake("resampled_codes", "your samples are the codes themselves, drawn again: that copies the data "
                      "instead of sampling the Gaussian fitted to it.",
                      "Fit the mean and covariance of the codes and draw new points z̄ + L·ε with fresh ε ~ N(0, I).")
    scale = covariance.diagonal().sqrt()

    def close(mean: torch.Tensor, cov: torch.Tensor) -> bool:
        # the mean within 5 % of a standard deviation, the covariance within 0.05 on the scale of correlations
        return bool(((samples.mean(0) - mean).abs() / scale).max() < 0.05
                    and ((torch.cov(samples.T) - cov).abs() / torch.outer(scale, scale)).max() < 0.05)

    if close(centre, covariance):
        return
    cholesky = torch.linalg.cholesky(covariance)
    formula = "z = z̄ + ε·Lᵀ for rows ε ~ N(0, I), with L = torch.linalg.cholesky(Σ): then Cov(z) = L Lᵀ = Σ."
    for mistake_id, mean, cov, message, hint in [
        ("forgot_mean", torch.zeros_like(centre), covariance, "your samples are centred on 0, not on the codes' "
         "mean z̄.", "Add the mean of the codes, `codes.mean(dim=0)`, to every sample."),
        ("diagonal_only", centre, torch.diag(covariance.diagonal()), "your samples have the right spread in each "
         "dimension but no correlation between dimensions: you used only the diagonal of Σ (one standard deviation "
         "per dimension).", "Use the full covariance `torch.cov(codes.T)` and its Cholesky factor L: " + formula),
        ("covariance_not_root", centre, covariance @ covariance, "you scaled ε by Σ itself; that gives the "
         "covariance Σ², not Σ. Σ is a variance: ε needs a square root of it, as σ in z = μ + σ·ε.",
         "Scale by the Cholesky factor L of Σ (L Lᵀ = Σ): " + formula),
        ("wrong_side", centre, cholesky.T @ cholesky, "your samples have the covariance LᵀL instead of L Lᵀ = Σ: "
         "the Cholesky factor multiplies ε from the wrong side.",
         "For row vectors ε (one sample per row) write `eps @ L.T`; for a column vector it is L·ε."),
    ]:
        if close(mean, cov):
            raise Mistake(mistake_id, message, hint)
    raise Mistake("wrong_distribution", "your samples have mean "
                  f"{np.round(samples.mean(0).numpy(), 2).tolist()} and variances "
                  f"{np.round(samples.var(0).numpy(), 2).tolist()}; the Gaussian fitted to the codes has mean "
                  f"{np.round(centre.numpy(), 2).tolist()} and variances {np.round(covariance.diagonal().numpy(), 2).tolist()}.",
                  formula)
