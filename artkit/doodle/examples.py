"""Style paintings to start from, their region colours, and blank canvases to doodle on.

A doodle is only as good as its colours: each must be one of the style map's region colours.
This module lists the styles a user can start from and writes a *blank canvas* for one of
them: an indexed (palette) PNG whose palette holds exactly the style map's region colours, so a
paint program offers those and no others, filled with the style's largest region.

What ships:

* ``demo`` — a "painting" made of four textures that ship with scikit-image (grass, brick and
  gravel photographs, blurred grass as sky), tinted, with its map: sky, grass, brick, gravel.
  Generated on the fly (:mod:`artkit.doodle.demo`), so it needs no file and its licence is
  scikit-image's (BSD-3-Clause data).

What does not ship, and why: neural-doodle's paintings and maps (Monet, Van Gogh, Mia). The
maps are that project's own drawings, distributed under its AGPL-3.0 licence, which an
MIT-licensed package cannot absorb, and the painting scans carry no recorded licence. When
``ARTKIT_DATA`` points at a folder holding ``doodle/<Name>.jpg`` and ``doodle/<Name>_sem.png``,
those pairs are listed too (as references on this machine, read from there).

Example:
    >>> demo = get_example("demo")
    >>> [meaning for _, meaning in demo.regions]
    ['sky', 'grass', 'brick', 'gravel']
    >>> blank_canvas(demo, (64, 48)).mode
    'P'
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from artkit.core.errors import ArtkitError
from artkit.core.images import as_image
from artkit.doodle.demo import BRICK, GRASS, GRAVEL, SKY, doodle_scene, style_scene
from artkit.doodle.maps import find_regions, hex_colour

DEMO_SIZE = (384, 288)


@dataclass
class Example:
    """One style to start from.

    Args:
        name: how commands name it.
        regions: (``"#rrggbb"``, meaning) of every region, largest first.
        size: (W, H) of the style painting.
        source: where the painting and its map come from.
        style_path, map_path: the files (``None`` for a generated example).
    """

    name: str
    regions: list[tuple[str, str]]
    size: tuple[int, int]
    source: str
    style_path: Path | None = None
    map_path: Path | None = None

    def images(self, size: tuple[int, int] | None = None) -> tuple[Image.Image, Image.Image]:
        """The style painting and its map (the demo scene at ``size``, default 384x288)."""
        if self.style_path is None:
            return style_scene(size or DEMO_SIZE)
        return as_image(self.style_path, "RGB"), as_image(self.map_path, "RGB")

    def doodle(self, size: tuple[int, int] | None = None) -> Image.Image:
        """A doodle to go with it (the demo's landscape)."""
        if self.name != "demo":
            raise ArtkitError(f"example '{self.name}' has no doodle", "paint one on a blank canvas")
        return doodle_scene(size or DEMO_SIZE)

    def to_dict(self) -> dict:
        return {"name": self.name, "size": list(self.size), "source": self.source,
                "regions": [{"colour": c, "meaning": m} for c, m in self.regions],
                "style": None if self.style_path is None else str(self.style_path),
                "map": None if self.map_path is None else str(self.map_path)}


def _demo() -> Example:
    regions = [(hex_colour(SKY), "sky"), (hex_colour(GRASS), "grass"),
               (hex_colour(BRICK), "brick"), (hex_colour(GRAVEL), "gravel")]
    return Example("demo", regions, DEMO_SIZE,
                   "bundled: scikit-image textures (`artkit doodle demo` writes the files)")


def _reference_examples() -> list[Example]:
    """Painting/map pairs in ``$ARTKIT_DATA/doodle`` (none when it is unset)."""
    root = os.environ.get("ARTKIT_DATA")
    folder = Path(root).expanduser() / "doodle" if root else None
    if folder is None or not folder.is_dir():
        return []
    found = []
    for smap in sorted(folder.glob("*_sem.png")):
        style = next((smap.with_name(smap.name[:-8] + ext) for ext in (".jpg", ".png", ".jpeg")
                      if smap.with_name(smap.name[:-8] + ext).is_file()), None)
        if style is None:
            continue
        regions = find_regions(np.asarray(as_image(smap, "RGB")))
        shares = np.bincount(regions.labels.ravel(), minlength=len(regions.palette))
        order = np.argsort(-shares, kind="stable")
        found.append(Example(style.stem.lower(),
                             [(hex_colour(regions.palette[i]), _share(shares[i] / shares.sum()))
                              for i in order],
                             as_image(style, "RGB").size, f"ARTKIT_DATA: {style.name}, {smap.name}",
                             style, smap))
    return found


def _share(f: float) -> str:
    return f"{100 * f:.0f}%" if f >= 0.01 else f"{100 * f:.1f}%"  # no meaning known: its share


def list_examples() -> list[Example]:
    """Every example: the bundled demo, then ``$ARTKIT_DATA/doodle``'s pairs."""
    return [_demo(), *_reference_examples()]


def get_example(name: str) -> Example:
    """The example called ``name``.

    Raises:
        ArtkitError: no such example (the message lists them).
    """
    examples = list_examples()
    for e in examples:
        if e.name == name.lower():
            return e
    raise ArtkitError(f"no doodle example '{name}'",
                      f"known: {', '.join(e.name for e in examples)}")


def blank_canvas(example: Example, size: tuple[int, int]) -> Image.Image:
    """An indexed image of ``size`` (W, H) whose palette is the example's region colours,
    filled with the first (largest) region.

    Raises:
        ArtkitError: a size outside 16–4096 px a side.
    """
    w, h = size
    if min(w, h) < 16 or max(w, h) > 4096:
        raise ArtkitError(f"canvas size {w}x{h} is out of range", "use 16x16 to 4096x4096")
    colours = [bytes.fromhex(c[1:]) for c, _ in example.regions]
    canvas = Image.new("P", (w, h), 0)
    canvas.putpalette(b"".join(colours))
    return canvas
