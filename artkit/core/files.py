"""Safe output files: refuse to overwrite without ``force``, write atomically (temp + rename)."""

from __future__ import annotations

import hashlib
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from artkit.core.errors import ArtkitError


def check_output(path: str | os.PathLike, force: bool = False) -> Path:
    """Check that ``path`` may be written: its folder can be made and it does not exist yet.

    Raises:
        ArtkitError: the file exists and ``force`` is false, or the path is a folder.
    """
    path = Path(path)
    if path.is_dir():
        raise ArtkitError(f"output '{path}' is a folder", "give a file name")
    if path.exists() and not force:
        raise ArtkitError(f"output '{path}' already exists", "use --force to overwrite it")
    return path


@contextmanager
def atomic_path(path: str | os.PathLike, force: bool = True) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it is renamed onto ``path``.

    On any exception the temporary file is removed, so no half-written output is ever left.
    """
    path = check_output(path, force)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part" + path.suffix,
                               dir=path.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        if tmp_path.exists():  # mkstemp makes it 0600: give the output the usual permissions
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp_path, 0o666 & ~umask)
        os.replace(tmp_path, path)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def atomic_write_bytes(path: str | os.PathLike, data: bytes, force: bool = True) -> Path:
    """Write ``data`` to ``path`` atomically."""
    with atomic_path(path, force) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def atomic_write_text(path: str | os.PathLike, text: str, force: bool = True) -> Path:
    """Write UTF-8 ``text`` to ``path`` atomically."""
    return atomic_write_bytes(path, text.encode("utf-8"), force)


def sha256_file(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    """The sha256 of a file's bytes, as hex."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()
