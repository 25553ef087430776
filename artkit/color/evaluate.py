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

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from artkit.color import metrics
from artkit.color.inputs import list_images
from artkit.core.errors import ArtkitError
from artkit.core.images import lab_to_rgb, rgb_to_lab
from artkit.core.progress import ProgressCallback, report

BASELINES = ("gray", "mean chroma")


@dataclass
class EvalResult:
    """Figures per method (the method evaluated and the baselines) and per image."""

    method: str
    rows: dict[str, dict[str, float]]
    per_image: list[dict]
    skipped: list[tuple[str, str]] = field(default_factory=list)
    seconds_per_image: float = 0.0


def simulated_hints(rgb: torch.Tensor, n: int, gen: torch.Generator, side: int = 5) -> np.ndarray:
    """A scribble image: the gray photo with ``n`` squares of the true colour, (H, W, 3)."""
    from artkit.core.images import rgb_to_gray

    H, W = rgb.shape[-2:]
    gray = rgb_to_gray(rgb)[0, 0].numpy()
    out = np.repeat(gray[..., None], 3, axis=2).astype(np.float64)
    true = rgb[0].permute(1, 2, 0).numpy()
    for _ in range(n):
        y = int(torch.randint(0, max(1, H - side), (1,), generator=gen))
        x = int(torch.randint(0, max(1, W - side), (1,), generator=gen))
        out[y:y + side, x:x + side] = true[y:y + side, x:x + side]
    return out


def evaluate(photos: str | Path | list, method: str = "model", *, model: str | Path | None = None,
             max_side: int = 384, render_size: int | None = None, hint_patches: int = 40,
             seed: int = 0, device="cpu", progress: ProgressCallback | None = None) -> EvalResult:
    """Colour the gray versions of colour photos and measure against the originals.

    Args:
        photos: a folder (or list) of colour photos.
        method: ``"model"``, ``"exemplar"`` or ``"hints"`` (``"auto"`` means model here: no
            hints or references come with a folder of photos).
        model: model file (its mean chroma is also the second baseline).
        max_side: photos are scaled so their long side is at most this.
        render_size: passed to :func:`artkit.color.colorize`.
        hint_patches: simulated scribbles per photo (hints method).
        seed: seeds the simulated scribbles.

    Raises:
        ArtkitError: no usable colour photos.
    """
    import time

    from artkit.color.api import as_rgb_tensor, colorize, get_model, is_color

    if method == "auto":
        method = "model"
    if method not in ("model", "exemplar", "hints"):
        raise ArtkitError(f"unknown method '{method}'", "use model, exemplar or hints")
    paths = list_images([photos] if isinstance(photos, (str, Path)) else photos)
    mean_ab = get_model(model, device)[0].mean_ab.view(1, 2, 1, 1).cpu()
    gen = torch.Generator().manual_seed(seed)
    images, skipped = [], []
    for p in paths:
        try:
            rgb = as_rgb_tensor(p, max_side=max_side)
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
    names = [method, *BASELINES]
    errs = {k: [] for k in names}
    ids, per_image, stats = [], [], {k: {"psnr": [], "cf": []} for k in names}
    spent = 0.0
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
        res = colorize(rgb, method, model=model, render_size=render_size, device=device,
                       **kwargs)
        spent += time.perf_counter() - t0
        outs = {method: res.image,
                "gray": lab_to_rgb(torch.cat([L, torch.zeros_like(ab_true)], dim=1)),
                "mean chroma": lab_to_rgb(torch.cat([L, mean_ab.expand_as(ab_true)], dim=1))}
        cf_true = metrics.colourfulness(rgb)
        row = {"image": str(p)}
        for k, out in outs.items():
            ab = rgb_to_lab(out)[:, 1:]
            e = metrics.ab_errors(ab, ab_true)
            errs[k].append(e)
            ps = metrics.psnr(out, rgb)
            cf = metrics.colourfulness(out) / max(cf_true, 1e-6)
            stats[k]["psnr"].append(ps)
            stats[k]["cf"].append(cf)
            row[k] = {"auc": metrics.auc(e), "psnr": ps, "colourfulness_ratio": cf}
        ids.append(metrics.bin_ids(ab_true))
        per_image.append(row)
    report(progress, "evaluate", len(images), len(images))
    all_ids = torch.cat(ids)
    w = metrics.rebalance_pixel_weights(all_ids)
    rows = {}
    for k in names:
        e = torch.cat(errs[k])
        rows[k] = {"auc": metrics.auc(e), "auc_rebalanced": metrics.auc(e, w),
                   "psnr": float(np.mean(stats[k]["psnr"])),
                   "colourfulness_ratio": float(np.mean(stats[k]["cf"]))}
    return EvalResult(method, rows, per_image, skipped, spent / len(images))
