"""fit learns on real digits, is reproducible, refuses bad input by name and stops a run that diverges."""

import pytest
import torch

from helpers import train
from helpers.data import load_mnist
from helpers.models import ConvAutoencoder, ConvVAE


@pytest.fixture(scope="module")
def digits():
    images, _ = load_mnist("train", n=512)
    return images


def finite(model):
    return all(torch.isfinite(p).all() for p in model.state_dict().values())


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


def test_fit_trains_the_weights_it_is_given(digits):
    """``seed`` fixes the batches and the VAE's draws, not the initial weights: those are the caller's."""
    histories = []
    for init_seed in (0, 1):
        torch.manual_seed(init_seed)
        histories.append(train.fit(ConvAutoencoder(2), digits[:128], epochs=1, progress=False, seed=0))
    assert histories[0]["train_total"] != histories[1]["train_total"]
    assert "initial weights" in train.fit.__doc__


def test_fit_accepts_images_with_labels_and_a_custom_loss(digits):
    labels = torch.arange(len(digits)) % 10
    classifier = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(784, 10))

    def cross_entropy(model, batch):
        return {"total": torch.nn.functional.cross_entropy(model(batch[0]), batch[1])}

    history = train.fit(classifier, (digits, labels), epochs=2, loss_fn=cross_entropy, progress=False)
    assert list(history) == ["train_total", "seconds"]


# --- bad arguments and bad data: say which and how to fix it -------------------------------------------------------


@pytest.mark.parametrize(
    ("argument", "value"), [("epochs", 0), ("batch_size", 0), ("lr", 0.0), ("lr", -1e-3), ("epochs", 2.5)]
)
def test_a_wrong_training_argument_is_named(digits, argument, value):
    with pytest.raises(ValueError, match=rf"^{argument} must be .*, got {value}"):
        train.fit(ConvAutoencoder(2), digits[:64], progress=False, **{argument: value})


def test_an_empty_data_set_is_refused_by_name(digits):
    with pytest.raises(ValueError, match="train holds no images"):
        train.fit(ConvAutoencoder(2), digits[:0], epochs=1, progress=False)
    with pytest.raises(ValueError, match="test holds no images"):
        train.fit(ConvAutoencoder(2), digits[:64], digits[:0], epochs=1, progress=False)


@pytest.mark.parametrize(
    ("convert", "dtype", "fix"),
    [
        (lambda x: (x * 255).to(torch.uint8), "torch.uint8", "x.float() / 255"),
        (torch.Tensor.double, "torch.float64", "x.float()"),
    ],
    ids=["uint8", "float64"],
)
def test_images_of_the_wrong_dtype_name_float32_and_the_fix(digits, convert, dtype, fix):
    with pytest.raises(TypeError) as error:
        train.fit(ConvAutoencoder(2), convert(digits[:64]), epochs=1, progress=False)
    message = str(error.value)
    assert dtype in message and "float32 in [0, 1]" in message and fix in message
    with pytest.raises(TypeError, match="float32 in"):
        train.evaluate(ConvAutoencoder(2), convert(digits[:64]))


def test_images_outside_zero_one_are_refused_for_bce(digits):
    with pytest.raises(ValueError, match=r"lie in \[0, 255\].*BCE.*x / 255"):
        train.fit(ConvAutoencoder(2), digits[:64] * 255, epochs=1, progress=False)
    nan_test = digits[:64].clone()
    nan_test[3, 0, 5, 5] = float("nan")
    with pytest.raises(ValueError, match="test holds NaN or infinite values"):
        train.fit(ConvAutoencoder(2), digits[:64], nan_test, epochs=1, recon="mse", progress=False)


def test_a_nan_test_loss_stops_training_by_name(digits):
    def loss_nan_on_test(model, batch):
        x_hat, _ = model(batch[0])
        total = ((x_hat - batch[0]) ** 2).sum((1, 2, 3)).mean()
        return {"total": total if model.training else total * float("nan")}

    with pytest.raises(train.TrainingDiverged, match="the loss became nan on the test set after epoch 1"):
        train.fit(ConvAutoencoder(2), digits[:64], digits[64:128], epochs=2, loss_fn=loss_nan_on_test, progress=False)


# --- divergence ----------------------------------------------------------------------------------------------------


def test_fit_stops_with_a_clear_message_when_the_loss_turns_nan(digits):
    def nan_loss(model, batch):
        return {"total": model(batch[0])[0].sum() * float("nan")}

    model = ConvAutoencoder(2)
    initial = {k: v.clone() for k, v in model.state_dict().items()}
    with pytest.raises(FloatingPointError, match=r"the loss became nan in epoch 1, batch 1.*lr=0.001"):
        train.fit(model, digits[:64], epochs=1, loss_fn=nan_loss, progress=False)
    assert all(torch.equal(initial[k], v) for k, v in model.state_dict().items())


def test_a_vae_whose_decoder_turns_nan_stops_with_the_course_message(digits):
    """At lr=10 the weights blow up and the decoder outputs NaN, which torch's BCE would reject with its own
    "all elements of input should be between 0 and 1": the output is checked first."""
    torch.manual_seed(0)
    model = ConvVAE(2)
    with pytest.raises(train.TrainingDiverged, match=r"output of ConvVAE\.decoder became nan .*lr=10\b") as error:
        train.fit(model, digits, epochs=3, lr=10, progress=False)
    assert "smaller learning rate" in str(error.value) and "last weights that gave a finite loss" in str(error.value)
    assert finite(model)
    x_hat, _, _ = model(digits[:64])
    assert torch.isfinite(x_hat).all()


def test_a_run_that_ends_worse_than_it_started_counts_as_diverged(digits):
    """At lr=10 an autoencoder stays finite but ends near 30,000 nats per image, where the untrained model scored
    about 540 (and the mean image about 205)."""
    torch.manual_seed(0)
    with pytest.raises(train.TrainingDiverged, match=r"worse than .* untrained .*lr=10\b") as error:
        train.fit(ConvAutoencoder(2), digits, epochs=2, lr=10, progress=False)
    assert len(error.value.history["train_total"]) == 2 and error.value.history["train_total"][-1] > 5_000


def test_a_run_that_barely_learns_is_not_called_diverged(digits):
    torch.manual_seed(0)
    history = train.fit(ConvAutoencoder(2), digits[:256], epochs=2, batch_size=32, lr=1e-7, progress=False)
    assert len(history["train_total"]) == 2
