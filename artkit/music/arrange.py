"""The band behind the melody: piano comping, a walking bass and a drum kit, plus swing.

Everything is in straight time (quarter notes); swing is a time warp applied when the piece is
performed (:func:`swing_time`), so the notation stays straight.
"""

from __future__ import annotations

from fractions import Fraction

import torch

from artkit.music.chords import Chord, Progression
from artkit.music.midi import MidiNote

KICK, SNARE, HIHAT_PEDAL, RIDE, CRASH = 36, 38, 44, 51, 49


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
        notes = []
        for pc in pcs:
            p = base + (pc - base) % 12
            notes.append(p)
        notes.sort()
        if notes[-1] <= high:
            options.append(notes)
    if not options:
        return sorted(low + (pc - low) % 12 for pc in pcs)
    if not previous:
        return min(options, key=lambda v: abs(sum(v) / len(v) - (low + high) / 2))
    centre = sum(previous) / len(previous)
    return min(options, key=lambda v: abs(sum(v) / len(v) - centre) + 0.01 * v[0])


def comping(timeline: list[tuple[Fraction, Fraction, Chord]], beats_per_bar: int,
            gen: torch.Generator | None, velocity: int = 62, density: float = 1.0) -> list[MidiNote]:
    """Piano chords: a Charleston figure (beat 1, the and of 2) in 4/4, one chord per bar
    otherwise, and a fresh attack whenever the chord changes."""
    out: list[MidiNote] = []
    prev = None
    for start, length, chord in timeline:
        v = voicing(chord, prev)
        prev = v
        hits: list[tuple[Fraction, Fraction]]
        if length >= 4 and beats_per_bar == 4 and density >= 0.75:
            hits = [(Fraction(0), Fraction(3, 2)), (Fraction(5, 2), Fraction(3, 2))]
            hits += [(Fraction(4) * k + h0, hd) for k in range(1, int(length // 4)) for h0, hd in hits[:2]]
        elif length >= 2 and density >= 0.75:
            hits = [(Fraction(0), Fraction(1))] + [(Fraction(k), Fraction(1))
                                                    for k in range(2, int(length), 2)]
        else:
            hits = [(Fraction(0), length)]
        for h0, hd in hits:
            if h0 >= length:
                continue
            vel = int(velocity + 10 * (_rand(gen) - 0.5))
            for p in v:
                out.append(MidiNote(float(start + h0), float(min(hd, length - h0)) * 0.95, p, vel))
    return out


def walking_bass(timeline: list[tuple[Fraction, Fraction, Chord]], gen: torch.Generator | None,
                 velocity: int = 80, low: int = 36, high: int = 55) -> list[MidiNote]:
    """A quarter-note walking line: the chord's bass note on its first beat, chord and scale
    tones after, and a chromatic or scale step into the next chord's root on the last beat."""
    out: list[MidiNote] = []
    prev = None
    for i, (start, length, chord) in enumerate(timeline):
        nxt = timeline[i + 1][2] if i + 1 < len(timeline) else chord
        beats = max(1, int(length))
        for b in range(beats):
            if b == 0:
                target = chord.bass
                cands = [p for p in range(low, high + 1) if p % 12 == target]
            elif b == beats - 1 and beats > 1:
                root_next = nxt.bass
                cands = [p for p in range(low, high + 1)
                         if (p + 1) % 12 == root_next or (p - 1) % 12 == root_next
                         or (p + 2) % 12 == root_next and p % 12 in chord.scale]
            else:
                cands = [p for p in range(low, high + 1) if p % 12 in chord.pcs]
            if not cands:
                cands = [p for p in range(low, high + 1) if p % 12 == chord.root]
            if prev is None:
                p = min(cands, key=lambda c: abs(c - 43))
            else:
                near = sorted(cands, key=lambda c: (abs(c - prev), c))[:3]
                p = near[min(len(near) - 1, int(_rand(gen) * len(near)))] if b else near[0]
            vel = int(velocity + (8 if b == 0 else 0) + 8 * (_rand(gen) - 0.5))
            out.append(MidiNote(float(start + b), 0.9, p, vel))
            prev = p
    return out


def drums(n_bars: int, beats_per_bar: int, gen: torch.Generator | None, velocity: int = 70,
          busy: bool = True) -> list[MidiNote]:
    """A jazz kit pattern: ride on every beat plus the swung "and" of 2 and 4, hi-hat pedal on
    2 and 4, a soft kick on 1, a crash on the first beat."""
    out: list[MidiNote] = []
    for bar in range(n_bars):
        t0 = float(bar * beats_per_bar)
        for b in range(beats_per_bar):
            acc = 10 if b % 2 == 1 else 0
            out.append(MidiNote(t0 + b, 0.5, RIDE, int(velocity + acc + 6 * (_rand(gen) - 0.5))))
            if busy and b % 2 == 1:
                out.append(MidiNote(t0 + b + 0.5, 0.25, RIDE, int(velocity - 12)))
            if b % 2 == 1:
                out.append(MidiNote(t0 + b, 0.25, HIHAT_PEDAL, int(velocity - 5)))
        out.append(MidiNote(t0, 0.5, KICK, int(velocity - 10)))
        if busy and bar % 4 == 3:
            out.append(MidiNote(t0 + beats_per_bar - 0.5, 0.25, SNARE, int(velocity - 15)))
    if n_bars:
        out.append(MidiNote(0.0, 1.0, CRASH, velocity))
    return out


def band(progression: Progression, n_bars: int, gen: torch.Generator | None, *, comp_velocity=62,
         bass_velocity=80, drum_velocity=70, density: float = 1.0) -> dict[str, list[MidiNote]]:
    timeline = progression.timeline(n_bars)
    return {"piano": comping(timeline, progression.beats_per_bar, gen, comp_velocity, density),
            "bass": walking_bass(timeline, gen, bass_velocity),
            "drums": drums(n_bars, progression.beats_per_bar, gen, drum_velocity, density >= 0.75)}
