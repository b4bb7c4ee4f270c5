"""helpers.arithmetic: attribute vectors, edits, interpolation and slerp, and the CelebA skip."""

from __future__ import annotations

import time

import pytest
import torch

import helpers.config
from helpers import arithmetic
from helpers.data import DataError


def test_attribute_vector_is_the_difference_of_group_means() -> None:
    codes = torch.tensor([[1.0, 0.0], [3.0, 2.0], [0.0, 0.0], [0.0, 4.0], [0.0, 2.0]])
    has = torch.tensor([True, True, False, False, False])
    assert torch.allclose(arithmetic.attribute_vector(codes, has), torch.tensor([2.0, -1.0]))
    with pytest.raises(ValueError, match="without"):
        arithmetic.attribute_vector(codes, torch.ones(5, dtype=torch.bool))


def test_edit_codes_moves_every_code_along_the_direction() -> None:
    z = torch.tensor([[0.0, 1.0], [2.0, 2.0]])
    edited = arithmetic.edit_codes(z, torch.tensor([1.0, -1.0]), torch.tensor([-1.0, 0.0, 2.0]))
    assert edited.shape == (2, 3, 2)
    assert torch.equal(edited[:, 1], z)
    assert torch.equal(edited[1, 2], torch.tensor([4.0, 0.0]))


def test_interpolate_runs_from_a_to_b() -> None:
    z_a, z_b = torch.tensor([0.0, 2.0]), torch.tensor([4.0, 0.0])
    path = arithmetic.interpolate(z_a, z_b, torch.tensor([0.0, 0.25, 1.0]))
    assert torch.equal(path, torch.tensor([[0.0, 2.0], [1.0, 1.5], [4.0, 0.0]]))


def test_slerp_keeps_the_length_of_equal_length_codes_and_hits_both_ends() -> None:
    generator = torch.Generator().manual_seed(0)
    z_a, z_b = torch.randn(2, 16, generator=generator)
    z_b = z_b / z_b.norm() * z_a.norm()
    alphas = torch.linspace(0, 1, 11)
    path = arithmetic.slerp(z_a, z_b, alphas)
    assert torch.allclose(path[0], z_a, atol=1e-5) and torch.allclose(path[-1], z_b, atol=1e-5)
    assert torch.allclose(path.norm(dim=1), z_a.norm().expand(11), rtol=1e-5)
    assert arithmetic.interpolate(z_a, z_b, alphas)[5].norm() < 0.9 * z_a.norm()  # the straight line dips


def test_slerp_of_parallel_codes_falls_back_to_the_straight_line() -> None:
    z_a = torch.tensor([1.0, 2.0, 2.0])
    alphas = torch.tensor([0.0, 0.5, 1.0])
    path = arithmetic.slerp(z_a, 3 * z_a, alphas)
    assert torch.isfinite(path).all()
    assert torch.allclose(path, arithmetic.interpolate(z_a, 3 * z_a, alphas))


def test_random_directions_have_the_given_length_and_repeat_with_the_seed() -> None:
    directions = arithmetic.random_directions(50, 8, 2.5, seed=3)
    assert directions.shape == (50, 8)
    assert torch.allclose(directions.norm(dim=1), torch.full((50,), 2.5))
    assert torch.equal(directions, arithmetic.random_directions(50, 8, 2.5, seed=3))
    assert directions.mean(0).norm() < 1.0  # spread over the sphere, not one direction


def test_within_class_vector_ignores_differences_between_classes() -> None:
    # dimension 0 follows the measure within each class; dimension 1 marks the class, whose measure differs a lot
    generator = torch.Generator().manual_seed(0)
    labels = torch.arange(2).repeat_interleave(400)
    within = torch.rand(800, generator=generator)
    measure = within + 5 * labels
    codes = torch.stack([within, labels.float()], dim=1)
    vector = arithmetic.within_class_vector(codes, labels, measure)
    assert vector[0] > 0.4 and abs(vector[1]) < 1e-6
    pooled = arithmetic.attribute_vector(codes, measure > measure.median())
    assert pooled[1] > 0.9  # quartiles over all codes would mostly pick the class


def test_load_celeba_skips_quickly_with_the_reason(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.setattr(arithmetic, "DATA_DIR", tmp_path)
    with pytest.raises(DataError, match="not in"):
        arithmetic.load_celeba()
    monkeypatch.setattr(arithmetic.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(DataError, match="gdown"):
        arithmetic.load_celeba(download=True)
    monkeypatch.setattr(arithmetic.importlib.util, "find_spec", lambda name: object())
    monkeypatch.setattr(arithmetic, "server_answers", lambda host, port: False)
    start = time.perf_counter()
    with pytest.raises(DataError, match="offline"):
        arithmetic.load_celeba(download=True)
    assert time.perf_counter() - start < 1.0
