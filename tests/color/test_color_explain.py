"""``artkit colorize --explain``: the GroupNorm rule, the read-out, regions, patterns, the CLI."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn
from typer.testing import CliRunner

from artkit.cli import app
from artkit.color.explain import (colour_name, colour_regions, explain_colors,
                                  fit_color_patterns, load_color_patterns, patterns_path,
                                  readout, readout_coefficients)
from artkit.color.model import ColorModel, ColorModelConfig, annealed_mean, gamut_bins
from artkit.core.errors import ArtkitError
from artkit.explain.attribute import attribute
from artkit.explain.graph import fingerprint, trace
from artkit.explain.patterns import Patterns

runner = CliRunner()


def _photos(folder, n=2, size=(56, 48)):
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for i in range(n):
        arr = np.zeros((size[1], size[0], 3), np.uint8)
        arr[:, : size[0] // 2] = (200, 60 + 40 * i, 30)
        arr[:, size[0] // 2:] = (30, 90, 200)
        arr = np.clip(arr + rng.integers(0, 30, arr.shape), 0, 255).astype(np.uint8)
        Image.fromarray(arr).save(folder / f"p{i}.png")
    return folder


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """A tiny colouriser file and a folder of colour photos."""
    root = tmp_path_factory.mktemp("explain")
    path = root / "tiny.safetensors"
    torch.manual_seed(0)
    ColorModel(ColorModelConfig(backbone="tiny", dim=8)).save(path)
    return path, _photos(root / "photos")


def test_groupnorm_is_its_frozen_scaling_for_the_pattern_methods():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(2, 4, 1), nn.GroupNorm(2, 4), nn.ReLU(), nn.Conv2d(4, 3, 3),
                          nn.AdaptiveAvgPool2d(1), nn.Flatten()).eval()
    with torch.no_grad():
        model[1].weight.uniform_(0.5, 2.0)
    x = torch.randn(1, 2, 6, 6)
    # PatternNet with patterns equal to the weights is the gradient of the network in which the
    # GroupNorm's mean and deviation are constants.
    pats = Patterns({"0": model[0].weight.detach(), "3": model[3].weight.detach()}, {}, {},
                    {"0": False, "3": False}, fingerprint(model))
    got = attribute(model, x, "patternnet", target=1, patterns=pats)

    xi = x.clone().requires_grad_(True)
    h = model[0](xi)
    g = h.reshape(1, 2, -1)
    mean = g.mean(2, keepdim=True).detach()
    std = (g.var(2, unbiased=False, keepdim=True) + model[1].eps).sqrt().detach()
    h = ((g - mean) / std).reshape_as(h) * model[1].weight.view(1, -1, 1, 1) \
        + model[1].bias.view(1, -1, 1, 1)
    out = model[5](model[4](model[3](torch.relu(h))))
    (want,) = torch.autograd.grad(out[0, 1], xi)
    assert torch.allclose(got, want, atol=1e-5)
    # The plain gradient still differentiates the statistics, so it differs.
    grad = attribute(model, x, "gradient", target=1)
    assert not torch.allclose(grad, want, atol=1e-4)


def test_readout_coefficients_are_the_gradient_of_the_region_chroma():
    torch.manual_seed(0)
    bins = gamut_bins()
    z = torch.randn(1, len(bins), 4, 5, dtype=torch.float64)
    ab = annealed_mean(z, bins.double(), 0.38)[0]  # (2, 4, 5)
    rgb = torch.rand(3, 4, 5)
    regions = colour_regions(ab.float(), rgb, k=2, min_chroma=0.0, min_share=0.0)
    assert regions
    coeff = readout_coefficients(z, bins, 0.38, regions, min_chroma=0.0).double()
    assert coeff.shape == (1 + len(regions), len(bins), 4, 5)
    for k, r in enumerate(regions, start=1):
        zi = z.clone().requires_grad_(True)
        u = torch.tensor(r.ab, dtype=torch.float64)
        u = u / u.norm()
        along = torch.einsum("chw,c->hw", annealed_mean(zi, bins.double(), 0.38)[0], u)
        m = r.mask.double()
        (grad,) = torch.autograd.grad((along * m).sum() / m.sum(), zi)
        assert torch.allclose(coeff[k], grad[0], rtol=1e-5, atol=1e-7)
    # Shifting every logit of a pixel leaves the colour, and the read-out, unchanged.
    assert torch.allclose(coeff.sum(dim=1), torch.zeros(1 + len(regions), 4, 5, dtype=torch.float64),
                          atol=1e-6)


def test_colour_regions_and_names():
    ab = torch.zeros(2, 6, 8)
    ab[:, :, :4] = torch.tensor([50.0, 40.0])[:, None, None]  # red-orange on the left
    ab[:, :, 4:] = torch.tensor([0.0, -45.0])[:, None, None]  # blue on the right
    rgb = torch.zeros(3, 6, 8)
    rgb[:, :, :4] = torch.tensor([0.85, 0.25, 0.1])[:, None, None]
    rgb[:, :, 4:] = torch.tensor([0.1, 0.35, 0.85])[:, None, None]
    regions = colour_regions(ab, rgb, k=3)
    assert [r.name for r in regions] in (["red", "blue"], ["blue", "red"])
    assert sorted(round(r.share, 3) for r in regions) == [0.5, 0.5]
    left = next(r for r in regions if r.name == "red")
    assert left.mask[:, :4].all() and not left.mask[:, 4:].any()
    assert colour_regions(torch.zeros(2, 6, 8), rgb) == []
    assert colour_name((120, 80, 30)) == "brown" and colour_name((128, 128, 130)) == "gray"
    assert colour_name((60, 160, 60)) == "green" and colour_name((240, 200, 40)) == "yellow"


def test_readout_is_traceable_and_fits_the_model(tiny):
    path, _ = tiny
    from artkit.color.model import load_model

    cm, _ = load_model(path)
    net = readout(cm)
    L = torch.rand(1, 1, 32, 40) * 100
    x = ColorModel.gray_rgb(L)
    graph = trace(net, x)  # no unsupported layer: GroupNorm and ReLU modules included
    names = {i.name for i in graph.layers}
    assert "color.decoder.head" in names and "color.decoder.refine.0" in names
    rect = {i.name: i.rectified for i in graph.layers}
    assert rect["color.decoder.refine.0"] and not rect["color.decoder.head"]
    assert len(graph.norms) == 2
    with torch.no_grad():  # the read-out network computes the colouriser's own logits
        z = net.logits(x)
        assert torch.allclose(cm.decode(z), cm(L), atol=1e-2)
        assert torch.allclose(net(x), z.mean(dim=(2, 3)))


def test_explain_end_to_end_on_a_tiny_model(tiny, tmp_path):
    path, photos = tiny
    from artkit.color.api import get_model

    cm, _ = get_model(path)
    pats = fit_color_patterns(cm, photos, crops=16, size=48)
    assert pats.meta["photos"] == 2 and "color.decoder.head" in pats.linear
    pats.save(patterns_path(path), dtype="int8")
    loaded = load_color_patterns(readout(cm), path)
    photo = Image.open(photos / "p0.png")
    for method in ("lrp_epsilon", "patternattribution", "patternnet", "gradient"):
        ex = explain_colors(photo, model=path, method=method, render_size=48, patterns=loaded)
        assert list(ex.maps)[0] == "colour" and len(ex.maps) == 1 + len(ex.regions)
        for attr in ex.maps.values():
            assert attr.shape == ex.gray.shape[1:] and torch.isfinite(attr).all()
        pic = ex.picture()
        assert pic.width > 3 * pic.height > 0
    with pytest.raises(ArtkitError, match="unknown explain method"):
        explain_colors(photo, model=path, method="deconv")


def test_patterns_of_another_model_are_refused(tiny, tmp_path):
    path, photos = tiny
    from artkit.color.model import load_model

    other = tmp_path / "other.safetensors"
    torch.manual_seed(1)
    ColorModel(ColorModelConfig(backbone="tiny", dim=8)).save(other)
    net = readout(load_model(other)[0])
    with pytest.raises(ArtkitError, match="no PatternNet patterns"):
        load_color_patterns(net, other)
    fit_color_patterns(load_model(path)[0], photos, crops=16, size=48).save(patterns_path(other))
    with pytest.raises(ArtkitError, match="belong to another colorize model"):
        load_color_patterns(net, other)
    regression = ColorModel(ColorModelConfig(backbone="tiny", dim=8, loss="regression"))
    with pytest.raises(ArtkitError, match="only classification"):
        readout(regression)


def test_cli_explain(tmp_path):
    photos = _photos(tmp_path / "photos")
    model = tmp_path / "m.safetensors"
    res = runner.invoke(app, ["colorize", "train", str(photos), "-o", str(model), "--epochs", "1",
                              "--size", "32", "--batch", "4", "--crops", "2", "--backbone",
                              "tiny", "--patterns", "-q"])
    assert res.exit_code == 0, res.output
    assert patterns_path(model).is_file()  # train --patterns fits them itself
    out = tmp_path / "out" / "c.png"
    args = ["colorize", str(photos / "p1.png"), "-o", str(out), "--model", str(model),
            "--explain", "--explain-method", "patternattribution", "--render-size", "48", "-q"]
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.output
    pic = out.with_name("c.explain.png")
    assert out.is_file() and pic.is_file() and Image.open(pic).width > 500
    res = runner.invoke(app, args)  # both exist: refused without --force
    assert res.exit_code == 1 and "--force" in res.output
    one_row = Image.open(pic).height
    # By default: PatternNet's signal and LRP-ε's evidence, a row each.
    res = runner.invoke(app, args[:7] + ["--render-size", "48", "--force", "-q"])
    assert res.exit_code == 0, res.output
    assert Image.open(pic).height > 1.6 * one_row
    # --explain with hints or references is a clear error before anything is written.
    res = runner.invoke(app, ["colorize", str(photos / "p1.png"), "-o", str(tmp_path / "h.png"),
                              "--reference", str(photos / "p0.png"), "--explain", "-q"])
    assert res.exit_code == 1 and "--explain explains the learned model" in res.output
    assert not (tmp_path / "h.png").exists()
    # A model without patterns: the default method needs none; PatternNet says how to fit them.
    bare = tmp_path / "bare.safetensors"
    torch.manual_seed(2)
    ColorModel(ColorModelConfig(backbone="tiny", dim=8)).save(bare)
    res = runner.invoke(app, ["colorize", str(photos / "p1.png"), "-o", str(tmp_path / "d.png"),
                              "--model", str(bare), "--explain", "--render-size", "48"])
    assert res.exit_code == 0, res.output
    assert "lrp_epsilon only" in res.output and (tmp_path / "d.explain.png").is_file()
    res = runner.invoke(app, ["colorize", str(photos / "p1.png"), "-o", str(tmp_path / "b.png"),
                              "--model", str(bare), "--explain", "--explain-method", "patternnet",
                              "-q"])
    assert res.exit_code == 1 and "artkit colorize fit-patterns" in res.output
    assert "Traceback" not in res.output and not (tmp_path / "b.png").exists()
    res = runner.invoke(app, ["colorize", "fit-patterns", str(photos), "--model", str(bare),
                              "--crops", "16", "-q"])
    assert res.exit_code == 0, res.output
    res = runner.invoke(app, ["colorize", str(photos / "p1.png"), "-o", str(tmp_path / "b.png"),
                              "--model", str(bare), "--explain", "--explain-method", "patternnet",
                              "--render-size", "48", "-q"])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "b.explain.png").is_file()


@pytest.mark.weights
def test_shipped_patterns_fit_the_shipped_model(real_weights):
    real_weights("efficientnet-lite0")
    import skimage.data

    from artkit.color.api import get_model

    net = readout(get_model(None)[0])
    pats = load_color_patterns(net, None)  # raises if the fingerprint does not match
    photo = skimage.data.coffee()[::3, ::3]
    ex = explain_colors(photo, method="patternattribution", patterns=pats, render_size=128)
    assert ex.regions and all(torch.isfinite(a).all() for a in ex.maps.values())
    heat = ex.maps["colour"].sum(0)
    assert float(heat.abs().sum()) > 0
