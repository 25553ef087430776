"""``artkit music``: compose jazz over chords and lead sheets (the main action), train, render,
evaluate, progressions, upgrade. A thin layer over :mod:`artkit.music.api`."""

from __future__ import annotations

import enum
from pathlib import Path
from typing import Annotated, List, Optional

import typer

from artkit.core.cli import (DeviceOpt, ForceOpt, JsonOpt, ModelOpt, OptionalOutputOpt, OutputOpt,
                             QuietOpt, Run, SeedOpt, VerboseOpt, capability_app, command, info,
                             print_table)
from artkit.core.errors import ArtkitError

app = capability_app(
    "Jazz over any chord progression or lead sheet (deepjazz's grammar LSTM, with a band), or "
    "free polyphony (the Biaxial RNN): compose, train, render, evaluate.", default="compose")

MIDI_OUT = {".mid", ".midi"}


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


@command(app, "compose")
def compose_cmd(
    output: OutputOpt,
    model: ModelOpt = None,
    chords: Annotated[Optional[str], typer.Option("--chords", help="Chords: \"Dm7 G7 | Cmaj7 | %\" (bars split by |; one chord a bar without |; '/' holds the chord a share longer, '%' repeats a bar, N.C. rests the band). Any lead-sheet spelling: CΔ7 C-7 Cø C7alt C7(b9,#11) Cmaj9 C6/9 C9sus4 Cm(maj7) C/E.")] = None,
    chords_from: Annotated[Optional[str], typer.Option("--chords-from", help="A lead sheet to play: MusicXML (.musicxml, .mxl), ABC (.abc) or iReal Pro (an irealb:// link or a file holding one), or a shipped chart (blues, aaba, waltz, five). Its form, repeats, endings, sections and meters are kept; FILE#N picks a tune of a playlist.")] = None,
    progression: Annotated[Optional[str], typer.Option("--progression", "-p", help="A shipped progression (see `artkit music progressions`) or a .toml file. Default jazz-blues.")] = None,
    key: Annotated[Optional[str], typer.Option("--key", help="Transpose the progression to this key (C, Bb, F#...).")] = None,
    meter: Annotated[Optional[str], typer.Option("--meter", help="Time signature of --chords: 4/4 (default), 3/4, 5/4, 6/8, any n/4 or n/8.")] = None,
    bars: Annotated[Optional[int], typer.Option("--bars", help="Length in bars, rounded up to whole choruses of the progression (a note says so).")] = None,
    choruses: Annotated[Optional[int], typer.Option("--choruses", help="Length in choruses. Default: the whole choruses nearest 32 bars.")] = None,
    tempo: Annotated[Optional[float], typer.Option("--tempo", help="Quarter notes a minute (default 130, or the mood's; biaxial 100).")] = None,
    temperature: Annotated[Optional[float], typer.Option("--temperature", help="Sampling temperature, deepjazz's 'diversity' (default 0.5; biaxial 1.0): lower is safer.")] = None,
    swing: Annotated[Optional[float], typer.Option("--swing", help="Where off-beat eighths fall: 0.5 straight, 0.67 triplet swing (default 0.6, or the mood's). n/8 meters do not swing.")] = None,
    mood: Annotated[Optional[str], typer.Option("--mood", help="relaxed, dramatic, swinging, or a .toml: tempo, dynamics, register, density.")] = None,
    patches: Annotated[int, typer.Option("--patches", help="Build the piece from K separately generated phrases.")] = 1,
    transition: Annotated[Transition, typer.Option("--transition", help="Between phrases: soft (voice-led, ritardando) or hard (register jump, sudden dynamics).")] = Transition.soft,
    primer: Annotated[Optional[Path], typer.Option("--primer", help="A music file whose melody the new music continues.", exists=True, dir_okay=False)] = None,
    musicxml: Annotated[bool, typer.Option("--musicxml", help="Also write OUT.musicxml (melody with chord symbols, bass; titled).")] = False,
    wav: Annotated[bool, typer.Option("--wav", help="Also render OUT.wav with the built-in synthesiser.")] = False,
    pianoroll: Annotated[bool, typer.Option("--pianoroll", help="Also write OUT.png, a piano roll.")] = False,
    seed: SeedOpt = 0,
    device: DeviceOpt = "auto",
    quiet: QuietOpt = False,
    verbose: VerboseOpt = False,
    force: ForceOpt = False,
) -> None:
    """Compose jazz over chords or a lead sheet with a trained model (never retrains): a melody,
    piano, walking bass and drums, a whole number of choruses ending on the tonic.

    A biaxial model (--model biaxial, or one trained with --model biaxial) composes free
    polyphony in 4/4 instead: --bars (default 16), --tempo, --temperature, --seed and the
    outputs apply; chords, charts, moods, swing and phrases do not.

    \b
    Examples:
      artkit music -o song.mid --wav --pianoroll --musicxml
      artkit music --chords "Dm7 G7 | Cmaj7 | Cmaj7" --choruses 4 --seed 3 -o iivi.mid
      artkit music --chords-from tune.musicxml -o tune.mid
      artkit music --chords-from waltz --mood relaxed -o waltz.mid --pianoroll
      artkit music --chords "Dm7 / / G7 / | Cmaj7" --meter 5/4 -o five.mid
      artkit music -p ii-v-i --key Eb --mood relaxed --patches 4 -o ballad.mid
      artkit music --model biaxial --bars 16 --seed 1 -o chorale.mid --pianoroll
    """
    from artkit.music.api import Composer
    from artkit.music.models import model_file

    model = model or "jazz"
    params = dict(model=model, chords=chords, chords_from=chords_from, progression=progression,
                  key=key, meter=meter, bars=bars, choruses=choruses, tempo=tempo,
                  temperature=temperature, swing=swing, mood=mood, patches=patches,
                  transition=transition.value, primer=primer)
    run = Run("artkit music", params=params, force=force, quiet=quiet, verbose=verbose,
              seed=seed, device=device,
              inputs=[primer] + ([Path(chords_from)] if chords_from and Path(chords_from).is_file() else []))
    out = run.output(output, suffixes=MIDI_OUT, what="output MIDI file")
    extra = {k: run.output(output.with_suffix(sfx), manifest=False, what=f"{k} output")
             for k, sfx, on in (("musicxml", ".musicxml", musicxml), ("wav", ".wav", wav),
                                ("pianoroll", ".png", pianoroll)) if on}
    path = model_file(model)
    run.plan.protect(path, path.with_suffix(".json"))
    with run:
        composer = Composer(path, device=run.device)
        score = composer.compose(chords=chords, chords_from=chords_from, progression=progression,
                                 key=key, meter=meter, bars=bars, choruses=choruses, tempo=tempo,
                                 temperature=temperature, swing=swing, mood=mood, primer=primer,
                                 patches=patches, transition=transition.value,
                                 generator=run.generator, progress=run.progress)
        feats = save_score(run, score, out, extra)
    figures = (f": scale consistency {feats['scale_consistency']:.2f}, chord tones on strong "
               f"beats {feats['chord_tone_ratio']:.2f}" if feats else "")
    info(f"composed {score.n_bars} bars ({score.title}; {score.duration:.1f} s of music at "
         f"{score.tempo:g} bpm){figures}", quiet)


def save_score(run: Run, score, out: Path, extra: dict[str, Path], *,
               manifest: dict | None = None) -> dict[str, float]:
    """Stage a composed score's files in ``run``: the MIDI file ``out`` with its manifest, and
    those of ``extra`` (``musicxml``, ``pianoroll``, ``wav`` → their planned paths). The one
    writing path of ``artkit music`` and the studio's music tab.

    Args:
        run: the run, inside its block (the outputs planned).
        score: the :class:`~artkit.music.score.Score` composed.
        out: the MIDI output.
        extra: the other outputs asked for, by kind.
        manifest: more entries for the manifest.

    Returns:
        The melody's figures (:func:`artkit.music.metrics.piece_features`; empty for free
        polyphony).
    """
    from artkit.music.api import render
    from artkit.music.metrics import piece_features
    from artkit.music.midi import write_midi
    from artkit.music.output import write_musicxml, write_pianoroll

    run.notes += score.notes
    piece = score.piece()
    feats = piece_features(piece) if piece is not None else {}
    song = score.midi_song()
    run.save_bytes(out, write_midi(song), result=score, extra={
        "title": score.title, "features": feats, "settings": score.settings,
        "outputs": [str(out), *map(str, extra.values())], **(manifest or {})})
    if "musicxml" in extra:
        run.save_with(extra["musicxml"], lambda tmp: write_musicxml(tmp, score))
    if "pianoroll" in extra:
        starts = [float(t) for t, _ in score.progression.spans()] if score.progression \
            else [float(4 * b) for b in range(score.n_bars)]
        starts.append(float(score.progression.length) if score.progression else 4.0 * score.n_bars)
        run.save_with(extra["pianoroll"], lambda tmp: write_pianoroll(
            tmp, song, title=f"{score.title} · {score.n_bars} bars, {score.tempo:g} bpm",
            bar_starts=starts))
    if "wav" in extra:
        rendering = render(score)
        run.save_with(extra["wav"], lambda tmp: rendering.write_wav(tmp, run.progress))
    return feats


@command(app, "train")
def train_cmd(
    sources: Annotated[List[str], typer.Argument(help="MIDI / MusicXML / ABC / Humdrum files, folders, or music21 corpus selectors: corpus:bach, corpus:chorales:100 (first 100), corpus:joplin, corpus:leadsheet, corpus:nottingham, corpus:bach/bwv66.6 ...")],
    output: Annotated[Path, typer.Option("--output", "-o", help="The model file (.safetensors); its manifest (OUT.json) goes beside it, and a checkpoint OUT.ckpt.safetensors after every epoch.")],
    model: Annotated[ModelKind, typer.Option("--model", help="Model kind: jazz (deepjazz's grammar LSTM: a melody over chords) or biaxial (Johnson's Biaxial RNN: free polyphony from every part, as a piano roll).")] = ModelKind.jazz,
    epochs: Annotated[int, typer.Option("--epochs", help="Epochs in all (with --resume: up to this many).")] = 20,
    size: Annotated[Size, typer.Option("--size", help="Network size. jazz: default (LSTM 2×128, dropout 0.2) or tiny (tests). biaxial: default (time LSTM 2×64, note LSTM 2×32), original (2×300, 100+50, dropout 0.5) or tiny.")] = Size.default,
    max_minutes: Annotated[Optional[float], typer.Option("--max-minutes", help="Stop after the epoch that passes this many minutes.")] = None,
    resume: Annotated[bool, typer.Option("--resume", help="Continue from OUT.ckpt.safetensors (and replace OUT with the longer-trained model).")] = False,
    seed: SeedOpt = 0,
    device: DeviceOpt = "auto",
    quiet: QuietOpt = False,
    verbose: VerboseOpt = False,
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
      artkit music --model mine.safetensors --progression blues -o blues.mid
      artkit music train corpus:chorales:100 --model biaxial -o poly.safetensors --max-minutes 10
    """
    from artkit.core.checkpoint import checkpoint_path
    from artkit.music.train import train

    run = Run("artkit music train", params=dict(sources=sources, model=model.value, epochs=epochs,
                                                size=size.value, max_minutes=max_minutes,
                                                resume=resume),
              force=force or resume, quiet=quiet, verbose=verbose, seed=seed, device=device,
              inputs=[s for s in sources if Path(s).is_file()])
    out = run.output(output, suffixes={".safetensors"}, what="model file")
    ckpt = checkpoint_path(out)
    run.plan.check()
    if ckpt.exists() and not (resume or force):
        raise ArtkitError(f"checkpoint '{ckpt}' of an earlier run exists",
                          "use --resume to continue that run, or --force to start over")
    with run:
        trained = train(sources, model=model.value, size=size.value, epochs=epochs,
                        max_seconds=None if max_minutes is None else max_minutes * 60,
                        checkpoint=ckpt, resume=resume, device=run.device,
                        generator=run.generator, progress=run.progress)
        run.save_with(out, lambda tmp: trained.save(tmp, force=True),
                      extra={"training": {k: v for k, v in trained.training.items() if k != "history"}})
    for name, why in trained.skipped:
        info(f"skipped {name}: {why}", quiet)
    t = trained.training
    last = t["history"][-1] if t.get("history") else {}
    what = (f"{t['tokens']} tokens, vocabulary {len(trained.vocab)}" if model == ModelKind.jazz
            else f"{t['steps']} 16th-note steps")
    info(f"trained on {t['pieces']} pieces ({what}) for {t['epochs']} epochs in {t['seconds']:.1f} s; "
         f"loss {last.get('loss')}, validation loss {last.get('val_loss')}, kept epoch "
         f"{t.get('kept_epoch')}", quiet)


@command(app, "render")
def render_cmd(
    midi: Annotated[Path, typer.Argument(help="A MIDI file.", exists=True, dir_okay=False)],
    output: Annotated[Path, typer.Option("--output", "-o", help="The WAV file to write (its manifest, OUT.json, beside it).")],
    soundfont: Annotated[Optional[Path], typer.Option("--soundfont", help="A General-MIDI .sf2 (needs the fluidsynth binary); without it the built-in synthesiser plays.")] = None,
    sample_rate: Annotated[int, typer.Option("--sample-rate", help="Samples a second (8000 to 96000).")] = 44100,
    quiet: QuietOpt = False,
    force: ForceOpt = False,
) -> None:
    """Render a MIDI file to a WAV file (16-bit stereo), in blocks: pieces up to 3 hours.
    Its manifest is OUT.json, so name the WAV apart from the MIDI file (song-audio.wav for
    song.mid), or compose with --wav.

    The built-in synthesiser has piano, bass and drum voices (General-MIDI drum notes on
    channel 10, programs 33–40 as bass, everything else as piano) with reverb.

    \b
    Example:
      artkit music render song.mid -o song.wav
    """
    from artkit.music.api import render

    run = Run("artkit music render", params=dict(midi=midi, soundfont=soundfont,
                                                 sample_rate=sample_rate),
              force=force, quiet=quiet, device=None, inputs=[midi, soundfont])
    out = run.output(output, suffixes={".wav"}, what="output WAV file")
    if midi.with_suffix(".json").exists():
        run.plan.protect(midi.with_suffix(".json"))   # the MIDI file's own manifest
    with run:
        rendering = render(midi, sample_rate=sample_rate, soundfont=soundfont, progress=run.progress)
        run.save_with(out, lambda tmp: rendering.write_wav(tmp, run.progress),
                      extra={"audio_seconds": round(rendering.duration, 3)})
    info(f"rendered {rendering.duration:.1f} s of audio", quiet)


@command(app, "evaluate")
def evaluate_cmd(
    files: Annotated[List[str], typer.Argument(help="Music files, folders or corpus selectors to measure.")],
    against: Annotated[Optional[List[str]], typer.Option("--against", help="A model (its training set's figures) or music sources to compare the distribution with.")] = None,
    output: OptionalOutputOpt = None,
    as_json: JsonOpt = False,
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
      artkit music evaluate corpus:chorales:40 -o bach.json
    """
    from artkit.music.api import evaluate
    from artkit.music.metrics import FEATURES, LABELS

    run = Run("artkit music evaluate", params=dict(files=files, against=against), force=force,
              quiet=quiet, seed=seed, device=None, inputs=files)
    out = run.output(output, suffixes={".json"}, what="figures file") if output else None
    with run:
        ag = against[0] if against and len(against) == 1 else against
        ev = evaluate(files, against=ag, generator=run.generator, progress=run.progress)
        if out is not None:
            run.save_json(out, ev.to_dict(), result=ev)
    for name, why in ev.skipped:
        info(f"skipped {name}: {why}", quiet)
    columns = ["figure", "music", "± std", "uniform random", "random walk"] + \
        (["overlap with reference"] if ev.overlap else [])
    rows = [[LABELS[f], ev.mean[f], ev.std[f], ev.uniform[f], ev.walk[f]]
            + ([ev.overlap[f]] if ev.overlap else []) for f in FEATURES]
    print_table(f"{len(ev.rows)} piece(s)", columns, rows, data=ev.to_dict(), as_json=as_json,
                quiet=quiet)


@command(app, "progressions")
def progressions_cmd(
    source: Annotated[Optional[str], typer.Option("--from", help="A chart (MusicXML, ABC, iReal Pro file or link, a shipped chart) or chords: print what was read, bar by bar, as it will be played.")] = None,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """List the shipped progressions, charts, moods and models — or, with --from, show a chart
    bar by bar as it will be played (repeats, endings, sections, meters).

    \b
    Example:
      artkit music progressions
      artkit music progressions --from tune.musicxml
      artkit music progressions --from "irealb://..."
    """
    from artkit.core.presets import list_presets
    from artkit.music.chords import list_progressions, load_progression
    from artkit.music.leadsheet import chart_names, read_chart
    from artkit.music.models import model_presets

    if source:
        prog = read_chart(source).progression()
        rows = [[k + 1, bar.section, bar.meter.text, bar.text(), bar.label]
                for k, bar in enumerate(prog.bars)]
        data = {"title": prog.name, "bars": [dict(zip(("bar", "section", "meter", "chords", "from"), r))
                                             for r in rows]}
        print_table(f"{prog.name}: {len(prog.bars)} bars as played", ["bar", "section", "meter",
                    "chords", "from"], rows, data=data, as_json=as_json, quiet=quiet)
        return
    rows = []
    for name in list_progressions():
        prog = load_progression(name)
        rows.append([name, len(prog.bars), prog.meter.text,
                     prog.ending.symbol if prog.ending else prog.bars[-1].text(), prog.description])
    print_table("progressions", ["name", "bars", "meter", "ends on", "description"], rows,
                as_json=as_json, quiet=quiet, data={
                    "progressions": [dict(zip(("name", "bars", "meter", "ends_on", "description"), r))
                                     for r in rows],
                    "charts": chart_names(), "moods": list_presets("music/moods"),
                    "models": model_presets()})
    if not as_json:
        info(f"charts (--chords-from NAME): {', '.join(chart_names())}", quiet)
        info(f"moods: {', '.join(list_presets('music/moods'))}", quiet)
        info(f"models: {', '.join(model_presets())}", quiet)


@command(app, "upgrade")
def upgrade_cmd(
    model: Annotated[Path, typer.Argument(help="A model written by an older artkit (weights with a JSON config beside them).", exists=True, dir_okay=False)],
    output: Annotated[Path, typer.Option("--output", "-o", help="The converted model (.safetensors).")],
    quiet: QuietOpt = False,
    force: ForceOpt = False,
) -> None:
    """Convert a model from an older artkit into the current file format (the same weights,
    the config and vocabulary inside the file; MODEL.json then is only its manifest).

    \b
    Example:
      artkit music upgrade old.safetensors -o mine.safetensors
    """
    from artkit.music.models import upgrade_model

    run = Run("artkit music upgrade", params=dict(model=model), force=force, quiet=quiet,
              device=None, inputs=[model, model.with_suffix(".json")])
    out = run.output(output, suffixes={".safetensors"}, what="model file")
    with run:
        converted = upgrade_model(model)
        run.save_with(out, lambda tmp: converted.save(tmp, force=True))
    info(f"converted the {converted.kind} model {model}", quiet)
