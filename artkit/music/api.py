"""``artkit.music``: train a jazz model, compose over chords, render audio, evaluate.

One public function per step: :func:`train`, :func:`compose` (→ :class:`Score`), :func:`render`
and :func:`evaluate`.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import torch

from artkit.core.errors import ArtkitError
from artkit.core.progress import ProgressCallback, report
from artkit.music.chords import Progression, load_progression, parse_chords
from artkit.music.corpus import Piece, load_pieces
from artkit.music.grammar import BAR, Note, realise
from artkit.music.midi import DRUM_CHANNEL, MidiNote, MidiSong, MidiTrack
from artkit.music.model import (SIZES, JazzConfig, JazzLSTM, JazzModel, checkpoint_path, fit,
                                load_checkpoint, sample_bars)

MAX_BARS = 512


# ---------------------------------------------------------------- models and presets

def model_presets() -> list[str]:
    from artkit.core.presets import presets_root

    folder = presets_root() / "music" / "models"
    if not folder.is_dir():
        return []
    return sorted(p.name[:-len(".safetensors")] for p in folder.iterdir()
                  if p.name.endswith(".safetensors"))


def model_file(name_or_path: str | Path) -> Path:
    """A model path, or the file of a shipped model preset (``jazz``)."""
    p = Path(name_or_path)
    if p.suffix == ".safetensors" or p.exists() or "/" in str(name_or_path):
        return p
    from artkit.core.presets import presets_root

    cand = Path(str(presets_root() / "music" / "models" / f"{name_or_path}.safetensors"))
    if not cand.is_file():
        raise ArtkitError(f"unknown model '{name_or_path}'",
                          f"shipped models: {', '.join(model_presets()) or 'none'}; or give a "
                          ".safetensors file from `artkit music train`")
    return cand


def model_kind(name_or_path: str | Path) -> str:
    """The kind of model (``jazz`` or ``biaxial``) its JSON config names."""
    import json

    path = model_file(name_or_path)
    cfg = path.with_suffix(".json")
    if not path.is_file():
        raise ArtkitError(f"model '{path}' does not exist",
                          "train one with `artkit music train`, or use a shipped model: "
                          + (", ".join(model_presets()) or "none"))
    if not cfg.is_file():
        raise ArtkitError(f"model '{path}' has no config '{cfg.name}' beside it")
    try:
        kind = json.loads(cfg.read_text(encoding="utf-8")).get("model")
    except (OSError, ValueError, AttributeError) as exc:
        raise ArtkitError(f"model config '{cfg}' cannot be read: {type(exc).__name__}") from None
    if kind not in ("jazz", "biaxial"):
        raise ArtkitError(f"'{cfg}' names an unknown model kind '{kind}'",
                          "artkit music models are jazz or biaxial")
    return kind


def load_model(name_or_path: str | Path = "jazz", device="cpu", kind: str | None = None):
    """Load a trained model by path or preset name: a :class:`JazzModel` or a
    :class:`~artkit.music.biaxial.BiaxialModel`, as its JSON config says. With ``kind``, a
    model of another kind is an error naming both."""
    found = model_kind(name_or_path)
    if kind is not None and found != kind:
        raise ArtkitError(f"'{name_or_path}' is a {found} model, not a {kind} model",
                          f"give a model trained with --model {kind}")
    if found == "biaxial":
        from artkit.music.biaxial import BiaxialModel

        return BiaxialModel.load(model_file(name_or_path), device)
    return JazzModel.load(model_file(name_or_path), device)


# ---------------------------------------------------------------- train

@dataclass
class TrainResult:
    model: JazzModel
    path: Path
    pieces: int
    tokens: int
    skipped: list[tuple[str, str]]
    history: list[dict]
    seconds: float


def build_vocab(streams: list[list[str]]) -> list[str]:
    """Tokens by descending frequency (ties alphabetical), the bar line always included."""
    counts = Counter(t for s in streams for t in s)
    counts[BAR] += 1
    return [t for t, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]


def train(sources: list[str], output: str | Path, *, model: str = "jazz", epochs: int = 20,
          size: str = "default", resume: bool = False, seed: int | None = 0,
          device: str | torch.device = "cpu", lr: float = 2e-3, batch_size: int = 64,
          force: bool = False, max_seconds: float | None = None,
          progress: ProgressCallback | None = None) -> TrainResult:
    """Train a jazz or biaxial model on ``sources`` (files, folders, ``corpus:NAME[:N]``) and
    save it.

    ``model="biaxial"`` learns every part as a piano roll (sizes ``default``, ``original``,
    ``tiny``; batch 8 windows of 4 bars unless ``batch_size`` says otherwise), and
    ``max_seconds`` ends its training after the epoch that passes that time.

    Writes ``output`` (.safetensors) and its JSON config, and a checkpoint
    (``*.ckpt.safetensors``) after every epoch; ``resume`` continues from that checkpoint up to
    ``epochs`` epochs in all.

    Raises:
        ArtkitError: unknown model kind or size, no usable piece, output exists without ``force``.
    """
    from artkit.core.runtime import make_generator
    from artkit.music.metrics import piece_features

    if model == "biaxial":
        from artkit.music.biaxial import train_biaxial

        bm, path, n, steps, skipped, history, seconds = train_biaxial(
            sources, output, epochs=epochs, size=size, resume=resume, seed=seed, device=device,
            lr=lr, batch_size=8 if batch_size == 64 else batch_size, force=force,
            max_seconds=max_seconds, progress=progress)
        return TrainResult(bm, path, n, steps, skipped, history, seconds)
    if model != "jazz":
        raise ArtkitError(f"unknown model kind '{model}'", "artkit trains --model jazz or biaxial")
    from artkit.music.checkpoint import training_output

    output = training_output(output, resume=resume, force=force, size=size, sizes=SIZES,
                             epochs=epochs)
    t0 = time.perf_counter()
    pieces, skipped = load_pieces(list(sources), progress)
    if not pieces:
        reasons = "; ".join(f"{Path(n).name}: {r}" for n, r in skipped[:3])
        raise ArtkitError(f"no usable piece among the sources ({reasons or 'nothing found'})")
    streams = [p.tokens() for p in pieces]
    gen = make_generator(seed)
    ckpt = checkpoint_path(output)
    dev = torch.device(device)
    if resume:
        jm, opt, start, history = load_checkpoint(ckpt, lr, dev)
    else:
        vocab = build_vocab(streams)
        with torch.random.fork_rng(devices=[]):   # seeded initial weights, global RNG untouched
            torch.manual_seed(gen.initial_seed())
            net = JazzLSTM(JazzConfig(len(vocab), **SIZES[size])).to(dev)
        jm, opt, start, history = JazzModel(net, vocab), None, 0, []
    index = jm.index
    per_piece = [[index[t] for t in s if t in index] for s in streams]
    ids = [i for p in per_piece for i in p]
    history = fit(jm, per_piece, epochs=epochs, start_epoch=start, opt=opt, lr=lr,
                  batch_size=batch_size, generator=gen, device=dev, history=history,
                  checkpoint=ckpt, progress=progress)
    seconds = time.perf_counter() - t0
    jm.info = {
        "training": {
            "sources": [str(s) for s in sources], "pieces": len(pieces), "tokens": len(ids),
            "skipped": len(skipped), "epochs": len(history), "size": size, "seed": seed,
            "history": history, "seconds": round(seconds, 1), "kept_epoch": jm.best_epoch,
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "harmony": dict(Counter(p.harmony for p in pieces)),
        },
        "features": [piece_features(p) for p in pieces],
    }
    jm.net.cpu()
    jm.save(output, force=True)
    return TrainResult(jm, output, len(pieces), len(ids), skipped, history, seconds)


# ---------------------------------------------------------------- compose

@dataclass
class Score:
    """A composition: the melody over its chords, the band, and how it was made.

    ``stream`` is the music21 score (melody with chord symbols, piano, bass); ``midi_song()``
    the performance (swing applied).
    """

    melody: list[Note]
    progression: Progression
    n_bars: int
    tempo: float
    swing: float
    tokens: list[str]
    band: dict[str, list[MidiNote]]
    velocity: int = 92
    tempo_map: list[tuple[float, float]] = field(default_factory=list)
    info: dict = field(default_factory=dict)
    _stream: object = field(default=None, repr=False)

    @property
    def bar_length(self) -> Fraction:
        return self.progression.bar_length

    @property
    def seconds(self) -> float:
        return self.midi_song().duration_s

    def chord_timeline(self):
        return self.progression.timeline(self.n_bars)

    def piece(self) -> Piece:
        """The melody as a :class:`Piece` (for :mod:`artkit.music.metrics`)."""
        bars = [(i * self.bar_length, self.bar_length) for i in range(self.n_bars)]
        return Piece("composition", [n for n in self.melody if n.pitch is not None],
                     self.chord_timeline(), bars, "chord symbols")

    def midi_song(self) -> MidiSong:
        from artkit.music.arrange import swing_time

        def perf(notes: list[MidiNote]) -> list[MidiNote]:
            out = []
            for n in notes:
                s, e = swing_time(n.start, self.swing), swing_time(n.start + n.dur, self.swing)
                out.append(MidiNote(s, max(e - s, 0.05), n.pitch, n.velocity))
            return out

        mel = [MidiNote(float(n.start), float(n.dur) * 0.97, n.pitch,
                        self._melody_velocity(float(n.start)))
               for n in self.melody if n.pitch is not None]
        tracks = [MidiTrack("melody", 0, 65 if self.info.get("lead") == "sax" else 0, perf(mel)),
                  MidiTrack("piano", 1, 0, perf(self.band.get("piano", []))),
                  MidiTrack("bass", 2, 32, perf(self.band.get("bass", []))),
                  MidiTrack("drums", DRUM_CHANNEL, 0, perf(self.band.get("drums", [])))]
        tracks = [t for t in tracks if t.notes]
        markers = [(float(s), c.symbol) for s, _, c in self.chord_timeline()]
        tempos = self.tempo_map or [(0.0, float(self.tempo))]
        return MidiSong(tracks, tempos, [(0.0, self.progression.beats_per_bar, 4)], markers)

    def _melody_velocity(self, start: float) -> int:
        """Accent on the beat; with patches, each phrase's dynamics (a diminuendo through the
        last bar before a soft transition)."""
        vel = self.velocity + (6 if start % 1 == 0 else -4)
        for p0, p1, pv in self.info.get("dynamics", []):
            if p0 <= start < p1:
                vel = vel * pv / self.velocity
                if self.info.get("transition") == "soft" and start >= p1 - float(self.bar_length) \
                        and p1 < self.n_bars * float(self.bar_length):
                    vel *= 0.8
        return max(1, min(127, int(vel)))

    @property
    def stream(self):
        """The music21 score (built once, on first use)."""
        if self._stream is None:
            self._stream = _to_music21(self)
        return self._stream


def _to_music21(score: Score):
    from music21 import harmony, instrument, meter, note, stream, tempo

    s = stream.Score()
    mel = stream.Part()
    mel.partName = "melody"
    mel.insert(0, instrument.Piano())
    mel.insert(0, meter.TimeSignature(f"{score.progression.beats_per_bar}/4"))
    mel.insert(0, tempo.MetronomeMark(number=round(score.tempo)))
    for n in score.melody:
        el = note.Rest() if n.pitch is None else note.Note(n.pitch)
        el.quarterLength = n.dur
        mel.insert(n.start, el)
    for start, _, c in score.chord_timeline():
        try:
            from artkit.music.chords import _music21_figure

            mel.insert(start, harmony.ChordSymbol(_music21_figure(c.symbol)))
        except Exception:  # a symbol music21 parsed once parses again; be safe anyway
            pass
    bass = stream.Part()
    bass.partName = "bass"
    bass.insert(0, instrument.AcousticBass())
    for n in score.band.get("bass", []):
        el = note.Note(n.pitch)
        el.quarterLength = Fraction(n.dur).limit_denominator(12)
        bass.insert(Fraction(n.start).limit_denominator(12), el)
    s.insert(0, mel)
    if bass.notes:
        s.insert(0, bass)
    s.makeNotation(inPlace=True)
    return s


@dataclass
class Mood:
    """Schema of ``presets/music/moods/*.toml``: how a mood shapes a piece."""

    description: str
    tempo: float = 130.0
    temperature: float = 0.5
    swing: float = 0.6
    velocity: int = 92
    register: list[int] = field(default_factory=lambda: [60, 84])
    density: float = 1.0


def load_mood(name: str) -> dict:
    from artkit.core.presets import load_preset

    return load_preset(name, "music/moods", Mood)


def _progression(chords: str | Progression | None, progression: str | None,
                 key: str | None, beats_per_bar: int) -> Progression:
    if isinstance(chords, Progression):
        return chords
    if chords and progression:
        raise ArtkitError("give either chords or a progression name, not both")
    if chords:
        prog = parse_chords(chords, beats_per_bar)
        if key:
            raise ArtkitError("--key transposes a named progression; write the chords in the key you want")
        return prog
    return load_progression(progression or "jazz-blues", key)


def compose(model: JazzModel | str | Path = "jazz", *, chords: str | Progression | None = None,
            progression: str | None = None, key: str | None = None, bars: int = 32,
            tempo: float | None = None, temperature: float | None = None,
            swing: float | None = None, beats_per_bar: int = 4, mood: str | None = None,
            primer: str | Path | None = None, generator: torch.Generator | None = None,
            patches: int = 1, transition: str = "soft",
            progress: ProgressCallback | None = None) -> Score:
    """Compose a melody with the jazz model over chords, and a band to play it with.

    A biaxial model (``biaxial``, or a file trained with ``model="biaxial"``) composes free
    polyphony instead and returns a :class:`~artkit.music.biaxial.BiaxialScore`; only
    ``bars``, ``tempo`` (default 100), ``temperature`` (default 1.0), ``generator`` and
    ``progress`` apply to it.

    Args:
        model: a :class:`JazzModel`, a model file or a preset name (``jazz``, ``biaxial``).
        chords: ``"Dm7 G7 | Cmaj7"`` (bars split by ``|``; one chord a bar without ``|``).
        progression: a shipped progression (``blues``, ``jazz-blues``, ``ii-v-i``, ...).
        key: transpose the named progression to this key.
        bars: how many bars (the progression repeats).
        tempo, temperature, swing: quarter notes a minute; sampling temperature (deepjazz's
            "diversity", 0.5); off-beat eighth position (0.5 straight … 0.75), defaults from
            ``mood`` or 130 / 0.5 / 0.6.
        mood: a mood preset (``relaxed``, ``dramatic``, ...) setting tempo, temperature,
            swing, dynamics, register and density.
        primer: a music file whose melody primes the model (the new bars continue it).
        patches: build the piece from this many separately generated phrases.
        transition: ``soft`` (voice-led, ritardando and diminuendo into the next phrase) or
            ``hard`` (register jump, sudden dynamics, no slowing).

    Raises:
        ArtkitError: bad chords, absurd tempo / bars / temperature / swing.
    """
    if not isinstance(model, JazzModel):
        from artkit.music.biaxial import BiaxialModel

        model = model if isinstance(model, BiaxialModel) else load_model(model)
        if isinstance(model, BiaxialModel):   # free polyphony: chords, swing, mood do not apply
            return _compose_biaxial(model, bars, tempo, temperature, generator, progress)
    m = load_mood(mood) if mood else {}
    tempo = float(tempo if tempo is not None else m.get("tempo", 130.0))
    temperature = float(temperature if temperature is not None else m.get("temperature", 0.5))
    swing = float(swing if swing is not None else m.get("swing", 0.6))
    register = tuple(m.get("register", (60, 84)))
    velocity = int(m.get("velocity", 92))
    density = float(m.get("density", 1.0))
    if not 1 <= bars <= MAX_BARS:
        raise ArtkitError(f"{bars} bars is out of range", f"use 1 to {MAX_BARS}")
    if not 20 <= tempo <= 400:
        raise ArtkitError(f"tempo {tempo:g} is out of range", "use 20 to 400 quarter notes a minute")
    if not 0.05 <= temperature <= 5:
        raise ArtkitError(f"temperature {temperature:g} is out of range", "use 0.05 to 5 (0.5 is deepjazz's)")
    if not 0.5 <= swing <= 0.8:
        raise ArtkitError(f"swing {swing:g} is out of range", "use 0.5 (straight) to 0.8; 0.67 is triplet swing")
    if patches < 1 or patches > bars:
        raise ArtkitError(f"{patches} patches for {bars} bars", "use 1 up to the number of bars")
    if transition not in ("soft", "hard"):
        raise ArtkitError(f"unknown transition '{transition}'", "use soft or hard")
    jm = model if isinstance(model, JazzModel) else load_model(model)
    prog = _progression(chords, progression, key, beats_per_bar)
    t0 = time.perf_counter()

    primer_tokens, start_pitch = None, None
    if primer is not None:
        from artkit.music.corpus import load_piece

        pp = load_piece(primer)
        primer_tokens = pp.tokens()
        start_pitch = next(n.pitch for n in reversed(pp.melody) if n.pitch is not None)

    timeline = prog.timeline(bars)
    starts = [s for s, _, _ in timeline]

    def chord_at(t: Fraction):
        import bisect

        i = max(0, bisect.bisect_right(starts, t) - 1)
        return timeline[i][2]

    if start_pitch is None:
        first = timeline[0][2]
        mid = (register[0] + register[1]) // 2
        start_pitch = min((p for p in range(register[0], register[1] + 1) if p % 12 in first.pcs),
                          key=lambda p: abs(p - mid))

    key_scale = progression_key(timeline)
    # phrase boundaries (one phrase unless patches > 1)
    bounds = [round(i * bars / patches) for i in range(patches + 1)]
    melody: list[Note] = []
    tokens: list[str] = []
    tempo_map: list[tuple[float, float]] = [(0.0, tempo)]
    dynamics: list[tuple[float, float, int]] = []
    prev_pitch = start_pitch
    for k in range(patches):
        b0, b1 = bounds[k], bounds[k + 1]
        report(progress, "compose", k, patches, f"bars {b0 + 1}-{b1}")
        toks = sample_bars(jm, [prog.bar_length] * (b1 - b0), temperature=temperature,
                           generator=generator, primer=primer_tokens if k == 0 else None)
        offset = b0 * prog.bar_length
        sp = prev_pitch
        if k > 0 and transition == "hard":
            jump = 7 if prev_pitch < (register[0] + register[1]) / 2 else -7
            sp = max(register[0], min(register[1], prev_pitch + jump))
        notes = realise(toks, lambda t, o=offset: chord_at(t + o), prog.bar_length, sp,
                        register=register, generator=generator, key_scale=key_scale)
        notes = [Note(n.start + offset, n.dur, n.pitch) for n in notes]
        melody += notes
        tokens += toks
        pitched = [n.pitch for n in notes if n.pitch is not None]
        if pitched:
            prev_pitch = pitched[-1]
        vel = velocity if transition == "soft" or k % 2 == 0 else max(40, velocity - 25)
        dynamics.append((float(offset), float(b1 * prog.bar_length), vel))
        if patches > 1 and k < patches - 1:
            end_q = float(b1 * prog.bar_length)
            if transition == "soft":   # ritardando over the phrase's last bar, a tempo after
                last = end_q - float(prog.bar_length)
                for j, f in enumerate((0.95, 0.88, 0.8)):
                    tempo_map.append((last + j * float(prog.bar_length) / 3, tempo * f))
            tempo_map.append((end_q, tempo))
    report(progress, "compose", patches, patches)

    gen_band = generator
    from artkit.music.arrange import band as make_band

    b = make_band(prog, bars, gen_band, comp_velocity=int(velocity * 0.68),
                  bass_velocity=int(velocity * 0.87), drum_velocity=int(velocity * 0.76),
                  density=density)
    if patches > 1:
        _shape_dynamics(melody, b, dynamics, transition, prog.bar_length)
    score = Score(melody, prog, bars, tempo, swing, tokens, b, velocity, tempo_map,
                  info={"model": jm.info.get("training", {}).get("sources"),
                        "temperature": temperature, "mood": mood, "patches": patches,
                        "transition": transition, "progression": prog.name,
                        "seconds": round(time.perf_counter() - t0, 3)})
    if patches > 1:
        score.info["dynamics"] = dynamics
    return score


def _compose_biaxial(model, bars: int, tempo: float | None, temperature: float | None,
                     generator: torch.Generator | None, progress: ProgressCallback | None):
    """Free polyphony from a biaxial model (default 100 bpm, temperature 1.0)."""
    from artkit.music.biaxial import compose_biaxial

    tempo = float(tempo if tempo is not None else 100.0)
    temperature = float(temperature if temperature is not None else 1.0)
    if not 1 <= bars <= MAX_BARS:
        raise ArtkitError(f"{bars} bars is out of range", f"use 1 to {MAX_BARS}")
    if not 20 <= tempo <= 400:
        raise ArtkitError(f"tempo {tempo:g} is out of range", "use 20 to 400 quarter notes a minute")
    if not 0.05 <= temperature <= 5:
        raise ArtkitError(f"temperature {temperature:g} is out of range",
                          "use 0.05 to 5 (1.0 samples the model's own probabilities)")
    return compose_biaxial(model, bars=bars, tempo=tempo, temperature=temperature,
                           generator=generator, progress=progress)


def progression_key(timeline) -> frozenset:
    """The major scale that holds most of the progression's chord tones (time-weighted)."""
    from artkit.music.chords import MAJOR

    weight = [0.0] * 12
    for _, length, chord in timeline:
        for pc in chord.pcs:
            weight[pc] += float(length)
    best = max(range(12), key=lambda k: (sum(weight[(k + s) % 12] for s in MAJOR), -k))
    return frozenset((best + s) % 12 for s in MAJOR)


def _shape_dynamics(melody, band, dynamics, transition, bar_length) -> None:
    """Scale the band's velocities phrase by phrase (a diminuendo into soft transitions)."""
    for start, end, vel in dynamics:
        scale = vel / 92
        for part in band.values():
            for n in part:
                if start <= n.start < end:
                    fade = 1.0
                    if transition == "soft" and n.start >= end - float(bar_length):
                        fade = 0.8
                    n.velocity = max(20, min(127, int(n.velocity * scale * fade)))


# ---------------------------------------------------------------- render and evaluate

def render(song: MidiSong | Score | str | Path, *, sample_rate: int = 44100,
           soundfont: str | Path | None = None, progress: ProgressCallback | None = None):
    """Render to audio: ``(samples (2, N) float32 tensor, sample_rate)``.

    The built-in synthesiser always works; with ``soundfont`` (an .sf2) FluidSynth renders
    when its binary is installed.
    """
    from artkit.music.synth import render_fluidsynth, synthesize

    if isinstance(song, Score):
        song = song.midi_song()
    elif not isinstance(song, MidiSong):
        from artkit.music.midi import read_midi

        song = read_midi(song)
    if not any(t.notes for t in song.tracks):
        raise ArtkitError("the MIDI file has no notes to render")
    if soundfont is not None:
        return render_fluidsynth(song, soundfont, sample_rate)
    return synthesize(song, sample_rate, progress=progress)


def evaluate(files: list[str | Path], against: list[str] | str | None = None, seed: int = 0,
             progress: ProgressCallback | None = None):
    """Quality figures of the melodies in ``files`` with random baselines; ``against`` is a
    model (its training set's figures) or music sources to measure the overlap with.

    Returns:
        :class:`artkit.music.metrics.Evaluation`.
    """
    from artkit.music.metrics import evaluate_pieces, piece_features

    pieces, skipped = load_pieces([str(f) for f in files], progress)
    if not pieces:
        reasons = "; ".join(f"{n}: {r}" for n, r in skipped[:3])
        raise ArtkitError(f"no piece to evaluate ({reasons or 'nothing found'})")
    reference = None
    if against:
        srcs = [against] if isinstance(against, (str, Path)) else list(against)
        if len(srcs) == 1 and (str(srcs[0]).endswith(".safetensors") or str(srcs[0]) in model_presets()):
            reference = load_model(srcs[0]).info.get("features")
            if not reference:
                raise ArtkitError(f"model '{srcs[0]}' has no training-set figures to compare with")
        else:
            ref_pieces, _ = load_pieces([str(s) for s in srcs], progress)
            if not ref_pieces:
                raise ArtkitError("no usable piece in --against")
            reference = [piece_features(p) for p in ref_pieces]
    return evaluate_pieces(pieces, reference, seed, skipped)
