"""Small inputs for the colorize tests: tiny models and synthetic photos."""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image

from artkit.color.model import ColorModel, ColorModelConfig


def tiny_model(path, seed: int = 0, loss: str = "classification"):
    """Write a tiny colouriser (random, fixed by ``seed``) to ``path``; returns the path."""
    config = ColorModelConfig(backbone="tiny", dim=8, loss=loss)
    ColorModel(config, generator=torch.Generator().manual_seed(seed)).save(path, force=True)
    return path


def gray_photo(path, size=(40, 32)):
    """A gray gradient photo (W, H = ``size``)."""
    arr = np.tile(np.linspace(30, 220, size[0]), (size[1], 1)).astype(np.uint8)
    Image.fromarray(arr, "L").save(path)
    return path


def colour_photo(path, size=(40, 32), seed: int = 0, shade: int = 0):
    """A two-colour photo: red-orange left half, blue right half, a little noise."""
    rng = np.random.default_rng(seed)
    arr = np.zeros((size[1], size[0], 3), np.uint8)
    arr[:, : size[0] // 2] = (200, 40 + shade, 30)
    arr[:, size[0] // 2:] = (30, 60, 200)
    arr = np.clip(arr + rng.integers(0, 20, arr.shape), 0, 255).astype(np.uint8)
    Image.fromarray(arr).save(path)
    return path
