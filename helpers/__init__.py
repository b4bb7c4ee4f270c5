"""Helpers for the autoencoder and VAE course: data, models, losses, training, plots, widgets and checks."""

from . import checks, config, data, losses, models, plots, train, widgets, zoo
from .config import FAST, pick, setup

__all__ = ["FAST", "checks", "config", "data", "losses", "models", "pick", "plots", "setup", "train", "widgets", "zoo"]
