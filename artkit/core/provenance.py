"""Which weights a piece of work used: ``{name: sha256}``, collected while it loads them.

Loaders (the weight store, :func:`artkit.core.artifacts.load_artifact`) call :func:`record`
with the name and hash of what they loaded. Code that wants to know what was used wraps the
loading in :func:`recording`:

    >>> with recording() as used:
    ...     record("my-model", "ab12")
    >>> used
    {'my-model': 'ab12'}

Recordings nest: an inner block's records reach every enclosing one, so a capability object
can keep the weights it loaded while the CLI around it sees them too. Nothing is global: with no
block open, :func:`record` does nothing.
"""

from __future__ import annotations

import contextvars
from contextlib import contextmanager
from typing import Iterator

_ACTIVE: contextvars.ContextVar[tuple[dict[str, str], ...]] = contextvars.ContextVar(
    "artkit_weight_recordings", default=())


def record(name: str, sha256: str) -> None:
    """Note that the weights ``name`` (hash ``sha256``) were used, in every open recording."""
    for used in _ACTIVE.get():
        used[str(name)] = str(sha256)


def record_all(weights: dict[str, str]) -> None:
    """:func:`record` each ``name: sha256`` of ``weights`` (e.g. an object's loaded weights)."""
    for name, sha in weights.items():
        record(name, sha)


@contextmanager
def recording() -> Iterator[dict[str, str]]:
    """Collect ``{name: sha256}`` of everything recorded inside the block."""
    used: dict[str, str] = {}
    token = _ACTIVE.set(_ACTIVE.get() + (used,))
    try:
        yield used
    finally:
        _ACTIVE.reset(token)
