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
        _Track(data[pos + 8:pos + 8 + length], division, song, counter).read()
        pos += 8 + length
    if not song.tempos:
        song.tempos = [(0.0, 120.0)]
    song.tempos.sort()
    if not song.time_signatures:
        song.time_signatures = [(0.0, 4, 4)]
    song.time_signatures.sort()
    song.markers.sort()
    return song


class _Track:
    """Decodes one track chunk into ``song``, every length checked against what is left."""

    def __init__(self, body: bytes, ppq: int, song: MidiSong, counter: list[int]):
        self.body, self.ppq, self.song, self.counter = body, ppq, song, counter
        self.i = self.tick = self.status = 0
        self.name = ""
        self.programs: dict[int, int] = {}
        self.notes: dict[int, list[MidiNote]] = {}
        self.open: dict[tuple[int, int], list[tuple[int, int]]] = {}

    def varlen(self) -> int:
        value = 0
        for _ in range(4):
            b = self.body[self.i]
            self.i += 1
            value = (value << 7) | (b & 0x7F)
            if not b & 0x80:
                return value
        raise _Corrupt("a variable-length number longer than 4 bytes")

    def data_byte(self) -> int:
        b = self.body[self.i]
        self.i += 1
        if b & 0x80:
            raise _Corrupt(f"a data byte of {b} (data bytes are below 128)")
        return b

    def payload(self, what: str) -> bytes:
        n = self.varlen()
        if n > len(self.body) - self.i:
            raise _Corrupt(f"a {what} claims {n} bytes, {len(self.body) - self.i} are left")
        self.i += n
        return self.body[self.i - n:self.i]

    def close(self, ch: int, pitch: int, end: int) -> None:
        stack = self.open.get((ch, pitch))
        if stack:
            start, vel = stack.pop(0)
            self.notes.setdefault(ch, []).append(
                MidiNote(start / self.ppq, max(end - start, 1) / self.ppq, pitch, vel))

    def channel_event(self) -> None:
        kind, ch = self.status & 0xF0, self.status & 0x0F
        if kind in (0xC0, 0xD0):
            value = self.data_byte()
            if kind == 0xC0:
                self.programs[ch] = value
            return
        d1, d2 = self.data_byte(), self.data_byte()
        if kind == 0x90 and d2 > 0:
            self.counter[0] += 1
            if self.counter[0] > MAX_NOTES:
                raise _Corrupt(f"more than {MAX_NOTES} notes")
            self.open.setdefault((ch, d1), []).append((self.tick, d2))
        elif kind == 0x80 or (kind == 0x90 and d2 == 0):
            self.close(ch, d1, self.tick)

    def read(self) -> None:
        body, limit = self.body, MAX_QUARTERS * self.ppq
        while self.i < len(body):
            self.tick += self.varlen()
            if self.tick > limit:
                raise _Corrupt(f"an event {self.tick // self.ppq} quarter notes in (more than {MAX_QUARTERS})")
            b = body[self.i]
            if b == 0xFF:
                kind = body[self.i + 1]
                self.i += 2
                data = self.payload("meta event")
                _meta(kind, data, self.tick / self.ppq, self.song)
                if kind == 0x03:
                    self.name = data.decode("latin-1", "replace")
                elif kind == 0x2F:
                    break
            elif b in (0xF0, 0xF7):
                self.i += 1
                self.payload("system-exclusive event")
            else:
                if b & 0x80:
                    self.status = b
                    self.i += 1
                elif not self.status:
                    raise _Corrupt("data byte without a status")
                self.channel_event()
        self.finish()

    def finish(self) -> None:
        for (ch, pitch), stack in list(self.open.items()):
            while stack:
                self.close(ch, pitch, self.tick)
        for ch in sorted(self.notes):
            self.song.tracks.append(MidiTrack(self.name or f"track {len(self.song.tracks) + 1}", ch,
                                              self.programs.get(ch, 0),
                                              sorted(self.notes[ch], key=lambda n: (n.start, n.pitch))))


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
