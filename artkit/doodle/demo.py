"""A self-contained demo scene: a "painting" made of the textures that ship with scikit-image,
its semantic map, and a doodle of a little landscape to paint with them.

Nothing here needs files beside the package, so ``artkit doodle demo`` works on a fresh install.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

SKY, GRASS, BRICK, GRAVEL = (0, 0, 255), (0, 255, 0), (255, 0, 0), (255, 255, 0)


def _tint(gray: np.ndarray, dark: tuple[int, int, int], light: tuple[int, int, int]) -> np.ndarray:
    """Map a grey texture onto a colour ramp from ``dark`` to ``light``."""
    g = (gray.astype(np.float32) - gray.min()) / max(1.0, float(np.ptp(gray)))
    d, l = np.array(dark, np.float32), np.array(light, np.float32)
    return (d + g[..., None] * (l - d)).clip(0, 255).astype(np.uint8)


def style_scene(size: tuple[int, int] = (384, 288)) -> tuple[Image.Image, Image.Image]:
    """The style "painting" (four tinted textures in quadrants) and its semantic map."""
    from skimage import data

    w, h = size
    hw, hh = w // 2, h // 2
    sky_src = np.asarray(Image.fromarray(data.grass()).filter(ImageFilter.GaussianBlur(6)))
    tiles = {
        SKY: _tint(sky_src, (70, 110, 190), (200, 220, 245)),
        GRASS: _tint(data.grass(), (30, 70, 20), (150, 200, 80)),
        BRICK: _tint(data.brick(), (90, 30, 20), (220, 120, 80)),
        GRAVEL: _tint(data.gravel(), (60, 55, 50), (210, 200, 180)),
    }
    style = np.zeros((h, w, 3), np.uint8)
    smap = np.zeros((h, w, 3), np.uint8)
    for (colour, tex), (y, x) in zip(tiles.items(), [(0, 0), (0, hw), (hh, 0), (hh, hw)]):
        style[y:y + hh, x:x + hw] = tex[:hh, :hw]
        smap[y:y + hh, x:x + hw] = colour
    return Image.fromarray(style), Image.fromarray(smap)


def doodle_scene(size: tuple[int, int] = (384, 288)) -> Image.Image:
    """A doodle: sky, a grass hill, a brick house and a gravel path."""
    w, h = size
    im = Image.new("RGB", size, SKY)
    draw = ImageDraw.Draw(im)
    draw.polygon([(0, h * 0.55), (w * 0.5, h * 0.45), (w, h * 0.6), (w, h), (0, h)], fill=GRASS)
    draw.rectangle([w * 0.55, h * 0.3, w * 0.85, h * 0.62], fill=BRICK)
    draw.polygon([(w * 0.52, h * 0.3), (w * 0.7, h * 0.12), (w * 0.88, h * 0.3)], fill=BRICK)
    draw.polygon([(w * 0.62, h * 0.62), (w * 0.72, h * 0.62), (w * 0.55, h), (w * 0.25, h)], fill=GRAVEL)
    return im
