"""``artkit music``: train a jazz model, compose over chords, render audio, evaluate."""

from __future__ import annotations

import enum
import json
import time
from pathlib import Path
from typing import Annotated, List, Optional

import typer

from artkit.core.console import (DeviceOpt, ForceOpt, ProgressBars, QuietOpt, SeedOpt, command,
                                 info)
from artkit.core.errors import ArtkitError
from artkit.core.files import check_output

app = typer.Typer(pretty_exceptions_enable=False, no_args_is_help=True,
                  help="LSTM jazz over chord progressions (deepjazz done right): train, compose, "
                       "render, evaluate.")


class ModelKind(str, enum.Enum):
    jazz = "jazz"
    biaxial = "biaxial"


class Size(str, enum.Enum):
    default = "default"
    original = "original"
    tiny = "tiny"


class Transition(str, enum.Enum):
    soft = "soft"
    hard = "hard"


@command(app, "train")
def train_cmd(
    sources: Annotated[List[str], typer.Argument(help="MIDI / MusicXML / ABC / Humdrum files, folders, or music21 corpus selectors: corpus:bach, corpus:chorales:100 (first 100), corpus:joplin, corpus:leadsheet, corpus:nottingham, corpus:bach/bwv66.6 ...")],
    output: Annotated[Path, typer.Option("--output", "-o", help="The model file (.safetensors); its JSON config is written beside it, and MODEL.ckpt.safetensors after every epoch.")],
    model: Annotated[ModelKind, typer.Option("--model", help="Model kind: jazz (deepjazz's grammar LSTM: a melody over chords) or biaxial (Johnson's Biaxial RNN: free polyphony from every part, as a piano roll).")] = ModelKind.jazz,
    epochs: Annotated[int, typer.Option(help="Epochs in all (with --resume: up to this many).")] = 20,
    size: Annotated[Size, typer.Option(help="Network size. jazz: default (LSTM 2×128, dropout 0.2) or tiny (tests). biaxial: default (time LSTM 2×64, note LSTM 2×32), original (2×300, 100+50, dropout 0.5) or tiny.")] = Size.default,
    max_minutes: Annotated[Optional[float], typer.Option("--max-minutes", help="biaxial: stop after the epoch that passes this many minutes.")] = None,
    resume: Annotated[bool, typer.Option("--resume", help="Continue from MODEL.ckpt.safetensors.")] = False,
    seed: SeedOpt = 0,
    device: DeviceOpt = "auto",
    quiet: QuietOpt = False,
    force: ForceOpt = False,
) -> None:
    """Train a jazz model on melodies over chords found in SOURCES (or, with --model biaxial,
    a polyphonic piano-roll model on all their parts, 4/4 pieces only).

    Melody (a part named melody/soprano/lead, else the highest part) and chords (chord symbols,
    else the chordified accompaniment) are found automatically; pieces that cannot be used are
    listed with the reason.

    \b
    Example:
      artkit music train corpus:chorales:100 corpus:leadsheet -o mine.safetensors --epochs 20
      artkit music compose --model mine.safetensors --progression blues -o blues.mid
      artkit music train corpus:chorales:100 --model biaxial -o poly.safetensors --max-minutes 10
    """
    from artkit.core.runtime import resolve_device
    from artkit.music.api import train

    dev = resolve_device(device)
    with ProgressBars(quiet) as bars:
        res = train(sources, output, model=model.value, epochs=epochs, size=size.value,
                    resume=resume, seed=seed, device=dev, force=force,
                    max_seconds=None if max_minutes is None else max_minutes * 60, progress=bars)
    for name, why in res.skipped:
        info(f"skipped {name}: {why}", quiet)
    last = res.history[-1] if res.history else {}
    what = (f"{res.tokens} tokens, vocabulary {len(res.model.vocab)}" if model == ModelKind.jazz
            else f"{res.tokens} 16th-note steps")
    info(f"trained on {res.pieces} pieces ({what}) for {len(res.history)} epochs in "
         f"{res.seconds:.1f} s; loss {last.get('loss')}, validation loss {last.get('val_loss')}",
         quiet)
    info(f"wrote {res.path} and {res.path.with_suffix('.json')}", quiet)


@command(app, "compose")
def compose_cmd(
    output: Annotated[Path, typer.Option("--output", "-o", help="The MIDI file to write (.mid).")],
    model: Annotated[str, typer.Option("--model", "-m", help="A model file from `artkit music train`, or a shipped model name.")] = "jazz",
    chords: Annotated[Optional[str], typer.Option("--chords", help="Chords, e.g. \"Dm7 G7 | Cmaj7 | Cmaj7\" (bars split by |; one chord a bar without |).")] = None,
    progression: Annotated[Optional[str], typer.Option("--progression", "-p", help="A shipped progression (see `artkit music progressions`) or a .toml file. Default jazz-blues.")] = None,
    key: Annotated[Optional[str], typer.Option("--key", help="Transpose the progression to this key (C, Bb, F#...).")] = None,
    bars: Annotated[int, typer.Option(help="Length in bars (the progression repeats).")] = 32,
    tempo: Annotated[Optional[float], typer.Option(help="Quarter notes a minute (default 130, or the mood's).")] = None,
    temperature: Annotated[Optional[float], typer.Option(help="Sampling temperature, deepjazz's 'diversity' (default 0.5): lower is safer.")] = None,
    swing: Annotated[Optional[float], typer.Option(help="Where off-beat eighths fall: 0.5 straight, 0.67 triplet swing (default 0.6).")] = None,
    beats: Annotated[int, typer.Option("--beats", help="Beats per bar for --chords (4 = 4/4, 3 = 3/4).")] = 4,
    mood: Annotated[Optional[str], typer.Option(help="relaxed, dramatic, swinging, or a .toml: tempo, dynamics, register, density.")] = None,
    patches: Annotated[int, typer.Option(help="Build the piece from K separately generated phrases.")] = 1,
    transition: Annotated[Transition, typer.Option(help="Between phrases: soft (voice-led, ritardando) or hard (register jump, sudden dynamics).")] = Transition.soft,
    primer: Annotated[Optional[Path], typer.Option(help="A music file whose melody the new music continues.", exists=True, dir_okay=False)] = None,
    musicxml: Annotated[bool, typer.Option("--musicxml", help="Also write OUT.musicxml (melody with chord symbols, bass).")] = False,
    wav: Annotated[bool, typer.Option("--wav", help="Also render OUT.wav with the built-in synthesiser.")] = False,
    pianoroll: Annotated[bool, typer.Option("--pianoroll", help="Also write OUT.png, a piano roll.")] = False,
    seed: SeedOpt = None,
    device: DeviceOpt = "cpu",
    quiet: QuietOpt = False,
    force: ForceOpt = False,
) -> None:
    """Compose jazz over a chord progression with a trained model (never retrains).

    A biaxial model (`--model biaxial`, or one trained with --model biaxial) composes free
    polyphony in 4/4 instead: --bars, --tempo (default 100), --temperature (default 1.0),
    --seed and the outputs apply; chords, moods, swing and phrases do not.

    \b
    Examples:
      artkit music compose --progression jazz-blues -o song.mid --wav --pianoroll
      artkit music compose --chords "Dm7 G7 | Cmaj7 | Cmaj7" --bars 16 --seed 3 -o iivi.mid
      artkit music compose -p ii-v-i --key Eb --mood relaxed --patches 4 -o ballad.mid
      artkit music compose --model biaxial --bars 16 --seed 1 -o chorale.mid --pianoroll
    """
    from artkit.core.manifest import build_manifest, write_manifest
    from artkit.core.runtime import make_generator, resolve_device
    from artkit.music.api import compose, load_model, model_file
    from artkit.music.metrics import piece_features
    from artkit.music.output import save_midi, save_musicxml, save_pianoroll

    extra = {"musicxml": output.with_suffix(".musicxml"), "wav": output.with_suffix(".wav"),
             "pianoroll": output.with_suffix(".png")}
    wanted = {"musicxml": musicxml, "wav": wav, "pianoroll": pianoroll}
    if output.suffix.lower() not in (".mid", ".midi"):
        raise ArtkitError(f"output '{output}' should end in .mid")
    check_output(output, force)
    for k, p in extra.items():
        if wanted[k]:
            check_output(p, force)
    t0 = time.perf_counter()
    dev = resolve_device(device)
    jm = load_model(model, dev)
    gen = make_generator(seed)
    from artkit.music.biaxial import BiaxialModel

    if isinstance(jm, BiaxialModel):
        ignored = [name for name, val in (("--chords", chords), ("--progression", progression),
                                           ("--key", key), ("--swing", swing), ("--mood", mood),
                                           ("--primer", primer), ("--musicxml", musicxml))
                   if val] + (["--patches"] if patches != 1 else [])
        if ignored:
            info(f"the biaxial model composes free polyphony: {', '.join(ignored)} ignored", quiet)
        _compose_biaxial_cmd(jm, output, extra, bars, tempo, temperature, gen, dev, model, wav,
                             pianoroll, quiet, force, t0)
        return
    with ProgressBars(quiet) as bars_cb:
        score = compose(jm, chords=chords, progression=progression, key=key, bars=bars,
                        tempo=tempo, temperature=temperature, swing=swing, beats_per_bar=beats,
                        mood=mood, primer=primer, generator=gen, patches=patches,
                        transition=transition.value, progress=bars_cb)
    song = score.midi_song()
    written = [save_midi(song, output, force)]
    if pianoroll:
        written.append(save_pianoroll(song, extra["pianoroll"], force, bars=bars,
                                      title=f"{score.progression.name}, {bars} bars, "
                                            f"{score.tempo:g} bpm, seed {gen.initial_seed()}"))
    if musicxml:
        written.append(save_musicxml(score, extra["musicxml"], force))
    if wav:
        from artkit.music.synth import synthesize, write_wav

        with ProgressBars(quiet) as bars_cb:
            audio, sr = synthesize(song, progress=bars_cb)
        written.append(write_wav(extra["wav"], audio, sr, force))
    feats = piece_features(score.piece())
    write_manifest(output, build_manifest(
        "artkit music compose",
        dict(model=str(model_file(model)), chords=chords, progression=score.progression.name,
             bars=bars, tempo=score.tempo, temperature=score.info["temperature"],
             swing=score.swing, mood=mood, patches=patches, transition=transition,
             primer=primer), seed=gen.initial_seed(), device=str(dev),
        wall_time=time.perf_counter() - t0, extra={"features": feats}), force=True)
    info(f"composed {bars} bars over {score.progression.name} ({score.seconds:.1f} s at "
         f"{score.tempo:g} bpm, seed {gen.initial_seed()}): scale consistency "
         f"{feats['scale_consistency']:.2f}, chord tones on strong beats "
         f"{feats['chord_tone_ratio']:.2f}", quiet)
    info("wrote " + ", ".join(str(p) for p in written), quiet)


def _compose_biaxial_cmd(bm, output, extra, bars, tempo, temperature, gen, dev, model, wav,
                         pianoroll, quiet, force, t0) -> None:
    from artkit.core.manifest import build_manifest, write_manifest
    from artkit.music.api import compose, model_file
    from artkit.music.metrics import piece_features
    from artkit.music.output import save_midi, save_pianoroll

    with ProgressBars(quiet) as bars_cb:
        score = compose(bm, bars=bars, tempo=tempo, temperature=temperature, generator=gen,
                        progress=bars_cb)
    song = score.midi_song()
    n_notes = len(song.tracks[0].notes)
    if n_notes == 0:
        info("the model played no note (try a higher --temperature or another --seed)", quiet)
    written = [save_midi(song, output, force)]
    if pianoroll:
        written.append(save_pianoroll(song, extra["pianoroll"], force, bars=bars,
                                      title=f"biaxial, {bars} bars, {score.tempo:g} bpm, "
                                            f"temperature {score.info['temperature']:g}, "
                                            f"seed {gen.initial_seed()}"))
    if wav and n_notes:
        from artkit.music.synth import synthesize, write_wav

        with ProgressBars(quiet) as bars_cb:
            audio, sr = synthesize(song, progress=bars_cb)
        written.append(write_wav(extra["wav"], audio, sr, force))
    piece = score.piece()
    feats = piece_features(piece) if piece is not None else {}
    write_manifest(output, build_manifest(
        "artkit music compose",
        dict(model=str(model_file(model)), kind="biaxial", bars=bars, tempo=score.tempo,
             temperature=score.info["temperature"]), seed=gen.initial_seed(), device=str(dev),
        wall_time=time.perf_counter() - t0, extra={"features": feats, "notes": n_notes}),
        force=True)
    figures = (f": scale consistency {feats['scale_consistency']:.2f}, pitch-class entropy "
               f"{feats['pitch_entropy']:.2f} bits" if feats else "")
    info(f"composed {bars} bars of polyphony, {n_notes} notes ({score.seconds:.1f} s at "
         f"{score.tempo:g} bpm, seed {gen.initial_seed()}){figures}", quiet)
    info("wrote " + ", ".join(str(p) for p in written), quiet)


@command(app, "render")
def render_cmd(
    midi: Annotated[Path, typer.Argument(help="A MIDI file.", exists=True, dir_okay=False)],
    output: Annotated[Path, typer.Option("--output", "-o", help="The WAV file to write.")],
    soundfont: Annotated[Optional[Path], typer.Option("--soundfont", help="A General-MIDI .sf2 (needs the fluidsynth binary); without it the built-in synthesiser plays.")] = None,
    sample_rate: Annotated[int, typer.Option("--sample-rate", help="Samples a second.")] = 44100,
    quiet: QuietOpt = False,
    force: ForceOpt = False,
) -> None:
    """Render a MIDI file to a WAV file (16-bit stereo).

    The built-in synthesiser has piano, bass and drum voices (General-MIDI drum notes on
    channel 10, programs 33–40 as bass, everything else as piano) with reverb.

    \b
    Example:
      artkit music render song.mid -o song.wav
    """
    from artkit.music.api import render
    from artkit.music.midi import read_midi
    from artkit.music.synth import write_wav

    if output.suffix.lower() != ".wav":
        raise ArtkitError(f"output '{output}' should end in .wav")
    check_output(output, force)
    song = read_midi(midi)
    t0 = time.perf_counter()
    with ProgressBars(quiet) as bars:
        audio, sr = render(song, sample_rate=sample_rate, soundfont=soundfont, progress=bars)
    write_wav(output, audio, sr, force)
    info(f"rendered {audio.shape[1] / sr:.1f} s of audio in {time.perf_counter() - t0:.1f} s; "
         f"wrote {output}", quiet)


@command(app, "evaluate")
def evaluate_cmd(
    files: Annotated[List[str], typer.Argument(help="Music files, folders or corpus selectors to measure.")],
    against: Annotated[Optional[List[str]], typer.Option("--against", help="A model (its training set's figures) or music sources to compare the distribution with.")] = None,
    json_out: Annotated[Optional[Path], typer.Option("--json", help="Also write the figures as JSON.")] = None,
    seed: SeedOpt = 0,
    quiet: QuietOpt = False,
    force: ForceOpt = False,
) -> None:
    """Measure melodies: scale consistency, pitch-class entropy, interval repetition, groove,
    chord tones on strong beats — against uniform-random and random-walk baselines, and the
    overlap with a training set.

    \b
    Example:
      artkit music evaluate song.mid --against jazz
      artkit music evaluate corpus:chorales:40 --json bach.json
    """
    from rich.console import Console
    from rich.table import Table

    from artkit.core.files import atomic_write_text
    from artkit.music.api import evaluate
    from artkit.music.metrics import FEATURES, LABELS

    if json_out is not None:
        check_output(json_out, force)
    ag = against[0] if against and len(against) == 1 else against
    with ProgressBars(quiet) as bars:
        ev = evaluate(files, ag, seed or 0, progress=bars)
    for name, why in ev.skipped:
        info(f"skipped {name}: {why}", quiet)
    table = Table(title=f"{len(ev.rows)} piece(s)")
    table.add_column("figure")
    table.add_column("music", justify="right")
    table.add_column("uniform random", justify="right")
    table.add_column("random walk", justify="right")
    if ev.overlap:
        table.add_column("overlap with reference", justify="right")
    for f in FEATURES:
        row = [LABELS[f], f"{ev.mean[f]:.3f} ± {ev.std[f]:.3f}", f"{ev.uniform[f]:.3f}",
               f"{ev.walk[f]:.3f}"]
        if ev.overlap:
            row.append(f"{ev.overlap[f]:.3f}")
        table.add_row(*row)
    if ev.overlap:
        table.caption = f"mean overlap with the reference distribution: {ev.overlap['mean']:.3f}"
    console = Console()
    if not console.is_terminal:
        console = Console(width=120)
    console.print(table)
    if json_out is not None:
        atomic_write_text(json_out, json.dumps(ev.to_dict(), indent=1) + "\n", force)
        info(f"wrote {json_out}", quiet)


@command(app, "progressions")
def progressions_cmd() -> None:
    """List the shipped chord progressions, moods and models."""
    from artkit.core.presets import list_presets, read_toml
    from artkit.music.api import model_presets
    from artkit.music.chords import load_progression

    for name in list_presets("music/progressions"):
        table, _ = read_toml(name, "music/progressions")
        prog = load_progression(name)
        typer.echo(f"{name:16s} {len(prog.bars):3d} bars  {table.get('description', '')}")
    typer.echo("moods: " + ", ".join(list_presets("music/moods")))
    typer.echo("models: " + ", ".join(model_presets()))
