"""The photo's colours, named as a person would name them.

* dominant colours: k-means in CIE Lab on a 48 × 48 copy of the photo, clusters of the same name
  merged, those under 8 % of the picture dropped;
* names: the nearest of ~50 reference colours by CIEDE2000 (ΔE00, the CIE's perceptual colour
  difference), after one rule that keeps grey honest: a colour whose chroma C* = √(a*² + b*²) is
  below 6 is achromatic (black … white by lightness), one above 10 never is. Euclidean Lab
  distance against a table without muted warm tones called RGB (168, 129, 113) "grey"; it is a
  light brown, and a person would say so.

The reference sRGB values follow the median answers of large colour-naming surveys (light
brown, taupe, dusty pink, slate, …, beside the basic terms), with a few muted tones that photos
are full of.

Example:
    >>> name_colour((168, 129, 113))
    'light brown'
    >>> name_colour((200, 30, 30))
    'red'
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image

from artkit.core.images import rgb_to_lab

ACHROMATIC = {"black": (18, 18, 18), "charcoal": (52, 56, 55), "dark grey": (85, 85, 85),
              "grey": (140, 140, 140), "light grey": (200, 202, 200), "white": (245, 245, 245)}
CHROMATIC = {
    "red": (200, 30, 30), "dark red": (130, 20, 20), "crimson": (170, 15, 45),
    "maroon": (101, 0, 33), "burgundy": (97, 0, 35), "brick red": (150, 40, 30),
    "pink": (250, 150, 190), "dusty pink": (213, 138, 148), "rose": (207, 98, 117),
    "salmon": (250, 128, 114), "coral": (245, 100, 80), "peach": (255, 180, 130),
    "orange": (245, 120, 20), "rust": (168, 60, 9), "copper": (182, 99, 37),
    "brown": (110, 65, 25), "dark brown": (60, 35, 15), "light brown": (170, 125, 95),
    "chocolate": (80, 45, 20), "tan": (205, 170, 120), "beige": (225, 210, 170),
    "taupe": (180, 160, 135), "sand": (225, 200, 130), "cream": (250, 245, 205),
    "khaki": (170, 165, 100), "gold": (220, 175, 20), "mustard": (205, 175, 10),
    "ochre": (190, 140, 10), "yellow": (250, 225, 40), "pale yellow": (250, 245, 150),
    "olive": (110, 115, 20), "lime green": (140, 220, 30), "light green": (150, 225, 120),
    "green": (30, 150, 40), "dark green": (10, 70, 20), "forest green": (20, 80, 30),
    "sage": (135, 170, 115), "teal": (2, 140, 130), "turquoise": (20, 195, 175),
    "sky blue": (120, 185, 245), "light blue": (160, 205, 245), "blue": (25, 70, 220),
    "steel blue": (90, 125, 155), "slate": (80, 100, 115), "navy": (10, 25, 70),
    "dark blue": (10, 20, 100), "purple": (120, 35, 150), "violet": (150, 40, 230),
    "lavender": (200, 160, 235), "lilac": (205, 160, 250), "mauve": (175, 115, 130),
    "magenta": (195, 0, 120),
}
COLOUR_NAMES: dict[str, tuple[int, int, int]] = {**ACHROMATIC, **CHROMATIC}
GREY_CHROMA, COLOUR_CHROMA = 6.0, 10.0  # C* below: achromatic only; above: chromatic only

# Words that also count as naming a colour (a story may say "gray" or "golden").
SYNONYMS = {
    "grey": ("gray",), "charcoal": ("grey", "gray", "black"), "light grey": ("grey", "gray", "silver"),
    "dark grey": ("grey", "gray"), "cream": ("white",), "chocolate": ("brown",),
    "maroon": ("red",), "crimson": ("red",), "burgundy": ("red", "wine"), "brick red": ("red",),
    "rust": ("red", "orange", "brown"), "copper": ("brown", "orange"), "gold": ("golden", "yellow"),
    "mustard": ("yellow",), "ochre": ("yellow", "brown"), "navy": ("blue",), "teal": ("blue", "green"),
    "turquoise": ("blue",), "rose": ("pink", "red"), "dusty pink": ("pink",), "salmon": ("pink",),
    "coral": ("pink", "orange"), "peach": ("orange", "pink"), "tan": ("brown",),
    "light brown": ("brown",), "dark brown": ("brown",), "beige": ("cream", "brown"),
    "taupe": ("brown", "grey", "gray"), "sand": ("yellow", "beige"), "khaki": ("green", "brown"),
    "olive": ("green",), "sage": ("green",), "lavender": ("purple",), "lilac": ("purple",),
    "violet": ("purple",), "mauve": ("purple", "pink"), "magenta": ("pink", "purple"),
    "slate": ("grey", "gray", "blue"), "steel blue": ("blue", "grey"),
}
# Within this CIEDE2000 distance a region's colour takes the name of the photo's dominant colour
# it is nearest to (about the step between two neighbouring reference names).
SNAP_DELTA = 20.0


@dataclass
class Colour:
    """A dominant colour: its name, sRGB value and share of the photo."""

    name: str
    rgb: tuple[int, int, int]
    fraction: float

    @property
    def words(self) -> tuple[str, ...]:
        """Words that count as mentioning it (the name, its last word, synonyms)."""
        base = self.name.split()[-1]
        extra = SYNONYMS.get(self.name, ()) + SYNONYMS.get(base, ())
        return tuple(dict.fromkeys((self.name, base) + extra))


def to_lab(rgb: np.ndarray) -> np.ndarray:
    """(N, 3) sRGB in [0, 1] → (N, 3) Lab (through the shared torch conversion)."""
    t = torch.from_numpy(np.asarray(rgb, np.float32).T.copy()).reshape(3, -1, 1)  # (3, N, 1)
    return rgb_to_lab(t).reshape(3, -1).T.numpy().astype(np.float64)  # (N, 3)


def delta_e2000(lab1: np.ndarray, lab2: np.ndarray) -> np.ndarray:
    """CIEDE2000 colour difference between (N, 3) and (M, 3) Lab colours → (N, M)."""
    from skimage.color import deltaE_ciede2000

    a = np.broadcast_to(lab1[:, None, :], (len(lab1), len(lab2), 3))
    b = np.broadcast_to(lab2[None, :, :], (len(lab1), len(lab2), 3))
    return deltaE_ciede2000(a, b)


_NAMES = list(COLOUR_NAMES)
_GREY = np.array([n in ACHROMATIC for n in _NAMES])
_REF_LAB = to_lab(np.array([COLOUR_NAMES[n] for n in _NAMES], np.float64) / 255.0)  # (K, 3)


def name_colours(lab: np.ndarray) -> list[str]:
    """Names of (N, 3) Lab colours (see the module docstring)."""
    d = delta_e2000(np.asarray(lab, np.float64).reshape(-1, 3), _REF_LAB)  # (N, K)
    chroma = np.hypot(lab[..., 1], lab[..., 2]).reshape(-1)
    d[np.ix_(chroma < GREY_CHROMA, ~_GREY)] = np.inf
    d[np.ix_(chroma > COLOUR_CHROMA, _GREY)] = np.inf
    return [_NAMES[int(i)] for i in d.argmin(1)]


def name_colour(rgb: tuple[int, int, int] | np.ndarray) -> str:
    """The name of one sRGB colour (0–255)."""
    return name_colours(to_lab(np.asarray(rgb, np.float64).reshape(1, 3) / 255.0))[0]


def kmeans(x: np.ndarray, k: int, iters: int = 15, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Plain k-means with k-means++ seeding. Returns ``(centres (k, D), labels (N,))``."""
    rng = np.random.default_rng(seed)
    k = min(k, len(x))
    centres = [x[rng.integers(len(x))]]
    for _ in range(1, k):
        d = np.min([((x - c) ** 2).sum(1) for c in centres], axis=0)
        total = d.sum()
        centres.append(x[rng.choice(len(x), p=d / total)] if total > 0 else x[rng.integers(len(x))])
    c = np.array(centres)
    labels = np.zeros(len(x), dtype=int)
    for _ in range(iters):
        labels = ((x[:, None, :] - c[None]) ** 2).sum(2).argmin(1)  # (N,)
        new = np.array([x[labels == j].mean(0) if np.any(labels == j) else c[j] for j in range(k)])
        if np.allclose(new, c):
            break
        c = new
    return c, labels


def dominant_colours(image: Image.Image, k: int = 5, min_fraction: float = 0.08) -> list[Colour]:
    """The photo's main colours, largest share first, named (same names merged)."""
    small = image.convert("RGB").resize((48, 48), Image.Resampling.BILINEAR)
    rgb = np.asarray(small, np.float64).reshape(-1, 3) / 255.0  # (N, 3)
    lab = to_lab(rgb)
    centres, labels = kmeans(lab, k)
    names = name_colours(centres)
    shares: dict[str, Colour] = {}
    for j in range(len(centres)):
        frac = float(np.mean(labels == j))
        if frac == 0:
            continue
        mean_rgb = tuple(int(round(v * 255)) for v in rgb[labels == j].mean(0))
        if names[j] in shares:
            shares[names[j]].fraction += frac
        else:
            shares[names[j]] = Colour(names[j], mean_rgb, frac)
    out = sorted(shares.values(), key=lambda c: -c.fraction)
    kept = [c for c in out if c.fraction >= min_fraction] or out[:1]
    for c in kept:
        c.fraction = round(c.fraction, 3)
    return kept


def region_colour(image: Image.Image, box: tuple[int, int, int, int]) -> Colour | None:
    """The main colour inside ``box`` = (left, top, right, bottom), or None when the box is
    empty (e.g. the clothes below a face at the bottom edge)."""
    left, top, right, bottom = (max(0, int(v)) for v in box)
    right, bottom = min(right, image.size[0]), min(bottom, image.size[1])
    if right - left < 2 or bottom - top < 2:
        return None
    cols = dominant_colours(image.crop((left, top, right, bottom)), k=3, min_fraction=0.0)
    return cols[0] if cols else None


def snap_colour(colour: Colour, palette: list[Colour], max_delta: float = SNAP_DELTA) -> str:
    """``colour``'s name, or the name of the nearest colour of ``palette`` (the photo's dominant
    colours) when it lies within ``max_delta`` (CIEDE2000): the same paint named once, so the
    subject's colour and the photo's colours agree in words."""
    if not palette:
        return colour.name
    rgb = np.array([colour.rgb] + [c.rgb for c in palette], np.float64) / 255.0  # (1+P, 3)
    lab = to_lab(rgb)
    d = delta_e2000(lab[:1], lab[1:])[0]  # (P,)
    j = int(d.argmin())
    return palette[j].name if d[j] <= max_delta else colour.name
