"""The deepjazz melody grammar: notes ↔ ``TYPE,duration,<lo,hi>`` tokens over chords.

Each melody note becomes a token whose TYPE says how it relates to the chord sounding at its
onset — ``C`` chord tone, ``S`` scale tone (:attr:`Chord.scale`), ``A`` approach tone (±1
semitone from a chord tone), ``X`` anything else — plus ``R`` for rests and ``|`` for a bar
line. The duration is in quarter notes (an exact fraction) and the bounds are the interval from
the previous note ± a minor third (3 semitones). Realising tokens over *another* progression
picks, for each token, a pitch of the right type inside the bounds, so a learned melodic shape
fits new chords.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Callable, Sequence

import torch

from artkit.core.errors import ArtkitError
from artkit.music.chords import Chord

BAR = "|"
TYPES = ("C", "S", "A", "X")
SLACK = 3          # a minor third either side of the interval
MAX_LEAP = 12      # intervals are clipped to an octave
GRID = (Fraction(1, 4), Fraction(1, 3))  # onsets snap to 16ths or eighth-note triplets


@dataclass(frozen=True)
class Note:
    """A melody event: ``pitch`` is a MIDI number or ``None`` for a rest; times in quarters."""

    start: Fraction
    dur: Fraction
    pitch: int | None

    @property
    def end(self) -> Fraction:
        return self.start + self.dur


@dataclass(frozen=True)
class Token:
    """One grammar token (see the module docstring)."""

    kind: str
    dur: Fraction = Fraction(0)
    lo: int = 0
    hi: int = 0

    @property
    def text(self) -> str:
        if self.kind == BAR:
            return BAR
        if self.kind == "R":
            return f"R,{self.dur}"
        return f"{self.kind},{self.dur},<{self.lo},{self.hi}>"

    @staticmethod
    def parse(text: str) -> "Token":
        """Inverse of :attr:`text`."""
        if text == BAR:
            return Token(BAR)
        try:
            kind, rest = text.split(",", 1)
            if kind == "R":
                return Token("R", Fraction(rest))
            dur, bounds = rest.split(",<", 1)
            lo, hi = bounds.rstrip(">").split(",")
            if kind not in TYPES:
                raise ValueError(kind)
            return Token(kind, Fraction(dur), int(lo), int(hi))
        except ValueError:
            raise ArtkitError(f"'{text}' is not a grammar token") from None


def classify(pitch: int, chord: Chord) -> str:
    """C (chord tone), S (scale tone), A (±1 semitone from a chord tone) or X."""
    pc = pitch % 12
    if pc in chord.pcs:
        return "C"
    if pc in chord.scale:
        return "S"
    if (pc + 1) % 12 in chord.pcs or (pc - 1) % 12 in chord.pcs:
        return "A"
    return "X"


def snap(t: Fraction | float) -> Fraction:
    """The nearest 16th or eighth-triplet position to ``t`` (quarter notes)."""
    t = Fraction(t).limit_denominator(960)
    best = None
    for g in GRID:
        cand = Fraction(round(t / g)) * g
        if best is None or abs(cand - t) < abs(best - t):
            best = cand
    return best


def quantize(notes: Sequence[Note]) -> list[Note]:
    """Snap onsets and ends to the grid, make the line monophonic (a later onset cuts the note
    before it), drop notes that vanish."""
    out: list[Note] = []
    for n in sorted(notes, key=lambda n: (n.start, -(n.pitch or 0))):
        s, e = snap(n.start), snap(n.end)
        if e <= s:
            continue
        if out and out[-1].start == s:      # two onsets together: keep the top (first) one
            continue
        if out and out[-1].end > s:
            prev = out[-1]
            out[-1] = Note(prev.start, s - prev.start, prev.pitch)
        out.append(Note(s, e - s, n.pitch))
    return out


def tokenize(notes: Sequence[Note], chord_at: Callable[[Fraction], Chord | None],
             bars: Sequence[tuple[Fraction, Fraction]], start_pitch: int = 72) -> list[str]:
    """Turn a melody into grammar tokens, one ``|`` after each bar.

    Args:
        notes: the melody (absolute times in quarter notes); quantized and made monophonic here.
        chord_at: the chord sounding at a time (``None``: no harmony there — notes become ``X``).
        bars: ``(start, length)`` of each bar, in order; notes outside them are ignored, gaps are
            rests and notes crossing a bar line are split there.
        start_pitch: the reference pitch for the first note's interval.

    Returns:
        token texts; every bar's durations add up to exactly its length.
    """
    notes = quantize(notes)
    if not bars:
        return []
    # a gap-free line of notes and rests over the bars
    t, end = bars[0][0], bars[-1][0] + bars[-1][1]
    line: list[Note] = []
    for n in notes:
        if n.end <= t or t >= end:
            continue
        s = max(n.start, t)
        if s >= end:
            break
        if s > t:
            line.append(Note(t, s - t, None))
        e = min(n.end, end)
        line.append(Note(s, e - s, n.pitch))
        t = e
    if t < end:
        line.append(Note(t, end - t, None))

    tokens: list[str] = []
    prev = start_pitch
    k = 0
    for bar_start, bar_len in bars:
        bar_end = bar_start + bar_len
        while k < len(line) and line[k].end <= bar_start:
            k += 1
        j, in_bar = k, False
        while j < len(line) and line[j].start < bar_end:
            n = line[j]
            s, e = max(n.start, bar_start), min(n.end, bar_end)
            if e > s:
                if n.pitch is None:
                    if in_bar and tokens[-1].startswith("R,"):
                        tokens[-1] = Token("R", Token.parse(tokens[-1]).dur + (e - s)).text
                    else:
                        tokens.append(Token("R", e - s).text)
                else:
                    chord = chord_at(s)
                    kind = classify(n.pitch, chord) if chord is not None else "X"
                    step = max(-MAX_LEAP, min(MAX_LEAP, n.pitch - prev))
                    tokens.append(Token(kind, e - s, step - SLACK, step + SLACK).text)
                    prev = n.pitch
                in_bar = True
            j += 1
        if not in_bar:
            tokens.append(Token("R", bar_len).text)
        tokens.append(BAR)
    return tokens


def candidates(kind: str, chord: Chord, lo: int, hi: int, register: tuple[int, int]) -> list[int]:
    """Pitches of type ``kind`` over ``chord`` between ``lo`` and ``hi`` inside ``register``."""
    lo, hi = max(lo, register[0]), min(hi, register[1])
    return [p for p in range(lo, hi + 1) if classify(p, chord) == kind]


def realise(tokens: Sequence[str], chord_at: Callable[[Fraction], Chord],
            bar_length: Fraction | Sequence[Fraction], start_pitch: int = 72, *,
            register: tuple[int, int] = (0, 127), generator: torch.Generator | None = None,
            spread: float = 1.5, key_scale: frozenset | None = None) -> list[Note]:
    """Turn grammar tokens into pitched notes over ``chord_at``.

    For each note token the pitch is chosen among the pitches of the token's type within its
    interval bounds from the previous pitch (widened a minor third at a time when none fits the
    chord, and finally any chord tone). Without a generator the pitch nearest the bounds' centre
    is taken, so ``realise(tokenize(m)) == m`` for a melody written over the same chords; with
    one, pitches are drawn with weights falling off from the centre (``spread`` semitones) and
    gently pulled towards the middle of the register (so the line does not drift off); an
    approach tone prefers a pitch that can step onto a tone of the next chord, a note after an
    approach tone prefers to resolve by step, and pitches of ``key_scale`` (the progression's
    key) are preferred two to one. A ``|`` moves to the next bar line (rests fill any gap);
    ``bar_length`` is one length for every bar, or the lengths of the bars in turn (meters
    that change).
    """
    lengths = list(bar_length) if isinstance(bar_length, (list, tuple)) else [bar_length]
    bar_no, bar_end = 0, Fraction(lengths[0])
    notes: list[Note] = []
    t = Fraction(0)
    prev = start_pitch
    prev_kind = None
    for text in tokens:
        tok = Token.parse(text)
        if tok.kind == BAR:
            if t < bar_end:
                notes.append(Note(t, bar_end - t, None))
                t = bar_end
            while bar_end <= t:
                bar_no += 1
                bar_end += Fraction(lengths[bar_no % len(lengths)])
            continue
        if tok.kind == "R":
            notes.append(Note(t, tok.dur, None))
            t += tok.dur
            prev_kind = "R"
            continue
        chord = chord_at(t)
        centre = prev + (tok.lo + tok.hi) / 2
        pool: list[int] = []
        widen = 0
        while not pool and widen <= 12:
            pool = candidates(tok.kind, chord, prev + tok.lo - widen, prev + tok.hi + widen,
                              register)
            widen += SLACK
        if not pool:    # the register and chord leave nothing of this type: any chord tone
            pool = candidates("C", chord, register[0], register[1], register) \
                or [max(register[0], min(register[1], int(centre)))]
        pitch = _choose(pool, centre, prev, tok, prev_kind, chord_at(t + tok.dur), generator,
                        spread, register, key_scale)
        notes.append(Note(t, tok.dur, pitch))
        t += tok.dur
        prev, prev_kind = pitch, tok.kind
    return notes


def _choose(pool: list[int], centre: float, prev: int, tok: Token, prev_kind: str | None,
            next_chord: Chord, generator: torch.Generator | None, spread: float,
            register: tuple[int, int] = (0, 127), key_scale: frozenset | None = None) -> int:
    if generator is None:
        return min(pool, key=lambda p: (abs(p - centre), p))
    mid, half = (register[0] + register[1]) / 2, max(1.0, (register[1] - register[0]) / 2)
    weights = []
    for p in pool:
        w = math.exp(-((p - centre) ** 2) / (2 * spread ** 2))
        w *= math.exp(-1.5 * ((p - mid) / half) ** 2)   # the pull to the register's middle
        if key_scale is not None and p % 12 in key_scale:
            w *= 2.0
        if tok.kind == "A" and any((p + d) % 12 in next_chord.pcs for d in (-1, 1)):
            w *= 3.0                       # an approach tone that can resolve by a semitone
        if prev_kind == "A" and tok.kind in ("C", "S") and 1 <= abs(p - prev) <= 2:
            w *= 4.0                       # ...and the resolution itself
        weights.append(w + 1e-9)
    idx = torch.multinomial(torch.tensor(weights, dtype=torch.float64), 1,
                            generator=generator).item()
    return pool[int(idx)]


def bar_lengths_ok(tokens: Sequence[str], bar_length: Fraction) -> bool:
    """True when the durations between bar lines add up to exactly ``bar_length`` each."""
    total = Fraction(0)
    for text in tokens:
        if text == BAR:
            if total != bar_length:
                return False
            total = Fraction(0)
        else:
            total += Token.parse(text).dur
    return total == 0
