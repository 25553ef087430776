"""Writing a composition: MIDI, MusicXML and a piano-roll picture, each atomically."""

from __future__ import annotations

from pathlib import Path

from artkit.core.errors import ArtkitError
from artkit.core.files import atomic_path, atomic_write_bytes
from artkit.music.midi import MidiSong, write_midi

COLOURS = {"melody": "#d1495b", "piano": "#00798c", "bass": "#edae49", "drums": "#66a182"}


def save_midi(song: MidiSong, path: str | Path, force: bool = False) -> Path:
    return atomic_write_bytes(path, write_midi(song), force)


def save_musicxml(score, path: str | Path, force: bool = False) -> Path:
    """Write ``score.stream`` (music21) as MusicXML."""
    with atomic_path(path, force) as tmp:
        try:
            score.stream.write("musicxml", fp=str(tmp))
        except Exception as exc:  # music21 export problems are bugs worth naming
            raise ArtkitError(f"MusicXML export failed: {type(exc).__name__}: {exc}") from None
    return Path(path)


def save_pianoroll(song: MidiSong, path: str | Path, force: bool = False, title: str = "",
                   bars: int | None = None) -> Path:
    """A piano roll: pitch against bars, one colour per track (drums as ticks along the
    bottom), chord symbols above each change."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    beats = song.time_signatures[0][1] if song.time_signatures else 4
    end = song.end
    n_bars = bars or int(end // beats + (1 if end % beats else 0))
    width = min(40.0, max(8.0, n_bars * 0.55))
    fig, ax = plt.subplots(figsize=(width, 5.0), dpi=110)
    pitched = [n.pitch for t in song.tracks if not t.is_drums for n in t.notes]
    lo = min(pitched, default=36) - 2
    hi = max(pitched, default=84) + 4
    drum_row = lo - 3
    for tr in song.tracks:
        colour = COLOURS.get(tr.name.lower(), "#555555")
        for n in tr.notes:
            if tr.is_drums:
                ax.add_patch(Rectangle((n.start, drum_row), 0.12, 1.6, color=colour, lw=0))
            else:
                ax.add_patch(Rectangle((n.start, n.pitch - 0.4), n.dur, 0.8, color=colour, lw=0,
                                       alpha=0.95 if tr.name == "melody" else 0.7))
    for b in range(n_bars + 1):
        ax.axvline(b * beats, color="#bbbbbb", lw=0.6, zorder=0)
    last = None
    for q, text in song.markers:
        if text != last:
            ax.text(q + 0.05, hi + 0.5, text, fontsize=7, va="bottom", clip_on=True)
            last = text
    for c in range(((lo // 12) + 1) * 12, hi, 12):
        ax.axhline(c, color="#e5e5e5", lw=0.5, zorder=0)
    ax.set_xlim(0, n_bars * beats)
    ax.set_ylim(drum_row - 1, hi + 3)
    ticks = list(range(0, n_bars * beats + 1, beats * 4))
    ax.set_xticks(ticks)
    ax.set_xticklabels([str(t // beats + 1) for t in ticks])
    ax.set_xlabel("bar")
    ax.set_ylabel("MIDI pitch")
    handles = [Rectangle((0, 0), 1, 1, color=COLOURS.get(t.name.lower(), "#555555"))
               for t in song.tracks]
    ax.legend(handles, [t.name for t in song.tracks], loc="lower right", bbox_to_anchor=(1.0, 1.0),
              fontsize=7, ncol=4, frameon=False)
    if title:
        ax.set_title(title, fontsize=9, loc="left")
    fig.tight_layout()
    with atomic_path(path, force) as tmp:
        fig.savefig(str(tmp), format="png")
    plt.close(fig)
    return Path(path)
