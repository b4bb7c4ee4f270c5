"""Measures of latent spaces and of decoded images: the numbers behind "a plain autoencoder is a poor generator".

- :func:`latent_stats`: per latent dimension, mean, standard deviation, skewness and a normality test.
- :func:`gap_fraction`: the share of a sampling region (the codes' bounding box, or N(0, I)) with no code nearby;
  built on :func:`nearest_code_distance` and :func:`gap_radius`.
- :func:`class_areas`: the area each class's codes cover in a 2-D latent space.
- :func:`dead_units`: the units behind ReLU/LeakyReLU layers that no input ever switches on.
- :func:`judge`, :func:`judge_predictions`, :func:`recognizable_share`: a small CNN classifier trained on MNIST,
  used as a judge of whether a decoded image looks like a digit (notebooks 03 and 05 share it).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import torch
import torch.nn.functional as F
from scipy import stats
from torch import Tensor, nn

from .config import pick
from .train import fit_cached
from .zoo import mnist

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


@torch.no_grad()
def dead_units(model: nn.Module, images: Tensor, batch_size: int = 1000) -> dict[str, Tensor]:
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
    device = next(model.parameters()).device
    try:
        for start in range(0, len(images), batch_size):
            model(images[start : start + batch_size].to(device))
    finally:
        for hook in hooks:
            hook.remove()
    return {name: ~on for name, on in ever_on.items()}


def judge_network() -> nn.Sequential:
    """The judge's architecture: two convolution + max-pool blocks and a dense layer, about 0.1 M parameters."""
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),   # 16×14×14
        nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),  # 32×7×7
        nn.Flatten(), nn.Dropout(0.25), nn.Linear(32 * 7 * 7, 64), nn.ReLU(), nn.Linear(64, 10),
    )


def classification_loss(model: nn.Module, batch: tuple[Tensor, ...]) -> Mapping[str, Tensor]:
    """Cross-entropy of ``model``'s logits for ``(images, labels)``; training shifts each image by up to 2 pixels.

    Returns ``{"total": cross-entropy in nats, "accuracy": share correct}``, so a history has ``test_accuracy``.
    """
    images, labels = batch[0], batch[1]
    if model.training:
        images = _random_shift(images)
    logits = model(images)
    return {"total": F.cross_entropy(logits, labels), "accuracy": (logits.argmax(1) == labels).float().mean()}


def judge(progress: bool = True) -> nn.Module:
    """The judge: a small CNN classifier of MNIST digits, trained once on ``zoo.mnist()`` and then cached.

    Recipe: :func:`judge_network`, Adam (lr 2·10⁻³, batches of 128), cross-entropy with random shifts of up to
    2 pixels (:func:`classification_loss`), about 120,000 images seen in full mode (2 epochs of the full MNIST,
    30 of the bundled 4,000 digits), 8 epochs of 2,000 in fast mode. About 30 s on a laptop CPU the first time,
    a second afterwards. Returns the model in evaluation mode on the CPU; its history is in ``model.history``.
    """
    x_train, y_train, x_test, y_test = mnist()
    model = judge_network()
    history = fit_cached(
        model, (x_train, y_train), (x_test, y_test), name="mnist-judge", loss_fn=classification_loss,
        epochs=pick(max(2, min(30, round(120_000 / len(x_train)))), 8), lr=2e-3, progress=progress,
    )
    model.history = history
    return model.eval()


@torch.no_grad()
def judge_predictions(classifier: nn.Module, images: Tensor, batch_size: int = 1000) -> tuple[Tensor, Tensor]:
    """The classifier's predicted class (int64) and its confidence, the largest softmax probability (float32)."""
    classifier.eval()
    device = next(classifier.parameters()).device
    probs = torch.cat([
        F.softmax(classifier(images[s : s + batch_size].to(device)), dim=1).cpu()
        for s in range(0, len(images), batch_size)
    ])
    confidence, predicted = probs.max(dim=1)
    return predicted, confidence


def recognizable_share(classifier: nn.Module, images: Tensor, threshold: float = 0.9) -> float:
    """The share of ``images`` the classifier assigns to one digit with a confidence of at least ``threshold``."""
    _, confidence = judge_predictions(classifier, images)
    return float((confidence >= threshold).float().mean())


def _codes(z: Tensor) -> Tensor:
    """Codes as a detached CPU float64 tensor ``N×d`` (checked)."""
    codes = torch.as_tensor(z).detach().cpu().double()
    if codes.dim() != 2:
        raise ValueError(f"expected codes of shape N×d, got {tuple(codes.shape)}")
    return codes


def _random_shift(images: Tensor, max_shift: int = 2) -> Tensor:
    """Shift each image by a random whole number of pixels (up to ``max_shift``) in x and y, filling with zeros."""
    n, c, h, w = images.shape
    device = images.device
    padded = F.pad(images, (max_shift,) * 4)
    dy, dx = torch.randint(0, 2 * max_shift + 1, (2, n), device=device)
    rows = (dy[:, None] + torch.arange(h, device=device))[:, None, :, None]
    cols = (dx[:, None] + torch.arange(w, device=device))[:, None, None, :]
    batch = torch.arange(n, device=device)[:, None, None, None]
    channel = torch.arange(c, device=device)[None, :, None, None]
    return padded[batch, channel, rows, cols]
