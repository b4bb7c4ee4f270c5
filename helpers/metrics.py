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
- Generation measured fairly, in the judge's feature space: :func:`frechet_distance` (how close, as Gaussians),
  :func:`density_coverage` (how real the samples look, and how much of the real data they reach),
  :func:`class_coverage` (which digits the judge sees), and :func:`generation_report`, all of them in one call.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from scipy import linalg, stats
from torch import Tensor, nn

from .batches import decode_codes, in_batches, model_device
from .instruments import judge_features, judge_probabilities

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

    Empty space in the box grows with the dimension even for codes of the *same* kind, so compare models at equal
    ``d``; that growth is problem 5 of the lecture. It is geometry: most of a box's volume lies outside its
    inscribed ball (the ball holds π/4 ≈ 0.79 of a square, 0.016 of an 8-D cube, about 10⁻¹⁵ of a 32-D one), far
    from where codes that thin out from their centre lie: 500 to 10,000 N(0, I) codes leave 0.4 to 0.65 of their
    box empty in 2-D and over 0.95 of it from 16-D on. Distances are computed in chunks with ``torch.cdist``.
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


def path_abruptness(model: nn.Module, codes: Tensor, pairs: Tensor, steps: int = 40) -> Tensor:
    """How evenly decoded images change along straight paths between codes: one value per pair, ≥ 1.

    For each pair ``(i, j)`` of rows of ``codes``, decode ``steps + 1`` evenly spaced points from ``codes[i]`` to
    ``codes[j]`` and measure the pixel distance between consecutive images; the abruptness is the largest of these
    steps divided by their mean: 1 for a perfectly even change, large when the image jumps somewhere on the way.
    """
    alphas = torch.linspace(0, 1, steps + 1)[None, :, None]
    start, end = codes[pairs[:, 0]], codes[pairs[:, 1]]
    images = decode_codes(model, (start[:, None] + alphas * (end - start)[:, None]).flatten(0, 1))
    images = images.unflatten(0, (len(pairs), steps + 1)).flatten(2)
    moves = (images[:, 1:] - images[:, :-1]).norm(dim=2)
    return moves.max(1).values / moves.mean(1).clamp_min(1e-12)


def _first(output: Tensor | tuple[Tensor, ...]) -> Tensor:
    """A model's output, or the first part of it (the reconstruction of ``(x_hat, z)``)."""
    return output[0] if isinstance(output, tuple) else output


# Generation measured fairly: generated digits against real ones in the judge's feature space.

NEIGHBOURS = 5
"""k of :func:`density_coverage`: each real sample's ball reaches its k-th nearest real neighbour (Naeem et al.'s
choice)."""


def frechet_distance(features_a: Tensor, features_b: Tensor) -> float:
    """The Fréchet distance between Gaussians fitted to two sets of feature vectors ``N×D`` and ``M×D``:
    ``‖μa − μb‖² + tr(Σa + Σb − 2 (Σa Σb)^½)``, 0 for identical sets.

    With the judge's features (:func:`helpers.instruments.judge_features`) it is the FID of Heusel et al. (2017)
    with the judge in Inception's place. Computed in float64; tr (Σa Σb)^½ is the sum of √λ over the eigenvalues λ
    of the symmetric Σa^½ Σb Σa^½ (the same eigenvalues as Σa Σb), rounding's tiny negative ones set to 0: no
    complex parts, and singular covariances (a ReLU feature that is always 0) are fine. The square roots of
    eigenvalues that rounding leaves near 0 limit the accuracy to about 1e-8 of the covariances' traces.

    Estimated from samples it is biased upwards: two samples of one distribution score above 0, and the more so
    the smaller they are. Compare generators on equal numbers of vectors (:func:`generation_report` does), well
    over ``D`` of them.
    """
    a, b = _codes(features_a).numpy(), _codes(features_b).numpy()
    if a.shape[1] != b.shape[1]:
        raise ValueError(f"the two sets have {a.shape[1]} and {b.shape[1]} features")
    if min(len(a), len(b)) < 2:
        raise ValueError(f"frechet_distance needs at least 2 vectors per set, got {len(a)} and {len(b)}")
    cov_a, cov_b = np.atleast_2d(np.cov(a, rowvar=False)), np.atleast_2d(np.cov(b, rowvar=False))
    eigenvalues, vectors = linalg.eigh(cov_a)
    root_a = (vectors * np.sqrt(eigenvalues.clip(min=0))) @ vectors.T
    cross = linalg.eigvalsh(root_a @ cov_b @ root_a)
    mean_term = float(np.sum((a.mean(0) - b.mean(0)) ** 2))
    distance = mean_term + float(np.trace(cov_a) + np.trace(cov_b) - 2 * np.sqrt(cross.clip(min=0)).sum())
    return max(distance, 0.0)  # rounding can leave about -1e-8 × the traces for identical sets


def density_coverage(real_features: Tensor, generated_features: Tensor, k: int = NEIGHBOURS) -> dict[str, float]:
    """Density and coverage (Naeem et al. 2020): how real generated samples look, and how much of the real data
    they reach, from k-nearest-neighbour balls in a feature space.

    Each real vector gets a ball reaching to its k-th nearest other real vector. **Density** counts, for each
    generated vector, the real balls that contain it, divided by k and averaged: about 1 when the samples follow
    the real distribution, 0 when they lie away from all real data, above 1 when they crowd into its densest part.
    **Coverage** is the share of real balls holding at least one generated vector: about 1 − 2⁻ᵏ (0.97 for k = 5)
    for as many samples of the real distribution, about half that for a generator that draws half of the modes,
    0 for one that draws none. Unlike precision and recall, neither uses balls around generated samples, so stray
    samples far from all digits earn neither. Both depend on the sample sizes: compare at equal ones.
    Returns ``{"density": ..., "coverage": ...}``.
    """
    real, generated = _codes(real_features).float(), _codes(generated_features).float()
    if real.shape[1] != generated.shape[1]:
        raise ValueError(f"the two sets have {real.shape[1]} and {generated.shape[1]} features")
    if not 1 <= k < len(real):
        raise ValueError(f"k must be between 1 and the number of real vectors − 1 ({len(real) - 1}), got {k}")
    if len(generated) == 0:
        raise ValueError("density_coverage needs at least one generated vector")
    radii = torch.cat([torch.cdist(real[start : start + CHUNK], real).kthvalue(k + 1, dim=1).values
                       for start in range(0, len(real), CHUNK)])  # the (k+1)-th smallest: each vector is its own 1st
    inside, covered = 0, torch.zeros(len(real), dtype=torch.bool)
    for start in range(0, len(generated), CHUNK):
        within = torch.cdist(generated[start : start + CHUNK], real) < radii
        inside += int(within.sum())
        covered |= within.any(0)
    return {"density": inside / (k * len(generated)), "coverage": float(covered.double().mean())}


def class_coverage(probabilities: Tensor, threshold: float = 0.9, min_share: float = 0.01) -> dict[str, Any]:
    """Which classes a generator draws, from the judge's class probabilities ``N×C`` of its samples
    (:func:`helpers.instruments.judge_probabilities`).

    Only confident predictions count (largest probability ≥ ``threshold``), so that blots the judge must file
    somewhere do not pass for a digit. Returns ``recognizable``, the share of confident predictions (as
    :func:`recognizable_share`); ``shares``, the confident predictions' class histogram (``C`` values summing to 1);
    ``classes``, the number of classes making up at least ``min_share`` of them (10 for real digits, 2 for a
    generator of 0s and 1s); and ``class_kl``, the histogram's KL divergence from uniform in nats, log C − entropy:
    0 when every class is drawn equally often, log 10 = 2.30 when one is. With no confident prediction, ``classes``
    is 0 and ``shares`` and ``class_kl`` are NaN. Give it enough samples for a few hundred confident predictions:
    among 50, a single stray one makes up 2 % and counts as a class.
    """
    probabilities = torch.as_tensor(probabilities).detach().cpu().double()
    if probabilities.dim() != 2 or len(probabilities) == 0:
        raise ValueError(f"expected probabilities of shape N×C, got {tuple(probabilities.shape)}")
    confidence, predicted = probabilities.max(1)
    confident = predicted[confidence >= threshold]
    n_classes = probabilities.shape[1]
    shares = torch.bincount(confident, minlength=n_classes).double() / len(confident)
    present = shares[shares > 0]
    return {
        "recognizable": len(confident) / len(probabilities),
        "shares": shares,
        "classes": int((shares >= min_share).sum()),
        "class_kl": math.log(n_classes) + float((present * present.log()).sum()) if len(confident) else math.nan,
    }


def generation_report(judge: nn.Module, real_images: Tensor, generated_images: Tensor, *, k: int = NEIGHBOURS,
                      threshold: float = 0.9, seed: int = 0) -> dict[str, float]:
    """Generated digits against real ones, all measures in one call: a row of the table that compares generators.

    Both sets are cut to the same number of images ``n`` (a random subset, from ``seed``, of the larger one), since
    every measure here depends on the sample size. In the judge's 64 penultimate-layer features: ``frechet``
    (:func:`frechet_distance`; lower is closer), ``density`` and ``coverage`` (:func:`density_coverage`, ``k``
    neighbours; higher is better). From the judge's predictions for the generated images: ``recognizable``,
    ``classes`` and ``class_kl`` (:func:`class_coverage` at ``threshold``). Returns these and ``n``.

    The floor, what a perfect generator would score, is real against real through the same call:
    ``generation_report(judge, x_test, x_train)``, the training digits standing in for generated ones.
    """
    n = min(len(real_images), len(generated_images))
    generator = torch.Generator().manual_seed(seed)
    real = real_images[torch.randperm(len(real_images), generator=generator)[:n]]
    generated = generated_images[torch.randperm(len(generated_images), generator=generator)[:n]]
    real_features, generated_features = judge_features(judge, real), judge_features(judge, generated)
    classes = class_coverage(judge_probabilities(judge, generated), threshold=threshold)
    classes.pop("shares")  # a histogram, not a number of the row
    return {"n": n, "frechet": frechet_distance(real_features, generated_features),
            **density_coverage(real_features, generated_features, k), **classes}
