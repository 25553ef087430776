"""``artkit explain`` end to end on the shipped Fashion-MNIST CNN (no downloads needed)."""

import json

import numpy as np
import pytest
import torch
from PIL import Image
from typer.testing import CliRunner

from artkit.cli import app
from artkit.explain.api import explain, load_patterns
from artkit.explain.models import load_model

runner = CliRunner()


def _shirt(path, light_background=True):
    a = np.full((40, 40), 230 if light_background else 10, np.uint8)
    a[8:34, 12:28] = 60 if light_background else 200  # a body
    a[8:16, 4:36] = 60 if light_background else 200  # sleeves
    Image.fromarray(a).save(path)
    return path


def test_shipped_fashion_cnn_and_patterns_fit_together():
    ex = load_model("fashion-cnn")
    pats = load_patterns(ex)
    assert pats is not None and set(pats.linear) == {"features.0", "features.3", "classifier.1", "classifier.4"}
    x = torch.zeros(1, 1, 28, 28)
    x[0, 0, 4:26, 6:22] = 0.8
    res = explain(ex, x, ("patternattribution", "patternnet", "gradient"), patterns=pats)
    for m in res.maps.values():
        assert m.shape == (1, 28, 28) and torch.isfinite(m).all()
    # PatternAttribution puts its evidence on the garment, not on the empty background
    pa = res.maps["patternattribution"][0].abs()
    assert pa[4:26, 6:22].mean() > 2 * pa[:, :3].mean()


def test_show_all_methods_writes_png_and_manifest(tmp_path):
    img = _shirt(tmp_path / "shirt.png")
    out = tmp_path / "out" / "shirt-explained.png"
    res = runner.invoke(app, ["explain", "show", str(img), "--model", "fashion-cnn", "-o", str(out), "-q"])
    assert res.exit_code == 0, res.output
    pic = Image.open(out)
    assert pic.width > 3 * pic.height  # a row of methods
    manifest = json.loads(out.with_suffix(".json").read_text())
    assert manifest["params"]["model"] == "fashion-cnn"
    # the same output again needs --force, and nothing is changed
    before = out.read_bytes()
    res = runner.invoke(app, ["explain", "show", str(img), "--model", "fashion-cnn", "-o", str(out)])
    assert res.exit_code == 1 and "exists" in res.output and out.read_bytes() == before


def test_show_single_method_and_overlay(tmp_path):
    img = _shirt(tmp_path / "s.png")
    for extra, name in ((["--method", "patternattribution"], "pa.png"),
                        (["--method", "gradient", "--overlay", "--target", "3"], "ov.png")):
        res = runner.invoke(app, ["explain", "show", str(img), "--model", "fashion-cnn", "-o",
                                  str(tmp_path / name), "-q", *extra])
        assert res.exit_code == 0, res.output
        assert Image.open(tmp_path / name).size[0] >= 224


@pytest.mark.parametrize("args,message", [
    (["--model", "fashion-cnn", "--target", "10"], "target 10 is out of range"),
    (["--model", "fashion-cnn", "--method", "deconvnet"], "unknown attribution method 'deconvnet'"),
    (["--model", "resnet50"], "unknown model 'resnet50'"),
    (["--model", "fashion-cnn", "--target", "cat"], "--target must be 'top' or an integer"),
])
def test_show_bad_options(tmp_path, args, message):
    img = _shirt(tmp_path / "s.png")
    out = tmp_path / "o.png"
    res = runner.invoke(app, ["explain", "show", str(img), "-o", str(out), *args])
    assert res.exit_code == 1 and message in res.output
    assert "Traceback" not in res.output and not out.exists()


def test_show_bad_image_and_wrong_patterns(tmp_path):
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not an image")
    res = runner.invoke(app, ["explain", "show", str(bad), "--model", "fashion-cnn", "-o", str(tmp_path / "o.png")])
    assert res.exit_code == 1 and "Traceback" not in res.output
    img = _shirt(tmp_path / "s.png")
    from artkit.explain import fit_patterns
    from torch import nn

    other = fit_patterns(nn.Sequential(nn.Flatten(), nn.Linear(4, 2)), [torch.randn(8, 4)])
    other.save(tmp_path / "other.safetensors")
    res = runner.invoke(app, ["explain", "show", str(img), "--model", "fashion-cnn", "-o",
                              str(tmp_path / "o.png"), "--patterns", str(tmp_path / "other.safetensors")])
    assert res.exit_code == 1 and "fitted on another model" in res.output


def test_fit_and_evaluate_on_a_folder(tmp_path):
    folder = tmp_path / "imgs"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(6):
        _shirt(folder / f"a{i}.png", light_background=bool(i % 2))
        Image.fromarray(rng.integers(0, 255, (30, 30), dtype=np.uint8)).save(folder / f"n{i}.png")
    (folder / "broken.png").write_bytes(b"junk")
    pats = tmp_path / "p.safetensors"
    res = runner.invoke(app, ["explain", "fit", "--model", "fashion-cnn", "--data", str(folder),
                              "-o", str(pats), "-q", "--crops", "2"])
    assert res.exit_code == 0, res.output
    res = runner.invoke(app, ["explain", "show", str(folder / "a0.png"), "--model", "fashion-cnn",
                              "--patterns", str(pats), "-o", str(tmp_path / "x.png"), "-q"])
    assert res.exit_code == 0, res.output
    out = tmp_path / "eval"
    res = runner.invoke(app, ["explain", "evaluate", "--model", "fashion-cnn", "--data", str(folder),
                              "-o", str(out), "--images", "2", "--steps", "4", "--rows", "400", "--neurons", "2", "-q"])
    assert res.exit_code == 0, res.output
    rep = json.loads((out / "report.json").read_text())
    assert set(rep["degradation"]) >= {"patternattribution", "gradient", "random"}
    assert all(len(v["curve"]) == 5 for v in rep["degradation"].values())
    assert set(rep["estimator_quality"]) == {"features.0", "features.3", "classifier.1", "classifier.4"}
    assert (out / "estimators.png").exists() and (out / "degradation.png").exists()


def test_fit_errors(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    res = runner.invoke(app, ["explain", "fit", "--model", "fashion-cnn", "--data", str(empty), "-o", str(tmp_path / "p.safetensors")])
    assert res.exit_code == 1 and "no readable images" in res.output
    res = runner.invoke(app, ["explain", "fit", "--model", "fashion-cnn", "--data", str(tmp_path / "nope"), "-o", str(tmp_path / "p.safetensors")])
    assert res.exit_code == 1 and "does not exist" in res.output
