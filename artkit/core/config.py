"""Settings dataclasses with their ranges stated once, checked in one pass.

A capability's settings are a dataclass deriving from :class:`Config`; each field that has a
range or a set of choices declares it with :func:`param`. :meth:`Config.validate` checks every
field (type, range, choices) and names the option and, for presets, the file:

    >>> from dataclasses import dataclass
    >>> @dataclass
    ... class Demo(Config):
    ...     steps: int = param(10, ge=1, help="optimiser steps")
    ...     engine: str = param("fast", choices=("fast", "good"))
    >>> Demo(steps=0).validate()
    Traceback (most recent call last):
    ...
    artkit.core.errors.ArtkitError: --steps must be ≥ 1 (got 0)

:meth:`Config.build` is the one way a command turns defaults, a preset and its own options into
settings: defaults ← preset (TOML, validated against the fields) ← options given.
"""

from __future__ import annotations

import dataclasses
import math
import typing
from dataclasses import dataclass
from typing import Any, Iterable, TypeVar

from artkit.core.errors import ArtkitError
from artkit.core.presets import load_preset, type_name, type_ok

C = TypeVar("C", bound="Config")


def param(default: Any = dataclasses.MISSING, *, ge: float | None = None, gt: float | None = None,
          le: float | None = None, lt: float | None = None, choices: Iterable[Any] | None = None,
          help: str = "", factory: Any = dataclasses.MISSING) -> Any:
    """A dataclass field with its allowed values: ``ge``/``gt``/``le``/``lt`` bounds (for
    numbers, and for every item of a list), or ``choices``."""
    meta = {"ge": ge, "gt": gt, "le": le, "lt": lt,
            "choices": tuple(choices) if choices is not None else None, "help": help}
    if factory is not dataclasses.MISSING:
        return dataclasses.field(default_factory=factory, metadata=meta)
    return dataclasses.field(default=default, metadata=meta)


def option_name(name: str) -> str:
    """``style_weight`` → ``--style-weight``."""
    return "--" + name.replace("_", "-")


def _fmt(v: Any) -> str:
    return f"{v:g}" if isinstance(v, float) else str(v)


def check_value(name: str, value: Any, meta: dict[str, Any], where: str = "") -> None:
    """Check one value against a field's bounds/choices (see :func:`param`)."""
    label = f"{where}: key '{name}'" if where else option_name(name)
    items = value if isinstance(value, (list, tuple)) else [value]
    choices = meta.get("choices")
    for v in items:
        if choices is not None and v not in choices:
            raise ArtkitError(f"{label} must be one of {', '.join(map(_fmt, choices))} (got {v!r})")
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            continue
        if isinstance(v, float) and not math.isfinite(v):
            raise ArtkitError(f"{label} must be a finite number (got {v})")
        for key, ok, sign in (("ge", lambda b: v >= b, "≥"), ("gt", lambda b: v > b, ">"),
                              ("le", lambda b: v <= b, "≤"), ("lt", lambda b: v < b, "<")):
            bound = meta.get(key)
            if bound is not None and not ok(bound):
                raise ArtkitError(f"{label} must be {sign} {_fmt(bound)} (got {_fmt(v)})")


@dataclass
class Config:
    """Base of settings dataclasses: :meth:`validate` and :meth:`build`."""

    def validate(self, where: str = "") -> None:
        """Check every field's type and range; raise :class:`ArtkitError` naming the first bad one.

        Args:
            where: the preset file the values came from ("" for options and the Python API).
        """
        hints = typing.get_type_hints(type(self))
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.name in hints and not type_ok(value, hints[f.name]):
                label = f"{where}: key '{f.name}'" if where else option_name(f.name)
                raise ArtkitError(f"{label} should be {type_name(hints[f.name])}, "
                                  f"got {type(value).__name__} {value!r}")
            check_value(f.name, value, dict(f.metadata), where)
        self.check()

    def check(self) -> None:
        """Rules that tie several fields together; subclasses override (default: none)."""

    @classmethod
    def build(cls: type[C], preset: str | None = None, kind: str | None = None,
              **options: Any) -> C:
        """Defaults ← ``preset`` (a shipped name under ``presets/<kind>/`` or a .toml path) ←
        ``options`` that are not ``None``; validated."""
        values: dict[str, Any] = {}
        where = ""
        if preset:
            values.update(load_preset(preset, kind or "", cls))
            where = str(preset)
            try:
                cls(**values).validate(where)
            except TypeError as exc:  # a required field the preset lacks
                raise ArtkitError(f"preset {where}: {exc}") from None
        values.update({k: v for k, v in options.items() if v is not None})
        config = cls(**values)
        config.validate()
        return config
