"""Figures for the course: image grids, reconstructions, latent spaces and loss curves.

Every function returns a matplotlib ``Figure`` with a title and labelled axes (image panels carry a title
instead of axes). Images are tensors ``N×C×H×W`` (or ``N×H×W``) with values in [0, 1], one or three
channels, on any device.

The figures are not registered with pyplot: a notebook cell whose last line is a plot shows it exactly once
(pyplot figures appear twice there), and nothing piles up in memory. To show several in one cell, pass each to
``IPython.display.display``.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping, Sequence

import matplotlib
import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch
from scipy.stats import norm

_PANEL_INCHES = 1.1
"""Width of one image in a figure, in inches."""

SLIDE_STYLE = {
    "font.size": 15, "axes.titlesize": 17, "axes.labelsize": 15, "xtick.labelsize": 13, "ytick.labelsize": 13,
    "legend.fontsize": 13, "figure.titlesize": 18, "lines.linewidth": 2.2, "lines.markersize": 8,
}
"""matplotlib settings for figures projected at 1280×720: larger text and lines. ``COURSE_SLIDES=1`` (which
``scripts/make_slides.py`` sets) applies them to every figure of the session when ``helpers`` is imported."""

if os.environ.get("COURSE_SLIDES", "").lower() in {"1", "true", "yes"}:
    matplotlib.rcParams.update(SLIDE_STYLE)


def _figure(width: float, height: float) -> Figure:
    """A new figure, not managed by pyplot, with constrained layout."""
    return Figure(figsize=(width, height), layout="constrained")


def digit_colour(digit: int) -> tuple[float, float, float, float]:
    """The colour of a digit class in :func:`latent_scatter` (matplotlib's ``tab10``), for marking it elsewhere."""
    return matplotlib.colormaps["tab10"](digit % 10)


def subplots(nrows: int = 1, ncols: int = 1, *, figsize: tuple[float, float] = (6.0, 4.0),
             **kwargs: object) -> tuple[Figure, Axes | np.ndarray]:
    """Like ``plt.subplots``, for the course's one figure idiom: the figure shows when it is the cell's last line.

    Returns ``(fig, axes)`` as ``plt.subplots`` does, with constrained layout; the figure is not registered with
    pyplot, so it shows exactly once and is freed with the cell's variables.
    """
    fig = _figure(*figsize)
    return fig, fig.subplots(nrows, ncols, **kwargs)


def _as_images(images: torch.Tensor | np.ndarray) -> torch.Tensor:
    """Return a detached float CPU tensor ``N×C×H×W`` clamped to [0, 1]."""
    images = torch.as_tensor(images).detach().to("cpu", torch.float32)
    if images.dim() == 3:
        images = images.unsqueeze(1)
    if images.dim() != 4 or images.shape[1] not in (1, 3):
        raise ValueError(f"expected images N×1×H×W or N×3×H×W (or N×H×W), got shape {tuple(images.shape)}")
    return images.clamp(0.0, 1.0)


def _grid(images: torch.Tensor, nrow: int, padding: int = 2) -> np.ndarray:
    """Tile images into one ``H×W×3`` array with ``torchvision.utils.make_grid``."""
    from torchvision.utils import make_grid  # imported when first needed: torchvision takes seconds to import

    grid = make_grid(images, nrow=nrow, padding=padding, pad_value=1.0)
    return grid.permute(1, 2, 0).numpy()


def _imshow(ax: Axes, image: torch.Tensor) -> None:
    """Show one ``C×H×W`` image on ``ax`` (grey scale for one channel) without ticks."""
    if image.shape[0] == 1:
        ax.imshow(image[0].numpy(), cmap="gray", vmin=0.0, vmax=1.0)
    else:
        ax.imshow(image.permute(1, 2, 0).numpy())
    ax.set_xticks([])
    ax.set_yticks([])


def show_images(
    images: torch.Tensor,
    nrow: int = 8,
    title: str = "images",
    labels: Sequence[str] | None = None,
) -> Figure:
    """Show images in a grid of ``nrow`` columns; with ``labels``, each image gets its own caption."""
    images = _as_images(images)
    n = len(images)
    ncols = max(1, min(nrow, n))
    nrows = math.ceil(n / ncols)
    if labels is None:
        grid = _grid(images, nrow=ncols)
        width = _PANEL_INCHES * ncols
        fig = _figure(width, width * grid.shape[0] / grid.shape[1] + 0.5)
        ax = fig.subplots()
        ax.imshow(grid)
        ax.set_axis_off()
        ax.set_title(title)
        return fig
    if len(labels) != n:
        raise ValueError(f"got {len(labels)} labels for {n} images")
    fig = _figure(_PANEL_INCHES * ncols, (_PANEL_INCHES + 0.3) * nrows + 0.4)
    axes = fig.subplots(nrows, ncols, squeeze=False)
    for ax, image, label in zip(axes.flat, images, labels):
        _imshow(ax, image)
        ax.set_title(label, fontsize="small")
    for ax in axes.flat[n:]:
        ax.set_axis_off()
    fig.suptitle(title)
    return fig


def image_strip(images: torch.Tensor, title: str = "image strip", labels: Sequence[str] | None = None) -> Figure:
    """Show images in one row, e.g. an interpolation with ``labels`` such as ``"α = 0.25"``."""
    return show_images(images, nrow=len(images), title=title, labels=labels)


def show_reconstructions(
    originals: torch.Tensor,
    reconstructions: torch.Tensor | Sequence[torch.Tensor],
    n: int = 10,
    title: str = "originals and reconstructions",
    row_labels: Sequence[str] | None = None,
) -> Figure:
    """Show the first ``n`` originals above their reconstructions.

    ``reconstructions`` is one tensor or a sequence of tensors (one row each, e.g. a BCE and an RMSE model);
    ``row_labels`` names every row, originals included (default: "original", "reconstruction", ...).
    """
    if isinstance(reconstructions, (torch.Tensor, np.ndarray)):
        reconstructions = [reconstructions]
    rows = [_as_images(x)[:n] for x in (originals, *reconstructions)]
    if row_labels is None:
        names = ["reconstruction"] if len(rows) == 2 else [f"reconstruction {i}" for i in range(1, len(rows))]
        row_labels = ["original", *names]
    if len(row_labels) != len(rows):
        raise ValueError(f"got {len(row_labels)} row labels for {len(rows)} rows")
    count = min(len(r) for r in rows)
    fig = _figure(_PANEL_INCHES * count + 1.0, _PANEL_INCHES * len(rows) + 0.5)
    axes = fig.subplots(len(rows), 1, squeeze=False)
    for ax, row, label in zip(axes[:, 0], rows, row_labels):
        ax.imshow(_grid(row[:count], nrow=count))
        ax.set_xticks([])
        ax.set_yticks([])
        for spine in ax.spines.values():
            spine.set_visible(False)
        ax.set_ylabel(label)
    fig.suptitle(title)
    return fig


def latent_scatter(
    z: torch.Tensor,
    labels: torch.Tensor | None = None,
    title: str = "latent space",
    class_names: Sequence[str] | None = None,
    ax: Axes | None = None,
    cmap: str | None = None,
    label_name: str = "label",
) -> Figure:
    """Scatter 2-D codes ``z`` (``N×d``; for ``d > 2`` the first two dimensions, as the axis labels say).

    Integer ``labels`` give one colour per class and a legend (class ``c`` named ``class_names[c]``); float labels
    (e.g. the ellipse's semi-axis a) give a continuous colour map with a colour bar titled ``label_name``.
    """
    z = torch.as_tensor(z).detach().to("cpu", torch.float32)
    if z.dim() != 2 or z.shape[1] < 2:
        raise ValueError(f"expected codes N×d with d >= 2, got shape {tuple(z.shape)}")
    if ax is None:
        ax = _figure(6, 5).subplots()
    fig = ax.figure
    size = 12 if len(z) <= 2000 else 4
    x, y = z[:, 0].numpy(), z[:, 1].numpy()
    if labels is None:
        ax.scatter(x, y, s=size, alpha=0.7, color="tab:blue")
    else:
        labels = torch.as_tensor(labels).detach().cpu()
        if labels.dtype.is_floating_point:
            points = ax.scatter(x, y, c=labels.numpy(), s=size, alpha=0.8, cmap=cmap or "viridis")
            fig.colorbar(points, ax=ax, label=label_name)
        else:
            classes = labels.unique().tolist()
            colours = matplotlib.colormaps[cmap or ("tab10" if len(classes) <= 10 else "tab20")]
            for i, c in enumerate(classes):
                mask = (labels == c).numpy()
                name = class_names[c] if class_names is not None else str(c)
                ax.scatter(x[mask], y[mask], s=size, alpha=0.7, color=colours(i % colours.N), label=name)
            ax.legend(title=label_name, markerscale=12 / size, loc="center left", bbox_to_anchor=(1.0, 0.5))
    suffix = f" (first 2 of {z.shape[1]} dimensions)" if z.shape[1] > 2 else ""
    ax.set_xlabel(f"$z_1${suffix}")
    ax.set_ylabel(f"$z_2${suffix}")
    ax.set_title(title)
    return fig


def latent_grid(
    decode: Callable[[torch.Tensor], torch.Tensor],
    n: int = 15,
    extent: tuple[tuple[float, float], tuple[float, float]] | None = None,
    prior: str | None = None,
    title: str = "decoded latent grid",
) -> Figure:
    """Decode an ``n×n`` grid of 2-D codes and tile the images, with the z values as axis ticks.

    ``decode`` maps a tensor ``n²×2`` to images; code ``(z_1, z_2)`` is drawn in column ``z_1`` and row
    ``z_2`` (growing upwards). The grid spans ``extent = ((z1_min, z1_max), (z2_min, z2_max))``, by default
    ``[-3, 3]²``. With ``prior="normal"`` it is the standard normal quantiles ``norm.ppf((i + 0.5) / n)``
    instead, so that each cell covers an equal share of the prior.
    """
    if prior == "normal":
        if extent is not None:
            raise ValueError("give either extent or prior='normal', not both")
        z1 = z2 = norm.ppf((np.arange(n) + 0.5) / n)
    elif prior is None:
        (lo1, hi1), (lo2, hi2) = extent if extent is not None else ((-3.0, 3.0), (-3.0, 3.0))
        z1, z2 = np.linspace(lo1, hi1, n), np.linspace(lo2, hi2, n)
    else:
        raise ValueError(f"unknown prior {prior!r}; use 'normal' or None")
    rows, cols = np.meshgrid(z2[::-1], z1, indexing="ij")  # top row = largest z_2
    codes = torch.tensor(np.stack([cols.ravel(), rows.ravel()], axis=1), dtype=torch.float32)
    owner = getattr(decode, "__self__", None)
    if isinstance(owner, torch.nn.Module):
        parameter = next(owner.parameters(), None)
        if parameter is not None:
            codes = codes.to(parameter.device)
    with torch.no_grad():
        images = _as_images(decode(codes))
    height, width = images.shape[-2:]
    fig = _figure(7, 7 * height / width + 0.6)
    ax = fig.subplots()
    ax.imshow(_grid(images, nrow=n, padding=0))
    step = max(1, math.ceil(n / 8))
    shown = np.arange(0, n, step)
    ax.set_xticks((shown + 0.5) * width - 0.5, [f"{v:.2f}" for v in z1[shown]])
    ax.set_yticks((shown + 0.5) * height - 0.5, [f"{v:.2f}" for v in z2[::-1][shown]])
    ax.set_xlabel("$z_1$")
    ax.set_ylabel("$z_2$")
    ax.set_title(title + (" (grid at standard normal quantiles)" if prior == "normal" else ""))
    return fig


_COMPONENTS = {"total": "total loss", "recon": "reconstruction", "kl": "KL divergence"}


def loss_curves(
    history: Mapping[str, Sequence[float]],
    title: str = "training curves",
    unit: str = "nats per image",
) -> Figure:
    """Plot train and test losses per epoch, one panel per component (total, reconstruction, KL).

    ``history`` maps keys such as ``train_total``, ``test_recon`` or ``train_kl`` to one value per epoch;
    missing keys are left out, and so is a KL that is zero throughout (a plain autoencoder), whose total then equals
    its reconstruction loss and is left out too.
    """
    panels: list[tuple[str, dict[str, np.ndarray]]] = []
    for key, name in _COMPONENTS.items():
        curves = {
            split: np.asarray(history[f"{split}_{key}"], dtype=float)
            for split in ("train", "test")
            if len(history.get(f"{split}_{key}", ())) > 0
        }
        if key == "kl" and all(np.all(v == 0) for v in curves.values()):
            continue
        if curves:
            panels.append((name, curves))
    if len(panels) == 2 and [name for name, _ in panels] == [_COMPONENTS["total"], _COMPONENTS["recon"]]:
        panels = panels[1:]  # no KL term: the total is the reconstruction loss
    if not panels:
        raise ValueError(f"no loss curves in history (keys: {sorted(history)})")
    fig = _figure(4.2 * len(panels), 3.6)
    axes = fig.subplots(1, len(panels), squeeze=False)
    for ax, (name, curves) in zip(axes[0], panels):
        for split, values in curves.items():
            ax.plot(np.arange(1, len(values) + 1), values, marker="o", markersize=3, label=split)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("epoch")
        ax.set_ylabel(f"loss ({unit})")
        ax.set_title(name)
        ax.legend()
    fig.suptitle(title)
    return fig


def image_table(images: torch.Tensor, title: str, column_labels: Sequence[str],
                row_labels: Sequence[str] | None = None) -> Figure:
    """Show images ``R×A×C×H×W`` as a table: one row per face (an edit or a morph), one column per α."""
    images = images.detach().cpu().clamp(0, 1)
    rows, columns = images.shape[:2]
    if len(column_labels) != columns or (row_labels is not None and len(row_labels) != rows):
        raise ValueError(f"need {columns} column labels and {rows} row labels for images of shape "
                         f"{tuple(images.shape)}")
    fig = _figure(0.95 * columns + (0.8 if row_labels else 0.2), 0.95 * rows + 0.7)
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


_RECIPE_BOXES = {  # name: (x, y, text, colour); data space left and right, latent space in the middle
    "data": (0.9, 2.2, "data $x$\n(784 pixels)", "#dbe9f6"),
    "encoder": (3.0, 2.2, "1 · encode\n$z = f(x)$", "#fde2c8"),
    "codes": (5.2, 2.2, "codes $z$\n(2 numbers each)", "#e6dbf4"),
    "density": (5.2, 0.7, "2 · model $p(z)$\nin latent space", "#e6dbf4"),
    "sample": (7.4, 0.7, "3 · sample\n$z_{new} \\sim p(z)$", "#e6dbf4"),
    "decoder": (9.6, 0.7, "4 · decode\n$x_{new} = g(z_{new})$", "#fde2c8"),
    "new": (9.6, 2.2, "new data $x_{new}$", "#dbe9f6"),
}
_RECIPE_ARROWS = [("data", "encoder"), ("encoder", "codes"), ("codes", "density"), ("density", "sample"),
                  ("sample", "decoder"), ("decoder", "new")]


def recipe_figure() -> Figure:
    """The lecture's generative recipe as boxes and arrows: encode, model p(z), sample, decode.

    """
    fig = _figure(11, 3.4)
    ax = fig.subplots()
    width, height = 1.8, 0.9
    for x, y, text, colour in _RECIPE_BOXES.values():
        ax.add_patch(FancyBboxPatch((x - width / 2, y - height / 2), width, height, boxstyle="round,pad=0.05",
                                    facecolor=colour, edgecolor="0.3"))
        ax.text(x, y, text, ha="center", va="center", fontsize=10)
    for start, end in _RECIPE_ARROWS:
        (x0, y0), (x1, y1) = _RECIPE_BOXES[start][:2], _RECIPE_BOXES[end][:2]
        horizontal = y0 == y1
        dx = (width / 2 + 0.08) * (1 if x1 > x0 else -1) if horizontal else 0.0
        dy = 0.0 if horizontal else (height / 2 + 0.08) * (1 if y1 > y0 else -1)
        ax.add_patch(FancyArrowPatch((x0 + dx, y0 + dy), (x1 - dx, y1 - dy), arrowstyle="-|>",
                                     mutation_scale=18, color="0.25", linewidth=1.5))
    ax.axvspan(4.05, 8.45, color="#f4f0fa", zorder=-1)
    ax.text(6.25, 2.95, "latent space", ha="center", fontsize=11, style="italic")
    ax.text(0.9, 2.95, "data space", ha="center", fontsize=11, style="italic")
    ax.text(9.6, 2.95, "data space", ha="center", fontsize=11, style="italic")
    ax.text(1.95, 0.7, "$f$ and $g$ are trained together\nas an autoencoder: $g(f(x)) \\approx x$",
            ha="center", va="center", fontsize=10, color="0.25")
    ax.set_xlim(-0.2, 10.7)
    ax.set_ylim(0.0, 3.2)
    ax.set_axis_off()
    ax.set_title("The generative recipe: encode, model a distribution in latent space, sample, decode")
    return fig
