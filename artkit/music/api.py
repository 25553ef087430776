"""``artkit.music``'s front door: a :class:`Composer` holding its model, ``compose`` → one
:class:`~artkit.music.score.Score`, and ``evaluate`` / ``render`` for music files.

``Composer.compose`` goes through four seams, each its own function:

1. **settings** — defaults ← a mood preset ← the keywords, validated once
   (:class:`~artkit.music.settings.ComposeSettings`);
2. **harmony** — the progression (chords as text, a shipped progression, a chart read from
   MusicXML / ABC / iReal Pro, or a :class:`~artkit.music.chords.Progression`), played for a
   whole number of choruses, the last bar on the tonic where the progression names one;
3. **melody** — phrases sampled from the model and realised over the chords
   (:mod:`artkit.music.phrases`);
4. **band** — piano, bass and drums in every bar's meter (:mod:`artkit.music.arrange`).

A biaxial model composes free polyphony instead (chords, moods and phrases do not apply; the
score's ``notes`` say which options were ignored).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import torch

from artkit.core.errors import ArtkitError
from artkit.core.progress import ProgressCallback
from artkit.core.provenance import record_all
from artkit.core.result import Result, Timer
from artkit.core.runtime import default_generator, generator_seed, resolve_device
from artkit.music.arrange import band
from artkit.music.biaxial import BiaxialModel, compose_biaxial
from artkit.music.chords import Progression, load_progression, parse_chords
from artkit.music.corpus import load_piece, load_pieces
from artkit.music.leadsheet import read_chart
from artkit.music.metrics import MusicEvaluation, evaluate_pieces, piece_features
from artkit.music.midi import MidiSong, read_midi
from artkit.music.model import JazzModel
from artkit.music.models import load_model, model_file, model_presets
from artkit.music.phrases import compose_melody, perform_melody, shape_band
from artkit.music.score import Score
from artkit.music.settings import MAX_BARS, ComposeSettings, Mood
from artkit.music.synth import Renderer, check_soundfont, read_wav, render_fluidsynth

DEFAULT_BARS = 32          # the default length: the whole choruses nearest this


class Composer:
    """A loaded music model, ready to compose again and again.

    Args:
        model: ``jazz`` (the shipped grammar LSTM), ``biaxial`` (the shipped polyphonic RNN), a
            model file from ``artkit music train``, or a loaded model.
        device: ``auto`` (CUDA when present), ``cpu``, ``cuda``, ``cuda:N``.

    Example:
        >>> composer = Composer("jazz", device="cpu")
        >>> score = composer.compose(progression="ii-v-i", bars=4)
        >>> score.n_bars, [b.symbols for b in score.progression.bars]
        (4, [['Dm7'], ['G7'], ['Cmaj7'], ['Cmaj7']])
    """

    def __init__(self, model: str | Path | JazzModel | BiaxialModel = "jazz", *,
                 device: str | torch.device = "auto"):
        self.device = resolve_device(device)
        if isinstance(model, (JazzModel, BiaxialModel)):
            self.model = model
            self.model.net.to(self.device).eval()
            name = "model"
        else:
            self.model = load_model(model, device=self.device)
            name = model_file(model).name
        self.kind = self.model.kind
        self.weights = {name: self.model.sha256} if self.model.sha256 else {}

    def compose(self, *, chords: str | Progression | None = None,
                chords_from: str | Path | None = None, progression: str | None = None,
                key: str | None = None, meter: str | None = None, bars: int | None = None,
                choruses: int | None = None, tempo: float | None = None,
                temperature: float | None = None, swing: float | None = None,
                mood: str | None = None, primer: str | Path | None = None, patches: int = 1,
                transition: str = "soft", generator: torch.Generator | None = None,
                progress: ProgressCallback | None = None) -> Score:
        """Compose a piece (see the module docstring).

        Args:
            chords: ``"Dm7 G7 | Cmaj7 | %"`` (bars split by ``|``; one chord a bar without),
                or a :class:`~artkit.music.chords.Progression`.
            chords_from: a lead sheet: MusicXML, ABC or iReal Pro (file or link); its form,
                repeats, endings and meters are played.
            progression: a shipped progression (``jazz-blues``, ``blues``, ``ii-v-i``,
                ``jazz-waltz``, ...) or a TOML file; the default is ``jazz-blues``.
            key: transpose the named progression to this key.
            meter: the time signature of ``chords`` given as text (``3/4``, ``5/4``, ``6/8``).
            bars: length in bars, rounded up to whole choruses (with a note).
            choruses: length in choruses (default: the whole choruses nearest 32 bars).
            tempo, temperature, swing: quarter notes a minute (130); sampling temperature
                (deepjazz's 0.5); where off-beat eighths fall (0.5 straight … 0.8; 0.6).
            mood: a mood preset (``relaxed``, ``dramatic``, ``swinging``) or a TOML file.
            primer: a music file whose melody the new music continues.
            patches, transition: phrases generated separately; ``soft`` or ``hard`` joins.
            generator: the randomness (``None``: seeded with 0).
            progress: a callback for progress events.

        Raises:
            ArtkitError: bad chords, charts, settings or options.
        """
        gen = default_generator(generator)
        record_all(self.weights)
        with Timer() as timer:
            if self.kind == "biaxial":
                given = {k: v for k, v in dict(chords=chords, chords_from=chords_from,
                         progression=progression, key=key, meter=meter, mood=mood, primer=primer,
                         choruses=choruses).items() if v}
                score = self._free(bars, tempo, temperature, given, gen, progress)
            else:
                settings = compose_settings(mood, bars=bars, choruses=choruses, tempo=tempo,
                                            temperature=temperature, swing=swing,
                                            patches=patches, transition=transition)
                prog = harmony(chords, chords_from, progression, key, meter)
                score = self._jazz(prog, settings, mood, primer, gen, progress)
        score.seconds, score.weights = timer.seconds, dict(self.weights)
        return score

    def _jazz(self, prog: Progression, s: ComposeSettings, mood: str | None,
              primer: str | Path | None, gen: torch.Generator,
              progress: ProgressCallback | None) -> Score:
        played, notes = arrangement(prog, s)
        if s.patches > len(played.bars):
            raise ArtkitError(f"{s.patches} phrases for {len(played.bars)} bars",
                              "use --patches from 1 to the number of bars")
        tempo = float(s.tempo if s.tempo is not None else 130.0)
        register = (s.register[0], s.register[1])
        primer_tokens = start = None
        if primer is not None:
            piece = load_piece(primer)
            primer_tokens = piece.tokens()
            start = next(n.pitch for n in reversed(piece.melody) if n.pitch is not None)
            start = max(register[0], min(register[1], start))
        melody = compose_melody(
            self.model, played, temperature=float(s.temperature if s.temperature is not None else 0.5),
            tempo=tempo, velocity=s.velocity, register=register, patches=s.patches,
            transition=s.transition, primer=primer_tokens, start_pitch=start, generator=gen,
            progress=progress)
        parts = {"melody": perform_melody(melody.notes, played, s.velocity, melody.dynamics,
                                          s.transition)}
        parts.update(band(played, gen, comp_velocity=int(s.velocity * 0.68),
                          bass_velocity=int(s.velocity * 0.87), drum_velocity=int(s.velocity * 0.76),
                          density=s.density))
        if s.patches > 1:
            shape_band({k: v for k, v in parts.items() if k != "melody"}, played, s.velocity,
                       melody.dynamics, s.transition)
        seed = generator_seed(gen)
        score = Score(kind="jazz", title=title(prog, mood, seed), parts=parts,
                      n_bars=len(played.bars), tempo=tempo, melody=melody.notes,
                      progression=played, swing=s.swing, tempo_map=melody.tempo_map,
                      tokens=melody.tokens, notes=notes,
                      settings={"progression": prog.name, "mood": mood, "seed": seed,
                                "temperature": s.temperature if s.temperature is not None else 0.5,
                                "choruses": len(played.bars) // len(prog.bars),
                                "form_bars": len(prog.bars), "patches": s.patches,
                                "transition": s.transition, "register": list(register),
                                "meters": sorted({str(m) for m in played.meters})})
        if not score.swings and abs(s.swing - 0.5) > 1e-9:
            score.notes.append("no swing: the eighths of n/8 meters are their own pulse")
        return score

    def _free(self, bars: int | None, tempo: float | None, temperature: float | None,
              ignored: dict, gen: torch.Generator, progress: ProgressCallback | None) -> Score:
        s = ComposeSettings(bars=bars, tempo=tempo, temperature=temperature)
        s.validate()
        score = compose_biaxial(self.model, bars=s.bars or 16,
                                tempo=float(s.tempo if s.tempo is not None else 100.0),
                                temperature=float(s.temperature if s.temperature is not None else 1.0),
                                generator=gen, progress=progress)
        score.title = f"biaxial polyphony, seed {generator_seed(gen)}"
        score.settings["seed"] = generator_seed(gen)
        if ignored:
            score.notes.append("the biaxial model composes free polyphony: "
                               f"{', '.join('--' + k.replace('_', '-') for k in ignored)} ignored")
        if not score.parts["piano"]:
            score.notes.append("the model played no note (try a higher --temperature or another --seed)")
        return score


def compose(model: str | Path | JazzModel | BiaxialModel = "jazz", *,
            device: str | torch.device = "auto", **kwargs) -> Score:
    """Compose once: ``Composer(model, device=device).compose(**kwargs)`` (same keywords)."""
    return Composer(model, device=device).compose(**kwargs)


# ------------------------------------------------------------------ the seams


def compose_settings(mood: str | None, **options) -> ComposeSettings:
    """Defaults ← the mood preset (validated, naming its file) ← the options given."""
    values = Mood.build(mood, "music/moods").feel() if mood else {}
    values.update({k: v for k, v in options.items() if v is not None})
    settings = ComposeSettings(**values)
    settings.validate()
    return settings


def harmony(chords: str | Progression | None, chords_from: str | Path | None,
            progression: str | None, key: str | None, meter: str | None) -> Progression:
    """The progression asked for (one of chords, chords_from, progression; default
    ``jazz-blues``)."""
    given = [name for name, v in (("--chords", chords), ("--chords-from", chords_from),
                                  ("--progression", progression)) if v]
    if len(given) > 1:
        raise ArtkitError(f"give one of {' or '.join(given)}, not both")
    if meter and not isinstance(chords, str):
        raise ArtkitError("--meter sets the meter of --chords; progressions and charts have their own")
    if key and (chords or chords_from):
        raise ArtkitError("--key transposes a named progression; write the chords in the key you want")
    if isinstance(chords, Progression):
        return chords
    if chords_from:
        return read_chart(chords_from).progression()
    if chords:
        return parse_chords(chords, meter or "4/4")
    return load_progression(progression or "jazz-blues", key)


def arrangement(prog: Progression, s: ComposeSettings) -> tuple[Progression, list[str]]:
    """The progression as played: whole choruses (``bars`` rounded up, with a note) ending on
    the progression's ending chord."""
    form = len(prog.bars)
    notes = []
    if s.choruses is not None:
        choruses = s.choruses
    elif s.bars is not None:
        choruses, total = prog.chorus_bars(s.bars)
        if total != s.bars:
            notes.append(f"{s.bars} bars is not a whole number of {form}-bar choruses: playing "
                         f"{total} ({choruses} chorus{'es' if choruses > 1 else ''})")
    else:
        choruses = max(1, round(DEFAULT_BARS / form))
    if choruses * form > MAX_BARS:
        raise ArtkitError(f"{choruses} choruses of {form} bars is {choruses * form} bars",
                          f"artkit composes up to {MAX_BARS} bars")
    return prog.played(choruses), notes


def title(prog: Progression, mood: str | None, seed: int | None) -> str:
    """What a piece is called: its progression, mood and seed."""
    name = prog.name if prog.name != "custom" else "custom changes"
    bits = [name] + ([f"{Path(mood).stem} mood"] if mood else []) + \
        ([f"seed {seed}"] if seed is not None else [])
    return ", ".join(bits)


# ------------------------------------------------------------------ music files


def evaluate(files: list[str | Path], *, against: list[str] | str | None = None,
             generator: torch.Generator | None = None,
             progress: ProgressCallback | None = None) -> MusicEvaluation:
    """Quality figures of the melodies in ``files`` with random baselines; ``against`` is a
    model (its training set's figures) or music sources to measure the overlap with.

    Raises:
        ArtkitError: no piece to measure, or nothing to compare with.
    """
    with Timer() as timer:
        pieces, skipped = load_pieces([str(f) for f in files], progress)
        if not pieces:
            reasons = "; ".join(f"{n}: {r}" for n, r in skipped[:3])
            raise ArtkitError(f"no piece to evaluate ({reasons or 'nothing found'})")
        reference, weights = None, {}
        if against:
            srcs = [against] if isinstance(against, (str, Path)) else list(against)
            if len(srcs) == 1 and (str(srcs[0]).endswith(".safetensors") or str(srcs[0]) in model_presets()):
                m = load_model(srcs[0], device="cpu")
                reference = m.features
                weights = {model_file(srcs[0]).name: m.sha256}
                if not reference:
                    raise ArtkitError(f"model '{srcs[0]}' has no training-set figures to compare with")
            else:
                ref_pieces, _ = load_pieces([str(s) for s in srcs], progress)
                if not ref_pieces:
                    raise ArtkitError("no usable piece in --against")
                reference = [piece_features(p) for p in ref_pieces]
        ev = evaluate_pieces(pieces, reference, generator_seed(default_generator(generator)), skipped)
    ev.seconds, ev.weights = timer.seconds, weights
    return ev


@dataclass(kw_only=True)
class Rendering(Result):
    """Audio of a song, ready to be taken (:meth:`audio`) or written (:meth:`write_wav`).

    Args:
        sample_rate: samples a second.
        duration: seconds of audio (the music and its tail).
        song: what is played.
        soundfont: the SoundFont FluidSynth plays it with, or ``None`` (the built-in voices).
    """

    sample_rate: int
    duration: float
    song: MidiSong = field(repr=False)
    soundfont: Path | None = None
    renderer: Renderer | None = field(default=None, repr=False)

    def audio(self, progress: ProgressCallback | None = None) -> torch.Tensor:
        """``(2, N)`` float32 samples in [-1, 1]."""
        if self.renderer is not None:
            return self.renderer.audio(progress)
        audio, _ = render_fluidsynth(self.song, self.soundfont, self.sample_rate)
        return audio

    def write_wav(self, path: str | Path, progress: ProgressCallback | None = None) -> None:
        """Write a 16-bit stereo WAV file (block by block: any length in bounded memory)."""
        if self.renderer is not None:
            self.renderer.write_wav(path, progress)
        else:
            render_fluidsynth(self.song, self.soundfont, self.sample_rate, output=path)


def render(song: Score | MidiSong | str | Path, *, sample_rate: int = 44100,
           soundfont: str | Path | None = None, progress: ProgressCallback | None = None) -> Rendering:
    """Prepare audio of a score, a song or a MIDI file: the built-in synthesiser, or FluidSynth
    with ``soundfont`` (an .sf2) when its binary is installed. Nothing is synthesised until
    :meth:`Rendering.audio` or :meth:`Rendering.write_wav` asks.

    Raises:
        ArtkitError: an unreadable MIDI file, no notes, music too long to render, a bad
            sample rate or SoundFont.
    """
    if isinstance(song, Score):
        song = song.midi_song()
    elif not isinstance(song, MidiSong):
        song = read_midi(song)
    if soundfont is not None:
        if not any(t.notes for t in song.tracks):
            raise ArtkitError("the music has no notes to render")
        return Rendering(sample_rate=sample_rate, duration=song.duration_s + 1.0, song=song,
                         soundfont=check_soundfont(soundfont))
    r = Renderer(song, sample_rate)
    return Rendering(sample_rate=r.sr, duration=r.seconds, song=song, renderer=r)


__all__ = ["Composer", "Rendering", "compose", "evaluate", "read_wav", "render"]
