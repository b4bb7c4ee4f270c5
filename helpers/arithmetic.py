"""Latent arithmetic and morphing (notebook 07): attribute vectors, edits and interpolations of codes.

- :func:`attribute_vector` (mean code with an attribute minus mean code without) and :func:`within_class_vector`
  (the same within each class, averaged: the attribute without the class differences that go with it);
- :func:`edit_codes` (``z + α·v``), :func:`interpolate` (``(1 − α)·z_A + α·z_B``) and :func:`slerp` (along the great
  circle); :func:`random_directions`, the baseline an attribute vector must beat.

What decoded edits show is measured with :mod:`helpers.metrics` (``measure_codes``, ``slopes``, ``ink``, ``slant``).
:func:`load_celeba` tries the real face data set.
"""

from __future__ import annotations

import importlib.util

import torch
import torch.nn.functional as F
from torch import Tensor

from .config import DATA_DIR
from .data import DataError, server_answers


def attribute_vector(codes: Tensor, has_attribute: Tensor) -> Tensor:
    """The mean code of the rows with the attribute minus the mean code of the rows without: ``d`` numbers.

    ``codes`` is ``N×d``, ``has_attribute`` a boolean tensor of ``N``; both groups must be non-empty.
    """
    has_attribute = torch.as_tensor(has_attribute, dtype=torch.bool)
    if has_attribute.all() or not has_attribute.any():
        raise ValueError("attribute_vector needs codes with the attribute and codes without it")
    return codes[has_attribute].mean(0) - codes[~has_attribute].mean(0)


def edit_codes(z: Tensor, direction: Tensor, alphas: Tensor) -> Tensor:
    """``z + α·direction`` for every code and every α: ``N×A×d`` for codes ``N×d`` and ``A`` values of α."""
    return z[:, None, :] + torch.as_tensor(alphas, dtype=z.dtype)[None, :, None] * direction


def interpolate(z_a: Tensor, z_b: Tensor, alphas: Tensor) -> Tensor:
    """Linear interpolation ``(1 − α)·z_A + α·z_B``: one row per α, ``A×d`` (α = 0 gives z_A, α = 1 gives z_B)."""
    alphas = torch.as_tensor(alphas, dtype=z_a.dtype)[:, None]
    return (1 - alphas) * z_a + alphas * z_b


def slerp(z_a: Tensor, z_b: Tensor, alphas: Tensor) -> Tensor:
    """Spherical interpolation: one row per α, ``A×d``, along the great-circle arc from z_A to z_B.

    With Ω the angle between the codes, ``slerp = sin((1 − α)Ω)/sin Ω · z_A + sin(αΩ)/sin Ω · z_B``. For codes of
    equal length the length stays the same along the whole path; linear interpolation shortens it in between.
    Nearly parallel codes (sin Ω < 10⁻⁶) fall back to linear interpolation.
    """
    alphas = torch.as_tensor(alphas, dtype=z_a.dtype)[:, None]
    cosine = F.cosine_similarity(z_a, z_b, dim=0).clamp(-1.0, 1.0)
    omega = torch.arccos(cosine)
    if torch.sin(omega).abs() < 1e-6:
        return interpolate(z_a, z_b, alphas[:, 0])
    return (torch.sin((1 - alphas) * omega) * z_a + torch.sin(alphas * omega) * z_b) / torch.sin(omega)


def random_directions(n: int, dim: int, length: float, seed: int = 0) -> Tensor:
    """``n`` random directions ``n×dim``, uniform on the sphere of radius ``length`` (normalized Gaussian vectors)."""
    directions = torch.randn(n, dim, generator=torch.Generator().manual_seed(seed))
    return length * directions / directions.norm(dim=1, keepdim=True)



def within_class_vector(codes: Tensor, labels: Tensor, measure: Tensor, quantile: float = 0.25) -> Tensor:
    """An attribute vector from the top and bottom ``quantile`` of ``measure`` *within each class*, averaged over
    the classes: the attribute without the class differences that go with it (a 1 has less ink than an 8)."""
    vectors = []
    for c in labels.unique():
        members = labels == c
        low, high = torch.quantile(measure[members], torch.tensor([quantile, 1 - quantile]))
        keep = members & ((measure <= low) | (measure >= high))
        vectors.append(attribute_vector(codes[keep], measure[keep] >= high))
    return torch.stack(vectors).mean(0)


CELEBA_HOST = "drive.google.com"
"""Where torchvision downloads CelebA from (1.4 GB of images, through the package gdown)."""


def load_celeba(n: int = 16, size: int = 32, download: bool = False) -> tuple[Tensor, Tensor]:
    """The first ``n`` CelebA test images (``n×3×size×size``, centre-cropped and resized) and their "Smiling" labels.

    Reads ``DATA_DIR/celeba`` in torchvision's layout; ``download=True`` first fetches it through torchvision
    (1.4 GB from Google Drive, needs the package ``gdown``). Raises :class:`helpers.data.DataError` with the reason,
    within about 2 seconds when offline, when CelebA cannot be had.
    """
    import torchvision
    from torchvision import transforms

    folder = DATA_DIR / "celeba"
    if not (folder / "img_align_celeba").is_dir():
        if not download:
            raise DataError(f"CelebA is not in {folder}: download it with download=True (1.4 GB) or copy it there")
        if importlib.util.find_spec("gdown") is None:
            raise DataError("torchvision needs the package gdown to download CelebA: pip install gdown")
        if not server_answers(CELEBA_HOST, 443):
            raise DataError(f"the CelebA server ({CELEBA_HOST}) did not answer: offline?")
    transform = transforms.Compose([transforms.CenterCrop(148), transforms.Resize(size), transforms.ToTensor()])
    try:
        data = torchvision.datasets.CelebA(DATA_DIR, split="test", target_type="attr", transform=transform,
                                           download=download)
    except Exception as error:  # noqa: BLE001 - quota, broken link, damaged files: all mean "no CelebA"
        raise DataError(f"torchvision could not load CelebA ({type(error).__name__}: {error})") from error
    images, attributes = zip(*(data[i] for i in range(min(n, len(data)))))
    return torch.stack(images), torch.stack(attributes)[:, data.attr_names.index("Smiling")].bool()
