"""The studio's job layer, without a browser: outputs, manifests, the commands that reproduce
them, upload checks, Stop, sharing loaded networks."""

from __future__ import annotations

import json
import os
import shlex
import struct
import threading
import wave
import zlib
from pathlib import Path

import numpy as np
import pytest
import typer
from PIL import Image, ImageDraw
from typer.testing import CliRunner

from artkit.cli import app
from artkit.core.errors import ArtkitError
from artkit.studio import jobs
from artkit.studio.models import Loaded
from artkit.studio.runner import stream
from artkit.studio.workspace import Workspace, check_image, check_text


def doodle_for(style, colours=(0, 1, 2)) -> Image.Image:
    """A doodle over three of the style's regions: a field, a band and a blob."""
    w, h = style.size
    im = style.blank((w, h), colours[0])
    d = ImageDraw.Draw(im)
    d.rectangle([0, h // 2, w, h], fill=tuple(int(v) for v in style.palette[colours[1]]))
    d.ellipse([w // 4, h // 5, w // 2, h // 2], fill=tuple(int(v) for v in style.palette[colours[2]]))
    return im


def reproduce(item, output: str) -> None:
    """Run the item's command in its folder, writing ``output`` instead of its own output."""
    argv = shlex.split(item.command)[1:]
    argv[argv.index("-o") + 1] = output
    cwd = os.getcwd()
    os.chdir(item.folder)
    try:
        res = CliRunner().invoke(app, argv + ["--quiet"])
    finally:
        os.chdir(cwd)
    assert res.exit_code == 0, res.output
    same_record(item, output)


def same_record(item, output: str) -> None:
    """The command's manifest of ``output`` names the same command, parameters and weights as
    the studio's manifest of the item (the output's name aside)."""
    mine = item.manifest()
    theirs = json.loads((item.folder / output).with_suffix(".json").read_text())
    for record in (mine, theirs):
        record["params"].pop("output", None)
    for key in ("command", "params", "weights", "seed"):
        assert theirs[key] == mine[key], key


def test_paint_writes_painting_manifest_and_a_command_that_reproduces_it(studio, small_style):
    item = studio.paint(style=small_style, doodle=doodle_for(small_style), engine="patch",
                        preset="draft", seed=3)
    assert (item.folder / "item.json").is_file()
    painting = item.path("painting")
    with Image.open(painting) as im:
        assert im.size == small_style.size
        pixels = np.asarray(im.convert("RGB"))
    assert pixels.std() > 5, "a flat picture is not a painting"
    manifest = item.manifest()
    assert manifest["command"] == "artkit doodle" and manifest["seed"] == 3
    assert manifest["extra"]["studio"]["command"] == item.command
    assert "--preset draft" in item.command and "--engine patch" in item.command
    reproduce(item, "again.png")
    with Image.open(item.folder / "again.png") as again:
        assert np.array_equal(np.asarray(again.convert("RGB")), pixels)
    assert [i.name for i in studio.workspace.items()] == [item.name]


def test_wrong_doodle_colours_are_refused_before_any_work(studio, small_style):
    bad = doodle_for(small_style)
    ImageDraw.Draw(bad).rectangle([0, 0, 40, 30], fill=(255, 0, 255))  # magenta: no region
    with pytest.raises(ArtkitError, match="a region the style map does not have"):
        studio.paint(style=small_style, doodle=bad, engine="patch")
    assert [p for p in studio.workspace.root.iterdir() if p.name != "styles"] == []


def test_stop_before_the_first_picture_leaves_nothing(studio, small_style):
    stop = threading.Event()
    stop.set()
    updates = list(stream(studio.paint, stop=stop, style=small_style,
                          doodle=doodle_for(small_style), engine="patch"))
    assert updates[-1].kind == "error" and "nothing was written" in updates[-1].message
    assert studio.workspace.items() == []
    assert [p for p in studio.workspace.root.iterdir() if p.name != "styles"] == []


@pytest.mark.weights
def test_stop_keeps_the_neural_painting_it_has(studio, small_style, real_weights):
    real_weights("vgg16-hed")
    stop = threading.Event()
    frames = []

    def on_frame(picture, caption):
        frames.append(caption)
        stop.set()  # Stop pressed after the first frame

    item = studio.paint(style=small_style, doodle=doodle_for(small_style), engine="neural",
                        iterations=40, seed=0, stop=stop, on_frame=on_frame, frame_every=1)
    assert frames, "the neural engine streamed no frame"
    assert item.details["stopped"] is True
    assert any("stopped at step" in n for n in item.notes)
    assert item.manifest()["extra"]["interrupted"] is True
    assert "vgg16-hed" in item.manifest()["weights"]


def _png_header(path, width, height) -> None:
    """A small PNG whose header claims ``width``×``height``."""
    Image.new("RGB", (4, 4)).save(path)
    data = bytearray(path.read_bytes())
    data[16:24] = struct.pack(">II", width, height)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))
    path.write_bytes(bytes(data))


def test_uploads_are_checked_like_cli_inputs(tmp_path):
    corrupt = tmp_path / "corrupt.png"
    corrupt.write_bytes(b"\x89PNG\r\n\x1a\n" + os.urandom(200))
    with pytest.raises(ArtkitError, match="photo 'corrupt.png' cannot be used"):
        check_image(corrupt, "photo")
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    with pytest.raises(ArtkitError, match="is empty"):
        check_image(empty, "photo")
    huge = tmp_path / "huge.png"
    _png_header(huge, 100_000, 100_000)
    with pytest.raises(ArtkitError, match="megapixels"):
        check_image(huge, "photo")
    latin = tmp_path / "style.txt"
    latin.write_bytes("caf\xe9".encode("latin-1"))
    with pytest.raises(ArtkitError, match="not UTF-8"):
        check_text(latin, "style file")


def test_a_corrupt_photo_fails_the_job_and_the_next_one_works(studio, tmp_path):
    corrupt = tmp_path / "photo.png"
    corrupt.write_bytes(b"not a picture at all")
    updates = list(stream(studio.colorize, photo=corrupt, method="hints"))
    assert updates[-1].kind == "error"
    assert updates[-1].message.startswith("error: the photo 'photo.png' cannot be used")
    photo = tmp_path / "ok.png"
    Image.fromarray(np.tile(np.linspace(0, 255, 48, dtype=np.uint8), (32, 1))).save(photo)
    layer = Image.new("RGBA", (48, 32), (0, 0, 0, 0))
    ImageDraw.Draw(layer).line([(4, 4), (20, 4)], fill=(220, 40, 40, 255), width=3)
    ImageDraw.Draw(layer).line([(30, 28), (44, 28)], fill=(40, 60, 220, 255), width=3)
    done = list(stream(studio.colorize, photo=photo, hints=layer, seed=0))[-1]
    assert done.kind == "done", done.message
    item = done.item
    assert item.details["method"] == "hints" and "--hints hints.png" in item.command
    with Image.open(item.path("colour")) as im:
        rgb = np.asarray(im.convert("RGB")).astype(int)
    assert rgb[4, 10, 0] > rgb[4, 10, 2] and rgb[28, 40, 2] > rgb[28, 40, 0]  # red, blue hints
    reproduce(item, "again.png")
    with Image.open(item.folder / "again.png") as again:
        assert np.array_equal(np.asarray(again.convert("RGB")), rgb)


def test_compose_writes_a_player_ready_wav_and_reproduces_bytes(studio):
    item = studio.compose(chords="C7 | F7", bars=2, seed=2)  # typed chords: one 2-bar chorus
    with wave.open(str(item.path("wav"))) as w:
        seconds = w.getnframes() / w.getframerate()
    assert abs(seconds - item.details["duration"]) < 1e-3 and seconds > 1
    for role in ("midi", "pianoroll", "musicxml", "manifest"):
        assert item.path(role).is_file(), role
    assert "--bars 2" in item.command and "--wav" in item.command
    assert item.details["bars"] == 2
    reproduce(item, "again.mid")
    assert (item.folder / "again.mid").read_bytes() == item.path("midi").read_bytes()
    assert (item.folder / "again.wav").read_bytes() == item.path("wav").read_bytes()


def test_networks_load_once_per_process_even_when_asked_at_once():
    loaded = Loaded("cpu")
    started = threading.Barrier(4)
    calls = []

    def load():
        calls.append(1)
        return object()

    def ask():
        started.wait()
        return loaded.get(("kind", "name"), load)

    threads = [threading.Thread(target=ask) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1 and loaded.loads == 1
    assert loaded.get(("kind", "name"), load) is loaded.get(("kind", "name"), load)


def test_workspace_lists_finished_items_only_and_names_stay_inside(tmp_path):
    ws = Workspace(tmp_path / "w")
    unfinished = ws.new_item("doodle")
    done = ws.new_item("music", "a piece")
    done.save()
    assert [i.name for i in ws.items()] == [done.name]
    assert unfinished.folder.is_dir()
    ws.discard(unfinished)
    assert not unfinished.folder.exists()
    for name in ("..", "../w", "/etc", ".hidden", ""):
        with pytest.raises(ArtkitError):
            ws.item(name)
    assert json.loads((done.folder / "item.json").read_text())["title"] == "a piece"


def test_unexpected_failures_become_one_line_not_a_traceback():
    def broken(*, progress=None):
        raise ZeroDivisionError("division by zero")

    (update,) = list(stream(broken))
    assert update.kind == "error" and update.message.startswith("error: ZeroDivisionError")
    assert "internal error" not in update.message and "\n" not in update.message


def parse(line: str) -> tuple[list[str], dict]:
    """Parse an ``artkit ...`` line as the current CLI does (options, types, required values,
    the capabilities' main actions) without running it: (the command path, its parameters)."""
    argv = shlex.split(line)
    assert argv[0] == "artkit"
    cmd = typer.main.get_command(app)
    ctx = cmd.make_context("artkit", argv[1:])
    path = []
    while hasattr(cmd, "resolve_command"):  # a group: the sub-command (or the main action)
        name, cmd, rest = cmd.resolve_command(ctx, [*ctx._protected_args, *ctx.args])
        path.append(name)
        ctx = cmd.make_context(name, rest, parent=ctx)
    return path, {k: getattr(v, "value", v) for k, v in ctx.params.items()}


CPU = ["--device", "cpu"]
COMMANDS = [
    (jobs.doodle_command(engine="neural", preset="draft", iterations=7, seed=3, device=CPU),
     ["doodle", "paint"], dict(engine="neural", preset="draft", iterations=7, seed=3,
                               device="cpu", map_=Path("doodle.png"),
                               style_map=Path("style_sem.png"), output=Path("painting.png"))),
    (jobs.colorize_command(photo="photo.jpg", method="exemplar", hints=False,
                           references=["reference-1.png", "reference-2.jpg"], explain=False,
                           seed=1, device=[]),
     ["colorize", "run"], dict(method="exemplar", seed=1, inputs=[Path("photo.jpg")],
                               reference=[Path("reference-1.png"), Path("reference-2.jpg")])),
    (jobs.colorize_command(photo="photo.png", method="model", hints=False, references=[],
                           explain=True, seed=0, device=CPU),
     ["colorize", "run"], dict(method="model", explain=True, device="cpu")),
    (jobs.music_command(progression=None, chords="Dm7 G7 | Cmaj7", key=None, bars=8,
                        tempo=90.0, mood="relaxed", patches=2, transition="hard", seed=5,
                        model="jazz", device=[]),
     ["music", "compose"], dict(chords="Dm7 G7 | Cmaj7", bars=8, tempo=90.0, mood="relaxed",
                                patches=2, transition="hard", seed=5, wav=True, pianoroll=True,
                                musicxml=True, output=Path("piece.mid"))),
    (jobs.story_command(photo="photo.png", style="my passages.txt", length=40,
                        temperature=0.5, seed=2, device=CPU),
     ["story", "tell"], dict(photos=[Path("photo.png")], style="my passages.txt", length=40,
                             temperature=0.5, seed=2, output=Path("story.md"))),
    (jobs.explain_command(picture="picture.png", model="fashion-cnn", method="lrp_epsilon",
                          seed=4, device=[]),
     ["explain", "show"], dict(image=Path("picture.png"), model="fashion-cnn",
                               method=["lrp_epsilon"], seed=4, output=Path("explained.png"))),
]


@pytest.mark.parametrize("line,path,expected", COMMANDS,
                         ids=[f"{c[1][0]}-{i}" for i, c in enumerate(COMMANDS)])
def test_every_tab_s_command_parses_under_the_current_cli(line, path, expected):
    got_path, params = parse(line)
    assert got_path == path
    assert {k: params[k] for k in expected} == expected
    assert " compose " not in line, "the music command's main action needs no sub-command word"


def test_a_misspelt_option_does_not_parse():
    with pytest.raises(Exception, match="No such option"):
        parse("artkit music --barz 4 -o piece.mid")


def _photo(path, size=(64, 48)):
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8)).save(path)
    return path


@pytest.mark.weights
def test_explain_item_is_the_command_s_figure(studio, tmp_path, real_weights):
    real_weights("efficientnet-lite0")
    item = studio.explain(image=_photo(tmp_path / "p.png"), method="gradient", seed=0)
    manifest = item.manifest()
    assert manifest["command"] == "artkit explain"
    assert "efficientnet-lite0" in manifest["weights"]
    assert item.details["methods"] == ["gradient"]
    reproduce(item, "again.png")
    with Image.open(item.path("figure")) as a, Image.open(item.folder / "again.png") as b:
        assert np.array_equal(np.asarray(a.convert("RGB")), np.asarray(b.convert("RGB")))


@pytest.mark.weights
def test_story_item_is_the_command_s_story(studio, tmp_path, real_weights):
    for name in ("efficientnet-lite0", "minilm-l6", "smollm2-135m"):
        real_weights(name)
    item = studio.tell(photo=_photo(tmp_path / "p.png"), style="noir", length=20,
                       temperature=0.7, seed=1)
    manifest = item.manifest()
    assert manifest["command"] == "artkit story"
    assert {"efficientnet-lite0", "minilm-l6", "smollm2-135m"} <= set(manifest["weights"])
    assert item.details["title"] and item.details["text"]
    reproduce(item, "again.md")
    assert (item.folder / "again.md").read_text() == item.path("story").read_text()
