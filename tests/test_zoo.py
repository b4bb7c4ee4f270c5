"""The shared MNIST recipes: one cached model per recipe, whatever notebook asks for it."""

import pytest
import torch

import helpers
from helpers import config, zoo


def test_a_recipe_trains_once_and_then_loads(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(config, "CHECKPOINT_DIR", tmp_path)
    monkeypatch.setattr(zoo, "recipe", lambda n: {"epochs": 1, "batch_size": 128, "lr": 3e-3})
    model, history = zoo.mnist_model("vae", 2, beta=1, progress=False)
    assert model.variational and len(history["test_total"]) == 1
    again, history_again = zoo.mnist_model("vae", 2, beta=1.0, progress=False)  # int and float beta: one entry
    assert history_again == history and len(list(tmp_path.glob("*.pt"))) == 1
    assert "loaded from the checkpoint cache" in capsys.readouterr().out


def test_epochs_scale_with_the_data_in_full_mode(monkeypatch):
    monkeypatch.setattr(config, "FAST", False)
    assert zoo.recipe(60_000)["epochs"] == 4 and zoo.recipe(4_000)["epochs"] == 20


def test_model_names_leave_out_the_defaults():
    assert zoo.model_name("ae", 2) == "mnist-ae-z2"
    assert zoo.model_name("vae", 16, beta=4.0, activation="relu") == "mnist-vae-z16-beta4-relu"
    assert zoo.model_name("ae", 2, recon="rmse", beta=4.0) == "mnist-ae-z2-rmse"


def test_unknown_kind_is_refused():
    with pytest.raises(ValueError, match="'ae' or 'vae'"):
        zoo.mnist_model("gan")


def test_faces_vae_refuses_an_unknown_likelihood() -> None:
    with pytest.raises(ValueError, match="mse"):
        zoo.faces_vae("rmse")


def test_faces_recipe_takes_the_steps_the_mouth_needs_in_half_the_images(monkeypatch) -> None:
    # notebook 07 measured: the smile appears after about 1,900 steps; batches of 64 took 120,000 images to get there
    monkeypatch.setattr(config, "FAST", False)
    recipe = zoo.faces_recipe()
    steps = recipe["epochs"] * -(-10_000 // recipe["batch_size"])
    assert steps >= 1_800 and recipe["epochs"] * 10_000 <= 60_000
    monkeypatch.setattr(config, "FAST", True)
    assert zoo.faces_recipe()["epochs"] < recipe["epochs"]


def test_the_conditional_vae_is_trained_on_images_and_labels_once(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(config, "CHECKPOINT_DIR", tmp_path)
    monkeypatch.setattr(zoo, "recipe", lambda n: {"epochs": 1, "batch_size": 128, "lr": 3e-3})
    model, history = zoo.conditional_vae(2, progress=False)
    assert model.config["n_classes"] == 10 and len(history["test_kl"]) == 1
    zoo.conditional_vae(2, progress=False)
    assert "loaded from the checkpoint cache" in capsys.readouterr().out and len(list(tmp_path.glob("*.pt"))) == 1


def test_beta_faces_vae_refuses_a_beta_that_is_not_positive() -> None:
    with pytest.raises(ValueError, match="beta"):
        zoo.beta_faces_vae(0)


def test_small_faces_are_the_faces_at_half_resolution_and_fit_the_beta_model() -> None:
    x_train, a_train, x_test, _ = zoo.small_faces()
    big_train, big_a_train, _, _ = helpers.faces.faces_data()
    assert x_train.shape[1:] == (3, zoo.BETA_IMAGE_SIZE, zoo.BETA_IMAGE_SIZE) and torch.equal(a_train, big_a_train)
    assert torch.allclose(x_train.mean(), big_train.mean(), atol=1e-5)  # 2×2 means keep the mean brightness
    x_hat, z_mean, _ = zoo.beta_faces_model()(x_test[:4])
    assert x_hat.shape == x_test[:4].shape and z_mean.shape == (4, zoo.BETA_LATENT_DIM)
