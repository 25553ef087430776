"""A small reader for R's serialisation format and lazy-load databases (``.rdx`` + ``.rdb``).

An R package's ``data/Rdata.rdx`` is one serialised R object, gzipped (R writes it with
``saveRDS``; the 4-byte-length + zlib form below is accepted too); it is a named list
with an element ``variables``: for every data object, its ``(offset, length)`` inside
``data/Rdata.rdb``. Each stretch of the ``.rdb`` is again one compressed, serialised object.

Compression: 4 bytes big-endian uncompressed length, then a zlib stream (``compressed = TRUE``)
or, for the newer kinds, one type byte (``Z`` zlib, ``2`` bzip2, ``X`` xz, ``0`` none) before
the data.

Serialisation (format ``X``, XDR = big-endian): ``"X\\n"``, version (2 or 3), the writer's and
the minimal reader's R versions, for version 3 the native encoding, then one item. Each item
starts with an int of flags: ``type = flags & 0xFF``, bit 8 "is object", bit 9 "has
attributes", bit 10 "has tag", bits 12+ "levels" (for strings: the encoding). Only what data
packages hold is read: ``NULL``, symbols, pairlists (attributes), logical / integer / double /
character vectors, generic lists, references to symbols, and the environments R writes for
global / base / empty. Attributes become a ``dict`` on :class:`RObject`.

Example:
    >>> objs = read_rdb("janeaustenr/data/Rdata")            # doctest: +SKIP
    >>> objs["emma"].value[:2]                               # doctest: +SKIP
    ['EMMA', '']
"""

from __future__ import annotations

import bz2
import gzip
import lzma
import os
import struct
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from artkit.core.errors import ArtkitError

# SEXP types
NILSXP, SYMSXP, LISTSXP, CLOSXP, ENVSXP = 0, 1, 2, 3, 4
LANGSXP, CHARSXP, LGLSXP, INTSXP, REALSXP, CPLXSXP, STRSXP = 6, 9, 10, 13, 14, 15, 16
VECSXP, EXPRSXP, RAWSXP = 19, 20, 24
# pseudo types of the serialisation stream
REFSXP, NILVALUE_SXP, GLOBALENV_SXP, UNBOUNDVALUE_SXP = 255, 254, 253, 252
MISSINGARG_SXP, BASENAMESPACE_SXP, EMPTYENV_SXP, BASEENV_SXP = 251, 250, 242, 241
ATTRLISTSXP = 239

NA_INTEGER = -(2 ** 31)
_UTF8, _LATIN1, _BYTES = 1 << 3, 1 << 2, 1 << 1


class RFormatError(ArtkitError):
    """The bytes are not an R serialisation this reader understands."""


@dataclass
class RObject:
    """An R value with attributes (``names``, ``class``, ...).

    ``value`` is a Python list for vectors (``None`` for NA), a ``str`` for a symbol, ``None``
    for ``NULL``.
    """

    type: int
    value: Any
    attributes: dict[str, Any] = field(default_factory=dict)

    @property
    def names(self) -> list[str] | None:
        names = self.attributes.get("names")
        return names.value if isinstance(names, RObject) else None

    def as_dict(self) -> dict[str, Any]:
        """A named list as ``{name: element}``."""
        names = self.names
        if names is None or not isinstance(self.value, list):
            raise RFormatError("this R object is not a named list")
        return dict(zip(names, self.value))


@dataclass(frozen=True)
class _Sym:
    name: str


class _Reader:
    def __init__(self, data: bytes):
        self.data = data
        self.pos = 0
        self.refs: list[Any] = []

    # -- primitives
    def take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise RFormatError(f"R data is truncated (wanted {n} bytes at {self.pos} of "
                               f"{len(self.data)})")
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return out

    def int(self) -> int:
        return struct.unpack(">i", self.take(4))[0]

    def length(self) -> int:
        n = self.int()
        if n == -1:
            hi, lo = self.int(), self.int()
            n = (hi << 32) + lo
        if n < 0:
            raise RFormatError(f"negative vector length {n} in R data")
        return n

    # -- items
    def item(self) -> Any:
        flags = self.int()
        kind = flags & 0xFF
        levels = flags >> 12
        has_attr = bool(flags & (1 << 9))

        if kind == NILVALUE_SXP or kind == NILSXP:
            return None
        if kind in (GLOBALENV_SXP, BASEENV_SXP, EMPTYENV_SXP, BASENAMESPACE_SXP,
                    UNBOUNDVALUE_SXP, MISSINGARG_SXP):
            return RObject(kind, None)
        if kind == REFSXP:
            index = flags >> 8
            if index == 0:
                index = self.int()
            if not 1 <= index <= len(self.refs):
                raise RFormatError(f"bad reference {index} in R data")
            return self.refs[index - 1]
        if kind == SYMSXP:
            name = self.item()
            sym = _Sym(name if isinstance(name, str) else "")
            self.refs.append(sym)
            return sym
        if kind == CHARSXP:
            return self.charsxp(levels)
        if kind in (LISTSXP, LANGSXP, ATTRLISTSXP):
            return self.pairlist(flags)
        if kind == ENVSXP:
            env = RObject(ENVSXP, None)
            self.refs.append(env)
            self.int()  # locked
            self.item(), self.item(), self.item()  # enclosure, frame, hash table
            attrs = self.item()
            env.attributes = _attr_dict(attrs)
            return env
        if kind in (LGLSXP, INTSXP):
            n = self.length()
            vals = list(struct.unpack(f">{n}i", self.take(4 * n)))
            value = [None if v == NA_INTEGER else (bool(v) if kind == LGLSXP else v) for v in vals]
        elif kind == REALSXP:
            n = self.length()
            value = list(struct.unpack(f">{n}d", self.take(8 * n)))
        elif kind == CPLXSXP:
            n = self.length()
            pairs = struct.unpack(f">{2 * n}d", self.take(16 * n))
            value = [complex(pairs[i], pairs[i + 1]) for i in range(0, 2 * n, 2)]
        elif kind == RAWSXP:
            value = self.take(self.length())
        elif kind == STRSXP:
            n = self.length()
            value = []
            for _ in range(n):
                f = self.int()
                if f & 0xFF != CHARSXP:
                    raise RFormatError(f"a character vector holds type {f & 0xFF}, not CHARSXP")
                value.append(self.charsxp(f >> 12))
        elif kind in (VECSXP, EXPRSXP):
            value = [self.item() for _ in range(self.length())]
        else:
            raise RFormatError(f"R type {kind} is not supported by this reader "
                               "(only data vectors, lists and attributes are)")
        obj = RObject(kind, value)
        if has_attr:
            obj.attributes = _attr_dict(self.item())
        return obj

    def charsxp(self, levels: int) -> str | None:
        n = self.int()
        if n == -1:
            return None
        raw = self.take(n)
        if levels & _LATIN1:
            return raw.decode("latin-1")
        return raw.decode("utf-8", errors="replace")

    def pairlist(self, flags: int) -> RObject:
        """A pairlist as ``RObject(LISTSXP, [(tag, value), ...])`` (iteratively over CDRs)."""
        cells: list[tuple[str | None, Any]] = []
        attrs: dict[str, Any] = {}
        while True:
            kind = flags & 0xFF
            if kind not in (LISTSXP, LANGSXP, ATTRLISTSXP):
                raise RFormatError(f"R pairlist ends in type {kind}")
            if flags & (1 << 9):
                attrs.update(_attr_dict(self.item()))
            tag = self.item() if flags & (1 << 10) else None
            car = self.item()
            cells.append((tag.name if isinstance(tag, _Sym) else None, car))
            flags = self.int()
            if flags & 0xFF in (NILVALUE_SXP, NILSXP):
                break
        return RObject(LISTSXP, cells, attrs)


def _attr_dict(obj: Any) -> dict[str, Any]:
    if isinstance(obj, RObject) and obj.type == LISTSXP:
        return {tag: val for tag, val in obj.value if tag is not None}
    return {}


def unserialize(data: bytes) -> Any:
    """Read one serialised R object (format ``X``, version 2 or 3).

    Raises:
        RFormatError: another format (ASCII, native binary), or types this reader lacks.
    """
    r = _Reader(data)
    head = r.take(2)
    if head != b"X\n":
        raise RFormatError(f"not an XDR R serialisation (starts with {head!r})",
                           "only R's default binary (XDR) format is supported")
    version = r.int()
    r.int(), r.int()  # writer's R version, minimal R version to read it
    if version == 3:
        r.take(r.int())  # native encoding name
    elif version != 2:
        raise RFormatError(f"R serialisation version {version} is not supported (2 or 3 are)")
    return r.item()


def decompress(blob: bytes) -> bytes:
    """Undo R's lazy-load compression: 4-byte length, then zlib (or a typed stream)."""
    if len(blob) < 5:
        raise RFormatError("compressed R data is too short")
    size = struct.unpack(">I", blob[:4])[0]
    body = blob[4:]
    kind = body[:1]
    try:
        if kind == b"Z" and body[1:2] in (b"\x78",):
            out = zlib.decompress(body[1:])
        elif kind == b"2":
            out = bz2.decompress(body[1:])
        elif kind == b"X":
            out = lzma.decompress(body[1:])
        elif kind == b"0":
            out = body[1:]
        else:
            out = zlib.decompress(body)
    except (zlib.error, OSError, lzma.LZMAError, ValueError) as exc:
        raise RFormatError(f"cannot decompress R data: {exc}") from None
    if len(out) != size:
        raise RFormatError(f"R data decompressed to {len(out)} bytes, header says {size}")
    return out


def _to_python(obj: Any) -> Any:
    if isinstance(obj, RObject) and obj.type == INTSXP:
        return obj.value
    return obj


def read_index(rdx: str | os.PathLike) -> dict[str, tuple[int, int]]:
    """The ``{object name: (offset, length)}`` table of a lazy-load database's ``.rdx``."""
    rdx = Path(rdx)
    try:
        raw = rdx.read_bytes()
        raw = gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else decompress(raw)
    except (OSError, EOFError) as exc:
        raise RFormatError(f"cannot read {rdx}: {exc}") from None
    index = unserialize(raw)
    if not isinstance(index, RObject):
        raise RFormatError(f"{rdx} does not hold an R list")
    variables = index.as_dict().get("variables")
    if not isinstance(variables, RObject):
        raise RFormatError(f"{rdx} has no 'variables' table")
    out = {}
    for name, pos in variables.as_dict().items():
        pos = _to_python(pos)
        if not isinstance(pos, list) or len(pos) != 2:
            raise RFormatError(f"bad position of '{name}' in {rdx}")
        out[name] = (int(pos[0]), int(pos[1]))
    return out


def read_rdb(base: str | os.PathLike, names: list[str] | None = None) -> dict[str, Any]:
    """Read objects of a lazy-load database ``BASE.rdx`` + ``BASE.rdb``.

    Args:
        base: path without the suffix (``.../data/Rdata``).
        names: the objects wanted (default: all).

    Raises:
        RFormatError: missing files, unknown object names, unreadable data.
    """
    base = Path(base)
    rdx, rdb = base.with_suffix(".rdx"), base.with_suffix(".rdb")
    for f in (rdx, rdb):
        if not f.is_file():
            raise RFormatError(f"R database file {f} is missing")
    index = read_index(rdx)
    wanted = list(index) if names is None else names
    unknown = [n for n in wanted if n not in index]
    if unknown:
        raise RFormatError(f"{rdb} has no object(s) {unknown}; it holds {sorted(index)}")
    out = {}
    with open(rdb, "rb") as fh:
        for name in wanted:
            offset, length = index[name]
            fh.seek(offset)
            blob = fh.read(length)
            if len(blob) != length:
                raise RFormatError(f"{rdb} is truncated at object '{name}'")
            out[name] = unserialize(decompress(blob))
    return out


# ----------------------------------------------------------------------------------- writing
# A writer for the same subset: tests build small databases with it, and it documents the format.


def _w_int(v: int) -> bytes:
    return struct.pack(">i", v)


def _w_attrs(attrs: dict[str, Any]) -> bytes:
    out = b""
    for tag, val in attrs.items():
        out += _w_int(LISTSXP | (1 << 10)) + _w_sym(tag) + _w_item(val)
    return out + _w_int(NILVALUE_SXP)


def _w_sym(name: str) -> bytes:
    raw = name.encode()
    return _w_int(SYMSXP) + _w_int(CHARSXP | (64 << 12)) + _w_int(len(raw)) + raw


def _w_item(value: Any) -> bytes:
    attrs: dict[str, Any] = {}
    if isinstance(value, RObject):
        attrs, value = value.attributes, value.value
    elif isinstance(value, dict):
        attrs, value = {"names": list(value)}, list(value.values())
    flag_attr = (1 << 9) if attrs else 0
    if value is None:
        return _w_int(NILVALUE_SXP)
    if isinstance(value, list) and value and all(isinstance(v, str) or v is None for v in value):
        body = _w_int(STRSXP | flag_attr) + _w_int(len(value))
        for s in value:
            if s is None:
                body += _w_int(CHARSXP) + _w_int(-1)
            else:
                raw = s.encode("utf-8")
                body += _w_int(CHARSXP | (_UTF8 << 12)) + _w_int(len(raw)) + raw
    elif isinstance(value, list) and value and all(isinstance(v, int) and not isinstance(v, bool)
                                                   for v in value):
        body = _w_int(INTSXP | flag_attr) + _w_int(len(value)) + struct.pack(f">{len(value)}i", *value)
    elif isinstance(value, list):
        body = _w_int(VECSXP | flag_attr) + _w_int(len(value)) + b"".join(_w_item(v) for v in value)
    elif isinstance(value, bool):
        body = _w_int(LGLSXP | flag_attr) + _w_int(1) + _w_int(int(value))
    else:
        raise TypeError(f"cannot write {type(value).__name__} as R data")
    if attrs:
        body += _w_attrs({k: (v if not isinstance(v, list) else v) for k, v in attrs.items()})
    return body


def serialize(value: Any, version: int = 3) -> bytes:
    """Serialise strings, ints, lists and named lists (``dict``) in R's XDR format."""
    head = b"X\n" + _w_int(version) + _w_int(0x040300) + _w_int(0x030500)
    if version == 3:
        head += _w_int(5) + b"UTF-8"
    return head + _w_item(value)


def compress(data: bytes) -> bytes:
    """R's lazy-load compression (type 1): 4-byte length + zlib."""
    return struct.pack(">I", len(data)) + zlib.compress(data)


def write_rdb(base: str | os.PathLike, objects: dict[str, Any], version: int = 3) -> None:
    """Write ``BASE.rdb`` and ``BASE.rdx`` holding ``objects`` (the layout R's lazy-load uses)."""
    base = Path(base)
    positions, blob = {}, b""
    for name, value in objects.items():
        chunk = compress(serialize(value, version))
        positions[name] = [len(blob), len(chunk)]
        blob += chunk
    base.with_suffix(".rdb").write_bytes(blob)
    index = {"variables": positions, "references": RObject(VECSXP, []), "compressed": True}
    base.with_suffix(".rdx").write_bytes(gzip.compress(serialize(index, version), mtime=0))
