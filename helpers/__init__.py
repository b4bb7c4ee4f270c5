"""Helpers for the autoencoder and VAE course: data, models, losses, training, plots, widgets and checks."""

from . import checks, config, losses, models, train
from .config import FAST, pick, setup

__all__ = ["FAST", "checks", "config", "losses", "models", "pick", "setup", "train"]
