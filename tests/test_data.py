"""Tests for helpers.data: source order, file checks, the bundled MNIST subset and the ellipses. No network."""

from __future__ import annotations

import gzip
import importlib.util
import math
import os
import re
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from helpers import config, data

REPO_DIR = Path(__file__).resolve().parents[1]


def write_idx(path: Path, array: np.ndarray) -> Path:
    """Write ``array`` (uint8) as an idx file, gzipped when ``path`` ends in .gz."""
    array = np.asarray(array, dtype=np.uint8)
    raw = bytes([0, 0, 8, array.ndim]) + np.array(array.shape, dtype=">u4").tobytes() + array.tobytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(raw) if path.suffix == ".gz" else raw)
    return path


def write_split(folder: Path, split: str, pixel: int, count: int = 5, gz: bool = True) -> None:
    """Write a fake split: ``count`` images filled with ``pixel`` and labels 0, 1, 2, ..."""
    prefix = {"train": "train", "test": "t10k"}[split]
    suffix = ".gz" if gz else ""
    write_idx(folder / f"{prefix}-images-idx3-ubyte{suffix}", np.full((count, 28, 28), pixel))
    write_idx(folder / f"{prefix}-labels-idx1-ubyte{suffix}", np.arange(count) % 10)


def no_download(dataset: str) -> str:
    """Stand-in for the torchvision download on an offline machine."""
    return "the download server did not answer: offline?"


def must_not_download(dataset: str) -> str:
    """Stand-in for the download where an earlier source must win."""
    raise AssertionError("the download must not be tried when an earlier source has the data")


@pytest.fixture
def sources(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """Point every source at empty folders under tmp_path and make the download fail (offline)."""
    paths = {"cache": tmp_path / "cache", "system": tmp_path / "system", "bundled": tmp_path / "subset.npz"}
    monkeypatch.setattr(data, "DATA_DIR", paths["cache"])
    monkeypatch.setattr(data, "SYSTEM_FASHION_MNIST_DIR", paths["system"])
    monkeypatch.setattr(data, "BUNDLED_MNIST_PATH", paths["bundled"])
    monkeypatch.setattr(data, "download_with_torchvision", no_download)
    return paths


# --- source order ---------------------------------------------------------------------------------------------


def test_cache_beats_system_copy_and_download(sources, monkeypatch, capsys):
    write_split(sources["cache"] / "FashionMNIST" / "raw", "train", pixel=51, gz=False)
    write_split(sources["system"], "train", pixel=102)
    monkeypatch.setattr(data, "download_with_torchvision", must_not_download)
    images, _ = data.load_fashion_mnist("train")
    assert torch.allclose(images, torch.full_like(images, 51 / 255))
    assert "Fashion-MNIST train: 5 images from the cache (" in capsys.readouterr().out


def test_system_copy_beats_download(sources, monkeypatch, capsys):
    write_split(sources["system"], "test", pixel=102)
    monkeypatch.setattr(data, "download_with_torchvision", must_not_download)
    images, _ = data.load_fashion_mnist("test")
    assert torch.allclose(images, torch.full_like(images, 102 / 255))
    out = capsys.readouterr().out
    assert out.startswith("Fashion-MNIST test: 5 images from the system copy")
    assert str(sources["system"]) in out and "dataset-fashion-mnist" in out


def test_download_beats_bundled_subset(sources, monkeypatch, capsys):
    np.savez_compressed(sources["bundled"], train_images=np.zeros((3, 28, 28), np.uint8), train_labels=np.arange(3))

    def fake_download(dataset: str) -> None:
        write_split(data.DATA_DIR / dataset / "raw", "train", pixel=153)

    monkeypatch.setattr(data, "download_with_torchvision", fake_download)
    images, _ = data.load_mnist("train")
    assert torch.allclose(images, torch.full_like(images, 153 / 255))
    assert "MNIST train: 5 images from a torchvision download" in capsys.readouterr().out


def test_bundled_subset_when_offline(sources, capsys):
    np.savez_compressed(
        sources["bundled"], train_images=np.full((7, 28, 28), 255, np.uint8), train_labels=np.arange(7)
    )
    images, labels = data.load_mnist("train")
    assert images.shape == (7, 1, 28, 28) and torch.all(images == 1.0)
    assert labels.tolist() == list(range(7))
    expected = f"7 images from the bundled real subset ({sources['bundled']}); online, torchvision gets the full 60,000."
    assert capsys.readouterr().out == f"MNIST train: {expected}\n"


# --- what the loaders return ------------------------------------------------------------------------------------


def test_shapes_dtypes_and_range(sources):
    folder = sources["cache"] / "MNIST" / "raw"
    write_idx(folder / "t10k-images-idx3-ubyte.gz", np.arange(4 * 784).reshape(4, 28, 28) % 256)
    write_idx(folder / "t10k-labels-idx1-ubyte.gz", [3, 1, 4, 1])
    images, labels = data.load_mnist("test")
    assert images.shape == (4, 1, 28, 28) and images.dtype == torch.float32
    assert labels.dtype == torch.int64 and labels.tolist() == [3, 1, 4, 1]
    assert images.min() == 0.0 and images.max() == 1.0
    assert images[0, 0, 0, 5].item() == pytest.approx(5 / 255)


def test_n_keeps_the_first_images(sources, capsys):
    write_split(sources["system"], "train", pixel=1, count=9)
    images, labels = data.load_fashion_mnist("train", n=3)
    assert images.shape == (3, 1, 28, 28) and labels.tolist() == [0, 1, 2]
    assert "the first 3 of 9 images" in capsys.readouterr().out


@pytest.mark.parametrize("loader", [data.load_mnist, data.load_fashion_mnist])
def test_bad_split_and_bad_n(loader):
    with pytest.raises(ValueError, match="'train' or 'test'"):
        loader("validation")
    with pytest.raises(ValueError, match="positive"):
        loader("train", n=0)


# --- damaged files and nothing found -------------------------------------------------------------------------


def test_truncated_idx_file_names_the_file_and_the_fix(sources):
    write_split(sources["cache"] / "MNIST" / "raw", "train", pixel=1)
    images_path = sources["cache"] / "MNIST" / "raw" / "train-images-idx3-ubyte.gz"
    raw = gzip.decompress(images_path.read_bytes())
    images_path.write_bytes(gzip.compress(raw[:-100]))
    with pytest.raises(data.DataError, match="truncated") as error:
        data.load_mnist("train")
    assert str(images_path) in str(error.value) and "delete it and run again" in str(error.value)


def test_cut_gzip_stream_names_the_file(sources):
    write_split(sources["cache"] / "MNIST" / "raw", "train", pixel=1)
    labels_path = sources["cache"] / "MNIST" / "raw" / "train-labels-idx1-ubyte.gz"
    labels_path.write_bytes(labels_path.read_bytes()[:20])
    with pytest.raises(data.DataError, match="cannot be read") as error:
        data.load_mnist("train")
    assert str(labels_path) in str(error.value)


def test_bad_magic_in_system_copy_says_reinstall(sources):
    write_split(sources["system"], "test", pixel=1)
    labels_path = sources["system"] / "t10k-labels-idx1-ubyte.gz"
    labels_path.write_bytes(gzip.compress(b"<html>not found</html>"))
    with pytest.raises(data.DataError, match="bad magic number 3c68746d") as error:
        data.load_fashion_mnist("test")
    message = str(error.value)
    assert str(labels_path) in message
    assert "apt-get install --reinstall dataset-fashion-mnist" in message


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (bytes([0, 0, 0x0D, 1]) + np.array([2], ">u4").tobytes() + bytes(8), "float32 values, not unsigned bytes"),
        (bytes([0, 0, 8, 1]) + np.array([2], ">u4").tobytes() + bytes(3), "shape '[2]' is invalid for input of size 3"),
        (bytes([0, 0, 8, 3]) + np.array([1], ">u4").tobytes(), "header is incomplete"),
        (b"<html>not found</html>", "bad magic number 3c68746d"),
        (b"", "header is incomplete"),
    ],
    ids=["float-type-code", "trailing-bytes", "short-header", "html", "empty"],
)
def test_read_idx_refuses_malformed_files(tmp_path, content, problem):
    path = tmp_path / "labels-idx1-ubyte"
    path.write_bytes(content)
    with pytest.raises(data.DataError, match=re.escape(problem)) as error:
        data.read_idx(path, fix="the fix")
    assert str(path) in str(error.value) and str(error.value).endswith("the fix")


def test_read_idx_reads_what_write_idx_wrote(tmp_path):
    array = np.arange(3 * 28 * 28).reshape(3, 28, 28) % 256
    for name in ("images-idx3-ubyte", "images-idx3-ubyte.gz"):
        read = data.read_idx(write_idx(tmp_path / name, array))
        assert read.dtype == torch.uint8 and torch.equal(read, torch.from_numpy(array.astype(np.uint8)))


def test_random_damage_to_a_gz_file_always_names_the_file(sources):
    """Damage anywhere in a compressed file: it loads unchanged (only a header field was hit) or the DataError names
    the file and the fix, never a bare zlib.error, EOFError or BadGzipFile."""
    folder = sources["cache"] / "MNIST" / "raw"
    images = (data.make_ellipses(40)[0][:, 0] * 255).round().numpy()
    write_split(folder, "test", pixel=0, count=40)
    images_path = write_idx(folder / "t10k-images-idx3-ubyte.gz", images)
    intact = images_path.read_bytes()
    rng = np.random.default_rng(0)
    outcomes = {"loaded unchanged": 0, "named": 0}
    for _ in range(120):
        damaged = bytearray(intact)
        start = int(rng.integers(0, len(damaged) - 8))
        damaged[start : start + int(rng.integers(1, 9))] = rng.integers(0, 256, 8, dtype=np.uint8).tobytes()[:8]
        images_path.write_bytes(bytes(damaged[: len(intact)]))
        try:
            loaded, _ = data.load_mnist("test")
        except data.DataError as error:
            assert str(images_path) in str(error) and "delete it and run again" in str(error), error
            outcomes["named"] += 1
        else:
            assert torch.equal((loaded[:, 0] * 255).round(), torch.from_numpy(images.astype(np.float32)))
            outcomes["loaded unchanged"] += 1
    assert outcomes["named"] > 60, outcomes


@pytest.mark.parametrize(
    "damage",
    [lambda raw: raw[: len(raw) // 2], lambda raw: raw[:2000] + bytes(b ^ 0xFF for b in raw[2000:2032]) + raw[2032:],
     lambda raw: b"", lambda raw: b"not a zip file at all"],
    ids=["truncated", "bit-flipped", "empty", "not-a-zip"],
)
def test_a_damaged_bundled_subset_names_the_file_and_the_fix(sources, damage):
    sources["bundled"].write_bytes(damage(data.REPO_DIR.joinpath("data", "mnist_subset.npz").read_bytes()))
    with pytest.raises(data.DataError) as error:
        data.load_mnist("train")
    message = str(error.value)
    assert str(sources["bundled"]) in message and "git checkout data/mnist_subset.npz" in message


def test_a_bundled_subset_of_the_wrong_shape_is_refused(sources):
    np.savez_compressed(sources["bundled"], train_images=np.zeros((3, 14, 14), np.uint8), train_labels=np.arange(3))
    with pytest.raises(data.DataError, match="28×28"):
        data.load_mnist("train")


def test_labels_that_do_not_match_the_images_are_refused(sources):
    folder = sources["system"]
    write_split(folder, "train", pixel=1, count=5)
    write_idx(folder / "train-labels-idx1-ubyte.gz", np.arange(4))
    with pytest.raises(data.DataError, match="one label 0-9 per image"):
        data.load_fashion_mnist("train")


def test_offline_with_nothing_says_what_to_install(sources):
    with pytest.raises(data.DataError) as error:
        data.load_fashion_mnist("train")
    message = str(error.value)
    assert "sudo apt-get install dataset-fashion-mnist" in message and "offline" in message

    with pytest.raises(data.DataError) as error:
        data.load_mnist("test")
    message = str(error.value)
    assert "run once online" in message
    assert "copy t10k-images-idx3-ubyte.gz and t10k-labels-idx1-ubyte.gz into" in message
    assert "python scripts/make_mnist_subset.py" in message


def test_the_download_check_asks_torchvisions_own_servers():
    import torchvision.datasets

    assert data.DOWNLOAD_SERVERS == {name: getattr(torchvision.datasets, name).mirrors[0]
                                     for name in ("MNIST", "FashionMNIST")}


def test_offline_the_bundled_digits_load_without_importing_torchvision(tmp_path):
    """Importing torchvision takes seconds; offline, a notebook that reads the bundled subset must not pay them."""
    script = ("import sys\nfrom helpers import data\ndata.server_answers = lambda host, port: False\n"
              "images, _ = data.load_mnist('test', n=10)\n"
              "assert images.shape == (10, 1, 28, 28) and 'torchvision' not in sys.modules, sorted(sys.modules)")
    env = {**os.environ, "COURSE_DATA_DIR": str(tmp_path), "PYTHONPATH": str(REPO_DIR)}
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "bundled real subset" in run.stdout


def test_server_check_is_quick_and_local():
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        assert data.server_answers("127.0.0.1", port)
    assert not data.server_answers("127.0.0.1", port)  # closed now: refused at once


def test_server_check_gives_up_on_a_hanging_name_lookup(monkeypatch):
    release = threading.Event()

    def hanging_lookup(*args, **kwargs):
        release.wait(10)
        raise OSError("name lookup timed out")

    monkeypatch.setattr(socket, "create_connection", hanging_lookup)
    monkeypatch.setattr(data, "ONLINE_CHECK_TIMEOUT_S", 0.2)
    start = time.perf_counter()
    assert not data.server_answers("hangs.example", 443)
    assert time.perf_counter() - start < 1
    release.set()


# --- the bundled MNIST subset ----------------------------------------------------------------------------------


def test_bundled_subset_holds_real_stratified_digits():
    assert data.BUNDLED_MNIST_PATH == config.REPO_DIR / "data" / "mnist_subset.npz"
    with np.load(data.BUNDLED_MNIST_PATH) as bundle:
        arrays = {key: bundle[key] for key in bundle.files}
    assert arrays["train_images"].shape == (4000, 28, 28) and arrays["train_images"].dtype == np.uint8
    assert arrays["test_images"].shape == (1000, 28, 28) and arrays["test_labels"].dtype == np.int64
    assert np.bincount(arrays["train_labels"]).tolist() == [400] * 10
    assert np.bincount(arrays["test_labels"]).tolist() == [100] * 10
    train = arrays["train_images"].reshape(4000, -1)
    test = arrays["test_images"].reshape(1000, -1)
    assert 0.11 < train.mean() / 255 < 0.15  # MNIST's mean intensity is 0.13
    assert not {row.tobytes() for row in train} & {row.tobytes() for row in test}  # no digit in both splits
    ink = [train[arrays["train_labels"] == digit].mean() for digit in range(10)]
    assert np.argmin(ink) == 1 and np.argmax(ink) in (0, 8)  # ones use the least ink
    assert arrays["train_labels"][:20].tolist() != sorted(arrays["train_labels"][:20])  # classes are shuffled


def test_bundled_subset_loads_through_load_mnist(monkeypatch, capsys):
    monkeypatch.setattr(data, "DATA_DIR", REPO_DIR / "tests" / "no-such-cache")
    monkeypatch.setattr(data, "download_with_torchvision", no_download)
    images, labels = data.load_mnist("test", n=250)
    assert images.shape == (250, 1, 28, 28) and labels.shape == (250,)
    assert "bundled real subset (data/mnist_subset.npz)" in capsys.readouterr().out


def test_subset_split_is_deterministic_and_stratified():
    spec = importlib.util.spec_from_file_location("make_mnist_subset", REPO_DIR / "scripts" / "make_mnist_subset.py")
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    labels = np.repeat(np.arange(10), 500)  # the csv's layout: sorted by class
    train, test = script.stratified_split(labels)
    again_train, again_test = script.stratified_split(labels)
    assert np.array_equal(train, again_train) and np.array_equal(test, again_test)
    assert not np.array_equal(train, script.stratified_split(labels, seed=1)[0])
    assert np.bincount(labels[train]).tolist() == [400] * 10 and np.bincount(labels[test]).tolist() == [100] * 10
    assert sorted(np.concatenate([train, test]).tolist()) == list(range(5000))


# --- ellipses ----------------------------------------------------------------------------------------------------


def test_make_ellipses_shapes_range_and_params():
    images, params = data.make_ellipses(64, size=28, seed=3)
    assert images.shape == (64, 1, 28, 28) and images.dtype == torch.float32
    assert params.shape == (64, 2) and params.dtype == torch.float32
    assert images.min() == 0.0 and images.max() == 1.0
    assert params.min() >= 0.15 * 28 and params.max() <= 0.45 * 28
    assert torch.all(images[:, :, 0, :] == 0) and torch.all(images[:, :, :, 0] == 0)  # the ellipse fits inside


def test_make_ellipses_is_deterministic_per_seed():
    first, first_params = data.make_ellipses(10, seed=7)
    second, second_params = data.make_ellipses(10, seed=7)
    assert torch.equal(first, second) and torch.equal(first_params, second_params)
    assert not torch.equal(first_params, data.make_ellipses(10, seed=8)[1])


@pytest.mark.parametrize("size", [28, 64])
def test_ellipse_area_is_pi_a_b(size):
    images, params = data.make_ellipses(500, size=size)
    ratio = images.sum(dim=(1, 2, 3)) / (math.pi * params[:, 0] * params[:, 1])
    assert torch.all((ratio - 1).abs() < 0.03)


def test_a_is_horizontal_and_b_vertical():
    image = data.draw_ellipses(torch.tensor([[10.0, 5.0]]))[0, 0]
    width, height = image[13:15].sum(dim=1).mean(), image[:, 13:15].sum(dim=0).mean()
    assert width == pytest.approx(20, abs=0.5) and height == pytest.approx(10, abs=0.5)


def test_image_changes_smoothly_with_the_axes():
    step = 0.01
    base, wider = data.draw_ellipses(torch.tensor([[8.0, 6.0], [8.0 + step, 6.0]]))
    area_change = math.pi * step * 6.0
    assert (wider - base).abs().sum() == pytest.approx(area_change, rel=0.1)
