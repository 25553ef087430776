"""The band behind the melody: piano comping, a walking bass and a drum kit, bar by bar in each
bar's meter, plus swing.

Each part has a rhythm per meter, built from the meter's groups (:mod:`artkit.music.meter`),
not a 4/4 pattern cut to size:

* **piano** — 4/4: the Charleston (beat 1, the "and" of 2 held); 3/4: the jazz-waltz comp
  (beat 1, the "and" of 2 held over 3); 5/4 (3+2): the waltz cell then beat 4 held; other n/4:
  those cells chained by group; n/8: one stab per group (6/8: two dotted quarters). Sparse moods
  hold one chord a bar. A chord that changes between hits gets its own attack. Voicings are
  close (at most four notes, the fifth dropped first) and move as little as possible.
* **bass** — a walking line: two quarters in each group of two beats, a half and a quarter in a
  group of three (the waltz's "1 – 3"), one note per group in n/8; the chord's bass note on its
  first note, chord and scale tones after, and a chromatic or scale step into the next chord's
  bass on the last note before a change.
* **drums** — ride on every beat with a skip note on the "and" of each group's second beat,
  hi-hat pedal on that second beat (2 and 4 in 4/4, 2 in 3/4, 2 and 5 in 5/4); in n/8 the ride
  plays each group's first and last eighth; a soft kick on 1, a crash at the top, a snare
  pickup every fourth bar.

The last bar of a piece is its ending: one held chord, the bass on the root, a crash.
Everything is in straight time (quarter notes); swing is a time warp applied when the piece is
performed (:func:`swing_time`), only in meters whose eighths swing.
"""

from __future__ import annotations

from fractions import Fraction

import torch

from artkit.music.chords import Bar, Chord, Progression
from artkit.music.meter import Meter
from artkit.music.midi import MidiNote

KICK, SNARE, HIHAT_PEDAL, RIDE, CRASH = 36, 38, 44, 51, 49
F = Fraction


def swing_time(q: float, swing: float) -> float:
    """Warp a straight time so off-beat eighths fall at ``swing`` of the beat (0.5 = straight,
    0.67 = triplet swing)."""
    if abs(swing - 0.5) < 1e-9:
        return q
    beat = float(int(q // 1))
    f = q - beat
    if f <= 0.5:
        return beat + f * 2 * swing
    return beat + swing + (f - 0.5) * 2 * (1 - swing)


def _rand(gen: torch.Generator | None) -> float:
    return float(torch.rand((), generator=gen)) if gen is not None else 0.5


# ------------------------------------------------------------------ rhythms per meter

_COMP_CELLS = {2: [(F(0), F(3, 2)), (F(3, 2), F(1, 2))], 3: [(F(0), F(1)), (F(3, 2), F(3, 2))]}


def comp_rhythm(meter: Meter, density: float = 1.0) -> list[tuple[Fraction, Fraction]]:
    """``(offset, length)`` of the piano's hits in a bar of ``meter``."""
    if density < 0.75:
        return [(F(0), meter.bar_length)]
    if meter.eighths:
        return list(zip(meter.group_starts, meter.groups))
    if meter.bar_length == 4:
        return [(F(0), F(3, 2)), (F(3, 2), F(5, 2))]
    if meter.numerator == 5 and meter.denominator == 4:
        return [(F(0), F(1)), (F(3, 2), F(3, 2)), (F(3), F(2))]
    out = []
    for start, length in zip(meter.group_starts, meter.groups):
        out += [(start + o, n) for o, n in _COMP_CELLS.get(int(length), [(F(0), length)])]
    return out


def bass_rhythm(meter: Meter) -> list[tuple[Fraction, Fraction]]:
    """``(offset, length)`` of the walking bass's notes in a bar of ``meter``."""
    if meter.eighths:
        return list(zip(meter.group_starts, meter.groups))
    out = []
    for start, length in zip(meter.group_starts, meter.groups):
        if length == 3:
            out += [(start, F(2)), (start + 2, F(1))]
        else:
            out += [(start + k, F(1)) for k in range(int(length))]
    return out


def _with_changes(rhythm: list[tuple[Fraction, Fraction]], bar: Bar) -> list[tuple[Fraction, Fraction, Chord]]:
    """The rhythm's notes with an extra attack where a chord changes between them; each note
    cut at the next change; ``(offset, length, chord)``."""
    changes = [s for s, _, _ in bar.chords]
    starts = sorted({s for s, _ in rhythm} | set(changes))
    wanted = dict(rhythm)
    out = []
    for k, s in enumerate(starts):
        nxt = starts[k + 1] if k + 1 < len(starts) else bar.length
        next_change = min([c for c in changes if c > s], default=bar.length)
        length = min(wanted.get(s, nxt - s), next_change - s)
        out.append((s, length, bar.chord_at(s)))
    return out


# ------------------------------------------------------------------ the parts


def voicing(chord: Chord, previous: list[int] | None, low: int = 50, high: int = 67) -> list[int]:
    """A close voicing of ``chord`` (at most four notes, the fifth dropped first) between ``low``
    and ``high``, the inversion chosen to move least from ``previous``."""
    rel = sorted({(p - chord.root) % 12 for p in chord.pcs})
    if len(rel) > 4 and 7 in rel:
        rel.remove(7)
    rel = rel[:4] if len(rel) > 4 else rel
    pcs = [(chord.root + r) % 12 for r in rel]
    options = []
    for base in range(low, high - 6):
        notes = sorted(base + (pc - base) % 12 for pc in pcs)
        if notes[-1] <= high:
            options.append(notes)
    if not options:
        return sorted(low + (pc - low) % 12 for pc in pcs)
    if not previous:
        return min(options, key=lambda v: abs(sum(v) / len(v) - (low + high) / 2))
    centre = sum(previous) / len(previous)
    return min(options, key=lambda v: abs(sum(v) / len(v) - centre) + 0.01 * v[0])


def comping(progression: Progression, gen: torch.Generator | None, velocity: int = 62,
            density: float = 1.0) -> list[MidiNote]:
    """The piano part (see the module docstring); N.C. bars rest."""
    out: list[MidiNote] = []
    prev = None
    spans = progression.spans()
    for k, (t0, bar) in enumerate(spans):
        last = k == len(spans) - 1
        rhythm = [(F(0), bar.length)] if last else comp_rhythm(bar.meter, density)
        for s, length, chord in _with_changes(rhythm, bar):
            if chord.is_rest:
                continue
            v = voicing(chord, prev)
            prev = v
            vel = int(velocity + 10 * (_rand(gen) - 0.5))
            hold = 1.0 if last else 0.95
            out += [MidiNote(float(t0 + s), float(length) * hold, p, vel) for p in v]
    return out


def walking_bass(progression: Progression, gen: torch.Generator | None, velocity: int = 80,
                 low: int = 36, high: int = 55) -> list[MidiNote]:
    """The bass part (see the module docstring); N.C. bars rest."""
    notes = []
    spans = progression.spans()
    for k, (t0, bar) in enumerate(spans):
        rhythm = [(F(0), bar.length)] if k == len(spans) - 1 else bass_rhythm(bar.meter)
        notes += [(t0 + s, length, chord) for s, length, chord in _with_changes(rhythm, bar)]
    out: list[MidiNote] = []
    prev = None
    for i, (start, length, chord) in enumerate(notes):
        if chord.is_rest:
            continue
        nxt = notes[i + 1][2] if i + 1 < len(notes) else chord
        first = i == 0 or notes[i - 1][2].symbol != chord.symbol
        leading = nxt.symbol != chord.symbol and not nxt.is_rest and i + 1 < len(notes)
        if first:
            cands = [p for p in range(low, high + 1) if p % 12 == chord.bass]
        elif leading:
            cands = [p for p in range(low, high + 1)
                     if (p + 1) % 12 == nxt.bass or (p - 1) % 12 == nxt.bass
                     or (p + 2) % 12 == nxt.bass and p % 12 in chord.scale]
        else:
            cands = [p for p in range(low, high + 1) if p % 12 in chord.pcs]
        cands = cands or [p for p in range(low, high + 1) if p % 12 == chord.root]
        if prev is None:
            p = min(cands, key=lambda c: abs(c - 43))
        else:
            near = sorted(cands, key=lambda c: (abs(c - prev), c))[:3]
            p = near[min(len(near) - 1, int(_rand(gen) * len(near)))] if not first else near[0]
        vel = int(velocity + (8 if first else 0) + 8 * (_rand(gen) - 0.5))
        out.append(MidiNote(float(start), float(length) * 0.9, p, vel))
        prev = p
    return out


def drums(progression: Progression, gen: torch.Generator | None, velocity: int = 70,
          busy: bool = True) -> list[MidiNote]:
    """The kit (see the module docstring)."""
    out: list[MidiNote] = []
    spans = progression.spans()
    for k, (t0, bar) in enumerate(spans):
        t0 = float(t0)
        if k == len(spans) - 1:                        # the ending: one crash, one kick
            out += [MidiNote(t0, 2.0, CRASH, velocity + 8), MidiNote(t0, 0.5, KICK, velocity)]
            continue
        m = bar.meter
        for start, length in zip(m.group_starts, m.groups):
            s = float(start)
            if m.eighths:
                out.append(MidiNote(t0 + s, 0.5, RIDE, int(velocity + 6 * (_rand(gen) - 0.5))))
                if length > F(1):
                    out.append(MidiNote(t0 + s + float(length) - 0.5, 0.25, RIDE, int(velocity - 12)))
                if start > 0:
                    out.append(MidiNote(t0 + s, 0.25, HIHAT_PEDAL, int(velocity - 5)))
                continue
            for b in range(int(length)):
                acc = 10 if b == 1 else 0
                out.append(MidiNote(t0 + s + b, 0.5, RIDE, int(velocity + acc + 6 * (_rand(gen) - 0.5))))
            if length >= 2:
                out.append(MidiNote(t0 + s + 1, 0.25, HIHAT_PEDAL, int(velocity - 5)))
                if busy:
                    out.append(MidiNote(t0 + s + 1.5, 0.25, RIDE, int(velocity - 12)))
        out.append(MidiNote(t0, 0.5, KICK, int(velocity - 10)))
        if busy and k % 4 == 3:
            out.append(MidiNote(t0 + float(bar.length) - 0.5, 0.25, SNARE, int(velocity - 15)))
    if spans:
        out.append(MidiNote(0.0, 1.0, CRASH, velocity))
    return out


def band(progression: Progression, gen: torch.Generator | None, *, comp_velocity: int = 62,
         bass_velocity: int = 80, drum_velocity: int = 70,
         density: float = 1.0) -> dict[str, list[MidiNote]]:
    """Piano, bass and drums over a progression as played (every bar, ending included)."""
    return {"piano": comping(progression, gen, comp_velocity, density),
            "bass": walking_bass(progression, gen, bass_velocity),
            "drums": drums(progression, gen, drum_velocity, density >= 0.75)}
