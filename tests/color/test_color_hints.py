"""The Levin et al. solver against a literal dense float64 reference, and hint validation."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from artkit.color import colorize
from artkit.color import hints as levin
from artkit.core.errors import ArtkitError
from artkit.core.images import rgb_to_yuv


def _scene(h=24, w=32):
    """Left half dark, right half bright, with a soft gradient: an RGB array in [0, 1]."""
    y = np.tile(np.linspace(0.2, 0.3, w), (h, 1))
    y[:, w // 2:] += 0.5
    return np.repeat(y[..., None], 3, axis=2)


def test_solver_matches_dense_reference():
    rng = np.random.default_rng(0)
    y = rng.random((7, 9))
    mask = np.zeros((7, 9), bool)
    mask[1, 1] = mask[5, 7] = mask[3, 4] = True
    uv = rng.normal(size=(7, 9, 2))
    fast = levin.solve(y, uv, mask)
    ref = levin.dense_reference(y, uv, mask)
    np.testing.assert_allclose(fast, ref, atol=1e-5)
    np.testing.assert_allclose(fast[mask], uv[mask], atol=1e-6)  # scribbles are kept


def test_solver_matches_dense_reference_on_image_with_edge():
    y = _scene(10, 12)[..., 0]
    mask = np.zeros(y.shape, bool)
    mask[4, 1] = mask[5, 10] = True
    uv = np.zeros(y.shape + (2,))
    uv[4, 1] = (0.2, -0.1)
    uv[5, 10] = (-0.2, 0.3)
    np.testing.assert_allclose(levin.solve(y, uv, mask), levin.dense_reference(y, uv, mask),
                               atol=1e-5)


def test_colour_stays_on_its_side_of_an_edge():
    y = _scene()[..., 0]
    mask = np.zeros(y.shape, bool)
    mask[4:20, 3] = mask[4:20, 28] = True  # two vertical strokes
    uv = np.zeros(y.shape + (2,))
    uv[4:20, 3] = (0.3, 0.0)
    uv[4:20, 28] = (-0.3, 0.0)
    out = levin.solve(y, uv, mask)
    assert (out[:, :16, 0] > 0).all() and (out[:, 16:, 0] < 0).all()  # split at the edge
    assert out[:, :14, 0].mean() > 0.2 and out[:, 18:, 0].mean() < -0.2


def test_nested_dissection_is_a_permutation():
    for h, w in [(1, 1), (3, 100), (65, 33)]:
        order = levin.nested_dissection(h, w)
        assert sorted(order.tolist()) == list(range(h * w))


def test_colorize_with_hints_keeps_luminance_and_colours():
    photo = _scene()
    scribble = photo.copy()
    scribble[10:14, 2:6] = (0.8, 0.1, 0.1)  # red on the left
    scribble[10:14, 24:28] = (0.1, 0.2, 0.9)  # blue on the right
    res = colorize(photo, "hints", hints=scribble)
    assert res.method == "hints"
    out = res.image
    y_in = rgb_to_yuv(torch.from_numpy(photo).permute(2, 0, 1)[None].float())[:, 0]
    y_out = rgb_to_yuv(out)[:, 0]
    assert (y_in - y_out).abs().max() < 0.02
    r, b = out[0, 0], out[0, 2]
    assert (r[:, :14] > b[:, :14]).float().mean() > 0.95
    assert (b[:, 18:] > r[:, 18:]).float().mean() > 0.95


def test_hints_with_alpha_layer(tmp_path):
    photo = _scene()
    layer = np.zeros(photo.shape[:2] + (4,), np.uint8)
    layer[10:14, 2:6] = (255, 0, 0, 255)
    p = tmp_path / "hints.png"
    Image.fromarray(layer, "RGBA").save(p)
    res = colorize(photo, "hints", hints=p)
    assert float(res.image[0, 0, :, :10].mean()) > float(res.image[0, 2, :, :10].mean())


def test_hints_size_mismatch_is_a_clear_error():
    with pytest.raises(ArtkitError, match="hints image is 10×8 but the photo is 32×24"):
        colorize(_scene(), "hints", hints=np.zeros((8, 10, 3)))


def test_hints_without_colour_are_refused():
    photo = _scene()
    with pytest.raises(ArtkitError, match="marks no pixel"):
        colorize(photo, "hints", hints=photo.copy())
    gray_marks = photo.copy()
    gray_marks[5:9, 5:9] = 0.9  # marked, but gray
    with pytest.raises(ArtkitError, match="no colour"):
        colorize(photo, "hints", hints=gray_marks)


def test_hints_at_a_smaller_render_size_upsample_sharply():
    photo = _scene(48, 64)
    scribble = photo.copy()
    scribble[20:28, 4:12] = (0.8, 0.1, 0.1)
    scribble[20:28, 50:58] = (0.1, 0.2, 0.9)
    res = colorize(photo, "hints", hints=scribble, render_size=32)
    assert res.chroma_size == (24, 32)
    assert res.image.shape[-2:] == (48, 64)
    r, b = res.image[0, 0], res.image[0, 2]
    assert (r[:, :28] > b[:, :28]).float().mean() > 0.9
    assert (b[:, 36:] > r[:, 36:]).float().mean() > 0.9
