"""``artkit colorize --explain``: the GroupNorm rule, the read-out, regions, patterns, the CLI."""

from __future__ import annotations

import json

import pytest
import torch
from color_helpers import tiny_model
from PIL import Image
from safetensors import safe_open
from safetensors.torch import save_file
from torch import nn
from typer.testing import CliRunner

from artkit.cli import app
from artkit.color import Colorizer
from artkit.color.explain import (colour_degradation, colour_name, colour_regions,
                                  explain_colors, readout, readout_coefficients)
from artkit.color.model import ColorModel, annealed_mean, gamut_bins
from artkit.color.model_file import load_model
from artkit.color.patterns import (fit_color_patterns, load_color_patterns, patterns_path,
                                   save_color_patterns)
from artkit.core.artifacts import load_artifact, save_artifact
from artkit.core.errors import ArtkitError
from artkit.explain import Patterns, attribute, trace

runner = CliRunner()


def _fingerprint(model: nn.Module) -> str:
    """Patterns fitted on ``model`` know its fingerprint (explain's, through fit_patterns)."""
    from artkit.explain import fit_patterns

    return fit_patterns(model, [torch.randn(1, 2, 6, 6)], "linear").fingerprint


@pytest.fixture(scope="module")
def tiny(tmp_path_factory, photos_dir):
    """A tiny colouriser file with its patterns beside it, and a folder of colour photos."""
    path = tiny_model(tmp_path_factory.mktemp("explain") / "tiny.safetensors")
    net = readout(load_model(path)[0])
    pats = fit_color_patterns(net, photos_dir, crops=16, size=48)
    save_color_patterns(pats, patterns_path(path))
    return path, photos_dir


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
                    {"0": False, "3": False}, _fingerprint(model))
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


def test_explain_end_to_end_on_a_tiny_model(tiny):
    path, photos = tiny
    c = Colorizer(path, device="cpu", methods=("model",))
    photo = Image.open(photos / "p0.png")
    methods = ["lrp_epsilon", "patternattribution", "patternnet", "gradient"]
    ex = c.explain(photo, methods, render_size=48)
    assert list(ex.maps) == methods and ex.keys[0] == "colour"
    assert set(ex.weights) == {"colorize:tiny.safetensors", "colorize-patterns:"
                               "tiny.patterns.safetensors"}
    for maps in ex.maps.values():
        assert list(maps) == ex.keys and len(ex.keys) == 1 + len(ex.regions)
        for attr in maps.values():
            assert attr.shape == ex.gray.shape[1:] and torch.isfinite(attr).all()
    # Every target in one batched pass gives what one pass per target gives.
    one = attribute(readout(c.model), ex.gray, "gradient", target=0)[0]
    assert one.shape == ex.maps["gradient"]["colour"].shape
    with pytest.raises(ArtkitError, match="unknown explain method"):
        c.explain(photo, ["deconv"])
    default = c.explain(photo, render_size=48)  # PatternNet's signal and LRP-ε's evidence
    assert list(default.maps) == ["patternnet", "lrp_epsilon"] and not default.notes
    pic = default.picture()  # a row per method: gray, result, a map per target
    assert pic.width > 1.5 * pic.height > 0


def test_patterns_files_are_checked_field_by_field(tiny, tmp_path):
    path, photos = tiny
    net = readout(load_model(path)[0])
    good = patterns_path(path)
    art = load_artifact(good, "colorize-patterns")
    assert art.meta["dtype"] == "int8" and any(k.startswith("scale:") for k in art.tensors)

    def broken(tensors=None, **meta):
        model = tmp_path / "m.safetensors"
        model.write_bytes(path.read_bytes())
        save_artifact(patterns_path(model), {**art.tensors, **(tensors or {})},
                      kind="colorize-patterns", meta={**art.meta, **meta}, force=True)
        return model

    with pytest.raises(ArtkitError, match="metadata 'rectified' holds values that are not bool"):
        load_color_patterns(net, broken(rectified={"color.decoder.head": "yes"}))
    with pytest.raises(ArtkitError, match="metadata 'fingerprint' is int"):
        load_color_patterns(net, broken(fingerprint=3))
    head = "linear/color.decoder.head"
    with pytest.raises(ArtkitError, match="pattern of 'color.decoder.head' is"):
        load_color_patterns(net, broken({head: art.tensors[head][:5],
                                         f"scale:{head}": art.tensors[f"scale:{head}"][:5]}))
    with pytest.raises(ArtkitError, match="tensor 'scale:linear/color.decoder.head' is 5"):
        load_color_patterns(net, broken({f"scale:{head}": art.tensors[f"scale:{head}"][:5]}))
    with pytest.raises(ArtkitError, match="unknown tensor 'weights/x'"):
        load_color_patterns(net, broken({"weights/x": torch.zeros(2)}))


def test_patterns_of_an_older_artkit_still_load(tiny, tmp_path):
    path, _ = tiny
    net = readout(load_model(path)[0])
    model = tmp_path / "old.safetensors"
    model.write_bytes(path.read_bytes())
    with safe_open(str(patterns_path(path)), framework="pt") as f:
        tensors = {k: f.get_tensor(k) for k in f.keys()}
        meta = json.loads(f.metadata()["artkit.meta"])
    save_file(tensors, str(patterns_path(model)), metadata={
        "format": "artkit-patterns-1", "fingerprint": meta["fingerprint"],
        "rectified": json.dumps(meta["rectified"]), "samples": json.dumps(meta["samples"]),
        "meta": json.dumps(meta["meta"])})
    old = load_color_patterns(net, model)
    new = load_color_patterns(net, path)
    assert old.linear.keys() == new.linear.keys()
    assert all(torch.equal(old.linear[k], new.linear[k]) for k in new.linear)


def test_patterns_of_another_model_are_refused(tiny, tmp_path):
    path, photos = tiny
    other = tiny_model(tmp_path / "other.safetensors", seed=1)
    net = readout(load_model(other)[0])
    with pytest.raises(ArtkitError, match="no PatternNet patterns"):
        load_color_patterns(net, other)
    (tmp_path / "other.patterns.safetensors").write_bytes(patterns_path(path).read_bytes())
    with pytest.raises(ArtkitError, match="belong to another colorize model"):
        load_color_patterns(net, other)
    regression = ColorModel(load_model(tiny_model(tmp_path / "r.safetensors",
                                                  loss="regression"))[0].config)
    with pytest.raises(ArtkitError, match="only classification"):
        readout(regression)
    bare = Colorizer(other, device="cpu", methods=("model",))  # no patterns: LRP-ε alone
    ex = bare.explain(Image.open(photos / "p1.png"), render_size=48)
    assert list(ex.maps) == ["lrp_epsilon"] and "lrp_epsilon only" in ex.notes[0]
    with pytest.raises(ArtkitError, match="artkit colorize fit-patterns"):
        bare.explain(Image.open(photos / "p1.png"), ["patternnet"])


def test_degradation_curves_are_seeded(tiny):
    path, photos = tiny
    model = load_model(path)[0]
    images = [Image.open(photos / "p0.png"), Image.open(photos / "p1.png")]

    def run(seed):
        return {r.method: r for r in colour_degradation(
            model, images, ("gradient", "lrp_epsilon"), render_size=48, patch=8, steps=4,
            generator=torch.Generator().manual_seed(seed))}

    a, b = run(0), run(0)
    assert set(a) == {"gradient", "lrp_epsilon", "random"}
    assert all(len(r.curve) == 5 and r.curve == b[m].curve for m, r in a.items())
    assert a["gradient"].aopc == pytest.approx(a["gradient"].curve[0] - sum(
        a["gradient"].curve) / 5)


def test_explain_colors_needs_patterns_for_pattern_methods(tiny):
    path, photos = tiny
    with pytest.raises(ArtkitError, match="patternnet needs the colorize model's PatternNet"):
        explain_colors(load_model(path)[0], Image.open(photos / "p0.png"), ["patternnet"])


def test_cli_explain(tmp_path, tiny):
    path, photos = tiny
    out = tmp_path / "out" / "c.png"
    args = ["colorize", str(photos / "p1.png"), "-o", str(out), "--model", str(path),
            "--explain", "--explain-method", "patternattribution", "--render-size", "48",
            "--device", "cpu", "-q"]
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.output
    pic = out.with_name("c.explain.png")
    assert out.is_file() and pic.is_file() and Image.open(pic).width > 500
    assert not out.with_name("c.explain.json").exists()  # its manifest is inside the PNG
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
    res = runner.invoke(app, args[:7] + ["--explain-method", "deconv"])
    assert res.exit_code == 1 and "unknown --explain-method 'deconv'" in res.output
    # A model without patterns: the default shows LRP-ε alone and says so.
    bare = tiny_model(tmp_path / "bare.safetensors", seed=2)
    res = runner.invoke(app, ["colorize", str(photos / "p1.png"), "-o", str(tmp_path / "d.png"),
                              "--model", str(bare), "--explain", "--render-size", "48",
                              "--device", "cpu"])
    assert res.exit_code == 0, res.output
    assert "lrp_epsilon only" in res.output and (tmp_path / "d.explain.png").is_file()
    res = runner.invoke(app, ["colorize", "fit-patterns", str(photos), "--model", str(bare),
                              "--crops", "16", "--device", "cpu", "-q"])
    assert res.exit_code == 0, res.output
    res = runner.invoke(app, ["colorize", "fit-patterns", str(photos), "--force"])
    assert res.exit_code == 1 and "give --model" in res.output  # never over the shipped ones
    regression = tiny_model(tmp_path / "reg.safetensors", loss="regression")
    res = runner.invoke(app, ["colorize", str(photos / "p1.png"), "-o", str(tmp_path / "r.png"),
                              "--model", str(regression), "--explain"])
    assert res.exit_code == 1 and "needs a classification model" in res.output
    assert load_color_patterns(readout(load_model(bare)[0]), bare) is not None


@pytest.mark.weights
def test_shipped_patterns_fit_the_shipped_model(real_weights):
    real_weights("efficientnet-lite0")
    import skimage.data

    c = Colorizer(device="cpu", methods=("model",))
    pats = c.patterns()  # raises if the fingerprint does not match
    assert "color.decoder.head" in pats.linear
    photo = skimage.data.coffee()[::3, ::3]
    ex = c.explain(photo, ["patternattribution"], render_size=128)
    assert ex.regions and all(torch.isfinite(a).all() for a in ex.maps["patternattribution"].values())
    assert float(ex.maps["patternattribution"]["colour"].sum(0).abs().sum()) > 0
