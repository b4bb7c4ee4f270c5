"""The measuring instruments: the judge's loss and shifts, the attribute regressor's units and buffers."""

import math

import pytest
import torch
from torch import nn

from helpers import instruments


def test_regressor_predicts_in_attribute_units_and_its_loss_standardizes() -> None:
    torch.manual_seed(0)
    mean, std = torch.arange(9.0), torch.full((9,), 2.0)
    model = instruments.AttributeRegressor(mean, std).eval()
    images = torch.rand(4, 3, 32, 32)
    standardized = model.predict(images, standardized=True)
    assert standardized.shape == (4, 9)
    assert torch.allclose(model.predict(images), standardized * std + mean)
    targets = standardized * std + mean  # attributes that the model predicts exactly
    parts = instruments.attribute_loss(model, (images, targets))
    assert parts["total"].item() < 1e-10 and parts["smile_mae"].item() < 1e-5
    parts = instruments.attribute_loss(model, (images, targets + std))  # one standard deviation off everywhere
    assert math.isclose(parts["total"].item(), 1.0, rel_tol=1e-5)
    assert math.isclose(parts["smile_mae"].item(), 2.0, rel_tol=1e-5)


def test_regressor_buffers_travel_with_the_state_dict() -> None:
    model = instruments.AttributeRegressor(torch.ones(9), torch.full((9,), 3.0))
    copy = instruments.AttributeRegressor()
    copy.load_state_dict(model.state_dict())
    assert torch.equal(copy.mean, torch.ones(9)) and torch.equal(copy.std, torch.full((9,), 3.0))


def test_random_shift_moves_whole_images() -> None:
    images = torch.zeros(64, 1, 8, 8)
    images[:, 0, 3:5, 3:5] = 1.0
    torch.manual_seed(0)
    shifted = instruments.random_shift(images, max_shift=2)
    assert shifted.shape == images.shape
    assert torch.equal(shifted.sum((1, 2, 3)), images.sum((1, 2, 3)))  # nothing falls off for a central blob
    assert not torch.equal(shifted, images)


def test_classification_loss_reports_cross_entropy_and_accuracy() -> None:
    model = instruments.judge_network().eval()
    images, labels = torch.rand(16, 1, 28, 28), torch.randint(0, 10, (16,))
    with torch.no_grad():
        parts = instruments.classification_loss(model, (images, labels))
        expected = nn.functional.cross_entropy(model(images), labels)
    assert float(parts["total"]) == pytest.approx(float(expected), rel=1e-5)
    assert 0 <= float(parts["accuracy"]) <= 1
