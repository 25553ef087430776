"""Turning attributions into pictures: heatmaps, signal images, overlays and method grids."""

from __future__ import annotations

import io

import numpy as np
import torch
from PIL import Image

from artkit.explain.attribute import get_method
from artkit.explain.methods import signal_methods

SIGNAL_METHODS = signal_methods()  # snapshot of the registry: drawn as an image of the signal


def _robust_max(a: np.ndarray, q: float = 99.5) -> float:
    m = float(np.percentile(np.abs(a), q)) if a.size else 0.0
    return m if m > 0 else (float(np.abs(a).max()) or 1.0)


def signed_map(attr: torch.Tensor) -> np.ndarray:
    """(C, H, W) attribution -> (H, W) channel sum scaled to [-1, 1] (99.5th percentile)."""
    a = attr.detach().float().sum(0).cpu().numpy()
    return np.clip(a / _robust_max(a), -1.0, 1.0)


def heatmap(attr: torch.Tensor, signed: bool = True) -> Image.Image:
    """A heatmap: red for positive evidence, blue for negative, white for none (``signed``),
    or black-to-yellow magnitude (``signed=False``)."""
    import matplotlib

    m = signed_map(attr)
    if signed:
        rgba = matplotlib.colormaps["bwr"]((m + 1) / 2)
    else:
        rgba = matplotlib.colormaps["inferno"](np.abs(m))
    return Image.fromarray((rgba[..., :3] * 255).astype(np.uint8))


def signal_image(attr: torch.Tensor) -> Image.Image:
    """PatternNet's signal as a picture: each channel centred on grey, scaled together."""
    a = attr.detach().float().cpu().numpy()  # (C, H, W)
    a = a - a.mean(axis=(1, 2), keepdims=True)
    a = np.clip(a / (2 * _robust_max(a)) + 0.5, 0, 1)
    if a.shape[0] == 1:
        a = np.repeat(a, 3, axis=0)
    return Image.fromarray((a.transpose(1, 2, 0) * 255).astype(np.uint8))


def overlay(photo: Image.Image, attr: torch.Tensor, alpha: float = 0.6) -> Image.Image:
    """The heatmap over a grey version of ``photo`` (resized to the attribution's size)."""
    m = signed_map(attr)
    h, w = m.shape
    base = np.asarray(photo.convert("L").resize((w, h), Image.Resampling.BICUBIC), np.float32) / 255.0
    base = np.repeat(base[..., None] * 0.8 + 0.1, 3, axis=2)
    red = np.array([0.85, 0.1, 0.1], np.float32)
    blue = np.array([0.1, 0.3, 0.9], np.float32)
    strength = (np.abs(m) * alpha)[..., None]
    colour = np.where(m[..., None] >= 0, red, blue)
    out = base * (1 - strength) + colour * strength
    return Image.fromarray((np.clip(out, 0, 1) * 255).astype(np.uint8))


def render(method: str, attr: torch.Tensor) -> Image.Image:
    """The natural picture of one method's result, as its registry entry says."""
    if get_method(method).render == "signal":
        return signal_image(attr)
    return heatmap(attr, signed=True)


def grid(photo: Image.Image, results: dict[str, torch.Tensor], title: str = "",
         cell: int = 224) -> Image.Image:
    """One figure: the photo, then each method's picture, side by side, with names.

    Each panel is drawn at ``cell`` pixels or more per side with nearest-neighbour resampling at
    an integer factor, so a fine pattern in a map is never resampled into a false seam.
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    n = len(results) + 1
    size = next(iter(results.values())).shape[-1] if results else cell
    dpi = 100
    side = max(cell, size) / dpi  # inches per panel: at least one figure pixel per map pixel
    fig, axes = plt.subplots(1, n, figsize=(side * n, side + 0.45), dpi=dpi)
    axes = np.atleast_1d(axes)
    axes[0].imshow(photo.convert("RGB").resize((size, size), Image.Resampling.BICUBIC))
    axes[0].set_title("input", fontsize=9)
    for ax, (method, attr) in zip(axes[1:], results.items()):
        pic = render(method, attr)
        up = max(1, -(-cell // pic.width))
        ax.imshow(pic.resize((pic.width * up, pic.height * up), Image.Resampling.NEAREST),
                  interpolation="antialiased")
        ax.set_title(method, fontsize=9)
    for ax in axes:
        ax.axis("off")
    if title:
        fig.suptitle(title, fontsize=10)
    return figure_image(fig)


def figure_image(fig) -> Image.Image:
    """A matplotlib figure, laid out tightly, as an RGB image (the figure is closed)."""
    import matplotlib.pyplot as plt

    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    buf.seek(0)
    return Image.open(buf).convert("RGB")
