"""Semantic maps as people draw them: find the regions, snap the anti-aliasing, one-hot them.

A semantic map paints each region (sky, sea, rock...) in one flat colour. Maps drawn in a paint
program are not that clean: edges are anti-aliased (a seam of in-between colours where green
meets blue, #008080 exactly midway), JPEG adds blocky ringing, resizing with bilinear filtering
blends every edge, palette PNGs and alpha channels come along. This module reads such maps the
way their author meant them, by three rules:

1. **A region is a real area.** Colours closer than ``CLUSTER_DISTANCE`` are one colour (JPEG
   noise, mild blending). A colour is a region only if it covers a solid connected blob: some
   piece of it still holds ``MIN_BLOB`` pixels after eroding it by a (2·``BLOB_RADIUS``+1)²
   square. Seams of 1–4 px, ringing and scattered pixels hold no such blob, whatever their
   share of the image.
2. **Everything else is anti-aliasing.** Those pixels take the region of a neighbour, growing
   inwards from the regions around them one pixel per round; among the neighbouring regions a
   pixel takes the one whose colour is nearest its own (a pixel a quarter of the way from green
   to blue is green), so a seam splits between the regions it separates.
3. **A doodle speaks the style map's colours.** Each doodle colour within ``MATCH_DISTANCE`` of
   a style region colour is that region; seams are snapped by rule 2; a real blob of any other
   colour is a region the style map does not have — an error that says where it is (bounding
   box, share of the doodle) and which colours to use.

The style map follows rules 1–2, so its own seams never become phantom regions.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from scipy import ndimage

from artkit.core.errors import ArtkitError

CLUSTER_DISTANCE = 48.0   # RGB distance under which two colours are the same region colour
MATCH_DISTANCE = 90.0     # a doodle colour this close to a style region colour is that region
BLOB_RADIUS = 2           # a region holds squares of (2·radius + 1)² pixels of its colour...
MIN_BLOB = 16             # ...covering at least this many pixels in one connected piece
MIN_SEED = 4              # colours seen fewer times than this never start a cluster
MAX_REGIONS = 64          # more distinct colour areas than this: not a map
GROW_ROUNDS = 16          # colour-aware growing rounds before the nearest region decides


def hex_colour(c) -> str:
    """(r, g, b) → ``"#rrggbb"``."""
    return "#%02x%02x%02x" % tuple(int(v) for v in c)


@dataclass
class Regions:
    """The regions of one map.

    Args:
        palette: (K, 3) uint8 region colours.
        labels: (H, W) int64 region of every pixel.
        snapped: pixels whose colour was no region's (anti-aliasing) and took a neighbour's.
    """

    palette: np.ndarray
    labels: np.ndarray
    snapped: int = 0


@dataclass
class SemanticMaps:
    """Label images over one palette of region colours.

    Args:
        palette: (K, 3) uint8 region colours, taken from the style map.
        style_labels: (H_s, W_s) int64 region index of every style pixel.
        target_labels: (H_t, W_t) int64 region index of every output pixel, or ``None``.
        notes: what was adjusted on the way (resizes, snapped seams), for the user.
    """

    palette: np.ndarray
    style_labels: np.ndarray
    target_labels: np.ndarray | None
    notes: list[str] = field(default_factory=list)

    @property
    def regions(self) -> int:
        return len(self.palette)


# ----------------------------------------------------------------------------------- reading


def map_rgb(im: Image.Image) -> np.ndarray:
    """Any PIL map → (H, W, 3) uint8; transparent parts become black."""
    if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
        rgba = im.convert("RGBA")
        base = Image.new("RGBA", rgba.size, (0, 0, 0, 255))
        im = Image.alpha_composite(base, rgba)
    return np.asarray(im.convert("RGB"), dtype=np.uint8)


def _clusters(rgb: np.ndarray, what: str) -> tuple[np.ndarray, np.ndarray]:
    """Group the map's colours: (C, 3) cluster colours (each its most frequent exact colour)
    and (H, W) cluster ids, −1 for colours near no cluster."""
    packed = (rgb[..., 0].astype(np.int64) << 16) | (rgb[..., 1].astype(np.int64) << 8) | rgb[..., 2]
    uniq, inverse, counts = np.unique(packed.ravel(), return_inverse=True, return_counts=True)
    colours = np.stack([(uniq >> 16) & 255, (uniq >> 8) & 255, uniq & 255], 1).astype(np.float32)
    centres: list[np.ndarray] = []
    for i in np.argsort(-counts, kind="stable"):
        if counts[i] < MIN_SEED:
            break
        if not centres or np.min(((np.array(centres) - colours[i]) ** 2).sum(1)) > CLUSTER_DISTANCE ** 2:
            centres.append(colours[i])
            if len(centres) > 4 * MAX_REGIONS:
                raise ArtkitError(f"the {what} has too many colours to be a map of regions",
                                  "paint each region in one flat colour")
    cent = np.array(centres or [colours[np.argmax(counts)]], dtype=np.float32)
    assign = np.empty(len(colours), np.int64)
    for start in range(0, len(colours), 1 << 16):  # (chunk, C) distances at a time
        part = colours[start:start + (1 << 16)]
        d2 = ((part[:, None, :] - cent[None, :, :]) ** 2).sum(-1)
        nearest = d2.argmin(1)
        ok = d2[np.arange(len(part)), nearest] <= CLUSTER_DISTANCE ** 2
        assign[start:start + len(part)] = np.where(ok, nearest, -1)
    return cent, assign[inverse.ravel()].reshape(rgb.shape[:2])


def _blobs(ids: np.ndarray, count: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Solid pieces of every cluster: the pixels left after eroding each cluster by a
    (2·``BLOB_RADIUS``+1)² square, cut into 8-connected pieces. Returns the size of every
    cluster's largest piece (C,), the piece of every pixel (H, W; 0 = none) and every piece's
    cluster (pieces + 1,)."""
    size = 2 * BLOB_RADIUS + 1
    interior = (ndimage.maximum_filter(ids, size=size, mode="nearest")
                == ndimage.minimum_filter(ids, size=size, mode="nearest")) & (ids >= 0)
    pieces, n = ndimage.label(interior, structure=np.ones((3, 3), bool))
    flat = pieces.ravel()
    found, first = np.unique(flat, return_index=True)
    owner = np.full(n + 1, -1, np.int64)
    owner[found] = ids.ravel()[first]
    sizes = np.bincount(flat, minlength=n + 1)
    best = np.zeros(count, np.int64)
    real = np.arange(1, n + 1)
    np.maximum.at(best, owner[real], sizes[real])
    return best, pieces, owner


def _grow(labels: np.ndarray, rgb: np.ndarray, palette: np.ndarray) -> int:
    """Give every unlabelled pixel (−1) a neighbour's region, in place: rounds of growth from
    the labelled pixels, each pixel taking, among its labelled 8-neighbours, the region whose
    colour is nearest its own; after ``GROW_ROUNDS`` rounds the spatially nearest region.
    Returns the number of pixels labelled."""
    h, w = labels.shape
    flat = labels.ravel()
    todo = np.flatnonzero(flat < 0)
    total = todo.size
    if total == 0:
        return 0
    if total == flat.size:
        raise ArtkitError("the map has no region: no colour covers a solid area",
                          "paint each region in one flat colour")
    pal = palette.astype(np.float32)
    colours = rgb.reshape(-1, 3)[todo].astype(np.float32)
    ys, xs = np.divmod(todo, w)
    steps = [(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1) if dy or dx]
    for _ in range(GROW_ROUNDS):
        best = np.full(todo.size, np.inf, np.float32)
        pick = np.full(todo.size, -1, np.int64)
        for dy, dx in steps:
            ny, nx = ys + dy, xs + dx
            ok = (ny >= 0) & (ny < h) & (nx >= 0) & (nx < w)
            nb = np.full(todo.size, -1, np.int64)
            nb[ok] = flat[ny[ok] * w + nx[ok]]
            has = np.flatnonzero(nb >= 0)
            d = ((colours[has] - pal[nb[has]]) ** 2).sum(1)
            better = d < best[has]
            best[has[better]], pick[has[better]] = d[better], nb[has[better]]
        done = pick >= 0
        flat[todo[done]] = pick[done]  # all of this round's pixels at once
        keep = ~done
        todo, ys, xs, colours = todo[keep], ys[keep], xs[keep], colours[keep]
        if todo.size == 0:
            return total
    _, (iy, ix) = ndimage.distance_transform_edt(labels < 0, return_indices=True)
    flat[todo] = labels[iy.ravel()[todo], ix.ravel()[todo]]
    return total


def find_regions(rgb: np.ndarray, palette: np.ndarray | None = None, what: str = "map") -> Regions:
    """The regions of a map (see the module docstring for the rules).

    Args:
        rgb: (H, W, 3) uint8 map.
        palette: (K, 3) region colours the map must use (a doodle: the style map's), or
            ``None`` when the map defines its own regions (a style map).
        what: how messages name the map.

    Raises:
        ArtkitError: a real region of a colour the palette lacks (with its box and share), no
            region at all, or too many colours to be a map.
    """
    h, w = rgb.shape[:2]
    cent, ids = _clusters(rgb, what)
    best, pieces, owner = _blobs(ids, len(cent))
    solid = best >= MIN_BLOB
    if palette is None:
        keep = np.flatnonzero(solid)
        if len(keep) > MAX_REGIONS:
            raise ArtkitError(f"the {what} has {len(keep)} colour regions; maps have a few",
                              "paint each region in one flat colour")
        if len(keep) == 0:
            raise ArtkitError(f"the {what} has no region: no colour covers a solid area",
                              "paint each region in one flat colour")
        area = np.bincount(ids[ids >= 0].ravel(), minlength=len(cent))[keep]
        keep = keep[np.argsort(-area, kind="stable")]  # largest region first
        palette = cent[keep].astype(np.uint8)
        to_label = np.full(len(cent) + 1, -1, np.int64)
        to_label[keep] = np.arange(len(keep))
    else:
        pal = palette.astype(np.float32)
        d2 = ((cent[:, None, :] - pal[None, :, :]) ** 2).sum(-1)           # (C, K)
        near = d2.argmin(1)
        close = d2[np.arange(len(cent)), near] <= MATCH_DISTANCE ** 2
        stray = np.flatnonzero(solid & ~close)
        if len(stray):
            _unknown_region(ids, cent, stray, pieces, owner, palette, what)
        to_label = np.append(np.where(close, near, -1), -1)
    labels = to_label[ids]  # ids of −1 index the trailing −1
    snapped = _grow(labels, rgb, palette)
    return Regions(palette, labels, snapped)


def _unknown_region(ids, cent, stray, pieces, owner, palette, what) -> None:
    """Raise the error for the largest of the ``stray`` clusters: a region the palette lacks."""
    h, w = ids.shape
    share = [(ids == c).sum() / ids.size for c in stray]
    c = stray[int(np.argmax(share))]
    sizes = np.bincount(pieces.ravel(), minlength=len(owner))
    sizes[owner != c] = 0
    ys, xs = np.nonzero(pieces == int(np.argmax(sizes)))
    r = BLOB_RADIUS  # the piece was eroded by r: its region reaches r further
    y0, y1 = max(0, ys.min() - r), min(h - 1, ys.max() + r)
    x0, x1 = max(0, xs.min() - r), min(w - 1, xs.max() + r)
    more = f" (and {len(stray) - 1} more colour(s))" if len(stray) > 1 else ""
    raise ArtkitError(
        f"{what} colour {hex_colour(cent[c])} paints a region the style map does not have: "
        f"x {x0}–{x1}, y {y0}–{y1}, {100 * max(share):.1f} % of the {what}{more}",
        "repaint it with the style map's colours: " + ", ".join(hex_colour(p) for p in palette))


def resize_labels(labels: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Nearest-centre resampling of (H, W) labels to ``size`` = (W, H)."""
    w, h = size
    H, W = labels.shape
    if (H, W) == (h, w):
        return labels
    rows = np.minimum(((np.arange(h) + 0.5) * H / h).astype(np.int64), H - 1)
    cols = np.minimum(((np.arange(w) + 0.5) * W / w).astype(np.int64), W - 1)
    return labels[rows][:, cols]


def prepare_maps(style_size: tuple[int, int], style_map: Image.Image,
                 target_map: Image.Image | None = None,
                 target_size: tuple[int, int] | None = None) -> SemanticMaps:
    """Read a style map (and a doodle) into labels over the style map's region colours.

    Args:
        style_size: (W, H) of the style image; the style map's labels are resized to it.
        style_map: the style image's semantic map (any mode, anti-aliasing allowed).
        target_map: the doodle; its labels are resized to ``target_size`` when given.
        target_size: (W, H) of the output.

    Raises:
        ArtkitError: the doodle paints a region the style map does not have.
    """
    notes: list[str] = []
    style = find_regions(map_rgb(style_map), what="style map")
    palette = style.palette
    if style_map.size != tuple(style_size):
        notes.append(f"style map resized from {style_map.size[0]}x{style_map.size[1]} to "
                     f"{style_size[0]}x{style_size[1]} to match the style image")
    target_labels = None
    if target_map is not None:
        doodle = find_regions(map_rgb(target_map), palette, what="doodle")
        if doodle.snapped:
            notes.append(f"{100 * doodle.snapped / doodle.labels.size:.1f} % of the doodle's pixels "
                         "(anti-aliased edges) took the region of their neighbours")
        if target_size is not None and target_map.size != tuple(target_size):
            notes.append(f"doodle resized from {target_map.size[0]}x{target_map.size[1]} to "
                         f"{target_size[0]}x{target_size[1]}")
        target_labels = resize_labels(doodle.labels, target_size or target_map.size)
        missing = sorted(set(range(len(palette))) - set(np.unique(target_labels).tolist()))
        if missing:
            notes.append("style regions not used by the doodle: "
                         + ", ".join(hex_colour(palette[i]) for i in missing))
    if len(palette) > 1:
        notes.append(f"{len(palette)} regions: " + ", ".join(hex_colour(c) for c in palette))
    return SemanticMaps(palette, resize_labels(style.labels, style_size), target_labels, notes)


def onehot(labels: np.ndarray | torch.Tensor, regions: int) -> torch.Tensor:
    """(H, W) labels → (1, K, H, W) float32 one-hot channels."""
    t = torch.as_tensor(labels, dtype=torch.long)
    return F.one_hot(t, regions).permute(2, 0, 1).unsqueeze(0).float()


def labels_image(labels: np.ndarray, palette: np.ndarray) -> Image.Image:
    """Render labels back as a flat-colour map (for previews and the gallery)."""
    return Image.fromarray(palette[labels], "RGB")
