"""The front door of ``artkit explain``: :class:`Explainer`, :func:`explain`, :func:`fit`.

An :class:`Explainer` holds one model and its patterns, loaded once; ``explain(image, ...)``
returns an :class:`Explanation` with one attribution map per method. The one-call
:func:`explain` builds an Explainer and calls it. Other capabilities (colorize's and story's
``--explain``, ``classify predict --explain``) use these names from ``artkit.explain``.

Example (needs the EfficientNet-Lite0 weights)::

    from artkit.explain import Explainer
    ex = Explainer("efficientnet-lite0")
    result = ex.explain("cat.jpg", methods=("patternattribution", "lrp_epsilon"))
    result.label, result.maps["patternattribution"].shape   # 'tiger cat', (3, 224, 224)
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from PIL import Image

from artkit.core import distributed
from artkit.core.errors import ArtkitError
from artkit.core.images import ImageLike, as_image, list_images, load_image
from artkit.core.progress import ProgressCallback, report
from artkit.core.provenance import record_all, recording
from artkit.core.result import Result, Timer
from artkit.core.runtime import default_generator, make_generator, resolve_device
from artkit.explain.attribute import attribute
from artkit.explain.fashion import load_split
from artkit.explain.graph import trace
from artkit.explain.methods import get_method, method_names
from artkit.explain.models import Explainable, load_model, resolve_patterns
from artkit.explain.patterns import Patterns, SeededBatch, fit_patterns

DEFAULT_METHODS = ("patternnet", "patternattribution", "gradient", "smoothgrad", "lrp_epsilon")
GRID_METHODS = DEFAULT_METHODS  # the old name


@dataclass(kw_only=True)
class Explanation(Result):
    """The attributions of one input by several methods.

    Attributes:
        target: the output explained.
        label: its name.
        score: its probability (softmax of the outputs).
        maps: ``{method: (C, H, W) attribution}`` in the order asked for.
        image: (C, H, W) the model's input (after its preprocessing's resize and crop).
        model: the model's name.
    """

    target: int
    label: str
    score: float
    maps: dict[str, torch.Tensor]
    image: torch.Tensor | None = None
    model: str = ""

    def to_dict(self) -> dict:
        """The figures without the maps (which are pictures, not figures)."""
        return {"target": self.target, "label": self.label, "score": self.score,
                "methods": list(self.maps), "model": self.model, "seconds": self.seconds,
                "notes": list(self.notes), "weights": dict(self.weights)}


def check_methods(methods: Iterable[str], patterns: Patterns | None, model: str = "") -> list[str]:
    """The methods as a list, each checked to exist and to have the patterns it needs.

    Raises:
        ArtkitError: an unknown method, or a pattern method without patterns.
    """
    out = list(dict.fromkeys(methods))
    if not out:
        raise ArtkitError("no attribution method given", f"use one of: {', '.join(method_names())}")
    for m in out:
        if get_method(m).needs_patterns and patterns is None:
            raise ArtkitError(f"{m} needs patterns and none ship for model '{model}'",
                              "fit them with `artkit explain fit --model ... --data DIR -o P` and "
                              "pass --patterns P")
    return out


class Explainer:
    """One model (and its patterns) ready to explain inputs; construct once, call many times.

    Args:
        model: ``efficientnet-lite0``, ``vgg16-hed``, ``fashion-cnn``, a model file from
            ``artkit classify train``, or an already loaded :class:`Explainable`.
        patterns: a patterns file or :class:`Patterns` (default: the ones that ship for the
            model; ``None`` when none do — the pattern methods then refuse).
        device: ``auto``, ``cpu``, ``cuda``, ``cuda:N`` or a ``torch.device``.

    Attributes:
        device: where the model runs.
        weights: ``{name: sha256}`` of the weights and files loaded.
        explainable: the model with its labels and preprocessing.
        patterns: the patterns, or ``None``.
    """

    def __init__(self, model: str | os.PathLike | Explainable = "efficientnet-lite0", *,
                 patterns: str | os.PathLike | Patterns | None = None,
                 device: str | torch.device = "auto"):
        self.device = resolve_device(device)
        with recording() as used:
            if isinstance(model, Explainable):
                self.explainable = model
                self.explainable.model.to(self.device)
            else:
                self.explainable = load_model(str(model), self.device)
            self.patterns = load_patterns(self.explainable, patterns)
        self.weights = dict(used)

    @property
    def name(self) -> str:
        return self.explainable.name

    def prepare(self, image: ImageLike | torch.Tensor) -> torch.Tensor:
        """An image (path, PIL, array) → the model's (1, C, H, W) input; a 4-d tensor is taken
        as an input already."""
        if isinstance(image, torch.Tensor) and image.dim() == 4:
            return image.to(self.device)
        pil = as_image(image, "RGB")
        return self.explainable.preprocess(pil).to(self.device)

    def explain(self, image: ImageLike | torch.Tensor, *, methods: Sequence[str] = DEFAULT_METHODS,
                target: int | None = None, generator: torch.Generator | None = None,
                progress: ProgressCallback | None = None) -> Explanation:
        """Attributions of one image by each of ``methods`` for ``target`` (default: the top
        output).

        Args:
            image: a path, PIL image, array, or the model's (1, C, H, W) input tensor.
            methods: registered method names (or ``smooth:NAME``); pattern methods are
                dropped, with a note, when the model has no patterns and ``methods`` is the
                default.
            target: the output to explain.
            generator: randomness of the smoothed methods (default: seeded with 0).
            progress: called once per method.

        Raises:
            ArtkitError: unknown method, pattern method without patterns, bad target.
        """
        timer = Timer().__enter__()
        notes = []
        if self.patterns is None and tuple(methods) == DEFAULT_METHODS:
            methods = [m for m in methods if not get_method(m).needs_patterns]
            notes.append(f"no patterns for '{self.name}': PatternNet and PatternAttribution left out")
        methods = check_methods(methods, self.patterns, self.name)
        x = self.prepare(image)
        model = self.explainable.model
        with torch.no_grad():
            probs = torch.softmax(model(x).float(), 1)[0]
        k = probs.shape[0]
        t = int(probs.argmax()) if target is None else int(target)
        if not 0 <= t < k:
            raise ArtkitError(f"target {t} is out of range: model '{self.name}' has {k} outputs "
                              f"(0..{k - 1})")
        gen = default_generator(generator)
        graph = trace(model, x)
        maps = {}
        for i, m in enumerate(methods):
            maps[m] = attribute(model, x, m, target=t, patterns=self.patterns, graph=graph,
                                generator=gen)[0].cpu()
            report(progress, "explain", i + 1, len(methods), message=m)
        labels = self.explainable.labels
        label = labels[t] if t < len(labels) else f"output {t}"
        timer.__exit__()
        record_all(self.weights)
        return Explanation(target=t, label=label, score=float(probs[t]), maps=maps,
                           image=x[0].cpu(), model=self.name, seconds=timer.seconds,
                           notes=notes, weights=dict(self.weights))


def explain(image, x=None, methods: Sequence[str] = DEFAULT_METHODS, target: int | None = None,
            patterns: Patterns | str | os.PathLike | None = None, seed: int | None = None, *,
            model: str | os.PathLike = "efficientnet-lite0", device: str | torch.device = "auto",
            generator: torch.Generator | None = None,
            progress: ProgressCallback | None = None) -> Explanation:
    """Explain one image in one call: ``explain("cat.jpg", model="efficientnet-lite0")``.

    The older form ``explain(explainable, x, methods, target, patterns, seed=...)`` (a loaded
    :class:`Explainable` and its input tensor) still works.

    Args:
        image: a path, PIL image, array or input tensor (or, in the old form, an Explainable).
        x: the old form's (1, C, H, W) input.
        methods, target, generator, progress: as :meth:`Explainer.explain`.
        patterns: patterns (file or object); default: the shipped ones.
        seed: the old form's seed (a generator is made from it).
        model: the model (new form).
        device: where to run (new form; the old form runs where the model is).
    """
    if generator is None and seed is not None:
        generator = make_generator(seed)
    if isinstance(image, Explainable):
        ex = Explainer(image, patterns=patterns, device=_device_of(image))
        return ex.explain(x, methods=methods, target=target, generator=generator, progress=progress)
    ex = Explainer(model, patterns=patterns, device=device)
    return ex.explain(image, methods=methods, target=target, generator=generator, progress=progress)


def _device_of(explainable: Explainable) -> torch.device:
    p = next(explainable.model.parameters(), None)
    return p.device if p is not None else torch.device("cpu")


def load_patterns(explainable: Explainable, path: str | os.PathLike | Patterns | None = None
                  ) -> Patterns | None:
    """Patterns from ``path``, else the shipped ones for the model (None if there are none).

    Raises:
        ArtkitError: the file is missing, unreadable, or belongs to another model.
    """
    if isinstance(path, Patterns):
        path.check(explainable.model)
        return path
    if path is None and explainable.patterns is not None:
        return explainable.patterns
    if path is None:
        shipped = explainable.patterns_file
        if shipped is None or not shipped.is_file():
            return None
        path = shipped
    else:
        path = resolve_patterns(explainable.name, path)
    patterns = Patterns.load(path)
    patterns.check(explainable.model)
    return patterns


# --------------------------------------------------------------------------------- data


def _folder_images(src: str) -> tuple[Path, list[Path]]:
    """The images of a data folder (none when it holds none)."""
    folder = Path(src)
    if not folder.is_dir():
        raise ArtkitError(f"data folder '{folder}' does not exist",
                          "give a folder of images (or fashion-mnist for the Fashion-MNIST CNN)")
    try:
        return folder, list_images([folder])
    except ArtkitError:
        return folder, []


def image_inputs(explainable: Explainable, source: str | os.PathLike, *, crops: int = 1,
                 limit: int | None = None, generator: torch.Generator | None = None,
                 progress: ProgressCallback | None = None) -> Iterator[torch.Tensor]:
    """Model inputs (C, H, W), streamed, from a folder of images — each image whole, then
    ``crops − 1`` random crops of 35–100 % of its size, mirrored half of the time — or, for the
    Fashion-MNIST CNN, from ``fashion-mnist`` / ``fashion-mnist:test``.

    Raises:
        ArtkitError: missing folder, no readable image, data that does not fit the model.
    """
    src = str(source)
    if src.startswith("fashion-mnist"):
        if explainable.image_size != 28 or next(explainable.model.parameters()).shape[1] != 1:
            raise ArtkitError(f"fashion-mnist images (28x28 grey) do not fit model "
                              f"'{explainable.name}'", "use --model fashion-cnn, or a folder of photos")
        x, _ = load_split("test" if src.endswith(":test") else "train")
        yield from (x[:limit] if limit else x)
        return
    folder, files = _folder_images(src)
    gen = default_generator(generator)
    n = 0
    for i, f in enumerate(files):
        try:
            img = load_image(f)
        except ArtkitError:
            continue
        for c in range(crops):
            yield explainable.preprocess(img if c == 0 else random_crop(img, gen))[0]
            n += 1
            if limit and n >= limit:
                return
        report(progress, "read images", i + 1, len(files))
    if n == 0:
        raise ArtkitError(f"no readable images in '{folder}'", "add .jpg/.png files to it")


def batched(items: Iterable[torch.Tensor], batch: int = 16) -> Iterator[torch.Tensor]:
    """Stack a stream of (C, H, W) tensors into (B, C, H, W) batches."""
    buf = []
    for t in items:
        buf.append(t)
        if len(buf) == batch:
            yield torch.stack(buf)
            buf = []
    if buf:
        yield torch.stack(buf)


def image_batches(explainable: Explainable, source: str | os.PathLike, *, crops: int = 1,
                  limit: int | None = None, batch: int = 16, seed: int = 0,
                  progress: ProgressCallback | None = None) -> list[torch.Tensor]:
    """:func:`image_inputs` as a list of (B, C, H, W) batches (held in memory)."""
    return list(batched(image_inputs(explainable, source, crops=crops, limit=limit,
                                     generator=make_generator(seed), progress=progress), batch))


def random_crop(img: Image.Image, gen: torch.Generator) -> Image.Image:
    """A random crop of 35–100 % of each side, mirrored half of the time."""
    w, h = img.size
    frac = 0.35 + 0.65 * float(torch.rand(1, generator=gen))
    cw, ch = max(8, int(w * frac)), max(8, int(h * frac))
    left = int(torch.randint(0, w - cw + 1, (1,), generator=gen))
    top = int(torch.randint(0, h - ch + 1, (1,), generator=gen))
    out = img.crop((left, top, left + cw, top + ch))
    if float(torch.rand(1, generator=gen)) < 0.5:
        out = out.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    return out


# --------------------------------------------------------------------------------- fitting


def _fit_units(explainable: Explainable, data: str | os.PathLike, crops: int,
               limit: int | None) -> tuple[int, Callable[[int, torch.Generator], torch.Tensor | None]]:
    """The pass of :func:`fit` cut into units (batches of at most 16 inputs, or the crops of
    one image): their number, and ``make(k, generator)`` — unit ``k``'s inputs, (B, C, H, W),
    its crops drawn from ``generator``; ``None`` when none of its images can be read."""
    src = str(data)
    if src.startswith("fashion-mnist"):
        x = list(image_inputs(explainable, src, limit=limit))  # checks that the model fits
        return (len(x) + 15) // 16, lambda k, gen: torch.stack(x[16 * k:16 * k + 16])
    folder, files = _folder_images(src)
    if not files:
        raise ArtkitError(f"no readable images in '{folder}'", "add .jpg/.png files to it")
    counts = [crops] * len(files)  # inputs per image: the image, then crops - 1 random crops
    if limit:
        files = files[:-(-limit // crops)]
        counts = [min(crops, limit - i * crops) for i in range(len(files))]
    per = max(1, 16 // crops)  # images per unit

    def make(k: int, gen: torch.Generator) -> torch.Tensor | None:
        out = []
        for f, n in zip(files[k * per:(k + 1) * per], counts[k * per:(k + 1) * per]):
            try:
                img = load_image(f)
            except ArtkitError:
                continue
            out += [explainable.preprocess(img if c == 0 else random_crop(img, gen))[0]
                    for c in range(n)]
        return torch.stack(out) if out else None

    return -(-len(files) // per), make


def fit(explainable: Explainable | str, data: str | os.PathLike, *, estimator: str = "relu",
        crops: int = 4, limit: int | None = None, positions: int | None = 256, seed: int = 0,
        generator: torch.Generator | None = None, device: str | torch.device = "auto",
        progress: ProgressCallback | None = None) -> Patterns:
    """Fit patterns for a model on a folder of images (or Fashion-MNIST), streaming.

    The pass is cut into units of at most 16 inputs (whole images with their crops), each with
    its own generator drawn from ``generator``, so the result does not depend on how the units
    are shared out: under torchrun (the process group joined) every rank fits every
    ``size``-th unit and one all-reduce sums the statistics; every rank returns the patterns
    one process would fit (to the order of float64 additions).

    Returns the :class:`Patterns` (``.save(path)`` writes them); nothing is written here.
    """
    if not isinstance(explainable, Explainable):
        explainable = load_model(explainable, resolve_device(device))
    gen = generator if generator is not None else make_generator(seed)
    base = int(torch.randint(2 ** 62, (1,), generator=gen))
    n_units, make = _fit_units(explainable, data, crops, limit)
    w = distributed.active()

    def unit(k: int) -> SeededBatch | None:
        g = torch.Generator().manual_seed(base + k)
        x = make(k, g)
        return None if x is None else SeededBatch(x, g)

    shift = next((k for k in range(n_units) if unit(k) is not None), None) \
        if w.distributed else None  # every rank shifts by the first unit that has inputs
    counted = [0]

    def mine():
        for k in range(w.rank, n_units, w.size):
            b = unit(k)
            if b is not None:
                counted[0] += len(b.x)
                yield b

    dev = next(explainable.model.parameters()).device
    shift_from = unit(shift) if shift is not None and shift % w.size != w.rank else None
    patterns = fit_patterns(explainable.model, mine(), estimator, positions=positions,
                            device=dev, progress=progress, generator=gen,
                            total=len(range(w.rank, n_units, w.size)), shift_from=shift_from,
                            across_ranks=True)
    images = int(distributed.all_reduce(torch.tensor([counted[0]], dtype=torch.int64)))
    patterns.meta.update({"model": explainable.name, "data": str(data), "crops": crops,
                          "images": images})
    return patterns
