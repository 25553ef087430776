"""Chords: parsing symbols (music21 ``harmony.ChordSymbol``), progressions, scales, chord naming.

A :class:`Chord` is what the grammar needs of a harmony: its root and pitch classes, its family
(major / dominant / minor / diminished) and from that the scale used for "scale tones". A
progression is a list of bars, each a list of chords splitting the bar evenly.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from fractions import Fraction

from artkit.core.errors import ArtkitError

PC_NAMES = ["C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B"]
_LETTER_PC = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}

# Scales as pitch-class offsets from the root.
MAJOR = (0, 2, 4, 5, 7, 9, 11)
MIXOLYDIAN = (0, 2, 4, 5, 7, 9, 10)
DORIAN = (0, 2, 3, 5, 7, 9, 10)
LOCRIAN = (0, 1, 3, 5, 6, 8, 10)
NATURAL_MINOR = (0, 2, 3, 5, 7, 8, 10)

# Templates used to name a set of sounding pitch classes (chordified accompaniment).
TEMPLATES: dict[str, tuple[int, ...]] = {
    "": (0, 4, 7), "m": (0, 3, 7), "7": (0, 4, 7, 10), "maj7": (0, 4, 7, 11),
    "m7": (0, 3, 7, 10), "dim": (0, 3, 6), "m7b5": (0, 3, 6, 10), "dim7": (0, 3, 6, 9),
}


@dataclass(frozen=True)
class Chord:
    """A harmony as the grammar sees it.

    Args:
        symbol: the symbol as written ("Dm7", "Bb7", "C/E").
        root: root pitch class 0–11.
        pcs: the chord's pitch classes.
        bass: bass pitch class (the root unless a slash chord).
    """

    symbol: str
    root: int
    pcs: frozenset
    bass: int

    @property
    def family(self) -> str:
        """``major``, ``dominant``, ``minor`` or ``diminished`` (from the chord's intervals)."""
        rel = {(p - self.root) % 12 for p in self.pcs}
        if 4 in rel:
            return "dominant" if 10 in rel else "major"
        if 3 in rel and 6 in rel and 7 not in rel:
            return "diminished"
        return "minor"

    @property
    def scale(self) -> frozenset:
        """Scale tones: the major scale over major chords (its Mixolydian mode over dominant
        sevenths, so the seventh is the chord's own), Dorian over minor, Locrian over
        diminished chords."""
        steps = {"major": MAJOR, "dominant": MIXOLYDIAN, "minor": DORIAN,
                 "diminished": LOCRIAN}[self.family]
        return frozenset((self.root + s) % 12 for s in steps)

    def __str__(self) -> str:
        return self.symbol


_ROOT_RE = re.compile(r"^([A-Ga-g])([#b\-]*)(.*)$")


def _music21_figure(symbol: str) -> str:
    """Write flats the way music21 reads them: ``Bb7`` → ``B-7``, ``C/Eb`` → ``C/E-``."""
    def fix(part: str) -> str:
        m = _ROOT_RE.match(part)
        if not m:
            return part
        letter, acc, rest = m.groups()
        return letter.upper() + acc.replace("b", "-") + rest

    if "/" in symbol:
        head, _, bass = symbol.rpartition("/")
        return fix(head) + "/" + fix(bass)
    return fix(symbol)


_CACHE: dict[str, Chord] = {}


def parse_chord(symbol: str) -> Chord:
    """Parse one chord symbol with music21's ``harmony.ChordSymbol``.

    Accepts jazz spellings (``Dm7 G7 Cmaj7 Bb13 F#m7b5 C7#9 Ebdim7 C/E``); ``b`` after the root
    letter is a flat.

    Raises:
        ArtkitError: naming the symbol when music21 cannot read it.
    """
    symbol = symbol.strip()
    if symbol in _CACHE:
        return _CACHE[symbol]
    if not symbol:
        raise ArtkitError("empty chord symbol")
    m = _ROOT_RE.match(symbol)
    if not m or m.group(1) != m.group(1).upper():
        raise ArtkitError(f"unknown chord symbol '{symbol}': it does not start with a root "
                          "note A–G", "write chords like Dm7 G7 Cmaj7 Bb13 F#m7b5")
    from music21 import harmony

    try:
        cs = harmony.ChordSymbol(_music21_figure(symbol))
        pcs = frozenset(p.pitchClass for p in cs.pitches)
        root = cs.root().pitchClass
        bass = cs.bass().pitchClass if cs.bass() is not None else root
    except Exception as exc:  # music21 raises ValueError, HarmonyException, ...
        raise ArtkitError(f"unknown chord symbol '{symbol}': music21 cannot read it ({exc})",
                          "write chords like Dm7 G7 Cmaj7 Bb13 F#m7b5") from None
    if not pcs:
        raise ArtkitError(f"unknown chord symbol '{symbol}': it has no notes")
    chord = Chord(symbol, root, pcs, bass)
    _CACHE[symbol] = chord
    return chord


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
    return Chord(PC_NAMES[root] + name, root, frozenset(pcs), root)


def transpose_symbol(symbol: str, semitones: int) -> str:
    """Transpose a chord symbol's root (and slash bass) by ``semitones``."""
    def move(part: str) -> str:
        m = _ROOT_RE.match(part)
        if not m:
            return part
        letter, acc, rest = m.groups()
        pc = _LETTER_PC[letter.upper()] + acc.count("#") - acc.count("b") - acc.count("-")
        return PC_NAMES[(pc + semitones) % 12] + rest

    if semitones % 12 == 0:
        return symbol
    if "/" in symbol:
        head, _, bass = symbol.rpartition("/")
        return move(head) + "/" + move(bass)
    return move(symbol)


def key_pc(key: str) -> int:
    """Pitch class of a key name (``C``, ``Bb``, ``F#``; a trailing ``m`` is ignored)."""
    m = _ROOT_RE.match(key.strip())
    if not m or m.group(2) not in ("", "#", "b", "-"):
        raise ArtkitError(f"unknown key '{key}'", "use a note name like C, Bb or F#")
    acc = m.group(2)
    return (_LETTER_PC[m.group(1).upper()] + acc.count("#") - len(acc.replace("#", ""))) % 12


@dataclass
class Progression:
    """Bars of chords in a meter.

    Args:
        bars: one list of chord symbols per bar (each chord takes an equal share of the bar).
        beats_per_bar: quarter notes per bar (4 for 4/4, 3 for 3/4).
        name: a label.
    """

    bars: list[list[str]]
    beats_per_bar: int = 4
    name: str = "custom"
    chords: list[list[Chord]] = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        if not self.bars or any(not bar for bar in self.bars):
            raise ArtkitError("the chord progression has an empty bar",
                              "give chords like 'Dm7 G7 | Cmaj7'")
        if not 1 <= self.beats_per_bar <= 12:
            raise ArtkitError(f"{self.beats_per_bar} beats per bar is not a meter artkit plays",
                              "use 2 to 12")
        self.chords = [[parse_chord(s) for s in bar] for bar in self.bars]

    @property
    def bar_length(self) -> Fraction:
        return Fraction(self.beats_per_bar)

    def chord_at(self, bar: int, offset: Fraction) -> Chord:
        """The chord sounding at ``offset`` (quarter notes) into bar ``bar`` (cycling)."""
        chords = self.chords[bar % len(self.chords)]
        share = self.bar_length / len(chords)
        return chords[min(int(offset / share), len(chords) - 1)]

    def timeline(self, n_bars: int) -> list[tuple[Fraction, Fraction, Chord]]:
        """``(start, length, chord)`` for ``n_bars`` bars, the progression repeated as needed."""
        out = []
        for b in range(n_bars):
            chords = self.chords[b % len(self.chords)]
            share = self.bar_length / len(chords)
            for i, c in enumerate(chords):
                out.append((b * self.bar_length + i * share, share, c))
        return out

    def transposed(self, semitones: int) -> "Progression":
        return Progression([[transpose_symbol(s, semitones) for s in bar] for bar in self.bars],
                           self.beats_per_bar, self.name)


def parse_chords(text: str, beats_per_bar: int = 4) -> Progression:
    """Parse ``"Dm7 G7 Cmaj7"`` (one chord per bar) or ``"Dm7 G7 | Cmaj7"`` (bars split by ``|``).

    Raises:
        ArtkitError: naming the first symbol music21 cannot read.
    """
    text = text.strip()
    if not text:
        raise ArtkitError("no chords given", "give chords like 'Dm7 G7 | Cmaj7'")
    if "|" in text:
        bars = [b.split() for b in text.strip("|").split("|")]
    else:
        bars = [[s] for s in text.replace(",", " ").split()]
    return Progression(bars, beats_per_bar, "custom")


@dataclass
class ProgressionPreset:
    """Schema of ``presets/music/progressions/*.toml``."""

    description: str
    bars: list[str]
    beats_per_bar: int = 4
    key: str = "C"


def load_progression(name: str, key: str | None = None) -> Progression:
    """A shipped progression (``blues``, ``jazz-blues``, ``ii-v-i``, ...) or a TOML file,
    transposed to ``key`` (default: the preset's own key)."""
    from artkit.core.presets import load_preset

    table = load_preset(name, "music/progressions", ProgressionPreset)
    prog = parse_chords(" | ".join(table["bars"]), int(table.get("beats_per_bar", 4)))
    prog.name = str(name)
    if key is not None:
        prog = prog.transposed((key_pc(key) - key_pc(table.get("key", "C"))) % 12)
        prog.name = f"{name} in {key}"
    return prog


def list_progressions() -> list[str]:
    from artkit.core.presets import list_presets

    return list_presets("music/progressions")
