"""Measures of latent spaces and of decoded images: the numbers behind "a plain autoencoder is a poor generator".

- :func:`latent_stats`: per latent dimension, mean, standard deviation, skewness and a normality test.
- :func:`gap_fraction`: the share of a sampling region (the codes' bounding box, or N(0, I)) with no code nearby;
  built on :func:`nearest_code_distance` and :func:`gap_radius`.
- :func:`class_areas`: the area each class's codes cover in a 2-D latent space.
- :func:`dead_units`: the units behind ReLU/LeakyReLU layers that no input ever switches on.
- :func:`judge_predictions`, :func:`recognizable_share`: what the judge (:mod:`helpers.instruments`, a small MNIST
  classifier) says of decoded images: which digit, how sure, and the share it recognizes.
- :func:`ink`, :func:`slant`: attributes of digits read off the pixels; :func:`measure_codes`: what the attribute
  regressor reads off decoded faces; :func:`slopes`: how fast a measured value changes along an edit (notebook 07).
"""

from __future__ import annotations

import math

import torch
from scipy import stats
from torch import Tensor, nn

from .batches import decode_codes, in_batches, model_device
from .instruments import judge_probabilities

CHUNK = 1024
"""Rows of a distance matrix computed at once (1,024 × 10,000 float32 distances are 40 MB)."""
RADIUS_SAMPLE = 2000
"""How many codes' nearest-neighbour distances set the radius of :func:`gap_fraction`."""


def latent_stats(z: Tensor) -> dict[str, Tensor]:
    """Per-dimension statistics of codes ``z`` (``N×d``), each a float64 tensor of ``d`` values.

    ``mean``, ``std`` (with N − 1) and ``skewness`` (``scipy.stats.skew``; 0 for any symmetric distribution) locate
    and shape the distribution; compare them with N(0, 1)'s 0, 1 and 0. ``normality_p`` is the p-value of
    ``scipy.stats.normaltest`` (D'Agostino and Pearson: skewness and kurtosis together): it asks whether the *shape*
    is normal, whatever the mean and spread, so that it adds to mean and std instead of repeating them. (A
    Kolmogorov–Smirnov test against N(0, 1) would reject an autoencoder for its arbitrary scale alone.) With
    thousands of codes the test detects even small departures, so read a tiny p as "not normal", not as "very
    wrong"; it needs at least 8 codes.
    """
    values = _codes(z).numpy()
    if len(values) < 8:
        raise ValueError(f"latent_stats needs at least 8 codes for the normality test, got {len(values)}")
    return {
        "mean": torch.from_numpy(values.mean(axis=0)),
        "std": torch.from_numpy(values.std(axis=0, ddof=1)),
        "skewness": torch.from_numpy(stats.skew(values, axis=0)),
        "normality_p": torch.from_numpy(stats.normaltest(values, axis=0).pvalue),
    }


def gap_fraction(z: Tensor, n_probes: int = 4096, seed: int = 0, *, region: str = "box") -> float:
    """The share of a sampling region with no code nearby, between 0 and 1: how often a sample lands in a gap.

    ``region="box"`` (the default) is the codes' bounding box ``[min, max]`` per dimension, where one would sample
    for want of a known distribution (a plain autoencoder): probes are a regular grid of cell centres in 2-D
    (``round(√n_probes)`` per side) and ``n_probes`` uniform random points (from ``seed``) otherwise.
    ``region="prior"`` is the standard normal N(0, I) a VAE samples from: ``n_probes`` random draws (from ``seed``).

    A probe is in a gap when no code lies within the radius r = the 95th percentile of the codes' distances to
    their nearest other code (estimated on at most 2,000 codes, from ``seed``): a scale taken from the codes
    themselves, so that the box measure does not change when all codes are scaled or shifted, and probes drawn
    from the codes' own distribution land in a gap about 5 % of the time, in any dimension.

    Empty space in the box grows with the dimension even for codes of the *same* kind (for N(0, I) codes the
    box's corners hold ever more of its volume: about 0.4 of the box in 2-D, 0.8 in 8-D, 1.0 in 32-D), so compare
    models at equal ``d``; that growth is problem 5 of the lecture. A few thousand codes in 2 to 32 dimensions
    take well under a second (distances in chunks with ``torch.cdist``).
    """
    codes = _codes(z)
    n, d = codes.shape
    if n < 2:
        raise ValueError(f"gap_fraction needs at least 2 codes, got {n}")
    if n_probes < 1:
        raise ValueError(f"n_probes must be positive, got {n_probes}")
    generator = torch.Generator().manual_seed(seed)
    if region == "prior":
        probes = torch.randn(n_probes, d, generator=generator, dtype=torch.float64)
    elif region == "box":
        if d == 2:
            side = max(1, round(math.sqrt(n_probes)))
            centres = (torch.arange(side, dtype=torch.float64) + 0.5) / side
            u = torch.cartesian_prod(centres, centres)
        else:
            u = torch.rand(n_probes, d, generator=generator, dtype=torch.float64)
        low, high = codes.min(0).values, codes.max(0).values
        probes = low + u * (high - low)
    else:
        raise ValueError(f"region must be 'box' or 'prior', got {region!r}")
    return float((nearest_code_distance(probes, codes) > gap_radius(codes, seed)).double().mean())


def gap_radius(z: Tensor, seed: int = 0) -> float:
    """The radius of "nearby" in :func:`gap_fraction`: the 95th percentile of the codes' distances to their nearest
    other code, estimated on at most 2,000 codes (a random subset from ``seed``)."""
    codes = _codes(z)
    if len(codes) < 2:
        raise ValueError(f"gap_radius needs at least 2 codes, got {len(codes)}")
    sample = torch.randperm(len(codes), generator=torch.Generator().manual_seed(seed))[:RADIUS_SAMPLE]
    return float(torch.quantile(nearest_code_distance(codes[sample], codes, exclude=sample), 0.95))


def nearest_code_distance(points: Tensor, codes: Tensor, exclude: Tensor | None = None) -> Tensor:
    """Each point's Euclidean distance to its nearest code (float32, computed in chunks with ``torch.cdist``).

    ``exclude[i]``, when given, is the index of point ``i`` among the codes (the points are codes themselves): that
    code is left out of point ``i``'s search, so the result is the distance to the nearest *other* code.
    """
    points, codes = _codes(points).float(), _codes(codes).float()
    nearest = []
    for start in range(0, len(points), CHUNK):
        distances = torch.cdist(points[start : start + CHUNK], codes)
        if exclude is not None:
            distances[torch.arange(len(distances)), exclude[start : start + CHUNK]] = float("inf")
        nearest.append(distances.min(1).values)
    return torch.cat(nearest)


def class_areas(z: Tensor, labels: Tensor) -> Tensor:
    """The area of each class's one-sigma covariance ellipse in a 2-D latent space: ``π·√det Σ_c``.

    Returns one value per class ``0 … labels.max()`` (NaN for a class with fewer than 3 codes). For codes of a
    normal distribution the ellipse holds about 39 % of them; its area grows with the square of the spread.
    """
    codes = _codes(z)
    if codes.shape[1] != 2:
        raise ValueError(f"class_areas measures 2-D codes, got {codes.shape[1]} dimensions")
    labels = torch.as_tensor(labels).cpu()
    areas = torch.full((int(labels.max()) + 1,), float("nan"), dtype=torch.float64)
    for c in range(len(areas)):
        members = codes[labels == c]
        if len(members) >= 3:
            areas[c] = math.pi * torch.linalg.det(torch.cov(members.T)).clamp_min(0).sqrt()
    return areas


def dead_units(model: nn.Module, images: Tensor) -> dict[str, Tensor]:
    """For every ReLU or LeakyReLU layer of ``model``, which units no image in ``images`` ever switches on.

    A unit is a channel of a convolutional feature map or a neuron of a dense layer. It is *off* for an image when
    its input to the activation is ≤ 0 at every position; a unit off for every image is dead under ReLU (output
    and gradient are zero, so it never learns again), while LeakyReLU still passes its negative slope times the
    gradient. Returns ``{layer name: bool tensor, True where the unit never switched on}``.
    """
    ever_on: dict[str, Tensor] = {}
    hooks = []
    for name, module in model.named_modules():
        if isinstance(module, (nn.ReLU, nn.LeakyReLU)):
            def record(module: nn.Module, inputs: tuple[Tensor, ...], output: Tensor, name: str = name) -> None:
                x = inputs[0]
                on = (x > 0).transpose(0, 1).flatten(1).any(1).cpu()
                ever_on[name] = on | ever_on[name] if name in ever_on else on
            hooks.append(module.register_forward_hook(record))
    model.eval()
    try:
        in_batches(lambda x: _first(model(x)), images, model_device(model))
    finally:
        for hook in hooks:
            hook.remove()
    return {name: ~on for name, on in ever_on.items()}


def judge_predictions(judge: nn.Module, images: Tensor) -> tuple[Tensor, Tensor]:
    """The judge's predicted class (int64) and its confidence, the largest softmax probability (float32)."""
    confidence, predicted = judge_probabilities(judge, images).max(dim=1)
    return predicted, confidence


def recognizable_share(judge: nn.Module, images: Tensor, threshold: float = 0.9) -> float:
    """The share of ``images`` the judge assigns to one digit with a confidence of at least ``threshold``."""
    _, confidence = judge_predictions(judge, images)
    return float((confidence >= threshold).float().mean())


def _codes(z: Tensor) -> Tensor:
    """Codes as a detached CPU float64 tensor ``N×d`` (checked)."""
    codes = torch.as_tensor(z).detach().cpu().double()
    if codes.dim() != 2:
        raise ValueError(f"expected codes of shape N×d, got {tuple(codes.shape)}")
    return codes


def slopes(alphas: Tensor, values: Tensor) -> Tensor:
    """Least-squares slopes of ``values`` against ``alphas`` along axis 1: ``values`` is ``N×A`` or ``N×A×K``,
    the result ``N`` or ``N×K`` (one slope per row and column)."""
    alphas = torch.as_tensor(alphas, dtype=values.dtype)
    centred = alphas - alphas.mean()
    weights = centred / (centred**2).sum()
    shape = (1, -1) + (1,) * (values.dim() - 2)
    return (values * weights.view(shape)).sum(1)


def measure_codes(model: nn.Module, regressor: nn.Module, codes: Tensor, standardized: bool = True) -> Tensor:
    """Decode codes ``...×d`` with ``model`` and read the attributes of the images: ``...×9``."""
    flat = codes.reshape(-1, codes.shape[-1])
    measured = regressor.predict(decode_codes(model, flat), standardized=standardized)
    return measured.reshape(*codes.shape[:-1], regressor.mean.numel())


def ink(images: Tensor) -> Tensor:
    """Stroke thickness of grey-scale images ``N×1×H×W``: the mean pixel intensity of each image (``N``)."""
    return images.flatten(1).mean(1)


def slant(images: Tensor) -> Tensor:
    """The slant of grey-scale images ``N×1×H×W`` from their image moments: ``μ11 / μ02`` (``N``).

    Pixel intensities are weights; with x to the right and y *up*, μ11 and μ02 are the weighted covariance of x
    and y and the variance of y. Their ratio is the shear: how many pixels the ink moves right per pixel up
    (0 upright, positive leaning right like "/", negative leaning left like "\\").
    """
    weights = images.flatten(1).clamp_min(0)
    height, width = images.shape[-2:]
    y, x = torch.meshgrid(torch.arange(height, 0, -1, dtype=images.dtype), torch.arange(width, dtype=images.dtype),
                          indexing="ij")
    x, y = x.flatten(), y.flatten()
    total = weights.sum(1).clamp_min(1e-8)
    mean_x, mean_y = (weights * x).sum(1) / total, (weights * y).sum(1) / total
    dx, dy = x - mean_x[:, None], y - mean_y[:, None]
    mu11 = (weights * dx * dy).sum(1) / total
    mu02 = (weights * dy**2).sum(1) / total
    return mu11 / mu02.clamp_min(1e-8)


def _first(output: Tensor | tuple[Tensor, ...]) -> Tensor:
    """A model's output, or the first part of it (the reconstruction of ``(x_hat, z)``)."""
    return output[0] if isinstance(output, tuple) else output
