"""The training loop that notebook 02 shows is what ``helpers.train.fit`` runs: one seeded epoch of each gives the same
weights and the same loss (``fit`` uses Adam's fused kernel, the same update rounded differently: the weights' changes
agree to a small fraction of their size)."""

from __future__ import annotations

from pathlib import Path

import nbformat
import torch

from helpers.losses import reconstruction_loss
from helpers.models import ConvAutoencoder
from helpers.train import fit

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "02_conv_autoencoder.ipynb"


def notebook_loop() -> str:
    """The source of notebook 02's cell tagged ``training-loop``."""
    cells = [cell for cell in nbformat.read(NOTEBOOK, as_version=4).cells
             if "training-loop" in cell.metadata.get("tags", [])]
    assert len(cells) == 1, "notebook 02 must have exactly one cell tagged 'training-loop'"
    return cells[0].source


def test_one_epoch_of_the_notebooks_loop_equals_one_epoch_of_fit() -> None:
    torch.set_num_threads(1)
    x_train = torch.rand(600, 1, 28, 28, generator=torch.Generator().manual_seed(1))
    scope = {"torch": torch, "tqdm": lambda iterable, **_: iterable, "reconstruction_loss": reconstruction_loss,
             "ConvAutoencoder": ConvAutoencoder, "x_train": x_train}
    torch.manual_seed(0)
    start = ConvAutoencoder(latent_dim=2).state_dict()
    torch.manual_seed(0)
    exec(notebook_loop(), scope)  # noqa: S102 - the notebook's own cell
    from_notebook = scope["model"].state_dict()

    torch.manual_seed(0)
    model = ConvAutoencoder(latent_dim=2)
    history = fit(model, x_train, epochs=1, batch_size=128, lr=3e-3, recon="bce", seed=0, progress=False)

    for name, weights in model.state_dict().items():
        change, notebook_change = weights - start[name], from_notebook[name] - start[name]
        assert change.norm() > 0 and (notebook_change - change).norm() < 0.02 * change.norm(), name
    sizes = [min(128, len(x_train) - start) for start in range(0, len(x_train), 128)]
    mean_loss = sum(loss * size for loss, size in zip(scope["batch_losses"], sizes)) / len(x_train)
    assert abs(mean_loss - history["train_total"][0]) < 1e-3 * mean_loss
