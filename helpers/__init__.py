"""Helpers for the autoencoder and VAE course: data, models, losses, training, plots, widgets and checks.

``import helpers`` loads only :mod:`helpers.config` (``setup``, ``pick``, ``FAST``); every other module loads when a
notebook first uses it (``helpers.zoo.mnist()`` or ``from helpers import plots``), so that a notebook pays only for
what it uses.
"""

import importlib
from types import ModuleType

from .config import FAST, pick, setup

SUBMODULES = ("arithmetic", "batches", "checks", "config", "data", "diffusion", "disentanglement", "faces",
              "gradients", "instruments", "latent", "losses", "metrics", "models", "plots", "posterior", "shapes",
              "train", "widgets", "zoo")

__all__ = ["FAST", "pick", "setup", *SUBMODULES]


def __getattr__(name: str) -> ModuleType:
    """Import ``helpers.<name>`` on first use (PEP 562)."""
    if name in SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
