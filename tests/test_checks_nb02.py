"""The checks of notebook 02: right answers pass, each typical mistake is named, a stub is "not attempted"."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pytest
import torch

from helpers.checks import check_conv_output_size, check_conv_transpose_output_size, check_count_parameters
from helpers.checks.nb02 import CONV_CASES, PARAMETER_CASES, TRANSPOSE_CASES

from exercise_support import assert_mistake, exercise_functions, solutions_are_correct, stubs_are_not_attempted

NOTEBOOK = "02_conv_autoencoder.ipynb"
CHECKS = {
    "conv_output_size": check_conv_output_size,
    "conv_transpose_output_size": check_conv_transpose_output_size,
    "count_parameters": check_count_parameters,
}

test_notebook_solutions_are_correct = solutions_are_correct(NOTEBOOK, CHECKS)
test_notebook_stubs_are_not_attempted = stubs_are_not_attempted(NOTEBOOK, CHECKS)


def test_the_reference_answers_match_pytorch() -> None:
    """The checks' right answers are PyTorch's own output sizes and parameter counts."""
    solutions = exercise_functions(NOTEBOOK, CHECKS, solved=True)
    for n, k, s, p in CONV_CASES:
        out = torch.nn.Conv2d(1, 1, k, stride=s, padding=p)(torch.zeros(1, 1, n, n)).shape[-1]
        assert solutions["conv_output_size"](n, k, s, p) == out
    for n, k, s, p, op in TRANSPOSE_CASES:
        layer = torch.nn.ConvTranspose2d(1, 1, k, stride=s, padding=p, output_padding=op)
        assert solutions["conv_transpose_output_size"](n, k, s, p, op) == layer(torch.zeros(1, 1, n, n)).shape[-1]
    for c_in, c_out, k in PARAMETER_CASES:
        layer = torch.nn.Conv2d(c_in, c_out, k)
        assert solutions["count_parameters"](c_in, c_out, k) == sum(p.numel() for p in layer.parameters())


@pytest.mark.parametrize("answer, mistake", [
    (lambda n, k, s, p: (n + 2 * p - k) / s + 1, "not_floored"),
    (lambda n, k, s, p: round((n + 2 * p - k) / s) + 1, "rounded"),
    (lambda n, k, s, p: math.ceil((n + 2 * p - k) / s) + 1, "rounded_up"),
    (lambda n, k, s, p: (n + p - k) // s + 1, "forgot_two_p"),
    (lambda n, k, s, p: (n - k) // s + 1, "forgot_padding"),
    (lambda n, k, s, p: (n + 2 * p - k) // s, "forgot_plus_one"),
    (lambda n, k, s, p: None, "returned_none"),
    (lambda n, k, s, p: "14", "not_a_number"),
    (lambda n, k, s, p: [n], "not_a_number"),
    (lambda n, k, s, p: n // s, "wrong_value"),
])
def test_conv_output_size_mistakes(answer: Callable[..., Any], mistake: str) -> None:
    assert_mistake(check_conv_output_size, answer, mistake)


def test_conv_output_size_accepts_other_correct_forms() -> None:
    assert check_conv_output_size(lambda n, k, s, p: math.floor((n + 2 * p - k) / s) + 1).ok
    assert check_conv_output_size(lambda n, k, s, p: int((n + 2 * p - k) / s + 1)).ok
    assert check_conv_output_size(lambda n, k, s, p: torch.tensor((n + 2 * p - k) // s + 1)).ok


@pytest.mark.parametrize("answer, mistake", [
    (lambda n, k, s, p, op: (n - 1) * s - 2 * p + k, "forgot_output_padding"),
    (lambda n, k, s, p, op: n * s - 2 * p + k + op, "used_n"),
    (lambda n, k, s, p, op: (n - 1) * s - p + k + op, "forgot_two_p"),
    (lambda n, k, s, p, op: (n - 1) * s + 2 * p + k + op, "padding_sign"),
    (lambda n, k, s, p, op: (n + 2 * p - k) // s + 1, "conv_formula"),
    (lambda n, k, s, p, op: n * s, "stride_only"),
    (lambda n, k, s, p, op: (n - 1) * s - 2 * p + k + op + 1, "wrong_value"),
])
def test_conv_transpose_output_size_mistakes(answer: Callable[..., Any], mistake: str) -> None:
    assert_mistake(check_conv_transpose_output_size, answer, mistake)


@pytest.mark.parametrize("answer, mistake", [
    (lambda c_in, c_out, k: c_out * c_in * k * k, "forgot_bias"),
    (lambda c_in, c_out, k: c_out * c_in * (k * k + 1), "bias_per_input"),
    (lambda c_in, c_out, k: c_out * (k * k + 1), "forgot_in_channels"),
    (lambda c_in, c_out, k: c_in * k * k + 1, "forgot_out_channels"),
    (lambda c_in, c_out, k: c_out * (c_in * k + 1), "kernel_not_squared"),
    (lambda c_in, c_out, k: (c_in + 1) * (c_out + 1) * k * k, "wrong_value"),
])
def test_count_parameters_mistakes(answer: Callable[..., Any], mistake: str) -> None:
    assert_mistake(check_count_parameters, answer, mistake)


def test_count_parameters_accepts_pytorch_itself() -> None:
    assert check_count_parameters(
        lambda c_in, c_out, k: sum(p.numel() for p in torch.nn.Conv2d(c_in, c_out, k).parameters())).ok


def test_a_crash_is_reported_without_a_traceback() -> None:
    verdict = assert_mistake(check_conv_output_size, lambda n, k, s, p: n / 0, "raised")
    assert "ZeroDivisionError" in verdict.message
