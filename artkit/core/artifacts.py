"""Files artkit writes and reads back (models, patterns, checkpoints): safetensors, one convention.

Every artifact is a safetensors file whose metadata holds three keys:

* ``artkit.kind``: what the file is (``"colorize-model"``, ``"jazz-model"``, ``"patterns"``, ...);
* ``artkit.version``: the format version of that kind (an integer);
* ``artkit.meta``: everything else (config, vocabulary, labels, report) as one JSON object.

:func:`load_artifact` is the one door back in. Before a tensor is trusted it checks, with a
message a person can act on: the file exists and is a safetensors file (the header's length is
bounded before anything is read), it is the kind of file asked for (a colorize model handed to
``music compose`` is named as such), its version is known, its JSON parses to an object, and
every floating-point tensor is finite. It records ``{name: sha256}`` in the open
:func:`artkit.core.provenance.recording` blocks, so manifests say which file was used.
Nothing is ever unpickled.

Example:
    >>> import torch, tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "m.safetensors"
    >>> _ = save_artifact(p, {"w": torch.ones(2)}, kind="demo", meta={"size": 2})
    >>> art = load_artifact(p, "demo")
    >>> art.meta["size"], art.tensor("w", shape=(2,)).tolist()
    (2, [1.0, 1.0])
"""

from __future__ import annotations

import json
import os
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import torch

from artkit.core.errors import ArtkitError
from artkit.core.files import atomic_path, check_output, sha256_file
from artkit.core.manifest import jsonable
from artkit.core.provenance import record

KIND_KEY, VERSION_KEY, META_KEY = "artkit.kind", "artkit.version", "artkit.meta"
MAX_HEADER = 64 << 20          # bytes of safetensors JSON header we are willing to read
MAX_FILE = 16 << 30            # bytes: no artkit artifact comes near this

# What each kind is called in messages, and how a person gets one.
DESCRIPTIONS: dict[str, tuple[str, str]] = {}


def describe(kind: str, name: str, hint: str) -> None:
    """Register how messages name ``kind`` and how to make one (``hint``)."""
    DESCRIPTIONS[kind] = (name, hint)


def _name(kind: str) -> str:
    return DESCRIPTIONS.get(kind, (kind.replace("-", " "), ""))[0]


def _hint(kind: str) -> str | None:
    return DESCRIPTIONS.get(kind, ("", ""))[1] or None


@dataclass
class Artifact:
    """A loaded artifact: its tensors (on the CPU), its metadata and where it came from."""

    path: Path
    kind: str
    version: int
    meta: dict[str, Any]
    tensors: dict[str, torch.Tensor] = field(repr=False)
    sha256: str = ""

    def tensor(self, name: str, *, shape: Iterable[int | None] | None = None,
               dtype: torch.dtype | None = None) -> torch.Tensor:
        """Tensor ``name``, checked to have ``shape`` (``None`` entries match any size).

        Raises:
            ArtkitError: the tensor is missing or has another shape (a damaged file).
        """
        if name not in self.tensors:
            raise self.damaged(f"it has no tensor '{name}'")
        t = self.tensors[name]
        if shape is not None:
            shape = tuple(shape)
            if t.dim() != len(shape) or any(s is not None and s != d for s, d in zip(shape, t.shape)):
                want = "×".join("*" if s is None else str(s) for s in shape)
                raise self.damaged(f"tensor '{name}' is {'×'.join(map(str, t.shape)) or 'scalar'}, "
                                   f"expected {want}")
        return t if dtype is None else t.to(dtype)

    def field(self, key: str, types: type | tuple[type, ...] = object) -> Any:
        """Metadata value ``key``, checked to be of ``types``."""
        if key not in self.meta:
            raise self.damaged(f"its metadata has no '{key}'")
        value = self.meta[key]
        if isinstance(value, bool) and types in (int, float, (int, float)):
            raise self.damaged(f"metadata '{key}' is {value!r}")
        if not isinstance(value, types):
            raise self.damaged(f"metadata '{key}' is {type(value).__name__} {str(value)[:40]!r}")
        return value

    def damaged(self, why: str) -> ArtkitError:
        """The error for a file of the right kind whose contents do not hold together."""
        return ArtkitError(f"{_name(self.kind)} '{self.path}' is damaged: {why}",
                           _hint(self.kind) or "write it again")


def save_artifact(path: str | os.PathLike, tensors: dict[str, torch.Tensor], *, kind: str,
                  version: int = 1, meta: dict[str, Any] | None = None,
                  force: bool = False) -> Path:
    """Write ``tensors`` with the artkit metadata convention, atomically.

    Args:
        path: the ``.safetensors`` file.
        tensors: name → tensor (moved to the CPU, made contiguous).
        kind: what the file is (see the module docstring).
        version: the format version of ``kind``.
        meta: JSON-ready metadata.
        force: overwrite an existing file.
    """
    from safetensors.torch import save_file

    path = check_output(path, force)
    data = {k: v.detach().to("cpu").contiguous() for k, v in tensors.items()}
    header = {KIND_KEY: kind, VERSION_KEY: str(int(version)),
              META_KEY: json.dumps(jsonable(meta or {}), sort_keys=True)}
    with atomic_path(path, force) as tmp:
        save_file(data, str(tmp), metadata=header)
    return path


def read_header(path: Path) -> dict[str, Any]:
    """The JSON header of a safetensors file, its size bounded before it is read.

    Raises:
        ArtkitError: missing, not a file, too large, or not a safetensors file.
    """
    if not path.exists():
        raise ArtkitError(f"'{path}' does not exist")
    if not path.is_file():
        raise ArtkitError(f"'{path}' is not a file")
    size = path.stat().st_size
    not_st = ArtkitError(f"'{path}' is not a safetensors file",
                         "give a .safetensors file that artkit wrote")
    if size < 8 or size > MAX_FILE:
        raise not_st
    try:
        with open(path, "rb") as f:
            (n,) = struct.unpack("<Q", f.read(8))
            if n < 2 or n > min(MAX_HEADER, size - 8):
                raise not_st
            header = json.loads(f.read(n).decode("utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        raise not_st from None
    if not isinstance(header, dict):
        raise not_st
    return header


def peek_kind(path: str | os.PathLike) -> str | None:
    """The ``artkit.kind`` of a file, or ``None`` for a file artkit did not write."""
    try:
        meta = read_header(Path(path)).get("__metadata__") or {}
    except ArtkitError:
        return None
    return meta.get(KIND_KEY) if isinstance(meta, dict) else None


def load_artifact(path: str | os.PathLike, kind: str | Iterable[str], *,
                  versions: Iterable[int] = (1,), name: str | None = None,
                  finite: bool = True) -> Artifact:
    """Read an artifact written by :func:`save_artifact`, checking it before use.

    Args:
        path: the file.
        kind: the kind expected (or several accepted kinds).
        versions: the format versions this code reads.
        name: the name it is recorded under in manifests (default: the file name).
        finite: refuse NaN or infinite values in floating-point tensors.

    Raises:
        ArtkitError: missing, not safetensors, another kind, unknown version, bad metadata,
            non-finite values.
    """
    from safetensors import safe_open

    path = Path(path)
    kinds = (kind,) if isinstance(kind, str) else tuple(kind)
    header = read_header(path)
    meta_raw = header.get("__metadata__") or {}
    found = meta_raw.get(KIND_KEY) if isinstance(meta_raw, dict) else None
    want = " or ".join(_name(k) for k in kinds)
    if found not in kinds:
        what = f"a {_name(found)}" if found else "not a file artkit wrote"
        raise ArtkitError(f"'{path}' is {what}, not a {want}", _hint(kinds[0]))
    try:
        version = int(meta_raw.get(VERSION_KEY, ""))
        meta = json.loads(meta_raw.get(META_KEY, "{}"))
    except ValueError:
        raise ArtkitError(f"{want} '{path}' has unreadable metadata", _hint(found)) from None
    if version not in tuple(versions):
        raise ArtkitError(f"{want} '{path}' is format version {version}; this artkit reads "
                          f"{', '.join(map(str, versions))}", "write it again with this version")
    if not isinstance(meta, dict):
        raise ArtkitError(f"{want} '{path}' has metadata that is not a JSON object", _hint(found))
    try:
        with safe_open(str(path), framework="pt") as f:
            tensors = {k: f.get_tensor(k) for k in f.keys()}
    except Exception as exc:  # safetensors raises its own types for every kind of damage
        raise ArtkitError(f"{want} '{path}' cannot be read ({' '.join(str(exc).split())[:120]})",
                          _hint(found)) from None
    art = Artifact(path, found, version, meta, tensors)
    if finite:
        for key, t in tensors.items():
            if t.is_floating_point() and not bool(torch.isfinite(t).all()):
                raise art.damaged(f"tensor '{key}' holds NaN or infinite values")
    art.sha256 = sha256_file(path)
    record(name or path.name, art.sha256)
    return art
