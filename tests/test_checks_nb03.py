"""The checks of notebook 03: right answers pass, each typical mistake is named, a stub is "not attempted"."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch

from helpers.checks import check_empty_fraction, check_interpolate
from helpers.checks.nb03 import empty_fraction_cases

from exercise_support import assert_mistake, solutions_are_correct, stubs_are_not_attempted

NOTEBOOK = "03_ae_latent_gaps.ipynb"
CHECKS = {"empty_fraction": check_empty_fraction, "interpolate": check_interpolate}

test_notebook_solutions_are_correct = solutions_are_correct(NOTEBOOK, CHECKS)
test_notebook_stubs_are_not_attempted = stubs_are_not_attempted(NOTEBOOK, CHECKS)


def _nearest(codes: torch.Tensor, probes: torch.Tensor) -> torch.Tensor:
    return torch.cdist(probes, codes).min(dim=1).values


def _squared_nearest(codes: torch.Tensor, probes: torch.Tensor) -> torch.Tensor:
    return ((probes[:, None, :] - codes[None, :, :]) ** 2).sum(-1).min(dim=1).values


@pytest.mark.parametrize("answer, mistake", [
    (lambda c, p, r: (_nearest(c, p) <= r).float().mean(), "inverted"),
    (lambda c, p, r: (_nearest(c, p) > r).sum(), "count_not_fraction"),
    (lambda c, p, r: 100 * (_nearest(c, p) > r).float().mean(), "percentage"),
    (lambda c, p, r: (torch.cdist(p, c).min(dim=0).values > r).float().mean(), "codes_not_probes"),
    (lambda c, p, r: (torch.cdist(p, c) > r).any(dim=1).float().mean(), "not_nearest"),
    (lambda c, p, r: (torch.cdist(p, c).mean(dim=1) > r).float().mean(), "mean_distance"),
    (lambda c, p, r: (_squared_nearest(c, p) > r).float().mean(), "squared_distance"),
    (lambda c, p, r: _nearest(c, p) > r, "not_one_number"),
    (lambda c, p, r: None, "returned_none"),
    (lambda c, p, r: "half", "not_a_number"),
    (lambda c, p, r: 0.5, "wrong_value"),
])
def test_empty_fraction_mistakes(answer: Callable[..., Any], mistake: str) -> None:
    assert_mistake(check_empty_fraction, answer, mistake)


def test_empty_fraction_cases_tell_the_mistakes_apart() -> None:
    """Each recognized mistake gives another list of answers over the examples than the right one."""
    shares = []
    for rule in (lambda d, r: d.min(1).values > r, lambda d, r: d.min(1).values <= r, lambda d, r: d.min(0).values > r,
                 lambda d, r: (d > r).any(1), lambda d, r: d.mean(1) > r, lambda d, r: d.min(1).values ** 2 > r):
        shares.append(tuple(round(float(rule(torch.cdist(p, c), r).double().mean()), 6)
                            for c, p, r in empty_fraction_cases()))
    assert len(set(shares)) == len(shares)


def test_empty_fraction_accepts_other_correct_forms() -> None:
    assert check_empty_fraction(lambda c, p, r: float((torch.cdist(p, c) > r).all(dim=1).float().mean())).ok
    assert check_empty_fraction(lambda c, p, r: np.mean(_squared_nearest(c, p).numpy() > r**2)).ok


@pytest.mark.parametrize("answer, mistake", [
    (lambda a, b, t: t[:, None] * a + (1 - t[:, None]) * b, "swapped"),
    (lambda a, b, t: a + t[:, None] * b, "forgot_one_minus"),
    (lambda a, b, t: a + t[:, None] * (a - b), "wrong_direction"),
    (lambda a, b, t: ((1 - t[:, None]) * a + t[:, None] * b).T, "transposed"),
    (lambda a, b, t: (1 - t[:, None]) * a + t[:, None] * b + 0.1, "wrong_value"),
    (lambda a, b, t: (1 - t.mean()) * a + t.mean() * b, "wrong_shape"),
    (lambda a, b, t: None, "returned_none"),
])
def test_interpolate_mistakes(answer: Callable[..., Any], mistake: str) -> None:
    assert_mistake(check_interpolate, answer, mistake)


def test_interpolate_accepts_other_correct_forms() -> None:
    assert check_interpolate(lambda a, b, t: torch.lerp(a, b, t[:, None])).ok
    assert check_interpolate(lambda a, b, t: torch.stack([a + float(s) * (b - a) for s in t])).ok
