"""A small Standard MIDI File reader and writer (formats 0 and 1), with no dependencies.

Times are kept in quarter notes (floats); a tempo map converts them to seconds. Chord symbols
travel as marker meta events, so a piece written by ``artkit music compose`` reads back with
its exact harmony.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path

from artkit.core.errors import ArtkitError

DRUM_CHANNEL = 9   # channel 10 in 1-based numbering


@dataclass
class MidiNote:
    start: float      # quarter notes
    dur: float
    pitch: int
    velocity: int = 90


@dataclass
class MidiTrack:
    name: str = ""
    channel: int = 0
    program: int = 0
    notes: list[MidiNote] = field(default_factory=list)

    @property
    def is_drums(self) -> bool:
        return self.channel == DRUM_CHANNEL


@dataclass
class MidiSong:
    tracks: list[MidiTrack] = field(default_factory=list)
    tempos: list[tuple[float, float]] = field(default_factory=lambda: [(0.0, 120.0)])  # (q, bpm)
    time_signatures: list[tuple[float, int, int]] = field(default_factory=lambda: [(0.0, 4, 4)])
    markers: list[tuple[float, str]] = field(default_factory=list)

    def seconds(self, q: float) -> float:
        """Seconds at quarter-note time ``q`` (through the tempo map)."""
        total, last_q, bpm = 0.0, 0.0, self.tempos[0][1] if self.tempos else 120.0
        for tq, tbpm in self.tempos:
            if tq >= q:
                break
            total += (tq - last_q) * 60.0 / bpm
            last_q, bpm = tq, tbpm
        return total + (q - last_q) * 60.0 / bpm

    @property
    def end(self) -> float:
        """The end of the last note, in quarters."""
        return max((n.start + n.dur for t in self.tracks for n in t.notes), default=0.0)

    @property
    def duration_s(self) -> float:
        return self.seconds(self.end)


def _varlen(value: int) -> bytes:
    out = [value & 0x7F]
    value >>= 7
    while value:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    return bytes(reversed(out))


def write_midi(song: MidiSong, ppq: int = 480) -> bytes:
    """Encode ``song`` as a format-1 MIDI file (a conductor track, then one per track)."""
    def chunk(events: list[tuple[int, int, bytes]]) -> bytes:
        events.sort(key=lambda e: (e[0], e[1]))
        body, last = bytearray(), 0
        for tick, _, data in events:
            body += _varlen(tick - last) + data
            last = tick
        body += b"\x00\xff\x2f\x00"
        return b"MTrk" + struct.pack(">I", len(body)) + bytes(body)

    tick = lambda q: max(0, int(round(q * ppq)))  # noqa: E731
    conductor = []
    for q, bpm in song.tempos:
        us = int(round(60_000_000 / bpm))
        conductor.append((tick(q), 0, b"\xff\x51\x03" + us.to_bytes(3, "big")))
    for q, num, den in song.time_signatures:
        conductor.append((tick(q), 0, bytes([0xFF, 0x58, 4, num, den.bit_length() - 1, 24, 8])))
    for q, text in song.markers:
        data = text.encode("utf-8")
        conductor.append((tick(q), 1, b"\xff\x06" + _varlen(len(data)) + data))
    chunks = [chunk(conductor)]
    for tr in song.tracks:
        ch = tr.channel & 0x0F
        name = tr.name.encode("utf-8")
        ev = [(0, 0, b"\xff\x03" + _varlen(len(name)) + name),
              (0, 1, bytes([0xC0 | ch, tr.program & 0x7F]))]
        for n in tr.notes:
            on, off = tick(n.start), max(tick(n.start) + 1, tick(n.start + n.dur))
            ev.append((on, 3, bytes([0x90 | ch, n.pitch & 0x7F, max(1, min(127, n.velocity))])))
            ev.append((off, 2, bytes([0x80 | ch, n.pitch & 0x7F, 0])))
        chunks.append(chunk(ev))
    header = b"MThd" + struct.pack(">IHHH", 6, 1, len(chunks), ppq)
    return header + b"".join(chunks)


def read_midi(path: str | Path) -> MidiSong:
    """Decode a MIDI file.

    Raises:
        ArtkitError: the file is empty, not MIDI, truncated or SMPTE-timed.
    """
    path = Path(path)
    data = path.read_bytes()
    if not data:
        raise ArtkitError(f"MIDI file '{path}' is empty")
    try:
        return _parse(data)
    except ArtkitError as exc:
        raise ArtkitError(f"'{path}' is not a readable MIDI file: {exc.message}") from None
    except (IndexError, struct.error, ValueError) as exc:
        raise ArtkitError(f"'{path}' is not a readable MIDI file: corrupt or truncated ({exc})") from None


def _parse(data: bytes) -> MidiSong:
    if data[:4] != b"MThd":
        raise ArtkitError("no MThd header")
    hlen, fmt, ntracks, division = struct.unpack(">IHHH", data[4:14])
    if division & 0x8000:
        raise ArtkitError("SMPTE time division is not supported")
    ppq = division or 480
    pos = 8 + hlen
    song = MidiSong(tempos=[], time_signatures=[], markers=[])
    for _ in range(ntracks):
        if data[pos:pos + 4] != b"MTrk":
            raise ArtkitError("a track chunk is missing or damaged")
        (length,) = struct.unpack(">I", data[pos + 4:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if len(body) < length:
            raise ArtkitError("truncated track")
        pos += 8 + length
        _parse_track(body, ppq, song)
    if not song.tempos:
        song.tempos = [(0.0, 120.0)]
    song.tempos.sort()
    if not song.time_signatures:
        song.time_signatures = [(0.0, 4, 4)]
    song.time_signatures.sort()
    song.markers.sort()
    return song


def _parse_track(body: bytes, ppq: int, song: MidiSong) -> None:
    i, tick, status = 0, 0, 0
    name = ""
    programs: dict[int, int] = {}
    notes: dict[int, list[MidiNote]] = {}
    open_: dict[tuple[int, int], list[tuple[int, int]]] = {}

    def varlen() -> int:
        nonlocal i
        value = 0
        while True:
            b = body[i]
            i += 1
            value = (value << 7) | (b & 0x7F)
            if not b & 0x80:
                return value

    def close(ch: int, pitch: int, end: int) -> None:
        stack = open_.get((ch, pitch))
        if stack:
            start, vel = stack.pop(0)
            notes.setdefault(ch, []).append(
                MidiNote(start / ppq, max(end - start, 1) / ppq, pitch, vel))

    while i < len(body):
        tick += varlen()
        b = body[i]
        if b == 0xFF:
            kind = body[i + 1]
            i += 2
            n = varlen()
            payload = body[i:i + n]
            i += n
            q = tick / ppq
            if kind == 0x51 and n == 3:
                song.tempos.append((q, 60_000_000 / max(1, int.from_bytes(payload, "big"))))
            elif kind == 0x58 and n >= 2:
                song.time_signatures.append((q, payload[0], 2 ** payload[1]))
            elif kind == 0x03:
                name = payload.decode("latin-1", "replace")
            elif kind in (0x01, 0x06):
                song.markers.append((q, payload.decode("utf-8", "replace")))
            elif kind == 0x2F:
                break
            continue
        if b in (0xF0, 0xF7):
            i += 1
            i += varlen()
            continue
        if b & 0x80:
            status = b
            i += 1
        elif not status:
            raise ArtkitError("data byte without a status")
        kind, ch = status & 0xF0, status & 0x0F
        if kind in (0xC0, 0xD0):
            if kind == 0xC0:
                programs[ch] = body[i]
            i += 1
            continue
        d1, d2 = body[i], body[i + 1]
        i += 2
        if kind == 0x90 and d2 > 0:
            open_.setdefault((ch, d1), []).append((tick, d2))
        elif kind == 0x80 or (kind == 0x90 and d2 == 0):
            close(ch, d1, tick)
    for (ch, pitch), stack in list(open_.items()):
        while stack:
            close(ch, pitch, tick)
    for ch in sorted(notes):
        song.tracks.append(MidiTrack(name or f"track {len(song.tracks) + 1}", ch,
                                     programs.get(ch, 0),
                                     sorted(notes[ch], key=lambda n: (n.start, n.pitch))))
