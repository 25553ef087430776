"""Doodle styles for the studio: the bundled ones, uploaded pairs, and their palettes.

A style is a painting and its semantic map. The doodle canvas paints with the map's region
colours only, and each swatch shows, beside the region colour, the painting's average colour in
that region — so a person sees that blue is the sky and yellow the gravel before painting.

Bundled styles are drawn from the textures that ship with scikit-image
(:mod:`artkit.doodle.demo`), so they need no file beside the package; they are written once into
the work folder (``styles/<name>/``) and read from there.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from artkit.core.errors import ArtkitError
from artkit.core.files import atomic_path
from artkit.doodle.demo import doodle_scene, style_scene
from artkit.doodle.maps import labels_image, prepare_maps
from artkit.studio.workspace import check_image

# name → (size of the painting, what it is)
BUNDLED: dict[str, tuple[tuple[int, int], str]] = {
    "textures": ((384, 288), "sky, grass, brick and gravel textures from scikit-image (384×288)"),
    "textures-small": ((96, 72), "the same four textures at 96×72: paintings in a few seconds"),
}
MAX_STYLE_PIXELS = 1024 * 1024  # a style painting larger than this only costs memory


@dataclass
class Style:
    """A style painting, its map, and the map's palette.

    Args:
        name: the bundled name, or ``"uploaded"``.
        painting: the painting's file.
        style_map: the semantic map's file.
        palette: (K, 3) uint8 region colours, most frequent first.
        means: (K, 3) uint8 average painting colour of each region.
        size: (W, H) of the painting.
        shares: the fraction of the painting each region covers.
    """

    name: str
    painting: Path
    style_map: Path
    palette: np.ndarray
    means: np.ndarray
    size: tuple[int, int]
    shares: tuple[float, ...] = ()

    @property
    def colours(self) -> list[str]:
        """The region colours as ``#rrggbb``, the canvas's palette."""
        return [hex_colour(c) for c in self.palette]

    def swatches(self) -> list[tuple[str, str, float]]:
        """(region colour, painting's average colour there, share of the painting) per region."""
        return [(hex_colour(c), hex_colour(m), float(s))
                for c, m, s in zip(self.palette, self.means, self.shares)]

    def blank(self, size: tuple[int, int] | None = None, region: int = 0) -> Image.Image:
        """A canvas filled with one region's colour."""
        return Image.new("RGB", size or self.size, tuple(int(v) for v in self.palette[region]))

    def map_canvas(self, size: tuple[int, int] | None = None) -> Image.Image:
        """The style's own map, snapped to its palette (a doodle to start from)."""
        with Image.open(self.style_map) as im:
            m = prepare_maps(self.size, im.copy())
        canvas = labels_image(m.style_labels, m.palette)
        return canvas if size is None else canvas.resize(size, Image.Resampling.NEAREST)


def canvas_size(style: Style, longest: int = 512) -> tuple[int, int]:
    """The doodle canvas for a style: the painting's size, its long side at most ``longest``
    (the painting is made at the doodle's size)."""
    w, h = style.size
    k = min(1.0, longest / max(w, h))
    return max(16, round(w * k)), max(16, round(h * k))


def hex_colour(c) -> str:
    return "#%02x%02x%02x" % tuple(int(v) for v in c)


def analyse(name: str, painting: str | os.PathLike, style_map: str | os.PathLike) -> Style:
    """Read a painting and its map (checked like uploads) and find the regions' colours.

    Raises:
        ArtkitError: unreadable files, a map of one colour only.
    """
    paint = check_image(painting, "style painting", max_pixels=MAX_STYLE_PIXELS)
    smap = check_image(style_map, "style map", max_pixels=MAX_STYLE_PIXELS)
    maps = prepare_maps(paint.size, smap)
    if maps.regions < 2:
        raise ArtkitError("the style map has one colour only",
                          "paint each region of the painting (sky, sea, rock…) in its own flat "
                          "colour")
    rgb = np.asarray(paint, dtype=np.float64).reshape(-1, 3)
    labels = maps.style_labels.reshape(-1)
    means, shares = [], []
    for k in range(maps.regions):
        sel = labels == k
        means.append(rgb[sel].mean(0) if sel.any() else np.zeros(3))
        shares.append(float(sel.mean()))
    return Style(name, Path(painting), Path(style_map), maps.palette,
                 np.clip(np.round(means), 0, 255).astype(np.uint8), paint.size, tuple(shares))


def bundled(name: str, folder: str | os.PathLike) -> Style:
    """A bundled style, drawn into ``folder/<name>/`` on first use.

    Raises:
        ArtkitError: unknown name.
    """
    if name not in BUNDLED:
        raise ArtkitError(f"unknown style '{name}'", f"bundled styles: {', '.join(BUNDLED)}")
    size, _ = BUNDLED[name]
    target = Path(folder) / name
    painting, smap = target / "style.png", target / "style_sem.png"
    if not (painting.is_file() and smap.is_file()):
        target.mkdir(parents=True, exist_ok=True)
        style, style_map = style_scene(size)
        for im, path in ((style, painting), (style_map, smap)):
            with atomic_path(path, force=True) as tmp:
                im.save(tmp, "PNG")
    return analyse(name, painting, smap)


def example_doodle(style: Style) -> Image.Image:
    """The demo's landscape doodle (sky, hill, house, path) at the style's size, for the
    bundled styles; the style's own map for others."""
    size = canvas_size(style)
    if style.name in BUNDLED:
        return doodle_scene(size)
    return style.map_canvas(size)
