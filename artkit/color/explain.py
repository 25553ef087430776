"""What drove the colours: PatternNet / PatternAttribution for the learned colouriser.

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
the evidence). Patterns are fitted on gray crops of colour photos (:func:`fit_color_patterns`);
those of the shipped model ship with it. :func:`colour_degradation` measures the methods.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn

from artkit.color.model import ColorModel
from artkit.core.errors import ArtkitError
from artkit.core.progress import ProgressCallback, report

EXPLAIN_METHODS = ("lrp_epsilon", "input_x_gradient", "patternattribution", "patternnet",
                   "gradient", "smoothgrad")
# The default of explain_colors: it found what makes a region's colour best in the degradation
# test (benchmarks/colorize.py; AOPC 7.2 ab units against 4.2 for PatternAttribution, 4.4 for
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
        from artkit.core.images import rgb_to_lab

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
    from artkit.core.images import rgb_to_lab

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


def colour_regions(ab: torch.Tensor, rgb: torch.Tensor, k: int = 3, seed: int = 0,
                   min_chroma: float = MIN_CHROMA, min_share: float = MIN_SHARE
                   ) -> list[ColourRegion]:
    """Group the coloured pixels of a prediction into at most ``k`` colour families.

    Args:
        ab: (2, h, w) predicted chroma.
        rgb: (3, h, w) the coloured result at the same size, in [0, 1] (for swatches).
        k: most regions.

    Returns:
        Regions, largest first (empty when the prediction is gray).
    """
    h, w = ab.shape[-2:]
    pts = ab.reshape(2, -1).T.double()  # (N, 2)
    coloured = pts.norm(dim=1) >= min_chroma
    if int(coloured.sum()) < max(4, k):
        return []
    x = pts[coloured]
    gen = torch.Generator().manual_seed(seed)
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


# ----------------------------------------------------------------------------- patterns


def patterns_path(model_path: str | Path | None) -> Path:
    """Where the patterns of a model file live: ``MODEL.patterns.safetensors`` beside it."""
    from artkit.color.api import default_model_path

    p = Path(model_path) if model_path is not None else default_model_path()
    return p.with_name(p.name.removesuffix(".safetensors") + ".patterns.safetensors")


def gray_batches(photos: list[torch.Tensor], crops: int, size: int, batch: int = 16,
                 seed: int = 0) -> list[torch.Tensor]:
    """Gray random crops of colour photos, as the colouriser sees them: (B, 3, size, size)."""
    from artkit.color.train import random_crops
    from artkit.core.images import rgb_to_lab

    gen = torch.Generator().manual_seed(seed)
    x = random_crops(photos, crops, size, 0.3, gen)
    gray = ColorModel.gray_rgb(rgb_to_lab(x)[:, :1])
    return list(gray.contiguous().split(batch))


def fit_color_patterns(model: ColorModel, photos_dir: str | Path, *, crops: int = 160,
                       size: int = 192, seed: int = 0, device: str | torch.device = "cpu",
                       progress: ProgressCallback | None = None):
    """Fit PatternNet's patterns (two-component) for backbone and decoder on gray crops.

    Args:
        model: the colouriser.
        photos_dir: a folder of colour photos (the training photos are a good choice).
        crops: random crops in all.
        size: crop side.

    Returns:
        :class:`artkit.explain.patterns.Patterns` for :func:`readout` of the model.
    """
    from artkit.color.train import load_photos
    from artkit.explain.patterns import fit_patterns

    photos, names, _ = load_photos(photos_dir)
    batches = gray_batches(photos, crops, size, seed=seed)
    net = readout(model).to(device)
    pats = fit_patterns(net, batches, "relu", positions=256, seed=seed, device=device,
                        total=len(batches), progress=progress)
    pats.meta.update({"model": "artkit colorize", "photos": len(names), "crops": crops,
                      "size": size})
    return pats.compact()


def load_color_patterns(net: ColorReadout, model_path: str | Path | None):
    """The patterns beside a model file, checked against the model.

    Raises:
        ArtkitError: none there, or fitted for another model.
    """
    from artkit.explain.patterns import Patterns

    p = patterns_path(model_path)
    if not p.is_file():
        raise ArtkitError(f"no PatternNet patterns for the colorize model ('{p}' is missing)",
                          "fit them with `artkit colorize fit-patterns PHOTOS --model MODEL`")
    pats = Patterns.load(p)
    try:
        pats.check(net)
    except ArtkitError:
        raise ArtkitError(f"the patterns in '{p}' belong to another colorize model",
                          "refit them with `artkit colorize fit-patterns PHOTOS --model MODEL`"
                          ) from None
    return pats


# ----------------------------------------------------------------------------- explaining


@dataclass
class ColorExplanation:
    """What drove the colours of one photo.

    Attributes:
        gray: (1, 3, h, w) the gray input at the working size.
        result: (1, 3, h, w) the coloured result at the working size.
        regions: the colour regions explained (largest first).
        maps: ``{"colour": (3, h, w), region name: (3, h, w), …}`` attributions (in region order).
        method: the attribution method.
        seconds: wall time.
    """

    gray: torch.Tensor
    result: torch.Tensor
    regions: list[ColourRegion]
    maps: dict[str, torch.Tensor]
    method: str
    seconds: float

    def picture(self, *more: "ColorExplanation") -> Image.Image:
        """One figure: gray input, result, then a map per target, each region outlined; with
        ``more`` explanations of the same photo (other methods), one row per method."""
        return explanation_figure(self, *more)


def _region_keys(regions: list[ColourRegion]) -> list[str]:
    keys, seen = [], {}
    for r in regions:
        n = seen.get(r.name, 0) + 1
        seen[r.name] = n
        keys.append(r.name if n == 1 else f"{r.name} {n}")
    return keys


def explain_colors(image, *, model: str | Path | None = None, method: str = DEFAULT_METHOD,
                   regions: int = 3, render_size: int = 256, patterns=None, seed: int = 0,
                   device: str | torch.device = "cpu",
                   progress: ProgressCallback | None = None) -> ColorExplanation:
    """Explain the learned colouriser on a photo: a heatmap of what drove each colour region.

    Args:
        image: the photo (path, PIL image, array or tensor); colour photos are made gray.
        model: a model file (default: the shipped model).
        method: an attribution method (:data:`EXPLAIN_METHODS`); ``patternnet`` and
            ``patternattribution`` need the model's patterns.
        regions: most colour regions to explain (besides the overall "colour").
        render_size: long side of the working size.
        patterns: pre-loaded patterns (default: those beside the model file).
        seed: seed of the region grouping (and smoothgrad's noise).
        device: where to run.

    Raises:
        ArtkitError: unknown method, missing or mismatched patterns, a regression model.
    """
    from artkit.color.api import SATURATION, as_rgb_tensor, get_model, lab_in_gamut, remove_cast
    from artkit.color.upsample import resize, working_size
    from artkit.core.images import rgb_to_lab
    from artkit.core.runtime import resolve_device
    from artkit.explain.attribute import NEEDS_PATTERNS, attribute
    from artkit.explain.graph import trace

    t0 = time.perf_counter()
    if method not in EXPLAIN_METHODS:
        raise ArtkitError(f"unknown explain method '{method}'",
                          f"use one of: {', '.join(EXPLAIN_METHODS)}")
    if regions < 0:
        raise ArtkitError(f"regions must be 0 or more, got {regions}")
    dev = resolve_device(device)
    cm, _ = get_model(model, dev)
    net = readout(cm)
    if patterns is None and method in NEEDS_PATTERNS:
        patterns = load_color_patterns(net, model)
    rgb = as_rgb_tensor(image)
    size = working_size(*rgb.shape[-2:], render_size, 8)
    L = rgb_to_lab(resize(rgb, size))[:, :1]
    x = ColorModel.gray_rgb(L).contiguous().to(dev)
    report(progress, "explain colours", 0, 1)
    with torch.no_grad():
        z = net.logits(x)  # (1, Q, h, w)
        ab = cm.decode(z)
        ab = remove_cast(ab)
        small_L = F.interpolate(L.to(dev), size=ab.shape[-2:], mode="area")
        shown = lab_in_gamut(small_L, ab * SATURATION)[0].cpu()  # (3, h, w), as colorize shows
    found = colour_regions(ab[0].cpu(), shown, regions, seed) if regions else []
    net.coeff = readout_coefficients(z.cpu(), cm.bins.cpu(), cm.config.temperature, found).to(dev)
    keys = ["colour"] + _region_keys(found)
    try:
        graph = trace(net, x)
        maps = {}
        for i, key in enumerate(keys):
            maps[key] = attribute(net, x, method, target=i, patterns=patterns, graph=graph,
                                  seed=seed)[0].cpu()
            report(progress, "explain colours", i + 1, len(keys))
    finally:
        net.coeff = None
    with torch.no_grad():
        result = lab_in_gamut(L, F.interpolate(ab.cpu() * SATURATION, size=L.shape[-2:],
                                               mode="bilinear", align_corners=False))
    return ColorExplanation(x.cpu(), result, found, maps, method, time.perf_counter() - t0)


DISPLAY_SIGMA = 3.0  # px at a 256-pixel-wide picture: the heatmaps' smoothing for display


def smooth(attr: torch.Tensor, sigma: float) -> torch.Tensor:
    """(C, H, W) maps blurred by a Gaussian of ``sigma`` pixels (zero padding)."""
    r = max(1, int(round(3 * sigma)))
    t = torch.arange(-r, r + 1, dtype=torch.float32)
    k = torch.exp(-t ** 2 / (2 * sigma ** 2))
    k = k / k.sum()
    x = attr.float()[:, None]  # (C, 1, H, W)
    x = F.conv2d(x, k.view(1, 1, 1, -1), padding=(0, r))
    x = F.conv2d(x, k.view(1, 1, -1, 1), padding=(r, 0))
    return x[:, 0]


_CAPTIONS = {
    "patternnet": "PatternNet: the signal in the gray photo behind each colour",
    "patternattribution": "PatternAttribution (smoothed): red = evidence for the colour, blue = against",
}


def _caption(method: str) -> str:
    return _CAPTIONS.get(method, f"{method} (smoothed): red = evidence for the colour, "
                                 "blue = against")


def explanation_figure(*explanations: ColorExplanation) -> Image.Image:
    """Explanations of one photo by one or more methods as one picture: gray input and result,
    then per method a row with a map per target, each region outlined in its colour."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    from artkit.core.images import tensor_to_pil
    from artkit.explain.render import SIGNAL_METHODS, figure_image, overlay, signal_image

    first = explanations[0]
    gray = tensor_to_pil(first.gray)
    region_of = dict(zip(_region_keys(first.regions), first.regions))
    cols = 2 + len(first.maps)
    rows = len(explanations)
    row_height = 2.5 * gray.height / gray.width + 0.3
    fig, axes = plt.subplots(rows, cols, figsize=(2.5 * cols, 0.25 * rows + 0.2 + row_height * rows),
                             dpi=110, squeeze=False)
    for row, ex in enumerate(explanations):
        panels = [("gray input", np.asarray(gray), None),
                  ("coloured", np.asarray(tensor_to_pil(ex.result)), None)] if row == 0 else \
            [None, None]
        for key, attr in ex.maps.items():
            if ex.method in SIGNAL_METHODS:
                pic = signal_image(attr)
            else:  # per-pixel evidence alternates in sign; show its local sum, as patches count
                pic = overlay(gray, smooth(attr.sum(0, keepdim=True),
                                           DISPLAY_SIGMA * gray.width / 256))
            r = region_of.get(key)
            title = "what made it colourful" if r is None else f"{key} ({100 * r.share:.0f} %)"
            panels.append((title if row == 0 else "", np.asarray(pic), r))
        for col, (ax, panel) in enumerate(zip(axes[row], panels)):
            if panel is None:
                ax.axis("off")
                continue
            title, arr, r = panel
            ax.imshow(arr, interpolation="bilinear")
            ax.set_title(title, fontsize=9)
            ax.set_xticks([])
            ax.set_yticks([])
            if col == 2:
                ax.set_ylabel(ex.method, fontsize=8)
            if r is not None:
                colour = tuple(c / 255 for c in r.rgb)
                m = F.interpolate(r.mask[None, None].float(), size=arr.shape[:2],
                                  mode="nearest")[0, 0]
                ax.contour(m.numpy(), levels=[0.5], colors=[colour], linewidths=1.2)
                for spine in ax.spines.values():
                    spine.set_edgecolor(colour)
                    spine.set_linewidth(4)
    fig.suptitle("\n".join(_caption(ex.method) for ex in explanations), fontsize=9)
    return figure_image(fig)


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


def _hue_chroma(net: ColorReadout, x: torch.Tensor, regions: list[ColourRegion]) -> torch.Tensor:
    """(N, K) mean chroma along each region's hue, as shown (after the cast removal), for a
    batch of inputs (N, 3, H, W)."""
    from artkit.color.api import remove_cast

    with torch.no_grad():
        ab = remove_cast(net.color.decode(net.logits(x)).double())  # (N, 2, h, w)
    out = []
    for r in regions:
        u = torch.tensor(r.ab, dtype=torch.float64, device=ab.device)
        m = r.mask.to(ab.device).double()
        along = torch.einsum("nchw,c->nhw", ab, u / u.norm().clamp(min=1e-6))
        out.append((along * m).sum(dim=(1, 2)) / m.sum().clamp(min=1))
    return torch.stack(out, dim=1).cpu()


def colour_degradation(images, methods=("lrp_epsilon", "patternattribution", "gradient"), *,
                       model: str | Path | None = None, patterns=None, regions: int = 3,
                       render_size: int = 256, patch: int = 16, steps: int = 24,
                       seed: int = 0, device: str | torch.device = "cpu",
                       progress: ProgressCallback | None = None) -> list[ColourDegradation]:
    """Degradation curves of each method (and random order) over photos and their regions.

    Every region of every photo is explained by each method; the gray photo's ``patch``² squares
    are then set to the photo's mean gray, most relevant first (by the summed signed heatmap
    inside the square for PatternAttribution and the other signed methods, by its magnitude for
    the rest), and the region's predicted chroma along its hue (as shown) is followed.
    """
    from artkit.color.api import get_model
    from artkit.explain.evaluate import SIGNED, degrade, patch_ranking

    gen = torch.Generator().manual_seed(seed)
    runs: dict[str, list[torch.Tensor]] = {}
    for i, image in enumerate(images):
        ex = {m: explain_colors(image, model=model, method=m, regions=regions,
                                render_size=render_size, patterns=patterns, seed=seed,
                                device=device) for m in methods}
        first = ex[methods[0]]
        if not first.regions:
            continue
        net = readout(get_model(model, device)[0])
        x = first.gray.to(device)
        _, _, h, w = x.shape
        gh, gw = h // patch, w // patch
        fill = x.mean(dim=(2, 3), keepdim=True).expand_as(x)
        for k, r in enumerate(first.regions, start=1):
            key = list(first.maps)[k]
            orders = {m: patch_ranking(ex[m].maps[key], patch, m in SIGNED) for m in methods}
            orders["random"] = torch.randperm(gh * gw, generator=gen)
            for m, order in orders.items():
                vals = degrade(lambda batch, _r=r: _hue_chroma(net, batch, [_r]), x[0], order, 0,
                               patch, steps, fill[0])
                runs.setdefault(m, []).append(torch.tensor(vals))
        report(progress, "colour degradation", i + 1, len(images))
    out = []
    for m, curves in runs.items():
        mean = torch.stack(curves).mean(0)
        out.append(ColourDegradation(m, mean.tolist(), float((mean[0] - mean).mean())))
    return out
