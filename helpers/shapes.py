"""Clear messages for inputs of the wrong shape or type, for the models of :mod:`helpers.models`.

A network fed a batch of the wrong shape fails deep inside PyTorch with a message about matrix sizes; these checks
say instead what the model expects, what it got and how to fix it.
"""

from __future__ import annotations

from torch import Tensor, nn


def check_images(module: nn.Module, x: Tensor) -> None:
    """Raise unless ``x`` is a float batch ``N×C×H×W`` of ``module.input_shape`` ``(C, H, W)``."""
    who, shape = type(module).__name__, tuple(module.input_shape)
    if not isinstance(x, Tensor):
        raise TypeError(f"{who} expects a tensor of images, got {type(x).__name__}")
    if not x.is_floating_point():
        raise ValueError(f"{who} expects float images in [0, 1], got {x.dtype}: convert them with x.float() / 255")
    if x.dim() != 4 or tuple(x.shape[1:]) != shape:
        expected = "N×" + "×".join(map(str, shape))
        hint = " (add the batch dimension: x[None])" if tuple(x.shape) == shape else ""
        raise ValueError(f"{who} expects images of shape {expected}, got {tuple(x.shape)}{hint}")


def check_codes(module: nn.Module, z: Tensor) -> None:
    """Raise unless ``z`` is a float batch of codes ``N×module.latent_dim``."""
    who, latent_dim = type(module).__name__, module.latent_dim
    if not isinstance(z, Tensor) or not z.is_floating_point():
        raise TypeError(f"{who} decodes float codes, got {getattr(z, 'dtype', type(z).__name__)}")
    if z.dim() != 2 or z.shape[1] != latent_dim:
        hint = " (add the batch dimension: z[None])" if tuple(z.shape) == (latent_dim,) else ""
        raise ValueError(f"{who} decodes codes of shape N×{latent_dim}, got {tuple(z.shape)}{hint}")
