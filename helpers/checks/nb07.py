"""Checks for the exercises of notebook 07 (latent arithmetic and morphing).

Each check runs the student's function on its own small cases (its own tiny VAE for ``morph``), compares the
result with the right answer and, when it is wrong, with the answers the usual mistakes give, to name the mistake.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np
import torch

from torch import nn

from ..arithmetic import attribute_vector, edit_codes, interpolate
from ..arithmetic import slerp as right_slerp
from ..batches import decode_codes, encode_means
from ..instruments import AttributeRegressor
from ..metrics import measure_codes, slopes
from ..models import ConvVAE
from ._core import Candidates, Mistake, Verdict, as_numbers, diagnose, run_check, same

__all__ = ["check_attribute_vector", "check_glasses_side_effects", "check_morph", "check_slerp"]

_TOLERANCE = {"rtol": 1e-4, "atol": 1e-6}
_diagnose = partial(diagnose, nan_hint="NaN comes from arccos of a number outside [−1, 1], or from 0/0.", **_TOLERANCE)


def _image_differences(alphas: torch.Tensor) -> Callable[[np.ndarray, np.ndarray], str]:
    """Words for wrong images: at which α they differ, and by how much at most."""

    def describe(result: np.ndarray, expected: np.ndarray) -> str:
        differences = np.abs(result - expected).reshape(len(expected), -1).max(axis=1)
        wrong = [f"{a:g}" for a, d in zip(alphas.tolist(), differences) if d > 1e-4]
        return (f"the images at α = {', '.join(wrong)} differ from the decoded (1 − α)·z_A + α·z_B by up to "
                f"{differences.max():.3f} per pixel")

    return describe


def check_attribute_vector(attribute_vector: Callable[..., Any]) -> Verdict:
    """Check ``attribute_vector(codes, has_attribute)`` = mean code with the attribute − mean code without."""

    def body() -> None:
        generator = torch.Generator().manual_seed(7)
        codes = torch.randn(20, 3, generator=generator) + torch.tensor([1.0, -2.0, 0.5])
        has = torch.zeros(20, dtype=torch.bool)
        has[[1, 4, 5, 9, 12, 16, 18]] = True  # 7 with the attribute, 13 without: sums and means differ
        codes[has] += torch.tensor([2.0, 0.5, -1.0])
        given = codes.clone()
        result = as_numbers(attribute_vector(given, has.clone()), "attribute_vector")
        if not torch.equal(given, codes):
            raise Mistake("modified_input", "your function changed the tensor `codes` it was given.",
                          "Compute new tensors (`codes[has_attribute].mean(0)`) instead of changing `codes` in place.")
        with_, without = codes[has].mean(0), codes[~has].mean(0)
        expected = with_ - without
        _diagnose(result, expected, [
            ("reversed_sign", without - with_, "the sign is reversed: you computed (without − with).",
             "The vector points *towards* the attribute: mean code with it minus mean code without it."),
            ("mean_of_all", codes.mean(0), "you returned the mean of all codes, not a difference.",
             "Average the two groups separately (`codes[has_attribute]` and `codes[~has_attribute]`), then subtract."),
            ("minus_overall_mean", with_ - codes.mean(0),
             "you subtracted the mean of *all* codes instead of the mean of the codes without the attribute.",
             "Use only the rows without the attribute: `codes[~has_attribute].mean(0)`."),
            ("forgot_difference", with_, "you returned the mean code with the attribute only.",
             "Subtract the mean code of the rows without it."),
            ("summed", codes[has].sum(0) - codes[~has].sum(0),
             "you summed the codes of each group instead of averaging them: the bigger group wins.",
             "Use `.mean(0)`: the two groups have different sizes (7 and 13 here)."),
            ("normalized", expected / expected.norm(), "you scaled the vector to length 1.",
             "Keep its length: the difference of the means is already in the units of the latent space, so "
             "α = 1 moves a code by the typical difference between the groups."),
        ], "7 codes with the attribute and 13 without", "Average over the rows (`dim=0`): one number per latent "
           "dimension, a vector of length d.")

    return run_check("attribute_vector", body)


def _tiny_vae(in_channels: int = 1) -> ConvVAE:
    """A small VAE with fixed random weights (8×8 images, 3-number codes): enough to check the arithmetic.

    Its weights are drawn from N(0, 0.5²), larger than a fresh network's, so that codes lie far apart and the
    decoder is clearly non-linear between them (blending two decoded images then differs from decoding the blended
    codes by up to 0.05 per pixel).
    """
    with torch.random.fork_rng():
        torch.manual_seed(3)
        model = ConvVAE(3, in_channels=in_channels, image_size=8, channels=(4, 4), hidden=8)
        with torch.no_grad():
            for parameter in model.parameters():
                parameter.normal_(0.0, 0.5)
    return model.eval()


def check_morph(morph: Callable[..., Any]) -> Verdict:
    """Check ``morph(model, x_a, x_b, alphas)``: decode ``(1 − α)·z_A + α·z_B`` for each α, ``A×C×H×W``."""

    def body() -> None:
        model = _tiny_vae()
        generator = torch.Generator().manual_seed(5)
        x_a, x_b = torch.rand(2, 1, 8, 8, generator=generator)
        alphas = torch.tensor([0.0, 0.2, 0.5, 0.7, 1.0])
        result = as_numbers(morph(model, x_a.clone(), x_b.clone(), alphas.clone()), "morph")
        again = as_numbers(morph(model, x_a.clone(), x_b.clone(), alphas.clone()), "morph")
        if not same(again, result, **_TOLERANCE):
            raise Mistake("sampled_codes", "two calls with the same images gave different results: your codes are "
                          "random samples.", "Use the means z_mean of the encoder (as `encode_means` gives them), "
                          "not samples z = μ + σ·ε.")
        z_a, z_b = encode_means(model, torch.stack([x_a, x_b]))
        expected = decode_codes(model, interpolate(z_a, z_b, alphas))
        weights = alphas[:, None, None, None]
        candidates: Candidates = [
            ("swapped_ends", decode_codes(model, interpolate(z_b, z_a, alphas)),
             "the ends are swapped: α = 0 gives face B.", "α = 0 must give z_A: (1 − α)·z_A + α·z_B."),
            ("pixel_space", (1 - weights) * x_a + weights * x_b,
             "you blended the *images* x_A and x_B pixel by pixel: that is a cross-fade, not a morph.",
             "Interpolate the *codes* z_A and z_B, then decode every interpolated code."),
            ("blended_decoded",
             (1 - weights) * decode_codes(model, z_a[None]) + weights * decode_codes(model, z_b[None]),
             "you blended the two decoded images: still a cross-fade in pixel space.",
             "Interpolate the codes first and decode each interpolated code: the decoder is not linear."),
            ("returned_codes", interpolate(z_a, z_b, alphas), "you returned the interpolated codes, not images.",
             "Decode them: `helpers.batches.decode_codes(model, z)`."),
        ]
        _diagnose(result, expected, candidates, "5 values of α from 0 to 1",
                  "Return one decoded image per α: `(1 - alphas[:, None]) * z_a + alphas[:, None] * z_b` is one code "
                  "per α; decode all of them at once.", _image_differences(alphas))

    return run_check("morph", body)


def _tiny_regressor() -> AttributeRegressor:
    """An attribute regressor for 3×8×8 images with fixed random weights: a linear read-out of the nine attributes,
    with nine different standard deviations (so that slopes in the attributes' own units differ from standardized
    ones)."""
    with torch.random.fork_rng():
        torch.manual_seed(4)
        regressor = AttributeRegressor(torch.randn(9), torch.linspace(0.2, 3.0, 9))
        regressor.net = nn.Sequential(nn.Flatten(), nn.Linear(3 * 8 * 8, 9))
    return regressor.eval()


def _glasses_slopes(model: ConvVAE, regressor: AttributeRegressor, codes: torch.Tensor, vector: torch.Tensor,
                    alphas: torch.Tensor) -> torch.Tensor:
    """The mean slope against α of every standardized attribute of the decoded codes + α·vector."""
    return slopes(alphas, measure_codes(model, regressor, edit_codes(codes, vector, alphas))).mean(0)


def _pixel_slopes(regressor: AttributeRegressor, images: torch.Tensor, direction: torch.Tensor,
                  alphas: torch.Tensor, clamp: bool) -> torch.Tensor:
    """The same for an edit in pixel space: images + α·direction (clamped to [0, 1] or not)."""
    edited = images[:, None] + alphas[None, :, None, None, None] * direction
    edited = edited.clamp(0, 1) if clamp else edited
    measured = regressor.predict(edited.flatten(0, 1), standardized=True).unflatten(0, edited.shape[:2])
    return slopes(alphas, measured).mean(0)


def check_glasses_side_effects(glasses_side_effects: Callable[..., Any]) -> Verdict:
    """Check ``glasses_side_effects(model, regressor, images, has_glasses, alphas)``: the mean slope against α of
    every standardized attribute that the regressor reads off the decoded ``z + α·(glasses vector)``."""

    def body() -> None:
        model, regressor = _tiny_vae(in_channels=3), _tiny_regressor()
        generator = torch.Generator().manual_seed(8)
        images = torch.rand(24, 3, 8, 8, generator=generator)
        has = torch.zeros(24, dtype=torch.bool)
        has[[0, 3, 4, 9, 11, 15, 17, 20, 22]] = True  # 9 faces with glasses, 15 without
        images[has, :, 2:4] = 0.05  # dark rims across the "eyes": the glasses
        alphas = torch.tensor([-1.0, -0.5, 0.0, 0.5, 1.0, 1.5])
        given = images.clone()
        result = as_numbers(glasses_side_effects(model, regressor, given, has.clone(), alphas.clone()),
                            "glasses_side_effects")
        if not torch.equal(given, images):
            raise Mistake("modified_input", "your function changed the images it was given.",
                          "Compute new tensors instead of changing `images` in place.")
        again = as_numbers(glasses_side_effects(model, regressor, images.clone(), has.clone(), alphas.clone()),
                           "glasses_side_effects")
        if not same(again, result, rtol=1e-4, atol=1e-6):
            raise Mistake("sampled_codes", "two calls with the same images gave different slopes: your codes are "
                          "random samples.", "Use the means z_mean (`encode_means(model, images)`), not z = μ + σ·ε.")
        codes = encode_means(model, images)
        vector = attribute_vector(codes, has)
        expected = _glasses_slopes(model, regressor, codes, vector, alphas)
        decoded = decode_codes(model, codes)
        to_codes = "Edit the codes, z + α·(glasses vector), and decode every edited code before you measure it."
        candidates: Candidates = [
            ("reversed_vector", _glasses_slopes(model, regressor, codes, -vector, alphas),
             "your glasses vector points the wrong way: (mean code without) − (mean code with).",
             "The vector points *towards* the attribute: mean code with glasses minus mean code without."),
            ("not_standardized", expected * regressor.std, "your slopes are in the attributes' own units: an "
             "attribute with a wide range looks as if it changed more.",
             "Measure standardized attributes, `regressor.predict(images, standardized=True)`, so that a slope is "
             "in standard deviations per unit of α and the nine can be compared."),
            ("not_decoded", torch.zeros_like(expected), "every slope is 0: the images you measured do not change "
             "with α.", to_codes),
            ("normalized_vector", _glasses_slopes(model, regressor, codes, vector / vector.norm(), alphas),
             "you scaled the glasses vector to length 1.", "Keep its length: α = 1 should move a code by the "
             "typical difference between faces with and without glasses."),
            ("minus_overall_mean", _glasses_slopes(model, regressor, codes, codes[has].mean(0) - codes.mean(0),
                                                   alphas),
             "your vector subtracts the mean of *all* codes, not the mean code of the faces without glasses.",
             "glasses vector = `codes[has_glasses].mean(0) - codes[~has_glasses].mean(0)`."),
        ] + [
            ("pixel_space", _pixel_slopes(regressor, start, start[has].mean(0) - start[~has].mean(0), alphas, clamp),
             "you edited the *pixels* (image + α·(mean image with glasses − mean image without)): that pastes a faint "
             "average of glasses onto the image instead of letting the decoder draw them.", to_codes)
            for start in (images, decoded) for clamp in (False, True)  # the originals or their reconstructions
        ]
        diagnose(result, expected, candidates, "24 faces, 9 of them with glasses",
                 "Return one slope per attribute (9 numbers): the slope against α for every face, averaged over "
                 "the faces (`metrics.slopes(alphas, values)` fits them along dimension 1).", **_TOLERANCE)

    return run_check("glasses_side_effects", body)


def check_slerp(slerp: Callable[..., Any]) -> Verdict:
    """Check ``slerp(z_a, z_b, alphas)``: spherical interpolation, one row per α, ``A×d``."""

    def body() -> None:
        alphas = torch.tensor([0.0, 0.25, 0.5, 0.9, 1.0])
        cases = [
            (torch.tensor([2.0, 0.0, 0.0]), torch.tensor([1.0, 3**0.5, 0.0]), "two codes of length 2 at 60°"),
            (torch.tensor([1.0, 2.0, -0.5, 0.3]), torch.tensor([-2.0, 0.5, 1.0, 1.5]), "two codes of unequal length"),
        ]
        for z_a, z_b, case in cases:
            result = as_numbers(slerp(z_a.clone(), z_b.clone(), alphas.clone()), "slerp")
            expected = right_slerp(z_a, z_b, alphas)
            a, w = alphas[:, None], torch.arccos(torch.dot(z_a, z_b) / (z_a.norm() * z_b.norm()))
            cosine = torch.dot(z_a, z_b) / (z_a.norm() * z_b.norm())
            _diagnose(result, expected, [
                ("linear", interpolate(z_a, z_b, alphas),
                 "this is linear interpolation, (1 − α)·z_A + α·z_B: the path cuts through the sphere.",
                 "Use the angle Ω between the codes: sin((1 − α)Ω)/sin Ω · z_A + sin(αΩ)/sin Ω · z_B."),
                ("swapped_ends", right_slerp(z_b, z_a, alphas), "the ends are swapped: α = 0 gives z_B.",
                 "α = 0 must give z_A: its weight is sin((1 − α)Ω)/sin Ω."),
                ("forgot_sin_omega", torch.sin((1 - a) * w) * z_a + torch.sin(a * w) * z_b,
                 "the division by sin Ω is missing: the ends do not land on z_A and z_B.",
                 "Divide both weights by sin Ω; then α = 0 gives exactly z_A."),
                ("cosine_as_angle", (torch.sin((1 - a) * cosine) * z_a + torch.sin(a * cosine) * z_b)
                 / torch.sin(cosine), "you used the cosine of the angle as the angle itself.",
                 "Ω = arccos(z_A·z_B / (|z_A|·|z_B|)): take the arccos."),
            ], case, "Return one interpolated code per α: shape (number of α values, d).")

    return run_check("slerp", body)
