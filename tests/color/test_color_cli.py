"""``artkit colorize``: batches, bad files, overwrite rules, train and evaluate commands."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image
from typer.testing import CliRunner

from artkit.cli import app
from artkit.color.model import ColorModel, ColorModelConfig

runner = CliRunner()


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    path = tmp_path_factory.mktemp("model") / "tiny.safetensors"
    torch.manual_seed(0)
    ColorModel(ColorModelConfig(backbone="tiny", dim=8)).save(path)
    return path


def _gray(path, size=(40, 32)):
    arr = np.tile(np.linspace(30, 220, size[0]), (size[1], 1)).astype(np.uint8)
    Image.fromarray(arr, "L").save(path)
    return path


def _colour(path, size=(40, 32)):
    rng = np.random.default_rng(0)
    arr = np.zeros((size[1], size[0], 3), np.uint8)
    arr[:, : size[0] // 2] = (200, 40, 30)
    arr[:, size[0] // 2:] = (30, 60, 200)
    arr = np.clip(arr + rng.integers(0, 20, arr.shape), 0, 255).astype(np.uint8)
    Image.fromarray(arr).save(path)
    return path


def test_help_teaches():
    res = runner.invoke(app, ["colorize", "--help"])
    assert res.exit_code == 0 and "artkit colorize old.jpg -o" in res.output
    res = runner.invoke(app, ["colorize", "run", "--help"])
    assert res.exit_code == 0 and "--keep-color-input" in res.output


def test_batch_goes_past_a_bad_file(tmp_path, tiny_model):
    src = tmp_path / "in"
    src.mkdir()
    _gray(src / "a.png")
    _colour(src / "b.jpg")
    (src / "c.png").write_text("not an image")
    out = tmp_path / "out"
    res = runner.invoke(app, ["colorize", str(src), "-o", str(out), "--method", "model",
                              "--model", str(tiny_model), "--device", "cpu", "-q"])
    assert res.exit_code == 1
    assert "c.png" in res.output and "1 of 3" in res.output
    assert (out / "a.png").is_file() and (out / "b.png").is_file()
    assert not (out / "c.png").exists()
    manifest = json.loads((out / "a.json").read_text())
    assert manifest["extra"]["method"] == "model"
    assert manifest["extra"]["was_color"] is False
    assert json.loads((out / "b.json").read_text())["extra"]["was_color"] is True
    assert Image.open(out / "a.png").size == (40, 32)


def test_no_overwrite_without_force(tmp_path, tiny_model):
    src = _gray(tmp_path / "a.png")
    out = tmp_path / "a_col.png"
    out.write_bytes(b"keep me")
    args = ["colorize", str(src), "-o", str(out), "--model", str(tiny_model), "-q"]
    res = runner.invoke(app, args)
    assert res.exit_code == 1 and "already exists" in res.output
    assert out.read_bytes() == b"keep me"
    assert runner.invoke(app, args + ["--force"]).exit_code == 0
    assert Image.open(out).mode == "RGB"


def test_hints_from_the_command_line(tmp_path):
    src = _gray(tmp_path / "a.png")
    scribble = np.asarray(Image.open(src).convert("RGB")).copy()
    scribble[10:20, 2:8] = (220, 30, 30)
    Image.fromarray(scribble).save(tmp_path / "hints.png")
    out = tmp_path / "col.png"
    res = runner.invoke(app, ["colorize", str(src), "--hints", str(tmp_path / "hints.png"),
                              "-o", str(out), "-q"])
    assert res.exit_code == 0, res.output
    arr = np.asarray(Image.open(out)).astype(int)
    assert (arr[:, :10, 0] - arr[:, :10, 2]).mean() > 20  # reddish
    bad = tmp_path / "small.png"
    Image.fromarray(scribble[:10, :10]).save(bad)
    res = runner.invoke(app, ["colorize", str(src), "--hints", str(bad), "-o",
                              str(tmp_path / "x.png"), "-q"])
    assert res.exit_code == 1 and "hints image is 10×10 but the photo is 40×32" in res.output
    assert "Traceback" not in res.output


def test_keep_color_input(tmp_path, tiny_model):
    src = _colour(tmp_path / "c.png")
    out = tmp_path / "o.png"
    res = runner.invoke(app, ["colorize", str(src), "-o", str(out), "--keep-color-input",
                              "--model", str(tiny_model), "-q"])
    assert res.exit_code == 0
    assert np.array_equal(np.asarray(Image.open(out)), np.asarray(Image.open(src)))


def test_bad_inputs_are_one_line_errors(tmp_path, tiny_model):
    empty = tmp_path / "empty"
    empty.mkdir()
    res = runner.invoke(app, ["colorize", str(empty), "-o", str(tmp_path / "o")])
    assert res.exit_code == 1 and "holds no images" in res.output
    src = _gray(tmp_path / "a.png")
    res = runner.invoke(app, ["colorize", str(src), "-o", str(tmp_path / "o.png"),
                              "--method", "exemplar"])
    assert res.exit_code == 1 and "needs reference photos" in res.output
    other = tmp_path / "other.safetensors"
    from safetensors.torch import save_file

    save_file({"x": torch.zeros(2)}, str(other))
    res = runner.invoke(app, ["colorize", str(src), "-o", str(tmp_path / "o.png"), "--model",
                              str(other)])
    assert res.exit_code == 1 and "not an artkit colorize model" in res.output


def test_train_and_evaluate_commands(tmp_path):
    photos = tmp_path / "photos"
    photos.mkdir()
    for i in range(2):
        _colour(photos / f"p{i}.png", size=(48, 40))
    model = tmp_path / "m.safetensors"
    res = runner.invoke(app, ["colorize", "train", str(photos), "-o", str(model), "--epochs",
                              "1", "--size", "32", "--batch", "4", "--crops", "2",
                              "--backbone", "tiny", "-q"])
    assert res.exit_code == 0, res.output
    assert model.is_file() and (tmp_path / "m.json").is_file()
    res = runner.invoke(app, ["colorize", "evaluate", str(photos), "--method", "hints",
                              "--model", str(model), "--json", str(tmp_path / "e.json"), "-q"])
    assert res.exit_code == 0, res.output
    rows = json.loads((tmp_path / "e.json").read_text())["rows"]
    assert set(rows) == {"hints", "gray", "mean chroma"}
    assert rows["gray"]["colourfulness_ratio"] < 0.05
    assert rows["hints"]["auc"] > rows["gray"]["auc"]
