"""Doodle test helpers: a tiny random VGG in place of the pretrained one, tiny inputs
(imported by the tests and by ``conftest.py``)."""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image

from artkit.nets.vgg import VGGConfig, VGGFeatures

RED, BLUE = (255, 0, 0), (0, 0, 255)


def tiny_vgg(pooling: str = "avg") -> VGGFeatures:
    """A VGG16 with 4–8 channels, initialised from a fixed seed (the global RNG untouched)."""
    with torch.random.fork_rng():
        torch.manual_seed(0)
        return VGGFeatures(VGGConfig(widths=(4, 6, 8, 8, 8), pooling=pooling)).eval().requires_grad_(False)


def write_inputs(folder, size=(64, 48)):
    """A two-region style painting, its map, and a doodle with the regions swapped."""
    w, h = size
    rng = np.random.default_rng(0)
    style = np.zeros((h, w, 3), np.uint8)
    style[:, : w // 2] = [200, 60, 40]
    style[:, w // 2:] = [30, 60, 200]
    style = np.clip(style + rng.integers(-30, 30, style.shape), 0, 255).astype(np.uint8)
    smap = np.zeros((h, w, 3), np.uint8)
    smap[:, : w // 2] = RED
    smap[:, w // 2:] = BLUE
    doodle = smap[:, ::-1].copy()
    Image.fromarray(style).save(folder / "paint.png")
    Image.fromarray(smap).save(folder / "paint_sem.png")
    Image.fromarray(doodle).save(folder / "doodle.png")
    return folder / "paint.png", folder / "paint_sem.png", folder / "doodle.png"
