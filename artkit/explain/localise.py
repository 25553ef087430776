"""Does the map point at the thing? A localisation benchmark on composite images.

An object crop the network recognises (a cat's head, an espresso, a rocket ...) is pasted at a
random place and scale onto a background of another kind (a texture, a landscape); a composite
counts only when the network's top class is one of the object's classes. Every method's map
(summed over colour channels; signed maps by their positive evidence, the others by magnitude)
is then scored by

* the **energy pointing game**: the share of the map's (positive) mass inside the object's box;
* the **pointing game**: whether the map's maximum lies inside the box.

Two baselines come from the same composites: *random* (a map with no information: its energy
share and hit rate both equal the box's share of the image) and *centre bias* (a Gaussian
bump at the image centre, σ a quarter of the side — what a method that ignores the image but
knows that objects are often central would score).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from artkit.core.errors import ArtkitError
from artkit.core.progress import ProgressCallback, report
from artkit.core.runtime import default_generator
from artkit.explain.methods import get_method


@dataclass
class ObjectCrop:
    """An object to paste: the picture (the whole crop is the object's box) and the classes
    that count as recognising it."""

    name: str
    image: Image.Image
    classes: frozenset[int]


@dataclass
class Composite:
    """One composite: the (C, H, W) input, the object's box (top, left, bottom, right) in its
    pixels, the object's name and the class the network answered."""

    x: torch.Tensor
    box: tuple[int, int, int, int]
    name: str
    target: int


def make_composites(objects: Sequence[ObjectCrop], backgrounds: Sequence[Image.Image],
                    classify: Callable[[torch.Tensor], torch.Tensor], n: int, *, size: int = 224,
                    scale: tuple[float, float] = (0.3, 0.6), max_tries: int = 20,
                    generator: torch.Generator | None = None) -> list[Composite]:
    """``n`` composites the network recognises (see the module docstring).

    Args:
        objects: the object crops.
        backgrounds: pictures of another kind (resized to ``size`` squares).
        classify: (1, 3, size, size) in [0, 1] → (1, K) logits.
        n: composites wanted.
        size: side of the composites.
        scale: range of the object's longer side as a share of ``size``.
        max_tries: attempts per composite before giving up on finding more.
    """
    gen = default_generator(generator)
    bgs = [_tensor(b.convert("RGB").resize((size, size), Image.Resampling.BICUBIC)) for b in backgrounds]
    out: list[Composite] = []
    tries = 0
    while len(out) < n and tries < n * max_tries:
        tries += 1
        obj = objects[int(torch.randint(len(objects), (1,), generator=gen))]
        bg = bgs[int(torch.randint(len(bgs), (1,), generator=gen))]
        s = scale[0] + (scale[1] - scale[0]) * float(torch.rand(1, generator=gen))
        w, h = obj.image.size
        f = s * size / max(w, h)
        ow, oh = max(8, round(w * f)), max(8, round(h * f))
        top = int(torch.randint(0, size - oh + 1, (1,), generator=gen))
        left = int(torch.randint(0, size - ow + 1, (1,), generator=gen))
        x = bg.clone()
        x[:, top:top + oh, left:left + ow] = _tensor(obj.image.convert("RGB").resize(
            (ow, oh), Image.Resampling.BICUBIC))
        with torch.no_grad():
            t = int(classify(x[None]).argmax(1))
        if t in obj.classes:
            out.append(Composite(x, (top, left, top + oh, left + ow), obj.name, t))
    return out


def _tensor(im: Image.Image) -> torch.Tensor:
    return torch.from_numpy(np.asarray(im, dtype=np.float32) / 255.0).permute(2, 0, 1).contiguous()


def scores(heat: torch.Tensor, box: tuple[int, int, int, int], signed: bool) -> tuple[float, bool]:
    """(energy share inside ``box``, pointing-game hit) of one (C, H, W) map."""
    m = heat.float().sum(0)  # (H, W)
    m = m.clamp(min=0) if signed else m.abs()
    t, l, b, r = box
    total = float(m.sum())
    inside = float(m[t:b, l:r].sum())
    energy = inside / total if total > 0 else 0.0
    idx = int(m.flatten().argmax())
    i, j = divmod(idx, m.shape[1])
    return energy, (t <= i < b and l <= j < r) and total > 0


def centre_map(h: int, w: int) -> torch.Tensor:
    """A centred Gaussian bump (σ a quarter of each side): the centre-bias baseline, (1, H, W)."""
    yy = torch.arange(h, dtype=torch.float32)[:, None] - (h - 1) / 2
    xx = torch.arange(w, dtype=torch.float32)[None, :] - (w - 1) / 2
    return torch.exp(-0.5 * ((yy / (h / 4)) ** 2 + (xx / (w / 4)) ** 2))[None]


@dataclass
class LocalisationScore:
    """One method's (or baseline's) scores over the composites."""

    method: str
    energy: float       # mean share of positive evidence inside the box
    hits: float         # pointing-game hit rate
    n: int


def localisation(explain_fn: Callable[[torch.Tensor, int, str], torch.Tensor],
                 composites: Sequence[Composite], methods: Sequence[str], *,
                 progress: ProgressCallback | None = None) -> list[LocalisationScore]:
    """Score each method (and the random and centre-bias baselines) on the composites.

    Args:
        explain_fn: ``(x (1, C, H, W), target, method) -> (C, H, W)`` attribution.
        composites: from :func:`make_composites`.
        methods: registered method names.
    """
    sums = {m: [0.0, 0.0] for m in list(methods) + ["random", "centre bias"]}
    for i, c in enumerate(composites):
        t, l, b, r = c.box
        h, w = c.x.shape[-2:]
        area = (b - t) * (r - l) / (h * w)
        sums["random"][0] += area
        sums["random"][1] += area
        e, hit = scores(centre_map(h, w), c.box, True)
        sums["centre bias"][0] += e
        sums["centre bias"][1] += float(hit)
        for m in methods:
            e, hit = scores(explain_fn(c.x[None], c.target, m), c.box, get_method(m).signed)
            sums[m][0] += e
            sums[m][1] += float(hit)
        report(progress, "localisation", i + 1, len(composites))
    n = max(1, len(composites))
    return [LocalisationScore(m, s[0] / n, s[1] / n, len(composites)) for m, s in sums.items()]


# ImageNet objects and backgrounds that ship with scikit-image (crops chosen once, by hand, in
# the source photos; a composite still counts only when the network recognises the object).
IMAGENET_OBJECTS = (  # (skimage.data name, crop box (left, top, right, bottom), ImageNet classes)
    ("chelsea", (90, 10, 400, 300), frozenset(range(281, 286))),        # tabby ... Egyptian cat
    ("coffee", (40, 10, 560, 390), frozenset({967, 968, 504})),         # espresso, cup, mug
    ("rocket", (140, 0, 300, 640), frozenset({657, 744, 812})),         # missile, projectile, shuttle
)
TEXTURES = ("brick", "grass", "gravel", "hubble_deep_field", "immunohistochemistry")


def imagenet_objects() -> tuple[list[ObjectCrop], list[Image.Image]]:
    """The object crops and texture backgrounds for ImageNet classifiers (scikit-image data)."""
    import skimage.data

    objects = [ObjectCrop(name, Image.fromarray(getattr(skimage.data, name)()).crop(box), classes)
               for name, box, classes in IMAGENET_OBJECTS]
    backgrounds = [Image.fromarray(getattr(skimage.data, name)()).convert("RGB") for name in TEXTURES]
    return objects, backgrounds


# Objects in no pattern-fitting set (neither the shipped patterns' ten photos nor the photos
# ``benchmarks/explain.py --gather`` fits on): opencv-doc's sample photos, written by --gather into
# DIR/objects under these names. The network's top class on each crop is the object's.
UNSEEN_OBJECTS = (  # (file name, crop box (left, top, right, bottom), ImageNet classes)
    ("baboon.jpg", (40, 0, 472, 512), frozenset({372})),                # baboon
    ("butterfly.jpg", (5, 15, 490, 315), frozenset(range(321, 327))),   # admiral ... lycaenid
    ("orange.jpg", (30, 60, 470, 490), frozenset({950})),               # orange
    ("pekinese.png", (110, 40, 470, 400), frozenset(range(151, 269))),  # any dog
    ("squirrel.jpg", (125, 100, 400, 360), frozenset({335})),           # fox squirrel
)


def unseen_objects(folder: str | Path) -> list[ObjectCrop]:
    """The :data:`UNSEEN_OBJECTS` crops, read from ``folder``.

    Raises:
        ArtkitError: a photo is missing from ``folder``.
    """
    out = []
    for name, box, classes in UNSEEN_OBJECTS:
        path = Path(folder) / name
        if not path.is_file():
            raise ArtkitError(f"object photo {path} not found",
                              "write it with `python benchmarks/explain.py --gather DIR` (DIR/objects)")
        out.append(ObjectCrop(path.stem, Image.open(path).convert("RGB").crop(box), classes))
    return out
