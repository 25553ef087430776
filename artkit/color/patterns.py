"""PatternNet's patterns for the learned colouriser: fitted on gray crops, kept beside the model.

PatternNet and PatternAttribution (Kindermans et al. 2017) need, for every Conv2d / Linear layer
of the explained network, a *pattern*: the direction in its input that carries the signal its
output responds to, estimated from data (:func:`artkit.explain.fit_patterns`). For the colouriser
the data are what it sees at work — gray crops of colour photos — and the network is the read-out
of :mod:`artkit.color.explain` (backbone and decoder).

A model ``MODEL.safetensors`` keeps its patterns beside it in ``MODEL.patterns.safetensors``, an
artifact of kind ``colorize-patterns``: tensors ``<table>/<layer>`` (``linear``, ``positive``,
``negative``; stored as int8 with one float scale per output neuron, ``scale:<table>/<layer>``,
which quarters the size), and metadata holding the model's fingerprint, which layers are
rectified and how many rows each saw. :func:`load_color_patterns` checks all of it — and every
pattern's shape against the network's layer — before the patterns are used.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch
from torch import nn

from artkit.color.model import ColorModel, default_model_path
from artkit.color.training import load_photos, random_crops
from artkit.core.artifacts import describe, load_artifact, peek_kind, save_artifact
from artkit.core.errors import ArtkitError
from artkit.core.images import rgb_to_lab
from artkit.core.progress import ProgressCallback
from artkit.core.runtime import default_generator
from artkit.explain import Patterns, fit_patterns

PATTERNS_KIND = "colorize-patterns"
PATTERNS_VERSION = 1
HINT = "fit them with `artkit colorize fit-patterns PHOTOS --model MODEL`"
describe(PATTERNS_KIND, "colorize patterns file", HINT)
TABLES = ("linear", "positive", "negative")
DTYPES = ("float32", "float16", "int8")


def patterns_path(model_path: str | os.PathLike | None) -> Path:
    """Where the patterns of a model file live: ``MODEL.patterns.safetensors`` beside it."""
    p = Path(model_path) if model_path is not None else default_model_path()
    return p.with_name(p.name.removesuffix(".safetensors") + ".patterns.safetensors")


def gray_batches(photos: list[torch.Tensor], crops: int, size: int, batch: int = 16, *,
                 generator: torch.Generator | None = None) -> list[torch.Tensor]:
    """Gray random crops of colour photos, as the colouriser sees them: (B, 3, size, size)."""
    x = random_crops(photos, crops, size, 0.3, default_generator(generator))
    gray = ColorModel.gray_rgb(rgb_to_lab(x)[:, :1])
    return list(gray.contiguous().split(batch))


def fit_color_patterns(net: nn.Module, photos_dir: str | os.PathLike, *, crops: int = 160,
                       size: int = 192, generator: torch.Generator | None = None,
                       device: str | torch.device = "cpu",
                       progress: ProgressCallback | None = None) -> Patterns:
    """Fit PatternNet's patterns (two-component) of a colouriser's read-out on gray crops.

    Args:
        net: the read-out network (:func:`artkit.color.explain.readout`).
        photos_dir: a folder of colour photos (the training photos are a good choice).
        crops: random crops in all.
        size: crop side.
        generator: draws the crops and the sampled positions.
        device: where to run.

    Returns:
        The patterns, compacted (only what PatternNet / PatternAttribution use).

    Raises:
        ArtkitError: no colour photos in the folder.
    """
    gen = default_generator(generator)
    photos, names, _ = load_photos(photos_dir)
    batches = gray_batches(photos, crops, size, generator=gen)
    seed = int(torch.randint(2 ** 31 - 1, (1,), generator=gen))
    pats = fit_patterns(net.to(device), batches, "relu", positions=256, seed=seed,
                        device=device, total=len(batches), progress=progress)
    pats.meta.update({"model": "artkit colorize", "photos": len(names), "crops": crops,
                      "size": size})
    return pats.compact()


def save_color_patterns(patterns: Patterns, path: str | os.PathLike, *, force: bool = False,
                        dtype: str = "int8") -> Path:
    """Write patterns as a ``colorize-patterns`` artifact.

    Args:
        patterns: fitted patterns.
        path: the file (``MODEL.patterns.safetensors``).
        force: overwrite an existing file.
        dtype: ``int8`` (one scale per output neuron; a quarter of float32), ``float16`` or
            ``float32``.
    """
    if dtype not in DTYPES:
        raise ArtkitError(f"unknown dtype '{dtype}'", f"use {', '.join(DTYPES)}")
    tensors: dict[str, torch.Tensor] = {}
    for table, values in zip(TABLES, (patterns.linear, patterns.positive, patterns.negative)):
        for layer, a in values.items():
            a = a.detach().to("cpu", torch.float32)  # (K, ...) like the layer's weight
            key = f"{table}/{layer}"
            if dtype == "int8":
                scale = a.reshape(len(a), -1).abs().amax(1).clamp_min(1e-30) / 127.0  # (K,)
                tensors[key] = torch.round(a / scale.view(-1, *[1] * (a.dim() - 1))).to(torch.int8)
                tensors[f"scale:{key}"] = scale
            else:
                tensors[key] = a.to(getattr(torch, dtype))
    meta = {"fingerprint": patterns.fingerprint, "rectified": patterns.rectified,
            "samples": patterns.samples, "meta": patterns.meta, "dtype": dtype}
    return save_artifact(path, tensors, kind=PATTERNS_KIND, version=PATTERNS_VERSION, meta=meta,
                         force=force)


def load_color_patterns(net: nn.Module, model_path: str | os.PathLike | None) -> Patterns:
    """The patterns beside a model file, checked field by field and against the network.

    Args:
        net: the read-out network of the model (:func:`artkit.color.explain.readout`).
        model_path: the model file (``None``: the shipped model).

    Raises:
        ArtkitError: no patterns there, a damaged file, or patterns of another model.
    """
    p = patterns_path(model_path)
    if not p.is_file():
        raise ArtkitError(f"no PatternNet patterns for the colorize model ('{p}' is missing)", HINT)
    name = f"colorize-patterns:{'default' if model_path is None else p.name}"
    if peek_kind(p) is None:  # written before the artifact convention: explain's own format
        patterns = Patterns.load(p)
    else:
        patterns = _from_artifact(p, name)
    try:
        patterns.check(net)
    except ArtkitError:
        raise ArtkitError(f"the patterns in '{p}' belong to another colorize model",
                          "refit them with `artkit colorize fit-patterns PHOTOS --model MODEL`"
                          ) from None
    _check_shapes(patterns, net, p)
    return patterns


def _from_artifact(path: Path, name: str) -> Patterns:
    art = load_artifact(path, PATTERNS_KIND, versions=(PATTERNS_VERSION,), name=name)
    fingerprint = art.field("fingerprint", str)
    rectified = _mapping(art, "rectified", bool)
    samples = _mapping(art, "samples", int)
    meta = art.field("meta", dict)
    tables: dict[str, dict[str, torch.Tensor]] = {t: {} for t in TABLES}
    for key, t in art.tensors.items():
        if key.startswith("scale:"):
            if key[len("scale:"):] not in art.tensors:
                raise art.damaged(f"scale '{key}' has no pattern")
            continue
        table, _, layer = key.partition("/")
        if table not in tables or not layer:
            raise art.damaged(f"unknown tensor '{key}'")
        if t.dtype == torch.int8:
            scale = art.tensor(f"scale:{key}", shape=(t.shape[0] if t.dim() else 0,))
            t = t.float() * scale.float().view(-1, *[1] * (t.dim() - 1))
        elif not t.is_floating_point():
            raise art.damaged(f"tensor '{key}' is {t.dtype}")
        tables[table][layer] = t.float()
    if not tables["linear"]:
        raise art.damaged("it holds no patterns")
    return Patterns(tables["linear"], tables["positive"], tables["negative"], rectified,
                    fingerprint, samples, meta)


def _mapping(art: Any, key: str, kind: type) -> dict:
    value = art.field(key, dict)
    if not all(isinstance(v, kind) and not (kind is int and isinstance(v, bool))
               for v in value.values()):
        raise art.damaged(f"metadata '{key}' holds values that are not {kind.__name__}")
    return value


def _check_shapes(patterns: Patterns, net: nn.Module, path: Path) -> None:
    """Every pattern has its layer's weight shape (a file can match a fingerprint and still be
    malformed)."""
    for table in (patterns.linear, patterns.positive, patterns.negative):
        for layer, a in table.items():
            try:
                weight = net.get_submodule(layer).weight
            except AttributeError:
                raise ArtkitError(f"colorize patterns file '{path}' is damaged: no layer "
                                  f"'{layer}' in the model", HINT) from None
            if tuple(a.shape) != tuple(weight.shape):
                raise ArtkitError(f"colorize patterns file '{path}' is damaged: the pattern of "
                                  f"'{layer}' is {tuple(a.shape)}, its weight "
                                  f"{tuple(weight.shape)}", HINT)
