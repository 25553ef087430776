"""High-level explain functions shared by ``artkit explain`` and the other capabilities."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from PIL import Image

from artkit.core.errors import ArtkitError
from artkit.core.progress import ProgressCallback, report
from artkit.explain.attribute import METHODS, NEEDS_PATTERNS, attribute
from artkit.explain.graph import trace
from artkit.explain.models import Explainable
from artkit.explain.patterns import Patterns, fit_patterns

GRID_METHODS = ("patternnet", "patternattribution", "gradient", "smoothgrad", "lrp_epsilon")


def image_batches(explainable: Explainable, source: str | Path, *, crops: int = 1, limit: int | None = None,
                  batch: int = 16, seed: int = 0, progress: ProgressCallback | None = None) -> list[torch.Tensor]:
    """Model inputs from a folder of images (``crops`` random crops each, flips included) or,
    for the Fashion-MNIST CNN, ``fashion-mnist`` / ``fashion-mnist:test``.

    Raises:
        ArtkitError: missing folder, no readable image.
    """
    src = str(source)
    if src.startswith("fashion-mnist"):
        from artkit.explain.fashion import load_split

        x, _ = load_split("test" if src.endswith(":test") else "train")
        if explainable.image_size != 28 or next(explainable.model.parameters()).shape[1] != 1:
            raise ArtkitError(f"fashion-mnist images (28x28 grey) do not fit model '{explainable.name}'",
                              "use --model fashion-cnn, or a folder of photos")
        x = x[:limit] if limit else x
        return list(x.split(batch))
    from artkit.classify.features import image_files
    from artkit.core.images import load_image

    folder = Path(src)
    if not folder.is_dir():
        raise ArtkitError(f"data folder '{folder}' does not exist",
                          "give a folder of images (or fashion-mnist for the Fashion-MNIST CNN)")
    files = image_files([folder])
    gen = torch.Generator().manual_seed(seed)
    items: list[torch.Tensor] = []
    for i, f in enumerate(files):
        try:
            img = load_image(f)
        except ArtkitError:
            continue
        items.append(explainable.preprocess(img)[0])
        for _ in range(crops - 1):
            items.append(explainable.preprocess(_random_crop(img, gen))[0])
        report(progress, "read images", i + 1, len(files))
        if limit and len(items) >= limit:
            break
    if not items:
        raise ArtkitError(f"no readable images in '{folder}'", "add .jpg/.png files to it")
    items = items[:limit] if limit else items
    return list(torch.stack(items).split(batch))


def _random_crop(img: Image.Image, gen: torch.Generator) -> Image.Image:
    w, h = img.size
    frac = 0.35 + 0.65 * float(torch.rand(1, generator=gen))
    cw, ch = max(8, int(w * frac)), max(8, int(h * frac))
    left = int(torch.randint(0, w - cw + 1, (1,), generator=gen))
    top = int(torch.randint(0, h - ch + 1, (1,), generator=gen))
    out = img.crop((left, top, left + cw, top + ch))
    if float(torch.rand(1, generator=gen)) < 0.5:
        out = out.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    return out


def load_patterns(explainable: Explainable, path: str | Path | None = None) -> Patterns | None:
    """Patterns from ``path``, else the shipped ones for the model (None if there are none).

    Raises:
        ArtkitError: the file is missing, unreadable, or belongs to another model.
    """
    if path is None and explainable.patterns is not None:
        return explainable.patterns
    if path is None:
        shipped = explainable.patterns_file
        if shipped is None or not shipped.is_file():
            return None
        path = shipped
    patterns = Patterns.load(path)
    patterns.check(explainable.model)
    return patterns


@dataclass
class Explanation:
    """The attributions of one image by several methods."""

    target: int
    label: str
    score: float
    maps: dict[str, torch.Tensor]


def explain(explainable: Explainable, x: torch.Tensor, methods=("patternattribution",),
            target: int | None = None, patterns: Patterns | None = None, seed: int = 0) -> Explanation:
    """Attributions of one input (1, C, H, W) by each of ``methods`` for ``target`` (default: top).

    Raises:
        ArtkitError: a pattern method without patterns, a bad target.
    """
    for m in methods:
        if m not in METHODS:
            raise ArtkitError(f"unknown method '{m}'", f"use one of: {', '.join(METHODS)}, all")
        if m in NEEDS_PATTERNS and patterns is None:
            raise ArtkitError(f"{m} needs patterns and none ship for model '{explainable.name}'",
                              "fit them with `artkit explain fit --model ... --data DIR -o P` and "
                              "pass --patterns P")
    model = explainable.model
    with torch.no_grad():
        probs = torch.softmax(model(x).float(), 1)[0]
    k = probs.shape[0]
    t = int(probs.argmax()) if target is None else int(target)
    if not 0 <= t < k:
        raise ArtkitError(f"target {t} is out of range: model '{explainable.name}' has {k} outputs "
                          f"(0..{k - 1})")
    graph = trace(model, x)
    maps = {m: attribute(model, x, m, target=t, patterns=patterns, graph=graph, seed=seed)[0]
            for m in methods}
    label = explainable.labels[t] if t < len(explainable.labels) else f"output {t}"
    return Explanation(t, label, float(probs[t]), maps)


def fit(explainable: Explainable, data: str | Path, *, estimator: str = "relu", crops: int = 4,
        limit: int | None = None, positions: int | None = 256, seed: int = 0,
        progress: ProgressCallback | None = None) -> Patterns:
    """Fit patterns for a named model on a folder of images (or Fashion-MNIST)."""
    batches = image_batches(explainable, data, crops=crops, limit=limit, seed=seed, progress=progress)
    device = next(explainable.model.parameters()).device
    patterns = fit_patterns(explainable.model, batches, estimator, positions=positions, seed=seed,
                            device=device, total=len(batches), progress=progress)
    patterns.meta.update({"model": explainable.name, "data": str(data), "crops": crops,
                          "images": sum(len(b) for b in batches)})
    return patterns
