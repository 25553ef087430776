"""Chroma predicted small, luminance kept sharp: edge-aware upsampling and image resizing helpers.

Chroma from any method is computed at a working ("render") size and brought back to the photo's
full resolution with a fast guided filter (He, Sun & Tang 2010/2015): in every small window the
chroma is modelled as an affine function ``a·Y + b`` of the luminance, the coefficients are fitted
at the working size and upsampled, and applied to the full-resolution luminance. Colour edges then
follow the luminance edges of the full-size photo instead of the blurry bilinear ones, so colour
does not bleed across strong edges.

:func:`load_rgb` reads an input already shrunk (a JPEG is decoded at a reduced scale), for
inputs that are only needed small: references, evaluation photos.
"""

from __future__ import annotations

import os

import torch
import torch.nn.functional as F
from PIL import Image

from artkit.core.images import ImageLike, as_tensor, load_image


def box(x: torch.Tensor, r: int) -> torch.Tensor:
    """Mean over (2r+1)² windows, borders handled by counting only in-image pixels.

    Args:
        x: (B, C, H, W).
        r: window radius.
    """
    k = 2 * r + 1
    ones = torch.ones_like(x[:, :1])
    s = F.avg_pool2d(F.pad(x, (r, r, r, r)), k, stride=1)  # zero padding
    n = F.avg_pool2d(F.pad(ones, (r, r, r, r)), k, stride=1)
    return s / n


def resize(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Resize (B, C, H, W) to ``size`` = (H, W): area when shrinking, bilinear when growing."""
    if tuple(x.shape[-2:]) == tuple(size):
        return x
    if size[0] <= x.shape[-2] and size[1] <= x.shape[-1]:
        return F.interpolate(x, size=size, mode="area")
    return F.interpolate(x, size=size, mode="bilinear", align_corners=False)


def working_size(h: int, w: int, render_size: int, multiple: int = 1) -> tuple[int, int]:
    """The (H, W) at which chroma is computed: the long side at most ``render_size``, aspect kept,
    both sides rounded to a ``multiple`` (at least one multiple)."""
    scale = min(1.0, render_size / max(h, w))
    hh = max(multiple, int(round(h * scale / multiple)) * multiple)
    ww = max(multiple, int(round(w * scale / multiple)) * multiple)
    return hh, ww


def guided_upsample(chroma: torch.Tensor, guide_full: torch.Tensor, radius: int = 2,
                    eps: float = 1e-3) -> torch.Tensor:
    """Upsample chroma to the guide's size, its edges snapped to the guide's edges.

    Args:
        chroma: (B, C, h, w) chroma at the working size.
        guide_full: (B, 1, H, W) full-resolution luminance in [0, 1].
        radius: window radius at the working size.
        eps: regularisation; larger values fall back to plain smoothing in flat regions.

    Returns:
        (B, C, H, W) chroma.
    """
    H, W = guide_full.shape[-2:]
    h, w = chroma.shape[-2:]
    if (h, w) == (H, W):
        guide = guide_full
    else:
        guide = resize(guide_full, (h, w))  # (B, 1, h, w)
    mean_i = box(guide, radius)
    mean_p = box(chroma, radius)
    cov_ip = box(guide * chroma, radius) - mean_i * mean_p
    var_i = box(guide * guide, radius) - mean_i * mean_i
    a = cov_ip / (var_i + eps)  # (B, C, h, w)
    b = mean_p - a * mean_i
    a, b = box(a, radius), box(b, radius)
    if (h, w) != (H, W):
        a = F.interpolate(a, size=(H, W), mode="bilinear", align_corners=False)
        b = F.interpolate(b, size=(H, W), mode="bilinear", align_corners=False)
    return a * guide_full + b


def load_rgb(image: ImageLike, what: str = "image", max_side: int | None = None) -> torch.Tensor:
    """An image-like input as (1, 3, H, W) RGB in [0, 1]; a file is shrunk while it is decoded
    (JPEG draft mode) so its long side is at most ``max_side``."""
    if isinstance(image, (str, os.PathLike)) and max_side is not None:
        im = load_image(image, "RGB")
        if max(im.size) > max_side:
            im.thumbnail((max_side, max_side), Image.Resampling.BILINEAR, reducing_gap=2.0)
        return as_tensor(im, what=what)
    return as_tensor(image, what=what)
