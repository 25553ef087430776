"""Networks loaded once per process and shared by every tab and every browser session.

The studio serves many requests from one process; a second browser tab must not load a second
copy of the story writer. :class:`Loaded` keeps each loaded object under a key (``("story",
"smollm2-135m")``), loads it on first use under a per-key lock (two first requests wait for one
load), and remembers the weights it used (``{name: sha256}``) so that every output's manifest
can name them even though the loading happened in an earlier request.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any, Callable, Hashable, Iterable

import torch

from artkit.core.files import sha256_file
from artkit.core.provenance import recording
from artkit.core.runtime import resolve_device
from artkit.weights.store import sha256 as store_sha256


class Loaded:
    """A per-process cache of loaded capability objects.

    Args:
        device: where networks run (``auto``, ``cpu``, ``cuda``...), resolved once.
    """

    def __init__(self, device: str | torch.device = "auto"):
        self.device = resolve_device(device)
        self._objects: dict[Hashable, Any] = {}
        self._weights: dict[Hashable, dict[str, str]] = {}
        self._locks: dict[Hashable, threading.Lock] = {}
        self._guard = threading.Lock()
        self.loads = 0  # how many objects were loaded (the tests check sharing with it)

    def get(self, key: Hashable, load: Callable[[], Any], *,
            weights: Iterable[str] = (), files: Iterable[str | Path] = ()) -> Any:
        """The object under ``key``, loaded by ``load()`` the first time.

        Args:
            key: what identifies it (kind, name).
            load: makes it (called at most once per key while it succeeds).
            weights: weight-store names it loads (their hashes go into :meth:`weights_of`).
            files: shipped model files it reads (their sha256 likewise).
        """
        with self._guard:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            if key not in self._objects:
                with recording() as used:
                    obj = load()
                found = {n: store_sha256(n) for n in weights if n not in used}
                found.update({Path(f).name: sha256_file(f) for f in files})
                found.update(getattr(obj, "weights", None) or {})
                found.update(used)
                self._objects[key] = obj
                self._weights[key] = found
                self.loads += 1
            return self._objects[key]

    def weights_of(self, key: Hashable) -> dict[str, str]:
        """``{name: sha256}`` of what the object under ``key`` loaded."""
        return dict(self._weights.get(key, {}))

    def __contains__(self, key: Hashable) -> bool:
        return key in self._objects
