"""``artkit.color``'s front door: a :class:`Colorizer` that holds its networks, and
:func:`colorize` for one-off use.

Every method keeps the photo's own lightness at full resolution and computes only chroma, at a
working size (``render_size``, the long side), then brings the chroma back to full size with an
edge-aware (guided) upsampling (:mod:`artkit.color.upsample`), so results are sharp at any size:

* ``"model"``: the shipped (or a trained) hypercolumn colouriser predicts Lab ab
  (:mod:`artkit.color.model`); a share of its image-mean chroma is removed and the rest scaled
  by ``saturation`` (:mod:`artkit.color.chroma`);
* ``"exemplar"``: chroma from reference photos by feature matching, spread by luminance-aware
  propagation (:mod:`artkit.color.exemplar`);
* ``"hints"``: Levin et al.'s optimisation from colour scribbles, in YUV
  (:mod:`artkit.color.hints`);
* ``"auto"``: hints when given, else exemplar when references are given, else the model.

A colour photo is made gray first (only its lightness is used), unless ``keep_color_input``.

Example (hints need no network, so this runs without any weights):

    >>> import numpy as np
    >>> photo = np.tile(np.linspace(0.2, 0.8, 32), (24, 1))          # (24, 32) gray
    >>> scribbles = np.repeat(photo[..., None], 3, axis=2)
    >>> scribbles[4:8, 4:8] = (0.9, 0.2, 0.1)                          # one red stroke
    >>> colorizer = Colorizer(methods=("hints",), device="cpu")
    >>> result = colorizer.colorize(photo, hints=scribbles)
    >>> result.method, tuple(result.image.shape)
    ('hints', (1, 3, 24, 32))
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

import torch
import torch.nn.functional as F

from artkit.color.chroma import (CAST_REMOVAL, SATURATION, fit_ab_to_gamut, is_color,
                                 lab_in_gamut, remove_cast, yuv_in_gamut)
from artkit.color.exemplar import exemplar_chroma
from artkit.color.explain import ColorExplanation, explain_colors, readout
from artkit.color.hints import hints_chroma
from artkit.color.model import Backbone, ColorModel
from artkit.color.model_file import load_model
from artkit.color.patterns import load_color_patterns
from artkit.color.upsample import guided_upsample, resize, working_size
from artkit.core.config import Config, param
from artkit.core.errors import ArtkitError
from artkit.core.images import ImageLike, as_tensor, lab_to_rgb, rgb_to_lab, rgb_to_yuv
from artkit.core.progress import ProgressCallback, report
from artkit.core.provenance import record_all, recording
from artkit.core.result import Result
from artkit.core.runtime import resolve_device
from artkit.explain import Patterns

METHODS = ("auto", "model", "exemplar", "hints")
NETWORK_METHODS = ("model", "exemplar", "hints")  # what a Colorizer can be built for
# Working sizes (long side) chosen by measurement; see benchmarks/colorize.py.
DEFAULT_RENDER_SIZE = {"model": 256, "exemplar": 256, "hints": 512}
EXPLAIN_DEFAULT = ("patternnet", "lrp_epsilon")  # --explain's two rows


@dataclass
class ColorizeSettings(Config):
    """The settings of one colouring, checked in one pass (names as the CLI's options).

    Args:
        method: ``auto``, ``model``, ``exemplar`` or ``hints``.
        render_size: long side at which chroma is computed (``None``: per method).
        saturation: model method: scale of the predicted chroma.
        cast_removal: model method: share of the image-mean chroma removed.
        keep_color_input: pass colour inputs through unchanged.
    """

    method: str = param("auto", choices=METHODS)
    render_size: int | None = param(None, ge=16, le=8192, help="working size (long side)")
    saturation: float = param(SATURATION, ge=0, le=2, help="scale of the model's chroma")
    cast_removal: float = param(CAST_REMOVAL, ge=0, le=1, help="share of the mean chroma removed")
    keep_color_input: bool = False


@dataclass(kw_only=True)
class ColorizeResult(Result):
    """A coloured photo and how it was made.

    Attributes:
        image: (1, 3, H, W) RGB in [0, 1], the input's size (on the CPU).
        method: the method that ran (``"kept"`` when a colour input was passed through).
        chroma_size: (h, w) at which chroma was computed.
        was_color: the input had colour (only its lightness was used, unless kept).
        details: method specifics (model file, references used, hint pixels).
    """

    image: torch.Tensor
    method: str
    chroma_size: tuple[int, int]
    was_color: bool
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Everything but the pixels (the image's shape instead), JSON-ready."""
        return {"method": self.method, "chroma_size": list(self.chroma_size),
                "was_color": self.was_color, "details": self.details,
                "image_shape": list(self.image.shape), "seconds": self.seconds,
                "notes": list(self.notes), "weights": dict(self.weights)}


def resolve_method(method: str, hints: Any = None, reference: Any = None) -> str:
    """The method ``"auto"`` stands for given the guidance, checked against what was given.

    Raises:
        ArtkitError: an unknown method, or hints / exemplar without their input.
    """
    if method not in METHODS:
        raise ArtkitError(f"unknown method '{method}'", f"use one of {', '.join(METHODS)}")
    if isinstance(reference, (list, tuple)) and len(reference) == 0:
        reference = None
    if method == "auto":
        return "hints" if hints is not None else "exemplar" if reference is not None else "model"
    if method == "hints" and hints is None:
        raise ArtkitError("--method hints needs a scribble image", "pass --hints SCRIBBLES.png")
    if method == "exemplar" and reference is None:
        raise ArtkitError("--method exemplar needs reference photos",
                          "pass --reference PHOTO (or a folder of photos)")
    return method


class Colorizer:
    """Colours photos; holds the networks its methods need, loaded once.

    Args:
        model: a model file from ``artkit colorize train``, a :class:`ColorModel` (e.g.
            ``train(...).model``), or ``None`` for the shipped model.
        device: ``"auto"``, ``"cpu"``, ``"cuda"``, ``"cuda:N"`` or a ``torch.device``.
        methods: the methods this object serves (``"model"``, ``"exemplar"``, ``"hints"``); only
            their networks are loaded — the model for ``model``, a matching backbone for
            ``exemplar`` (the model's own when it is an EfficientNet), nothing for ``hints``.

    Attributes:
        device: where the networks run.
        weights: ``{name: sha256}`` of the model file and weight sets loaded.
        model: the learned colouriser (``None`` when not loaded).
        notes: remarks about what was loaded (an old file format).

    Raises:
        ArtkitError: an unknown method, a missing or damaged model file, weights not fetched.
    """

    def __init__(self, model: str | os.PathLike | ColorModel | None = None, *,
                 device: str | torch.device = "auto",
                 methods: Iterable[str] = NETWORK_METHODS):
        self.methods = tuple(dict.fromkeys(methods))
        for m in self.methods:
            if m not in NETWORK_METHODS:
                raise ArtkitError(f"unknown method '{m}'", f"use {', '.join(NETWORK_METHODS)}")
        self.device = resolve_device(device)
        self.model_path = None if model is None or isinstance(model, ColorModel) else model
        self._in_memory = isinstance(model, ColorModel)
        self.model: ColorModel | None = None
        self.notes: list[str] = []
        self._backbone: Backbone | None = None
        self._patterns: Patterns | None = None
        with recording() as used:
            if "model" in self.methods:
                if isinstance(model, ColorModel):
                    self.model = model.to(self.device).eval()
                else:
                    self.model, file = load_model(model)
                    self.model.to(self.device)
                    if file.legacy:
                        self.notes.append(f"model '{file.path}' is in the format of an older "
                                          "artkit; `artkit colorize train --resume` or saving "
                                          "it again writes the current one")
            if "exemplar" in self.methods:
                own = self.model.backbone if self.model is not None else None
                self._backbone = own if own is not None and own.name != "vgg16-hed" else \
                    Backbone("efficientnet-lite0").to(self.device)
        self.weights: dict[str, str] = dict(used)

    # ------------------------------------------------------------------ colouring

    def colorize(self, image: ImageLike, method: str = "auto", *, hints: ImageLike | None = None,
                 reference: ImageLike | Sequence[ImageLike] | None = None,
                 render_size: int | None = None, keep_color_input: bool = False,
                 saturation: float = SATURATION, cast_removal: float = CAST_REMOVAL,
                 generator: torch.Generator | None = None,
                 progress: ProgressCallback | None = None) -> ColorizeResult:
        """Colour a photo.

        Args:
            image: the photo (path, PIL image, array or tensor).
            method: ``"auto"``, ``"model"``, ``"exemplar"`` or ``"hints"``.
            hints: scribble image (same size as the photo) for ``"hints"``: coloured strokes
                drawn over the gray photo, or on a transparent layer.
            reference: reference photo(s) or folder(s) of photos for ``"exemplar"``.
            render_size: long side at which chroma is computed (default per method, measured).
            keep_color_input: pass colour inputs through unchanged.
            saturation: model method: scale of the predicted chroma (1 keeps it; the default
                0.75 was chosen on validation photos, see :data:`artkit.color.chroma.SATURATION`).
            cast_removal: model method: share of the predicted image-mean chroma removed (gray
                world); 0 keeps the raw prediction.
            generator: accepted for the contract's sake: colouring draws no random numbers.
            progress: progress callback.

        Returns:
            A :class:`ColorizeResult`.

        Raises:
            ArtkitError: bad settings, image, hints or references; a method this object was
                not built for.
        """
        t0 = time.perf_counter()
        ColorizeSettings(method, render_size, saturation, cast_removal, keep_color_input).validate()
        method = resolve_method(method, hints, reference)
        if method not in self.methods:
            raise ArtkitError(f"this Colorizer was built for {', '.join(self.methods)}, "
                              f"not the {method} method", f"build it with methods=('{method}',)")
        rgb = as_tensor(image)  # (1, 3, H, W)
        H, W = rgb.shape[-2:]
        colour = is_color(rgb)
        if colour and keep_color_input:
            return self._result(rgb, "kept", (H, W), t0, True,
                                {"reason": "colour input kept (keep_color_input)"})
        size = working_size(H, W, render_size or DEFAULT_RENDER_SIZE[method],
                            8 if method == "model" else 1)
        report(progress, "colorize", 0, 1, method)
        if method == "hints":
            uv, details = hints_chroma(rgb, hints, size)  # (1, 2, h, w)
            yuv = rgb_to_yuv(rgb)
            uv_full = guided_upsample(uv, yuv[:, :1]) if tuple(size) != (H, W) else uv
            out = yuv_in_gamut(yuv[:, :1], uv_full)
        else:
            L = rgb_to_lab(rgb)[:, :1]  # (1, 1, H, W)
            if method == "model":
                ab, details = self._model_chroma(L, size, cast_removal, saturation)
            else:
                ab, details = exemplar_chroma(L, size, reference, self._backbone,
                                              progress=progress)
            if tuple(size) != (H, W):
                # Fit the gamut at the working size (cheap), then upsample; the full-size
                # result then needs at most a small clamp.
                ab = fit_ab_to_gamut(resize(L, size), ab)
                out = lab_to_rgb(torch.cat([L, guided_upsample(ab, L / 100.0)], dim=1))
            else:
                out = lab_in_gamut(L, ab)
        report(progress, "colorize", 1, 1, method)
        return self._result(out, method, tuple(size), t0, colour, details)

    def _model_chroma(self, L: torch.Tensor, size: tuple[int, int], cast_removal: float,
                      saturation: float) -> tuple[torch.Tensor, dict]:
        Ls = resize(L, size).to(self.device)  # (1, 1, h, w)
        with torch.inference_mode():
            ab = self.model(Ls)  # (1, 2, h/4, w/4)
        ab = remove_cast(ab, cast_removal) * saturation
        ab = F.interpolate(ab, size=size, mode="bilinear", align_corners=False)
        config = self.model.config
        return ab.cpu(), {"model": str(self.model_path or "default"),
                          "backbone": config.backbone, "loss": config.loss}

    def _result(self, image: torch.Tensor, method: str, size: tuple[int, int], t0: float,
                was_color: bool, details: dict) -> ColorizeResult:
        record_all(self.weights)
        return ColorizeResult(image=image, method=method, chroma_size=size, was_color=was_color,
                              details=details, seconds=time.perf_counter() - t0,
                              notes=list(self.notes), weights=dict(self.weights))

    # ------------------------------------------------------------------ explaining

    def patterns(self) -> Patterns:
        """The model's PatternNet patterns (beside its file; loaded once, then kept).

        Raises:
            ArtkitError: the model has none, or they belong to another model.
        """
        if self._patterns is None:
            net = readout(self._need_model())
            if self._in_memory:
                raise ArtkitError("a model given as an object has no patterns file beside it",
                                  "save it, then fit them with `artkit colorize fit-patterns`")
            with recording() as used:
                self._patterns = load_color_patterns(net, self.model_path)
            self.weights.update(used)
        return self._patterns

    def _need_model(self) -> ColorModel:
        if self.model is None:
            raise ArtkitError("explaining needs the learned model",
                              "build the Colorizer with methods including 'model'")
        return self.model

    def explain(self, image: ImageLike, methods: Sequence[str] | None = None, *,
                regions: int = 3, render_size: int = 256, saturation: float = SATURATION,
                generator: torch.Generator | None = None,
                progress: ProgressCallback | None = None) -> ColorExplanation:
        """What drove the model's colours in a photo: a heatmap per method and colour region.

        Args:
            image: the photo.
            methods: attribution methods, a row each. ``None``: PatternNet's signal and LRP-ε's
                evidence when the model has patterns, else LRP-ε alone (with a note).
            regions: most colour regions explained (besides all the colour).
            render_size: long side of the working size.
            saturation: as the colouring used it.
            generator: draws the region grouping's seeds.
            progress: progress callback.

        Raises:
            ArtkitError: a regression model, an unknown method, missing patterns for a
                pattern method.
        """
        model = self._need_model()
        notes = []
        if methods is None:
            try:
                patterns, methods = self.patterns(), EXPLAIN_DEFAULT
            except ArtkitError as exc:
                patterns, methods = None, ("lrp_epsilon",)
                notes.append(f"{exc.one_line()}; explaining with lrp_epsilon only")
        else:
            needs = any(m in ("patternnet", "patternattribution") for m in methods)
            patterns = self.patterns() if needs else None
        ex = explain_colors(model, image, methods, patterns=patterns, regions=regions,
                            render_size=render_size, saturation=saturation,
                            generator=generator, progress=progress)
        record_all(self.weights)
        ex.notes += notes
        ex.weights = dict(self.weights)
        return ex


def colorize(image: ImageLike, method: str = "auto", *, hints: ImageLike | None = None,
             reference: ImageLike | Sequence[ImageLike] | None = None,
             model: str | os.PathLike | ColorModel | None = None,
             render_size: int | None = None, keep_color_input: bool = False,
             saturation: float = SATURATION, cast_removal: float = CAST_REMOVAL,
             device: str | torch.device = "auto", generator: torch.Generator | None = None,
             progress: ProgressCallback | None = None) -> ColorizeResult:
    """Colour one photo: builds a :class:`Colorizer` for the method needed and calls
    :meth:`Colorizer.colorize` (same keywords; ``model`` and ``device`` as the constructor's).
    To colour many photos, build one :class:`Colorizer` and call it for each."""
    resolved = resolve_method(method, hints, reference)
    colorizer = Colorizer(model, device=device, methods=(resolved,))
    return colorizer.colorize(image, method, hints=hints, reference=reference,
                              render_size=render_size, keep_color_input=keep_color_input,
                              saturation=saturation, cast_removal=cast_removal,
                              generator=generator, progress=progress)
