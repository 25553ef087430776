"""Semantic maps: find a style map's region colours, snap anti-aliased maps to them, one-hot them.

A semantic map paints each region (sky, sea, rock...) in one flat colour. Real maps are often
anti-aliased (hundreds of in-between colours), saved as RGBA/L/P, or sized unlike their image;
this module turns any of those into integer label images over the style map's palette, and
refuses doodles that use colours the style map does not have.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from artkit.core.errors import ArtkitError

MIN_FRACTION = 0.002   # a colour covering less of the style map than this is edge noise
MERGE_DISTANCE = 48.0  # RGB distance under which two major colours are the same region
MISMATCH_DISTANCE = 90.0  # a doodle colour farther than this from every region is an error


@dataclass
class SemanticMaps:
    """Label images over one palette of region colours.

    Args:
        palette: (K, 3) uint8 region colours, taken from the style map.
        style_labels: (H_s, W_s) int64 region index of every style pixel.
        target_labels: (H_t, W_t) int64 region index of every output pixel, or ``None``.
        notes: what was adjusted on the way (resizes, colour snapping), for the user.
    """

    palette: np.ndarray
    style_labels: np.ndarray
    target_labels: np.ndarray | None
    notes: list[str] = field(default_factory=list)

    @property
    def regions(self) -> int:
        return len(self.palette)


def _rgb(im: Image.Image) -> np.ndarray:
    if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
        rgba = im.convert("RGBA")
        base = Image.new("RGBA", rgba.size, (0, 0, 0, 255))
        im = Image.alpha_composite(base, rgba)
    return np.asarray(im.convert("RGB"), dtype=np.uint8)


def extract_palette(rgb: np.ndarray, min_fraction: float = MIN_FRACTION,
                    merge_distance: float = MERGE_DISTANCE) -> np.ndarray:
    """The region colours of a map: frequent colours, near-duplicates merged.

    Args:
        rgb: (H, W, 3) uint8 map.

    Returns:
        (K, 3) uint8 colours, most frequent first.
    """
    colours, counts = np.unique(rgb.reshape(-1, 3), axis=0, return_counts=True)
    order = np.argsort(-counts)
    colours, counts = colours[order].astype(np.float64), counts[order]
    keep: list[np.ndarray] = []
    for c, n in zip(colours, counts):
        if n < min_fraction * rgb.shape[0] * rgb.shape[1]:
            break
        if all(np.linalg.norm(c - k) > merge_distance for k in keep):
            keep.append(c)
    if not keep:
        keep = [colours[0]]
    return np.array(keep, dtype=np.uint8)


def snap(rgb: np.ndarray, palette: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Assign each pixel to its nearest palette colour; returns (labels, distances)."""
    flat = rgb.reshape(-1, 3).astype(np.float32)
    pal = palette.astype(np.float32)
    d2 = ((flat[:, None, :] - pal[None, :, :]) ** 2).sum(-1)  # (N, K)
    labels = d2.argmin(1)
    dist = np.sqrt(d2[np.arange(len(flat)), labels])
    return labels.reshape(rgb.shape[:2]).astype(np.int64), dist.reshape(rgb.shape[:2])


def prepare_maps(style_size: tuple[int, int], style_map: Image.Image,
                 target_map: Image.Image | None = None,
                 target_size: tuple[int, int] | None = None) -> SemanticMaps:
    """Snap a style map (and a doodle) onto the style map's region colours.

    Args:
        style_size: (W, H) of the style image; the style map is resized to it (nearest).
        style_map: the style image's semantic map (any mode, anti-aliasing allowed).
        target_map: the doodle; resized to ``target_size`` when given.
        target_size: (W, H) of the output.

    Raises:
        ArtkitError: the doodle uses a colour that no region of the style map has.
    """
    notes: list[str] = []
    if style_map.size != tuple(style_size):
        notes.append(f"style map resized from {style_map.size[0]}x{style_map.size[1]} to "
                     f"{style_size[0]}x{style_size[1]} to match the style image")
        style_map = style_map.resize(tuple(style_size), Image.Resampling.NEAREST)
    srgb = _rgb(style_map)
    palette = extract_palette(srgb)
    style_labels, _ = snap(srgb, palette)
    target_labels = None
    if target_map is not None:
        if target_size is not None and target_map.size != tuple(target_size):
            notes.append(f"doodle resized from {target_map.size[0]}x{target_map.size[1]} to "
                         f"{target_size[0]}x{target_size[1]}")
            target_map = target_map.resize(tuple(target_size), Image.Resampling.NEAREST)
        trgb = _rgb(target_map)
        _check_doodle_colours(trgb, palette)
        target_labels, _ = snap(trgb, palette)
        missing = sorted(set(range(len(palette))) - set(np.unique(target_labels).tolist()))
        if missing:
            notes.append("style regions not used by the doodle: "
                         + ", ".join(_hex(palette[i]) for i in missing))
    if len(palette) > 1:
        notes.append(f"{len(palette)} regions: " + ", ".join(_hex(c) for c in palette))
    return SemanticMaps(palette, style_labels, target_labels, notes)


def _check_doodle_colours(trgb: np.ndarray, palette: np.ndarray) -> None:
    doodle_palette = extract_palette(trgb)
    pal = palette.astype(np.float64)
    bad = [c for c in doodle_palette
           if np.min(np.linalg.norm(pal - c.astype(np.float64), axis=1)) > MISMATCH_DISTANCE]
    if bad:
        raise ArtkitError(
            "doodle colour(s) " + ", ".join(_hex(c) for c in bad)
            + " match no region of the style map",
            "paint the doodle with the style map's colours: " + ", ".join(_hex(c) for c in palette))


def _hex(c) -> str:
    return "#%02x%02x%02x" % tuple(int(v) for v in c)


def onehot(labels: np.ndarray | torch.Tensor, regions: int) -> torch.Tensor:
    """(H, W) labels → (1, K, H, W) float32 one-hot channels."""
    t = torch.as_tensor(labels, dtype=torch.long)
    return F.one_hot(t, regions).permute(2, 0, 1).unsqueeze(0).float()


def labels_image(labels: np.ndarray, palette: np.ndarray) -> Image.Image:
    """Render labels back as a flat-colour map (for previews and the gallery)."""
    return Image.fromarray(palette[labels], "RGB")
