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
    for tr in song.tracks:
        bad = next((n.pitch for n in tr.notes if not 0 <= n.pitch <= 127), None)
        if bad is not None:
            raise ArtkitError(f"pitch {bad} in track '{tr.name}' is outside MIDI's 0–127")
    conductor = []
    for q, bpm in song.tempos:
        us = max(1, min(0xFFFFFF, int(round(60_000_000 / bpm))))
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


MAX_MIDI_BYTES = 16 << 20        # MIDI files are small; this is generous
MAX_TRACKS = 1024
MAX_NOTES = 2_000_000
MAX_QUARTERS = 1_000_000         # about 139 hours at 120 bpm
MAX_DENOMINATOR_POWER = 6        # time signatures up to n/64


class _Corrupt(ValueError):
    """A structural problem found while decoding (turned into one ArtkitError)."""


def read_midi(path: str | Path) -> MidiSong:
    """Decode a MIDI file, every header field and length checked before it is used.

    Raises:
        ArtkitError: the file is missing, empty, too large, not MIDI, truncated, SMPTE-timed,
            or holds values no MIDI file can (a time signature of n/2^200, a tempo of 0, a
            variable-length number of more than 4 bytes, a note a million quarters in).
    """
    path = Path(path)
    if not path.is_file():
        raise ArtkitError(f"MIDI file '{path}' does not exist")
    size = path.stat().st_size
    if size == 0:
        raise ArtkitError(f"MIDI file '{path}' is empty")
    if size > MAX_MIDI_BYTES:
        raise ArtkitError(f"'{path}' is {size >> 20} MB; artkit reads MIDI files of up to "
                          f"{MAX_MIDI_BYTES >> 20} MB")
    try:
        return parse_midi(path.read_bytes())
    except (_Corrupt, ArtkitError) as exc:
        raise ArtkitError(f"'{path}' is not a readable MIDI file: {exc}") from None
    except (IndexError, struct.error) as exc:
        raise ArtkitError(f"'{path}' is not a readable MIDI file: corrupt or truncated ({exc})") from None


def parse_midi(data: bytes) -> MidiSong:
    """Decode the bytes of a MIDI file (see :func:`read_midi`).

    Raises:
        ValueError: what is wrong with the data.
    """
    if data[:4] != b"MThd" or len(data) < 14:
        raise _Corrupt("no MThd header")
    hlen, fmt, ntracks, division = struct.unpack(">IHHH", data[4:14])
    if not 6 <= hlen <= len(data) - 8:
        raise _Corrupt(f"header length {hlen} (should be 6)")
    if fmt > 2:
        raise _Corrupt(f"unknown MIDI format {fmt}")
    if not 1 <= ntracks <= MAX_TRACKS:
        raise _Corrupt(f"{ntracks} tracks (artkit reads 1 to {MAX_TRACKS})")
    if division & 0x8000:
        raise _Corrupt("SMPTE time division is not supported")
    if division == 0:
        raise _Corrupt("0 ticks per quarter note")
    pos = 8 + hlen
    song = MidiSong(tempos=[], time_signatures=[], markers=[])
    counter = [0]
    for _ in range(ntracks):
        if data[pos:pos + 4] != b"MTrk":
            raise _Corrupt("a track chunk is missing or damaged")
        (length,) = struct.unpack(">I", data[pos + 4:pos + 8])
        if length > len(data) - pos - 8:
            raise _Corrupt(f"a track claims {length} bytes, {len(data) - pos - 8} are left")
        _parse_track(data[pos + 8:pos + 8 + length], division, song, counter)
        pos += 8 + length
    if not song.tempos:
        song.tempos = [(0.0, 120.0)]
    song.tempos.sort()
    if not song.time_signatures:
        song.time_signatures = [(0.0, 4, 4)]
    song.time_signatures.sort()
    song.markers.sort()
    return song


def _parse_track(body: bytes, ppq: int, song: MidiSong, counter: list[int]) -> None:
    i, tick, status = 0, 0, 0
    name = ""
    programs: dict[int, int] = {}
    notes: dict[int, list[MidiNote]] = {}
    open_: dict[tuple[int, int], list[tuple[int, int]]] = {}
    limit = MAX_QUARTERS * ppq

    def varlen() -> int:
        nonlocal i
        value = 0
        for _ in range(4):
            b = body[i]
            i += 1
            value = (value << 7) | (b & 0x7F)
            if not b & 0x80:
                return value
        raise _Corrupt("a variable-length number longer than 4 bytes")

    def data_byte() -> int:
        nonlocal i
        b = body[i]
        i += 1
        if b & 0x80:
            raise _Corrupt(f"a data byte of {b} (data bytes are below 128)")
        return b

    def close(ch: int, pitch: int, end: int) -> None:
        stack = open_.get((ch, pitch))
        if stack:
            start, vel = stack.pop(0)
            notes.setdefault(ch, []).append(
                MidiNote(start / ppq, max(end - start, 1) / ppq, pitch, vel))

    while i < len(body):
        tick += varlen()
        if tick > limit:
            raise _Corrupt(f"an event {tick // ppq} quarter notes in (more than {MAX_QUARTERS})")
        b = body[i]
        if b == 0xFF:
            kind = body[i + 1]
            i += 2
            n = varlen()
            if n > len(body) - i:
                raise _Corrupt(f"a meta event claims {n} bytes, {len(body) - i} are left")
            payload = body[i:i + n]
            i += n
            _meta(kind, payload, tick / ppq, song)
            if kind == 0x03:
                name = payload.decode("latin-1", "replace")
            elif kind == 0x2F:
                break
            continue
        if b in (0xF0, 0xF7):
            i += 1
            n = varlen()
            if n > len(body) - i:
                raise _Corrupt(f"a system-exclusive event claims {n} bytes")
            i += n
            continue
        if b & 0x80:
            status = b
            i += 1
        elif not status:
            raise _Corrupt("data byte without a status")
        kind, ch = status & 0xF0, status & 0x0F
        if kind in (0xC0, 0xD0):
            value = data_byte()
            if kind == 0xC0:
                programs[ch] = value
            continue
        d1, d2 = data_byte(), data_byte()
        if kind == 0x90 and d2 > 0:
            counter[0] += 1
            if counter[0] > MAX_NOTES:
                raise _Corrupt(f"more than {MAX_NOTES} notes")
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


def _meta(kind: int, payload: bytes, q: float, song: MidiSong) -> None:
    """Tempo, time signature and text events, their values checked."""
    if kind == 0x51:
        if len(payload) != 3:
            raise _Corrupt(f"a tempo event of {len(payload)} bytes (should be 3)")
        us = int.from_bytes(payload, "big")
        if us == 0:
            raise _Corrupt("a tempo of 0 microseconds per quarter note")
        song.tempos.append((q, 60_000_000 / us))
    elif kind == 0x58:
        if len(payload) < 2:
            raise _Corrupt("a time signature event without numerator and denominator")
        num, power = payload[0], payload[1]
        if num == 0 or power > MAX_DENOMINATOR_POWER:
            raise _Corrupt(f"time signature {num}/2^{power} (artkit reads up to n/"
                           f"{2 ** MAX_DENOMINATOR_POWER})")
        song.time_signatures.append((q, num, 2 ** power))
    elif kind in (0x01, 0x06):
        song.markers.append((q, payload.decode("utf-8", "replace")))
