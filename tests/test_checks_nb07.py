"""The checks of notebook 07: right answers pass, each typical mistake is named, a stub is "not attempted"."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch

import helpers
from helpers import metrics
from helpers.arithmetic import interpolate
from helpers.checks import check_attribute_vector, check_glasses_side_effects, check_morph, check_slerp
from helpers.batches import decode_codes, encode_means
from exercise_support import assert_mistake, solutions_are_correct, stubs_are_not_attempted

NOTEBOOK = "07_latent_arithmetic_morphing.ipynb"
CHECKS = {"attribute_vector": check_attribute_vector, "glasses_side_effects": check_glasses_side_effects,
          "morph": check_morph, "slerp": check_slerp}
NAMESPACE = {"helpers": helpers, "metrics": metrics, "encode_means": encode_means, "decode_codes": decode_codes}

test_notebook_solutions_are_correct = solutions_are_correct(NOTEBOOK, CHECKS, NAMESPACE)
test_notebook_stubs_are_not_attempted = stubs_are_not_attempted(NOTEBOOK, CHECKS, NAMESPACE)


# --- attribute_vector -------------------------------------------------------------------------------------------------


def _right_vector(codes: torch.Tensor, has: torch.Tensor) -> torch.Tensor:
    return codes[has].mean(0) - codes[~has].mean(0)


def _subtract_in_place(codes: torch.Tensor, has: torch.Tensor) -> torch.Tensor:
    codes -= codes[~has].mean(0)
    return codes[has].mean(0)


@pytest.mark.parametrize("answer, mistake", [
    (lambda c, h: c[~h].mean(0) - c[h].mean(0), "reversed_sign"),
    (lambda c, h: c.mean(0), "mean_of_all"),
    (lambda c, h: c[h].mean(0) - c.mean(0), "minus_overall_mean"),
    (lambda c, h: c[h].mean(0), "forgot_difference"),
    (lambda c, h: c[h].sum(0) - c[~h].sum(0), "summed"),
    (lambda c, h: _right_vector(c, h) / _right_vector(c, h).norm(), "normalized"),
    (lambda c, h: c[h].mean(1), "wrong_shape"),
    (lambda c, h: 2 * _right_vector(c, h), "wrong_value"),
    (_subtract_in_place, "modified_input"),
    (lambda c, h: None, "returned_none"),
    (lambda c, h: "smile", "not_a_number"),
    (lambda c, h: c[h].mean(0) - c[not h].mean(0), "raised"),
])
def test_attribute_vector_mistakes(answer: Callable[..., Any], mistake: str) -> None:
    assert_mistake(check_attribute_vector, answer, mistake)


def test_attribute_vector_accepts_other_correct_forms() -> None:
    assert check_attribute_vector(lambda c, h: (c[h].numpy().mean(axis=0) - c[~h].numpy().mean(axis=0))).ok
    assert check_attribute_vector(
        lambda c, h: (h.float() @ c) / h.sum() - ((~h).float() @ c) / (~h).sum()).ok
    assert check_attribute_vector(helpers.arithmetic.attribute_vector).ok


# --- glasses_side_effects ---------------------------------------------------------------------------------------------


def _side_effects(model, regressor, images, has, alphas, *, vector=None, standardized=True, decode=True):
    """glasses_side_effects, right (the defaults) or with one mistake: another vector, raw units, no decoding."""
    codes = encode_means(model, images)
    if vector is None:
        vector = codes[has].mean(0) - codes[~has].mean(0)
    vector = vector(codes, has) if callable(vector) else vector
    edited = codes[:, None, :] + alphas[None, :, None] * vector  # faces × α × d
    shown = decode_codes(model, edited.flatten(0, 1)) if decode else images.repeat_interleave(len(alphas), 0)
    measured = regressor.predict(shown, standardized=standardized).unflatten(0, edited.shape[:2])
    return metrics.slopes(alphas, measured).mean(0)


def _pixel_edit(model, regressor, images, has, alphas):
    direction = images[has].mean(0) - images[~has].mean(0)
    measured = torch.stack([regressor.predict((images + a * direction).clamp(0, 1), standardized=True)
                            for a in alphas], dim=1)
    return metrics.slopes(alphas, measured).mean(0)


def _pixel_edit_of_reconstructions(model, regressor, images, has, alphas):
    return _pixel_edit(model, regressor, decode_codes(model, encode_means(model, images)), has, alphas)


def _sampled_codes(model, regressor, images, has, alphas):
    z_mean, z_log_var = model.encode(images)
    codes = (z_mean + torch.exp(0.5 * z_log_var) * torch.randn_like(z_mean)).detach()
    edited = codes[:, None, :] + alphas[None, :, None] * (codes[has].mean(0) - codes[~has].mean(0))
    measured = regressor.predict(decode_codes(model, edited.flatten(0, 1)), standardized=True)
    return metrics.slopes(alphas, measured.unflatten(0, edited.shape[:2])).mean(0)


def _brightened_in_place(model, regressor, images, has, alphas):
    images[has] *= 0.9
    return _side_effects(model, regressor, images, has, alphas)


def _polyfit_loop(model, regressor, images, has, alphas):
    codes = encode_means(model, images)
    vector = codes[has].mean(0) - codes[~has].mean(0)
    values = np.stack([regressor.predict(decode_codes(model, codes + a * vector), standardized=True).numpy()
                       for a in alphas.tolist()], axis=1)  # faces × α × attributes
    a = alphas.numpy()
    return np.polyfit(a, values.mean(0), 1)[0]  # the slope of the mean is the mean of the slopes


@pytest.mark.parametrize("answer, mistake", [
    (lambda *args: _side_effects(*args, vector=lambda c, h: c[~h].mean(0) - c[h].mean(0)), "reversed_vector"),
    (lambda *args: _side_effects(*args, standardized=False), "not_standardized"),
    (lambda *args: _side_effects(*args, decode=False), "not_decoded"),
    (lambda *args: _side_effects(*args, vector=lambda c, h: (c[h].mean(0) - c[~h].mean(0))
                                 / (c[h].mean(0) - c[~h].mean(0)).norm()), "normalized_vector"),
    (lambda *args: _side_effects(*args, vector=lambda c, h: c[h].mean(0) - c.mean(0)), "minus_overall_mean"),
    (_pixel_edit, "pixel_space"),
    (_pixel_edit_of_reconstructions, "pixel_space"),
    (_sampled_codes, "sampled_codes"),
    (_brightened_in_place, "modified_input"),
    (lambda *args: _side_effects(*args, vector=lambda c, h: c[h].sum(0) - c[~h].sum(0)), "wrong_value"),
    (lambda m, r, images, has, alphas: r.predict(images, standardized=True), "wrong_shape"),
    (lambda *args: None, "returned_none"),
])
def test_glasses_side_effects_mistakes(answer: Callable[..., Any], mistake: str) -> None:
    assert_mistake(check_glasses_side_effects, answer, mistake)


def test_glasses_side_effects_accepts_a_loop_and_numpy() -> None:
    assert check_glasses_side_effects(_polyfit_loop).ok


# --- morph ------------------------------------------------------------------------------------------------------------


def _codes(model: torch.nn.Module, x_a: torch.Tensor, x_b: torch.Tensor) -> torch.Tensor:
    return encode_means(model, torch.stack([x_a, x_b]))


def _swapped(model, x_a, x_b, alphas):
    z_a, z_b = _codes(model, x_a, x_b)
    return decode_codes(model, interpolate(z_b, z_a, alphas))


def _decoded_blend(model, x_a, x_b, alphas):
    ends = decode_codes(model, _codes(model, x_a, x_b))
    w = alphas[:, None, None, None]
    return (1 - w) * ends[0] + w * ends[1]


def _sampled(model, x_a, x_b, alphas):
    z_mean, z_log_var = model.encode(torch.stack([x_a, x_b]))
    z_a, z_b = z_mean + torch.exp(0.5 * z_log_var) * torch.randn_like(z_mean)
    return model.decode(interpolate(z_a, z_b, alphas))


def _loop(model, x_a, x_b, alphas):
    z_a, z_b = _codes(model, x_a, x_b)
    return torch.cat([model.decode(((1 - a) * z_a + a * z_b)[None]) for a in alphas])


@pytest.mark.parametrize("answer, mistake", [
    (_swapped, "swapped_ends"),
    (lambda m, x_a, x_b, alphas: (1 - alphas[:, None, None, None]) * x_a + alphas[:, None, None, None] * x_b,
     "pixel_space"),
    (_decoded_blend, "blended_decoded"),
    (lambda m, x_a, x_b, alphas: interpolate(*_codes(m, x_a, x_b), alphas), "returned_codes"),
    (_sampled, "sampled_codes"),
    (lambda m, x_a, x_b, alphas: decode_codes(m, _codes(m, x_a, x_b)[:1]), "wrong_shape"),
    (lambda m, x_a, x_b, alphas: (1 - alphas) * _codes(m, x_a, x_b)[0], "raised"),
    (lambda m, x_a, x_b, alphas: None, "returned_none"),
])
def test_morph_mistakes(answer: Callable[..., Any], mistake: str) -> None:
    assert_mistake(check_morph, answer, mistake)


def test_morph_accepts_a_loop_over_alphas() -> None:
    assert check_morph(_loop).ok


def test_morph_check_leaves_the_global_random_state_alone() -> None:
    torch.manual_seed(0)
    expected = torch.rand(3)
    torch.manual_seed(0)
    check_morph(_loop)
    assert torch.equal(torch.rand(3), expected)


# --- slerp ------------------------------------------------------------------------------------------------------------


def _angle(z_a: torch.Tensor, z_b: torch.Tensor) -> torch.Tensor:
    return torch.arccos(torch.dot(z_a, z_b) / (z_a.norm() * z_b.norm()))


def _weights(z_a, z_b, alphas):
    return alphas[:, None], _angle(z_a, z_b)


def _no_division(z_a, z_b, alphas):
    a, w = _weights(z_a, z_b, alphas)
    return torch.sin((1 - a) * w) * z_a + torch.sin(a * w) * z_b


def _cosine_as_angle(z_a, z_b, alphas):
    a, c = alphas[:, None], torch.dot(z_a, z_b) / (z_a.norm() * z_b.norm())
    return (torch.sin((1 - a) * c) * z_a + torch.sin(a * c) * z_b) / torch.sin(c)


def _unnormalized_dot(z_a, z_b, alphas):
    a, w = alphas[:, None], torch.arccos(torch.dot(z_a, z_b))
    return (torch.sin((1 - a) * w) * z_a + torch.sin(a * w) * z_b) / torch.sin(w)


def _loop_slerp(z_a, z_b, alphas):
    w = math.acos(float(z_a @ z_b / (z_a.norm() * z_b.norm())))
    return np.stack([(math.sin((1 - a) * w) * z_a + math.sin(a * w) * z_b).numpy() / math.sin(w)
                     for a in alphas.tolist()])


@pytest.mark.parametrize("answer, mistake", [
    (interpolate, "linear"),
    (lambda z_a, z_b, alphas: helpers.arithmetic.slerp(z_b, z_a, alphas), "swapped_ends"),
    (_no_division, "forgot_sin_omega"),
    (_cosine_as_angle, "cosine_as_angle"),
    (_unnormalized_dot, "nan"),
    (lambda z_a, z_b, alphas: helpers.arithmetic.slerp(z_a, z_b, alphas)[:, :2], "wrong_shape"),
    (lambda z_a, z_b, alphas: helpers.arithmetic.slerp(z_a, z_b, alphas) + 0.1, "wrong_value"),
    (lambda z_a, z_b, alphas: None, "returned_none"),
])
def test_slerp_mistakes(answer: Callable[..., Any], mistake: str) -> None:
    assert_mistake(check_slerp, answer, mistake)


def test_slerp_accepts_a_loop_in_plain_python() -> None:
    assert check_slerp(_loop_slerp).ok
