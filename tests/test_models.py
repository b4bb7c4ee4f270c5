"""Shapes, errors and gradients of the course's models."""

import pytest
import torch

from helpers.models import ConvAutoencoder, ConvVAE, decode_codes, encode_means, reparameterize


@pytest.mark.parametrize("model_class", [ConvAutoencoder, ConvVAE])
@pytest.mark.parametrize("latent_dim", [2, 16])
def test_encoder_and_decoder_shapes(model_class, latent_dim):
    model = model_class(latent_dim)
    x = torch.rand(5, 1, 28, 28)
    out = model.encode(x)
    codes = out if isinstance(out, tuple) else (out,)
    assert len(codes) == (2 if model.variational else 1)
    assert all(c.shape == (5, latent_dim) for c in codes)
    x_hat = model.decode(codes[0])
    assert x_hat.shape == x.shape
    assert 0 <= x_hat.min() and x_hat.max() <= 1


def test_faces_sized_model():
    model = ConvVAE(16, in_channels=3, image_size=32, channels=(32, 64, 128))
    x_hat, z_mean, z_log_var = model(torch.rand(2, 3, 32, 32))
    assert x_hat.shape == (2, 3, 32, 32) and z_mean.shape == z_log_var.shape == (2, 16)


@pytest.mark.parametrize("hidden", [None, 64])
def test_hidden_dense_layer_is_optional(hidden):
    model = ConvVAE(2, hidden=hidden)
    dense = [m for m in model.modules() if isinstance(m, torch.nn.Linear)]
    # to_mean, to_log_var and the decoder's first layer, plus one hidden layer on each side when asked for
    assert len(dense) == (3 if hidden is None else 5)
    assert model.to_mean.in_features == (32 * 7 * 7 if hidden is None else hidden)
    assert model.config["hidden"] == hidden
    x_hat, z_mean, _ = model(torch.rand(3, 1, 28, 28))
    assert x_hat.shape == (3, 1, 28, 28) and z_mean.shape == (3, 2)


def test_wrong_input_shape_names_expected_and_received():
    with pytest.raises(ValueError, match=r"N×1×28×28.*\(2, 1, 32, 32\)"):
        ConvAutoencoder(2)(torch.rand(2, 1, 32, 32))
    with pytest.raises(ValueError, match=r"N×2.*\(4, 3\)"):
        ConvVAE(2).decode(torch.zeros(4, 3))


def test_bad_configuration_is_refused():
    with pytest.raises(ValueError, match="divisible"):
        ConvVAE(2, image_size=30)
    with pytest.raises(ValueError, match="activation"):
        ConvVAE(2, activation="tanhh")
    with pytest.raises(ValueError, match="hidden"):
        ConvVAE(2, hidden=0)


def test_reparameterize_is_mu_plus_sigma_eps_and_passes_gradients():
    torch.manual_seed(0)
    mu = torch.full((200_000, 1), 1.5, requires_grad=True)
    log_var = torch.full((200_000, 1), torch.log(torch.tensor(4.0)).item(), requires_grad=True)
    z = reparameterize(mu, log_var)
    assert abs(z.mean().item() - 1.5) < 0.02
    assert abs(z.std().item() - 2.0) < 0.02  # sigma = exp(0.5 * log 4) = 2, not 4
    z.sum().backward()
    assert torch.allclose(mu.grad, torch.ones_like(mu))
    assert log_var.grad.abs().sum() > 0


def test_vae_samples_in_evaluation_too():
    model = ConvVAE(2).eval()
    x = torch.rand(3, 1, 28, 28)
    torch.manual_seed(1)
    a = model(x)[0]
    torch.manual_seed(2)
    b = model(x)[0]
    assert not torch.equal(a, b)


def test_batched_encode_and_decode_match_direct_calls():
    model = ConvVAE(2).eval()
    x = torch.rand(7, 1, 28, 28)
    z = encode_means(model, x, batch_size=3)
    assert torch.allclose(z, model.encode(x)[0], atol=1e-6)
    assert torch.allclose(decode_codes(model, z, batch_size=2), model.decode(z), atol=1e-6)
