"""Print sizes: tiled VGG passes equal whole ones; the memory plan fits or refuses up front."""

import pytest
import torch
from doodle_helpers import tiny_vgg, write_inputs
from typer.testing import CliRunner

from artkit.cli import app
from artkit.core.errors import ArtkitError
from artkit.doodle.neural import NeuralSettings, run_phase
from artkit.doodle.scale import (GB, TilePlan, estimate, plan_memory, receptive_fields,
                                 tiled_backward, tiled_features)
from artkit.nets.vgg import layer_names

LAYERS = ["relu3_1", "relu4_1", "relu4_2"]


def test_receptive_field_and_halo_of_vgg16():
    strides, radius = receptive_fields(layer_names("vgg16")[:layer_names("vgg16").index("relu4_2") + 1])
    assert radius == 41 and strides["relu3_1"] == 4 and strides["relu4_2"] == 8
    plan = TilePlan.create(layer_names("vgg16"), LAYERS, tile=100)
    assert (plan.halo, plan.align, plan.tile) == (56, 8, 96)


def test_tiles_partition_the_image_on_the_stride_grid():
    plan = TilePlan.create(layer_names("vgg16"), LAYERS, tile=64)
    tiles = plan.tiles((203, 150))
    covered = torch.zeros(203, 150, dtype=torch.int64)
    for (y0, y1), (x0, x1), (cy0, cy1), (cx0, cx1) in tiles:
        covered[y0:y1, x0:x1] += 1
        assert y0 % 8 == 0 and x0 % 8 == 0 and cy0 % 8 == 0 and cx0 % 8 == 0
        assert cy0 <= y0 and cy1 >= y1 and cx0 <= x0 and cx1 >= x1
    assert bool((covered == 1).all()) and plan.count((203, 150)) == len(tiles) == 12


def test_tiled_features_and_gradients_equal_whole_image_ones():
    vgg = tiny_vgg().double()
    x = torch.rand(1, 3, 203, 150, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    whole = TilePlan.create(vgg.layer_names, LAYERS)
    tiled = TilePlan.create(vgg.layer_names, LAYERS, tile=64)
    a = tiled_features(vgg, x, LAYERS, whole, False)
    b = tiled_features(vgg, x, LAYERS, tiled, False)
    assert all(torch.allclose(a[k], b[k], atol=1e-12) for k in LAYERS)
    weights = {k: torch.randn(v.shape, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
               for k, v in a.items()}

    def loss(feats, window):  # a sum over positions, as the doodle objective is
        return sum((feats[k] * weights[k][:, :, window[k][0], window[k][1]]).sum()
                   + (feats[k] ** 2).sum() for k in feats)

    grads = []
    for plan in (whole, tiled):
        img = x.clone().requires_grad_(True)
        total = tiled_backward(vgg, img, LAYERS, plan, loss, False)
        grads.append((total, img.grad))
    assert abs(grads[0][0] - grads[1][0]) < 1e-9 * abs(grads[0][0])
    assert torch.allclose(grads[0][1], grads[1][1], atol=1e-12)


def test_a_tiled_phase_paints_the_same_picture():
    vgg = tiny_vgg()
    g = torch.Generator().manual_seed(2)
    style, image = torch.rand(1, 3, 48, 48, generator=g), torch.rand(1, 3, 48, 64, generator=g)
    s = NeuralSettings(iterations=2, match_every=2, match_dims=16, style_layers=("relu3_1",))
    out = []
    for tile in (0, 16):  # relu3_1: stride 4, halo 20 px
        plan = TilePlan.create(vgg.layer_names, list(s.style_layers), tile)
        img, log = run_phase(vgg, image, style, settings=s, plan=plan,
                             generator=torch.Generator().manual_seed(0))
        out.append(img)
        assert log.tiles == (1 if tile == 0 else 12)
    assert (out[0] - out[1]).abs().max() < 1e-3


def test_memory_plan_fits_tiles_and_refuses_with_a_size_that_fits():
    kw = dict(halo=56, align=8, patch_init=True)
    whole = plan_memory((768, 1024), (384, 512), 64 * GB, **kw)
    assert whole.tile == 0 and whole.history == 20 and whole.estimate <= 64 * GB
    need = estimate((1536, 2048), (384, 512), tile=0, halo=56, history=20, patch_init=True)
    tight = plan_memory((1536, 2048), (384, 512), int(need * 0.8), **kw)
    assert tight.estimate <= need * 0.8 and (tight.tile > 0 or tight.history < 20)
    with pytest.raises(ArtkitError) as err:
        plan_memory((1536, 2048), (384, 512), 2 * GB, **kw)
    text = err.value.one_line()
    assert "a 2048x1536 painting needs about" in text and "2.0 GB budget" in text
    w, h = (int(v) for v in text.split("--size ")[1].split()[0].split("x"))
    assert w / h == pytest.approx(2048 / 1536, rel=0.02)
    plan_memory((h, w), (384, 512), 2 * GB, **kw)  # the suggested size fits


def test_a_run_that_cannot_fit_stops_before_loading_anything(tmp_path, fake_vgg):
    style, _, doodle = write_inputs(tmp_path)
    r = CliRunner().invoke(app, ["doodle", "-s", str(style), "-m", str(doodle), "--size", "4000x3000",
                                 "--memory", "1", "-o", str(tmp_path / "o.png")])
    assert r.exit_code == 1 and "more than the 1.0 GB budget" in r.output and "--size" in r.output
    assert fake_vgg == [] and not (tmp_path / "o.png").exists()
