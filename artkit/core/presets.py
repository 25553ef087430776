"""TOML presets: shipped ones in ``presets/<kind>/<name>.toml`` and user files, validated.

A preset is checked against a dataclass schema: an unknown key or a value of the wrong type is an
:class:`ArtkitError` naming the key and the file.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from importlib import resources
from pathlib import Path
from typing import Any

from artkit.core.errors import ArtkitError

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]


def presets_root():
    """The shipped presets folder (``presets/`` in a checkout, ``artkit/_presets`` in a wheel)."""
    checkout = Path(__file__).resolve().parents[2] / "presets"
    if checkout.is_dir():
        return checkout
    return resources.files("artkit._presets")


def list_presets(kind: str) -> list[str]:
    """Names of the shipped presets of ``kind`` (e.g. ``"doodle"``)."""
    folder = presets_root() / kind
    if not folder.is_dir():
        return []
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".toml"))


def read_toml(name_or_path: str | Path, kind: str, what: str = "preset") -> tuple[dict, str]:
    """Read a preset (or another small TOML file: ``what`` names it in errors) by shipped
    name or by path; returns ``(table, where)``."""
    p = Path(name_or_path)
    if p.suffix == ".toml" or p.exists():
        if not p.is_file():
            raise ArtkitError(f"{what} file '{p}' does not exist")
        where = str(p)
        text = _read_text(p, where, what)
    else:
        res = presets_root() / kind / f"{name_or_path}.toml"
        if not res.is_file():
            known = ", ".join(list_presets(kind)) or "none"
            raise ArtkitError(f"unknown {kind} preset '{name_or_path}'", f"known: {known}, or give a .toml path")
        where = f"presets/{kind}/{name_or_path}.toml"
        text = _read_text(res, where, what)
    try:
        return tomllib.loads(text), where
    except tomllib.TOMLDecodeError as exc:
        raise ArtkitError(f"{what} {where} is not valid TOML: {exc}") from None


MAX_PRESET_BYTES = 1 << 20


def _read_text(path, where: str, what: str = "preset") -> str:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ArtkitError(f"{what} {where} cannot be read: {exc.strerror or exc}") from None
    if len(data) > MAX_PRESET_BYTES:
        raise ArtkitError(f"{what} {where} is {len(data)} bytes; it should be a small TOML file")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise ArtkitError(f"{what} {where} is not UTF-8 text", "save it as UTF-8 TOML") from None


def load_preset(name_or_path: str | Path, kind: str, schema: type) -> dict[str, Any]:
    """Read and validate a preset against the dataclass ``schema``; returns its values.

    Args:
        name_or_path: a shipped preset name or a ``.toml`` path.
        kind: the presets sub-folder (``"doodle"``, ``"music/progressions"``, ...).
        schema: a dataclass whose fields are the allowed keys, with their types.

    Raises:
        ArtkitError: missing file, bad TOML, unknown key, wrong type.
    """
    table, where = read_toml(name_or_path, kind)
    validate(table, schema, where)
    return table


def validate(table: dict, schema: type, where: str, prefix: str = "") -> None:
    """Check every key of ``table`` against the fields of dataclass ``schema``."""
    hints = typing.get_type_hints(schema)
    fields = {f.name for f in dataclasses.fields(schema)}
    required = [f.name for f in dataclasses.fields(schema)
                if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING]
    for key in required:
        if key not in table:
            raise ArtkitError(f"preset {where}: required key '{prefix + key}' is missing")
    for key, value in table.items():
        full = prefix + key
        if key not in fields:
            close = _closest(key, fields)
            hint = f"did you mean '{close}'?" if close else f"known keys: {', '.join(sorted(fields))}"
            raise ArtkitError(f"preset {where}: unknown key '{full}'", hint)
        expected = hints[key]
        if dataclasses.is_dataclass(expected):
            if not isinstance(value, dict):
                raise ArtkitError(f"preset {where}: key '{full}' should be a table")
            validate(value, expected, where, full + ".")
        elif not type_ok(value, expected):
            raise ArtkitError(f"preset {where}: key '{full}' should be {type_name(expected)}, "
                              f"got {type(value).__name__} {value!r}")


def _closest(key: str, options) -> str | None:
    import difflib

    found = difflib.get_close_matches(key, list(options), n=1, cutoff=0.6)
    return found[0] if found else None


def type_ok(value: Any, tp: Any) -> bool:
    origin = typing.get_origin(tp)
    if tp is Any:
        return True
    if origin in (typing.Union, types.UnionType):
        return any(type_ok(value, a) for a in typing.get_args(tp))
    if tp is type(None):
        return value is None
    if origin is typing.Literal:
        return value in typing.get_args(tp)
    if origin in (list, tuple):
        args = typing.get_args(tp)
        if not isinstance(value, list):
            return False
        if origin is tuple and args and args[-1] is not Ellipsis:
            return len(value) == len(args) and all(type_ok(v, a) for v, a in zip(value, args))
        return all(type_ok(v, args[0]) for v in value) if args else True
    if origin is dict:
        return isinstance(value, dict)
    if tp is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if tp is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if isinstance(tp, type) and issubclass(tp, __import__("enum").Enum):
        return value in {m.value for m in tp}
    return isinstance(value, tp) if isinstance(tp, type) else True


def type_name(tp: Any) -> str:
    origin = typing.get_origin(tp)
    if origin is typing.Literal:
        return "one of " + ", ".join(repr(a) for a in typing.get_args(tp))
    if origin in (typing.Union, types.UnionType):
        return " or ".join(type_name(a) for a in typing.get_args(tp))
    if tp is type(None):
        return "absent"
    return {float: "a number", int: "an integer", str: "a string", bool: "true/false"}.get(
        tp, getattr(tp, "__name__", str(tp)))
