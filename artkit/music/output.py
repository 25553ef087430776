"""A composition's other files: MusicXML (through music21) and a piano-roll picture.

Each function writes one file at the path it is given; the command line gives them the staging
paths of ``core.cli.Run``, so every output of a command is written together, or none is.
"""

from __future__ import annotations

import re
from fractions import Fraction
from pathlib import Path

from artkit.core.errors import ArtkitError
from artkit.music.midi import MidiSong
from artkit.music.score import Score

COLOURS = {"melody": "#d1495b", "piano": "#00798c", "bass": "#edae49", "drums": "#66a182"}

# MusicXML chord kinds under the names music21 uses for them.
NOTE = re.compile(r"^[A-G](##|bb|#|b|♯|♭)?")
NOTE_AT_END = re.compile(r"/[A-G](##|bb|#|b|♯|♭)?$")
M21_KIND = {"dominant": "dominant-seventh", "half-diminished": "half-diminished-seventh",
            "major-minor": "minor-major-seventh"}


def _m21_pitch(spelling: str):
    """``Db`` / ``F♯`` → a music21 pitch (music21 writes flats as ``-``)."""
    from music21 import pitch

    spelling = spelling.replace("♯", "#").replace("♭", "b")
    return pitch.Pitch(spelling[0] + spelling[1:].replace("b", "-"))


def _chord_symbol(chord):
    """A music21 ``ChordSymbol`` showing the symbol as written: root and bass spelt as
    written, the nearest chord kind (for programs), the rest of the symbol as its text."""
    from music21 import harmony

    if chord.is_rest:
        return harmony.NoChord()
    text = chord.symbol.strip()
    root = NOTE.match(text)
    suffix = text[root.end():]
    bass = NOTE_AT_END.search(suffix)
    if bass and not suffix.endswith("6/9"):
        suffix = suffix[:bass.start()]
    cs = harmony.ChordSymbol(kind=M21_KIND.get(chord.kind, chord.kind), root=_m21_pitch(root.group(0)))
    if bass and not text.endswith("6/9"):
        cs.bass(_m21_pitch(bass.group(0)[1:]), allow_add=True)
    cs.chordKindStr = suffix
    return cs


def to_music21(score: Score):
    """The score as a music21 ``Score``: the melody with chord symbols and meters, the bass,
    the title in its metadata."""
    from music21 import instrument, metadata, meter, note, stream, tempo

    if score.progression is None:
        raise ArtkitError("MusicXML is written for jazz scores (a melody over chords)",
                          "the biaxial model's music is written as MIDI")
    s = stream.Score()
    s.insert(0, metadata.Metadata(title=score.title, composer="artkit music"))
    mel = stream.Part()
    mel.partName = "melody"
    mel.insert(0, instrument.Piano())
    mel.insert(0, tempo.MetronomeMark(number=round(score.tempo)))
    last = None
    for t, bar in score.progression.spans():
        if bar.meter != last:
            mel.insert(t, meter.TimeSignature(bar.meter.text))
            last = bar.meter
    for n in score.melody:
        el = note.Rest() if n.pitch is None else note.Note(n.pitch)
        el.quarterLength = n.dur
        mel.insert(n.start, el)
    for start, _, chord in score.progression.timeline():
        mel.insert(start, _chord_symbol(chord))
    bass = stream.Part()
    bass.partName = "bass"
    bass.insert(0, instrument.AcousticBass())
    for n in score.parts.get("bass", []):
        el = note.Note(n.pitch)
        el.quarterLength = Fraction(n.dur).limit_denominator(12)
        bass.insert(Fraction(n.start).limit_denominator(12), el)
    s.insert(0, mel)
    if bass.notes:
        s.insert(0, bass)
    s.makeNotation(inPlace=True)
    return s


def write_musicxml(path: str | Path, score: Score) -> None:
    """Write ``score`` as MusicXML (melody with chord symbols, bass, titled)."""
    s = to_music21(score)
    try:
        s.write("musicxml", fp=str(path))
    except Exception as exc:  # music21 export problems are bugs worth naming
        raise ArtkitError(f"MusicXML export failed: {type(exc).__name__}: {exc}") from None


def write_pianoroll(path: str | Path, song: MidiSong, *, title: str = "",
                    bar_starts: list[float] | None = None) -> None:
    """A piano roll as PNG: pitch against bars, one colour per track (drums as ticks along the
    bottom), chord symbols above each change, a line at every bar."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    end = song.end
    if bar_starts is None:
        beats = 4 * song.time_signatures[0][1] / song.time_signatures[0][2]
        bar_starts = [b * beats for b in range(int(end // beats) + 1)]
    length = max(end, bar_starts[-1] if bar_starts else 0.0)
    n_bars = max(1, len(bar_starts) - 1)
    fig, ax = plt.subplots(figsize=(min(40.0, max(8.0, n_bars * 0.55)), 5.0), dpi=110)
    pitched = [n.pitch for t in song.tracks if not t.is_drums for n in t.notes]
    lo, hi = min(pitched, default=36) - 2, max(pitched, default=84) + 4
    drum_row = lo - 3
    for tr in song.tracks:
        colour = COLOURS.get(tr.name.lower(), "#555555")
        for n in tr.notes:
            if tr.is_drums:
                ax.add_patch(Rectangle((n.start, drum_row), 0.12, 1.6, color=colour, lw=0))
            else:
                ax.add_patch(Rectangle((n.start, n.pitch - 0.4), n.dur, 0.8, color=colour, lw=0,
                                       alpha=0.95 if tr.name == "melody" else 0.7))
    for b in bar_starts:
        ax.axvline(b, color="#bbbbbb", lw=0.6, zorder=0)
    previous = None
    for q, text in song.markers:
        if text != previous:
            ax.text(q + 0.05, hi + 0.5, text, fontsize=7, va="bottom", clip_on=True)
            previous = text
    for c in range(((lo // 12) + 1) * 12, hi, 12):
        ax.axhline(c, color="#e5e5e5", lw=0.5, zorder=0)
    ax.set_xlim(0, length)
    ax.set_ylim(drum_row - 1, hi + 3)
    step = max(1, n_bars // 12)
    ticks = bar_starts[::step]
    ax.set_xticks(ticks)
    ax.set_xticklabels([str(k * step + 1) for k in range(len(ticks))])
    ax.set_xlabel("bar")
    ax.set_ylabel("MIDI pitch")
    handles = [Rectangle((0, 0), 1, 1, color=COLOURS.get(t.name.lower(), "#555555"))
               for t in song.tracks]
    ax.legend(handles, [t.name for t in song.tracks], loc="lower right", bbox_to_anchor=(1.0, 1.0),
              fontsize=7, ncol=4, frameon=False)
    if title:
        ax.set_title(title, fontsize=9, loc="left")
    fig.tight_layout()
    fig.savefig(str(path), format="png")
    plt.close(fig)
