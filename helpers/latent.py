"""Linear tools for latent spaces: PCA as a linear autoencoder, least-squares read-outs and R² (notebook 01), and the
two simple samplers of a plain autoencoder's codes, its bounding box and a Gaussian fitted to it (notebooks 03, 05).

``PCA`` keeps the best ``k``-dimensional *linear* code of a data set (the yardstick for a non-linear autoencoder);
``Readout`` fits targets such as the ellipse's semi-axes from latent codes by least squares; ``r_squared`` says
how much of their variance it explains.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
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


def box_samples(codes: Tensor, n: int, seed: int = 0) -> Tensor:
    """``n`` codes drawn uniformly from the bounding box of ``codes`` (``N×d``): where one samples a plain
    autoencoder for want of a known distribution."""
    low, high = codes.min(dim=0).values, codes.max(dim=0).values
    return low + torch.rand(n, codes.shape[1], generator=torch.Generator().manual_seed(seed)) * (high - low)


def fitted_gaussian_samples(codes: Tensor, n: int, seed: int = 0) -> Tensor:
    """``n`` codes drawn from the Gaussian fitted to ``codes`` (their mean and full covariance): the plain
    autoencoder's best simple generator, ``z = z̄ + L·ε`` with ``L Lᵀ = Σ`` (Cholesky) and ε ~ N(0, I)."""
    codes = codes.double()
    centre, covariance = codes.mean(0), torch.cov(codes.T).reshape(codes.shape[1], codes.shape[1])
    cholesky = torch.linalg.cholesky(covariance)
    eps = torch.randn(n, codes.shape[1], generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    return (centre + eps @ cholesky.T).float()
