"""Shapes, layer names, errors and sampling of the course's models (the classes notebooks 02, 05 and 09 write out),
and the batched helpers that run them over many images."""

import pytest
import torch

from helpers import batches
from helpers.batches import decode_codes, encode_means, in_batches
from helpers.models import ConditionalVAE, ConvAutoencoder, ConvVAE, Decoder, Denoiser, Encoder, conditional_vae_loss


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
    model = ConvVAE(16, in_channels=3, image_size=32, channels=(32, 64))
    x_hat, z_mean, z_log_var = model(torch.rand(2, 3, 32, 32))
    assert x_hat.shape == (2, 3, 32, 32) and z_mean.shape == z_log_var.shape == (2, 16)


def test_layers_have_names_and_the_vae_replaces_the_one_head_by_two():
    names = {name for name, _ in ConvAutoencoder(2).named_modules()}
    assert {"encoder.conv1", "encoder.dense", "encoder.act3", "decoder.dense2", "decoder.deconv2", "to_code"} <= names
    vae = dict(ConvVAE(2).named_modules())
    assert "to_code" not in vae and vae["to_mean"].out_features == vae["to_log_var"].out_features == 2
    assert ConvVAE(2).config == ConvAutoencoder(2).config  # every size, the checkpoint cache's key


def test_parameter_count_of_the_default_autoencoder():
    # conv 1→16 and 16→32, dense 1,568→128 and 128→2; back: 2→128, 128→1,568, transposed conv 32→16 and 16→1
    expected = (16 * 10 + 32 * (16 * 9 + 1) + 1568 * 128 + 128 + 128 * 2 + 2
                + 2 * 128 + 128 + 128 * 1568 + 1568 + 16 * (32 * 9) + 16 + 1 * (16 * 9) + 1)
    assert sum(p.numel() for p in ConvAutoencoder(2).parameters()) == expected == 413_315


def test_wrong_input_names_expected_received_and_the_fix():
    with pytest.raises(ValueError, match=r"Encoder expects images of shape N×1×28×28, got \(2, 1, 32, 32\)"):
        ConvAutoencoder(2)(torch.rand(2, 1, 32, 32))
    with pytest.raises(ValueError, match=r"add the batch dimension"):
        ConvAutoencoder(2)(torch.rand(1, 28, 28))
    with pytest.raises(ValueError, match=r"float images in \[0, 1\], got torch.uint8.*x.float\(\) / 255"):
        Encoder()(torch.zeros(2, 1, 28, 28, dtype=torch.uint8))
    with pytest.raises(ValueError, match=r"Decoder decodes codes of shape N×2, got \(4, 3\)"):
        ConvVAE(2).decode(torch.zeros(4, 3))
    with pytest.raises(TypeError, match="float codes"):
        Decoder(2)(torch.zeros(4, 2, dtype=torch.long))
    with pytest.raises(ValueError, match="activation"):
        ConvVAE(2, activation="tanhh")


def test_vae_samples_in_evaluation_too_with_sigma_from_the_log_variance():
    model = ConvVAE(1000).eval()  # 50 images × 1,000 code numbers: 50,000 draws of z from one forward pass
    with torch.no_grad():
        model.to_mean.weight.zero_()
        model.to_mean.bias.fill_(1.5)
        model.to_log_var.weight.zero_()
        model.to_log_var.bias.fill_(torch.log(torch.tensor(4.0)))
    seen = []
    model.decoder.register_forward_pre_hook(lambda module, args: seen.append(args[0]))
    torch.manual_seed(1)
    model(torch.rand(50, 1, 28, 28))
    z = seen[0]
    assert abs(z.mean().item() - 1.5) < 0.03 and abs(z.std().item() - 2.0) < 0.03  # σ = exp(½ log 4) = 2, not 4


def test_batched_helpers_match_direct_calls_and_keep_gradients_off():
    model = ConvVAE(2).eval()
    x = torch.rand(7, 1, 28, 28)
    z = encode_means(model, x)
    assert torch.allclose(z, model.encode(x)[0], atol=1e-6) and not z.requires_grad
    assert torch.allclose(decode_codes(model, z), model.decode(z), atol=1e-6)
    assert torch.equal(in_batches(lambda b: b * 2, torch.arange(10.0), batch_size=3), torch.arange(10.0) * 2)
    ae = ConvAutoencoder(2).eval()
    assert torch.allclose(encode_means(ae, x), ae.encode(x), atol=1e-6)
    with pytest.raises(ValueError, match="at least one row"):
        in_batches(lambda b: b, torch.zeros(0, 2))
    assert batches.model_device(torch.nn.ReLU()) == torch.device("cpu")


def test_the_conditional_vae_sees_the_label_in_its_heads_and_its_decoder():
    model = ConditionalVAE(2)
    assert model.config == ConvVAE(2).config | {"n_classes": 10}
    x, labels = torch.rand(4, 1, 28, 28), torch.tensor([0, 3, 7, 9])
    x_hat, z_mean, z_log_var = model(x, labels)
    assert x_hat.shape == x.shape and z_mean.shape == z_log_var.shape == (4, 2)
    assert model.to_mean.in_features == 128 + 10 and model.decoder.latent_dim == 2 + 10
    with torch.no_grad():
        z = torch.zeros(2, 2)
        assert not torch.allclose(model.decode(z, torch.tensor([1, 1])), model.decode(z, torch.tensor([1, 8])))
        assert not torch.allclose(model.encode(x[:1], labels[:1])[0], model.encode(x[:1], labels[1:2])[0])
    parts = conditional_vae_loss(model, (x, labels))
    assert set(parts) == {"total", "recon", "kl"} and torch.isclose(parts["total"], parts["recon"] + parts["kl"])


def test_the_denoiser_predicts_one_noise_per_code_and_depends_on_the_step():
    model = Denoiser(latent_dim=16, steps=200)
    z = torch.randn(3, 16)
    with torch.no_grad():
        early, late = model(z, torch.full((3,), 1)), model(z, torch.full((3,), 200))
    assert early.shape == z.shape and not torch.allclose(early, late)
    assert model.config == {"latent_dim": 16, "steps": 200, "hidden": 128, "time_dim": 16}
