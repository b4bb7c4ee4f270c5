"""Latent arithmetic and morphing (notebook 07): the faces VAE, an attribute regressor to measure with, attribute
vectors, linear and spherical interpolation, and the ink and slant of MNIST digits.

- Faces: :func:`faces_data` and :func:`faces_vae`, the course's VAE for the synthetic faces of
  :mod:`helpers.faces`. Its default likelihood is a Gaussian with a fixed pixel noise ``PIXEL_SIGMA``, i.e.
  ``recon="mse"`` with ``β = 2σ²`` (:func:`gaussian_beta`); a Bernoulli likelihood (``recon="bce"``, β = 1)
  treats the thin mouth as noise.
- The measuring instrument: :class:`AttributeRegressor`, a small CNN that reads the nine face attributes back
  from an image, trained by :func:`attribute_regressor` with :func:`attribute_loss`.
- Arithmetic: :func:`attribute_vector` (mean code with an attribute minus mean code without), :func:`edit_codes`
  (``z + α·v``), :func:`interpolate` (``(1 − α)·z_A + α·z_B``), :func:`slerp`, :func:`random_directions` and
  :func:`slopes` (how fast a measured attribute changes with α).
- MNIST attributes read off the pixels: :func:`ink` (stroke thickness) and :func:`slant` (shear from image moments).
- :func:`image_table` shows edits and morphs, one row per face; :func:`load_celeba` tries the real face data set.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping, Sequence

import torch
import torch.nn.functional as F
from matplotlib.figure import Figure
from torch import Tensor, nn

from .config import DATA_DIR, pick
from .data import DataError
from .data import server_answers  # the 2-second online check of helpers.data
from .faces import ATTRIBUTE_RANGES, make_faces
from .models import ConvVAE, decode_codes
from .train import History, fit_cached

ATTRIBUTES: tuple[str, ...] = tuple(ATTRIBUTE_RANGES)
"""The nine face attributes, in the column order of :func:`attribute_matrix` and of the regressor's outputs."""
PIXEL_SIGMA = 0.05
"""The faces VAE's Gaussian pixel noise σ (on the [0, 1] scale): ``recon="mse"`` with ``β = 2σ² = 0.005``."""
FACES_LATENT_DIM = 32
FACES_CHANNELS = (32, 64, 128)
FACES_LEARNING_RATE = 2e-3


def gaussian_beta(sigma: float = PIXEL_SIGMA) -> float:
    """The β that turns ``recon="mse"`` (summed squared error) into a Gaussian likelihood of pixel noise σ.

    ``−log N(x; x̂, σ²) = (x − x̂)²/(2σ²) + const`` per pixel, so ``recon + KL`` with the Gaussian log-likelihood
    is ``SSE/(2σ²) + KL``; multiplied by ``2σ²`` (which moves no minimum) it is ``SSE + 2σ²·KL``.
    """
    return 2 * sigma**2


def attribute_matrix(attributes: Mapping[str, Tensor]) -> Tensor:
    """The attributes of ``make_faces`` as one float32 tensor ``N×9``, columns in the order of ``ATTRIBUTES``."""
    return torch.stack([torch.as_tensor(attributes[name], dtype=torch.float32) for name in ATTRIBUTES], dim=1)


def faces_data() -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Faces as ``(x_train, a_train, x_test, a_test)``: images ``N×3×32×32`` and attributes ``N×9`` (columns
    ``ATTRIBUTES``). 10,000 training and 2,000 test faces, 2,000 and 500 in fast mode; training and test faces
    come from different seeds. Rendering takes about a second."""
    x_train, a_train = make_faces(pick(10_000, 2_000), seed=0)
    x_test, a_test = make_faces(pick(2_000, 500), seed=1)
    return x_train, attribute_matrix(a_train), x_test, attribute_matrix(a_test)


def faces_vae(recon: str = "mse", *, progress: bool = True) -> tuple[ConvVAE, History]:
    """The faces VAE: a :class:`~helpers.models.ConvVAE` with a 32-number code, trained on :func:`faces_data`.

    ``recon="mse"`` is a Gaussian likelihood with pixel noise ``PIXEL_SIGMA`` (β = :func:`gaussian_beta`), the
    default; ``recon="bce"`` a Bernoulli likelihood (β = 1). Channels ``FACES_CHANNELS``, Adam with learning rate
    ``FACES_LEARNING_RATE``, batches of 64, 12 epochs (3 in fast mode). About 30 s on an idle
    2-core laptop CPU in full mode, a second from the checkpoint cache.
    """
    if recon not in ("mse", "bce"):
        raise ValueError(f"recon must be 'mse' (Gaussian) or 'bce' (Bernoulli), got {recon!r}")
    x_train, _, x_test, _ = faces_data()
    model = ConvVAE(FACES_LATENT_DIM, in_channels=3, image_size=32, channels=FACES_CHANNELS)
    beta = gaussian_beta() if recon == "mse" else 1.0
    history = fit_cached(
        model, x_train, x_test, name=f"faces-vae-z{FACES_LATENT_DIM}-{recon}", epochs=pick(12, 3), batch_size=64,
        lr=FACES_LEARNING_RATE, recon=recon, beta=beta, progress=progress,
    )
    return model, history


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
            nn.Conv2d(3, 32, 3, stride=2, padding=1), nn.LeakyReLU(0.2),    # 32×16×16
            nn.Conv2d(32, 64, 3, stride=2, padding=1), nn.LeakyReLU(0.2),   # 64×8×8
            nn.Conv2d(64, 128, 3, stride=2, padding=1), nn.LeakyReLU(0.2),  # 128×4×4
            nn.Flatten(), nn.Linear(128 * 4 * 4, 128), nn.LeakyReLU(0.2), nn.Linear(128, k),
        )

    def forward(self, images: Tensor) -> Tensor:
        """Standardized attributes ``N×9`` of images ``N×3×32×32``."""
        return self.net(images)

    @torch.no_grad()
    def predict(self, images: Tensor, standardized: bool = False, batch_size: int = 1000) -> Tensor:
        """Attributes ``N×9`` (columns ``ATTRIBUTES``) of many images, in their own units or standardized."""
        self.eval()
        out = torch.cat([self(images[s : s + batch_size].cpu()) for s in range(0, len(images), batch_size)])
        return out if standardized else out * self.std + self.mean


def attribute_loss(model: nn.Module, batch: tuple[Tensor, ...]) -> Mapping[str, Tensor]:
    """Mean squared error of the standardized attributes, for ``(images, attributes N×9)`` batches.

    In training, half of the images are blurred a little (a 3×3 box filter), so that the regressor also reads the
    blurrier images a VAE decodes. Returns ``{"total": MSE, "smile_mae": mean absolute smile error}``.
    """
    images, targets = batch[0], batch[1]
    if model.training:
        images = _blur_some(images)
    predicted = model(images)
    standardized = (targets - model.mean) / model.std
    smile = ATTRIBUTES.index("smile")
    smile_error = ((predicted[:, smile] - standardized[:, smile]) * model.std[smile]).abs().mean()
    return {"total": F.mse_loss(predicted, standardized), "smile_mae": smile_error}


def attribute_regressor(progress: bool = True) -> AttributeRegressor:
    """The attribute regressor, trained on :func:`faces_data` with :func:`attribute_loss` (and then cached).

    Adam (learning rate 2·10⁻³, batches of 64), 6 epochs; about 10 s on an idle 2-core laptop CPU in full
    mode (10,000 faces), a few seconds in fast mode (2,000). Its history is in ``model.history``.
    """
    x_train, a_train, x_test, a_test = faces_data()
    model = AttributeRegressor(a_train.mean(0), a_train.std(0))
    model.history = fit_cached(
        model, (x_train, a_train), (x_test, a_test), name="faces-attribute-regressor", loss_fn=attribute_loss,
        epochs=6, batch_size=64, lr=2e-3, progress=progress,
    )
    return model.eval()


def _blur_some(images: Tensor) -> Tensor:
    """Blur a random half of the images with a 3×3 box filter (edge pixels replicated)."""
    blurred = F.avg_pool2d(F.pad(images, (1, 1, 1, 1), mode="replicate"), 3, stride=1)
    pick_blur = torch.rand(len(images), 1, 1, 1, device=images.device) < 0.5
    return torch.where(pick_blur, blurred, images)


def attribute_vector(codes: Tensor, has_attribute: Tensor) -> Tensor:
    """The mean code of the rows with the attribute minus the mean code of the rows without: ``d`` numbers.

    ``codes`` is ``N×d``, ``has_attribute`` a boolean tensor of ``N``; both groups must be non-empty.
    """
    has_attribute = torch.as_tensor(has_attribute, dtype=torch.bool)
    if has_attribute.all() or not has_attribute.any():
        raise ValueError("attribute_vector needs codes with the attribute and codes without it")
    return codes[has_attribute].mean(0) - codes[~has_attribute].mean(0)


def edit_codes(z: Tensor, direction: Tensor, alphas: Tensor) -> Tensor:
    """``z + α·direction`` for every code and every α: ``N×A×d`` for codes ``N×d`` and ``A`` values of α."""
    return z[:, None, :] + torch.as_tensor(alphas, dtype=z.dtype)[None, :, None] * direction


def interpolate(z_a: Tensor, z_b: Tensor, alphas: Tensor) -> Tensor:
    """Linear interpolation ``(1 − α)·z_A + α·z_B``: one row per α, ``A×d`` (α = 0 gives z_A, α = 1 gives z_B)."""
    alphas = torch.as_tensor(alphas, dtype=z_a.dtype)[:, None]
    return (1 - alphas) * z_a + alphas * z_b


def slerp(z_a: Tensor, z_b: Tensor, alphas: Tensor) -> Tensor:
    """Spherical interpolation: one row per α, ``A×d``, along the great-circle arc from z_A to z_B.

    With Ω the angle between the codes, ``slerp = sin((1 − α)Ω)/sin Ω · z_A + sin(αΩ)/sin Ω · z_B``. For codes of
    equal length the length stays the same along the whole path; linear interpolation shortens it in between.
    Nearly parallel codes (sin Ω < 10⁻⁶) fall back to linear interpolation.
    """
    alphas = torch.as_tensor(alphas, dtype=z_a.dtype)[:, None]
    cosine = F.cosine_similarity(z_a, z_b, dim=0).clamp(-1.0, 1.0)
    omega = torch.arccos(cosine)
    if torch.sin(omega).abs() < 1e-6:
        return interpolate(z_a, z_b, alphas[:, 0])
    return (torch.sin((1 - alphas) * omega) * z_a + torch.sin(alphas * omega) * z_b) / torch.sin(omega)


def random_directions(n: int, dim: int, length: float, seed: int = 0) -> Tensor:
    """``n`` random directions ``n×dim``, uniform on the sphere of radius ``length`` (normalized Gaussian vectors)."""
    directions = torch.randn(n, dim, generator=torch.Generator().manual_seed(seed))
    return length * directions / directions.norm(dim=1, keepdim=True)


def slopes(alphas: Tensor, values: Tensor) -> Tensor:
    """Least-squares slopes of ``values`` against ``alphas`` along axis 1: ``values`` is ``N×A`` or ``N×A×K``,
    the result ``N`` or ``N×K`` (one slope per row and column)."""
    alphas = torch.as_tensor(alphas, dtype=values.dtype)
    centred = alphas - alphas.mean()
    weights = centred / (centred**2).sum()
    shape = (1, -1) + (1,) * (values.dim() - 2)
    return (values * weights.view(shape)).sum(1)


@torch.no_grad()
def measure_codes(model: nn.Module, regressor: AttributeRegressor, codes: Tensor,
                  standardized: bool = True) -> Tensor:
    """Decode codes ``...×d`` with ``model`` and read the attributes of the images: ``...×9``."""
    flat = codes.reshape(-1, codes.shape[-1])
    measured = regressor.predict(decode_codes(model, flat), standardized=standardized)
    return measured.reshape(*codes.shape[:-1], len(ATTRIBUTES))


def ink(images: Tensor) -> Tensor:
    """Stroke thickness of grey-scale images ``N×1×H×W``: the mean pixel intensity of each image (``N``)."""
    return images.flatten(1).mean(1)


def slant(images: Tensor) -> Tensor:
    """The slant of grey-scale images ``N×1×H×W`` from their image moments: ``μ11 / μ02`` (``N``).

    Pixel intensities are weights; with x to the right and y *up*, μ11 and μ02 are the weighted covariance of x
    and y and the variance of y. Their ratio is the shear: how many pixels the ink moves right per pixel up
    (0 upright, positive leaning right like "/", negative leaning left like "\\").
    """
    weights = images.flatten(1).clamp_min(0)
    height, width = images.shape[-2:]
    y, x = torch.meshgrid(torch.arange(height, 0, -1, dtype=images.dtype), torch.arange(width, dtype=images.dtype),
                          indexing="ij")
    x, y = x.flatten(), y.flatten()
    total = weights.sum(1).clamp_min(1e-8)
    mean_x, mean_y = (weights * x).sum(1) / total, (weights * y).sum(1) / total
    dx, dy = x - mean_x[:, None], y - mean_y[:, None]
    mu11 = (weights * dx * dy).sum(1) / total
    mu02 = (weights * dy**2).sum(1) / total
    return mu11 / mu02.clamp_min(1e-8)


def within_class_vector(codes: Tensor, labels: Tensor, measure: Tensor, quantile: float = 0.25) -> Tensor:
    """An attribute vector from the top and bottom ``quantile`` of ``measure`` *within each class*, averaged over
    the classes: the attribute without the class differences that go with it (a 1 has less ink than an 8)."""
    vectors = []
    for c in labels.unique():
        members = labels == c
        low, high = torch.quantile(measure[members], torch.tensor([quantile, 1 - quantile]))
        keep = members & ((measure <= low) | (measure >= high))
        vectors.append(attribute_vector(codes[keep], measure[keep] >= high))
    return torch.stack(vectors).mean(0)


def image_table(images: Tensor, title: str, column_labels: Sequence[str],
                row_labels: Sequence[str] | None = None) -> Figure:
    """Show images ``R×A×C×H×W`` as a table: one row per face (an edit or a morph), one column per α."""
    images = images.detach().cpu().clamp(0, 1)
    rows, columns = images.shape[:2]
    if len(column_labels) != columns or (row_labels is not None and len(row_labels) != rows):
        raise ValueError(f"need {columns} column labels and {rows} row labels for images of shape "
                         f"{tuple(images.shape)}")
    fig = Figure(figsize=(0.95 * columns + (0.8 if row_labels else 0.2), 0.95 * rows + 0.7), layout="constrained")
    axes = fig.subplots(rows, columns, squeeze=False)
    for r in range(rows):
        for c in range(columns):
            ax = axes[r, c]
            image = images[r, c]
            ax.imshow(image[0].numpy() if image.shape[0] == 1 else image.permute(1, 2, 0).numpy(),
                      cmap="gray", vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0:
                ax.set_title(column_labels[c], fontsize="small")
            if c == 0 and row_labels is not None:
                ax.set_ylabel(row_labels[r], fontsize="small")
    fig.suptitle(title)
    return fig


CELEBA_HOST = "drive.google.com"
"""Where torchvision downloads CelebA from (1.4 GB of images, through the package gdown)."""


def load_celeba(n: int = 16, size: int = 32, download: bool = False) -> tuple[Tensor, Tensor]:
    """The first ``n`` CelebA test images (``n×3×size×size``, centre-cropped and resized) and their "Smiling" labels.

    Reads ``DATA_DIR/celeba`` in torchvision's layout; ``download=True`` first fetches it through torchvision
    (1.4 GB from Google Drive, needs the package ``gdown``). Raises :class:`helpers.data.DataError` with the reason,
    within about 2 seconds when offline, when CelebA cannot be had.
    """
    import torchvision
    from torchvision import transforms

    folder = DATA_DIR / "celeba"
    if not (folder / "img_align_celeba").is_dir():
        if not download:
            raise DataError(f"CelebA is not in {folder}: download it with download=True (1.4 GB) or copy it there")
        if importlib.util.find_spec("gdown") is None:
            raise DataError("torchvision needs the package gdown to download CelebA: pip install gdown")
        if not server_answers(CELEBA_HOST, 443):
            raise DataError(f"the CelebA server ({CELEBA_HOST}) did not answer: offline?")
    transform = transforms.Compose([transforms.CenterCrop(148), transforms.Resize(size), transforms.ToTensor()])
    try:
        data = torchvision.datasets.CelebA(DATA_DIR, split="test", target_type="attr", transform=transform,
                                           download=download)
    except Exception as error:  # noqa: BLE001 - quota, broken link, damaged files: all mean "no CelebA"
        raise DataError(f"torchvision could not load CelebA ({type(error).__name__}: {error})") from error
    images, attributes = zip(*(data[i] for i in range(min(n, len(data)))))
    return torch.stack(images), torch.stack(attributes)[:, data.attr_names.index("Smiling")].bool()


__all__: Sequence[str] = [
    "ATTRIBUTES", "AttributeRegressor", "PIXEL_SIGMA", "attribute_loss", "attribute_matrix", "attribute_regressor",
    "attribute_vector", "edit_codes", "faces_data", "faces_vae", "gaussian_beta", "image_table", "ink",
    "interpolate", "load_celeba", "measure_codes", "random_directions", "slant", "slerp", "slopes",
    "within_class_vector",
]
