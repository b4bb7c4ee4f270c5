"""Checks for the exercises of notebook 08 (β-VAE, disentanglement and posterior collapse).

Each check runs the student's function on small constructed arrays, compares the result with the right answer and,
when it is wrong, with the answers the usual mistakes give, to name the mistake.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from ..disentanglement import entropy, mutual_information
from ._core import Mistake, Verdict, as_number, as_numbers, diagnose, run_check, same

__all__ = ["check_active_units", "check_mig_from_bins"]


def _posterior_means() -> tuple[torch.Tensor, torch.Tensor]:
    """40 posterior means of 8 dimensions with chosen means and variances over the images (``torch.var``'s
    unbiased estimate is exactly the chosen variance)."""
    means = torch.tensor([0.5, 0.0, 0.0, 0.0, 2.0, -1.0, 0.3, 0.0], dtype=torch.float64)
    variances = torch.tensor([1.0, 0.5, 0.001, 0.0005, 0.0, 0.0, 0.002, 0.05], dtype=torch.float64)
    noise = torch.randn(40, 8, generator=torch.Generator().manual_seed(11), dtype=torch.float64)
    noise = (noise - noise.mean(0)) / noise.std(0)
    return (means + variances.sqrt() * noise).float(), variances


def check_active_units(active_units: Callable[..., Any]) -> Verdict:
    """Check ``active_units(z_mean, threshold=0.01)``: how many columns of ``z_mean`` (N×d) vary over the rows by
    more than ``threshold`` (a variance)."""

    def body() -> None:
        z_mean, variances = _posterior_means()
        given = z_mean.clone()
        result = active_units(given)
        if not torch.equal(given, z_mean):
            raise Mistake("modified_input", "your function changed the tensor `z_mean` it was given.",
                          "Compute new tensors (`z_mean.var(dim=0)`) instead of changing `z_mean` in place.")
        if isinstance(result, (torch.Tensor, np.ndarray)) and np.asarray(result).size == z_mean.shape[1]:
            raise Mistake("returned_mask", "you returned one value per dimension (which ones are active), not how "
                          "many are.", "Count them: `.sum()` of the boolean per dimension, as an `int`.")
        count = as_number(result, "active_units", "Return one whole number: how many dimensions are active.")
        case = "posterior means of 40 images in 8 dimensions"
        candidates = [
            ("std_not_variance", int((variances.sqrt() > 0.01).sum()),
             "you compared the standard deviation with the threshold: the threshold is a variance.",
             "Use `z_mean.var(dim=0)` (the square of the standard deviation)."),
            ("counted_inactive", int((variances <= 0.01).sum()), "you counted the inactive dimensions.",
             "Active means a variance *above* the threshold."),
            ("mean_not_variance", int((z_mean.mean(0).abs() > 0.01).sum()),
             "you compared the mean of each dimension with the threshold, not its variance: a dimension can sit "
             "far from 0 and still be the same for every image.",
             "Use the variance over the images: `z_mean.var(dim=0)`."),
            ("wrong_dimension", int((z_mean.var(1) > 0.01).sum()),
             "you took the variance of each image's code (over its dimensions): that counts images, not dimensions.",
             "The variance goes over the images, down each column: `z_mean.var(dim=0)`."),
        ]
        diagnose(np.asarray(count), np.asarray(float((variances > 0.01).sum())), candidates, case,
                 "Return one number.")
        strict = as_number(active_units(z_mean.clone(), threshold=0.1), "active_units")
        if not same(strict, float((variances > 0.1).sum())):
            raise Mistake("ignored_threshold", "with threshold=0.1 your count did not change: your function ignores "
                          "its `threshold` argument.", "Compare with `threshold`, not with the number 0.01.")

    return run_check("active_units", body)


def _binned() -> tuple[torch.Tensor, torch.Tensor]:
    """Bin numbers of 300 images: 3 factors (4, 3 and 2 values, so their entropies differ) and 4 latent dimensions:
    a copy of factor 0, a noisy copy of it, a mixture of factors 1 and 2, and noise."""
    generator = torch.Generator().manual_seed(12)
    f0 = torch.randint(0, 4, (300,), generator=generator)
    f1 = torch.randint(0, 3, (300,), generator=generator)
    f2 = (torch.rand(300, generator=generator) < 0.3).long()
    scrambled = torch.rand(300, generator=generator) < 0.4
    noisy = torch.where(scrambled, torch.randint(0, 4, (300,), generator=generator), f0)
    mixed = 2 * f1 + f2
    noise = torch.randint(0, 5, (300,), generator=generator)
    return torch.stack([f0, noisy, mixed, noise], dim=1), torch.stack([f0, f1, f2], dim=1)


def _information(codes: torch.Tensor, factors: torch.Tensor) -> torch.Tensor:
    """d×K mutual information of every code column with every factor column."""
    return torch.tensor([[mutual_information(codes[:, j], factors[:, k]) for k in range(factors.shape[1])]
                         for j in range(codes.shape[1])])


def _gaps(codes: torch.Tensor, factors: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(sorted information per factor, d×K; factor entropies; code entropies)."""
    ordered = _information(codes, factors).sort(dim=0, descending=True).values
    factor_h = torch.tensor([entropy(factors[:, k]) for k in range(factors.shape[1])])
    code_h = torch.tensor([entropy(codes[:, j]) for j in range(codes.shape[1])])
    return ordered, factor_h, code_h


def check_mig_from_bins(mig_from_bins: Callable[..., Any]) -> Verdict:
    """Check ``mig_from_bins(codes, factors)``: for every factor, (largest − second largest mutual information with
    a code dimension) / the factor's entropy; bin numbers in, K numbers out."""

    def body() -> None:
        codes, factors = _binned()
        given_codes, given_factors = codes.clone(), factors.clone()
        result = as_numbers(mig_from_bins(given_codes, given_factors), "mig_from_bins")
        if not (torch.equal(given_codes, codes) and torch.equal(given_factors, factors)):
            raise Mistake("modified_input", "your function changed the bins it was given.",
                          "Compute new tensors instead of changing `codes` or `factors` in place.")
        ordered, factor_h, code_h = _gaps(codes, factors)
        expected = (ordered[0] - ordered[1]) / factor_h
        best = _information(codes, factors).argmax(0)
        swapped_ordered, _, _ = _gaps(factors, codes)
        diagnose(result, expected, [
            ("not_normalized", ordered[0] - ordered[1],
             "your gaps are in nats: they are not divided by the factor's entropy.",
             "Divide each factor's gap by `disentanglement.entropy(factors[:, k])`, so that it lies in [0, 1]."),
            ("no_gap", ordered[0] / factor_h, "you returned the largest mutual information, not the gap.",
             "Subtract the *second* largest: a factor that two dimensions know equally well is not disentangled."),
            ("gap_to_smallest", (ordered[0] - ordered[-1]) / factor_h,
             "you subtracted the smallest mutual information, not the second largest.",
             "Sort the d values (or use `.topk(2)`) and take the first minus the second."),
            ("code_entropy", (ordered[0] - ordered[1]) / code_h[best],
             "you divided by the entropy of the best latent dimension, not of the factor.",
             "Normalize by H(f_k), the factor's entropy."),
            ("averaged", (expected.mean()), "you returned the mean over the factors: the MIG, one number.",
             "Return the gap of every factor (K numbers); the notebook takes their mean."),
            ("swapped_roles", (swapped_ordered[0] - swapped_ordered[1]) / code_h,
             "you computed a gap for every latent dimension (between the two factors it knows most about).",
             "Loop over the factors: for factor k, compare the mutual information of *all latent dimensions* with it."),
        ], "4 latent dimensions and 3 factors of 300 images", "Return one gap per factor: K numbers.",
            rtol=1e-4, atol=1e-6)

    return run_check("mig_from_bins", body)
