"""The comparators: VAEs written and trained the way the usual tutorials do it, from their public descriptions.

* :class:`MLPVAE` is the multilayer-perceptron VAE of pytorch/examples (784-400-20-400-784, ReLU, a sigmoid output),
  with the course's interface added so that ``helpers.train.fit`` can train it too: ``variational = True`` and
  ``forward(x) -> (x_hat, z_mean, z_log_var)`` with ``x_hat`` shaped like ``x``.
* :class:`BookConvVAE` is the book-style convolutional VAE (the Fashion-MNIST VAE of *Generative Deep Learning*):
  the 28×28 images padded to 32×32, three stride-2 convolutions of 32, 64 and 128 channels, dense layers to the
  code, a dense layer back to 128×4×4 and three mirrored stride-2 transposed convolutions, then a 3×3 convolution
  with a sigmoid; the output is cropped back to 28×28 so its loss is in nats per 28×28 image like every other model.
* :func:`train_reference` is the tutorial training loop: a ``DataLoader`` with a ``ToTensor`` transform over a
  torchvision-style data set of PIL images, Adam, binary cross-entropy summed over pixels plus the KL divergence.

All models sample z in training *and* evaluation, so the test loss is a negative ELBO.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import Tensor, nn
from torch.utils.data import DataLoader, Dataset
from torchvision.transforms import ToTensor


def _sample(z_mean: Tensor, z_log_var: Tensor) -> Tensor:
    std = torch.exp(0.5 * z_log_var)
    return z_mean + std * torch.randn_like(std)


class MLPVAE(nn.Module):
    """pytorch/examples' VAE: one hidden layer of 400 units each way and a 20-dimensional latent space."""

    variational = True

    def __init__(self, hidden: int = 400, latent_dim: int = 20) -> None:
        super().__init__()
        self.fc1 = nn.Linear(784, hidden)
        self.fc_mean = nn.Linear(hidden, latent_dim)
        self.fc_log_var = nn.Linear(hidden, latent_dim)
        self.fc3 = nn.Linear(latent_dim, hidden)
        self.fc4 = nn.Linear(hidden, 784)

    def encode(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """Images ``N×1×28×28`` (or ``N×784``) to the mean and log-variance of q(z|x)."""
        h = F.relu(self.fc1(x.reshape(-1, 784)))
        return self.fc_mean(h), self.fc_log_var(h)

    def decode(self, z: Tensor) -> Tensor:
        """Codes to flat images ``N×784`` in [0, 1]."""
        return torch.sigmoid(self.fc4(F.relu(self.fc3(z))))

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """``(x_hat, z_mean, z_log_var)``, ``x_hat`` shaped like ``x``; z is sampled in training and evaluation."""
        z_mean, z_log_var = self.encode(x)
        return self.decode(_sample(z_mean, z_log_var)).view_as(x), z_mean, z_log_var


class BookConvVAE(nn.Module):
    """The book-style convolutional VAE (conv 32/64/128, stride 2, on images padded to 32×32; ReLU)."""

    variational = True

    def __init__(self, latent_dim: int = 2) -> None:
        super().__init__()
        self.encoder = nn.Sequential(
            nn.Conv2d(1, 32, 3, stride=2, padding=1), nn.ReLU(),
            nn.Conv2d(32, 64, 3, stride=2, padding=1), nn.ReLU(),
            nn.Conv2d(64, 128, 3, stride=2, padding=1), nn.ReLU(),
            nn.Flatten(),
        )
        self.fc_mean = nn.Linear(128 * 4 * 4, latent_dim)
        self.fc_log_var = nn.Linear(128 * 4 * 4, latent_dim)
        self.decoder = nn.Sequential(
            nn.Linear(latent_dim, 128 * 4 * 4), nn.Unflatten(1, (128, 4, 4)),
            nn.ConvTranspose2d(128, 128, 3, stride=2, padding=1, output_padding=1), nn.ReLU(),
            nn.ConvTranspose2d(128, 64, 3, stride=2, padding=1, output_padding=1), nn.ReLU(),
            nn.ConvTranspose2d(64, 32, 3, stride=2, padding=1, output_padding=1), nn.ReLU(),
            nn.Conv2d(32, 1, 3, padding=1), nn.Sigmoid(),
        )

    def encode(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """Images ``N×1×28×28`` (padded to 32×32 inside) to the mean and log-variance of q(z|x)."""
        h = self.encoder(F.pad(x, (2, 2, 2, 2)))
        return self.fc_mean(h), self.fc_log_var(h)

    def decode(self, z: Tensor) -> Tensor:
        """Codes to images ``N×1×28×28`` in [0, 1] (the 32×32 output with its 2-pixel border cropped)."""
        return self.decoder(z)[:, :, 2:30, 2:30]

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """``(x_hat, z_mean, z_log_var)``; z is sampled in training and evaluation."""
        z_mean, z_log_var = self.encode(x)
        return self.decode(_sample(z_mean, z_log_var)), z_mean, z_log_var


def reference_loss(x_hat: Tensor, x: Tensor, z_mean: Tensor, z_log_var: Tensor) -> Tensor:
    """pytorch/examples' loss: binary cross-entropy summed over pixels *and* the batch, plus the summed KL."""
    bce = F.binary_cross_entropy(x_hat.reshape(-1, 784), x.reshape(-1, 784), reduction="sum")
    kl = -0.5 * torch.sum(1 + z_log_var - z_mean.pow(2) - z_log_var.exp())
    return bce + kl


class PILImages(Dataset):
    """A torchvision-style data set: uint8 images kept as an array, each item a PIL image through ``transform``.

    ``torchvision.datasets.FashionMNIST`` does the same in ``__getitem__``.
    """

    def __init__(self, images: Tensor, labels: Tensor, transform: Callable = ToTensor()) -> None:
        self.data = (images.squeeze(1) * 255).round().to(torch.uint8).numpy()
        self.targets = labels.tolist()
        self.transform = transform

    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, index: int) -> tuple[Tensor, int]:
        image = Image.fromarray(np.asarray(self.data[index]), mode="L")
        return self.transform(image), self.targets[index]


def _test_loss(model: nn.Module, loader: DataLoader) -> float:
    model.eval()
    total = 0.0
    with torch.no_grad():
        for x, _ in loader:
            x_hat, z_mean, z_log_var = model(x)
            total += reference_loss(x_hat, x, z_mean, z_log_var).item()
    return total / len(loader.dataset)


def train_reference(
    model: nn.Module, train_set: Dataset, test_set: Dataset, *, epochs: int = 3, batch_size: int = 128,
    lr: float = 1e-3, seed: int = 0, on_batch: Callable[[], object] | None = None,
) -> dict[str, list[float]]:
    """Train the tutorial way; return ``{"train_total", "test_total", "seconds", "cpu_seconds"}`` per epoch.

    Losses are in nats per image. ``seconds`` is the wall-clock training time of each epoch, ``cpu_seconds`` the
    CPU time this process spent on it (all threads), the test evaluation excluded from both. ``on_batch()`` is
    called after every training step (a progress bar's ``update``).
    """
    torch.manual_seed(seed)
    train_loader = DataLoader(train_set, batch_size=batch_size, shuffle=True)
    test_loader = DataLoader(test_set, batch_size=batch_size, shuffle=False)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    history: dict[str, list[float]] = {"train_total": [], "test_total": [], "seconds": [], "cpu_seconds": []}
    for _ in range(epochs):
        start, cpu_start = time.perf_counter(), time.process_time()
        model.train()
        train_loss = 0.0
        for x, _ in train_loader:
            optimizer.zero_grad()
            x_hat, z_mean, z_log_var = model(x)
            loss = reference_loss(x_hat, x, z_mean, z_log_var)
            loss.backward()
            train_loss += loss.item()
            optimizer.step()
            if on_batch is not None:
                on_batch()
        history["seconds"].append(time.perf_counter() - start)
        history["cpu_seconds"].append(time.process_time() - cpu_start)
        history["train_total"].append(train_loss / len(train_set))
        history["test_total"].append(_test_loss(model, test_loader))
    return history
