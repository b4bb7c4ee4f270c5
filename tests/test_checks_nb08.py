"""The checks of notebook 08: right answers pass, each typical mistake is named, a stub is "not attempted"."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch

import helpers
from helpers import disentanglement
from helpers.checks import check_active_units, check_mig_from_bins
from exercise_support import assert_mistake, solutions_are_correct, stubs_are_not_attempted

NOTEBOOK = "08_beta_vae_disentanglement.ipynb"
CHECKS = {"active_units": check_active_units, "mig_from_bins": check_mig_from_bins}
NAMESPACE = {"helpers": helpers, "disentanglement": disentanglement}

test_notebook_solutions_are_correct = solutions_are_correct(NOTEBOOK, CHECKS, NAMESPACE)
test_notebook_stubs_are_not_attempted = stubs_are_not_attempted(NOTEBOOK, CHECKS, NAMESPACE)


# --- active_units -----------------------------------------------------------------------------------------------------


def _centred_in_place(z_mean: torch.Tensor, threshold: float = 0.01) -> int:
    z_mean -= z_mean.mean(0)
    return int((z_mean.var(0) > threshold).sum())


@pytest.mark.parametrize("answer, mistake", [
    (lambda z, threshold=0.01: int((z.std(0) > threshold).sum()), "std_not_variance"),
    (lambda z, threshold=0.01: int((z.var(0) <= threshold).sum()), "counted_inactive"),
    (lambda z, threshold=0.01: int((z.mean(0).abs() > threshold).sum()), "mean_not_variance"),
    (lambda z, threshold=0.01: int((z.var(1) > threshold).sum()), "wrong_dimension"),
    (lambda z, threshold=0.01: z.var(0) > threshold, "returned_mask"),
    (lambda z, threshold=0.01: int((z.var(0) > 0.01).sum()), "ignored_threshold"),
    (_centred_in_place, "modified_input"),
    (lambda z, threshold=0.01: z.shape[1], "wrong_value"),
    (lambda z, threshold=0.01: None, "returned_none"),
    (lambda z, threshold=0.01: "ten", "not_a_number"),
    (lambda z, threshold=0.01: z.var(0, dim=1), "raised"),
])
def test_active_units_mistakes(answer: Callable[..., Any], mistake: str) -> None:
    assert_mistake(check_active_units, answer, mistake)


def test_active_units_accepts_other_correct_forms() -> None:
    assert check_active_units(lambda z, threshold=0.01: disentanglement.active_units(z, threshold).sum()).ok
    assert check_active_units(lambda z, threshold=0.01: int((np.var(z.numpy(), axis=0) > threshold).sum())).ok


# --- mig_from_bins ----------------------------------------------------------------------------------------------------


def _information(codes: torch.Tensor, factors: torch.Tensor) -> torch.Tensor:
    return torch.tensor([[disentanglement.mutual_information(codes[:, j], factors[:, k])
                          for k in range(factors.shape[1])] for j in range(codes.shape[1])])


def _factor_entropies(factors: torch.Tensor) -> torch.Tensor:
    return torch.tensor([disentanglement.entropy(factors[:, k]) for k in range(factors.shape[1])])


def _gaps(codes, factors, second=1, normalize=True):
    ordered = _information(codes, factors).sort(dim=0, descending=True).values
    gaps = ordered[0] - ordered[second]
    return gaps / _factor_entropies(factors) if normalize else gaps


def _no_gap(codes, factors):
    return _information(codes, factors).max(0).values / _factor_entropies(factors)


def _code_entropy(codes, factors):
    information = _information(codes, factors)
    ordered = information.sort(dim=0, descending=True).values
    best = information.argmax(0)
    return (ordered[0] - ordered[1]) / torch.tensor([disentanglement.entropy(codes[:, j]) for j in best.tolist()])


def _swapped(codes, factors):
    return _gaps(factors, codes)


def _sorted_in_place(codes, factors):
    codes[:] = codes.sort(dim=0).values
    return _gaps(codes, factors)


def _numpy_loop(codes, factors):
    gaps = []
    for k in range(factors.shape[1]):
        information = sorted((disentanglement.mutual_information(codes[:, j], factors[:, k])
                              for j in range(codes.shape[1])), reverse=True)
        gaps.append((information[0] - information[1]) / disentanglement.entropy(factors[:, k]))
    return np.array(gaps)


@pytest.mark.parametrize("answer, mistake", [
    (lambda c, f: _gaps(c, f, normalize=False), "not_normalized"),
    (_no_gap, "no_gap"),
    (lambda c, f: _gaps(c, f, second=-1), "gap_to_smallest"),
    (_code_entropy, "code_entropy"),
    (lambda c, f: _gaps(c, f).mean(), "averaged"),
    (_swapped, "swapped_roles"),
    (_sorted_in_place, "modified_input"),
    (lambda c, f: _gaps(c, f)[:2], "wrong_shape"),
    (lambda c, f: _gaps(c, f, second=2), "wrong_value"),
    (lambda c, f: None, "returned_none"),
    (lambda c, f: {"mig": 0.5}, "not_a_number"),
    (lambda c, f: disentanglement.mutual_information(c, f[:10]), "raised"),
])
def test_mig_from_bins_mistakes(answer: Callable[..., Any], mistake: str) -> None:
    assert_mistake(check_mig_from_bins, answer, mistake)


def test_mig_from_bins_accepts_a_loop_in_numpy_and_the_helpers_mig() -> None:
    assert check_mig_from_bins(_numpy_loop).ok
    assert check_mig_from_bins(lambda c, f: disentanglement.mig(c, f)).ok  # bins with few values keep their values
