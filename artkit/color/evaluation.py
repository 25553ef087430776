"""``artkit colorize evaluate``: gray versions of colour photos are coloured and compared with the
originals, next to two baselines computed the same way.

Baselines: ``gray`` (the gray image itself, ab = 0) and ``mean chroma`` (gray plus the training
set's mean ab, stored in the model file). Methods:

* ``model``: the photo's lightness alone;
* ``exemplar``: leave-one-out — the references are the *other* photos of the folder;
* ``hints``: simulated scribbles — ``hint_patches`` small squares of the true colour, at seeded
  random places.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

import numpy as np
import torch

from artkit.color.metrics import (ab_errors, auc, bin_ids, colourfulness, psnr,
                                  rebalance_pixel_weights)
from artkit.color.api import Colorizer
from artkit.color.chroma import is_color
from artkit.color.model import ColorModel
from artkit.color.upsample import load_rgb
from artkit.core.errors import ArtkitError
from artkit.core.images import lab_to_rgb, list_images, rgb_to_gray, rgb_to_lab
from artkit.core.progress import ProgressCallback, report
from artkit.core.result import Evaluation
from artkit.core.runtime import default_generator

BASELINES = ("gray", "mean chroma")


@dataclass(kw_only=True)
class ColorEvaluation(Evaluation):
    """Figures per method (the method evaluated and the baselines) and per image.

    Attributes:
        method: the method evaluated.
        rows: ``{name: {"auc", "auc_rebalanced", "psnr", "colourfulness_ratio"}}`` for the
            method and each baseline.
        per_image: per photo, the same figures (``auc``, ``psnr``, ``colourfulness_ratio``).
        skipped: ``(path, reason)`` of photos left out (unreadable, gray).
        seconds_per_image: mean wall time of the method per photo.
    """

    method: str
    rows: dict[str, dict[str, float]]
    per_image: list[dict]
    skipped: list[tuple[str, str]] = field(default_factory=list)
    seconds_per_image: float = 0.0

    def to_dict(self) -> dict:
        return {"method": self.method, "rows": self.rows, "per_image": self.per_image,
                "skipped": [list(s) for s in self.skipped],
                "seconds_per_image": self.seconds_per_image, "seconds": self.seconds,
                "notes": list(self.notes), "weights": dict(self.weights)}


def simulated_hints(rgb: torch.Tensor, n: int, gen: torch.Generator, side: int = 5) -> np.ndarray:
    """A scribble image: the gray photo with ``n`` squares of the true colour, (H, W, 3)."""
    H, W = rgb.shape[-2:]
    gray = rgb_to_gray(rgb)[0, 0].numpy()
    out = np.repeat(gray[..., None], 3, axis=2).astype(np.float64)
    true = rgb[0].permute(1, 2, 0).numpy()
    for _ in range(n):
        y = int(torch.randint(0, max(1, H - side), (1,), generator=gen))
        x = int(torch.randint(0, max(1, W - side), (1,), generator=gen))
        out[y:y + side, x:x + side] = true[y:y + side, x:x + side]
    return out


def evaluate(photos: str | os.PathLike | Iterable[str | os.PathLike], method: str = "model", *,
             colorizer: Colorizer | None = None,
             model: str | os.PathLike | ColorModel | None = None,
             device: str | torch.device = "auto", max_side: int = 384,
             render_size: int | None = None, hint_patches: int = 40,
             generator: torch.Generator | None = None,
             progress: ProgressCallback | None = None) -> ColorEvaluation:
    """Colour the gray versions of colour photos and measure against the originals.

    Args:
        photos: a folder of colour photos (or several files and folders).
        method: ``"model"``, ``"exemplar"`` or ``"hints"`` (``"auto"`` means model here: no
            hints or references come with a folder of photos).
        colorizer: a loaded :class:`Colorizer` (built for ``model`` and ``method``); default:
            one built here from ``model`` and ``device``.
        model: model file (its mean chroma is also the second baseline).
        device: where the networks run (when building the colorizer).
        max_side: photos are scaled so their long side is at most this.
        render_size: passed to :meth:`Colorizer.colorize`.
        hint_patches: simulated scribbles per photo (hints method).
        generator: draws the simulated scribbles.
        progress: progress callback (task ``"evaluate"``).

    Raises:
        ArtkitError: an unknown method, no usable colour photos, too few for leave-one-out.
    """
    t_start = time.perf_counter()
    method = "model" if method == "auto" else method
    if method not in ("model", "exemplar", "hints"):
        raise ArtkitError(f"unknown method '{method}'", "use model, exemplar or hints")
    paths = list_images([photos] if isinstance(photos, (str, os.PathLike)) else photos)
    images, skipped = [], []
    for p in paths:
        try:
            rgb = load_rgb(p, max_side=max_side)
        except ArtkitError as exc:
            skipped.append((str(p), exc.one_line()))
            continue
        if not is_color(rgb):
            skipped.append((str(p), "not a colour photo"))
            continue
        images.append((p, rgb))
    if not images:
        raise ArtkitError(f"no colour photos to evaluate on in '{photos}'",
                          "give a folder of colour photos")
    if method == "exemplar" and len(images) < 2:
        raise ArtkitError("the exemplar evaluation needs at least two photos (leave-one-out)")
    colorizer = colorizer or Colorizer(model, device=device, methods=("model", method))
    if colorizer.model is None:
        raise ArtkitError("the evaluation needs the colorizer's model (for the mean-chroma "
                          "baseline)", "build the Colorizer with methods including 'model'")
    mean_ab = colorizer.model.mean_ab.view(1, 2, 1, 1).cpu()
    gen = default_generator(generator)
    names = [method, *BASELINES]
    errs: dict[str, list[torch.Tensor]] = {k: [] for k in names}
    stats = {k: {"psnr": [], "cf": []} for k in names}
    ids, per_image, spent = [], [], 0.0
    for i, (p, rgb) in enumerate(images):
        report(progress, "evaluate", i, len(images), Path(p).name)
        lab = rgb_to_lab(rgb)
        L, ab_true = lab[:, :1], lab[:, 1:]
        kwargs = {}
        if method == "exemplar":
            kwargs["reference"] = [q for j, (q, _) in enumerate(images) if j != i]
        if method == "hints":
            kwargs["hints"] = simulated_hints(rgb, hint_patches, gen)
        t0 = time.perf_counter()
        res = colorizer.colorize(rgb, method, render_size=render_size, **kwargs)
        spent += time.perf_counter() - t0
        outs = {method: res.image,
                "gray": lab_to_rgb(torch.cat([L, torch.zeros_like(ab_true)], dim=1)),
                "mean chroma": lab_to_rgb(torch.cat([L, mean_ab.expand_as(ab_true)], dim=1))}
        cf_true = colourfulness(rgb)
        row = {"image": str(p)}
        for k, out in outs.items():
            e = ab_errors(rgb_to_lab(out)[:, 1:], ab_true)
            errs[k].append(e)
            ps = psnr(out, rgb)
            cf = colourfulness(out) / max(cf_true, 1e-6)
            stats[k]["psnr"].append(ps)
            stats[k]["cf"].append(cf)
            row[k] = {"auc": auc(e), "psnr": ps, "colourfulness_ratio": cf}
        ids.append(bin_ids(ab_true))
        per_image.append(row)
    report(progress, "evaluate", len(images), len(images))
    w = rebalance_pixel_weights(torch.cat(ids))
    rows = {}
    for k in names:
        e = torch.cat(errs[k])
        rows[k] = {"auc": auc(e), "auc_rebalanced": auc(e, w),
                   "psnr": float(np.mean(stats[k]["psnr"])),
                   "colourfulness_ratio": float(np.mean(stats[k]["cf"]))}
    return ColorEvaluation(method=method, rows=rows, per_image=per_image, skipped=skipped,
                           seconds_per_image=spent / len(images),
                           seconds=time.perf_counter() - t_start,
                           notes=list(colorizer.notes), weights=dict(colorizer.weights))
