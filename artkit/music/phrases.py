"""The melody of a piece: phrases sampled from the jazz model, realised over the chords, and how
they are played.

1. **Harmony and key.** The melody plays over the progression as played (every chorus, the
   ending included); under N.C. it keeps the chord it has just left. The key it leans to is the
   major scale holding most of the chord tones, weighted by time.
2. **Phrases.** The piece is cut into ``patches`` phrases of whole bars. Each is sampled bar by
   bar, every bar its own length (meters may change), and realised from where the previous
   phrase ended: a ``soft`` transition continues the line, a ``hard`` one jumps a fifth towards
   the middle of the register.
3. **The ending.** The last bar is one note, the root of the final chord, from its downbeat
   to the end of the piece.
4. **Dynamics.** Notes on the beat are accented. With several phrases, ``hard`` transitions
   alternate loud and soft phrases; ``soft`` ones slow down (a ritardando over the phrase's last
   bar, a tempo after) and fade by a fifth through that bar, melody and band alike.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from fractions import Fraction

import torch

from artkit.core.progress import ProgressCallback, report
from artkit.music.chords import MAJOR, Chord, Progression, melody_harmony
from artkit.music.grammar import Note, realise
from artkit.music.midi import MidiNote
from artkit.music.model import JazzModel, sample_bars


@dataclass
class Melody:
    """A composed melody and how to perform it.

    Args:
        notes: the melody (rests included; exact times in quarter notes).
        tokens: the grammar tokens the model sampled.
        tempo_map: ``(quarter, bpm)`` changes.
        dynamics: ``(start, end, velocity)`` of each phrase.
    """

    notes: list[Note]
    tokens: list[str]
    tempo_map: list[tuple[float, float]]
    dynamics: list[tuple[float, float, int]]


def progression_key(timeline: list[tuple[Fraction, Fraction, Chord]]) -> frozenset:
    """The major scale that holds most of the progression's chord tones (time-weighted)."""
    weight = [0.0] * 12
    for _, length, chord in timeline:
        for pc in chord.pcs:
            weight[pc] += float(length)
    best = max(range(12), key=lambda k: (sum(weight[(k + s) % 12] for s in MAJOR), -k))
    return frozenset((best + s) % 12 for s in MAJOR)


def nearest(pc: int, around: int, register: tuple[int, int]) -> int:
    """The pitch of pitch class ``pc`` inside ``register`` nearest to ``around``."""
    options = [p for p in range(register[0], register[1] + 1) if p % 12 == pc]
    return min(options, key=lambda p: (abs(p - around), p)) if options else around


def compose_melody(model: JazzModel, progression: Progression, *, temperature: float,
                   tempo: float, velocity: int, register: tuple[int, int], patches: int = 1,
                   transition: str = "soft", primer: list[str] | None = None,
                   start_pitch: int | None = None, generator: torch.Generator | None = None,
                   progress: ProgressCallback | None = None) -> Melody:
    """Sample and realise the melody of ``progression`` (see the module docstring)."""
    harmony = melody_harmony(progression.timeline())
    starts = [s for s, _, _ in harmony]

    def chord_at(t: Fraction) -> Chord:
        return harmony[max(0, bisect.bisect_right(starts, t) - 1)][2]

    mid = (register[0] + register[1]) // 2
    if start_pitch is None:
        start_pitch = min((p for p in range(register[0], register[1] + 1)
                           if p % 12 in harmony[0][2].pcs), key=lambda p: abs(p - mid))
    key_scale = progression_key(harmony)
    spans = progression.spans()
    n = len(spans)
    bounds = [round(i * n / patches) for i in range(patches + 1)]
    notes: list[Note] = []
    tokens: list[str] = []
    tempo_map: list[tuple[float, float]] = [(0.0, tempo)]
    dynamics: list[tuple[float, float, int]] = []
    prev = start_pitch
    for k in range(patches):
        b0, b1 = bounds[k], bounds[k + 1]
        report(progress, "compose", k, patches, f"bars {b0 + 1}-{b1}")
        lengths = [bar.length for _, bar in spans[b0:b1]]
        toks = sample_bars(model, lengths, temperature=temperature, generator=generator,
                           primer=primer if k == 0 else None)
        offset = spans[b0][0]
        start = prev
        if k > 0 and transition == "hard":
            start = max(register[0], min(register[1], prev + (7 if prev < mid else -7)))
        phrase = realise(toks, lambda t, o=offset: chord_at(t + o), lengths, start,
                         register=register, generator=generator, key_scale=key_scale)
        notes += [Note(x.start + offset, x.dur, x.pitch) for x in phrase]
        tokens += toks
        prev = next((x.pitch for x in reversed(phrase) if x.pitch is not None), prev)
        end = float(offset + sum(lengths, Fraction(0)))
        loud = transition == "soft" or k % 2 == 0
        dynamics.append((float(offset), end, velocity if loud else max(40, velocity - 25)))
        if patches > 1 and k < patches - 1:
            if transition == "soft":   # ritardando over the phrase's last bar, a tempo after
                bar_len = float(lengths[-1])
                for j, f in enumerate((0.95, 0.88, 0.8)):
                    tempo_map.append((end - bar_len + j * bar_len / 3, tempo * f))
            tempo_map.append((end, tempo))
    report(progress, "compose", patches, patches)
    return Melody(end_on_root(notes, progression, register), tokens, tempo_map, dynamics)


def end_on_root(notes: list[Note], progression: Progression,
                register: tuple[int, int]) -> list[Note]:
    """The melody with its last bar one note: the root of the final chord, from the downbeat to
    the end (the line before it is cut at that bar line)."""
    t_last, last_bar = progression.spans()[-1]
    final = next((c for _, _, c in reversed(progression.timeline()) if not c.is_rest), None)
    before = [x if x.end <= t_last else Note(x.start, t_last - x.start, x.pitch)
              for x in notes if x.start < t_last]
    prev = next((x.pitch for x in reversed(before) if x.pitch is not None), None)
    if final is None or prev is None:
        return notes
    return before + [Note(t_last, last_bar.length, nearest(final.root, prev, register))]


def perform_melody(notes: list[Note], progression: Progression, velocity: int,
                   dynamics: list[tuple[float, float, int]], transition: str) -> list[MidiNote]:
    """The melody as MIDI notes: accents on the beats of each bar's meter, each phrase's
    dynamics, a diminuendo into soft transitions."""
    beats = {float(t + b) for t, bar in progression.spans() for b in bar.meter.beats}
    end_all = float(progression.length)
    out = []
    for x in notes:
        if x.pitch is None:
            continue
        start = float(x.start)
        vel = velocity + (6 if start in beats else -4)
        for p0, p1, pv in dynamics:
            if p0 <= start < p1 and len(dynamics) > 1:
                vel = vel * pv / velocity
                if transition == "soft" and p1 < end_all and start >= p1 - _last_bar(progression, p1):
                    vel *= 0.8
        out.append(MidiNote(start, float(x.dur) * 0.97, x.pitch, max(1, min(127, int(vel)))))
    return out


def _last_bar(progression: Progression, end: float) -> float:
    """The length of the bar that ends at ``end``."""
    for t, bar in progression.spans():
        if float(t + bar.length) == end:
            return float(bar.length)
    return float(progression.bars[-1].length)


def shape_band(band: dict[str, list[MidiNote]], progression: Progression, velocity: int,
               dynamics: list[tuple[float, float, int]], transition: str) -> None:
    """Scale the band's velocities phrase by phrase (a diminuendo into soft transitions)."""
    end_all = float(progression.length)
    for start, end, vel in dynamics:
        scale = vel / velocity
        fade_from = end - _last_bar(progression, end)
        for part in band.values():
            for n in part:
                if start <= n.start < end:
                    fade = 0.8 if transition == "soft" and n.start >= fade_from and end < end_all else 1.0
                    n.velocity = max(20, min(127, int(n.velocity * scale * fade)))
