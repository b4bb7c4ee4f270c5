"""fit learns on real digits, stops on NaN, and the checkpoint cache round-trips and refuses corrupt files."""

import pytest
import torch

from helpers import config, train
from helpers.data import load_mnist
from helpers.models import ConvAutoencoder, ConvVAE


@pytest.fixture(scope="module")
def digits():
    images, _ = load_mnist("train", n=512)
    return images


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    monkeypatch.setattr(config, "CHECKPOINT_DIR", tmp_path)
    return tmp_path


def test_fit_lowers_the_loss_on_real_digits(digits):
    history = train.fit(ConvVAE(2), digits[:448], digits[448:], epochs=4, lr=3e-3, progress=False)
    assert set(history) >= {"train_total", "train_recon", "train_kl", "test_total", "test_recon", "test_kl"}
    assert all(len(values) == 4 for values in history.values())
    assert history["test_total"][-1] < 0.8 * history["test_total"][0]


def test_fit_is_reproducible_and_returns_the_model_on_the_cpu(digits):
    histories = []
    for _ in range(2):
        torch.manual_seed(0)
        model = ConvAutoencoder(2)
        histories.append(train.fit(model, digits[:128], epochs=1, progress=False, seed=3))
        assert next(model.parameters()).device.type == "cpu" and not model.training
    assert histories[0]["train_total"] == histories[1]["train_total"]


def test_fit_stops_with_a_clear_message_when_the_loss_turns_nan(digits):
    def nan_loss(model, batch):
        return {"total": model(batch[0])[0].sum() * float("nan")}

    with pytest.raises(FloatingPointError, match="learning rate"):
        train.fit(ConvAutoencoder(2), digits[:64], epochs=1, loss_fn=nan_loss, progress=False)


def test_fit_accepts_images_with_labels_and_a_custom_loss(digits):
    labels = torch.arange(len(digits)) % 10
    classifier = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(784, 10))

    def cross_entropy(model, batch):
        return {"total": torch.nn.functional.cross_entropy(model(batch[0]), batch[1])}

    history = train.fit(classifier, (digits, labels), epochs=2, loss_fn=cross_entropy, progress=False)
    assert list(history) == ["train_total", "seconds"]


def test_cache_trains_once_then_loads_the_same_weights(digits, cache_dir):
    first = ConvVAE(2)
    history = train.fit_cached(first, digits[:128], epochs=1, progress=False)
    assert len(list(cache_dir.glob("*.pt"))) == 1
    second = ConvVAE(2)
    assert train.fit_cached(second, digits[:128], epochs=1, progress=False) == history
    for a, b in zip(first.state_dict().values(), second.state_dict().values()):
        assert torch.equal(a, b)


def test_cache_key_changes_with_config_data_epochs_and_seed(digits, cache_dir):
    train.fit_cached(ConvAutoencoder(2), digits[:64], epochs=1, progress=False)
    train.fit_cached(ConvAutoencoder(3), digits[:64], epochs=1, progress=False)
    train.fit_cached(ConvAutoencoder(2), digits[64:128], epochs=1, progress=False)
    train.fit_cached(ConvAutoencoder(2), digits[:64], epochs=2, progress=False)
    train.fit_cached(ConvAutoencoder(2), digits[:64], epochs=1, seed=1, progress=False)
    assert len(list(cache_dir.glob("*.pt"))) == 5


def test_corrupt_checkpoint_is_refused_and_replaced(digits, cache_dir, capsys):
    train.fit_cached(ConvAutoencoder(2), digits[:64], epochs=1, progress=False)
    (path,) = cache_dir.glob("*.pt")
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(train.CheckpointError, match=path.name):
        train.load_checkpoint(path, ConvAutoencoder(2))
    train.fit_cached(ConvAutoencoder(2), digits[:64], epochs=1, progress=False)
    assert "cannot be used" in capsys.readouterr().out
    train.load_checkpoint(path, ConvAutoencoder(2))  # rewritten and readable again


def test_checkpoint_of_another_architecture_is_refused(digits, cache_dir):
    path = cache_dir / "x.pt"
    train.save_checkpoint(path, ConvAutoencoder(2), {}, {})
    with pytest.raises(train.CheckpointError):
        train.load_checkpoint(path, ConvAutoencoder(3))
    assert not list(cache_dir.glob("*.tmp"))
