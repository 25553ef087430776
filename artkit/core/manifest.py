"""The reproducibility record written beside every output (``OUT.json``) and inside PNGs."""

from __future__ import annotations

import dataclasses
import enum
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

from artkit import __version__
from artkit.core.files import atomic_write_text


def jsonable(value: Any) -> Any:
    """Turn paths, enums, dataclasses, tensors and tuples into JSON-friendly values."""
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return jsonable(dataclasses.asdict(value))
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [jsonable(v) for v in value]
    if hasattr(value, "tolist") and hasattr(value, "dtype"):
        return value.tolist()
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)


def build_manifest(command: str, params: dict[str, Any], *, seed: int | None = None,
                   device: str | None = None, weights: dict[str, str] | None = None,
                   wall_time: float | None = None, extra: dict[str, Any] | None = None) -> dict:
    """A manifest: what was run, with what, on what, and how long it took.

    Args:
        command: the command (e.g. ``"artkit doodle"``).
        params: every parameter of the run.
        seed: the seed used.
        device: the device used.
        weights: ``{name: sha256}`` of the weight sets used.
        wall_time: seconds.
        extra: anything else worth keeping (losses, figures).
    """
    import torch

    manifest = {
        "artkit": __version__,
        "command": command,
        "params": jsonable(params),
        "seed": seed,
        "device": device,
        "weights": dict(weights or {}),
        "wall_time_s": None if wall_time is None else round(float(wall_time), 3),
        "versions": {"artkit": __version__, "torch": torch.__version__,
                     "python": platform.python_version()},
        "platform": f"{platform.system()} {platform.machine()}",
        "argv": list(sys.argv),
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    if extra:
        manifest["extra"] = jsonable(extra)
    return manifest


def manifest_path(output: str | os.PathLike) -> Path:
    """Where the manifest of ``output`` goes: ``out.png`` → ``out.json`` (``out.manifest.json``
    when the output is itself a ``.json`` file)."""
    output = Path(output)
    if output.suffix.lower() == ".json":
        return output.with_name(output.stem + ".manifest.json")
    return output.with_suffix(".json")


def write_manifest(output: str | os.PathLike, manifest: dict, force: bool = True) -> Path:
    """Write ``manifest`` beside ``output`` atomically; returns its path."""
    import json

    target = manifest_path(output)
    atomic_write_text(target, json.dumps(manifest, indent=2, sort_keys=True) + "\n", force=force)
    return target


def is_complete(output: str | os.PathLike, command: str, params: dict[str, Any], *,
                source: str | os.PathLike, ignore: tuple[str, ...] = ("inputs",)) -> bool:
    """Whether a batch's rerun may skip ``output``: it exists and the manifest beside it was
    written by ``command`` for the input ``source`` (its ``extra.input``) with the same
    parameters (those named in ``ignore``, which list the whole batch, left out).

    Outputs are written atomically together with their manifest, so an output whose manifest
    agrees is whole; one without a manifest is not artkit's to skip (nor to overwrite).
    """
    import json

    out = Path(output)
    try:
        if not out.is_file():
            return False
        saved = json.loads(manifest_path(out).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    if not isinstance(saved, dict) or saved.get("command") != command:
        return False
    if (saved.get("extra") or {}).get("input") != os.fspath(source):
        return False
    now = {k: v for k, v in jsonable(params).items() if k not in ignore}
    before = {k: v for k, v in (saved.get("params") or {}).items() if k not in ignore}
    return now == before
