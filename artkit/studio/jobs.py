"""The studio's work: one function per tab, over the capabilities' public Python API.

Each job checks its inputs (as the CLI checks them, before any network loads), makes an item
folder in the work folder, copies its inputs in under plain names, and calls the library the
way the matching ``artkit`` command does — same settings, same seed handling, same outputs,
written through :class:`artkit.core.cli.Run` (outputs planned and checked first, staged, written
together with their manifests, or not at all). Then it writes ``item.json`` with the command
that makes the same output again, run in the item's folder::

    cd ~/.cache/artkit/studio/20261101-142233-doodle-3f2a
    artkit doodle -s style.png --style-map style_sem.png -m doodle.png --engine patch --seed 0 \\
        -o painting.png

A job that fails leaves no item (its folder is removed); one stopped early keeps the picture it
had, with a note. The page layer (:mod:`artkit.studio.app`) only gathers the widgets' values,
calls a job through :func:`artkit.studio.runner.stream` and shows what comes back.
"""

from __future__ import annotations

import dataclasses
import threading
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import torch
from PIL import Image

from artkit import explain as xai
from artkit.color import Colorizer
from artkit.color.api import NETWORK_METHODS, resolve_method
from artkit.core.cli import Run
from artkit.core.errors import ArtkitError
from artkit.core.images import as_image, pil_to_tensor, rgb_to_gray, tensor_to_pil
from artkit.core.presets import list_presets, load_preset
from artkit.core.progress import ProgressCallback, ProgressEvent
from artkit.core.runtime import generator_seed
from artkit.doodle import DoodleConfig, Painter
from artkit.doodle.maps import prepare_maps
from artkit.explain.api import GRID_METHODS
from artkit.explain.render import grid, render
from artkit.music import compose as compose_score
from artkit.music import load_model as load_music_model
from artkit.music.api import model_file
from artkit.music.metrics import piece_features
from artkit.music.output import save_midi, save_musicxml, save_pianoroll
from artkit.music.synth import synthesize, write_wav
from artkit.story import Storyteller
from artkit.story.api import MAX_LENGTH, MIN_LENGTH
from artkit.story.corpus import BUILTIN_STYLES
from artkit.studio.models import Loaded
from artkit.studio.styles import Style
from artkit.studio.workspace import (Item, Workspace, check_image, check_text, command_line,
                                     safe_name)

MAX_DOODLE_PIXELS = 1024 * 1024  # the canvas: a doodle is painted at its own size
PHOTO_PIXELS = 4096 * 4096


class StudioRun(Run):
    """A :class:`Run` that prints nothing and reports progress to a callback (the page)."""

    def __init__(self, command: str, *, progress: ProgressCallback | None = None, **kw: Any):
        super().__init__(command, quiet=True, **kw)
        self.progress = _Callback(progress)


class _Callback:
    """A progress callback usable where :class:`Run` expects its progress bars."""

    def __init__(self, fn: ProgressCallback | None):
        self.fn = fn

    def __enter__(self) -> "_Callback":
        return self

    def __exit__(self, *exc: Any) -> None:
        return None

    def __call__(self, event: ProgressEvent) -> None:
        if self.fn is not None:
            self.fn(event)


class Studio:
    """What every job shares: the work folder, the device, the loaded networks.

    Args:
        workdir: the work folder (default ``ARTKIT_HOME/studio``).
        device: ``auto``, ``cpu``, ``cuda``... for every job.
    """

    def __init__(self, workdir: str | Path | None = None, device: str = "auto"):
        self.workspace = Workspace(workdir)
        self.device = device
        self.models = Loaded(device)

    def device_args(self) -> list[str]:
        """``--device X`` for commands, when the studio runs on a chosen device."""
        return [] if self.device == "auto" else ["--device", self.device]

    # The jobs, as methods: the page calls these.

    def paint(self, **kw: Any) -> Item:
        return paint(self, **kw)

    def colorize(self, **kw: Any) -> Item:
        return colorize(self, **kw)

    def compose(self, **kw: Any) -> Item:
        return compose(self, **kw)

    def tell(self, **kw: Any) -> Item:
        return tell(self, **kw)

    def explain(self, **kw: Any) -> Item:
        return explain(self, **kw)


def _finish(studio: Studio, item: Item, work: Callable[[], None]) -> Item:
    """Run ``work`` (which writes the item's outputs); keep the item only if it succeeds."""
    try:
        work()
    except BaseException:
        studio.workspace.discard(item)
        raise
    item.save()
    return item


def _flags(**options: Any) -> list[str]:
    """``--name value`` for each option that is set (``True`` → a bare flag)."""
    out: list[str] = []
    for name, value in options.items():
        if value is None or value is False:
            continue
        out.append("--" + name.replace("_", "-"))
        if value is not True:
            out.append(str(value))
    return out


# ----------------------------------------------------------------------------------- doodle


def doodle_config(preset: str | None, **options: Any):
    """Defaults ← preset ← options, as ``artkit doodle`` builds its settings."""

    values = dataclasses.asdict(DoodleConfig())
    if preset:
        values.update(load_preset(preset, "doodle", DoodleConfig))
    values.update({k: v for k, v in options.items() if v is not None})
    config = DoodleConfig(**values)
    config.validate()
    return config


def check_doodle(style: Style, doodle: Any) -> Image.Image:
    """The doodle as an RGB picture, its colours checked against the style map's regions
    (the CLI's message when one matches no region).

    Raises:
        ArtkitError: not a picture, too large, a colour the style map lacks.
    """

    im = as_image(doodle, "RGB", "doodle", max_pixels=MAX_DOODLE_PIXELS)
    if min(im.size) < 16:
        raise ArtkitError(f"the doodle is {im.size[0]}×{im.size[1]} pixels",
                          "paint on a canvas at least 16 pixels a side")
    with Image.open(style.style_map) as smap:
        prepare_maps(style.size, smap.copy(), im)
    return im


def paint(studio: Studio, *, style: Style, doodle: Any, engine: str = "patch",
          preset: str | None = None, iterations: int | None = None, seed: int = 0,
          stop: threading.Event | None = None,
          on_frame: Callable[[Image.Image, str], None] | None = None, frame_every: int = 5,
          progress: ProgressCallback | None = None) -> Item:
    """Paint a doodle in a style (``artkit doodle``).

    Args:
        style: the style (bundled or uploaded, see :mod:`artkit.studio.styles`).
        doodle: the painted canvas (a picture in the style map's colours).
        engine: ``patch`` (seconds) or ``neural`` (VGG features, minutes).
        preset: a doodle preset (``draft``, ``faithful``, ``loose``...).
        iterations: the neural engine's steps per phase.
        seed: the random seed.
        stop: when set, the run ends at its next step and keeps the picture it has.
        on_frame: receives the painting as it forms (``(picture, caption)``), every
            ``frame_every`` steps of the neural engine.
        progress: receives progress events.
    """

    im = check_doodle(style, doodle)
    config = doodle_config(preset, engine=engine, iterations=iterations)
    item = studio.workspace.new_item("doodle", f"{style.name} doodle, {config.engine} engine")
    ws = studio.workspace

    def stopped(event: ProgressEvent) -> None:
        if stop is not None and stop.is_set():
            raise KeyboardInterrupt
        if progress is not None:
            progress(event)

    def frame(phase: int, step: int, image: torch.Tensor) -> None:
        if stop is not None and stop.is_set():
            raise KeyboardInterrupt  # the engine keeps the picture it has and returns
        if on_frame is not None and step % max(1, frame_every) == 0:
            on_frame(tensor_to_pil(image), f"phase {phase + 1}, step {step}")

    def work() -> None:
        ws.copy_in(item, "style", style.painting, "style.png")
        ws.copy_in(item, "style_map", style.style_map, "style_sem.png")
        ws.save_input(item, "doodle", im, "doodle.png")
        f = item.folder
        item.command = command_line("doodle", "-s", "style.png", "--style-map", "style_sem.png",
                                    "-m", "doodle.png", "--engine", config.engine,
                                    *_flags(preset=preset, iterations=iterations), "--seed", seed,
                                    *studio.device_args(), "-o", "painting.png")
        run = StudioRun("artkit doodle", progress=stopped, seed=seed, device=studio.device,
                        params=dict(style=Path("style.png"), style_map=Path("style_sem.png"),
                                    map=Path("doodle.png"), content=None, size=None,
                                    preset=preset, config=dataclasses.asdict(config),
                                    resume=None),
                        inputs=[f / "style.png", f / "style_sem.png", f / "doodle.png"])
        out = run.image_output(f / "painting.png")
        with run:
            try:
                network = config.network if config.engine == "neural" else None
                key = ("doodle", network)
                painter = studio.models.get(key, lambda: Painter(network, device=studio.models.device))
                run.use(studio.models.weights_of(key))
                result = painter.paint(f / "style.png", f / "style_sem.png", f / "doodle.png",
                                       config=config, generator=run.generator,
                                       progress=run.progress, on_frame=frame)
            except KeyboardInterrupt:
                raise ArtkitError("stopped before the first picture was ready; nothing was "
                                  "written") from None
            run.save_image(out, result.image, extra={
                "mode": result.mode, "interrupted": result.interrupted,
                "phases": [dataclasses.asdict(p) for p in result.phases],
                "studio": {"item": item.name, "command": item.command}})
        item.outputs.update(painting="painting.png", manifest="painting.json")
        item.notes += list(result.notes)
        if result.interrupted and result.checkpoint is not None:
            ck = result.checkpoint
            item.notes.append(f"stopped at step {ck.step} of phase {ck.phase + 1}: this is the "
                              "picture it had; the command paints to the end")
        item.details.update(engine=config.engine, seconds=round(result.seconds, 2),
                            stopped=result.interrupted, style=style.name)

    return _finish(studio, item, work)


# ----------------------------------------------------------------------------------- colorize


def hints_layer(layer: Any, size: tuple[int, int]) -> Image.Image | None:
    """Scribbles from the page (an RGBA layer over the gray photo) at the photo's ``size``, or
    ``None`` when nothing was drawn."""
    if layer is None:
        return None
    im = as_image(layer, "RGBA", "scribbles", max_pixels=PHOTO_PIXELS)
    if im.size != tuple(size):
        im = im.resize(size, Image.Resampling.NEAREST)
    alpha = np.asarray(im)[..., 3]
    return im if (alpha > 127).any() else None


def gray_preview(photo: str | Path) -> Image.Image:
    """The photo as the colouriser sees it: its luminance (checked like an upload)."""
    im = check_image(photo, "photo", max_pixels=PHOTO_PIXELS)
    y = rgb_to_gray(pil_to_tensor(im)).clamp(0, 1)  # (1, 1, H, W)
    return tensor_to_pil(y.expand(-1, 3, -1, -1))


def colorize(studio: Studio, *, photo: str | Path, method: str = "auto",
             hints: Any = None, references: Sequence[str | Path] = (), explain: bool = False,
             seed: int = 0, progress: ProgressCallback | None = None) -> Item:
    """Colour a photo (``artkit colorize``): by the model, by example or from scribbles.

    Args:
        photo: the uploaded photo.
        method: ``auto``, ``model``, ``exemplar`` or ``hints``.
        hints: the scribble layer drawn over the gray photo (RGBA), if any.
        references: uploaded reference photos (exemplar).
        explain: also write the ``--explain`` figure (the model method only).
        seed: the random seed.
    """

    photo = Path(photo)
    image = check_image(photo, "photo", max_pixels=PHOTO_PIXELS)
    scribbles = hints_layer(hints, image.size)
    refs = [Path(r) for r in references]
    for r in refs:
        check_image(r, "reference photo", max_pixels=PHOTO_PIXELS)
    chosen = method
    if method == "auto":
        chosen = "hints" if scribbles is not None else "exemplar" if refs else "model"
    if chosen == "hints" and scribbles is None:
        raise ArtkitError("the hints method needs scribbles",
                          "draw coloured strokes on the gray photo")
    if chosen == "exemplar" and not refs:
        raise ArtkitError("the exemplar method needs reference photos", "upload one or more")
    if explain and chosen != "model":
        raise ArtkitError("the explain figure explains the learned model, not exemplar or "
                          "hints colouring", "choose the model method to explain it")
    ws = studio.workspace
    item = ws.new_item("colorize", f"colorize ({chosen})")

    def work() -> None:
        f = item.folder
        name = "photo" + (photo.suffix.lower() or ".png")
        ws.copy_in(item, "photo", photo, name)
        argv = ["colorize", name]
        if chosen == "hints":
            ws.save_input(item, "hints", scribbles, "hints.png")
            argv += ["--hints", "hints.png"]
        ref_names = []
        for i, r in enumerate(refs, 1):
            ref_names.append(f"reference-{i}{r.suffix.lower() or '.png'}")
            ws.copy_in(item, f"reference-{i}", r, ref_names[-1])
            argv += ["--reference", ref_names[-1]]
        if method != "auto":
            argv[2:2] = ["--method", method]
        argv += _flags(explain=explain) + ["--seed", seed, *studio.device_args(),
                                           "-o", "colour.png"]
        item.command = command_line(*argv)
        run = StudioRun("artkit colorize", progress=progress, seed=seed, device=studio.device,
                        params=dict(input=Path(name), method=method,
                                    hints=Path("hints.png") if chosen == "hints" else None,
                                    reference=[Path(n) for n in ref_names] or None, model=None,
                                    render_size=None, keep_color_input=False,
                                    saturation=0.75, explain=None),
                        inputs=[f / n for n in item.inputs.values()])
        out = run.image_output(f / "colour.png")
        gray = run.image_output(f / "gray.png", manifest=False, what="gray preview")
        figure = run.image_output(f / "colour.explain.png", manifest=False) if explain else None
        with run:
            hints = f / "hints.png" if chosen == "hints" else None
            references = [f / n for n in ref_names] or None
            # hints need no network: a colouriser of their own, so they never wait for one
            methods = ("hints",) if resolve_method(method, hints, references) == "hints" \
                else NETWORK_METHODS
            key = ("colorize", methods)
            colorizer = studio.models.get(key, lambda: Colorizer(device=studio.models.device,
                                                                 methods=methods))
            res = colorizer.colorize(f / name, method, hints=hints, reference=references,
                                     progress=run.progress)
            run.use(studio.models.weights_of(key))
            extra = {"method": res.method, "chroma_size": res.chroma_size,
                     "was_color": res.was_color, **res.details,
                     "studio": {"item": item.name, "command": item.command}}
            if figure is not None:
                picture, run.params["explain"] = _colour_figure(colorizer, f / name,
                                                                run.generator)
                run.save_image(figure, picture)
            run.save_image(out, res.image, extra=extra)
            run.save_image(gray, gray_preview(f / name))
        item.outputs.update(colour="colour.png", gray="gray.png", manifest="colour.json")
        if figure is not None:
            item.outputs["explain"] = "colour.explain.png"
        item.details.update(method=res.method, seconds=round(res.seconds, 2))

    return _finish(studio, item, work)


def _colour_figure(colorizer: Colorizer, photo: Path, generator: torch.Generator
                   ) -> tuple[Image.Image, list[str]]:
    """The ``--explain`` figure, as the CLI makes it: PatternNet's signal and LRP-ε's evidence
    per colour region when the model has patterns, LRP-ε alone otherwise."""
    ex = colorizer.explain(photo, None, generator=generator)
    return ex.picture(), list(ex.maps)


# ----------------------------------------------------------------------------------- music


def moods() -> list[str]:
    return list_presets("music/moods")


def compose(studio: Studio, *, progression: str | None = "jazz-blues", chords: str | None = None,
            key: str | None = None, bars: int = 12, tempo: float | None = None,
            mood: str | None = None, patches: int = 1, transition: str = "soft",
            seed: int = 0, model: str = "jazz", progress: ProgressCallback | None = None) -> Item:
    """Compose a piece (``artkit music compose --wav --pianoroll --musicxml``).

    Args:
        progression: a shipped progression (ignored when ``chords`` are typed).
        chords: typed chords (``"Dm7 G7 | Cmaj7"``).
        key: transpose the progression to this key.
        bars, tempo, mood, patches, transition, seed: as the command's options.
        model: a shipped model name (``jazz``).
    """

    chords = (chords or "").strip() or None
    progression = None if chords else (progression or "jazz-blues")
    key = (key or "").strip() or None
    jazz = studio.models.get(("music", model), lambda: load_music_model(model, "cpu", kind="jazz"),
                             files=[model_file(model)])
    ws = studio.workspace
    item = ws.new_item("music", f"{progression or 'your chords'}, {bars} bars")

    def work() -> None:
        f = item.folder
        item.command = command_line(
            "music", "compose", *_flags(progression=progression, chords=chords, key=key),
            "--bars", bars, *_flags(tempo=tempo, mood=mood),
            *(_flags(patches=patches, transition=transition) if patches > 1 else []),
            "--seed", seed, "--wav", "--pianoroll", "--musicxml", "-o", "piece.mid")
        run = StudioRun("artkit music compose", progress=progress, seed=seed, device="cpu")
        mid = run.output(f / "piece.mid", suffixes={".mid"})
        paths = {k: run.output(f / f"piece.{k}", manifest=False, what=f"{k} output")
                 for k in ("png", "musicxml", "wav")}
        with run:
            score = compose_score(jazz, chords=chords, progression=progression, key=key, bars=bars,
                         tempo=tempo, mood=mood, generator=run.generator, patches=patches,
                         transition=transition, progress=run.progress)
            song = score.midi_song()
            audio, sr = synthesize(song, progress=run.progress)
            run.use(studio.models.weights_of(("music", model)))
            title = (f"{score.progression.name}, {bars} bars, {score.tempo:g} bpm, "
                     f"seed {run.generator.initial_seed()}")
            run.save_with(paths["png"], lambda t: save_pianoroll(song, t, True, bars=bars,
                                                                 title=title))
            run.save_with(paths["musicxml"], lambda t: save_musicxml(score, t, True))
            run.save_with(paths["wav"], lambda t: write_wav(t, audio, sr, True))
            feats = piece_features(score.piece())
            run.params.update(model=str(model_file(model)), chords=chords,
                              progression=score.progression.name, bars=bars, tempo=score.tempo,
                              temperature=score.info["temperature"], swing=score.swing,
                              mood=mood, patches=patches, transition=transition, primer=None)
            run.save_with(mid, lambda t: save_midi(song, t, True), extra={
                "features": feats, "studio": {"item": item.name, "command": item.command}})
        item.outputs.update(midi="piece.mid", wav="piece.wav", pianoroll="piece.png",
                            musicxml="piece.musicxml", manifest="piece.json")
        item.details.update(duration=round(audio.shape[-1] / sr, 3), sample_rate=sr,
                            tempo=score.tempo, progression=score.progression.name,
                            features={k: round(v, 3) for k, v in feats.items()})

    return _finish(studio, item, work)


# ----------------------------------------------------------------------------------- story


def story_styles() -> list[str]:

    return list(BUILTIN_STYLES)


def storyteller(studio: Studio, progress: ProgressCallback | None = None):
    """The story pipeline, loaded once per process."""

    return studio.models.get(("story", "smollm2-135m"),
                             lambda: Storyteller("smollm2-135m", None, studio.models.device,
                                                 progress=progress),
                             weights=("efficientnet-lite0", "minilm-l6", "smollm2-135m"))


def tell(studio: Studio, *, photo: str | Path, style: str = "noir",
         style_file: str | Path | None = None, length: int = 150, temperature: float = 0.7,
         seed: int = 0, progress: ProgressCallback | None = None) -> Item:
    """Write a story about a photo (``artkit story``).

    Args:
        photo: the uploaded photo.
        style: a built-in style (ignored when ``style_file`` is given).
        style_file: an uploaded text file of passages in the wanted style.
        length, temperature, seed: as the command's options.
    """

    photo = Path(photo)
    image = check_image(photo, "photo", max_pixels=PHOTO_PIXELS)
    if style_file is not None:
        check_text(style_file, "style file")
    elif style not in story_styles():
        raise ArtkitError(f"unknown style '{style}'", f"use one of {', '.join(story_styles())}")
    if not MIN_LENGTH <= int(length) <= MAX_LENGTH:
        raise ArtkitError(f"the length must be {MIN_LENGTH}..{MAX_LENGTH} words, got {length}")
    teller = storyteller(studio, progress)
    ws = studio.workspace
    item = ws.new_item("story", f"a {style if style_file is None else 'custom'} story")

    def work() -> None:
        f = item.folder
        name = "photo" + (photo.suffix.lower() or ".png")
        ws.copy_in(item, "photo", photo, name)
        style_arg = style
        if style_file is not None:
            style_arg = safe_name(Path(style_file).stem, "style") + ".txt"
            ws.copy_in(item, "style", style_file, style_arg)
        item.command = command_line("story", name, "--style", style_arg, "--length", length,
                                    "--temperature", temperature, "--seed", seed,
                                    *studio.device_args(), "-o", "story.md")
        run = StudioRun("artkit story", progress=progress, seed=seed, device=studio.device,
                        params=dict(photos=[Path(name)], style=style_arg, length=length,
                                    temperature=temperature, writer="smollm2-135m",
                                    captioner=None, exemplars=3, retries=2, opening=True,
                                    style_strength=0.0, format="md"),
                        inputs=[f / n for n in item.inputs.values()])
        out = run.output(f / "story.md", suffixes={".md"})
        with run:
            story = teller.tell(image, str(f / style_arg) if style_file else style,
                                length=length, temperature=temperature, seed=seed,
                                progress=run.progress)
            story.photo = name
            run.use(studio.models.weights_of(("story", "smollm2-135m")))
            run.save_text(out, story.markdown(name), extra={
                "story": story.to_dict(), "studio": {"item": item.name, "command": item.command}})
        item.title = story.title
        item.outputs.update(story="story.md", manifest="story.json")
        item.details.update(title=story.title, text=story.text, facts=list(story.captions),
                            words=story.words, grounded=story.grounded)

    return _finish(studio, item, work)


# ----------------------------------------------------------------------------------- explain


EXPLAIN_MODELS = ("efficientnet-lite0", "vgg16-hed", "fashion-cnn")


def explainable(studio: Studio, model: str):
    """A model to explain and its shipped patterns, loaded once per process."""

    def load():
        ex = xai.load_model(model, studio.models.device)
        return ex, xai.load_patterns(ex)

    return studio.models.get(("explain", model), load, weights=(model,))


def explain(studio: Studio, *, image: str | Path, model: str = "efficientnet-lite0",
            method: str = "all", seed: int = 0, progress: ProgressCallback | None = None) -> Item:
    """Explain a model's output on a picture (``artkit explain show``).

    Args:
        image: the uploaded picture.
        model: ``efficientnet-lite0``, ``vgg16-hed`` or ``fashion-cnn``.
        method: ``all`` (side by side) or one attribution method.
        seed: the random seed (SmoothGrad's noise).
    """

    image = Path(image)
    photo = check_image(image, "picture", max_pixels=PHOTO_PIXELS)
    if model not in EXPLAIN_MODELS:
        raise ArtkitError(f"unknown model '{model}'", f"use one of {', '.join(EXPLAIN_MODELS)}")
    if method != "all" and method not in xai.METHODS:
        raise ArtkitError(f"unknown method '{method}'", f"use all or one of {', '.join(xai.METHODS)}")
    ex, patterns = explainable(studio, model)
    methods = list(GRID_METHODS) if method == "all" else [method]
    if method == "all" and patterns is None:
        methods = [m for m in methods if m not in ("patternnet", "patternattribution")]
    ws = studio.workspace
    item = ws.new_item("explain", f"{model}: {method}")

    def work() -> None:
        f = item.folder
        name = "picture" + (image.suffix.lower() or ".png")
        ws.copy_in(item, "picture", image, name)
        item.command = command_line("explain", "show", name, "--model", model, "--method",
                                    method, "--seed", seed, *studio.device_args(),
                                    "-o", "explained.png")
        run = StudioRun("artkit explain show", progress=progress, seed=seed,
                        device=studio.device, inputs=[f / name])
        out = run.image_output(f / "explained.png")
        with run:
            x = ex.preprocess(photo).to(next(ex.model.parameters()).device)
            result = xai.explain(ex, x, methods, None, patterns,
                               seed=generator_seed(run.generator))
            title = f"{ex.name}: {result.label} ({result.score:.2f})"
            maps = {m: a.cpu() for m, a in result.maps.items()}
            picture = grid(photo, maps, title) if len(methods) > 1 else render(methods[0],
                                                                                maps[methods[0]])
            if picture.width < 224:
                k = -(-224 // picture.width)
                picture = picture.resize((picture.width * k, picture.height * k),
                                         Image.Resampling.NEAREST)
            run.params.update(image=name, model=ex.name, method=method, target=result.target,
                              patterns="shipped" if patterns is not None else None)
            run.use(studio.models.weights_of(("explain", model)))
            run.save_image(out, picture, extra={"label": result.label, "score": result.score,
                                                "studio": {"item": item.name,
                                                           "command": item.command}})
        item.title = f"{ex.name} says {result.label} ({result.score:.2f})"
        item.outputs.update(figure="explained.png", manifest="explained.json")
        item.details.update(label=result.label, score=round(result.score, 4), methods=methods)

    return _finish(studio, item, work)
