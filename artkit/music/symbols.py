"""Chord symbols as lead sheets write them, read into pitch classes by artkit's own grammar.

A symbol is a root, a quality, an extension, alterations and additions in any order (with or
without parentheses and commas), and an optional bass note::

    root      C  Bb  F#  C♯  Db  Cb            (b and ♭ flat, # and ♯ sharp)
    quality   (none) major · m min mi - minor · maj Maj ma M major · Δ ^ j major seventh
              dim o ° diminished · ø h half-diminished · aug + augmented · sus sus4 sus2
    extension 6  69 6/9  7  9  11  13  (2 = add2, 5 = power chord)
    then      b5 #5 b9 #9 #11 b13 b6 (also +5 -9 +9 -5 ...)  alt  add9 add2 add4 add11 add13
              sus sus4 sus2  maj7 M7 Δ7 ^7 (after minor, diminished or augmented: m(maj7))
              no3 no5 omit3 omit5
    bass      /E  /Bb                         (slash chords and inversions)

plus ``N.C.`` (no chord). How the notes are chosen, where jazz practice has to decide:

* the seventh: ``7`` is the minor seventh (dominant); Δ, ^ or j alone mean maj7;
* ``9`` / ``11`` / ``13`` include the seventh and the ninth; ``11`` on a dominant chord drops the
  third (C11 = C9sus4 = Bb/C), ``13`` on a dominant or major chord leaves out the eleventh, a
  minor 13th keeps it;
* an altered tone replaces its natural degree (b9 and #9 the ninth, #11 the eleventh, b13 the
  thirteenth, b5/#5 the fifth); b13 and b6 keep the fifth, #5 replaces it;
* ``7alt`` is the altered dominant voiced as root, 3, b7, b9, #9, b13 (no fifth);
* a slash bass sounds with the chord (C/Bb holds Bb).

Each chord also gets the scale the melody grammar calls "scale tones": the mode of its quality
(Ionian over major, Mixolydian over dominant, Dorian over minor, melodic minor under m(maj7),
Locrian over half-diminished, whole-half over diminished, whole-tone over augmented, the
altered scale under 7alt) with every altered degree replacing the natural one.

    >>> sorted(parse_symbol("C7(b9,#11)").pcs)
    [0, 1, 4, 6, 7, 10]
    >>> sorted(parse_symbol("Bbm(maj7)/F").pcs), parse_symbol("Bbm(maj7)/F").bass
    ([1, 5, 9, 10], 5)
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from artkit.core.errors import ArtkitError

PC_NAMES = ["C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B"]
LETTER_PC = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
ACCIDENTAL = {"": 0, "#": 1, "b": -1, "##": 2, "bb": -2}
NO_CHORD_SPELLINGS = {"N.C.", "NC", "N.C", "NOCHORD", "N/C"}
_ROOT = re.compile(r"^([A-G])(##|bb|#|b)?")
_BASS = re.compile(r"/([A-G])(##|bb|#|b)?$")
_UNICODE = (("♭", "b"), ("♯", "#"), ("Δ", "^"), ("∆", "^"), ("°", "o"), ("º", "o"), ("ø", "h"),
            ("Ø", "h"), ("−", "-"), ("–", "-"), ("⁰", "o"))

# Modes as pitch-class offsets from the root.
IONIAN = (0, 2, 4, 5, 7, 9, 11)
MIXOLYDIAN = (0, 2, 4, 5, 7, 9, 10)
DORIAN = (0, 2, 3, 5, 7, 9, 10)
AEOLIAN = (0, 2, 3, 5, 7, 8, 10)
MELODIC_MINOR = (0, 2, 3, 5, 7, 9, 11)
LOCRIAN = (0, 1, 3, 5, 6, 8, 10)
LOCRIAN_2 = (0, 2, 3, 5, 6, 8, 10)
WHOLE_HALF = (0, 2, 3, 5, 6, 8, 9, 11)
WHOLE_TONE = (0, 2, 4, 6, 8, 10)
LYDIAN_AUGMENTED = (0, 2, 4, 6, 8, 9, 11)
ALTERED = (0, 1, 3, 4, 6, 8, 10)

# An altered tone and the natural degree it replaces (offsets from the root).
_ALTERATION = {"b5": (6, 7), "#5": (8, 7), "b9": (1, 2), "#9": (3, 2), "#11": (6, 5),
               "b13": (8, 9), "b6": (8, None), "#4": (6, 5)}
_ADDITION = {"2": 2, "9": 2, "4": 5, "11": 5, "6": 9, "13": 9, "3": 4, "b9": 1, "#9": 3,
             "#11": 6, "b13": 8}


@dataclass(frozen=True)
class Parsed:
    """A symbol read by :func:`parse_symbol`: root, pitch classes, bass, the scale for the
    melody grammar, and the MusicXML ``kind`` nearest to it (for export)."""

    root: int
    pcs: frozenset
    bass: int
    scale: frozenset
    kind: str
    suffix: str


class _Reader:
    """Reads the part of a symbol after the root (and before a slash bass), left to right."""

    def __init__(self, text: str, symbol: str):
        self.s, self.i, self.symbol = text, 0, symbol
        self.third: int | None = 4
        self.fifth: int | None = 7
        self.seventh: int | None = None
        self.ext = 0                 # highest of 9, 11, 13 (0: none)
        self.sixth = False
        self.quality = ""            # "", m, M, ^, o, h, +, sus, power
        self.alts: list[str] = []
        self.adds: set[int] = set()
        self.omit: set[int] = set()
        self.altered = False
        self.major7_marker = False

    def take(self, *options: str) -> str | None:
        for opt in options:
            if self.s.startswith(opt, self.i):
                self.i += len(opt)
                return opt
        return None

    def fail(self) -> ArtkitError:
        rest = self.s[self.i:] or "(end)"
        return ArtkitError(f"unknown chord symbol '{self.symbol}': cannot read '{rest}'",
                           "write chords like Dm7 G7(b9) Cmaj9 F#m7b5 Bb13 C7alt C/E N.C.")

    def read(self) -> None:
        self.read_quality()
        self.read_extension()
        while self.i < len(self.s):
            if not self.read_modifier():
                raise self.fail()

    def read_quality(self) -> None:
        if self.s.startswith(("ma", "Ma"), self.i) and not self.s.startswith(("maj", "Maj"), self.i) \
                and not self.s[self.i + 2:self.i + 3].isdigit():
            self.i += 1                       # "madd9": m, then add9 ("ma7" is maj7)
            self.quality, self.third = "m", 3
            return
        q = self.take("min", "mi", "maj", "Maj", "MAJ", "ma", "Ma", "dim", "aug", "sus", "alt",
                      "add", "m", "M", "-", "^", "j", "o", "h", "+")
        if q is None:
            if self.s[self.i:] == "5":
                self.i += 1
                self.quality, self.third = "power", None
            elif self.s.startswith("2", self.i):       # C2: the second added
                self.i += 1
                self.adds.add(2)
            return
        if q in ("min", "mi", "m", "-"):
            self.quality, self.third = "m", 3
            if self.take("maj", "Maj", "ma", "M", "^", "j"):
                self.major7_marker = True
        elif q in ("maj", "Maj", "MAJ", "ma", "Ma", "M"):
            self.quality = "M"
        elif q in ("^", "j"):
            self.quality = "^"
        elif q in ("dim", "o"):
            self.quality, self.third, self.fifth = "o", 3, 6
            if self.take("maj", "M", "^"):
                self.major7_marker = True
        elif q == "h":
            self.quality, self.third, self.fifth, self.seventh = "h", 3, 6, 10
        elif q in ("aug", "+"):
            self.quality, self.fifth = "+", 8
            if self.s[self.i:] == "5":           # C+5: the fifth raised, said twice
                self.i += 1
            if self.take("maj", "M", "^"):
                self.major7_marker = True
        elif q == "sus":
            self.quality = "sus"
            self.third = 2 if self.take("2") else 5
            self.take("4")
        elif q == "alt":
            self.altered, self.seventh = True, 10
        elif q == "add":
            self.i -= 3
            return

    def read_extension(self) -> None:
        n = self.take("69", "13", "11", "9", "7", "6")
        if n is None:
            if self.quality in ("^", "h") or self.major7_marker:
                self.seventh = 11 if self.quality != "h" else 10
            return
        if n in ("6", "69"):
            if self.take("/9"):
                n = "69"
            self.sixth = True
            if n == "69":
                self.adds.add(2)
            return
        major = self.quality in ("M", "^") or self.major7_marker
        self.seventh = {"o": 9 if not major else 11, "h": 10}.get(self.quality, 11 if major else 10)
        self.ext = int(n) if n != "7" else 0

    def read_modifier(self) -> bool:
        if self.take("alt"):
            self.altered, self.seventh = True, self.seventh or 10
            return True
        sus = self.take("sus")
        if sus:
            self.third = 2 if self.take("2") else 5
            self.take("4")
            return True
        if self.take("add"):
            deg = self.take("b13", "#11", "b9", "#9", "13", "11", "9", "6", "4", "3", "2")
            if deg is None:
                raise self.fail()
            self.adds.add(_ADDITION[deg])
            return True
        if self.take("no", "omit"):
            deg = self.take("3", "5")
            if deg is None:
                raise self.fail()
            self.omit.add(int(deg))
            return True
        tok = self.take("maj9", "Maj9", "ma9", "M9", "^9", "maj7", "Maj7", "ma7", "M7", "^7", "j7",
                        "maj", "Maj", "ma", "M", "^", "j")
        if tok:
            if self.seventh is not None:      # C7maj7: two sevenths
                raise self.fail()
            self.seventh, self.major7_marker = 11, True
            if tok.endswith("9"):
                self.ext = max(self.ext, 9)
            return True
        acc = self.take("b", "#", "+", "-")
        if acc:
            deg = self.take("13", "11", "9", "6", "5", "4")
            if deg is None:
                if acc == "+":               # C7+ : the fifth raised
                    self.alts.append("#5")
                    return True
                raise self.fail()
            name = ("b" if acc in ("b", "-") else "#") + deg
            if name not in _ALTERATION:
                raise self.fail()
            self.alts.append(name)
            return True
        deg = self.take("13", "11", "9", "6")
        if deg:                           # C7(9,13): added tensions
            self.adds.add(_ADDITION[deg])
            if deg in ("9", "11", "13") and self.seventh is None:
                self.seventh = 10
            return True
        return False

    def pcs(self) -> set[int]:
        tones = {0}
        if self.third is not None:
            tones.add(self.third)
        if self.fifth is not None:
            tones.add(self.fifth)
        if self.quality == "power":
            return {0, 7}
        if self.sixth:
            tones.add(9)
        if self.seventh is not None:
            tones.add(self.seventh)
        if self.ext >= 9:
            tones.add(2)
        if self.ext >= 11 and (self.ext == 11 or self.third == 3):
            tones.add(5)
            if self.ext == 11 and self.third == 4 and self.seventh == 10 and self.quality == "":
                tones.discard(4)          # C11 = C9sus4
        if self.ext >= 13:
            tones.add(9)
        if self.altered:
            tones -= {7, 2}
            tones |= {4, 10, 1, 3, 8}
        for name in self.alts:
            new, natural = _ALTERATION[name]
            if natural is not None and natural not in self.adds:
                tones.discard(natural)
            tones.add(new)
        tones |= self.adds
        if 3 in self.omit:
            tones -= {3, 4}
        if 5 in self.omit:
            tones -= {6, 7, 8}
        return tones

    @property
    def fifth_sounding(self) -> int | None:
        """The fifth after alterations (C7b5: 6, C7#5: 8)."""
        return 6 if "b5" in self.alts else 8 if "#5" in self.alts else self.fifth

    def mode(self) -> tuple[int, ...]:
        fifth = self.fifth_sounding
        if self.altered:
            return ALTERED
        if self.quality == "o":
            return WHOLE_HALF
        if self.quality == "h" or (self.third == 3 and fifth == 6 and self.seventh == 10):
            return LOCRIAN_2 if self.ext >= 9 else LOCRIAN
        if self.quality == "+" or (fifth == 8 and self.third == 4):
            return LYDIAN_AUGMENTED if self.seventh == 11 else WHOLE_TONE
        if self.third == 3:
            if self.seventh == 11:
                return MELODIC_MINOR
            return AEOLIAN if "b6" in self.alts or "b13" in self.alts else DORIAN
        return MIXOLYDIAN if self.seventh == 10 else IONIAN

    def scale(self, tones: set[int]) -> set[int]:
        scale = set(self.mode())
        for name in self.alts:
            new, natural = _ALTERATION[name]
            if natural is not None and natural not in tones:
                scale.discard(natural)
            scale.add(new)
        return scale | tones

    def kind(self) -> str:
        """The nearest MusicXML ``kind`` (what a notation program computes notes from)."""
        q, s7, third, fifth = self.quality, self.seventh, self.third, self.fifth_sounding
        if q == "power":
            return "power"
        if s7 is None:
            if self.sixth:
                return "minor-sixth" if third == 3 else "major-sixth"
            if third in (2, 5):
                return "suspended-second" if third == 2 else "suspended-fourth"
            if third == 3:
                return "diminished" if fifth == 6 else "minor"
            return "augmented" if fifth == 8 else "major"
        if third == 3 and fifth == 6:
            return {9: "diminished-seventh", 10: "half-diminished"}.get(s7, "diminished")
        if third == 3:
            if s7 == 11:
                return "major-minor"
            return {9: "minor-ninth", 11: "minor-11th", 13: "minor-13th"}.get(self.ext, "minor-seventh")
        if s7 == 11:
            return {9: "major-ninth", 11: "major-11th", 13: "major-13th"}.get(self.ext, "major-seventh")
        if fifth == 8 and third == 4:
            return "augmented-seventh"
        return {9: "dominant-ninth", 11: "dominant-11th", 13: "dominant-13th"}.get(self.ext, "dominant")


def normalise(symbol: str, keep_parentheses: bool = False) -> str:
    """Unicode signs to ASCII (♭ → b, Δ → ^, ° → o, ø → h); spaces, parentheses and commas
    out (parentheses kept with ``keep_parentheses``)."""
    s = symbol.strip()
    for a, b in _UNICODE:
        s = s.replace(a, b)
    return re.sub(r"[\s,]" if keep_parentheses else r"[\s(),]", "", s)


def is_no_chord(symbol: str) -> bool:
    """``N.C.`` and its spellings (NC, N.C, No Chord)."""
    return normalise(symbol).upper() in NO_CHORD_SPELLINGS


def note_pc(letter: str, accidental: str | None) -> int:
    return (LETTER_PC[letter] + ACCIDENTAL[accidental or ""]) % 12


def parse_symbol(symbol: str) -> Parsed:
    """Read one chord symbol (see the module docstring).

    Raises:
        ArtkitError: naming the symbol and the part that cannot be read.
    """
    text = normalise(symbol, keep_parentheses=True)
    m = _ROOT.match(text)
    if not m:
        raise ArtkitError(f"unknown chord symbol '{symbol}': it does not start with a root note A–G",
                          "write chords like Dm7 G7 Cmaj7 Bb13 F#m7b5")
    root = note_pc(m.group(1), m.group(2))
    rest = text[m.end():]
    bass = root
    bm = _BASS.search(rest)
    if bm and not rest.endswith("6/9"):
        bass = note_pc(bm.group(1), bm.group(2))
        rest = rest[:bm.start()]
    rest = re.sub(r"[()]", "", rest).replace("6/9", "69")
    rest = re.sub(r"/(?=maj|Maj|ma|M|\^|j)", "", rest)
    reader = _Reader(rest, symbol)
    reader.read()
    tones = reader.pcs()
    pcs = frozenset((root + t) % 12 for t in tones) | {bass}
    scale = frozenset((root + t) % 12 for t in reader.scale(tones)) | pcs
    return Parsed(root, pcs, bass, scale, reader.kind(), rest)


def transpose_symbol(symbol: str, semitones: int) -> str:
    """Move a symbol's root (and slash bass) by ``semitones``, keeping its suffix as written.

    >>> transpose_symbol("Bb7(b9)/D", 2)
    'C7(b9)/E'
    """
    if semitones % 12 == 0 or is_no_chord(symbol):
        return symbol
    text = symbol.strip()
    m = _RAW_NOTE.match(text)
    if not m:
        return symbol
    rest = text[m.end():]
    bm = _RAW_BASS.search(rest)
    if bm and not rest.endswith("6/9"):
        rest = rest[:bm.start()] + "/" + _move(bm, semitones)
    return _move(m, semitones) + rest


_RAW_NOTE = re.compile(r"^([A-G])(##|bb|#|b|♯|♭)?")
_RAW_BASS = re.compile(r"/([A-G])(##|bb|#|b|♯|♭)?$")


def _move(m: re.Match, semitones: int) -> str:
    acc = (m.group(2) or "").replace("♯", "#").replace("♭", "b")
    return PC_NAMES[(note_pc(m.group(1), acc) + semitones) % 12]
