"""Convolutional autoencoder and VAE in the lecture's style.

The encoder halves the image with stride-2 convolutions, then a hidden dense layer (128 units by default) and a
dense layer map to the latent code; the decoder mirrors it with two dense layers and stride-2 transposed
convolutions back to the image, with a sigmoid so that decoded images lie in [0, 1]. The hidden layers give a small
code a nonlinear map to and from the feature maps: with them a 2-D VAE on Fashion-MNIST reaches in 3 epochs a test
loss that it never reaches with one affine map each way (``benchmarks/README.md``). The same classes serve MNIST
(1×28×28) and the faces (3×32×32 or larger).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

ACTIVATIONS = {"relu": nn.ReLU, "leaky_relu": lambda: nn.LeakyReLU(0.2)}


def reparameterize(z_mean: Tensor, z_log_var: Tensor) -> Tensor:
    """Draw z = μ + σ·ε with ε ~ N(0, I) and σ = exp(½·log σ²), so that gradients reach μ and log σ²."""
    eps = torch.randn_like(z_mean)
    return z_mean + torch.exp(0.5 * z_log_var) * eps


def _activation(name: str) -> nn.Module:
    if name not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}, got {name!r}")
    return ACTIVATIONS[name]()


class _ConvCoder(nn.Module):
    """Shared body: the convolutional encoder trunk and the mirrored decoder.

    ``hidden`` is the width of the dense layer between the feature maps and the code on each side (``None``: no
    such layer, one affine map each way, as in the book's autoencoder).
    """

    variational = False

    def __init__(
        self,
        latent_dim: int = 2,
        in_channels: int = 1,
        image_size: int = 28,
        channels: tuple[int, ...] = (16, 32),
        activation: str = "leaky_relu",
        hidden: int | None = 128,
    ) -> None:
        super().__init__()
        channels = tuple(int(c) for c in channels)
        steps = 2 ** len(channels)
        if latent_dim < 1 or not channels:
            raise ValueError("latent_dim must be >= 1 and channels must name at least one layer")
        if hidden is not None and hidden < 1:
            raise ValueError(f"hidden must be None (no hidden dense layer) or >= 1, got {hidden}")
        if image_size % steps:
            raise ValueError(
                f"image_size {image_size} must be divisible by 2**len(channels) = {steps} "
                f"(one halving per stride-2 convolution)"
            )
        self.config: dict[str, Any] = {
            "latent_dim": latent_dim,
            "in_channels": in_channels,
            "image_size": image_size,
            "channels": list(channels),
            "activation": activation,
            "hidden": hidden,
        }
        self.latent_dim = latent_dim
        self.input_shape = (in_channels, image_size, image_size)
        side = image_size // steps
        self._feature_shape = (channels[-1], side, side)
        features = channels[-1] * side * side
        self._code_input = features if hidden is None else hidden  # what the dense layer(s) to the code read

        layers: list[nn.Module] = []
        previous = in_channels
        for c in channels:
            layers += [nn.Conv2d(previous, c, 3, stride=2, padding=1), _activation(activation)]
            previous = c
        layers.append(nn.Flatten())
        if hidden is not None:
            layers += [nn.Linear(features, hidden), _activation(activation)]
        self.encoder = nn.Sequential(*layers)

        layers = [nn.Linear(latent_dim, self._code_input), _activation(activation)]
        if hidden is not None:
            layers += [nn.Linear(hidden, features), _activation(activation)]
        layers.append(nn.Unflatten(1, self._feature_shape))
        outs = list(reversed(channels[:-1])) + [in_channels]
        previous = channels[-1]
        for i, c in enumerate(outs):
            layers.append(nn.ConvTranspose2d(previous, c, 3, stride=2, padding=1, output_padding=1))
            layers.append(_activation(activation) if i < len(outs) - 1 else nn.Sigmoid())
            previous = c
        self.decoder = nn.Sequential(*layers)

    def _check_input(self, x: Tensor) -> None:
        if x.dim() != 4 or tuple(x.shape[1:]) != self.input_shape:
            expected = "N×" + "×".join(map(str, self.input_shape))
            raise ValueError(f"{type(self).__name__} expects images of shape {expected}, got {tuple(x.shape)}")

    def _check_code(self, z: Tensor) -> None:
        if z.dim() != 2 or z.shape[1] != self.latent_dim:
            raise ValueError(
                f"{type(self).__name__} decodes codes of shape N×{self.latent_dim}, got {tuple(z.shape)}"
            )

    def decode(self, z: Tensor) -> Tensor:
        """Map codes ``N×latent_dim`` to images ``N×C×H×W`` in [0, 1]."""
        self._check_code(z)
        return self.decoder(z)


class ConvAutoencoder(_ConvCoder):
    """A plain convolutional autoencoder: ``encode`` gives one point z per image."""

    def __init__(self, latent_dim: int = 2, **kwargs: Any) -> None:
        super().__init__(latent_dim, **kwargs)
        self.to_code = nn.Linear(self._code_input, latent_dim)

    def encode(self, x: Tensor) -> Tensor:
        """Map images ``N×C×H×W`` to codes ``N×latent_dim``."""
        self._check_input(x)
        return self.to_code(self.encoder(x))

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """Return the reconstruction and the code: ``(x_hat, z)``."""
        z = self.encode(x)
        return self.decode(z), z


class ConvVAE(_ConvCoder):
    """A convolutional VAE: ``encode`` gives a Gaussian per image, ``(z_mean, z_log_var)``."""

    variational = True

    def __init__(self, latent_dim: int = 2, **kwargs: Any) -> None:
        super().__init__(latent_dim, **kwargs)
        self.to_mean = nn.Linear(self._code_input, latent_dim)
        self.to_log_var = nn.Linear(self._code_input, latent_dim)

    def encode(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """Map images to the mean and log-variance of q(z|x), each ``N×latent_dim``."""
        self._check_input(x)
        h = self.encoder(x)
        return self.to_mean(h), self.to_log_var(h)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """Encode, sample z by the reparameterization trick (in training and evaluation alike) and decode.

        Returns ``(x_hat, z_mean, z_log_var)``. Sampling at evaluation too keeps the test loss an ELBO.
        """
        z_mean, z_log_var = self.encode(x)
        return self.decode(reparameterize(z_mean, z_log_var)), z_mean, z_log_var


@torch.no_grad()
def encode_means(model: nn.Module, images: Tensor, batch_size: int = 1024) -> Tensor:
    """Codes of many images in batches, on the CPU: z for an autoencoder, z_mean for a VAE."""
    model.eval()
    device = next(model.parameters()).device
    codes = []
    for start in range(0, len(images), batch_size):
        out = model.encode(images[start : start + batch_size].to(device))
        codes.append((out[0] if model.variational else out).cpu())
    return torch.cat(codes)


@torch.no_grad()
def decode_codes(model: nn.Module, z: Tensor, batch_size: int = 1024) -> Tensor:
    """Decode many codes in batches, on the CPU."""
    model.eval()
    device = next(model.parameters()).device
    return torch.cat([model.decode(z[s : s + batch_size].to(device)).cpu() for s in range(0, len(z), batch_size)])
