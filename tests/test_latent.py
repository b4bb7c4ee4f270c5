"""helpers.latent: PCA as the optimal linear autoencoder, least-squares read-outs, R² and the recipe figure."""

import matplotlib

matplotlib.use("Agg")

import pytest
import torch

from helpers.latent import PCA, Readout, polynomial_features, r_squared


def _data(n=300, d=8, rank=3, seed=0):
    """Points near a ``rank``-dimensional affine subspace of R^d, plus a little noise."""
    g = torch.Generator().manual_seed(seed)
    basis = torch.linalg.qr(torch.randn(d, rank, generator=g))[0].T
    codes = torch.randn(n, rank, generator=g) * torch.tensor([4.0, 2.0, 1.0])[:rank]
    return 5.0 + codes @ basis + 0.01 * torch.randn(n, d, generator=g)


def test_pca_components_are_orthonormal_and_sorted():
    pca = PCA.fit(_data())
    gram = pca.components @ pca.components.T
    assert torch.allclose(gram, torch.eye(len(gram)), atol=1e-5)
    assert torch.all(pca.singular_values[:-1] >= pca.singular_values[1:])


def test_pca_reconstructs_a_subspace_exactly_and_shapes_round_trip():
    x = _data().reshape(300, 2, 4)  # any N×... shape is flattened
    pca = PCA.fit(x)
    assert pca.encode(x, 3).shape == (300, 3)
    assert pca.reconstruct(x, 3).shape == x.shape
    assert ((pca.reconstruct(x, 3) - x) ** 2).mean() < 1e-3
    assert ((pca.reconstruct(x, 2) - x) ** 2).mean() > 0.1  # the third direction: variance 1 over 8 coordinates
    assert torch.allclose(pca.reconstruct(x, 0), pca.mean.expand(300, 8).reshape(x.shape))


def test_pca_error_is_the_sum_of_dropped_squared_singular_values():
    x = _data(rank=3)
    pca = PCA.fit(x)
    for k in range(4):
        error = ((pca.reconstruct(x, k) - x) ** 2).sum()
        assert torch.isclose(error, (pca.singular_values[k:] ** 2).sum(), rtol=1e-3)


def test_pca_beats_another_orthonormal_linear_code():
    x = _data()
    pca = PCA.fit(x)
    other = torch.linalg.qr(torch.randn(8, 2, generator=torch.Generator().manual_seed(3)))[0]
    centred = x - pca.mean
    other_error = ((centred - centred @ other @ other.T) ** 2).sum()
    assert ((pca.reconstruct(x, 2) - x) ** 2).sum() < other_error


def test_pca_rejects_too_many_components():
    pca = PCA.fit(_data(n=5))
    with pytest.raises(ValueError, match="k must"):
        pca.encode(_data(n=5), 6)


def test_polynomial_features():
    z = torch.tensor([[2.0, 3.0]])
    assert polynomial_features(z, 1).tolist() == [[1.0, 2.0, 3.0]]
    assert polynomial_features(z, 2).tolist() == [[1.0, 2.0, 3.0, 4.0, 6.0, 9.0]]
    with pytest.raises(ValueError):
        polynomial_features(z, 3)


def test_readout_recovers_linear_and_quadratic_targets():
    z = torch.randn(200, 2, generator=torch.Generator().manual_seed(0))
    linear = torch.stack([1 + 2 * z[:, 0] - z[:, 1], 3 * z[:, 1]], dim=1)
    assert torch.allclose(Readout.fit(z, linear, degree=1)(z), linear, atol=1e-4)
    quadratic = (z[:, 0] * z[:, 1] + z[:, 0] ** 2)[:, None]
    assert r_squared(quadratic, Readout.fit(z, quadratic, degree=1)(z)).item() < 0.5
    assert torch.allclose(Readout.fit(z, quadratic, degree=2)(z), quadratic, atol=1e-4)


def test_r_squared_reference_values():
    y = torch.tensor([[1.0, 2.0], [2.0, 4.0], [3.0, 9.0]])
    assert torch.allclose(r_squared(y, y), torch.ones(2))
    assert torch.allclose(r_squared(y, y.mean(0).expand(3, 2)), torch.zeros(2))
    assert r_squared(y[:, 0], torch.tensor([3.0, 2.0, 1.0])).item() == pytest.approx(-3.0)
    with pytest.raises(ValueError):
        r_squared(y, y[:, :1])
