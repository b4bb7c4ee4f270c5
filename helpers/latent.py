"""Tools of the first notebook: PCA as a linear autoencoder, least-squares read-outs, R² and the recipe diagram.

``PCA`` keeps the best ``k``-dimensional *linear* code of a data set (the yardstick for a non-linear autoencoder);
``Readout`` fits targets such as the ellipse's semi-axes from latent codes by least squares; ``r_squared`` says
how much of their variance it explains.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch
from torch import Tensor


@dataclass(frozen=True)
class PCA:
    """Principal components of a data set: the optimal linear autoencoder for every code size ``k``.

    Encoding centres and projects, ``z = (x − mean) Vₖᵀ``; decoding maps back, ``x̂ = mean + z Vₖ``, where the
    rows of ``components`` (``Vₖ`` is the first ``k``) are orthonormal and sorted by decreasing variance.
    Inputs of any shape ``N×...`` are flattened to ``N×D``; ``decode`` returns ``N×D``.
    """

    mean: Tensor
    """The mean of the data, ``D``."""
    components: Tensor
    """Principal directions, one per row, ``min(N, D)×D``."""
    singular_values: Tensor
    """Singular values of the centred data matrix, in decreasing order."""

    @classmethod
    def fit(cls, x: Tensor) -> PCA:
        """All principal components of ``x`` (``N×...``), from the SVD of the centred data matrix."""
        flat = x.flatten(1).to(torch.float64)
        mean = flat.mean(0)
        _, singular_values, vh = torch.linalg.svd(flat - mean, full_matrices=False)
        return cls(mean.float(), vh.float(), singular_values.float())

    def encode(self, x: Tensor, k: int) -> Tensor:
        """Codes ``N×k``: the coordinates of the centred ``x`` along the top ``k`` components."""
        self._check_k(k)
        return (x.flatten(1) - self.mean) @ self.components[:k].T

    def decode(self, z: Tensor) -> Tensor:
        """Flat reconstructions ``N×D`` of codes ``N×k``."""
        self._check_k(z.shape[1])
        return self.mean + z @ self.components[: z.shape[1]]

    def reconstruct(self, x: Tensor, k: int) -> Tensor:
        """``decode(encode(x, k))`` in the shape of ``x``: the best linear reconstruction through ``k`` numbers."""
        return self.decode(self.encode(x, k)).reshape(x.shape)

    def _check_k(self, k: int) -> None:
        if not 0 <= k <= len(self.components):
            raise ValueError(f"k must lie between 0 and {len(self.components)} components, got {k}")


def polynomial_features(z: Tensor, degree: int = 1) -> Tensor:
    """``[1, z]`` for ``degree=1``; ``degree=2`` adds every square and product ``zᵢ·zⱼ`` (i ≤ j)."""
    if degree not in (1, 2):
        raise ValueError(f"degree must be 1 or 2, got {degree}")
    columns = [torch.ones(len(z), 1, dtype=z.dtype), z]
    if degree == 2:
        i, j = torch.triu_indices(z.shape[1], z.shape[1])
        columns.append(z[:, i] * z[:, j])
    return torch.cat(columns, dim=1)


@dataclass(frozen=True)
class Readout:
    """A least-squares map from codes to targets through polynomial features: ``ŷ = features(z) · weights``."""

    weights: Tensor
    """``F×M``: one column per target."""
    degree: int

    @classmethod
    def fit(cls, z: Tensor, y: Tensor, degree: int = 1) -> Readout:
        """Solve ``min_w ‖features(z)·w − y‖²`` (``torch.linalg.lstsq``) for codes ``N×d`` and targets ``N×M``."""
        features = polynomial_features(z.to(torch.float64), degree)
        weights = torch.linalg.lstsq(features, y.to(torch.float64).reshape(len(y), -1)).solution
        return cls(weights.float(), degree)

    def __call__(self, z: Tensor) -> Tensor:
        """Predicted targets ``N×M``."""
        return polynomial_features(z.float(), self.degree) @ self.weights


def r_squared(y: Tensor, y_pred: Tensor) -> Tensor:
    """Coefficient of determination per column: ``1 − Σ(y − ŷ)² / Σ(y − ȳ)²``.

    1 is a perfect prediction, 0 is no better than predicting the mean, below 0 is worse than that.
    """
    y, y_pred = y.reshape(len(y), -1), y_pred.reshape(len(y_pred), -1)
    if y.shape != y_pred.shape:
        raise ValueError(f"y and y_pred must have the same shape, got {tuple(y.shape)} and {tuple(y_pred.shape)}")
    residual = ((y - y_pred) ** 2).sum(0)
    total = ((y - y.mean(0)) ** 2).sum(0)
    return 1 - residual / total


_RECIPE_BOXES = {  # name: (x, y, text, colour); data space left and right, latent space in the middle
    "data": (0.9, 2.2, "data $x$\n(784 pixels)", "#dbe9f6"),
    "encoder": (3.0, 2.2, "1 · encode\n$z = f(x)$", "#fde2c8"),
    "codes": (5.2, 2.2, "codes $z$\n(2 numbers each)", "#e6dbf4"),
    "density": (5.2, 0.7, "2 · model $p(z)$\nin latent space", "#e6dbf4"),
    "sample": (7.4, 0.7, "3 · sample\n$z_{new} \\sim p(z)$", "#e6dbf4"),
    "decoder": (9.6, 0.7, "4 · decode\n$x_{new} = g(z_{new})$", "#fde2c8"),
    "new": (9.6, 2.2, "new data $x_{new}$", "#dbe9f6"),
}
_RECIPE_ARROWS = [("data", "encoder"), ("encoder", "codes"), ("codes", "density"), ("density", "sample"),
                  ("sample", "decoder"), ("decoder", "new")]


def recipe_figure() -> Figure:
    """The lecture's generative recipe as boxes and arrows: encode, model p(z), sample, decode.

    Like :mod:`helpers.plots`, the figure is not managed by pyplot: it shows once as a cell's last expression.
    """
    fig = Figure(figsize=(11, 3.4), layout="constrained")
    ax = fig.subplots()
    width, height = 1.8, 0.9
    for x, y, text, colour in _RECIPE_BOXES.values():
        ax.add_patch(FancyBboxPatch((x - width / 2, y - height / 2), width, height, boxstyle="round,pad=0.05",
                                    facecolor=colour, edgecolor="0.3"))
        ax.text(x, y, text, ha="center", va="center", fontsize=10)
    for start, end in _RECIPE_ARROWS:
        (x0, y0), (x1, y1) = _RECIPE_BOXES[start][:2], _RECIPE_BOXES[end][:2]
        horizontal = y0 == y1
        dx = (width / 2 + 0.08) * (1 if x1 > x0 else -1) if horizontal else 0.0
        dy = 0.0 if horizontal else (height / 2 + 0.08) * (1 if y1 > y0 else -1)
        ax.add_patch(FancyArrowPatch((x0 + dx, y0 + dy), (x1 - dx, y1 - dy), arrowstyle="-|>",
                                     mutation_scale=18, color="0.25", linewidth=1.5))
    ax.axvspan(4.05, 8.45, color="#f4f0fa", zorder=-1)
    ax.text(6.25, 2.95, "latent space", ha="center", fontsize=11, style="italic")
    ax.text(0.9, 2.95, "data space", ha="center", fontsize=11, style="italic")
    ax.text(9.6, 2.95, "data space", ha="center", fontsize=11, style="italic")
    ax.text(1.95, 0.7, "$f$ and $g$ are trained together\nas an autoencoder: $g(f(x)) \\approx x$",
            ha="center", va="center", fontsize=10, color="0.25")
    ax.set_xlim(-0.2, 10.7)
    ax.set_ylim(0.0, 3.2)
    ax.set_axis_off()
    ax.set_title("The generative recipe: encode, model a distribution in latent space, sample, decode")
    return fig
