"""The checks of notebook 01: the solutions pass, each recognized mistake is named, the stubs are "not attempted"."""

import math

import pytest
import torch

from helpers import checks

from exercise_support import assert_mistake, solutions_are_correct, stubs_are_not_attempted

NOTEBOOK = "01_latent_space.ipynb"
CHECKS = {"compression_factor": checks.check_compression_factor, "r_squared": checks.check_r_squared,
          "pca_reconstruct": checks.check_pca_reconstruct}

test_notebook_solutions_are_correct = solutions_are_correct(NOTEBOOK, CHECKS)
test_notebook_stubs_are_not_attempted = stubs_are_not_attempted(NOTEBOOK, CHECKS)


# --- compression_factor ---------------------------------------------------------------------------------------

def compression_factor(image_shape, latent_dim):
    return math.prod(image_shape) / latent_dim


COMPRESSION_MISTAKES = {
    "inverted": lambda shape, d: d / math.prod(shape),
    "sum_not_product": lambda shape, d: sum(shape) / d,
    "channels_ignored": lambda shape, d: shape[-1] * shape[-2] / d,
    "integer_division": lambda shape, d: math.prod(shape) // d,
    "wrong_value": lambda shape, d: math.prod(shape) / d + 1,
    "not_a_number": lambda shape, d: "392",
    "raised": lambda shape, d: shape.size,
}


def test_compression_factor_solution_passes():
    assert checks.check_compression_factor(compression_factor).ok
    assert checks.check_compression_factor(lambda shape, d: torch.tensor(math.prod(shape) / d)).ok


@pytest.mark.parametrize("mistake", sorted(COMPRESSION_MISTAKES))
def test_compression_factor_mistakes_are_named(mistake):
    assert_mistake(checks.check_compression_factor, COMPRESSION_MISTAKES[mistake], mistake)


# --- r_squared ------------------------------------------------------------------------------------------------

def r_squared(y, y_pred):
    return 1 - ((y - y_pred) ** 2).sum() / ((y - y.mean()) ** 2).sum()


def _correlation(y, y_pred):
    yc, pc = y - y.mean(), y_pred - y_pred.mean()
    return (yc * pc).sum() / (yc.norm() * pc.norm())


def _in_place(y, y_pred):
    y -= y.mean()
    return 1 - ((y + 0 - y_pred) ** 2).sum() / (y**2).sum()


R2_MISTAKES = {
    "sst_not_centred": lambda y, p: 1 - ((y - p) ** 2).sum() / (y**2).sum(),
    "inverted": lambda y, p: ((y - p) ** 2).sum() / ((y - y.mean()) ** 2).sum(),
    "sst_from_predictions": lambda y, p: 1 - ((y - p) ** 2).sum() / ((p - p.mean()) ** 2).sum(),
    "correlation": _correlation,
    "correlation_squared": lambda y, p: _correlation(y, p) ** 2,
    "mean_and_sum_mixed": lambda y, p: 1 - ((y - p) ** 2).mean() / ((y - y.mean()) ** 2).sum(),
    "not_a_number": lambda y, p: 1 - (y - p) ** 2 / ((y - y.mean()) ** 2).sum(),
    "modified_input": _in_place,
    "wrong_value": lambda y, p: 1 - ((y - p).abs()).sum() / ((y - y.mean()).abs()).sum(),
}


def test_r_squared_solution_passes():
    assert checks.check_r_squared(r_squared).ok
    assert checks.check_r_squared(lambda y, p: float(r_squared(y.numpy(), p.numpy()))).ok


@pytest.mark.parametrize("mistake", sorted(R2_MISTAKES))
def test_r_squared_mistakes_are_named(mistake):
    assert_mistake(checks.check_r_squared, R2_MISTAKES[mistake], mistake)


# --- pca_reconstruct ------------------------------------------------------------------------------------------

def pca_reconstruct(x, k):
    mean = x.mean(0)
    vh = torch.linalg.svd(x - mean, full_matrices=False).Vh
    return mean + (x - mean) @ vh[:k].T @ vh[:k]


def _pca_variant(centre=True, add_mean=True, rows=slice(None), columns=False, project_raw=False, back=True):
    def reconstruct(x, k):
        mean = x.mean(0) if centre else torch.zeros(x.shape[1])
        vh = torch.linalg.svd(x - mean, full_matrices=False).Vh
        basis = vh[:, :k].T if columns else vh[rows][:k] if rows != "bottom" else vh[-k:]
        z = (x if project_raw else x - mean) @ basis.T
        if not back:
            return z
        return (mean if add_mean else 0) + z @ basis

    return reconstruct


def _pca_in_place(x, k):
    x -= x.mean(0)
    return pca_reconstruct(x, k)


PCA_MISTAKES = {
    "no_centring": _pca_variant(centre=False),
    "mean_not_added": _pca_variant(add_mean=False),
    "smallest_components": _pca_variant(rows="bottom"),
    "columns_of_vh": _pca_variant(columns=True),
    "raw_data_projected": _pca_variant(project_raw=True, add_mean=False),
    "not_projected_back": _pca_variant(back=False),
    "wrong_shape": lambda x, k: pca_reconstruct(x, k).T,
    "not_a_tensor": lambda x, k: pca_reconstruct(x, k).tolist(),
    "modified_input": _pca_in_place,
    "wrong_value": lambda x, k: pca_reconstruct(x, max(k - 1, 1)),
}


def test_pca_reconstruct_solutions_pass():
    assert checks.check_pca_reconstruct(pca_reconstruct).ok
    assert checks.check_pca_reconstruct(lambda x, k: pca_reconstruct(x.double(), k)).ok


def _with_pca_lowrank(oversampling):
    def reconstruct(x, k):
        torch.manual_seed(0)
        mean = x.mean(0)
        v = torch.pca_lowrank(x, q=min(k + oversampling, x.shape[1]), center=True)[2][:, :k]
        return mean + (x - mean) @ v @ v.T

    return reconstruct


def test_pca_reconstruct_with_randomized_pca():
    assert checks.check_pca_reconstruct(_with_pca_lowrank(oversampling=2)).ok
    # q = k: a poor approximation
    verdict = assert_mistake(checks.check_pca_reconstruct, _with_pca_lowrank(oversampling=0), "wrong_value")
    assert "pca_lowrank" in verdict.hint


@pytest.mark.parametrize("mistake", sorted(PCA_MISTAKES))
def test_pca_reconstruct_mistakes_are_named(mistake):
    assert_mistake(checks.check_pca_reconstruct, PCA_MISTAKES[mistake], mistake)


def test_raw_projection_with_mean_is_named():
    assert_mistake(checks.check_pca_reconstruct, _pca_variant(project_raw=True), "raw_data_projected")
