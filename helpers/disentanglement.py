"""Measures of disentanglement and posterior collapse (notebook 08): measures only, no training.

A code is *disentangled* when each known factor of the data (a face's smile, its hair colour) is carried by one
latent dimension and that dimension carries nothing else. Two scores against known factors:

- :func:`mig`, the mutual information gap (Chen et al., 2018): for each factor, the mutual information of its best
  latent dimension minus that of its second best, divided by the factor's entropy; 1 when one dimension alone
  carries the factor, 0 when two carry it equally or none does.
- :func:`best_single_r2`: for each factor, the share of its variance that the best *single* latent dimension
  explains (a cubic polynomial of that dimension, fitted by least squares).

And two of posterior collapse: :func:`kl_per_dimension` and :func:`active_units` (Burda et al., 2016).

The estimator of mutual information (:func:`mutual_information_matrix`): every latent dimension and every factor is
cut into ``bins`` bins of equal counts (:func:`discretize`; a variable with at most ``bins`` distinct values, such
as the faces' glasses, keeps one bin per value), and the mutual information of two binned variables is the plug-in
estimate from their joint histogram, in nats. It overestimates by about ``(bins − 1)² / (2N)`` nats for independent
variables (0.02 nats for 10 bins and 2,000 codes, against a factor's entropy of log 10 = 2.3 nats).
"""

from __future__ import annotations

import torch
from torch import Tensor

from .latent import r_squared

BINS = 10
"""Bins per variable of the mutual-information estimator."""
ACTIVE_THRESHOLD = 0.01
"""A latent dimension is active when its posterior mean varies over the data by more than this (a variance)."""

__all__ = ["ACTIVE_THRESHOLD", "BINS", "active_units", "best_single_r2", "discretize", "entropy", "kl_per_dimension",
           "mig", "mutual_information", "mutual_information_matrix"]


def discretize(values: Tensor, bins: int = BINS) -> Tensor:
    """Bin numbers (int64, from 0) for a 1-D tensor: ``bins`` bins of (nearly) equal counts, cut at its quantiles.

    A variable with at most ``bins`` distinct values gets one bin per value instead (a binary factor: two bins).
    """
    values = torch.as_tensor(values, dtype=torch.float64).flatten().contiguous()
    distinct = values.unique()
    if len(distinct) <= bins:
        return torch.searchsorted(distinct, values)
    edges = values.quantile(torch.linspace(0, 1, bins + 1, dtype=torch.float64)[1:-1])
    return torch.searchsorted(edges, values, right=True)


def entropy(labels: Tensor) -> float:
    """Entropy in nats of a discrete variable given by its integer labels (a plug-in estimate from the counts)."""
    p = torch.bincount(torch.as_tensor(labels).flatten()).double()
    p = p[p > 0] / p.sum()
    return float(-(p * p.log()).sum())


def mutual_information(a: Tensor, b: Tensor) -> float:
    """Mutual information in nats of two discrete variables given by integer labels of equal length:
    ``Σ p(a, b) log(p(a, b) / (p(a) p(b)))`` over their joint histogram."""
    a, b = torch.as_tensor(a).flatten(), torch.as_tensor(b).flatten()
    if a.shape != b.shape:
        raise ValueError(f"a and b must have the same length, got {len(a)} and {len(b)}")
    n_b = int(b.max()) + 1
    joint = torch.bincount(a * n_b + b, minlength=(int(a.max()) + 1) * n_b).double().view(-1, n_b)
    joint /= joint.sum()
    independent = joint.sum(1, keepdim=True) * joint.sum(0, keepdim=True)
    seen = joint > 0
    return float((joint[seen] * (joint[seen] / independent[seen]).log()).sum())


def mutual_information_matrix(codes: Tensor, factors: Tensor, bins: int = BINS) -> Tensor:
    """The estimated mutual information (nats) of every latent dimension with every factor: ``d×K`` for codes
    ``N×d`` and factors ``N×K``, both binned by :func:`discretize`."""
    codes, factors = _two_dimensional(codes, factors)
    binned_codes = [discretize(codes[:, j], bins) for j in range(codes.shape[1])]
    binned_factors = [discretize(factors[:, k], bins) for k in range(factors.shape[1])]
    return torch.tensor([[mutual_information(z, f) for f in binned_factors] for z in binned_codes])


def mig(codes: Tensor, factors: Tensor, bins: int = BINS) -> Tensor:
    """The mutual information gap of every factor (``K`` numbers; their mean is the MIG of the code).

    For factor k: ``(I(z_a; f_k) − I(z_b; f_k)) / H(f_k)``, where z_a and z_b are the latent dimensions with the
    largest and the second largest mutual information with it. Codes ``N×d`` (d ≥ 2: the posterior means), factors
    ``N×K``; both binned (see the module's docstring).
    """
    codes, factors = _two_dimensional(codes, factors)
    if codes.shape[1] < 2:
        raise ValueError(f"the gap needs at least two latent dimensions, got {codes.shape[1]}")
    information = mutual_information_matrix(codes, factors, bins)
    top_two = information.topk(2, dim=0).values  # 2×K
    entropies = torch.tensor([entropy(discretize(factors[:, k], bins)) for k in range(factors.shape[1])])
    return (top_two[0] - top_two[1]) / entropies


def best_single_r2(codes: Tensor, factors: Tensor) -> tuple[Tensor, Tensor]:
    """For every factor, the R² of the best single latent dimension and that dimension: two tensors of ``K``.

    Each dimension predicts each factor through a cubic polynomial fitted by least squares (so a monotone but
    curved relation counts as well as a straight one); R² is measured on the same codes.
    """
    codes, factors = _two_dimensional(codes, factors)
    scores = torch.empty(codes.shape[1], factors.shape[1])
    for j in range(codes.shape[1]):
        z = (codes[:, j] - codes[:, j].mean()) / codes[:, j].std().clamp(min=1e-12)
        features = torch.stack([z**p for p in range(4)], dim=1)  # 1, z, z², z³
        weights = torch.linalg.lstsq(features, factors).solution
        scores[j] = r_squared(factors, features @ weights).float()
    best, dimension = scores.max(0)
    return best, dimension


def kl_per_dimension(z_mean: Tensor, z_log_var: Tensor) -> Tensor:
    """KL(q(z_j|x) ‖ N(0, 1)) of every latent dimension, averaged over the images: ``d`` numbers in nats that sum
    to the mean KL of :func:`helpers.losses.kl_divergence`."""
    return (-0.5 * (1 + z_log_var - z_mean**2 - z_log_var.exp())).mean(0)


def active_units(z_mean: Tensor, threshold: float = ACTIVE_THRESHOLD) -> Tensor:
    """Which latent dimensions are active (Burda et al., 2016): a boolean per dimension, true where the posterior
    mean's variance over the images, ``Var_x E[z_j | x]``, exceeds ``threshold``. ``.sum()`` counts them.

    An inactive dimension gives every image nearly the same q(z|x), usually the prior itself: its KL is about 0 and
    it carries no information (posterior collapse)."""
    z_mean = torch.as_tensor(z_mean).detach().cpu().double()
    if z_mean.dim() != 2 or len(z_mean) < 2:
        raise ValueError(f"z_mean must have shape N×d with N ≥ 2, got {tuple(z_mean.shape)}")
    return z_mean.var(0) > threshold


def _two_dimensional(codes: Tensor, factors: Tensor) -> tuple[Tensor, Tensor]:
    codes = torch.as_tensor(codes, dtype=torch.float64)
    factors = torch.as_tensor(factors, dtype=torch.float64)
    if codes.dim() != 2 or factors.dim() != 2 or len(codes) != len(factors):
        raise ValueError(f"codes and factors must be N×d and N×K with the same N, got {tuple(codes.shape)} and "
                         f"{tuple(factors.shape)}")
    return codes, factors
