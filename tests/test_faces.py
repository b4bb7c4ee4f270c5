"""Tests for the synthetic faces of helpers.faces (the data set of the latent-arithmetic notebook)."""

import pytest
import torch

import helpers.config
from helpers import faces
from helpers.faces import ATTRIBUTE_RANGES, ATTRIBUTES, make_faces, render_faces, sample_attributes


def luminance(images: torch.Tensor) -> torch.Tensor:
    """Brightness ``N×H×W`` of colour images ``N×3×H×W``."""
    return 0.299 * images[:, 0] + 0.587 * images[:, 1] + 0.114 * images[:, 2]


def with_values(attributes: dict, **values: float) -> dict:
    """A copy of ``attributes`` with some of them set to one value for every face."""
    n = len(attributes["smile"])
    return attributes | {name: torch.full((n,), float(value)) for name, value in values.items()}


@pytest.mark.parametrize("size", [32, 64])
def test_images_are_float32_colour_in_unit_range(size):
    images, attributes = make_faces(10, size=size)
    assert images.shape == (10, 3, size, size)
    assert images.dtype == torch.float32
    assert images.min() >= 0.0 and images.max() <= 1.0
    assert images.std() > 0.1  # not a blank canvas


def test_attributes_have_documented_names_dtypes_and_ranges():
    _, attributes = make_faces(2000, seed=1)
    assert list(attributes) == list(ATTRIBUTE_RANGES)
    for name, (low, high) in ATTRIBUTE_RANGES.items():
        value = attributes[name]
        assert value.dtype == torch.float32 and value.shape == (2000,), name
        assert value.min() >= low and value.max() <= high, name
    for name in ATTRIBUTE_RANGES.keys() - {"glasses"}:  # uniform: both ends of the range are reached
        low, high = ATTRIBUTE_RANGES[name]
        span = high - low
        assert attributes[name].min() < low + 0.02 * span and attributes[name].max() > high - 0.02 * span, name
    glasses = attributes["glasses"]
    assert set(glasses.unique().tolist()) == {0.0, 1.0}
    assert 0.25 < glasses.mean() < 0.35


def test_attributes_are_drawn_independently():
    attributes = sample_attributes(2000, seed=2)
    table = torch.stack(list(attributes.values()))
    correlation = torch.corrcoef(table) - torch.eye(len(table))
    assert correlation.abs().max() < 0.1


def test_same_seed_same_faces_other_seed_other_faces():
    images, attributes = make_faces(20, seed=3)
    again, attributes_again = make_faces(20, seed=3)
    other, _ = make_faces(20, seed=4)
    assert torch.equal(images, again)
    assert all(torch.equal(attributes[name], attributes_again[name]) for name in attributes)
    assert not torch.allclose(images, other)


def test_first_faces_do_not_depend_on_n():
    few, _ = make_faces(5, seed=7)
    many, _ = make_faces(50, seed=7)
    assert torch.equal(few, many[:5])


def test_rendering_in_chunks_gives_the_same_images(monkeypatch):
    attributes = sample_attributes(20, seed=8)
    whole = render_faces(attributes)
    monkeypatch.setattr(faces, "_CHUNK", 7)
    assert torch.equal(render_faces(attributes), whole)


def test_fixed_attributes_are_used_and_the_rest_sampled():
    images, attributes = make_faces(6, seed=9, attributes={"smile": 0.5, "glasses": torch.ones(6)})
    assert torch.equal(attributes["smile"], torch.full((6,), 0.5))
    assert torch.equal(attributes["glasses"], torch.ones(6))
    assert torch.equal(attributes["skin"], sample_attributes(6, seed=9)["skin"])
    assert torch.equal(images, render_faces(attributes))


@pytest.mark.parametrize("name", list(ATTRIBUTE_RANGES))
def test_every_attribute_changes_the_picture(name):
    attributes = sample_attributes(4, seed=10)
    low, high = ATTRIBUTE_RANGES[name]
    if name == "background":  # a hue: both ends of the range are red
        high = (low + high) / 2
    at_low = render_faces(with_values(attributes, **{name: low}))
    at_high = render_faces(with_values(attributes, **{name: high}))
    assert (at_low - at_high).abs().amax(dim=(1, 2, 3)).min() > 0.3  # clearly visible on every face


@pytest.mark.parametrize("size", [32, 64])
def test_smile_changes_only_the_mouth_region(size):
    attributes = sample_attributes(16, seed=11)
    frown = render_faces(with_values(attributes, smile=-1.0), size)
    smile = render_faces(with_values(attributes, smile=1.0), size)
    changed = (frown - smile).abs().amax(dim=1) > 1e-6
    assert changed.flatten(1).sum(1).min() >= size * size / 100  # the mouth moved on every face
    rows, columns = changed.any(dim=0).nonzero(as_tuple=True)
    assert rows.min() >= 0.55 * size and rows.max() < 0.95 * size  # lower part of the face
    assert columns.min() >= 0.25 * size and columns.max() < 0.75 * size  # middle half


def mouth_height_middle_minus_corners(images: torch.Tensor) -> torch.Tensor:
    """Vertical centre of mass of the dark mouth pixels in the middle columns minus the corners' (32-px units).

    Positive: the middle of the mouth is lower than its corners (y points down), as in a smile.
    """
    size = images.shape[-1]
    top = round(0.66 * size)  # below the nose
    box = luminance(images)[:, top : round(0.9 * size)]
    darkness = (box.amax(dim=(1, 2), keepdim=True) - box).clamp(min=0)  # skin is the brightest thing here
    rows = torch.arange(box.shape[1], dtype=torch.float32).view(1, -1, 1)
    x = (torch.arange(size, dtype=torch.float32) + 0.5) * 32 / size - 16  # column centres, 32-px units

    def centre_of_mass(columns: torch.Tensor) -> torch.Tensor:
        weight = darkness[:, :, columns]
        return (weight * rows).sum(dim=(1, 2)) / weight.sum(dim=(1, 2))

    middle = centre_of_mass(x.abs() < 1)
    corners = centre_of_mass((x.abs() > 2) & (x.abs() < 4))
    return (middle - corners) * 32 / size


@pytest.mark.parametrize("size", [32, 64])
def test_a_smile_has_its_corners_higher_than_its_middle(size):
    attributes = with_values(sample_attributes(8, seed=12), skin=0.0, shift_x=0.0, shift_y=0.0)
    smile = mouth_height_middle_minus_corners(render_faces(with_values(attributes, smile=1.0), size))
    neutral = mouth_height_middle_minus_corners(render_faces(with_values(attributes, smile=0.0), size))
    frown = mouth_height_middle_minus_corners(render_faces(with_values(attributes, smile=-1.0), size))
    assert (smile > 1.0).all()  # corners more than a pixel above the middle
    assert (frown < -1.0).all()  # corners below the middle
    assert (neutral.abs() < 0.3).all()  # a straight mouth


@pytest.mark.parametrize("size", [32, 64])
def test_glasses_add_dark_pixels_around_the_eyes(size):
    attributes = sample_attributes(16, seed=13)
    without = render_faces(with_values(attributes, glasses=0.0), size)
    with_glasses = render_faces(with_values(attributes, glasses=1.0), size)
    dark_added = (luminance(with_glasses) < 0.25).flatten(1).sum(1) - (luminance(without) < 0.25).flatten(1).sum(1)
    assert dark_added.min() >= size * size / 100  # on every face
    assert (luminance(with_glasses) <= luminance(without) + 1e-6).all()  # glasses only darken
    rows, _ = ((with_glasses - without).abs().amax(dim=1) > 1e-6).any(dim=0).nonzero(as_tuple=True)
    assert rows.min() >= 0.3 * size and rows.max() < 0.7 * size  # in the band of the eyes


@pytest.mark.parametrize("n", [0, -3, 2.5, True])
def test_bad_n_raises(n):
    with pytest.raises(ValueError, match="n must be a positive integer"):
        make_faces(n)


@pytest.mark.parametrize("size", [0, 8, 30, 33, 32.0])
def test_bad_size_raises(size):
    with pytest.raises(ValueError, match="size must be a multiple of 8"):
        make_faces(4, size=size)


def test_bad_attributes_raise():
    attributes = sample_attributes(3)
    with pytest.raises(ValueError, match="smile must lie in"):
        render_faces(with_values(attributes, smile=1.5))
    with pytest.raises(ValueError, match="missing \\['glasses'\\]"):
        render_faces({name: value for name, value in attributes.items() if name != "glasses"})
    with pytest.raises(ValueError, match="one length"):
        render_faces(attributes | {"hair": torch.zeros(4)})
    with pytest.raises(ValueError, match="unknown attribute 'beard'"):
        make_faces(3, attributes={"beard": 1.0})


def test_docstrings_list_every_attribute():
    for name in ATTRIBUTE_RANGES:
        assert name in faces.__doc__ and name in make_faces.__doc__, name


def test_attribute_matrix_has_one_column_per_attribute_in_order() -> None:
    attributes = sample_attributes(5, seed=2)
    matrix = faces.attribute_matrix(attributes)
    assert matrix.shape == (5, len(ATTRIBUTES)) and matrix.dtype == torch.float32
    assert torch.equal(matrix[:, ATTRIBUTES.index("hair")], attributes["hair"])


def test_faces_data_in_fast_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(helpers.config, "FAST", True)
    faces.faces_data.cache_clear()  # rendered once per session: render the fast-mode set
    x_train, a_train, x_test, a_test = faces.faces_data()
    faces.faces_data.cache_clear()
    assert x_train.shape == (2000, 3, 32, 32) and a_train.shape == (2000, 9)
    assert x_test.shape == (500, 3, 32, 32) and a_test.shape == (500, 9)
    assert not torch.equal(x_train[:500], x_test)  # different seeds
