"""Synthetic cartoon faces with known attributes, for latent arithmetic (the "smile vector") and morphing.

Every face is drawn from a few numbers, so a notebook knows exactly which faces smile. The attributes
(float32 tensors of length ``n``, drawn independently of each other) are:

================  =============  =====================================================================================
name              range          meaning
================  =============  =====================================================================================
``smile``         [-1, 1]        mouth curvature: -1 frown, 0 straight, +1 broad smile (corners 3 px above the middle)
``eye_open``      [0, 1]         eye openness: 0 nearly closed (a slit), 1 wide open
``face_width``    [0, 1]         head width: 0 narrow, 1 wide
``skin``          [0, 1]         skin tone: 0 light, 1 dark
``hair``          [0, 1]         hair colour: 0 blond, 1/3 red, 2/3 brown, 1 black
``background``    [0, 1]         background hue on the colour wheel (pastel; 0 and 1 are both red)
``glasses``       {0, 1}         1 draws glasses (two rings, a bridge and temples); probability 0.3
``shift_x``       [-1.5, 1.5]    horizontal shift of the face, in pixels of a 32-pixel image
``shift_y``       [-1.5, 1.5]    vertical shift of the face (positive: down), same unit
================  =============  =====================================================================================

The mouth's mid-height does not depend on ``smile``: only its curvature does.
All but ``glasses`` are uniform on their range. Rendering is vectorized: each part of the face is a
signed-distance shape on a pixel grid, blended over the image with a one-pixel anti-aliased edge.
Geometry is set in pixels of a 32-pixel image and scales with ``size``.

>>> images, attributes = make_faces(16)
>>> images.shape, sorted(attributes)[:3]
(torch.Size([16, 3, 32, 32]), ['background', 'eye_open', 'face_width'])
"""

from __future__ import annotations

from functools import cache

import torch
from torch import Tensor

from .config import pick

ATTRIBUTE_RANGES: dict[str, tuple[float, float]] = {
    "smile": (-1.0, 1.0),
    "eye_open": (0.0, 1.0),
    "face_width": (0.0, 1.0),
    "skin": (0.0, 1.0),
    "hair": (0.0, 1.0),
    "background": (0.0, 1.0),
    "glasses": (0.0, 1.0),
    "shift_x": (-1.5, 1.5),
    "shift_y": (-1.5, 1.5),
}
"""Range (low, high) of every attribute; ``glasses`` is sampled as 0 or 1 (values between fade them in)."""

ATTRIBUTES: tuple[str, ...] = tuple(ATTRIBUTE_RANGES)
"""The nine attributes, in the column order of :func:`attribute_matrix` (and of the attribute regressor's outputs)."""

GLASSES_PROBABILITY = 0.3
_CHUNK = 2048  # faces rendered at once (bounds the memory of the intermediate tensors)

# Geometry, in pixels of a 32-pixel image (origin at the image centre, y pointing down).
_HEAD_HEIGHT = 12.0  # vertical semi-axis of the head
_HEAD_WIDTH = (9.0, 11.5)  # horizontal semi-axis at face_width 0 and 1
_HEAD_Y = 1.5  # head centre below the image centre
_EYE_X, _EYE_Y = 4.2, -1.0  # eye centres relative to the head centre
_EYE_HALF_WIDTH, _EYE_HEIGHT = 1.8, (0.3, 1.6)  # sclera semi-axes (height at eye_open 0 and 1)
_MOUTH_Y, _MOUTH_HALF_WIDTH = 6.0, 4.0  # mouth centre below the head centre, half its width
_MOUTH_CURVE = 3.0  # height between the mouth's middle and its corners at |smile| = 1
_MOUTH_HALF_THICKNESS = 0.8
_GLASSES_RADIUS = 2.9

_SKIN = torch.tensor([[0.98, 0.84, 0.72], [0.84, 0.62, 0.45], [0.45, 0.29, 0.19]])
_HAIR = torch.tensor([[0.93, 0.80, 0.42], [0.72, 0.30, 0.10], [0.36, 0.21, 0.10], [0.07, 0.06, 0.06]])
_EYE_WHITE = torch.tensor([0.97, 0.97, 0.97])
_DARK = torch.tensor([0.08, 0.07, 0.08])
_LIPS = torch.tensor([0.50, 0.08, 0.12])
_GLASSES = torch.tensor([0.02, 0.02, 0.04])


def sample_attributes(n: int, seed: int = 0) -> dict[str, Tensor]:
    """Draw the attributes of ``n`` faces, independently and uniformly on ``ATTRIBUTE_RANGES``.

    ``glasses`` is 1 with probability 0.3 and 0 otherwise. Face ``i`` depends only on ``seed`` and
    ``i``, so the first ``m`` faces of ``n`` are the ``m`` faces of ``sample_attributes(m, seed)``.
    """
    _check_positive_int(n, "n")
    generator = torch.Generator().manual_seed(seed)
    uniform = torch.rand(n, len(ATTRIBUTE_RANGES), generator=generator)
    attributes = {
        name: low + (high - low) * uniform[:, column]
        for column, (name, (low, high)) in enumerate(ATTRIBUTE_RANGES.items())
    }
    attributes["glasses"] = (attributes["glasses"] < GLASSES_PROBABILITY).float()  # uniform on [0, 1] before this
    return attributes


def render_faces(attributes: dict[str, Tensor], size: int = 32) -> Tensor:
    """Draw one face per entry of ``attributes`` (every key of ``ATTRIBUTE_RANGES``, 1-D, same length).

    Returns float32 images ``n×3×size×size`` in [0, 1]. ``size`` is a multiple of 8, at least 16.
    Values outside ``ATTRIBUTE_RANGES`` raise ``ValueError``. Rendering is deterministic.
    """
    _check_size(size)
    attributes = _checked_attributes(attributes)
    n = len(attributes["smile"])
    chunks = [
        _render_chunk({name: value[start : start + _CHUNK] for name, value in attributes.items()}, size)
        for start in range(0, n, _CHUNK)
    ]
    return torch.cat(chunks)


def make_faces(
    n: int, size: int = 32, seed: int = 0, *, attributes: dict[str, Tensor | float] | None = None
) -> tuple[Tensor, dict[str, Tensor]]:
    """Sample ``n`` faces: images ``n×3×size×size`` (float32 in [0, 1]) and their attributes.

    Attributes (float32, length ``n``): ``smile`` in [-1, 1] (frown to broad smile), ``eye_open``,
    ``face_width``, ``skin`` (light to dark), ``hair`` (blond, red, brown, black), ``background`` (hue)
    in [0, 1], ``glasses`` in {0, 1} (probability 0.3), ``shift_x`` and ``shift_y`` in [-1.5, 1.5] pixels
    (of a 32-pixel image). ``attributes`` fixes some of them (a number or a tensor of length ``n``);
    the rest are drawn by ``sample_attributes(n, seed)``. For example a smile strip of one face::

        one = sample_attributes(1, seed=3)
        strip = {name: value.expand(9) for name, value in one.items()} | {"smile": torch.linspace(-1, 1, 9)}
        images, _ = make_faces(9, attributes=strip)
    """
    _check_positive_int(n, "n")
    _check_size(size)
    sampled = sample_attributes(n, seed)
    for name, value in (attributes or {}).items():
        if name not in ATTRIBUTE_RANGES:
            raise ValueError(f"unknown attribute {name!r}; known: {', '.join(ATTRIBUTE_RANGES)}")
        value = torch.as_tensor(value, dtype=torch.float32)
        if value.shape not in (torch.Size([]), torch.Size([n])):
            raise ValueError(f"attribute {name!r} must be a number or have shape ({n},), got {tuple(value.shape)}")
        sampled[name] = value.expand(n).clone()
    return render_faces(sampled, size), sampled


def attribute_matrix(attributes: dict[str, Tensor]) -> Tensor:
    """The attributes of :func:`make_faces` as one float32 tensor ``N×9``, columns in the order of ``ATTRIBUTES``."""
    return torch.stack([torch.as_tensor(attributes[name], dtype=torch.float32) for name in ATTRIBUTES], dim=1)


@cache
def faces_data() -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """The course's faces as ``(x_train, a_train, x_test, a_test)``: images ``N×3×32×32`` and attributes ``N×9``
    (columns ``ATTRIBUTES``); 10,000 training and 2,000 test faces (2,000 and 500 in fast mode), the two sets drawn
    with different seeds. Rendered once per session; the tensors are shared, so do not change them in place."""
    x_train, a_train = make_faces(pick(10_000, 2_000), seed=0)
    x_test, a_test = make_faces(pick(2_000, 500), seed=1)
    return x_train, attribute_matrix(a_train), x_test, attribute_matrix(a_test)


def _check_positive_int(value: int, name: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")


def _check_size(size: int) -> None:
    if isinstance(size, bool) or not isinstance(size, int) or size < 16 or size % 8:
        raise ValueError(f"size must be a multiple of 8 and at least 16 (e.g. 32 or 64), got {size!r}")


def _checked_attributes(attributes: dict[str, Tensor]) -> dict[str, Tensor]:
    """Check names, shapes and ranges; return float32 copies on the CPU."""
    missing = [name for name in ATTRIBUTE_RANGES if name not in attributes]
    unknown = [name for name in attributes if name not in ATTRIBUTE_RANGES]
    if missing or unknown:
        raise ValueError(
            f"attributes must be exactly {list(ATTRIBUTE_RANGES)}; missing {missing}, unknown {unknown}"
        )
    checked = {name: torch.as_tensor(attributes[name], dtype=torch.float32).cpu() for name in ATTRIBUTE_RANGES}
    n = len(checked["smile"]) if checked["smile"].dim() == 1 else 0
    for name, value in checked.items():
        if value.dim() != 1 or len(value) != n or n == 0:
            raise ValueError(
                f"every attribute must be a non-empty 1-D tensor of one length; {name} has shape "
                f"{tuple(value.shape)}, smile {tuple(checked['smile'].shape)}"
            )
        low, high = ATTRIBUTE_RANGES[name]
        if not bool(((value >= low) & (value <= high)).all()):  # NaN fails too
            raise ValueError(f"{name} must lie in [{low}, {high}], got {value.min():.3g} to {value.max():.3g}")
    return checked


def _render_chunk(a: dict[str, Tensor], size: int) -> Tensor:
    """Paint the face parts back to front; every shape is a signed distance in 32-pixel units."""
    n = len(a["smile"])
    pixel = 32.0 / size
    grid = (torch.arange(size, dtype=torch.float32) + 0.5) * pixel - 16.0

    def column(per_face: Tensor) -> Tensor:  # one number per face, against the pixel grid
        return per_face.view(n, 1, 1)

    x = grid.view(1, 1, size) - column(a["shift_x"])  # coordinates relative to the head centre
    y = grid.view(1, size, 1) - column(a["shift_y"] + _HEAD_Y)
    head_a = column(_HEAD_WIDTH[0] + (_HEAD_WIDTH[1] - _HEAD_WIDTH[0]) * a["face_width"])
    skin = _palette(_SKIN, a["skin"])
    hair = _palette(_HAIR, a["hair"])

    def paint(image: Tensor, distance: Tensor, colour: Tensor, opacity: Tensor | None = None) -> Tensor:
        alpha = (0.5 - distance / pixel).clamp_(0.0, 1.0)
        if opacity is not None:
            alpha = alpha * column(opacity)
        return torch.lerp(image, colour.view(-1, 3, 1, 1).expand_as(image), alpha.unsqueeze(1))

    image = _hsv_to_rgb(a["background"], 0.35, 0.92).view(n, 3, 1, 1).expand(n, 3, size, size).contiguous()
    hair_outline = _ellipse(x, y + 0.8, head_a + 1.2, _HEAD_HEIGHT + 0.8)
    image = paint(image, torch.maximum(hair_outline, y - 2.0), hair)  # hair behind the head, down to the ears
    image = paint(image, _ellipse(x, y, head_a, _HEAD_HEIGHT), skin)
    fringe = y - (-7.5 + 3.0 * (x / head_a) ** 2)  # hair above a line curving down at the temples
    image = paint(image, torch.maximum(hair_outline, fringe), hair)
    image = paint(image, _segment(y, x, 1.0, 2.6, 0.0, 0.45), skin * 0.78)  # nose: vertical, so x and y swap

    eye_height = column(_EYE_HEIGHT[0] + (_EYE_HEIGHT[1] - _EYE_HEIGHT[0]) * a["eye_open"])
    for side in (-1.0, 1.0):
        ex, ey = x - side * _EYE_X, y - _EYE_Y
        sclera = _ellipse(ex, ey, torch.full_like(eye_height, _EYE_HALF_WIDTH), eye_height)
        image = paint(image, sclera - 0.45, _DARK)  # lids and lashes
        image = paint(image, sclera, _EYE_WHITE)
        image = paint(image, torch.maximum(ex.hypot(ey) - 1.2, sclera), _DARK)  # pupil, inside the sclera
        image = paint(image, _segment(ex, ey + 3.3 - 0.6 * (ex / 2.2) ** 2, -2.0, 2.0, 0.0, 0.5), hair * 0.6)

    # Mouth: a band around the parabola y = m + smile * h * (1/2 - (x/w)^2); a smile's corners are higher.
    smile = column(a["smile"])
    u = x / _MOUTH_HALF_WIDTH
    curve = _MOUTH_Y + smile * _MOUTH_CURVE * (0.5 - u**2)
    slope = -2.0 * smile * _MOUTH_CURVE * u / _MOUTH_HALF_WIDTH
    band = (y - curve).abs() / torch.sqrt(1.0 + slope**2) - _MOUTH_HALF_THICKNESS
    image = paint(image, torch.maximum(band, x.abs() - _MOUTH_HALF_WIDTH), _LIPS)

    rims = torch.minimum(_ring(x - _EYE_X, y - _EYE_Y), _ring(x + _EYE_X, y - _EYE_Y))
    inner, outer = _EYE_X - _GLASSES_RADIUS, _EYE_X + _GLASSES_RADIUS
    bridge = _segment(x, y, -inner, inner, _EYE_Y, 0.5)
    temples = torch.maximum(_segment(x.abs(), y, outer, 16.0, _EYE_Y - 0.6, 0.45), x.abs() - head_a)
    frame = torch.minimum(torch.minimum(rims, bridge), temples)
    image = paint(image, frame, _GLASSES, opacity=a["glasses"])
    return image.clamp_(0.0, 1.0)


def _ellipse(x: Tensor, y: Tensor, a: Tensor, b: float | Tensor) -> Tensor:
    """Approximate signed distance to an axis-aligned ellipse with semi-axes a, b (negative inside)."""
    k0 = torch.sqrt((x / a) ** 2 + (y / b) ** 2)
    k1 = torch.sqrt((x / a**2) ** 2 + (y / b**2) ** 2)
    return k0 * (k0 - 1.0) / (k1 + 1e-6)


def _segment(x: Tensor, y: Tensor, x0: float, x1: float, y0: float, half_thickness: float) -> Tensor:
    """Signed distance to a capsule around the segment from (x0, y0) to (x1, y0), parallel to the x axis."""
    return torch.hypot(x - x.clamp(x0, x1), y - y0) - half_thickness


def _ring(x: Tensor, y: Tensor) -> Tensor:
    """Signed distance to a glasses rim: a circle of radius ``_GLASSES_RADIUS`` around the origin."""
    return (torch.hypot(x, y) - _GLASSES_RADIUS).abs() - 0.5


def _palette(stops: Tensor, t: Tensor) -> Tensor:
    """Colours ``len(t)×3`` interpolated linearly between equally spaced colour stops, t in [0, 1]."""
    position = t * (len(stops) - 1)
    low = position.floor().long().clamp(max=len(stops) - 2)
    return torch.lerp(stops[low], stops[low + 1], (position - low).unsqueeze(1))


def _hsv_to_rgb(hue: Tensor, saturation: float, value: float) -> Tensor:
    """Colours ``len(hue)×3`` for hues in [0, 1] at a fixed saturation and value."""
    k = (torch.tensor([5.0, 3.0, 1.0]) + 6.0 * hue.unsqueeze(1)) % 6.0
    return value - value * saturation * torch.minimum(k, 4.0 - k).clamp(0.0, 1.0)


__all__ = ["ATTRIBUTE_RANGES", "GLASSES_PROBABILITY", "make_faces", "render_faces", "sample_attributes"]
