"""``artkit colorize``: batches, output names, what is never overwritten, bad files, train and
evaluate. Issue 15's items are named where a test covers one."""

from __future__ import annotations

import json
import struct
import zlib

import numpy as np
import pytest
from color_helpers import colour_photo, gray_photo
from PIL import Image
from typer.testing import CliRunner

from artkit.cli import app
from artkit.color.batch import gather_inputs, plan_outputs

runner = CliRunner()


def _run(*args, model=None):
    extra = ["--model", str(model)] if model is not None else []
    return runner.invoke(app, ["colorize", *map(str, args), *extra, "--device", "cpu"])


def _bomb(path, side=100_000):
    """A tiny PNG (66 bytes) whose header claims ``side``×``side`` pixels (a decompression bomb)."""
    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    ihdr = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
                     + chunk(b"IDAT", zlib.compress(b"\x00")) + chunk(b"IEND", b""))
    return path


def test_help_teaches():
    res = runner.invoke(app, ["colorize", "--help"])
    assert res.exit_code == 0 and "artkit colorize old.jpg -o" in res.output
    assert "--keep-color-input" in res.output and "train" in res.output  # main action + commands
    assert "Usage: artkit colorize [OPTIONS] {IN}..." in res.output  # no COMMAND needed


def test_batch_goes_past_a_bad_file_and_a_decompression_bomb(tmp_path, tiny_path):
    """Issue 15 item 6: a 69-byte PNG claiming 100000×100000 is one line; the batch goes on."""
    src = tmp_path / "in"
    src.mkdir()
    gray_photo(src / "a.png")
    colour_photo(src / "b.jpg")
    (src / "c.png").write_text("not an image")
    bomb = _bomb(src / "d.png")
    assert bomb.stat().st_size < 100  # a few bytes claiming ten gigapixels
    out = tmp_path / "out"
    res = _run(src, "-o", out, "--method", "model", "-q", model=tiny_path)
    assert res.exit_code == 1
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 3 and "internal error" not in res.stderr, res.stderr
    assert "c.png" in lines[0] and "d.png" in lines[1] and "more than artkit takes" in lines[1]
    assert lines[2] == f"error: 2 input(s) failed: {src / 'c.png'}, {src / 'd.png'}"
    assert (out / "a.png").is_file() and (out / "b.png").is_file()
    assert not (out / "c.png").exists() and not (out / "d.png").exists()
    manifest = json.loads((out / "a.json").read_text())
    assert manifest["extra"]["method"] == "model" and manifest["extra"]["was_color"] is False
    assert set(manifest["weights"]) == {"colorize:tiny.safetensors"}
    assert manifest["device"] == "cpu" and manifest["extra"]["input"] == str(src / "a.png")
    assert json.loads((out / "b.json").read_text())["extra"]["was_color"] is True
    assert Image.open(out / "a.png").size == (40, 32)


def test_batch_outputs_are_unique_against_outputs_and_inputs(tmp_path, tiny_path):
    """Issue 15 item 2: a.png, a_2.png and sub/a.png given as files are three outputs."""
    src = tmp_path / "in"
    (src / "sub").mkdir(parents=True)
    files = [gray_photo(src / "a.png"), gray_photo(src / "a_2.png", size=(24, 16)),
             gray_photo(src / "sub" / "a.png", size=(16, 24))]
    out = tmp_path / "out"
    res = _run(*files, "-o", out, "-q", model=tiny_path)
    assert res.exit_code == 0, res.output
    sizes = {p.name: Image.open(p).size for p in out.glob("*.png")}
    assert sizes == {"a.png": (40, 32), "a_2.png": (24, 16), "a_3.png": (16, 24)}
    assert sorted(p.name for p in out.glob("*.json")) == ["a.json", "a_2.json", "a_3.json"]
    # A folder keeps its sub-folders, so equal names in two folders stay apart.
    res = _run(src, "-o", tmp_path / "tree", "-q", model=tiny_path)
    assert res.exit_code == 0, res.output
    got = sorted(str(p.relative_to(tmp_path / "tree")) for p in (tmp_path / "tree").rglob("*.png"))
    assert got == ["a.png", "a_2.png", "sub/a.png"]


def test_names_skip_manifests_explanations_and_inputs(tmp_path):
    a, b = tmp_path / "x" / "a.png", tmp_path / "y" / "a.explain.png"
    plans = plan_outputs([(None, [a]), (None, [b])], tmp_path / "out", explain=True)
    assert [(p.dst.name, p.explain.name) for p in plans] == [
        ("a.png", "a.explain.png"), ("a.explain_2.png", "a.explain_2.explain.png")]
    c = tmp_path / "out" / "a.png"  # an input inside the output folder is never written
    plans = plan_outputs([(None, [a]), (None, [c])], tmp_path / "out")
    assert [p.dst.name for p in plans] == ["a_2.png", "a_3.png"]


def test_output_folder_equal_to_or_inside_the_input_folder(tmp_path, tiny_path):
    """Issue 15 item 2: -o equal to the input folder never overwrites an input (even with
    --force); an output folder inside the input folder is never read as input."""
    src = tmp_path / "in"
    src.mkdir()
    gray_photo(src / "a.png")
    before = (src / "a.png").read_bytes()
    res = _run(src, "-o", src, "--force", model=tiny_path)
    assert res.exit_code == 1 and "is the input folder" in res.stderr
    assert (src / "a.png").read_bytes() == before and sorted(p.name for p in src.iterdir()) == [
        "a.png"]
    res = _run(src / "a.png", "-o", src, "--force", "-q", model=tiny_path)  # a file into its folder
    assert res.exit_code == 0 and (src / "a.png").read_bytes() == before
    assert (src / "a_2.png").is_file()
    (src / "a_2.png").unlink()
    (src / "a_2.json").unlink()
    inside = src / "coloured"
    for _ in range(2):  # the second run must not colour the first run's results
        res = _run(src, "-o", inside, "--force", "-q", model=tiny_path)
        assert res.exit_code == 0, res.output
    assert sorted(p.name for p in inside.rglob("*")) == ["a.json", "a.png"]
    assert [f.name for _, fs in gather_inputs([src], inside) for f in fs] == ["a.png"]


def test_output_file_of_an_unwritable_type_is_a_clear_error(tmp_path, tiny_path):
    """Issue 15 item 3: -o out.bmp for one input is an error, not a folder named out.bmp."""
    src = gray_photo(tmp_path / "a.png")
    res = _run(src, "-o", tmp_path / "out.bmp", model=tiny_path)
    assert res.exit_code == 1
    assert "artkit writes .jpeg, .jpg, .png, .webp images, not .bmp" in res.stderr
    assert not (tmp_path / "out.bmp").exists()
    res = _run(src, gray_photo(tmp_path / "b.png"), "-o", tmp_path / "o.png", model=tiny_path)
    assert res.exit_code == 1 and "2 inputs need an output folder" in res.stderr


def test_outputs_are_checked_before_any_work(tmp_path, monkeypatch):
    """Issue 15 item 14: an output that cannot be written fails before networks load."""
    import artkit.color.api as api

    def never(*a, **k):
        raise AssertionError("the networks were loaded before the outputs were checked")

    monkeypatch.setattr(api.Colorizer, "__init__", never)
    src = gray_photo(tmp_path / "a.png")
    (tmp_path / "file").write_text("x")
    res = _run(src, "-o", tmp_path / "file" / "o.png")
    assert res.exit_code == 1 and "is a file, not a folder" in res.stderr
    (tmp_path / "o.json").write_text("{}")  # the manifest's place is taken
    res = _run(src, "-o", tmp_path / "o.png")
    assert res.exit_code == 1 and "manifest of o.png" in res.stderr and "already exists" in \
        res.stderr
    assert (tmp_path / "o.json").read_text() == "{}"
    res = _run(src, "-o", tmp_path / "x.png", "--saturation", "3")
    assert res.exit_code == 1 and "--saturation must be ≤ 2 (got 3)" in res.stderr
    res = _run(src, "-o", tmp_path / "x.png", "--model", tmp_path / "missing.safetensors")
    assert res.exit_code == 1 and "does not exist" in res.stderr


def test_no_overwrite_without_force(tmp_path, tiny_path):
    src = gray_photo(tmp_path / "a.png")
    out = tmp_path / "a_col.png"
    out.write_bytes(b"keep me")
    res = _run(src, "-o", out, "-q", model=tiny_path)
    assert res.exit_code == 1 and "already exists" in res.output
    assert out.read_bytes() == b"keep me"
    assert _run(src, "-o", out, "--force", "-q", model=tiny_path).exit_code == 0
    assert Image.open(out).mode == "RGB"


def test_hints_from_the_command_line(tmp_path):
    src = gray_photo(tmp_path / "a.png")
    scribble = np.asarray(Image.open(src).convert("RGB")).copy()
    scribble[10:20, 2:8] = (220, 30, 30)
    Image.fromarray(scribble).save(tmp_path / "hints.png")
    out = tmp_path / "col.png"
    res = _run(src, "--hints", tmp_path / "hints.png", "-o", out, "-q")
    assert res.exit_code == 0, res.output
    arr = np.asarray(Image.open(out)).astype(int)
    assert (arr[:, :10, 0] - arr[:, :10, 2]).mean() > 20  # reddish
    assert json.loads(out.with_suffix(".json").read_text())["weights"] == {}  # no network
    bad = tmp_path / "small.png"
    Image.fromarray(scribble[:10, :10]).save(bad)
    res = _run(src, "--hints", bad, "-o", tmp_path / "x.png", "-q")
    assert res.exit_code == 1 and "hints image is 10×10 but the photo is 40×32" in res.output
    assert "Traceback" not in res.output


def test_keep_color_input(tmp_path, tiny_path):
    src = colour_photo(tmp_path / "c.png")
    out = tmp_path / "o.png"
    res = _run(src, "-o", out, "--keep-color-input", "-q", model=tiny_path)
    assert res.exit_code == 0
    assert np.array_equal(np.asarray(Image.open(out)), np.asarray(Image.open(src)))


def test_bad_inputs_are_one_line_errors(tmp_path, tiny_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    res = _run(empty, "-o", tmp_path / "o")
    assert res.exit_code == 1 and "holds no images" in res.output
    src = gray_photo(tmp_path / "a.png")
    res = _run(src, "-o", tmp_path / "o.png", "--method", "exemplar")
    assert res.exit_code == 1 and "needs reference photos" in res.output
    other = tmp_path / "other.safetensors"
    from safetensors.torch import save_file
    import torch

    save_file({"x": torch.zeros(2)}, str(other))
    res = _run(src, "-o", tmp_path / "o.png", model=other)
    assert res.exit_code == 1 and "not a file artkit wrote, not a colorize model" in res.output
    assert len(res.stderr.strip().splitlines()) == 1


def test_train_and_evaluate_commands(tmp_path, photos_dir):
    model = tmp_path / "m.safetensors"
    args = ["colorize", "train", str(photos_dir), "-o", str(model), "--epochs", "1", "--size",
            "32", "--batch", "4", "--crops", "2", "--backbone", "tiny", "--device", "cpu", "-q"]
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.output
    manifest = json.loads((tmp_path / "m.json").read_text())
    assert manifest["device"] == "cpu" and manifest["extra"]["photos"] == ["p0.png", "p1.png"]
    assert (tmp_path / "m.ckpt.safetensors").is_file()
    res = runner.invoke(app, args)  # a checkpoint and a model of an earlier run are kept
    assert res.exit_code == 1 and "--resume" in res.output
    res = runner.invoke(app, args[:5] + ["--epochs", "2"] + args[7:] + ["--resume"])
    assert res.exit_code == 0, res.output  # --resume replaces the model it continues
    assert json.loads((tmp_path / "m.json").read_text())["params"]["epochs"] == 2
    res = runner.invoke(app, args[:7] + ["--size", "36"] + args[9:])
    assert res.exit_code == 1 and "--size must be a multiple of 8" in res.output
    res = runner.invoke(app, ["colorize", "evaluate", str(photos_dir), "--method", "hints",
                              "--model", str(model), "-o", str(tmp_path / "e.json"), "--json",
                              "--device", "cpu", "-q"])
    assert res.exit_code == 0, res.output
    rows = json.loads(res.stdout)["rows"]
    assert rows == json.loads((tmp_path / "e.json").read_text())["rows"]
    assert set(rows) == {"hints", "gray", "mean chroma"}
    assert rows["gray"]["colourfulness_ratio"] < 0.05
    assert rows["hints"]["auc"] > rows["gray"]["auc"]
    assert (tmp_path / "e.manifest.json").is_file()


@pytest.mark.skipif(not __import__("torch").cuda.is_available(), reason="needs a CUDA device")
def test_train_honours_the_device(tmp_path, photos_dir):
    """Issue 14: `colorize train --device` was accepted and ignored (its manifest said cpu)."""
    res = runner.invoke(app, ["colorize", "train", str(photos_dir), "-o",
                              str(tmp_path / "m.safetensors"), "--epochs", "1", "--size", "32",
                              "--batch", "4", "--crops", "2", "--backbone", "tiny", "--device",
                              "cuda", "-q"])
    assert res.exit_code == 0, res.output
    assert json.loads((tmp_path / "m.json").read_text())["device"].startswith("cuda")
