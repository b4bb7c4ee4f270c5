"""The checkpoint cache: trains once, keys on the code as well as the settings, refuses a checkpoint that is not
the one asked for or was damaged, survives a cache that cannot be written and never caches a diverged run."""

import json
import textwrap
import zipfile

import pytest
import torch
from torch import nn

from helpers import config, train
from helpers.data import load_mnist
from helpers.losses import model_loss
from helpers.models import ConvAutoencoder, ConvVAE


@pytest.fixture(scope="module")
def digits():
    images, _ = load_mnist("train", n=128)
    return images


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    monkeypatch.setattr(config, "CHECKPOINT_DIR", tmp_path / "checkpoints")
    return tmp_path / "checkpoints"


def checkpoints(folder):
    return sorted(p.name for p in folder.glob("*.pt"))


def same_weights(a, b):
    return all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))


def defined(source, name):
    """``name`` from ``source`` run as a notebook cell would be: a fresh object each time, in ``__main__``."""
    namespace = {"__name__": "__main__", "nn": nn, "torch": torch, "model_loss": model_loss}
    exec(textwrap.dedent(source), namespace)
    return namespace[name]


# --- trains once, then loads ------------------------------------------------------------------------------------


def test_cache_trains_once_then_loads_the_same_weights(digits, cache_dir):
    first = ConvVAE(2)
    history = train.fit_cached(first, digits, epochs=1, progress=False)
    assert len(checkpoints(cache_dir)) == 1
    torch.manual_seed(123)  # another initialization: fit_cached re-initializes from its seed anyway
    second = ConvVAE(2)
    assert train.fit_cached(second, digits, epochs=1, progress=False) == history
    assert same_weights(first, second)


def test_cache_key_changes_with_config_data_epochs_and_seed(digits, cache_dir):
    train.fit_cached(ConvAutoencoder(2), digits[:64], epochs=1, progress=False)
    train.fit_cached(ConvAutoencoder(3), digits[:64], epochs=1, progress=False)
    train.fit_cached(ConvAutoencoder(2), digits[64:], epochs=1, progress=False)
    train.fit_cached(ConvAutoencoder(2), digits[:64], epochs=2, progress=False)
    train.fit_cached(ConvAutoencoder(2), digits[:64], epochs=1, seed=1, progress=False)
    assert len(checkpoints(cache_dir)) == 5


def test_the_key_is_kept_readable_in_the_checkpoint(digits, cache_dir):
    train.fit_cached(ConvAutoencoder(2), digits[:64], epochs=1, progress=False)
    (path,) = cache_dir.glob("*.pt")
    key = json.loads(torch.load(path, weights_only=True)["meta"]["key"])
    assert key["model"] == "ConvAutoencoder" and key["config"]["latent_dim"] == 2
    assert key["version"] == train.CACHE_VERSION >= 2 and len(key["model_code"]) == len(key["loss_code"]) == 16


# --- item 4: the key covers the code ------------------------------------------------------------------------------


def test_an_edited_loss_function_of_the_same_name_trains_again(digits, cache_dir):
    first = defined("def my_loss(model, batch):\n    return model_loss(model, batch[0], recon='bce')", "my_loss")
    edited = defined("def my_loss(model, batch):\n    return model_loss(model, batch[0], recon='mse')", "my_loss")
    again = defined("def my_loss(model, batch):\n    return model_loss(model, batch[0], recon='bce')", "my_loss")
    histories = [train.fit_cached(ConvAutoencoder(2), digits[:64], epochs=1, loss_fn=fn, progress=False)
                 for fn in (first, edited, again)]
    assert len(checkpoints(cache_dir)) == 2
    assert histories[0] == histories[2] != histories[1]


def test_lambdas_are_told_apart_by_their_code(digits, cache_dir):
    for recon in ("mse", "rmse", "mse"):
        loss = defined(f"loss = lambda model, batch: model_loss(model, batch[0], recon={recon!r})", "loss")
        train.fit_cached(ConvAutoencoder(2), digits[:64], epochs=1, loss_fn=loss, progress=False)
    assert len(checkpoints(cache_dir)) == 2


def test_the_key_covers_the_model_code_and_its_submodules():
    """A notebook's model is composed of Encoder and Decoder modules; editing either changes the key."""
    cell = """
    class Encoder(nn.Module):
        def __init__(self):
            super().__init__()
            self.net = nn.Linear(4, 2)
        def forward(self, x):
            return self.net(x)

    class Decoder(nn.Module):
        def __init__(self):
            super().__init__()
            self.net = nn.Linear(2, 4)
        def forward(self, z):
            return torch.sigmoid(self.net(z))

    class Model(nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder, self.decoder = Encoder(), Decoder()
        def forward(self, x):
            return self.decoder(self.encoder(x))
    """
    key = lambda model: train.cache_key(model, torch.zeros(3, 4), None, loss_fn=None, settings={})  # noqa: E731
    original = key(defined(cell, "Model")())
    assert key(defined(cell, "Model")()) == original  # the same code again: the same key
    assert key(defined(cell.replace("torch.sigmoid", "torch.tanh"), "Model")())["model_code"] != original["model_code"]
    relu = cell.replace("return self.net(x)", "return torch.relu(self.net(x))")
    assert key(defined(relu, "Model")())["model_code"] != original["model_code"]


def test_code_without_source_counts_by_its_bytecode():
    digests = []
    for body in ("x + 1", "x + 2", "x + 1"):
        namespace = {}
        exec(f"def f(x):\n    return {body}", namespace)  # exec keeps no source
        digests.append(train.code_digest([namespace["f"]]))
    assert digests[0] == digests[2] != digests[1]


def test_the_key_follows_the_helpers_a_loss_calls(tmp_path, monkeypatch):
    """A loss written in a file calls a helper of its module: editing the helper changes the key too."""
    monkeypatch.syspath_prepend(str(tmp_path))
    codes = []
    for factor in (1, 2):
        (tmp_path / f"course_losses_{factor}.py").write_text(
            f"def scale(x):\n    return {factor} * x\n\n\n"
            "def loss(model, batch):\n    # the helper's factor is not in this function's text\n"
            "    return {'total': scale(model(batch[0]).sum())}\n"
        )
        module = __import__(f"course_losses_{factor}")
        codes.append(train.cache_key(nn.Linear(2, 2), torch.zeros(3, 2), None, module.loss, {})["loss_code"])
    assert codes[0] != codes[1]


# --- item 3: the stored key and the tensors' digest are checked before the weights are used -------------------------


def test_a_checkpoint_made_for_another_key_is_refused_and_retrained(digits, cache_dir, capsys):
    train.fit_cached(ConvAutoencoder(2, activation="relu"), digits[:64], epochs=1, name="relu", progress=False)
    train.fit_cached(ConvAutoencoder(2), digits[:64], epochs=1, name="leaky", progress=False)
    (relu_path,) = cache_dir.glob("relu-*.pt")
    (leaky_path,) = cache_dir.glob("leaky-*.pt")
    relu_path.replace(leaky_path)  # the relu model's file under the leaky_relu key, same architecture
    capsys.readouterr()

    model = ConvAutoencoder(2)
    train.fit_cached(model, digits[:64], epochs=1, name="leaky", progress=False)
    out = capsys.readouterr().out
    assert f"{leaky_path.name} was made for another recipe" in out and "config.activation" in out
    assert "trained in" in out
    reference = ConvAutoencoder(2)
    train.fit_cached(reference, digits[:64], epochs=1, name="leaky", progress=False)  # now a clean load
    assert "loaded from the checkpoint cache" in capsys.readouterr().out and same_weights(model, reference)


def flip_bytes_inside_largest_tensor(path, count=32):
    """Flip ``count`` bytes in the stored bytes of the largest tensor; the zip stays intact."""
    with zipfile.ZipFile(path) as archive:
        entry = max(archive.infolist(), key=lambda info: info.file_size)
    raw = bytearray(path.read_bytes())
    start = entry.header_offset + 30 + len(entry.filename.encode()) + len(entry.extra) + 64
    for k in range(count):
        raw[start + 4 * k] ^= 0x40
    path.write_bytes(bytes(raw))


def test_flipped_bytes_in_the_weights_are_detected_and_the_model_retrained(digits, cache_dir, capsys):
    trained = ConvAutoencoder(2)
    train.fit_cached(trained, digits[:64], epochs=1, progress=False)
    (path,) = cache_dir.glob("*.pt")
    flip_bytes_inside_largest_tensor(path)
    torch.load(path, weights_only=True)  # still a valid file: only the digest can tell
    capsys.readouterr()

    model = ConvAutoencoder(2)
    train.fit_cached(model, digits[:64], epochs=1, progress=False)
    out = capsys.readouterr().out
    assert f"{path.name} is damaged: its tensors do not match the digest stored with them" in out
    assert "trained in" in out and same_weights(model, trained)
    with pytest.raises(train.CheckpointError, match="digest"):
        flip_bytes_inside_largest_tensor(path)
        train.load_checkpoint(path, ConvAutoencoder(2))


def test_corrupt_checkpoint_is_refused_and_replaced(digits, cache_dir, capsys):
    train.fit_cached(ConvAutoencoder(2), digits[:64], epochs=1, progress=False)
    (path,) = cache_dir.glob("*.pt")
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(train.CheckpointError, match=path.name):
        train.load_checkpoint(path, ConvAutoencoder(2))
    train.fit_cached(ConvAutoencoder(2), digits[:64], epochs=1, progress=False)
    assert "cannot be used" in capsys.readouterr().out
    train.load_checkpoint(path, ConvAutoencoder(2))  # rewritten and readable again


def test_checkpoint_of_another_architecture_is_refused(tmp_path):
    path = tmp_path / "x.pt"
    train.save_checkpoint(path, ConvAutoencoder(2), {}, {})
    with pytest.raises(train.CheckpointError):
        train.load_checkpoint(path, ConvAutoencoder(3))
    assert not list(tmp_path.glob("*.tmp"))


# --- item 1: a cache that cannot be written loses nothing ------------------------------------------------------------


def test_a_cache_that_cannot_be_written_still_returns_the_trained_model(digits, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(config, "CHECKPOINT_DIR", tmp_path / "writable")
    reference = ConvAutoencoder(2)
    reference_history = train.fit_cached(reference, digits[:64], epochs=1, progress=False)
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "data").write_text("a file where the cache folder should be")  # as on a read-only mount
    monkeypatch.setattr(config, "CHECKPOINT_DIR", shared / "data" / "checkpoints")
    capsys.readouterr()

    model = ConvAutoencoder(2)
    history = train.fit_cached(model, digits[:64], epochs=1, progress=False)
    assert history["train_total"] == reference_history["train_total"] and same_weights(model, reference)
    lines = [line for line in capsys.readouterr().out.splitlines() if "cannot be written" in line]
    assert len(lines) == 1 and "COURSE_DATA_DIR" in lines[0] and str(shared / "data" / "checkpoints") in lines[0]
    assert sorted(p.name for p in shared.iterdir()) == ["data"]


def test_an_interrupted_save_leaves_no_temporary_file(digits, cache_dir, monkeypatch):
    def interrupted_save(payload, file, *args, **kwargs):
        with open(file, "wb") as partial:
            partial.write(b"half a checkpoint")
        raise KeyboardInterrupt

    monkeypatch.setattr(torch, "save", interrupted_save)
    with pytest.raises(KeyboardInterrupt):
        train.fit_cached(ConvAutoencoder(2), digits[:64], epochs=1, progress=False)
    assert list(cache_dir.iterdir()) == []


# --- item 2: a diverged run is never cached --------------------------------------------------------------------------


@pytest.mark.parametrize("model_class", [ConvAutoencoder, ConvVAE])
def test_a_diverged_run_is_not_cached(digits, cache_dir, model_class):
    torch.manual_seed(0)
    with pytest.raises(train.TrainingDiverged, match="Nothing was written to the checkpoint cache"):
        train.fit_cached(model_class(2), digits, epochs=2, lr=10, progress=False)
    assert checkpoints(cache_dir) == []


# --- two processes asking for one model ------------------------------------------------------------------------------


def test_a_second_trainer_waits_for_the_first_and_loads_its_model(digits, cache_dir, capsys):
    """Two notebooks (or a notebook beside the tests) asking for one model train it once: the second waits for the
    first's lock, then loads its checkpoint. Here the first is this thread holding the lock; the second a thread."""
    import threading
    import time

    path, _ = train.checkpoint_path(ConvAutoencoder(2), digits[:64], name="ae", epochs=1)
    results = {}
    with train._one_trainer(path, "ae"):
        second = threading.Thread(target=lambda: results.setdefault(
            "history", train.fit_cached(ConvAutoencoder(2), digits[:64], name="ae", epochs=1, progress=False)))
        second.start()
        time.sleep(1.0)
        assert second.is_alive(), "the second trainer must wait while the first holds the lock"
    second.join(60)
    assert "another process is training this model" in capsys.readouterr().out
    assert results["history"]["train_total"] and checkpoints(cache_dir) == [path.name]


def test_a_class_written_out_in_a_notebook_shares_the_checkpoint_of_the_exported_class(digits):
    """Notebook 02 trains its own ConvAutoencoder (the cells tagged export, run as cells: a class defined there has
    no source file); notebook 03 asks helpers.zoo for the exported one. Both must be one cache entry."""
    import linecache
    from pathlib import Path

    import nbformat

    from helpers import models, shapes

    notebook = Path(__file__).resolve().parents[1] / "notebooks" / "02_conv_autoencoder.ipynb"
    namespace = {"__name__": "__main__", "nn": nn, "torch": torch, "Tensor": torch.Tensor,
                 "check_images": shapes.check_images, "check_codes": shapes.check_codes}
    for number, cell in enumerate(nbformat.read(notebook, as_version=4).cells):
        if "export" in cell.metadata.get("tags", []):
            filename = f"/tmp/ipykernel_test/{number}.py"  # as IPython names a cell's code
            linecache.cache[filename] = (len(cell.source), None, cell.source.splitlines(True), filename)
            exec(compile(cell.source, filename, "exec"), namespace)
    settings = {"epochs": 1, "batch_size": 128, "lr": 1e-3, "recon": "bce", "beta": 1.0, "seed": 0}
    in_notebook = train.cache_key(namespace["ConvAutoencoder"](2), digits[:64], None, None, settings)
    exported = train.cache_key(models.ConvAutoencoder(2), digits[:64], None, None, settings)
    assert in_notebook == exported
    namespace["Encoder"].forward = lambda self, x: x  # an edited class is another model
    assert train.cache_key(namespace["ConvAutoencoder"](2), digits[:64], None, None, settings) != exported
