"""Hostile and careless files, made from a seed: the corpus of tests/test_fuzz.py.

Each maker writes one corrupt file of its kind into a folder and returns its path. The kinds are
the formats artkit reads: images (PNG, JPEG), MIDI, TOML presets, safetensors artifacts and plain
text. Together they cover what an audit found and what a careless user makes: truncation,
garbage after a valid magic number, headers that claim sizes far beyond the data (a few bytes
that promise a 100000×100000 picture, a MIDI time signature with a 2^255 denominator, a
safetensors header of 2^60 bytes), files of the wrong kind under the right name, empty files,
binary where text is expected, and numbers out of every range.
"""

from __future__ import annotations

import json
import random
import struct
import zlib
from pathlib import Path
from typing import Callable

# ------------------------------------------------------------------------------ images


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_claiming(w: int, h: int) -> bytes:
    """A tiny PNG whose header claims ``w``×``h`` pixels (its data is one byte)."""
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr)
            + _png_chunk(b"IDAT", zlib.compress(b"\0")) + _png_chunk(b"IEND", b""))


def valid_png(w: int = 16, h: int = 12, seed: int = 0) -> bytes:
    import io

    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(seed)
    buf = io.BytesIO()
    Image.fromarray(rng.integers(0, 255, (h, w, 3), dtype=np.uint8)).save(buf, "PNG")
    return buf.getvalue()


def image_makers(rng: random.Random) -> dict[str, Callable[[], bytes]]:
    good = valid_png(seed=rng.randrange(1000))
    return {
        "empty": lambda: b"",
        "bomb": lambda: png_claiming(100000, 100000),
        "zero-size": lambda: png_claiming(0, 0),
        "truncated": lambda: good[: len(good) // 2],
        "garbage-after-magic": lambda: b"\x89PNG\r\n\x1a\n" + rng.randbytes(200),
        "jpeg-garbage": lambda: b"\xff\xd8\xff\xe0" + rng.randbytes(300),
        "text": lambda: b"this is not a picture\n",
        "flipped-bits": lambda: _flip(good, rng, 12),
    }


def _flip(data: bytes, rng: random.Random, n: int) -> bytes:
    b = bytearray(data)
    for _ in range(n):
        i = rng.randrange(8, len(b))  # keep the magic number, damage the rest
        b[i] ^= 1 << rng.randrange(8)
    return bytes(b)


# ------------------------------------------------------------------------------ MIDI


def _mtrk(events: bytes) -> bytes:
    return b"MTrk" + struct.pack(">I", len(events)) + events


def _vlq(n: int) -> bytes:
    out = [n & 0x7F]
    n >>= 7
    while n:
        out.append(0x80 | (n & 0x7F))
        n >>= 7
    return bytes(reversed(out))


def midi(tracks: list[bytes], division: int = 480, fmt: int = 1) -> bytes:
    return b"MThd" + struct.pack(">IHHH", 6, fmt, len(tracks), division) + b"".join(map(_mtrk, tracks))


def _notes(delta_first: int = 0) -> bytes:
    return (_vlq(delta_first) + b"\x90\x3c\x64" + _vlq(480) + b"\x80\x3c\x00"
            + b"\x00\xff\x2f\x00")


def midi_makers(rng: random.Random) -> dict[str, Callable[[], bytes]]:
    return {
        "empty": lambda: b"",
        "huge-time-signature-denominator": lambda: midi(
            [b"\x00\xff\x58\x04\x04\xff\x18\x08" + _notes()]),
        "note-far-in-the-future": lambda: midi([_notes(delta_first=0x0FFFFFFF)]),
        "zero-division": lambda: midi([_notes()], division=0),
        "claims-65535-tracks": lambda: b"MThd" + struct.pack(">IHHH", 6, 1, 65535, 480),
        "chunk-longer-than-file": lambda: b"MThd" + struct.pack(">IHHH", 6, 0, 1, 480)
        + b"MTrk" + struct.pack(">I", 0x7FFFFFFF) + b"\x00\x90",
        "garbage-after-magic": lambda: b"MThd" + rng.randbytes(120),
        "tempo-zero": lambda: midi([b"\x00\xff\x51\x03\x00\x00\x00" + _notes()]),
        "text": lambda: b"not a midi file\n",
    }


# ------------------------------------------------------------------------------ TOML


def toml_makers(rng: random.Random) -> dict[str, Callable[[], bytes]]:
    return {
        "empty": lambda: b"",
        "bad-syntax": lambda: b"tempo = = 3\n[[[\n",
        "binary": lambda: rng.randbytes(64),
        "latin-1": lambda: "name = \"caf\xe9\"\n".encode("latin-1"),
        "wrong-types": lambda: b'tempo = "fast"\nbars = [1, 2]\nregister = "high"\n',
        "out-of-range": lambda: (b"tempo = -120\nbars = 0\nvelocity = 1000\ndensity = -3\n"
                                 b"register = [200, 100]\nuniformity = -5\niterations = -1\n"),
        "huge-numbers": lambda: b"tempo = 1e308\nbars = 9999999999999\n",
        "unknown-keys": lambda: b"no_such_key = 1\n",
    }


# ------------------------------------------------------------------------------ safetensors


def safetensors_makers(rng: random.Random) -> dict[str, Callable[[], bytes]]:
    def header(obj: dict, tail: bytes = b"") -> bytes:
        h = json.dumps(obj).encode()
        return struct.pack("<Q", len(h)) + h + tail

    return {
        "empty": lambda: b"",
        "huge-header-length": lambda: struct.pack("<Q", 1 << 60) + b"{}",
        "header-not-json": lambda: struct.pack("<Q", 10) + b"not json!!",
        "header-is-a-list": lambda: header([1, 2, 3]),  # type: ignore[arg-type]
        "offsets-past-the-end": lambda: header(
            {"w": {"dtype": "F32", "shape": [1000, 1000], "data_offsets": [0, 4000000]}}, b"\0" * 16),
        "foreign-kind": lambda: header(
            {"__metadata__": {"artkit.kind": "no-such-kind", "artkit.version": "1",
                              "artkit.meta": "{}"},
             "w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}, b"\0" * 4),
        "pickle": lambda: b"\x80\x04\x95" + rng.randbytes(40),
        "random": lambda: rng.randbytes(256),
    }


# ------------------------------------------------------------------------------ text


def text_makers(rng: random.Random) -> dict[str, Callable[[], bytes]]:
    return {
        "empty": lambda: b"",
        "binary": lambda: rng.randbytes(512),
        "utf-16": lambda: "once upon a time\n\nthe end\n".encode("utf-16"),
        "one-word": lambda: b"word",
    }


MAKERS = {"image": image_makers, "midi": midi_makers, "toml": toml_makers,
          "safetensors": safetensors_makers, "text": text_makers}
SUFFIX = {"image": ".png", "midi": ".mid", "toml": ".toml", "safetensors": ".safetensors",
          "text": ".txt"}


def corpus(kind: str, seed: int = 0) -> dict[str, bytes]:
    """``{case name: file bytes}`` for ``kind`` (image, midi, toml, safetensors, text)."""
    rng = random.Random(seed)
    return {name: make() for name, make in MAKERS[kind](rng).items()}


def write(folder: Path, kind: str, name: str, data: bytes) -> Path:
    """Write one corrupt file as ``folder/<name><suffix>``."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}{SUFFIX[kind]}"
    path.write_bytes(data)
    return path
