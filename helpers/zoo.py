"""The course's trained MNIST models, one recipe each, so that every notebook gets the same cached model.

Notebook 02 trains the 2-D autoencoder; notebook 03 asks for it again and loads it from the checkpoint cache in a
second. A notebook run on its own, or out of order, simply trains what it needs.
"""

from __future__ import annotations

from typing import Union

from torch import Tensor

from .config import pick
from .data import load_mnist
from .models import ConvAutoencoder, ConvVAE
from .train import History, fit_cached

Model = Union[ConvAutoencoder, ConvVAE]
FAST_TRAIN, FAST_TEST = 2000, 500
LEARNING_RATE = 3e-3
BATCH_SIZE = pick(128, 64)


def mnist() -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """MNIST as ``(x_train, y_train, x_test, y_test)``; fast mode keeps 2,000 training and 500 test images."""
    x_train, y_train = load_mnist("train", n=pick(None, FAST_TRAIN))
    x_test, y_test = load_mnist("test", n=pick(None, FAST_TEST))
    return x_train, y_train, x_test, y_test


def epochs_for(n_images: int) -> int:
    """Epochs for a data set of ``n_images``: about 240,000 images seen in full mode (4 epochs of the full 60,000,
    30 of the bundled 4,000-digit subset); in fast mode 8 epochs of 2,000 images in batches of 64, enough for the
    models to beat the mean image clearly (test BCE about 180 against 205 nats)."""
    return pick(max(4, min(30, round(240_000 / n_images))), 8)


def mnist_model(
    kind: str = "ae", latent_dim: int = 2, *, recon: str = "bce", beta: float = 1.0,
    activation: str = "leaky_relu", seed: int = 0, progress: bool = True,
) -> tuple[Model, History]:
    """A convolutional autoencoder (``kind="ae"``) or VAE (``"vae"``) trained on MNIST, from the cache if there.

    About 25 s on a laptop CPU in full mode with the full MNIST (12 s with the bundled subset), a second from the
    cache, a few seconds on a GPU.
    """
    if kind not in ("ae", "vae"):
        raise ValueError(f"kind must be 'ae' or 'vae', got {kind!r}")
    beta = float(beta)  # beta=1 and beta=1.0 are one model, and one cache entry
    x_train, _, x_test, _ = mnist()
    model_class = ConvAutoencoder if kind == "ae" else ConvVAE
    model = model_class(latent_dim, activation=activation)
    name = f"mnist-{kind}-z{latent_dim}-{recon}" + (f"-beta{beta:g}" if kind == "vae" else "") + f"-{activation}"
    history = fit_cached(
        model, x_train, x_test, name=name, epochs=epochs_for(len(x_train)), batch_size=BATCH_SIZE, lr=LEARNING_RATE,
        recon=recon, beta=beta, seed=seed, progress=progress,
    )
    return model, history
