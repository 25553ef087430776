"""The output plan: every file a command will write, checked before the work starts, written
all together or not at all.

A command lists its outputs first (:meth:`OutputPlan.add`, manifests included); :meth:`check`
then refuses, before any minute of work is spent: an existing file without ``--force``, a
manifest that would replace an unrelated file, an output that is one of the inputs (or a file an
input needs, like a model's side file), two outputs on the same path, a suffix the writer cannot
produce, a folder that cannot be written. Files are then *staged* (written to hidden temporary
files beside their targets) and *committed* together: an error or Ctrl-C before the commit
leaves nothing behind, and the user's files are untouched.

Example:
    >>> import tempfile, pathlib
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> plan = OutputPlan(force=False)
    >>> out = plan.add(d / "a.txt", suffixes={".txt"})
    >>> plan.check()
    >>> plan.stage(out, lambda tmp: tmp.write_text("hi"))
    >>> [p.name for p in plan.commit()]
    ['a.txt']
"""

from __future__ import annotations

import os
import signal
import tempfile
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Iterator

from artkit.core.errors import ArtkitError
from artkit.core.manifest import manifest_path

IMAGE_OUTPUTS = frozenset({".png", ".jpg", ".jpeg", ".webp"})


@dataclass
class Planned:
    path: Path
    what: str
    suffixes: frozenset[str] | None
    manifest: bool


def _key(path: Path) -> str:
    return os.path.normcase(os.path.abspath(path))


def _writable_folder(path: Path) -> None:
    """Check that ``path``'s folder exists and is writable, or can be made."""
    folder = path.parent
    probe = folder
    while not probe.exists():
        if probe.parent == probe:
            break
        probe = probe.parent
    if probe.exists() and not probe.is_dir():
        raise ArtkitError(f"cannot write '{path}': '{probe}' is a file, not a folder")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise ArtkitError(f"cannot write '{path}': permission denied in '{probe}'",
                          "choose an output folder you can write to")


@contextmanager
def _interrupts_deferred() -> Iterator[None]:
    """Hold Ctrl-C back until the block ends (in the main thread), then raise it."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[bool] = []
    previous = signal.signal(signal.SIGINT, lambda *_: caught.append(True))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if caught:
        raise KeyboardInterrupt


class OutputPlan:
    """The files one command writes (see the module docstring).

    Args:
        force: existing outputs may be replaced.
        inputs: files the command reads; no output may land on one, even with ``force``.
    """

    def __init__(self, *, force: bool = False, inputs: Iterable[str | os.PathLike] = ()):
        self.force = force
        self.inputs = {_key(Path(p)) for p in inputs if p is not None}
        self.planned: dict[str, Planned] = {}
        self._staged: list[tuple[Path, Path]] = []

    def protect(self, *paths: str | os.PathLike | None) -> None:
        """Add files that must not be written (inputs found after construction)."""
        self.inputs |= {_key(Path(p)) for p in paths if p is not None}

    def add(self, path: str | os.PathLike, *, suffixes: Iterable[str] | None = None,
            manifest: bool = True, what: str = "output") -> Path:
        """Plan ``path`` (and its manifest, ``OUT.json``, when ``manifest``); returns it.

        Args:
            path: the file.
            suffixes: the suffixes the writer can produce (``None``: any).
            manifest: a manifest goes beside it.
            what: how messages name it.
        """
        path = Path(path)
        sfx = frozenset(s.lower() for s in suffixes) if suffixes is not None else None
        self._put(Planned(path, what, sfx, manifest))
        if manifest:
            self._put(Planned(manifest_path(path), f"manifest of {path.name}", None, False))
        return path

    def _put(self, item: Planned) -> None:
        key = _key(item.path)
        if key in self.planned:
            raise ArtkitError(f"two outputs would be written to '{item.path}'",
                              "give the inputs distinct names or choose another output")
        self.planned[key] = item

    @property
    def paths(self) -> list[Path]:
        """Every planned path, manifests included, in the order planned."""
        return [p.path for p in self.planned.values()]

    def check(self) -> None:
        """Refuse the plan before any work if any output cannot or may not be written."""
        for key, item in self.planned.items():
            p = item.path
            if item.suffixes is not None and p.suffix.lower() not in item.suffixes:
                raise ArtkitError(f"cannot write {item.what} '{p}': unknown type "
                                  f"'{p.suffix or '(none)'}'",
                                  f"use {' or '.join(sorted(item.suffixes))}")
            if key in self.inputs:
                raise ArtkitError(f"{item.what} '{p}' is one of the inputs; it would be overwritten",
                                  "write the output somewhere else")
            if p.is_dir():
                raise ArtkitError(f"{item.what} '{p}' is a folder", "give a file name")
            if p.exists() or p.is_symlink():
                if not self.force:
                    raise ArtkitError(f"{item.what} '{p}' already exists",
                                      "use --force to overwrite it, or choose another name")
            _writable_folder(p)

    # ------------------------------------------------------------------------ staging

    def stage(self, path: str | os.PathLike, write: Callable[[Path], None]) -> None:
        """Write ``path``'s content now, to a hidden temporary file beside it (see :meth:`commit`).

        Args:
            path: a planned path.
            write: writes the content to the temporary path it is given.
        """
        path = Path(path)
        if _key(path) not in self.planned:
            raise ArtkitError(f"'{path}' was not planned as an output")  # a bug in the command
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part" + path.suffix,
                                   dir=path.parent)
        os.close(fd)
        tmp_path = Path(tmp)
        self._staged.append((tmp_path, path))
        write(tmp_path)

    def stage_bytes(self, path: str | os.PathLike, data: bytes) -> None:
        self.stage(path, lambda tmp: tmp.write_bytes(data))

    def stage_text(self, path: str | os.PathLike, text: str) -> None:
        self.stage_bytes(path, text.encode("utf-8"))

    @property
    def pending(self) -> list[Path]:
        """Staged paths not committed yet."""
        return [dst for _, dst in self._staged]

    def commit(self) -> list[Path]:
        """Move every staged file onto its target (permissions as by the umask); returns them."""
        umask = os.umask(0)
        os.umask(umask)
        done = []
        try:
            for tmp, dst in self._staged:
                if not self.force and dst.exists():
                    raise ArtkitError(f"'{dst}' appeared while artkit worked; not overwritten",
                                      "use --force to overwrite it")
            with _interrupts_deferred():  # all the renames, or (on an error) as many as made
                for tmp, dst in self._staged:
                    os.chmod(tmp, 0o666 & ~umask)
                    os.replace(tmp, dst)
                    done.append(dst)
        finally:
            self.discard()
        return done

    def discard(self) -> None:
        """Remove staged temporary files that were not committed."""
        for tmp, _ in self._staged:
            try:
                tmp.unlink()
            except FileNotFoundError:
                pass
        self._staged.clear()
