"""The course's trained models, one recipe each, so that every notebook gets the same model from the checkpoint cache.

Notebook 02 trains the 2-D autoencoder with :func:`recipe`'s settings; notebook 03 asks :func:`mnist_model` for it
and loads it in a second. A notebook run on its own, or out of order, simply trains what it needs.

- MNIST: :func:`mnist` (the data), :func:`recipe` (the training settings), :func:`mnist_model` (autoencoders and
  VAEs), :func:`judge` (the classifier that judges decoded digits), :func:`conditional_vae` (notebook 09).
- Faces (notebooks 07 and 08): :func:`faces_recipe` (the training settings), :func:`faces_vae` and
  :func:`attribute_regressor`; notebook 08's β sweep: :func:`small_faces`, :func:`beta_recipe`,
  :func:`beta_faces_model` and :func:`beta_faces_vae`.
"""

from __future__ import annotations

from functools import cache
from typing import Any, Union

import torch.nn.functional as F
from torch import Tensor

from .config import pick
from .data import load_mnist
from .faces import faces_data
from .instruments import AttributeRegressor, attribute_loss, classification_loss, judge_network
from .losses import gaussian_beta
from .models import ConditionalVAE, ConvAutoencoder, ConvVAE, conditional_vae_loss
from .train import History, fit_cached

Model = Union[ConvAutoencoder, ConvVAE]
FAST_TRAIN, FAST_TEST = 2000, 500
LEARNING_RATE = 1e-2
"""The peak of the one-cycle learning-rate schedule of every MNIST model (:func:`recipe`)."""
FACES_LATENT_DIM = 32
FACES_CHANNELS = (32, 64)
FACES_EPOCHS, FACES_FAST_EPOCHS, FACES_BATCH_SIZE, FACES_LR = 6, 3, 32, 4e-3
"""The faces VAEs' recipe (:func:`faces_recipe`)."""
REGRESSOR_EPOCHS, REGRESSOR_FAST_EPOCHS = 3, 6
BETA_IMAGE_SIZE, BETA_LATENT_DIM, BETA_CHANNELS = 16, 16, (16, 32)
BETA_EPOCHS, BETA_FAST_EPOCHS, BETA_BATCH_SIZE, BETA_FAST_BATCH_SIZE, BETA_LR = 8, 4, 64, 32, 4e-3
"""The β sweep's faces VAEs (notebook 08): :func:`small_faces`, :func:`beta_recipe`."""


@cache
def mnist() -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """MNIST as ``(x_train, y_train, x_test, y_test)``; fast mode keeps 2,000 training and 500 test images.

    Loaded once per session (every recipe asks for it); the tensors are shared, so do not change them in place.
    """
    x_train, y_train = load_mnist("train", n=pick(None, FAST_TRAIN))
    x_test, y_test = load_mnist("test", n=pick(None, FAST_TEST))
    return x_train, y_train, x_test, y_test


def recipe(n_images: int) -> dict[str, Any]:
    """The course's training settings for MNIST models on ``n_images`` training images: ``fit``'s keyword arguments.

    Adam with a one-cycle learning rate peaking at ``LEARNING_RATE``. Full mode: batches of 128, 20 epochs of the
    bundled 4,000-digit subset, 4 of the full MNIST. Fast mode: 6 epochs of 2,000 images in batches of 64, enough
    for the models to beat the mean image clearly (test BCE about 165-170 against 205 nats for a 2-D code). On the
    subset this comes within 0.5 nats of the test losses that a constant 3·10⁻³ reached in 30 epochs; on the full
    Fashion-MNIST it does better in 3 epochs (``benchmarks/README.md``).
    """
    epochs = pick(max(4, min(20, round(240_000 / n_images))), 6)
    return {"epochs": epochs, "batch_size": pick(128, 64), "lr": LEARNING_RATE, "schedule": "one-cycle"}


def model_name(kind: str, latent_dim: int, recon: str = "bce", beta: float = 1.0,
               activation: str = "leaky_relu") -> str:
    """The checkpoint's name of an MNIST model, e.g. ``mnist-ae-z2`` or ``mnist-vae-z2-beta4``: the defaults
    (BCE, β = 1, LeakyReLU) are left out."""
    name = f"mnist-{kind}-z{latent_dim}"
    name += f"-{recon}" if recon != "bce" else ""
    name += f"-beta{beta:g}" if kind == "vae" and beta != 1.0 else ""
    return name + (f"-{activation}" if activation != "leaky_relu" else "")


def mnist_model(
    kind: str = "ae", latent_dim: int = 2, *, recon: str = "bce", beta: float = 1.0,
    activation: str = "leaky_relu", seed: int = 0, progress: bool = True,
) -> tuple[Model, History]:
    """A convolutional autoencoder (``kind="ae"``) or VAE (``"vae"``) trained on :func:`mnist` with :func:`recipe`.

    From the checkpoint cache when it is there. ``beta`` weighs the VAE's KL term.
    """
    if kind not in ("ae", "vae"):
        raise ValueError(f"kind must be 'ae' or 'vae', got {kind!r}")
    beta = float(beta)  # beta=1 and beta=1.0 are one model, and one cache entry
    x_train, _, x_test, _ = mnist()
    model = (ConvAutoencoder if kind == "ae" else ConvVAE)(latent_dim, activation=activation)
    history = fit_cached(model, x_train, x_test, name=model_name(kind, latent_dim, recon, beta, activation),
                         recon=recon, beta=beta, seed=seed, progress=progress, **recipe(len(x_train)))
    return model, history


def conditional_vae(latent_dim: int = 2, *, progress: bool = True) -> tuple[ConditionalVAE, History]:
    """The conditional VAE of notebook 09, trained on :func:`mnist`'s digits *and labels* with :func:`recipe` and
    :func:`helpers.models.conditional_vae_loss`. From the checkpoint cache when it is there."""
    x_train, y_train, x_test, y_test = mnist()
    model = ConditionalVAE(latent_dim)
    history = fit_cached(model, (x_train, y_train), (x_test, y_test), name=f"mnist-cvae-z{latent_dim}",
                         loss_fn=conditional_vae_loss, progress=progress, **recipe(len(x_train)))
    return model, history


def judge(progress: bool = True) -> Any:
    """The judge: :func:`helpers.instruments.judge_network` trained to classify :func:`mnist`'s digits.

    Adam with a one-cycle learning rate peaking at 5·10⁻³ (batches of 128), cross-entropy with random shifts of up to
    2 pixels, about 40,000 images seen in full mode (2 epochs of the full MNIST, 10 of the bundled subset), 8 epochs
    of 2,000 in fast mode. On the subset as accurate as 30 epochs at a constant 2·10⁻³ (97.3 % against 97.7 % of the
    test digits) in a third of the time (``benchmarks/README.md``). Returns the model in evaluation mode on the CPU;
    its history is in ``model.history``.
    """
    x_train, y_train, x_test, y_test = mnist()
    model = judge_network()
    model.history = fit_cached(
        model, (x_train, y_train), (x_test, y_test), name="mnist-judge", loss_fn=classification_loss,
        epochs=pick(max(2, min(10, round(40_000 / len(x_train)))), 8), lr=5e-3, schedule="one-cycle",
        progress=progress,
    )
    return model.eval()


def faces_recipe() -> dict[str, Any]:
    """The training settings of every faces VAE (notebooks 07 and 08): ``fit``'s keyword arguments.

    Adam at a constant learning rate ``FACES_LR`` in batches of ``FACES_BATCH_SIZE``; ``FACES_EPOCHS`` epochs of the
    10,000 training faces in full mode, ``FACES_FAST_EPOCHS`` of the 2,000 in fast mode. A VAE learns the faces'
    thin mouths late, after about 2,000 optimizer steps: small batches get there in half the images that batches of
    64 needed, while a one-cycle schedule, which spends many of its steps at small learning rates, got there later.
    """
    return {"epochs": pick(FACES_EPOCHS, FACES_FAST_EPOCHS), "batch_size": FACES_BATCH_SIZE, "lr": FACES_LR}


def faces_vae(recon: str = "mse", *, progress: bool = True) -> tuple[ConvVAE, History]:
    """The faces VAE of notebook 07: a :class:`~helpers.models.ConvVAE` with a 32-number code for 3×32×32 faces.

    ``recon="mse"`` is a Gaussian likelihood with pixel noise ``helpers.losses.PIXEL_SIGMA``: with the KL weight
    :func:`helpers.losses.gaussian_beta` = 2σ² it is the exact β = 1 ELBO, multiplied by 2σ² (the default);
    ``recon="bce"`` a Bernoulli likelihood (β = 1). Channels ``FACES_CHANNELS``, trained with :func:`faces_recipe`.
    """
    if recon not in ("mse", "bce"):
        raise ValueError(f"recon must be 'mse' (Gaussian) or 'bce' (Bernoulli), got {recon!r}")
    x_train, _, x_test, _ = faces_data()
    model = ConvVAE(FACES_LATENT_DIM, in_channels=3, image_size=32, channels=FACES_CHANNELS)
    history = fit_cached(model, x_train, x_test, name=f"faces-vae-z{FACES_LATENT_DIM}-{recon}", recon=recon,
                         beta=gaussian_beta() if recon == "mse" else 1.0, progress=progress, **faces_recipe())
    return model, history


def attribute_regressor(progress: bool = True) -> AttributeRegressor:
    """The attribute regressor of notebook 07, trained on :func:`helpers.faces.faces_data`: ``REGRESSOR_EPOCHS``
    epochs in batches of 64 (``REGRESSOR_FAST_EPOCHS`` of the 2,000 faces of fast mode), Adam with a one-cycle
    learning rate peaking at 5·10⁻³ (in full mode as accurate as 6 epochs at a constant 2·10⁻³). Its history is in
    ``model.history``."""
    x_train, a_train, x_test, a_test = faces_data()
    model = AttributeRegressor(a_train.mean(0), a_train.std(0))
    model.history = fit_cached(
        model, (x_train, a_train), (x_test, a_test), name="faces-attribute-regressor", loss_fn=attribute_loss,
        epochs=pick(REGRESSOR_EPOCHS, REGRESSOR_FAST_EPOCHS), batch_size=64, lr=5e-3, schedule="one-cycle",
        progress=progress,
    )
    return model.eval()


@cache
def small_faces() -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """:func:`helpers.faces.faces_data` at half the resolution, ``BETA_IMAGE_SIZE`` = 16 pixels (each pixel the mean
    of 2×2): ``(x_train, a_train, x_test, a_test)``, the same faces and attributes, a quarter of the pixels to learn.
    Made once per session; the tensors are shared, so do not change them in place."""
    x_train, a_train, x_test, a_test = faces_data()
    shrink = 32 // BETA_IMAGE_SIZE
    return F.avg_pool2d(x_train, shrink), a_train, F.avg_pool2d(x_test, shrink), a_test


def beta_recipe() -> dict[str, Any]:
    """The training settings of notebook 08's β sweep: ``fit``'s keyword arguments (no loss: β goes with it).

    Adam at a constant ``BETA_LR``: ``BETA_EPOCHS`` epochs of the 10,000 small training faces in batches of
    ``BETA_BATCH_SIZE`` in full mode (1,250 steps), ``BETA_FAST_EPOCHS`` of the 2,000 in batches of
    ``BETA_FAST_BATCH_SIZE`` in fast mode (250 steps).
    """
    return {"epochs": pick(BETA_EPOCHS, BETA_FAST_EPOCHS), "batch_size": pick(BETA_BATCH_SIZE, BETA_FAST_BATCH_SIZE),
            "lr": BETA_LR}


def beta_faces_model() -> ConvVAE:
    """A fresh, untrained VAE of the β sweep's size: a :class:`~helpers.models.ConvVAE` with a ``BETA_LATENT_DIM``
    = 16-number code for 3×16×16 faces, channels ``BETA_CHANNELS``."""
    return ConvVAE(BETA_LATENT_DIM, in_channels=3, image_size=BETA_IMAGE_SIZE, channels=BETA_CHANNELS)


def beta_faces_vae(beta: float, *, progress: bool = True) -> tuple[ConvVAE, History]:
    """A β-VAE of notebook 08 on :func:`small_faces`, trained with :func:`beta_recipe`; ``beta`` in likelihood units.

    The loss is ``recon="mse"`` with the KL weight ``beta`` · :func:`helpers.losses.gaussian_beta`: for ``beta=1``
    the exact ELBO of a Gaussian decoder with pixel noise ``PIXEL_SIGMA`` (scaled by 2σ², as in notebook 07),
    for ``beta=4`` that ELBO with its KL term counted four times.
    """
    beta = float(beta)
    if not beta > 0:
        raise ValueError(f"beta must be a number > 0, got {beta!r}")
    x_train, _, x_test, _ = small_faces()
    model = beta_faces_model()
    history = fit_cached(model, x_train, x_test, name=f"faces-beta-vae-z{BETA_LATENT_DIM}-beta{beta:g}",
                         recon="mse", beta=beta * gaussian_beta(), progress=progress, **beta_recipe())
    return model, history
