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

import threading
import wave
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import torch
from PIL import Image

from artkit.color import Colorizer
from artkit.color.api import NETWORK_METHODS, resolve_method
from artkit.core.cli import Run
from artkit.core.errors import ArtkitError
from artkit.core.images import as_image, pil_to_tensor, rgb_to_gray, tensor_to_pil
from artkit.core.presets import list_presets
from artkit.core.progress import ProgressCallback, ProgressEvent
from artkit.doodle import DoodleConfig, Painter
from artkit.doodle.config import PRESETS as DOODLE_PRESETS
from artkit.doodle.maps import prepare_maps
from artkit.explain import Explainer, get_method, grid, render
from artkit.explain.api import DEFAULT_METHODS
from artkit.music import Composer
from artkit.music.cli import MIDI_OUT, save_score
from artkit.story import Storyteller, TellConfig
from artkit.story.corpus import BUILTIN_STYLES, check_style
from artkit.studio.models import Loaded
from artkit.studio.styles import Style
from artkit.studio.workspace import (Item, Workspace, check_image, check_text, command_line,
                                     safe_name)

MAX_DOODLE_PIXELS = 1024 * 1024  # the canvas: a doodle is painted at its own size
PHOTO_PIXELS = 4096 * 4096
SATURATION = 0.75  # artkit colorize's default --saturation


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


def doodle_config(preset: str | None, **options: Any) -> DoodleConfig:
    """Defaults ← preset ← options, as ``artkit doodle`` builds its settings."""

    return DoodleConfig.build(preset, DOODLE_PRESETS, **options)


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


def doodle_command(*, engine: str, preset: str | None, iterations: int | None, seed: int,
                   device: list[str]) -> str:
    """The ``artkit doodle`` command (its main action) that paints ``painting.png`` again from
    the item's copies of the style, its map and the doodle."""
    return command_line("doodle", "-s", "style.png", "--style-map", "style_sem.png",
                        "-m", "doodle.png", "--engine", engine,
                        *_flags(preset=preset, iterations=iterations), "--seed", seed,
                        *device, "-o", "painting.png")


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
        item.command = doodle_command(engine=config.engine, preset=preset,
                                      iterations=iterations, seed=seed,
                                      device=studio.device_args())
        run = StudioRun("artkit doodle", progress=stopped, seed=seed, device=studio.device,
                        params=dict(style=Path("style.png"), style_map=Path("style_sem.png"),
                                    map=Path("doodle.png"), content=None, size=None,
                                    preset=preset, config=config.to_dict(),
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
            run.notes += result.notes
            run.save_image(out, result.image, result=result, extra={
                "mode": result.mode, "partial": result.interrupted, **result.to_dict(),
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


def colorize_command(*, photo: str, method: str, hints: bool, references: Sequence[str],
                     explain: bool, seed: int, device: list[str]) -> str:
    """The ``artkit colorize`` command (its main action) that colours ``colour.png`` again."""
    argv: list[Any] = ["colorize", photo]
    if method != "auto":
        argv += ["--method", method]
    if hints:
        argv += ["--hints", "hints.png"]
    for name in references:
        argv += ["--reference", name]
    return command_line(*argv, *_flags(explain=explain), "--seed", seed, *device,
                        "-o", "colour.png")


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
        if chosen == "hints":
            ws.save_input(item, "hints", scribbles, "hints.png")
        ref_names = []
        for i, r in enumerate(refs, 1):
            ref_names.append(f"reference-{i}{r.suffix.lower() or '.png'}")
            ws.copy_in(item, f"reference-{i}", r, ref_names[-1])
        item.command = colorize_command(photo=name, method=method, hints=chosen == "hints",
                                        references=ref_names, explain=explain, seed=seed,
                                        device=studio.device_args())
        hints_file = f / "hints.png" if chosen == "hints" else None
        ref_files = [f / n for n in ref_names] or None
        resolved = resolve_method(method, hints_file, ref_files)
        run = StudioRun("artkit colorize", progress=progress, seed=seed, device=studio.device,
                        params=dict(inputs=[Path(name)], output=Path("colour.png"),
                                    method=method, hints=Path("hints.png") if hints_file else None,
                                    reference=[Path(n) for n in ref_names] or None, model=None,
                                    render_size=None, keep_color_input=False,
                                    saturation=SATURATION, explain=explain, explain_method=None),
                        inputs=[f / n for n in item.inputs.values()])
        out = run.image_output(f / "colour.png")
        gray = run.image_output(f / "gray.png", manifest=False, what="gray preview")
        figure = run.image_output(f / "colour.explain.png", manifest=False,
                                  what="explanation") if explain else None
        with run:
            # hints need no network: a colouriser of their own, so they never wait for one
            methods = ("hints",) if resolved == "hints" else NETWORK_METHODS
            key = ("colorize", methods)
            colorizer = studio.models.get(key, lambda: Colorizer(device=studio.models.device,
                                                                 methods=methods))
            run.use(studio.models.weights_of(key))
            res = colorizer.colorize(f / name, resolved, hints=hints_file, reference=ref_files,
                                     saturation=SATURATION, generator=run.generator,
                                     progress=run.progress)
            run.save_image(out, res.image, result=res, extra={
                "input": name, "method": res.method, "chroma_size": res.chroma_size,
                "was_color": res.was_color, **res.details,
                "studio": {"item": item.name, "command": item.command}})
            if figure is not None:
                ex = colorizer.explain(f / name, None, saturation=SATURATION,
                                       generator=run.generator)
                run.notes += [n for n in ex.notes if n not in run.notes]
                run.save_image(figure, ex.picture(), result=ex,
                               extra={"input": name, "methods": list(ex.maps)})
            run.save_image(gray, gray_preview(f / name))
        item.outputs.update(colour="colour.png", gray="gray.png", manifest="colour.json")
        if figure is not None:
            item.outputs["explain"] = "colour.explain.png"
        item.details.update(method=res.method, seconds=round(res.seconds, 2))

    return _finish(studio, item, work)


# ----------------------------------------------------------------------------------- music


def moods() -> list[str]:
    return list_presets("music/moods")


def music_command(*, progression: str | None, chords: str | None, key: str | None, bars: int,
                  tempo: float | None, mood: str | None, patches: int, transition: str,
                  seed: int, model: str, device: list[str]) -> str:
    """The ``artkit music`` command (its main action needs no sub-command word) that writes
    the studio's four files again."""
    return command_line(
        "music", *_flags(model=None if model == "jazz" else model, progression=progression,
                         chords=chords, key=key), "--bars", bars, *_flags(tempo=tempo, mood=mood),
        *(_flags(patches=patches, transition=transition) if patches > 1 else []),
        "--seed", seed, *device, "--wav", "--pianoroll", "--musicxml", "-o", "piece.mid")


def compose(studio: Studio, *, progression: str | None = "jazz-blues", chords: str | None = None,
            key: str | None = None, bars: int = 12, tempo: float | None = None,
            mood: str | None = None, patches: int = 1, transition: str = "soft",
            seed: int = 0, model: str = "jazz", progress: ProgressCallback | None = None) -> Item:
    """Compose a piece (``artkit music --wav --pianoroll --musicxml``): the music command's
    own writing path (:func:`artkit.music.cli.save_score`), with a loaded :class:`Composer`.

    Args:
        progression: a shipped progression (ignored when ``chords`` are typed).
        chords: typed chords (``"Dm7 G7 | Cmaj7"``).
        key: transpose the progression to this key.
        bars, tempo, mood, patches, transition, seed: as the command's options (``bars`` is
            rounded up to whole choruses, with a note).
        model: a shipped model name (``jazz``).
    """

    chords = (chords or "").strip() or None
    progression = None if chords else (progression or "jazz-blues")
    key = (key or "").strip() or None
    composer = studio.models.get(("music", model),
                                 lambda: Composer(model, device=studio.models.device))
    ws = studio.workspace
    item = ws.new_item("music", f"{progression or 'your chords'}, {bars} bars")

    def work() -> None:
        f = item.folder
        item.command = music_command(progression=progression, chords=chords, key=key, bars=bars,
                                     tempo=tempo, mood=mood, patches=patches,
                                     transition=transition, seed=seed, model=model,
                                     device=studio.device_args())
        params = dict(model=model, chords=chords, chords_from=None, progression=progression,
                      key=key, meter=None, bars=bars, choruses=None, tempo=tempo,
                      temperature=None, swing=None, mood=mood, patches=patches,
                      transition=transition, primer=None)
        run = StudioRun("artkit music", params=params, progress=progress, seed=seed,
                        device=studio.device)
        mid = run.output(f / "piece.mid", suffixes=MIDI_OUT, what="output MIDI file")
        also = {k: run.output(f / f"piece.{sfx}", manifest=False, what=f"{k} output")
                for k, sfx in (("musicxml", "musicxml"), ("wav", "wav"), ("pianoroll", "png"))}
        with run:
            score = composer.compose(chords=chords, progression=progression, key=key,
                                     bars=bars, tempo=tempo, mood=mood, patches=patches,
                                     transition=transition, generator=run.generator,
                                     progress=run.progress)
            run.use(studio.models.weights_of(("music", model)))
            feats = save_score(run, score, mid, also, manifest={
                "outputs": ["piece.mid", *(p.name for p in also.values())],  # as the command
                "studio": {"item": item.name, "command": item.command}})
        with wave.open(str(f / "piece.wav")) as w:
            duration, rate = w.getnframes() / w.getframerate(), w.getframerate()
        item.title = score.title
        item.notes += list(score.notes)
        item.outputs.update(midi="piece.mid", wav="piece.wav", pianoroll="piece.png",
                            musicxml="piece.musicxml", manifest="piece.json")
        item.details.update(duration=round(duration, 3), sample_rate=rate, bars=score.n_bars,
                            tempo=score.tempo, progression=score.settings.get("progression"),
                            features={k: round(v, 3) for k, v in feats.items()})

    return _finish(studio, item, work)


# ----------------------------------------------------------------------------------- story


def story_styles() -> list[str]:
    return list(BUILTIN_STYLES)


def storyteller(studio: Studio, progress: ProgressCallback | None = None) -> Storyteller:
    """The story pipeline (classifier, sentence encoder, writer), loaded once per process."""

    return studio.models.get(("story", "smollm2-135m"),
                             lambda: Storyteller("smollm2-135m", device=studio.models.device,
                                                 progress=progress))


def story_command(*, photo: str, style: str, length: int, temperature: float, seed: int,
                  device: list[str]) -> str:
    """The ``artkit story`` command (its main action) that writes ``story.md`` again."""
    return command_line("story", photo, "--style", style, "--length", length,
                        "--temperature", temperature, "--seed", seed, *device, "-o", "story.md")


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
    else:
        check_style(style)  # romance needs its corpus fetched: say so before loading networks
    options = dict(length=int(length), temperature=float(temperature))
    TellConfig(**options).validate()
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
        item.command = story_command(photo=name, style=style_arg, seed=seed,
                                     device=studio.device_args(), **options)
        defaults = TellConfig()
        run = StudioRun("artkit story", progress=progress, seed=seed, device=studio.device,
                        params=dict(photos=[Path(name)], style=style_arg, writer="smollm2-135m",
                                    captioner=None, format="md", explain=False,
                                    exemplars=defaults.exemplars, retries=defaults.retries,
                                    opening=defaults.opening,
                                    style_strength=defaults.style_strength, **options),
                        inputs=[f / n for n in item.inputs.values()])
        out = run.output(f / "story.md", suffixes={".md"}, what="story file")
        with run:
            run.use(studio.models.weights_of(("story", "smollm2-135m")))
            story = teller.tell(image, str(f / style_arg) if style_file else style,
                                generator=run.generator, progress=run.progress, **options)
            story.photo = name
            run.notes += story.notes
            run.save_text(out, story.markdown(name), result=story, extra={
                "stories": [story.to_dict()],
                "studio": {"item": item.name, "command": item.command}})
        item.title = story.title
        item.notes += list(story.notes)
        item.outputs.update(story="story.md", manifest="story.json")
        item.details.update(title=story.title, text=story.text, facts=list(story.captions),
                            words=story.words, grounded=story.grounded)

    return _finish(studio, item, work)


# ----------------------------------------------------------------------------------- explain


EXPLAIN_MODELS = ("efficientnet-lite0", "vgg16-hed", "fashion-cnn")


def explainer(studio: Studio, model: str) -> Explainer:
    """A model to explain with its shipped patterns, loaded once per process."""

    return studio.models.get(("explain", model),
                             lambda: Explainer(model, device=studio.models.device))


def explain_command(*, picture: str, model: str, method: str, seed: int,
                    device: list[str]) -> str:
    """The ``artkit explain`` command (its main action, ``show``) that draws the figure again."""
    return command_line("explain", picture, "--model", model, "--method", method,
                        "--seed", seed, *device, "-o", "explained.png")


def explain(studio: Studio, *, image: str | Path, model: str = "efficientnet-lite0",
            method: str = "all", seed: int = 0, progress: ProgressCallback | None = None) -> Item:
    """Explain a model's output on a picture (``artkit explain``), drawn as the command draws
    it: every default method side by side, or one method's map.

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
    if method != "all":
        get_method(method)  # an unknown name fails before any loading
    ex = explainer(studio, model)
    ws = studio.workspace
    item = ws.new_item("explain", f"{model}: {method}")

    def work() -> None:
        f = item.folder
        name = "picture" + (image.suffix.lower() or ".png")
        ws.copy_in(item, "picture", image, name)
        item.command = explain_command(picture=name, model=model, method=method, seed=seed,
                                       device=studio.device_args())
        run = StudioRun("artkit explain", progress=progress, seed=seed, device=studio.device,
                        params=dict(image=name, model=model, target="top",
                                    method=list(DEFAULT_METHODS) if method == "all" else [method],
                                    patterns=None, overlay=False),
                        inputs=[f / name])
        out = run.image_output(f / "explained.png")
        with run:
            run.use(ex.weights)
            res = ex.explain(photo, **({} if method == "all" else {"methods": [method]}),
                             generator=run.generator, progress=run.progress)
            title = f"{ex.name}: {res.label} ({res.score:.2f})"
            picture = grid(photo, res.maps, title) if len(res.maps) > 1 \
                else render(*next(iter(res.maps.items())))
            if picture.width < 224:
                k = -(-224 // picture.width)
                picture = picture.resize((picture.width * k, picture.height * k),
                                         Image.Resampling.NEAREST)
            run.notes += res.notes
            run.save_image(out, picture, result=res, extra={
                "label": res.label, "score": res.score, "target": res.target,
                "studio": {"item": item.name, "command": item.command}})
        item.title = f"{ex.name} says {res.label} ({res.score:.2f})"
        item.notes += list(res.notes)
        item.outputs.update(figure="explained.png", manifest="explained.json")
        item.details.update(label=res.label, score=round(res.score, 4), methods=list(res.maps))

    return _finish(studio, item, work)
