"""``artkit explain`` on the real networks (skipped unless their weights are cached)."""

import pytest
import torch
from PIL import Image
from typer.testing import CliRunner

from artkit.cli import app

pytestmark = pytest.mark.weights


def test_shipped_efficientnet_patterns_match_the_real_weights(real_weights, tmp_path):
    real_weights("efficientnet-lite0")
    skimage = pytest.importorskip("skimage")
    from artkit.explain.api import explain, load_patterns
    from artkit.explain.models import load_model

    ex = load_model("efficientnet-lite0")
    pats = load_patterns(ex)  # raises if the fingerprint does not match
    assert pats is not None and len(pats.linear) == 50  # stem, 15 expand, 16 depthwise, 16 project, head, fc
    photo = Image.fromarray(skimage.data.chelsea())
    res = explain(ex, ex.preprocess(photo), ("patternattribution", "patternnet"), patterns=pats)
    assert "cat" in res.label
    for m in res.maps.values():
        assert m.shape == (3, 224, 224) and torch.isfinite(m).all() and m.abs().sum() > 0


def test_the_5k_crop_patterns_ship_by_name_and_differ_from_the_default(real_weights, tmp_path):
    real_weights("efficientnet-lite0")
    skimage = pytest.importorskip("skimage")
    from artkit.explain.api import load_patterns
    from artkit.explain.models import load_model

    ex = load_model("efficientnet-lite0")
    default, wide = load_patterns(ex), load_patterns(ex, "photos5k")  # fingerprints checked
    assert wide.meta["crops"] >= 5000 and default.meta["images"] == 240
    assert set(wide.linear) == set(default.linear)
    assert not torch.equal(wide.linear["_fc"], default.linear["_fc"])
    path = tmp_path / "cat.png"
    Image.fromarray(skimage.data.chelsea()).save(path)
    res = CliRunner().invoke(app, ["explain", "show", str(path), "--patterns", "photos5k", "--method",
                                   "patternattribution", "-o", str(tmp_path / "pa.png"), "-q"])
    assert res.exit_code == 0, res.output
    manifest = (tmp_path / "pa.json").read_text()
    assert "photos5k.patterns.safetensors" in manifest  # the set used is recorded
    res = CliRunner().invoke(app, ["explain", "show", str(path), "--patterns", "photos9k",
                                   "-o", str(tmp_path / "x.png")])
    assert res.exit_code == 1 and "default, photos5k" in res.output
    assert not (tmp_path / "x.png").exists()


def test_vgg16_hed_channels_gradient(real_weights, tmp_path):
    real_weights("vgg16-hed")
    skimage = pytest.importorskip("skimage")
    path = tmp_path / "coffee.png"
    Image.fromarray(skimage.data.coffee()).save(path)
    out = tmp_path / "v.png"
    res = CliRunner().invoke(app, ["explain", "show", str(path), "--model", "vgg16-hed", "--method",
                                   "gradient", "-o", str(out), "-q"])
    assert res.exit_code == 0, res.output
    assert Image.open(out).size == (224, 224)
    res = CliRunner().invoke(app, ["explain", "show", str(path), "--model", "vgg16-hed", "--method",
                                   "patternnet", "-o", str(tmp_path / "w.png")])
    assert res.exit_code == 1 and "needs patterns" in res.output
