"""Model files of the learned colouriser: read, every field checked, then built.

A model file is an :mod:`artkit.core.artifacts` artifact of kind ``colorize-model`` (written by
:meth:`artkit.color.model.ColorModel.save`): the decoder's weights in float16, the ab bins, the
rebalancing weights and the training set's mean chroma, with the architecture
(:class:`~artkit.color.model.ColorModelConfig`) and the training record as its metadata.

Nothing in a file is trusted before it is checked, in this order: the header's size (bounded
before it is read), the kind and version, the config's fields and ranges (``dim`` at most 512,
so a header cannot ask for a 64 GB decoder), every tensor's shape against the shapes that config
implies (computed without building anything, :func:`expected_shapes`), finiteness, and the ab
bins against the gamut bins. Only then is the network built and filled.

Files of the format before the artifact convention (kind ``artkit-colorize-hypercolumn``, with
``config`` and ``extra`` JSON strings) are still read, through the same checks.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from artkit.color.model import (HINT, MODEL_KIND, MODEL_VERSION, Backbone, ColorModel,
                                ColorModelConfig, default_model_path, gamut_bins)
from artkit.core.artifacts import load_artifact, read_header
from artkit.core.errors import ArtkitError
from artkit.core.files import sha256_file
from artkit.core.provenance import record
from artkit.nets.efficientnet import EFFICIENTNET_SIZES
from artkit.nets.vgg import VGGConfig

LEGACY_KIND = "artkit-colorize-hypercolumn"  # files written before the artifact convention


@dataclass
class ModelFile:
    """A model file read and checked by :func:`read_model_file` (nothing allocated yet)."""

    path: Path
    config: ColorModelConfig
    tensors: dict[str, torch.Tensor]
    training: dict[str, Any]
    sha256: str
    legacy: bool = False


def read_model_file(path: str | Path, name: str | None = None) -> ModelFile:
    """Read a model file and check its kind, version and config (every field, with its range).

    Files of the format before the artifact convention (kind ``artkit-colorize-hypercolumn``)
    are read too, with the same checks.

    Args:
        path: the file.
        name: the name it is recorded under in manifests (default: the file name).

    Raises:
        ArtkitError: missing, not safetensors, another kind of file, an unknown version, or a
            config that is malformed or out of range.
    """
    path = Path(path)
    if not path.is_file():
        raise ArtkitError(f"model file '{path}' does not exist", HINT)
    legacy = _legacy_meta(path)
    if legacy is not None:
        return _read_legacy(path, legacy, name)
    art = load_artifact(path, MODEL_KIND, versions=(MODEL_VERSION,), name=name)
    config = _config(art.field("config", dict), path)
    training = art.meta.get("training", {})
    if not isinstance(training, dict):
        raise art.damaged("its training record is not a JSON object")
    return ModelFile(path, config, art.tensors, training, art.sha256)


def _config(values: Any, path: Path) -> ColorModelConfig:
    """The architecture from a file's metadata, every field checked before any use."""
    if not isinstance(values, dict):
        raise ArtkitError(f"colorize model '{path}' is damaged: its config is not an object", HINT)
    known = {f.name for f in dataclasses.fields(ColorModelConfig)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise ArtkitError(f"colorize model '{path}' is damaged: unknown config key "
                          f"'{unknown[0]}'", HINT)
    config = ColorModelConfig(**values)
    config.validate(str(path))
    return config


def _legacy_meta(path: Path) -> dict | None:
    """The metadata of a file in the legacy format, or ``None`` for any other file."""
    meta = read_header(path).get("__metadata__")
    if isinstance(meta, dict) and meta.get("kind") == LEGACY_KIND:
        return meta
    return None


def _read_legacy(path: Path, meta: dict, name: str | None) -> ModelFile:
    from safetensors import safe_open

    if meta.get("version") != "1":
        raise ArtkitError(f"colorize model '{path}' is of version {meta.get('version')!r}; "
                          "this artkit reads version 1", "retrain it")
    try:
        values = json.loads(meta.get("config", ""))
        training = json.loads(meta.get("extra", "{}"))
        with safe_open(str(path), framework="pt") as f:
            tensors = {k: f.get_tensor(k) for k in f.keys()}
    except Exception as exc:  # JSON or safetensors damage of any kind
        raise ArtkitError(f"colorize model '{path}' is damaged "
                          f"({' '.join(str(exc).split())[:100]})", HINT) from None
    config = _config(values, path)
    if not isinstance(training, dict):
        training = {}
    for key, t in tensors.items():
        if t.is_floating_point() and not bool(torch.isfinite(t).all()):
            raise ArtkitError(f"colorize model '{path}' is damaged: tensor '{key}' holds NaN "
                              "or infinite values", HINT)
    sha = sha256_file(path)
    record(name or path.name, sha)
    return ModelFile(path, config, tensors, training, sha, legacy=True)


def expected_shapes(config: ColorModelConfig) -> dict[str, tuple[int, ...]]:
    """The shape of every tensor a model file of ``config`` holds, computed without building
    the model (so a file is checked before anything of its size is allocated)."""
    if config.backbone == "vgg16-hed":
        vgg = VGGConfig()
        channels = [vgg_out_channels(vgg, t) for t in Backbone.VGG_TAPS]
        strides = [1, 2, 4, 8]
    else:
        stages = EFFICIENTNET_SIZES["tiny" if config.backbone == "tiny" else "lite0"].stages
        channels, strides, stride = [], [], 2
        for _, _, s, out, _ in stages:
            stride *= s
            if strides and strides[-1] == stride:
                channels[-1] = out
            else:
                channels.append(out)
                strides.append(stride)
    q = len(gamut_bins())
    out = q if config.loss == "classification" else 2
    d = config.dim
    shapes: dict[str, tuple[int, ...]] = {}
    for i, c in enumerate(channels):
        shapes[f"decoder.proj.{i}.weight"] = (d, c, 1, 1)
        shapes[f"decoder.proj.{i}.bias"] = (d,)
    shapes.update({"decoder.gray.weight": (d, 1, 1, 1), "decoder.gray.bias": (d,),
                   "decoder.refine.0.weight": (d, d, 3, 3), "decoder.refine.0.bias": (d,),
                   "decoder.refine.2.weight": (d, d, 3, 3), "decoder.refine.2.bias": (d,),
                   "decoder.head.weight": (out, d, 1, 1), "decoder.head.bias": (out,),
                   "bins": (q, 2), "weights": (q,), "mean_ab": (2,)})
    for norm in ("norm_coarse", "norm_fine"):
        shapes[f"decoder.{norm}.weight"] = (d,)
        shapes[f"decoder.{norm}.bias"] = (d,)
    return shapes


def vgg_out_channels(config: VGGConfig, tap: str) -> int:
    """Channels of a VGG ``reluB_N`` tap, from the config alone."""
    return (config.widths or (64, 128, 256, 512, 512))[int(tap[4]) - 1]


def load_model(path: str | Path | None = None, pretrained: bool = True, *,
               name: str | None = None) -> tuple[ColorModel, ModelFile]:
    """Build a :class:`ColorModel` from a file (the backbone from the weight store).

    Args:
        path: the model file (default: the shipped one).
        pretrained: load the backbone's pretrained weights (false only in tests).
        name: the name it is recorded under in manifests (default: ``colorize:<file name>``).

    Returns:
        ``(model in eval mode, the file's record)``.

    Raises:
        ArtkitError: the file is missing, of another kind, or damaged (a config out of range,
            a tensor of another shape than its config implies, NaN values).
    """
    shipped = path is None
    path = default_model_path() if shipped else Path(path)
    if shipped and not path.is_file():
        raise ArtkitError("the shipped colorize model is missing",
                          "reinstall artkit or pass --model MODEL.safetensors")
    file = read_model_file(path, name or f"colorize:{'default' if shipped else path.name}")
    want = expected_shapes(file.config)
    for key in sorted(set(want) | set(file.tensors)):
        got = tuple(file.tensors[key].shape) if key in file.tensors else None
        if got != want.get(key):
            what = "missing" if got is None else "×".join(map(str, got)) or "scalar"
            expect = "×".join(map(str, want[key])) if key in want else "no such tensor"
            raise ArtkitError(f"'{path}' does not fit the {file.config.backbone} colouriser: "
                              f"tensor '{key}' is {what}, expected {expect}",
                              "the file was made for another architecture; retrain it")
    if not torch.equal(file.tensors["bins"].float(), gamut_bins()):
        raise ArtkitError(f"colorize model '{path}' is damaged: its ab bins are not the gamut "
                          "bins", HINT)
    model = ColorModel(file.config, pretrained=pretrained)
    model.decoder.load_state_dict({k[len("decoder."):]: v.float() for k, v in file.tensors.items()
                                   if k.startswith("decoder.")})
    for key in ("weights", "mean_ab"):
        getattr(model, key).copy_(file.tensors[key].float())
    model.eval()
    return model, file
