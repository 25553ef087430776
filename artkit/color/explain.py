"""What drove the colours: PatternNet, PatternAttribution and LRP for the learned colouriser.

The colouriser ends in per-pixel logits ``z`` over ab bins, decoded by the annealed mean — not a
single linear output to explain. So the explained quantities are linear read-outs of the logits,
fixed at the photo (as GroupNorm's statistics are):

* the photo's colour regions ``R_k`` are found by grouping its predicted chroma (k-means in ab);
* region ``k`` has the hue direction ``u_k`` (its mean ab, normalised), and its score is the
  first-order change of the predicted chroma along ``u_k``, summed over the region:

      s_k = 1/|R_k| Σ_{p∈R_k} Σ_q c_{p,q} z_{p,q},   c_{p,q} = P_{p,q} u_kᵀ(ab_q − âb_p) / T

  with ``P`` the annealed softmax, ``âb`` its mean and ``T`` the temperature — exactly the
  gradient of ``u_kᵀ âb_p`` with respect to the logits at this photo;
* one more score, "colour", does the same over every coloured pixel with each pixel's own hue
  direction: what made the picture colourful at all.

With those coefficients fixed, gray pixels → backbone → decoder → ``s_k`` is a piecewise linear
network, and PatternNet's signal / PatternAttribution's heatmap show which structures in the gray
photo pushed each region towards its colour (and LRP-ε, input × gradient … which pixels carry
the evidence). :func:`explain_colors` runs the photo through the network once, finds the regions
and traces the network once for all methods, then explains every target of a method in one
batched backward pass. Patterns come from :mod:`artkit.color.patterns`;
:func:`colour_degradation` measures how well each method finds what makes a colour.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Sequence

import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn

from artkit.color.chroma import CAST_REMOVAL, SATURATION, lab_in_gamut, remove_cast
from artkit.color.figure import explanation_figure
from artkit.color.model import ColorModel
from artkit.color.upsample import resize, working_size
from artkit.core.errors import ArtkitError
from artkit.core.images import ImageLike, as_tensor, rgb_to_lab
from artkit.core.progress import ProgressCallback, report
from artkit.core.result import Result
from artkit.core.runtime import default_generator
from artkit.explain import (METHODS, NEEDS_PATTERNS, SIGNED, Patterns, attribute, degrade,
                            patch_ranking, trace)

EXPLAIN_METHODS = tuple(METHODS)  # artkit.explain's registry: every method it has
# The method that found what makes a region's colour best in the degradation test
# (benchmarks/colorize.py; AOPC 7.2 ab units against 4.2 for PatternAttribution, 4.4 for
# random). `artkit colorize --explain` shows PatternNet's signal above it when patterns exist.
DEFAULT_METHOD = "lrp_epsilon"
MIN_CHROMA = 8.0  # |ab| below which a predicted pixel counts as gray
MIN_SHARE = 0.04  # regions smaller than this share of the coloured pixels are dropped


class ColorReadout(nn.Module):
    """The colouriser as one network for attribution: gray RGB (B, 3, H, W) in [0, 1] → scores.

    Without read-out coefficients (``coeff`` None) the scores are the image-mean logits (B, Q),
    which is all pattern fitting needs; with ``coeff`` (K, Q, h, w) they are (B, K) read-outs.
    """

    def __init__(self, model: ColorModel):
        super().__init__()
        self.color = model
        self.coeff: torch.Tensor | None = None  # not a buffer: the fingerprint stays per model

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        """The decoder's logits (B, Q, H/4, W/4) of gray RGB inputs."""
        taps = self.color.backbone(x)
        L = rgb_to_lab(x)[:, :1]
        return self.color.decoder(taps, L / 100.0)  # (B, Q, H/4, W/4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        z = self.logits(x)
        if self.coeff is None:
            return z.mean(dim=(2, 3))
        return torch.einsum("bqhw,kqhw->bk", z, self.coeff.to(z))


def readout(model: ColorModel) -> ColorReadout:
    """The model wrapped for attribution (classification models only)."""
    if model.config.loss != "classification":
        raise ArtkitError("only classification colourisers can be explained (this one regresses ab)",
                          "train with --loss classification (the default)")
    return ColorReadout(model).eval()


# ----------------------------------------------------------------------------- regions


@dataclass
class ColourRegion:
    """One colour family of the prediction.

    Attributes:
        name: a plain colour word ("orange", "blue", …).
        ab: mean predicted chroma of the region.
        rgb: its mean colour in the result, 0–255.
        share: fraction of the picture it covers.
        mask: (h, w) bool at the decoder's resolution.
    """

    name: str
    ab: tuple[float, float]
    rgb: tuple[int, int, int]
    share: float
    mask: torch.Tensor = field(repr=False)


def colour_name(rgb: tuple[int, int, int]) -> str:
    """A plain name for an sRGB colour (0–255), from its Lab hue angle, chroma and lightness:
    "red", "orange", "brown", "yellow", "olive", "green", "teal", "blue", "purple", "pink",
    "gray", with "dark " before the hue of a dark colour."""
    lab = rgb_to_lab(torch.tensor(rgb, dtype=torch.float64).view(3, 1, 1) / 255.0).flatten()
    L, a, b = (float(v) for v in lab)
    if math.hypot(a, b) < 6 or L < 8:
        return "gray"
    hue = math.degrees(math.atan2(b, a)) % 360
    for limit, name in ((20, "pink"), (45, "red"), (75, "orange"), (105, "yellow"),
                        (170, "green"), (230, "teal"), (300, "blue"), (335, "purple"),
                        (360, "pink")):
        if hue < limit:
            break
    if name == "orange" and L < 50 or name == "red" and L < 30 or name == "yellow" and L < 35:
        return "brown"
    if name == "yellow" and L < 60:
        return "olive"
    return f"dark {name}" if L < 30 else name


def colour_regions(ab: torch.Tensor, rgb: torch.Tensor, k: int = 3, *,
                   generator: torch.Generator | None = None, min_chroma: float = MIN_CHROMA,
                   min_share: float = MIN_SHARE) -> list[ColourRegion]:
    """Group the coloured pixels of a prediction into at most ``k`` colour families (k-means in
    ab, k-means++ seeding).

    Args:
        ab: (2, h, w) predicted chroma.
        rgb: (3, h, w) the coloured result at the same size, in [0, 1] (for swatches).
        k: most regions.
        generator: draws the k-means++ seeds (default: seeded with 0).
        min_chroma: |ab| below which a pixel counts as gray.
        min_share: regions smaller than this share of the coloured pixels are dropped.

    Returns:
        Regions, largest first (empty when the prediction is gray).
    """
    h, w = ab.shape[-2:]
    pts = ab.reshape(2, -1).T.double()  # (N, 2)
    coloured = pts.norm(dim=1) >= min_chroma
    if int(coloured.sum()) < max(4, k):
        return []
    x = pts[coloured]
    gen = default_generator(generator)
    centres = x[torch.randint(len(x), (1,), generator=gen)]
    for _ in range(1, k):  # k-means++ seeding
        d2 = torch.cdist(x, centres).pow(2).amin(dim=1)
        if float(d2.sum()) <= 0:
            break
        centres = torch.cat([centres, x[torch.multinomial(d2 / d2.sum(), 1, generator=gen)]])
    for _ in range(25):
        assign = torch.cdist(x, centres).argmin(dim=1)
        new = torch.stack([x[assign == j].mean(0) if bool((assign == j).any()) else centres[j]
                           for j in range(len(centres))])
        if torch.allclose(new, centres, atol=1e-3):
            break
        centres = new
    assign = torch.cdist(x, centres).argmin(dim=1)
    full = torch.full((h * w,), -1, dtype=torch.long)
    full[coloured] = assign
    colours = rgb.reshape(3, -1).T  # (N, 3)
    regions = []
    for j in range(len(centres)):
        sel = full == j
        share = float(sel.float().mean())
        if share * h * w < 1 or float(sel.sum()) < min_share * float(coloured.sum()):
            continue
        mean_rgb = tuple(int(round(float(v) * 255)) for v in colours[sel].mean(0))
        c = centres[j]
        regions.append(ColourRegion(colour_name(mean_rgb), (float(c[0]), float(c[1])), mean_rgb,
                                    share, sel.reshape(h, w)))
    regions.sort(key=lambda r: -r.share)
    return regions


def readout_coefficients(logits: torch.Tensor, bins: torch.Tensor, temperature: float,
                         regions: list[ColourRegion], min_chroma: float = MIN_CHROMA
                         ) -> torch.Tensor:
    """The read-out coefficients ``c`` (1 + K, Q, h, w): "colour" first, then each region.

    Args:
        logits: (1, Q, h, w) the decoder's logits for the photo.
        bins: (Q, 2) bin centres.
        temperature: the annealed-mean temperature.
        regions: from :func:`colour_regions`.
    """
    z = logits[0].double()  # (Q, h, w)
    p = torch.softmax(z / temperature, dim=0)
    b = bins.double().to(z.device)  # (Q, 2)
    mean = torch.einsum("qhw,qc->chw", p, b)  # (2, h, w)
    dev = b[:, :, None, None] - mean[None]  # (Q, 2, h, w): ab_q − âb_p

    def coeff(u: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:  # u (2, h, w), mask (h, w)
        c = p * torch.einsum("qchw,chw->qhw", dev, u) / temperature
        m = mask.to(c)
        return c * m / m.sum().clamp(min=1)

    own = mean / mean.norm(dim=0, keepdim=True).clamp(min=1e-6)
    out = [coeff(own, mean.norm(dim=0) >= min_chroma)]
    for r in regions:
        u = torch.tensor(r.ab, dtype=torch.float64, device=z.device)
        u = (u / u.norm().clamp(min=1e-6))[:, None, None].expand_as(mean)
        out.append(coeff(u, r.mask.to(z.device)))
    return torch.stack(out).float()


# ----------------------------------------------------------------------------- explaining


@dataclass(kw_only=True)
class ColorExplanation(Result):
    """What drove the colours of one photo, by one or more attribution methods.

    Attributes:
        gray: (1, 3, h, w) the gray input at the working size.
        result: (1, 3, h, w) the coloured result at the working size.
        regions: the colour regions explained (largest first).
        keys: the targets: ``"colour"`` then one per region (its colour name, numbered when
            two regions share one).
        maps: ``{method: {key: (3, h, w) attribution}}``.
    """

    gray: torch.Tensor
    result: torch.Tensor
    regions: list[ColourRegion]
    keys: list[str]
    maps: dict[str, dict[str, torch.Tensor]]

    def picture(self) -> Image.Image:
        """One figure: gray input, result, then per method a row with a map per target, each
        region outlined in its colour (:func:`artkit.color.figure.explanation_figure`)."""
        return explanation_figure(self)


def region_keys(regions: list[ColourRegion]) -> list[str]:
    """``"colour"`` and a name per region (``"blue"``, ``"blue 2"``, ...)."""
    keys, seen = ["colour"], {}
    for r in regions:
        n = seen.get(r.name, 0) + 1
        seen[r.name] = n
        keys.append(r.name if n == 1 else f"{r.name} {n}")
    return keys


def explain_colors(model: ColorModel, image: ImageLike,
                   methods: Sequence[str] = (DEFAULT_METHOD,), *,
                   patterns: Patterns | None = None, regions: int = 3, render_size: int = 256,
                   saturation: float = SATURATION, cast_removal: float = CAST_REMOVAL,
                   generator: torch.Generator | None = None,
                   progress: ProgressCallback | None = None) -> ColorExplanation:
    """Explain the learned colouriser on a photo: a heatmap per method of what drove each
    colour region.

    Args:
        model: the colouriser (classification; on the device to run on).
        image: the photo (path, PIL image, array or tensor); colour photos are made gray.
        methods: attribution methods (:data:`EXPLAIN_METHODS`), a row each.
        patterns: the model's patterns (needed by ``patternnet`` and ``patternattribution``).
        regions: most colour regions to explain (besides the overall "colour").
        render_size: long side of the working size.
        saturation, cast_removal: as the colouring used them (for the regions and the result).
        generator: draws the region grouping's seeds (and smoothgrad's noise).
        progress: progress callback (task ``"explain colours"``, one unit per method).

    Raises:
        ArtkitError: unknown method, a pattern method without patterns, a regression model.
    """
    t0 = time.perf_counter()
    methods = list(dict.fromkeys(methods))
    for m in methods:
        if m not in EXPLAIN_METHODS:
            raise ArtkitError(f"unknown explain method '{m}'",
                              f"use one of: {', '.join(EXPLAIN_METHODS)}")
        if m in NEEDS_PATTERNS and patterns is None:
            raise ArtkitError(f"{m} needs the colorize model's PatternNet patterns",
                              "fit them with `artkit colorize fit-patterns PHOTOS --model MODEL`")
    if regions < 0:
        raise ArtkitError(f"regions must be 0 or more, got {regions}")
    gen = default_generator(generator)
    net = readout(model)
    dev = model.bins.device
    rgb = as_tensor(image)
    size = working_size(*rgb.shape[-2:], render_size, 8)
    L = rgb_to_lab(resize(rgb, size))[:, :1]  # (1, 1, h, w)
    x = ColorModel.gray_rgb(L).contiguous().to(dev)  # (1, 3, h, w)
    report(progress, "explain colours", 0, len(methods))
    with torch.no_grad():
        z = net.logits(x)  # (1, Q, h/4, w/4)
        ab = remove_cast(model.decode(z), cast_removal)  # regions: the chroma before scaling
        small_L = F.interpolate(L.to(dev), size=ab.shape[-2:], mode="area")
        shown = lab_in_gamut(small_L, ab * saturation)[0].cpu()  # (3, h/4, w/4), as shown
    found = colour_regions(ab[0].cpu(), shown, regions, generator=gen) if regions else []
    keys = region_keys(found)
    net.coeff = readout_coefficients(z.cpu(), model.bins.cpu(), model.config.temperature,
                                     found).to(dev)  # (K, Q, h/4, w/4)
    targets = torch.arange(len(keys))
    batch = x.expand(len(keys), -1, -1, -1)  # every target at once: (K, 3, h, w)
    maps: dict[str, dict[str, torch.Tensor]] = {}
    try:
        graph = trace(net, x)
        for i, m in enumerate(methods):
            seed = int(torch.randint(2 ** 31 - 1, (1,), generator=gen))
            attr = attribute(net, batch, m, target=targets, patterns=patterns, graph=graph,
                             seed=seed).cpu()  # (K, 3, h, w)
            maps[m] = dict(zip(keys, attr))
            report(progress, "explain colours", i + 1, len(methods))
    finally:
        net.coeff = None
    with torch.no_grad():
        up = F.interpolate(ab.cpu() * saturation, size=L.shape[-2:], mode="bilinear",
                           align_corners=False)
        result = lab_in_gamut(L, up)
    return ColorExplanation(gray=x.cpu(), result=result, regions=found, keys=keys, maps=maps,
                            seconds=time.perf_counter() - t0)


# ----------------------------------------------------------------------------- evaluation


@dataclass
class ColourDegradation:
    """How fast a region's colour fades when the gray photo's patches are flattened in the order
    a method ranks them (the PatternNet paper's degradation test, on the real colouriser).

    Attributes:
        method: the ranking (an attribution method, or ``random``).
        curve: the region's predicted chroma along its hue (ab units) after 0..steps patches,
            averaged over photos and regions.
        aopc: mean drop from the start over the curve, in ab units (larger: the ranking found
            what makes the colour).
    """

    method: str
    curve: list[float]
    aopc: float


def hue_chroma(net: ColorReadout, x: torch.Tensor, regions: list[ColourRegion],
               cast_removal: float = CAST_REMOVAL) -> torch.Tensor:
    """(N, K) mean chroma along each region's hue, as shown (after the cast removal), for a
    batch of inputs (N, 3, H, W)."""
    with torch.no_grad():
        ab = remove_cast(net.color.decode(net.logits(x)).double(), cast_removal)  # (N, 2, h, w)
    out = []
    for r in regions:
        u = torch.tensor(r.ab, dtype=torch.float64, device=ab.device)
        m = r.mask.to(ab.device).double()
        along = torch.einsum("nchw,c->nhw", ab, u / u.norm().clamp(min=1e-6))
        out.append((along * m).sum(dim=(1, 2)) / m.sum().clamp(min=1))
    return torch.stack(out, dim=1).cpu()


def colour_degradation(model: ColorModel, images: Sequence[ImageLike],
                       methods: Sequence[str] = ("lrp_epsilon", "patternattribution", "gradient"),
                       *, patterns: Patterns | None = None, regions: int = 3,
                       render_size: int = 256, patch: int = 16, steps: int = 24,
                       generator: torch.Generator | None = None,
                       progress: ProgressCallback | None = None) -> list[ColourDegradation]:
    """Degradation curves of each method (and random order) over photos and their regions.

    Every region of every photo is explained by each method; the gray photo's ``patch``² squares
    are then set to the photo's mean gray, most relevant first (by the summed signed heatmap
    inside the square for PatternAttribution and the other signed methods, by its magnitude for
    the rest), and the region's predicted chroma along its hue (as shown) is followed.
    ``generator`` draws the random orders; each photo's regions are grouped with a generator
    seeded as ``generator`` was, as ``--explain`` groups them.
    """
    gen = default_generator(generator)
    net = readout(model)
    runs: dict[str, list[torch.Tensor]] = {}
    for i, image in enumerate(images):
        # Each photo's regions are grouped as `--explain --seed S` groups them.
        fresh = torch.Generator().manual_seed(gen.initial_seed())
        ex = explain_colors(model, image, methods, patterns=patterns, regions=regions,
                            render_size=render_size, generator=fresh)
        if not ex.regions:
            continue
        x = ex.gray.to(model.bins.device)
        _, _, h, w = x.shape
        fill = x.mean(dim=(2, 3), keepdim=True).expand_as(x)
        for r, key in zip(ex.regions, ex.keys[1:]):
            orders = {m: patch_ranking(ex.maps[m][key], patch, m in SIGNED) for m in methods}
            orders["random"] = torch.randperm((h // patch) * (w // patch), generator=gen)
            for m, order in orders.items():
                vals = degrade(lambda batch, _r=r: hue_chroma(net, batch, [_r]), x[0], order, 0,
                               patch, steps, fill[0])
                runs.setdefault(m, []).append(torch.tensor(vals))
        report(progress, "colour degradation", i + 1, len(images))
    out = []
    for m, curves in runs.items():
        mean = torch.stack(curves).mean(0)
        out.append(ColourDegradation(m, mean.tolist(), float((mean[0] - mean).mean())))
    return out
