"""Music model files: the shipped ones by name, yours by path, either kind, checked before use.

A model file is one artifact (:mod:`artkit.core.artifacts`): ``jazz-model`` or
``biaxial-model``, its config, vocabulary and training record in the metadata. The kind is read
from the file's header, so ``load_model`` needs no side file; ``MODEL.json`` beside a model is
only its manifest. Models written by artkit before this format (weights plus a JSON config
beside them) are converted by :func:`upgrade_model` (``artkit music upgrade``).
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

from artkit.core.artifacts import load_artifact, peek_kind
from artkit.core.errors import ArtkitError
from artkit.core.presets import presets_root
from artkit.core.runtime import resolve_device
from artkit.music.biaxial import KIND as BIAXIAL_KIND
from artkit.music.biaxial import BiaxialConfig, BiaxialLSTM, BiaxialModel
from artkit.music.model import KIND as JAZZ_KIND
from artkit.music.model import JazzConfig, JazzLSTM, JazzModel

KINDS = {JAZZ_KIND: JazzModel, BIAXIAL_KIND: BiaxialModel}
NAMES = {"jazz": JAZZ_KIND, "biaxial": BIAXIAL_KIND}
MAX_LEGACY_JSON = 64 << 20


def model_presets() -> list[str]:
    """Names of the shipped models."""
    folder = presets_root() / "music" / "models"
    if not folder.is_dir():
        return []
    return sorted(p.name[:-len(".safetensors")] for p in folder.iterdir()
                  if p.name.endswith(".safetensors"))


def model_file(name_or_path: str | Path) -> Path:
    """A model path, or the file of a shipped model (``jazz``, ``biaxial``).

    Raises:
        ArtkitError: a name that is no shipped model, a path that does not exist.
    """
    p = Path(name_or_path)
    if p.suffix != ".safetensors" and not p.exists() and "/" not in str(name_or_path):
        cand = Path(str(presets_root() / "music" / "models" / f"{name_or_path}.safetensors"))
        if not cand.is_file():
            raise ArtkitError(f"unknown model '{name_or_path}'",
                              f"shipped models: {', '.join(model_presets()) or 'none'}; or give "
                              "a .safetensors file from `artkit music train`")
        return cand
    if not p.is_file():
        raise ArtkitError(f"model '{p}' does not exist",
                          "train one with `artkit music train`, or use a shipped model: "
                          + (", ".join(model_presets()) or "none"))
    return p


def load_model(name_or_path: str | Path = "jazz", *, device: str | torch.device = "auto",
               kind: str | None = None) -> JazzModel | BiaxialModel:
    """Load a trained model by path or shipped name; its kind comes from the file.

    Args:
        name_or_path: ``jazz``, ``biaxial`` or a ``.safetensors`` file.
        device: where the network runs (``auto``: CUDA when present).
        kind: ``"jazz"`` or ``"biaxial"`` to insist on one kind (a model of the other kind is
            an error naming both).

    Raises:
        ArtkitError: missing, another kind of file, an old-format model, damaged.
    """
    path = model_file(name_or_path)
    found = peek_kind(path)
    if found is None and _legacy_config(path) is not None:
        raise ArtkitError(f"'{path}' is a model from an older artkit (its config is in "
                          f"{path.with_suffix('.json').name})",
                          f"convert it once: artkit music upgrade {path} -o NEW.safetensors")
    if found not in KINDS:
        load_artifact(path, tuple(KINDS))          # raises, naming what the file is
    want = NAMES.get(kind or "", found)
    if kind is not None and kind not in NAMES:
        raise ArtkitError(f"unknown model kind '{kind}'", "artkit music models are jazz or biaxial")
    if found != want:
        raise ArtkitError(f"'{name_or_path}' is a {KINDS[found].kind} model, not a {kind} model",
                          f"give a model trained with --model {kind}")
    return KINDS[found].load(path, resolve_device(device), name=path.name)


def _legacy_config(path: Path) -> dict | None:
    """The JSON config an older artkit wrote beside a model, or ``None``."""
    cfg = path.with_suffix(".json")
    try:
        if not cfg.is_file() or cfg.stat().st_size > MAX_LEGACY_JSON:
            return None
        meta = json.loads(cfg.read_text(encoding="utf-8"))
    except (OSError, ValueError, UnicodeDecodeError):
        return None
    if not isinstance(meta, dict) or meta.get("model") not in NAMES:
        return None
    return meta


def upgrade_model(path: str | Path) -> JazzModel | BiaxialModel:
    """Read a model written by an older artkit (safetensors weights and a JSON config beside
    them) into a model object whose :meth:`save` writes the current format. The weights are
    kept exactly (the jazz LSTM's layer names are mapped to one module per layer).

    Raises:
        ArtkitError: no old-format config beside the file, or weights that do not fit it.
    """
    from safetensors import safe_open  # heavy; only when converting

    path = Path(path)
    meta = _legacy_config(path)
    if meta is None or not path.is_file():
        raise ArtkitError(f"'{path}' is not an old-format artkit model (weights with a JSON "
                          "config beside them)")
    try:
        with safe_open(str(path), framework="pt") as f:
            tensors = {k: f.get_tensor(k) for k in f.keys()}
    except Exception as exc:  # safetensors raises its own types for every kind of damage
        raise ArtkitError(f"'{path}' cannot be read ({' '.join(str(exc).split())[:120]})") from None
    extra = {k: v for k, v in meta.items() if k not in ("model", "config", "vocab", "encoding")}
    try:
        if meta["model"] == "jazz":
            config = JazzConfig(**meta["config"])
            config.validate()
            net = JazzLSTM(config)
            net.load_state_dict({_layer_name(k): v for k, v in tensors.items()})
            model = JazzModel(net.eval(), list(meta["vocab"]))
        else:
            config = BiaxialConfig(**meta["config"])
            config.validate()
            net = BiaxialLSTM(config)
            net.load_state_dict(tensors)
            model = BiaxialModel(net.eval())
    except (KeyError, TypeError, RuntimeError, ArtkitError) as exc:
        raise ArtkitError(f"'{path}' does not fit its config "
                          f"({' '.join(str(exc).split())[:120]})") from None
    model.training = dict(extra.get("training") or {})
    model.features = list(extra.get("features") or [])
    return model


def _layer_name(key: str) -> str:
    """``lstm.weight_ih_l1`` (one multi-layer LSTM) → ``lstm.1.weight_ih_l0`` (one per layer)."""
    if key.startswith("lstm.") and key[-3:-1] == "_l":
        return f"lstm.{key[-1]}.{key[5:-1]}0"
    return key
