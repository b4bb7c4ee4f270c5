"""The course's measuring instruments: networks that read something off an image, so that decoded images can be
measured instead of only looked at.

- The **judge** (:func:`judge_network`, trained with :func:`classification_loss`): a small CNN classifier of MNIST
  digits. It says which digit a decoded image shows and how sure it is, and its penultimate layer gives the features
  in which generated digits are compared with real ones (:func:`judge_features`).
- The **attribute regressor** (:class:`AttributeRegressor`, trained with :func:`attribute_loss`): reads the nine
  attributes of a synthetic face back from its image.

Their recipes (data, epochs, cache) are in :mod:`helpers.zoo`.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .batches import in_batches, model_device
from .faces import ATTRIBUTES

JUDGE_FEATURES = 64
"""Width of the judge's penultimate layer, the feature space of :func:`judge_features`."""


def judge_network() -> nn.Sequential:
    """The judge's architecture: two convolution + max-pool blocks and two dense layers, about 0.1 M parameters."""
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),  # 1×28×28 → 16×14×14
        nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),  # 16×14×14 → 32×7×7
        nn.Flatten(), nn.Dropout(0.25), nn.Linear(32 * 7 * 7, JUDGE_FEATURES), nn.ReLU(),  # → 64 features
        nn.Linear(JUDGE_FEATURES, 10),  # → 10 logits, one per digit
    )


def classification_loss(model: nn.Module, batch: tuple[Tensor, ...]) -> Mapping[str, Tensor]:
    """Cross-entropy of ``model``'s logits for ``(images, labels)``; training shifts each image by up to 2 pixels.

    Returns ``{"total": cross-entropy in nats, "accuracy": share correct}``, so a history has ``test_accuracy``.
    """
    images, labels = batch[0], batch[1]
    if model.training:
        images = random_shift(images)
    logits = model(images)
    return {"total": F.cross_entropy(logits, labels), "accuracy": (logits.argmax(1) == labels).float().mean()}


def judge_probabilities(judge: nn.Module, images: Tensor) -> Tensor:
    """The judge's class probabilities ``N×10`` for many images (softmax of its logits)."""
    judge.eval()
    return in_batches(lambda x: F.softmax(judge(x), dim=1), images, model_device(judge))


def judge_features(judge: nn.Module, images: Tensor) -> Tensor:
    """The judge's penultimate-layer activations ``N×64``: the feature space for comparing generated digits."""
    judge.eval()
    return in_batches(judge[:-1], images, model_device(judge))


def random_shift(images: Tensor, max_shift: int = 2) -> Tensor:
    """Shift each image by a random whole number of pixels (up to ``max_shift``) in x and y, filling with zeros."""
    n, c, h, w = images.shape
    device = images.device
    padded = F.pad(images, (max_shift,) * 4)
    dy, dx = torch.randint(0, 2 * max_shift + 1, (2, n), device=device)
    rows = (dy[:, None] + torch.arange(h, device=device))[:, None, :, None]
    cols = (dx[:, None] + torch.arange(w, device=device))[:, None, None, :]
    batch = torch.arange(n, device=device)[:, None, None, None]
    channel = torch.arange(c, device=device)[None, :, None, None]
    return padded[batch, channel, rows, cols]


class AttributeRegressor(nn.Module):
    """A small CNN that reads the nine face attributes back from an image: the measuring instrument of notebook 07.

    ``forward`` returns *standardized* attributes (each minus its training mean, divided by its training standard
    deviation); :meth:`predict` returns them in their own units. Mean and standard deviation are buffers, so a
    checkpoint carries them.
    """

    def __init__(self, mean: Tensor | None = None, std: Tensor | None = None) -> None:
        super().__init__()
        k = len(ATTRIBUTES)
        self.register_buffer("mean", torch.zeros(k) if mean is None else torch.as_tensor(mean, dtype=torch.float32))
        self.register_buffer("std", torch.ones(k) if std is None else torch.as_tensor(std, dtype=torch.float32))
        self.config = {"attributes": list(ATTRIBUTES), "channels": [32, 64, 128], "hidden": 128}
        self.net = nn.Sequential(
            nn.Conv2d(3, 32, 3, stride=2, padding=1), nn.LeakyReLU(0.2),  # 3×32×32 → 32×16×16
            nn.Conv2d(32, 64, 3, stride=2, padding=1), nn.LeakyReLU(0.2),  # → 64×8×8
            nn.Conv2d(64, 128, 3, stride=2, padding=1), nn.LeakyReLU(0.2),  # → 128×4×4
            nn.Flatten(), nn.Linear(128 * 4 * 4, 128), nn.LeakyReLU(0.2), nn.Linear(128, k),  # → 9 attributes
        )

    def forward(self, images: Tensor) -> Tensor:
        """Standardized attributes ``N×9`` of images ``N×3×32×32``."""
        return self.net(images)

    def predict(self, images: Tensor, standardized: bool = False) -> Tensor:
        """Attributes ``N×9`` (columns ``ATTRIBUTES``) of many images, in their own units or standardized."""
        self.eval()
        out = in_batches(self, images, model_device(self))
        return out if standardized else out * self.std + self.mean


def attribute_loss(model: nn.Module, batch: tuple[Tensor, ...]) -> Mapping[str, Tensor]:
    """Mean squared error of the standardized attributes, for ``(images, attributes N×9)`` batches.

    In training, half of the images are blurred a little (a 3×3 box filter), so that the regressor also reads the
    blurrier images a VAE decodes. Returns ``{"total": MSE, "smile_mae": mean absolute smile error}``.
    """
    images, targets = batch[0], batch[1]
    if model.training:
        images = blur_some(images)
    predicted = model(images)
    standardized = (targets - model.mean) / model.std
    smile = ATTRIBUTES.index("smile")
    smile_error = ((predicted[:, smile] - standardized[:, smile]) * model.std[smile]).abs().mean()
    return {"total": F.mse_loss(predicted, standardized), "smile_mae": smile_error}


def blur_some(images: Tensor) -> Tensor:
    """Blur a random half of the images with a 3×3 box filter (edge pixels replicated)."""
    blurred = F.avg_pool2d(F.pad(images, (1, 1, 1, 1), mode="replicate"), 3, stride=1)
    pick_blur = torch.rand(len(images), 1, 1, 1, device=images.device) < 0.5
    return torch.where(pick_blur, blurred, images)
