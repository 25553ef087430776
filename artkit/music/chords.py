"""Chords and progressions: what the melody, the band and the metrics need of a harmony.

A :class:`Chord` is a parsed symbol (:mod:`artkit.music.symbols`): its root, pitch classes, bass
and the scale the melody grammar calls "scale tones"; :data:`NO_CHORD` (``N.C.``) has no notes —
the band rests and the melody plays over the harmony it has just left. A :class:`Progression` is
a list of :class:`Bar` s, each in its own :class:`~artkit.music.meter.Meter`, holding chords at
offsets (so a bar of 4/4 can hold Dm7 for three beats and G7 for one). Progressions come from
text (``"Dm7 G7 | Cmaj7 | %"``), from the shipped presets (``presets/music/progressions``) or
from charts (:mod:`artkit.music.charts`).

    >>> p = parse_chords("Dm7 / / G7 | Cmaj7 | %", meter="4/4")
    >>> [(str(s), c.symbol) for s, _, c in p.timeline()]
    [('0', 'Dm7'), ('3', 'G7'), ('4', 'Cmaj7'), ('8', 'Cmaj7')]
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from fractions import Fraction
from typing import Iterable

from artkit.core.errors import ArtkitError
from artkit.core.presets import list_presets
from artkit.music.meter import COMMON, Meter
from artkit.music.settings import PresetConfig
from artkit.music.symbols import (DORIAN, IONIAN, LOCRIAN, MIXOLYDIAN, PC_NAMES,
                                  WHOLE_HALF, is_no_chord, normalise, note_pc, parse_symbol,
                                  transpose_symbol)

MAJOR = IONIAN
NATURAL_MINOR = (0, 2, 3, 5, 7, 8, 10)
MAX_FORM_BARS = 1024

# Templates used to name a set of sounding pitch classes (chordified accompaniment).
TEMPLATES: dict[str, tuple[int, ...]] = {
    "": (0, 4, 7), "m": (0, 3, 7), "7": (0, 4, 7, 10), "maj7": (0, 4, 7, 11),
    "m7": (0, 3, 7, 10), "dim": (0, 3, 6), "m7b5": (0, 3, 6, 10), "dim7": (0, 3, 6, 9),
}


@dataclass(frozen=True)
class Chord:
    """A harmony as the grammar sees it.

    Args:
        symbol: the symbol as written ("Dm7", "Bb7(b9)", "C/E", "N.C.").
        root: root pitch class 0–11.
        pcs: the chord's pitch classes (empty for N.C.).
        bass: bass pitch class (the root unless a slash chord).
        scale: the chord's scale tones (its pitch classes included).
        kind: the nearest MusicXML chord kind (for export).
    """

    symbol: str
    root: int
    pcs: frozenset
    bass: int
    scale: frozenset = frozenset()
    kind: str = "major"

    @property
    def is_rest(self) -> bool:
        """N.C.: no chord sounds."""
        return not self.pcs

    @property
    def family(self) -> str:
        """``major``, ``dominant``, ``minor`` or ``diminished`` (from the chord's intervals)."""
        rel = {(p - self.root) % 12 for p in self.pcs}
        if 4 in rel:
            return "dominant" if 10 in rel else "major"
        if 3 in rel and 6 in rel and 7 not in rel:
            return "diminished"
        return "minor"

    def __str__(self) -> str:
        return self.symbol


NO_CHORD = Chord("N.C.", 0, frozenset(), 0, frozenset(), "none")


def chord_of(symbol: str, root: int, pcs: Iterable[int], bass: int | None = None,
             kind: str = "major") -> Chord:
    """A chord from its pitch classes, its scale taken from its family (chords named from
    sounding notes, or read by music21)."""
    pcs = frozenset(p % 12 for p in pcs)
    chord = Chord(symbol, root, pcs, root if bass is None else bass, frozenset(), kind)
    mode = {"major": MAJOR, "dominant": MIXOLYDIAN, "minor": DORIAN,
            "diminished": LOCRIAN}[chord.family]
    if chord.family == "diminished" and {(p - root) % 12 for p in pcs} >= {3, 6, 9}:
        mode = WHOLE_HALF
    return replace(chord, scale=frozenset((root + s) % 12 for s in mode) | pcs)


_CACHE: dict[str, Chord] = {}


def parse_chord(symbol: str) -> Chord:
    """Parse one chord symbol with artkit's grammar (:mod:`artkit.music.symbols`); spellings it
    does not know are handed to music21's ``ChordSymbol``.

    Raises:
        ArtkitError: naming the symbol (and what could not be read) when neither reads it.
    """
    symbol = str(symbol).strip()
    hit = _CACHE.get(symbol)
    if hit is not None:
        return hit
    if not symbol:
        raise ArtkitError("empty chord symbol")
    if is_no_chord(symbol):
        return NO_CHORD
    try:
        p = parse_symbol(symbol)
        chord = Chord(symbol, p.root, p.pcs, p.bass, p.scale, p.kind)
    except ArtkitError as exc:
        chord = music21_chord(symbol)
        if chord is None:
            raise exc from None
    if len(_CACHE) < 4096:
        _CACHE[symbol] = chord
    return chord


def music21_chord(symbol: str) -> Chord | None:
    """The chord music21's ``ChordSymbol`` reads from ``symbol`` (``b`` after the root as a
    flat), or ``None``."""
    text = normalise(symbol)
    if not text[:1] in "ABCDEFG" or not text:
        return None
    from music21 import harmony  # heavy; only for spellings artkit's grammar lacks

    def flats(part: str) -> str:
        return part[:1] + part[1:3].replace("b", "-") + part[3:] if len(part) > 1 and part[1] == "b" \
            else part

    head, _, bass = text.partition("/")
    figure = flats(head) + ("/" + flats(bass) if bass else "")
    try:
        cs = harmony.ChordSymbol(figure)
        pcs = [p.pitchClass for p in cs.pitches]
        root = cs.root().pitchClass
        low = cs.bass().pitchClass if cs.bass() is not None else root
    except Exception:  # music21 raises ValueError, HarmonyException, ...
        return None
    if not pcs:
        return None
    return chord_of(symbol, root, pcs, low)


def chord_from_pcs(weights: dict[int, float]) -> Chord | None:
    """Name the chord that best explains sounding pitch classes (``{pc: weight}``).

    Scores every root × template by the weight it covers minus the weight it leaves out and
    minus a small cost per template note that is silent; ``None`` when nothing sounds.
    """
    total = sum(weights.values())
    if total <= 0:
        return None
    best, best_score = None, -1e9
    bass_pc = max(weights, key=weights.get)
    for root in range(12):
        for name, tpl in TEMPLATES.items():
            pcs = {(root + t) % 12 for t in tpl}
            covered = sum(w for p, w in weights.items() if p in pcs)
            missing = sum(1 for p in pcs if weights.get(p, 0) <= 0)
            score = covered - (total - covered) - 0.3 * total / 4 * missing - 0.01 * len(tpl)
            score += 0.05 * total if root == bass_pc else 0
            if score > best_score:
                best, best_score = (root, name, pcs), score
    root, name, pcs = best
    return chord_of(PC_NAMES[root] + name, root, pcs)


def key_pc(key: str) -> int:
    """Pitch class of a key name (``C``, ``Bb``, ``F#``; a trailing ``m`` or ``-`` is ignored)."""
    text = normalise(str(key))
    if text[-1:] in ("m", "-"):
        text = text[:-1]
    if len(text) in (1, 2) and text[:1] in "ABCDEFG" and text[1:] in ("", "#", "b"):
        return note_pc(text[0], text[1:])
    raise ArtkitError(f"unknown key '{key}'", "use a note name like C, Bb or F#")


# ------------------------------------------------------------------ bars and progressions


@dataclass(frozen=True)
class Bar:
    """One bar of a progression: its meter and its chords at offsets (quarter notes).

    Args:
        meter: the bar's time signature.
        chords: ``(offset, length, chord)`` in order, covering the bar.
        section: a section mark starting here ("A", "B", "Intro"), or "".
        label: where the bar came from, for people (chart bar number, ending).
    """

    meter: Meter
    chords: tuple[tuple[Fraction, Fraction, Chord], ...]
    section: str = ""
    label: str = ""

    @property
    def length(self) -> Fraction:
        return self.meter.bar_length

    @property
    def symbols(self) -> list[str]:
        return [c.symbol for _, _, c in self.chords]

    def chord_at(self, offset: Fraction) -> Chord:
        found = self.chords[0][2]
        for start, _, chord in self.chords:
            if start <= offset:
                found = chord
        return found

    def text(self) -> str:
        """The bar as a player reads it: chords with the beat they fall on after the first."""
        beats = self.meter.beats
        unit = beats[1] - beats[0] if len(beats) > 1 else self.length
        out = []
        for start, _, chord in self.chords:
            out.append(chord.symbol if start == 0 else f"{chord.symbol}@{float(start / unit + 1):g}")
        return " ".join(out)


def even_bar(symbols: list[str], meter: Meter = COMMON, **kw) -> Bar:
    """A bar whose chords share it equally (``/`` marks extend the chord before them by one
    share: ``Dm7 / / G7`` gives Dm7 three quarters of the bar)."""
    if not symbols:
        raise ArtkitError("the chord progression has an empty bar", "give chords like 'Dm7 G7 | Cmaj7'")
    share = meter.bar_length / len(symbols)
    chords: list[list] = []
    for i, s in enumerate(symbols):
        if s == "/":
            if not chords:
                raise ArtkitError("a bar starts with '/', which repeats the chord before it",
                                  "write the chord first: 'C / / G'")
            chords[-1][1] += share
            continue
        chords.append([i * share, share, parse_chord(s)])
    return Bar(meter, tuple((a, b, c) for a, b, c in chords), **kw)


@dataclass
class Progression:
    """Bars of chords, each in its own meter.

    Args:
        bars: the bars of one chorus (the form).
        name: a label (a preset's name, a chart's title).
        ending: the chord a piece over this progression ends on (the tonic), or ``None`` to end
            on the last bar as written.
    """

    bars: list[Bar]
    name: str = "custom"
    ending: Chord | None = None
    description: str = ""

    def __post_init__(self) -> None:
        if not self.bars:
            raise ArtkitError("the chord progression has no bars", "give chords like 'Dm7 G7 | Cmaj7'")
        if len(self.bars) > MAX_FORM_BARS:
            raise ArtkitError(f"the progression has {len(self.bars)} bars; artkit plays forms of "
                              f"up to {MAX_FORM_BARS}")

    @property
    def meter(self) -> Meter:
        """The meter of the first bar."""
        return self.bars[0].meter

    @property
    def meters(self) -> list[Meter]:
        return [b.meter for b in self.bars]

    def spans(self) -> list[tuple[Fraction, Bar]]:
        """``(start, bar)`` of every bar."""
        out, t = [], Fraction(0)
        for bar in self.bars:
            out.append((t, bar))
            t += bar.length
        return out

    @property
    def length(self) -> Fraction:
        """Quarter notes in all."""
        return sum((b.length for b in self.bars), Fraction(0))

    def timeline(self) -> list[tuple[Fraction, Fraction, Chord]]:
        """``(start, length, chord)`` of every chord, in order."""
        return [(t + s, length, c) for t, bar in self.spans() for s, length, c in bar.chords]

    def chord_at(self, t: Fraction) -> Chord:
        """The chord sounding at ``t`` quarter notes from the start (the last one after the end)."""
        found = self.bars[0].chords[0][2]
        for start, _, chord in self.timeline():
            if start > t:
                break
            found = chord
        return found

    def chorus_bars(self, bars: int) -> tuple[int, int]:
        """``(choruses, bars)``: ``bars`` rounded up to whole choruses of this form."""
        form = len(self.bars)
        choruses = max(1, -(-bars // form))
        return choruses, choruses * form

    def played(self, choruses: int) -> "Progression":
        """The progression as a piece plays it: ``choruses`` times the form, the last bar on the
        ending chord (when one is set and the form does not end on it already)."""
        bars = list(self.bars) * choruses
        last = bars[-1]
        if self.ending is not None and last.symbols != [self.ending.symbol]:
            bars[-1] = Bar(last.meter, ((Fraction(0), last.length, self.ending),), last.section,
                           "ending")
        return Progression(bars, self.name, self.ending, self.description)

    def transposed(self, semitones: int) -> "Progression":
        def move(c: Chord) -> Chord:
            return c if c.is_rest else parse_chord(transpose_symbol(c.symbol, semitones))

        bars = [replace(b, chords=tuple((s, n, move(c)) for s, n, c in b.chords)) for b in self.bars]
        return Progression(bars, self.name, None if self.ending is None else move(self.ending),
                           self.description)


def parse_chords(text: str, meter: str | Meter = COMMON) -> Progression:
    """Parse ``"Dm7 G7 Cmaj7"`` (one chord a bar) or ``"Dm7 G7 | Cmaj7 | %"`` (bars split by
    ``|``; in a bar the chords share it equally, ``/`` holds the chord before it for one more
    share, ``%`` repeats the bar before, ``N.C.`` is no chord).

    Raises:
        ArtkitError: naming the first symbol that cannot be read.
    """
    meter = Meter.parse(meter)
    text = str(text).strip()
    if not text:
        raise ArtkitError("no chords given", "give chords like 'Dm7 G7 | Cmaj7'")
    groups = [b.split() for b in text.strip("|").split("|")] if "|" in text else \
        [[s] for s in text.replace(",", " ").split()]
    bars: list[Bar] = []
    for symbols in groups:
        if symbols == ["%"]:
            if not bars:
                raise ArtkitError("'%' repeats the bar before it, but it is the first bar")
            bars.append(bars[-1])
            continue
        bars.append(even_bar(symbols, meter))
    return Progression(bars)


# ------------------------------------------------------------------ presets


@dataclass
class ProgressionPreset(PresetConfig):
    """Schema of ``presets/music/progressions/*.toml``."""

    description: str
    bars: list[str]
    meter: str = "4/4"
    key: str = "C"
    ending: str = ""

    def check(self) -> None:
        if not self.bars:
            raise ArtkitError("key 'bars' is empty", "list the bars, e.g. bars = [\"Dm7 G7\", \"Cmaj7\"]")
        Meter.parse(self.meter)
        key_pc(self.key)
        parse_chords(" | ".join(self.bars), self.meter)
        if self.ending:
            parse_chord(self.ending)


def load_progression(name: str, key: str | None = None) -> Progression:
    """A shipped progression (``blues``, ``jazz-blues``, ``ii-v-i``, ...) or a TOML file,
    transposed to ``key`` (default: the preset's own key)."""
    preset = ProgressionPreset.build(name, "music/progressions")
    prog = parse_chords(" | ".join(preset.bars), preset.meter)
    prog.name, prog.description = str(name), preset.description
    prog.ending = parse_chord(preset.ending) if preset.ending else None
    if key is not None:
        prog = prog.transposed((key_pc(key) - key_pc(preset.key)) % 12)
        prog.name = f"{name} in {key}"
    return prog


def list_progressions() -> list[str]:
    return list_presets("music/progressions")


def melody_harmony(timeline: list[tuple[Fraction, Fraction, Chord]]) -> list[tuple[Fraction, Fraction, Chord]]:
    """The timeline the melody plays over: under N.C. it keeps the chord it has just left
    (the next chord at the very start)."""
    real = [c for _, _, c in timeline if not c.is_rest]
    if not real:
        raise ArtkitError("the progression has no chord, only N.C.", "give at least one chord")
    out, last = [], real[0]
    for start, length, chord in timeline:
        if not chord.is_rest:
            last = chord
        out.append((start, length, last))
    return out

