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

import numpy as np
import pytest
from PIL import Image, ImageDraw
from typer.testing import CliRunner

from artkit.cli import app
from artkit.core.errors import ArtkitError
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
    item = studio.compose(progression="blues", bars=1, seed=2)
    with wave.open(str(item.path("wav"))) as w:
        seconds = w.getnframes() / w.getframerate()
    assert abs(seconds - item.details["duration"]) < 1e-3 and seconds > 1
    for role in ("midi", "pianoroll", "musicxml", "manifest"):
        assert item.path(role).is_file(), role
    assert "--bars 1" in item.command and "--wav" in item.command
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
