"""A composition, whichever model made it: the parts, the harmony, and the ways out (MIDI,
MusicXML, a piece to measure).

Every part is kept in straight time (quarter notes); :meth:`Score.midi_song` performs it — swing
applied where the meter swings, the tempo map, chord symbols as markers (so a MIDI file written
by artkit reads back with its exact harmony). :attr:`Score.duration` is the music's length in
seconds; ``seconds`` (from :class:`~artkit.core.result.Result`) is how long composing took.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction

import torch

from artkit.core.errors import ArtkitError
from artkit.core.result import Result
from artkit.music.arrange import swing_time
from artkit.music.chords import Progression
from artkit.music.corpus import Piece, RawPart, RawPiece, build_piece
from artkit.music.grammar import Note
from artkit.music.meter import COMMON, Meter
from artkit.music.midi import DRUM_CHANNEL, MidiNote, MidiSong, MidiTrack

# part name → (MIDI channel, General-MIDI program)
CHANNELS = {"melody": (0, 0), "piano": (1, 0), "bass": (2, 32), "drums": (DRUM_CHANNEL, 0)}


@dataclass(kw_only=True)
class Score(Result):
    """A composition.

    Args:
        kind: the model that made it: ``"jazz"`` (a melody over chords, with a band) or
            ``"biaxial"`` (free polyphony, one piano part).
        title: what the piece is called in its files.
        parts: MIDI notes by part (``melody``, ``piano``, ``bass``, ``drums``), straight time.
        melody: the jazz melody as exact notes (rests included); empty for biaxial scores.
        progression: the harmony as played (every bar); ``None`` for biaxial scores.
        n_bars: length in bars.
        tempo: quarter notes a minute; ``tempo_map`` holds changes (ritardandos).
        swing: where off-beat eighths fall (0.5 straight).
        tokens: the grammar tokens sampled (jazz).
        roll: the piano roll sampled, ``(steps, 78, 2)`` (biaxial).
        settings: what shaped it (mood, temperature, seed, phrases, ...), for people.
    """

    kind: str
    title: str
    parts: dict[str, list[MidiNote]]
    n_bars: int
    tempo: float
    melody: list[Note] = field(default_factory=list)
    progression: Progression | None = None
    swing: float = 0.5
    tempo_map: list[tuple[float, float]] = field(default_factory=list)
    tokens: list[str] = field(default_factory=list)
    roll: torch.Tensor | None = field(default=None, repr=False)
    settings: dict = field(default_factory=dict)

    @property
    def meter(self) -> Meter:
        return self.progression.meter if self.progression is not None else COMMON

    @property
    def swings(self) -> bool:
        """Whether swing applies: every bar's meter swings (n/4, n/2) and swing is not 0.5."""
        meters = self.progression.meters if self.progression is not None else [COMMON]
        return all(m.swings for m in meters) and abs(self.swing - 0.5) > 1e-9

    @property
    def duration(self) -> float:
        """The music's length in seconds (through the tempo map)."""
        return self.midi_song().duration_s

    def to_dict(self) -> dict:
        return {"kind": self.kind, "title": self.title, "bars": self.n_bars, "tempo": self.tempo,
                "duration": round(self.duration, 3), "notes": self.notes, "seconds": self.seconds,
                "weights": self.weights, "settings": self.settings,
                "chords": [] if self.progression is None else
                [b.text() for b in self.progression.bars]}

    def midi_song(self) -> MidiSong:
        """The performance: swing applied, the tempo map, chord symbols as markers."""
        swing = self.swing if self.swings else 0.5

        def perf(notes: list[MidiNote]) -> list[MidiNote]:
            out = []
            for n in notes:
                s, e = swing_time(n.start, swing), swing_time(n.start + n.dur, swing)
                out.append(MidiNote(s, max(e - s, 0.05), n.pitch, n.velocity))
            return out

        tracks = []
        for name, notes in self.parts.items():
            channel, program = CHANNELS.get(name, (len(tracks), 0))
            if notes:
                tracks.append(MidiTrack(name, channel, program, perf(notes)))
        markers = [] if self.progression is None else \
            [(float(s), c.symbol) for s, _, c in self.progression.timeline()]
        signatures = [(0.0, self.meter.numerator, self.meter.denominator)]
        if self.progression is not None:
            signatures, last = [], None
            for t, bar in self.progression.spans():
                if bar.meter != last:
                    signatures.append((float(t), bar.meter.numerator, bar.meter.denominator))
                    last = bar.meter
        tempos = self.tempo_map or [(0.0, float(self.tempo))]
        return MidiSong(tracks, tempos, signatures, markers)

    def piece(self) -> Piece | None:
        """The composition as a :class:`~artkit.music.corpus.Piece` for the quality figures:
        the jazz melody over its chords, or the biaxial top line over its chordified lower
        notes (``None`` when too few notes to measure)."""
        if self.progression is not None:
            bars = [(t, bar.length) for t, bar in self.progression.spans()]
            return Piece("composition", [n for n in self.melody if n.pitch is not None],
                         self.progression.timeline(), bars, "chord symbols",
                         meters=self.progression.meters)
        notes = [(Fraction(m.start).limit_denominator(48), Fraction(m.dur).limit_denominator(48),
                  m.pitch) for part in self.parts.values() for m in part]
        bar = self.meter.bar_length
        raw = RawPiece([RawPart("piano", notes)], [], [(Fraction(0), bar)],
                       [(bar * b, bar) for b in range(self.n_bars)])
        try:
            return build_piece("composition", raw)
        except ArtkitError:
            return None
