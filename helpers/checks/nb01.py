"""Checks for the exercises of notebook 01 (latent space): compression factor, R² and PCA reconstruction."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import torch
from torch import Tensor

from ._core import Mistake, Verdict, as_number, run_check

__all__ = ["check_compression_factor", "check_pca_reconstruct", "check_r_squared"]

def _as_number(value: object, name: str) -> float:
    return as_number(value, name, "Return one number: sum or average over all elements if you have an array.")

def check_compression_factor(compression_factor: Callable[[tuple[int, ...], int], float]) -> Verdict:
    """Check ``compression_factor(image_shape, latent_dim)``: how many numbers per latent number."""

    def body() -> None:
        for shape, latent_dim in [((1, 28, 28), 2), ((3, 32, 32), 200), ((1, 28, 28), 784)]:
            pixels = math.prod(shape)
            expected = pixels / latent_dim
            got = _as_number(compression_factor(shape, latent_dim), "compression_factor")
            if math.isclose(got, expected, rel_tol=1e-6):
                continue
            where = f"For image_shape={shape} and latent_dim={latent_dim} you returned {got:g}, expected {expected:g}."
            if math.isclose(got, latent_dim / pixels, rel_tol=1e-6):
                raise Mistake("inverted", f"{where} That is the ratio upside down.",
                              "The factor says how many image numbers share one latent number: "
                              "(numbers in the image) / latent_dim, a number much larger than 1.")
            if math.isclose(got, sum(shape) / latent_dim, rel_tol=1e-6):
                raise Mistake("sum_not_product", f"{where} You added the dimensions of the shape.",
                              "A 28×28 image has 28 · 28 = 784 pixels, not 28 + 28: multiply (math.prod).")
            if math.isclose(got, math.prod(shape[-2:]) / latent_dim, rel_tol=1e-6):
                raise Mistake("channels_ignored", f"{where} You counted height × width only.",
                              "A colour image stores three numbers per pixel: multiply all entries of image_shape, "
                              "the channels too.")
            if got == pixels // latent_dim:
                raise Mistake("integer_division", f"{where} The fraction got rounded down.",
                              "Use / (true division), not // (integer division).")
            raise Mistake("wrong_value", where, "Count all numbers in the image (the product of image_shape), "
                          "then divide by latent_dim.")

    return run_check("compression_factor", body)

def check_r_squared(r_squared: Callable[[Tensor, Tensor], float]) -> Verdict:
    """Check ``r_squared(y, y_pred)`` for 1-D tensors: ``1 − Σ(y − ŷ)² / Σ(y − ȳ)²`` as one number."""
    generator = torch.Generator().manual_seed(1)
    y = 8.0 + 2.0 * torch.randn(50, generator=generator, dtype=torch.float64)
    noisy = y + 0.8 * torch.randn(50, generator=generator, dtype=torch.float64)
    cases = [  # (what the prediction is, y_pred): a biased prediction separates R² from the correlation
        ("a perfect prediction", y.clone()),
        ("a noisy prediction ŷ", noisy),
        ("the biased prediction 0.5·ŷ + 3", 0.5 * noisy + 3.0),
        ("always predicting the mean", torch.full_like(y, float(y.mean()))),
    ]

    def body() -> None:
        for what, y_pred in cases:
            y_in, pred_in = y.clone(), y_pred.clone()
            got = _as_number(r_squared(y_in, pred_in), "r_squared")
            if not (torch.equal(y_in, y) and torch.equal(pred_in, y_pred)):
                raise Mistake("modified_input", "r_squared changed its input tensors in place.",
                              "Compute new tensors (y - y.mean()) instead of in-place updates such as y -= ...")
            sse = float(((y - y_pred) ** 2).sum())
            sst = float(((y - y.mean()) ** 2).sum())
            expected = 1 - sse / sst
            if math.isclose(got, expected, rel_tol=1e-4, abs_tol=1e-6):
                continue
            where = f"For {what} you returned {got:.4f}, expected {expected:.4f}."
            correlation = float(torch.corrcoef(torch.stack([y, y_pred]))[0, 1]) if float(y_pred.std()) > 0 else 0.0
            known = [
                ("sst_not_centred", 1 - sse / float((y**2).sum()),
                 "The total sum of squares was not centred: you used Σ y² instead of Σ (y − ȳ)².",
                 "R² compares your errors with those of the best constant guess, the mean ȳ: "
                 "subtract y.mean() before squaring."),
                ("inverted", sse / sst, "You returned SSE / SST, the share of variance left unexplained.",
                 "R² = 1 − SSE / SST."),
                ("sst_from_predictions", 1 - sse / float(((y_pred - y_pred.mean()) ** 2).sum()),
                 "The total sum of squares was computed from y_pred.",
                 "The variance to explain is that of the true values: SST = Σ (y − ȳ)²."),
                ("correlation", correlation,
                 "That is the correlation between y and y_pred, not R².",
                 "A correlation ignores offsets and scale: 0.5·ŷ + 3 correlates with y exactly as well as ŷ does, "
                 "but predicts it far worse. Compute 1 − SSE / SST."),
                ("correlation_squared", correlation**2,
                 "That is the squared correlation: it equals R² only for a least-squares fit on its own data.",
                 "Predictions from elsewhere (a held-out set, a biased model) need 1 − SSE / SST itself."),
                ("mean_and_sum_mixed", 1 - (sse / len(y)) / sst,
                 "You divided a mean of squared errors by a sum of squares (or the other way round).",
                 "Use sums in both (or means in both): their ratio must compare like with like."),
            ]
            for mistake, value, message, hint in known:
                if math.isclose(got, value, rel_tol=1e-4, abs_tol=1e-6):
                    raise Mistake(mistake, f"{where} {message}", hint)
            raise Mistake("wrong_value", where, "SSE = Σ (y − ŷ)², SST = Σ (y − ȳ)², R² = 1 − SSE / SST.")

    return run_check("r_squared", body)

def _pca_data() -> Tensor:
    """200 points in 6-D with a mean far from 0 and clearly different variances along rotated axes."""
    generator = torch.Generator().manual_seed(0)
    rotation, _ = torch.linalg.qr(torch.randn(6, 6, generator=generator))
    scales = torch.tensor([5.0, 3.0, 2.0, 1.0, 0.5, 0.2])
    mean = torch.tensor([4.0, -3.0, 6.0, 1.0, -5.0, 2.0])
    return mean + (torch.randn(200, 6, generator=generator) * scales) @ rotation

def check_pca_reconstruct(pca_reconstruct: Callable[[Tensor, int], Tensor]) -> Verdict:
    """Check ``pca_reconstruct(x, k)``: project the ``N×D`` data on its top ``k`` principal components and back."""
    x = _pca_data()
    mean = x.mean(0)
    vh = torch.linalg.svd(x - mean, full_matrices=False).Vh
    vh_raw = torch.linalg.svd(x, full_matrices=False).Vh
    tolerance = 1e-3 * float(x.abs().max())

    def project(data: Tensor, basis: Tensor) -> Tensor:
        return data @ basis.T @ basis

    def body() -> None:
        for k in (2, 3, 6):
            x_in = x.clone()
            got = pca_reconstruct(x_in, k)
            if not torch.equal(x_in, x):
                raise Mistake("modified_input", "pca_reconstruct changed x in place (x -= ... ?).",
                              "Work on new tensors: centred = x - mean leaves x as it was.")
            if not isinstance(got, Tensor):
                raise Mistake("not_a_tensor", f"pca_reconstruct returned {type(got).__name__}, not a tensor.",
                              "Return the reconstruction as a torch tensor of the same shape as x.")
            if got.shape == (len(x), k) and k < x.shape[1]:
                raise Mistake("not_projected_back",
                              f"For k={k} you returned a tensor of shape {tuple(got.shape)}: the codes z, not a "
                              "reconstruction.", "Decode the codes: x̂ = mean + z · V_kᵀ has the shape of x again.")
            if got.shape != x.shape:
                raise Mistake("wrong_shape", f"For x of shape {tuple(x.shape)} and k={k} you returned shape "
                              f"{tuple(got.shape)}.", "The reconstruction has the shape of x: N×D.")
            got = got.detach().to(torch.float32)
            top, bottom = vh[:k], vh[vh.shape[0] - k :]
            expected = mean + project(x - mean, top)
            if torch.allclose(got, expected, atol=tolerance):
                continue
            known = [
                ("no_centring", project(x, vh_raw[:k]), "the data were not centred before the SVD.",
                 "Subtract the mean of each column first: the components must describe the spread of the data "
                 "around its mean, not its distance from 0."),
                ("mean_not_added", project(x - mean, top), "the reconstruction lacks the mean.",
                 "You subtracted the mean to encode: add it back after projecting, x̂ = mean + …"),
                ("smallest_components", mean + project(x - mean, bottom),
                 "you kept the k components with the smallest variance.",
                 "torch.linalg.svd sorts singular values in decreasing order: the top k are the first k rows of "
                 "Vh, Vh[:k]."),
                ("columns_of_vh", mean + project(x - mean, vh[:, :k].T),
                 "you used the first k columns of Vh; the principal directions are its rows.",
                 "x − mean = U S Vh: take Vh[:k] (rows), or equivalently Vh.T[:, :k]."),
                ("raw_data_projected", project(x, top), "you projected x itself, not the centred x, and added no "
                 "mean.", "Encode the centred data, z = (x − mean) · V_k, then decode x̂ = mean + z · V_kᵀ."),
                ("raw_data_projected", mean + project(x, top), "you projected x itself, not the centred x.",
                 "Encode the centred data, z = (x − mean) · V_k, then decode x̂ = mean + z · V_kᵀ."),
            ]
            for mistake, value, message, hint in known:
                if torch.allclose(got, value, atol=tolerance):
                    raise Mistake(mistake, f"For k={k}: {message}", hint)
            error = float((got - expected).abs().max())
            raise Mistake("wrong_value", f"For k={k} your reconstruction differs from the right one by up to "
                          f"{error:.3g}.", "Centre x, take the top k rows of Vh from torch.linalg.svd, project "
                          "(x − mean) · V_k · V_kᵀ and add the mean back. (torch.pca_lowrank is randomized and "
                          "only approximate unless q is larger than k: torch.linalg.svd is exact.)")

    return run_check("pca_reconstruct", body)
