"""Run a model over many images (or codes) in batches, without gradients: the one helper every measurement uses.

``in_batches(fn, x)`` applies ``fn`` to slices of ``x`` on the model's device and concatenates the results on the
CPU; ``encode_means`` and ``decode_codes`` are its two most common uses.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn

BATCH_SIZE = 1024
"""Rows per batch: large enough to be fast on a CPU, small enough for the memory of a laptop or a small GPU."""


@torch.no_grad()
def in_batches(fn: Callable[[Tensor], Tensor], x: Tensor, device: torch.device | str | None = None,
               batch_size: int = BATCH_SIZE) -> Tensor:
    """``torch.cat([fn(batch) for batch in x])`` on ``device`` (default: the CPU), without gradients, on the CPU."""
    if len(x) == 0:
        raise ValueError("in_batches needs at least one row")
    return torch.cat([fn(x[start : start + batch_size].to(device or "cpu")).cpu()
                      for start in range(0, len(x), batch_size)])


def model_device(model: nn.Module) -> torch.device:
    """The device of the model's first parameter (the CPU for a model without parameters)."""
    parameter = next(model.parameters(), None)
    return parameter.device if parameter is not None else torch.device("cpu")


def encode_means(model: nn.Module, images: Tensor) -> Tensor:
    """Codes of many images, in evaluation mode: z for an autoencoder, z_mean (the centre of q(z|x)) for a VAE."""
    model.eval()
    if model.variational:
        return in_batches(lambda x: model.encode(x)[0], images, model_device(model))
    return in_batches(model.encode, images, model_device(model))


def decode_codes(model: nn.Module, z: Tensor) -> Tensor:
    """Images decoded from many codes ``N×latent_dim``, in evaluation mode."""
    model.eval()
    return in_batches(model.decode, z, model_device(model))
