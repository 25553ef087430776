"""The cache on disk: its home, the record of each set, hashes that cost nothing twice, locks,
work folders and the one atomic swap that installs a set.

Layout under ``$ARTKIT_HOME`` (default ``~/.cache/artkit``)::

    weights/<name>/meta.json        what was cached: source, sha256 of every file, when
    weights/<name>/.hashes.json     hashes already verified, keyed by each file's stat
    weights/<name>/model.safetensors | model/ | data/
    weights/.locks/<name>.lock      held while a set is fetched, imported or removed
    weights/.work/<id>/             a fetch in progress (its lock: weights/.work/<id>.lock)

**Hashes at load.** Every file of a set is hashed before it is used and compared with the
record in ``meta.json`` (and the registry's pins, which the record cannot override). The hash
of a file is kept in ``.hashes.json`` keyed by its size, ``mtime_ns``, ``ctime_ns``, inode and
device: any write to the file (a flipped bit, a truncation, a copy over it) changes that key,
so the next load hashes it again, while an untouched file costs one ``stat``. Corruption that
changes no metadata (failing storage) is found by ``artkit weights verify``, which always
re-hashes.

**Installing.** A fetch works in ``weights/.work/<id>/`` (same file system), then exchanges the
finished folder with the old one in one ``renameat2(RENAME_EXCHANGE)`` call, so a reader sees
either the old set or the new one, never neither. Where that call is missing (not Linux, or a
file system without it) two renames are used and the set is missing for a moment between them.
A work folder is locked while in use; one whose lock is free was left by an interrupted fetch
and is removed by the next fetch.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import hashlib
import json
import os
import re
import secrets
import shutil
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from artkit.core.errors import ArtkitError
from artkit.core.files import sha256_file
from artkit.core.progress import ProgressCallback, report

try:  # POSIX advisory locks; elsewhere fetches are not serialised
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None

META_FILE = "meta.json"
HASH_RECORD = ".hashes.json"
RECORD_LIMIT = 4 << 20  # bytes: meta.json and .hashes.json are small; anything bigger is not ours
HEX64 = re.compile(r"[0-9a-f]{64}")
STALE_SECONDS = 3600  # a work folder without a lock file this old was left by a crash


# ----------------------------------------------------------------------------------- the home


def artkit_home() -> Path:
    """The cache root: ``$ARTKIT_HOME`` or ``~/.cache/artkit`` (not checked; see
    :func:`checked_home`)."""
    env = os.environ.get("ARTKIT_HOME")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "artkit"


def checked_home(write: bool = False) -> Path:
    """The cache root, checked: not a file; with ``write``, created and writable.

    Raises:
        ArtkitError: ARTKIT_HOME is a file, or (with ``write``) cannot be created or written.
    """
    home = artkit_home()
    for p in (home, home / "weights"):
        if p.exists() and not p.is_dir():
            raise ArtkitError(f"the weight cache '{p}' is a file, not a folder",
                              "point ARTKIT_HOME at a folder (it is created when needed), or unset "
                              "it to use ~/.cache/artkit")
    if write:
        try:
            (home / "weights" / ".locks").mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise os_error(exc, home, "create the weight cache") from None
        if not os.access(home / "weights", os.W_OK):
            raise ArtkitError(f"cannot write the weight cache '{home}' (permission denied)",
                              "set ARTKIT_HOME to a folder you can write")
    return home


class AccessError(ArtkitError):
    """The cache cannot be read or written (permissions, a read-only or full disk): not damage."""


def os_error(exc: OSError, path: str | os.PathLike, action: str) -> AccessError:
    """One clear line for a file-system error, naming the path and what was being done."""
    reason = {errno.EACCES: "permission denied", errno.EPERM: "permission denied",
              errno.EROFS: "read-only file system", errno.ENOSPC: "no space left on the device",
              errno.ENOTDIR: "a file stands where a folder should be",
              errno.EDQUOT: "disk quota exceeded"}.get(exc.errno, exc.strerror or type(exc).__name__)
    path = getattr(exc, "filename", None) or path
    if exc.errno in (errno.EACCES, errno.EPERM):
        hint = ("the cache may belong to another user: ask them to run `chmod -R a+rX` on it, "
                "or set ARTKIT_HOME to a folder of your own")
    elif exc.errno in (errno.EROFS, errno.ENOSPC, errno.EDQUOT):
        hint = "set ARTKIT_HOME to a writable folder with space"
    else:
        hint = None
    return AccessError(f"cannot {action}: {reason} ({path})", hint)


# ----------------------------------------------------------------------------------- hashing


def tree_digest(hashes: dict[str, str]) -> str:
    """The digest of a folder from ``{relative path: sha256}``: sha256 of the sorted
    ``path<TAB>sha256`` lines (how the registry pins folders)."""
    lines = "".join(f"{k}\t{v}\n" for k, v in sorted(hashes.items()))
    return hashlib.sha256(lines.encode()).hexdigest()


def digest(root: Path) -> str:
    """sha256 of a file, or :func:`tree_digest` of every file under a folder."""
    if root.is_file():
        return sha256_file(root)
    return tree_digest({p.relative_to(root).as_posix(): sha256_file(p)
                        for p in sorted(root.rglob("*")) if p.is_file()})


def under(hashes: dict[str, str], folder: str) -> dict[str, str]:
    """The entries of ``hashes`` inside ``folder/``, relative to it."""
    prefix = folder.rstrip("/") + "/"
    return {k[len(prefix):]: v for k, v in hashes.items() if k.startswith(prefix)}


def stat_key(st: os.stat_result) -> list[int]:
    """What any write to a file changes: size, mtime_ns, ctime_ns, inode, device."""
    return [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev]


class HashRecord:
    """The hashes already verified for one set's files (``.hashes.json``), keyed by stat.

    A damaged or foreign record is ignored (the files are hashed again); a record that cannot be
    written (a read-only cache) only means the next load hashes again.
    """

    def __init__(self, folder: Path):
        self.path = folder / HASH_RECORD
        self.entries: dict[str, list] = {}
        self.changed = False
        try:
            if self.path.is_file() and self.path.stat().st_size <= RECORD_LIMIT:
                data = json.loads(self.path.read_bytes().decode("utf-8"))
                if isinstance(data, dict):
                    self.entries = {k: v for k, v in data.items()
                                    if isinstance(v, list) and len(v) == 6}
        except (OSError, ValueError):
            self.entries = {}

    def sha256(self, rel: str, path: Path, *, trust: bool = True) -> str:
        """The sha256 of ``path``: from the record when its stat is unchanged (and ``trust``),
        else hashed now (and recorded)."""
        st = path.stat()
        key = stat_key(st)
        got = self.entries.get(rel)
        if trust and got is not None and got[:5] == key and isinstance(got[5], str):
            return got[5]
        sha = sha256_file(path)
        if path.stat().st_mtime_ns == st.st_mtime_ns:  # not written while being hashed
            self.entries[rel] = key + [sha]
            self.changed = True
        return sha

    def remember(self, rel: str, path: Path, sha: str) -> None:
        """Record ``sha`` as the hash of ``path`` as it is now."""
        self.entries[rel] = stat_key(path.stat()) + [sha]
        self.changed = True

    def forget(self, rel: str) -> None:
        if self.entries.pop(rel, None) is not None:
            self.changed = True

    def save(self) -> None:
        if not self.changed:
            return
        tmp = self.path.with_name(f"{HASH_RECORD}.{secrets.token_hex(4)}.tmp")
        try:
            tmp.write_text(json.dumps(self.entries, sort_keys=True))
            tmp.chmod(_file_mode())
            os.replace(tmp, self.path)
        except OSError:  # a read-only cache: the next load hashes again
            with contextlib.suppress(OSError):
                tmp.unlink(missing_ok=True)
        self.changed = False


# ----------------------------------------------------------------------------------- files


def safe_relpath(name: str) -> str:
    """``name`` if it is a plain relative path (no ``..``, no root, no backslash); else raises.

    Raises:
        ArtkitError: the path could lead outside its folder.
    """
    parts = name.split("/")
    if (not name or name.startswith("/") or "\\" in name or "\x00" in name
            or any(p in ("", ".", "..") for p in parts) or ":" in parts[0]):
        raise ArtkitError(f"refusing the path '{name[:120]}': it is not a plain relative path")
    return name


def set_files(folder: Path) -> tuple[dict[str, Path], list[str]]:
    """The regular files of a cached set (``{relative path: path}``, meta.json and the hash
    record left out) and the problems found (links, odd files)."""
    files: dict[str, Path] = {}
    problems: list[str] = []
    for root, dirs, names in os.walk(folder, followlinks=False):
        base = Path(root)
        for d in list(dirs):
            if (base / d).is_symlink():
                problems.append(f"{(base / d).relative_to(folder).as_posix()} is a symbolic link")
                dirs.remove(d)
        for n in names:
            p = base / n
            rel = p.relative_to(folder).as_posix()
            if rel in (META_FILE, HASH_RECORD) or rel.startswith(HASH_RECORD + "."):
                continue
            if p.is_symlink():
                problems.append(f"{rel} is a symbolic link")
            elif not p.is_file():
                problems.append(f"{rel} is not a regular file")
            else:
                files[rel] = p
    return files, problems


def disk_bytes(folder: Path) -> int:
    """Bytes of every file under ``folder`` (0 when it does not exist)."""
    total = 0
    for root, _, names in os.walk(folder):
        for n in names:
            try:
                total += os.lstat(os.path.join(root, n)).st_size
            except OSError:
                pass
    return total


def _file_mode() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def normalise_modes(root: Path) -> None:
    """Give every file and folder under ``root`` the permissions the umask allows (safetensors
    and ``mkdtemp`` write 0600/0700, which makes a cache prepared by CI or another user
    unreadable)."""
    fmode = _file_mode()
    dmode = fmode | ((fmode & 0o444) >> 2)  # read → search on folders
    os.chmod(root, dmode)
    for base, dirs, names in os.walk(root):
        for d in dirs:
            os.chmod(os.path.join(base, d), dmode)
        for n in names:
            os.chmod(os.path.join(base, n), fmode)


# ----------------------------------------------------------------------------------- locks


@contextmanager
def set_lock(name: str, progress: ProgressCallback | None = None) -> Iterator[None]:
    """Hold the lock of set ``name`` (fetch, import and remove take it; loads do not need it,
    since installs are atomic). Waits for another process holding it, saying so."""
    home = checked_home(write=True)
    path = home / "weights" / ".locks" / f"{name}.lock"
    with _locked(path, progress, f"{name}: waiting for another artkit process using it"):
        yield


@contextmanager
def _locked(path: Path, progress: ProgressCallback | None, waiting: str) -> Iterator[None]:
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    except OSError as exc:
        raise os_error(exc, path, "lock the weight cache") from None
    try:
        if fcntl is not None:
            waited = False
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if not waited:
                        report(progress, waiting, 0, None)
                        waited = True
                    time.sleep(0.1)
        yield
    finally:
        os.close(fd)  # closing releases the lock


@contextmanager
def work_folder(name: str) -> Iterator[Path]:
    """A fresh work folder for ``name`` inside the cache (same file system as the sets, so the
    install is a rename), locked while in use and removed afterwards."""
    home = checked_home(write=True)
    root = home / "weights" / ".work"
    try:
        root.mkdir(exist_ok=True)
    except OSError as exc:
        raise os_error(exc, root, "create a work folder") from None
    ident = f"{name}-{secrets.token_hex(6)}"
    lock = root / f"{ident}.lock"
    fd = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_EX)
        work = root / ident
        work.mkdir()
        try:
            yield work
        finally:
            shutil.rmtree(work, ignore_errors=True)
            lock.unlink(missing_ok=True)
    finally:
        os.close(fd)


def clean_stale_work() -> list[Path]:
    """Remove work folders left by interrupted fetches (their lock is free); returns them."""
    removed: list[Path] = []
    home = artkit_home()
    root = home / "weights" / ".work"
    if root.is_dir():
        for entry in sorted(root.iterdir()):
            if entry.suffix == ".lock" or not entry.is_dir():
                continue
            lock = root / f"{entry.name}.lock"
            if lock.exists():
                if _try_lock_and_remove(lock, entry):
                    removed.append(entry)
            elif time.time() - entry.stat().st_mtime > STALE_SECONDS:
                shutil.rmtree(entry, ignore_errors=True)
                removed.append(entry)
        for lock in root.glob("*.lock"):  # a lock whose folder is gone
            if not lock.with_suffix("").exists():
                _try_lock_and_remove(lock, None)
    legacy = home / "tmp"  # work folders of artkit before 0.2 (no locks)
    if legacy.is_dir():
        for entry in legacy.glob("tmp*"):
            if entry.is_dir() and time.time() - entry.stat().st_mtime > STALE_SECONDS:
                shutil.rmtree(entry, ignore_errors=True)
                removed.append(entry)
    return removed


def _try_lock_and_remove(lock: Path, folder: Path | None) -> bool:
    try:
        fd = os.open(lock, os.O_RDWR)
    except OSError:
        return False
    try:
        if fcntl is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return False  # in use
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)
        lock.unlink(missing_ok=True)
        return True
    finally:
        os.close(fd)


# ----------------------------------------------------------------------------------- install


def _renameat2():
    try:
        fn = ctypes.CDLL(None, use_errno=True).renameat2
    except (AttributeError, OSError):
        return None
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    fn.restype = ctypes.c_int
    return fn


_AT_FDCWD = -100
_RENAME_EXCHANGE = 2


def exchange(a: Path, b: Path) -> bool:
    """Swap two existing paths in one atomic step; False where the system cannot."""
    fn = _renameat2()
    if fn is None:
        return False
    if fn(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP, errno.EOPNOTSUPP):
        return False
    raise OSError(err, os.strerror(err), str(b))


def install(new: Path, final: Path) -> None:
    """Put the finished folder ``new`` at ``final``, replacing what is there in one step.

    Raises:
        ArtkitError: the cache cannot be written.
    """
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
        if not final.exists() and not final.is_symlink():
            os.rename(new, final)
            return
        if exchange(new, final):
            shutil.rmtree(new, ignore_errors=True)  # ``new`` now holds the old set
            return
        aside = new.with_name(new.name + ".old")
        os.rename(final, aside)
        os.rename(new, final)
        shutil.rmtree(aside, ignore_errors=True)
    except OSError as exc:
        raise os_error(exc, final, "install into the weight cache") from None


def remove_folder(folder: Path, work_root: Path) -> None:
    """Remove a set's folder: moved aside first (atomic), then deleted."""
    aside = work_root / f"removed-{folder.name}-{secrets.token_hex(4)}"
    try:
        work_root.mkdir(parents=True, exist_ok=True)
        os.rename(folder, aside)
    except OSError as exc:
        raise os_error(exc, folder, "remove from the weight cache") from None
    shutil.rmtree(aside, ignore_errors=True)
