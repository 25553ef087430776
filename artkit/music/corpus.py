"""Music in: files, folders and music21 corpus selectors → pieces with a melody, chords and bars.

The melody is found automatically (a part named melody / lead / soprano / voice, else the
highest-sounding part, reduced to its top line); the harmony is the chord symbols when the piece
has them, else the chordified accompaniment (every other part, named beat by beat as the best
matching triad or seventh chord). Pieces that cannot be used are skipped with a reason.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Iterator

from artkit.core.errors import ArtkitError
from artkit.core.progress import ProgressCallback, report
from artkit.music.chords import Chord, chord_from_pcs, parse_chord
from artkit.music.grammar import BAR, Note, quantize, tokenize
from artkit.music.leadsheet import music21_symbol
from artkit.music.meter import Meter, meter_for_length
from artkit.music.midi import read_midi

MIDI_EXT = {".mid", ".midi", ".smf"}
M21_EXT = {".xml", ".mxl", ".musicxml", ".abc", ".krn", ".mei", ".rntxt"}
MUSIC_EXT = MIDI_EXT | M21_EXT

# corpus:NAME → folder of music21's corpus
CORPUS = {
    "bach": "bach", "chorales": "bach", "essen": "essenFolksong", "oneills": "oneills1850",
    "ryans": "ryansMammoth", "joplin": "joplin", "leadsheet": "leadSheet",
    "nottingham": "nottingham-dataset", "palestrina": "palestrina", "beethoven": "beethoven",
    "mozart": "mozart", "haydn": "haydn", "handel": "handel", "schubert": "schubert",
    "chopin": "chopin", "monteverdi": "monteverdi", "miscfolk": "miscFolk",
    "airdsairs": "airdsAirs", "corelli": "corelli",
}
MAX_PIECE_QUARTERS = 40_000       # 10,000 bars of 4/4: about 5.5 hours at 120 bpm
MAX_PIECE_BARS = 20_000
MELODY_NAMES = ("melody", "lead", "soprano", "voice", "vocal", "solo", "sax", "trumpet")


@dataclass
class Piece:
    """A melody over chords, cut into bars (times in quarter notes).

    Args:
        name: where it came from (``file`` or ``file#n`` inside a collection).
        melody: the top line, monophonic.
        chords: ``(start, length, chord)``, in order (N.C. has no notes).
        bars: ``(start, length)`` of the full bars to learn from.
        harmony: ``"chord symbols"`` or ``"chordified accompaniment"``.
        meters: each bar's meter when known (else n/4 from its length).
    """

    name: str
    melody: list[Note]
    chords: list[tuple[Fraction, Fraction, Chord]]
    bars: list[tuple[Fraction, Fraction]]
    harmony: str
    meters: list[Meter] | None = None
    _starts: list[Fraction] = field(default_factory=list, repr=False)

    def chord_at(self, t: Fraction) -> Chord | None:
        """The chord sounding at ``t`` (``None`` before the first, or under N.C.)."""
        if not self._starts:
            self._starts = [c[0] for c in self.chords]
        i = bisect.bisect_right(self._starts, t) - 1
        chord = self.chords[i][2] if i >= 0 else None
        return None if chord is None or chord.is_rest else chord

    def meter(self, bar: int) -> Meter:
        """The meter of bar ``bar``."""
        if self.meters is not None and bar < len(self.meters):
            return self.meters[bar]
        return meter_for_length(self.bars[bar][1])

    def tokens(self) -> list[str]:
        """The melody as grammar tokens over its own chords."""
        first = next((n.pitch for n in self.melody if n.pitch is not None), 72)
        return trim_silent_bars(tokenize(self.melody, self.chord_at, self.bars, start_pitch=first))


def trim_silent_bars(tokens: list[str]) -> list[str]:
    """Drop the all-rest bars at the start and the end (intros, pickups, codas)."""
    bars, cur = [], []
    for t in tokens:
        cur.append(t)
        if t == BAR:
            bars.append(cur)
            cur = []
    silent = lambda bar: all(t == BAR or t.startswith("R,") for t in bar)  # noqa: E731
    while bars and silent(bars[0]):
        bars.pop(0)
    while bars and silent(bars[-1]):
        bars.pop()
    return [t for bar in bars for t in bar] + cur


@dataclass
class RawPart:
    """One part of a file as read: its name and ``(start, duration, pitch)`` notes."""

    name: str
    notes: list[tuple[Fraction, Fraction, int]]


@dataclass
class RawPiece:
    """A file's music before melody and harmony are found: its parts, chord symbols
    ``(start, symbol)``, time signatures ``(start, bar length)`` and, when the file has them,
    its full measures ``(start, length)``."""

    parts: list[RawPart]
    symbols: list[tuple[Fraction, str]]
    time_signatures: list[tuple[Fraction, Fraction]]
    measures: list[tuple[Fraction, Fraction]] | None = None
    meters: list[tuple[Fraction, Meter]] = field(default_factory=list)

    def meter_at(self, t: Fraction, length: Fraction) -> Meter:
        """The written meter in force at ``t`` when it fits a bar of ``length`` (6/8 and 3/4
        are both three quarters long), else the n/4 meter of that length."""
        found = None
        for start, m in self.meters:
            if start <= t:
                found = m
        return found if found is not None and found.bar_length == length else meter_for_length(length)


def _frac(x) -> Fraction:
    return Fraction(x).limit_denominator(960)


# ---------------------------------------------------------------- resolving sources

def corpus_root() -> Path:
    import music21

    return Path(music21.__file__).parent / "corpus"


def resolve_sources(sources: list[str]) -> tuple[list[Path], list[tuple[str, str]]]:
    """Expand files, folders and ``corpus:NAME[:N]`` selectors into music files.

    Returns:
        ``(files, skipped)``: skipped are ``(path, reason)`` for files of other types in folders.

    Raises:
        ArtkitError: a path that does not exist, an unknown corpus name, a folder without music.
    """
    files: list[Path] = []
    skipped: list[tuple[str, str]] = []
    for src in sources:
        src = str(src)
        if src.startswith("corpus:"):
            files += _corpus_files(src)
            continue
        p = Path(src)
        if not p.exists():
            raise ArtkitError(f"'{src}' does not exist",
                              "give MIDI / MusicXML / ABC / Humdrum files, folders, or corpus:NAME")
        if p.is_dir():
            found = sorted(f for f in p.rglob("*") if f.is_file() and f.suffix.lower() in MUSIC_EXT)
            if not found:
                raise ArtkitError(f"folder '{src}' has no music files",
                                  "artkit reads .mid .midi .xml .mxl .musicxml .abc .krn")
            files += found
        elif p.suffix.lower() in MUSIC_EXT:
            files.append(p)
        else:
            raise ArtkitError(f"'{src}' is not a music file artkit reads ({p.suffix or 'no suffix'})",
                              "artkit reads .mid .midi .xml .mxl .musicxml .abc .krn")
    return files, skipped


def _corpus_files(selector: str) -> list[Path]:
    body = selector[len("corpus:"):]
    name, _, count = body.partition(":")
    limit = None
    if count:
        if not count.isdigit() or int(count) < 1:
            raise ArtkitError(f"'{selector}': the count after the last ':' must be a positive number")
        limit = int(count)
    root = corpus_root()
    key = name.lower()
    if key in CORPUS:
        folder = root / CORPUS[key]
        found = sorted(f for f in folder.rglob("*") if f.suffix.lower() in MUSIC_EXT)
        if key == "chorales":
            found = [f for f in found if f.name.startswith("bwv")]
        return found[:limit]
    direct = [root / (name + ext) for ext in ("", ".mxl", ".xml", ".abc", ".krn", ".mid")]
    hit = next((p for p in direct if p.is_file()), None)
    if hit is None:
        raise ArtkitError(f"unknown corpus selector '{selector}'",
                          "known: " + ", ".join(f"corpus:{k}" for k in CORPUS)
                          + ", or a work like corpus:bach/bwv66.6")
    return [hit]


# ---------------------------------------------------------------- reading pieces

def load_pieces(sources: list[str], progress: ProgressCallback | None = None,
                limit: int | None = None) -> tuple[list[Piece], list[tuple[str, str]]]:
    """Read every piece of ``sources``; returns ``(pieces, skipped)`` with a reason for each
    skipped piece or file.

    Raises:
        ArtkitError: bad paths or selectors (see :func:`resolve_sources`).
    """
    files, skipped = resolve_sources(sources)
    pieces: list[Piece] = []
    for i, f in enumerate(files):
        report(progress, "read music", i, len(files), f.name)
        try:
            for name, raw in read_raw(f):
                try:
                    pieces.append(build_piece(name, raw))
                except ArtkitError as exc:
                    skipped.append((name, exc.message))
        except ArtkitError as exc:
            skipped.append((str(f), exc.message))
        if limit and len(pieces) >= limit:
            pieces = pieces[:limit]
            break
    if pieces:
        report(progress, "read music", len(files), len(files), f"{len(pieces)} pieces")
    return pieces, skipped


def load_piece(path: str | Path) -> Piece:
    """The first usable piece of one file (a clear error naming the reason otherwise)."""
    pieces, skipped = load_pieces([str(path)], limit=1)
    if not pieces:
        why = skipped[0][1] if skipped else "no piece in it"
        raise ArtkitError(f"cannot use '{path}': {why}")
    return pieces[0]


def read_raw(path: Path) -> Iterator[tuple[str, RawPiece]]:
    """The raw pieces of one music file (several for a collection), named ``file`` or
    ``file#n``.

    Raises:
        ArtkitError: the file cannot be read.
    """
    if path.suffix.lower() in MIDI_EXT:
        yield str(path), _from_midi(path)
        return
    from music21 import converter, stream

    try:
        obj = converter.parse(str(path))
    except Exception as exc:  # music21 raises many types on bad files
        raise ArtkitError(f"music21 cannot read it ({type(exc).__name__}: {str(exc)[:120]})") from None
    if isinstance(obj, stream.Opus):
        for i, score in enumerate(obj.scores):
            yield f"{path}#{i + 1}", _from_music21(score)
    else:
        yield str(path), _from_music21(obj)


def _from_midi(path: Path) -> RawPiece:
    song = read_midi(path)
    parts = [RawPart(t.name, [(_frac(n.start), _frac(n.dur), n.pitch) for n in t.notes])
             for t in song.tracks if not t.is_drums and t.notes]
    symbols = []
    for q, text in song.markers:
        try:
            parse_chord(text)
            symbols.append((_frac(q), text))
        except ArtkitError:
            pass
    ts = [(_frac(q), Fraction(num * 4, den)) for q, num, den in song.time_signatures]
    return RawPiece(parts, symbols, ts, meters=_meters((_frac(q), num, den)
                                                       for q, num, den in song.time_signatures))


def _meters(signatures) -> list[tuple[Fraction, Meter]]:
    """``(start, Meter)`` of the time signatures artkit plays (others are left to bar lengths)."""
    out = []
    for start, num, den in signatures:
        try:
            out.append((start, Meter(int(num), int(den))))
        except ArtkitError:
            continue
    return out


def _from_music21(score) -> RawPiece:
    from music21 import chord as m21chord
    from music21 import harmony, meter, stream

    parts_src = list(score.parts) if hasattr(score, "parts") and len(score.parts) else [score]
    parts, symbols = [], []
    for p in parts_src:
        flat = p.flatten()
        notes = []
        for el in flat.notes:
            if isinstance(el, harmony.ChordSymbol):
                continue
            start, dur = _frac(el.offset), _frac(el.quarterLength)
            if dur <= 0:
                continue
            if isinstance(el, m21chord.Chord):
                notes += [(start, dur, pp.midi) for pp in el.pitches]
            elif hasattr(el, "pitch"):
                notes.append((start, dur, el.pitch.midi))
        for cs in flat.getElementsByClass(harmony.ChordSymbol):
            symbols.append((_frac(cs.offset), music21_symbol(cs)))
        if notes:
            parts.append(RawPart(p.partName or "", notes))
    first = parts_src[0]
    signatures = list(first.flatten().getElementsByClass(meter.TimeSignature))
    ts = [(_frac(t.offset), _frac(t.barDuration.quarterLength)) for t in signatures]
    measures = None
    ms = list(first.getElementsByClass(stream.Measure))
    if ms:
        measures = []
        for m in ms:
            full = m.barDuration.quarterLength if m.barDuration is not None else m.quarterLength
            if m.quarterLength == full and not m.paddingLeft:
                measures.append((_frac(m.offset), _frac(full)))
    return RawPiece(parts, sorted(symbols), ts or [(Fraction(0), Fraction(4))], measures,
                    _meters((_frac(t.offset), t.numerator, t.denominator) for t in signatures))


def _skyline(notes: list[tuple[Fraction, Fraction, int]]) -> tuple[list[Note], list]:
    """The top note at each onset (the melody) and the rest (accompaniment)."""
    by_onset: dict[Fraction, list] = {}
    for n in notes:
        by_onset.setdefault(n[0], []).append(n)
    top, rest = [], []
    for t in sorted(by_onset):
        group = sorted(by_onset[t], key=lambda n: -n[2])
        top.append(Note(group[0][0], group[0][1], group[0][2]))
        rest += group[1:]
    return quantize(top), rest


def build_piece(name: str, raw: RawPiece) -> Piece:
    """Find melody, harmony and bars in a raw piece.

    Raises:
        ArtkitError: no notes, no melody, no harmony, or no full bars.
    """
    parts = [p for p in raw.parts if p.notes]
    if not parts:
        raise ArtkitError("no notes")
    named = [p for p in parts if any(k in p.name.lower() for k in MELODY_NAMES)]
    if named:
        mel_part = named[0]
    else:
        big = max(len(p.notes) for p in parts)
        cands = [p for p in parts if len(p.notes) >= 0.2 * big] or parts
        mel_part = max(cands, key=lambda p: sum(n[2] for n in p.notes) / len(p.notes))
    melody, leftover = _skyline(mel_part.notes)
    accomp = leftover + [n for p in parts if p is not mel_part for n in p.notes]
    if len([n for n in melody if n.pitch is not None]) < 8:
        raise ArtkitError("no melody (fewer than 8 melody notes)")
    end = max(n.end for n in melody)
    if end > MAX_PIECE_QUARTERS:
        raise ArtkitError(f"too long: its melody lasts {float(end):.0f} quarter notes",
                          f"artkit reads pieces of up to {MAX_PIECE_QUARTERS} quarter notes")

    if raw.symbols:
        chords, harmony = [], "chord symbols"
        for i, (t, sym) in enumerate(raw.symbols):
            try:
                c = parse_chord(sym)
            except ArtkitError:
                continue
            chords.append((t, c))
        if not chords:
            raise ArtkitError("its chord symbols cannot be read")
        timeline = [(t, (chords[i + 1][0] if i + 1 < len(chords) else max(end, t + 1)) - t, c)
                    for i, (t, c) in enumerate(chords)]
    elif accomp:
        harmony = "chordified accompaniment"
        timeline = _chordify(accomp, end)
    else:
        raise ArtkitError("no harmony: no chord symbols and no accompaniment")
    if not timeline:
        raise ArtkitError("no harmony found in the accompaniment")

    bars = raw.measures if raw.measures else _bar_grid(raw.time_signatures, end)
    bars = [b for b in bars if b[0] < end]
    if len(bars) < 2:
        raise ArtkitError("fewer than 2 full bars")
    return Piece(name, melody, timeline, bars, harmony, [raw.meter_at(t, n) for t, n in bars])


def _bar_grid(ts: list[tuple[Fraction, Fraction]], end: Fraction) -> list[tuple[Fraction, Fraction]]:
    ts = sorted(ts) or [(Fraction(0), Fraction(4))]
    bars, t, k = [], Fraction(0), 0
    length = ts[0][1]
    while t < end:
        while k + 1 < len(ts) and ts[k + 1][0] <= t:
            k += 1
            length = ts[k][1]
        if length < Fraction(1, 4) or len(bars) >= MAX_PIECE_BARS:
            raise ArtkitError(f"its time signatures make bars of {length} quarter notes or more "
                              f"than {MAX_PIECE_BARS} bars")
        bars.append((t, length))
        t += length
    return bars


def _chordify(notes: list[tuple[Fraction, Fraction, int]], end: Fraction,
              step: Fraction = Fraction(1)) -> list[tuple[Fraction, Fraction, Chord]]:
    """Name the accompaniment's harmony beat by beat; equal neighbours are merged."""
    n_steps = int(end / step) + 1
    weights: list[dict[int, float]] = [dict() for _ in range(n_steps)]
    for s, d, p in notes:
        k0, k1 = int(s / step), int((s + d) / step)
        for k in range(max(0, k0), min(n_steps - 1, k1) + 1):
            lo, hi = max(s, k * step), min(s + d, (k + 1) * step)
            if hi > lo:
                w = float(hi - lo) * (1.5 if p < 55 else 1.0)   # the bass weighs a little more
                weights[k][p % 12] = weights[k].get(p % 12, 0.0) + w
    out: list[tuple[Fraction, Fraction, Chord]] = []
    last: Chord | None = None
    for k, w in enumerate(weights):
        c = chord_from_pcs(w) or last
        if c is None:
            continue
        if out and out[-1][2].symbol == c.symbol:
            t0, d0, c0 = out[-1]
            out[-1] = (t0, d0 + step, c0)
        else:
            out.append((k * step, step, c))
        last = c
    return out
