"""``artkit.color.colorize``: exemplar matching, odd input formats, gamut handling."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from artkit.color import colorize, exemplar
from artkit.color.api import lab_in_gamut, yuv_in_gamut
from artkit.color.model import Backbone
from artkit.core.errors import ArtkitError
from artkit.core.images import rgb_to_lab, rgb_to_yuv


@pytest.fixture
def tiny_backbone(monkeypatch):
    """The exemplar method on a small random network (no pretrained weights needed)."""
    net = Backbone("tiny")
    monkeypatch.setattr(exemplar, "_backbone", lambda device: net)
    return net


def _two_colour(h=32, w=48):
    img = np.zeros((h, w, 3), np.float32)
    img[:, : w // 2] = (0.8, 0.2, 0.15)
    img[:, w // 2:] = (0.2, 0.3, 0.8)
    img += np.linspace(0, 0.1, w, dtype=np.float32)[None, :, None]
    return torch.from_numpy(np.clip(img, 0, 1)).permute(2, 0, 1)[None]


def test_exemplar_from_the_photo_itself_restores_its_colours(tiny_backbone):
    photo = _two_colour()
    res = colorize(photo, "exemplar", reference=photo)
    assert res.method == "exemplar" and res.was_color
    out = res.image[0]
    assert (out[0, :, :20] > out[2, :, :20]).float().mean() > 0.9  # red half stays red
    assert (out[2, :, 28:] > out[0, :, 28:]).float().mean() > 0.9  # blue half stays blue
    L_in, L_out = rgb_to_lab(photo)[:, 0], rgb_to_lab(res.image)[:, 0]
    assert (L_in - L_out).abs().max() < 1.5  # luminance kept


def test_exemplar_reference_errors(tmp_path, tiny_backbone):
    empty = tmp_path / "refs"
    empty.mkdir()
    with pytest.raises(ArtkitError, match="holds no images"):
        colorize(_two_colour(), "exemplar", reference=empty)
    gray = torch.full((1, 3, 20, 20), 0.5)
    with pytest.raises(ArtkitError, match="no colour to give"):
        colorize(_two_colour(), "exemplar", reference=gray)


def test_reference_folder_picks_and_reports(tmp_path, tiny_backbone):
    refs = tmp_path / "refs"
    refs.mkdir()
    for i in range(4):
        arr = (np.random.default_rng(i).random((24, 24, 3)) * 255).astype(np.uint8)
        Image.fromarray(arr).save(refs / f"r{i}.png")
    res = colorize(_two_colour(), "exemplar", reference=refs)
    assert len(res.details["references"]) == 3


@pytest.mark.parametrize("kind", ["16bit", "rgba", "cmyk", "palette"])
def test_odd_input_formats_work(tmp_path, kind):
    base = (np.linspace(0, 255, 32)[None, :].repeat(24, 0)).astype(np.uint8)
    p = tmp_path / f"{kind}.{'jpg' if kind == 'cmyk' else 'png'}"
    if kind == "16bit":
        Image.fromarray(base.astype(np.uint16) * 257).save(p)
    elif kind == "rgba":
        Image.fromarray(np.dstack([base, base, base, np.full_like(base, 200)]), "RGBA").save(p)
    elif kind == "cmyk":
        Image.fromarray(np.dstack([base] * 3)).convert("CMYK").save(p)
    else:
        Image.fromarray(base).convert("P").save(p)
    hints = np.repeat((np.asarray(Image.open(p).convert("L")) / 255.0)[..., None], 3, axis=2)
    hints[5:10, 5:10] = (0.9, 0.1, 0.1)
    res = colorize(p, "hints", hints=hints)
    assert res.image.shape == (1, 3, 24, 32)


def test_non_image_is_a_clear_error(tmp_path):
    p = tmp_path / "notes.png"
    p.write_text("hello")
    with pytest.raises(ArtkitError, match="cannot read image"):
        colorize(p, "hints", hints=np.zeros((2, 2, 3)))


def test_out_of_gamut_chroma_keeps_luminance():
    y = torch.full((1, 1, 2, 2), 0.9)
    uv = torch.tensor([0.4, -0.5]).view(1, 2, 1, 1).expand(1, 2, 2, 2)
    rgb = yuv_in_gamut(y, uv)
    assert rgb.min() >= 0 and rgb.max() <= 1
    assert torch.allclose(rgb_to_yuv(rgb)[:, :1], y, atol=1e-5)
    L = torch.full((1, 1, 2, 2), 85.0)
    ab = torch.tensor([90.0, -90.0]).view(1, 2, 1, 1).expand(1, 2, 2, 2)
    out = lab_in_gamut(L, ab)
    assert torch.allclose(rgb_to_lab(out)[:, :1], L, atol=1.0)


def test_keep_color_input_and_unknown_method():
    photo = _two_colour()
    res = colorize(photo, "hints", hints=np.zeros((32, 48, 3)), keep_color_input=True)
    assert res.method == "kept" and torch.equal(res.image, photo)
    with pytest.raises(ArtkitError, match="unknown method"):
        colorize(photo, "magic")


@pytest.mark.weights
def test_shipped_model_colours_a_real_photo(real_weights):
    real_weights("efficientnet-lite0")
    import skimage.data

    from artkit.color.metrics import colourfulness

    photo = torch.from_numpy(skimage.data.astronaut()[::4, ::4].copy()).permute(2, 0, 1)[None]
    photo = photo.float() / 255.0
    res = colorize(photo, "model")
    assert res.method == "model" and res.image.shape == photo.shape
    assert colourfulness(res.image) > 0.3 * colourfulness(photo)
    L_in, L_out = rgb_to_lab(photo)[:, 0], rgb_to_lab(res.image)[:, 0]
    assert (L_in - L_out).abs().mean() < 1.0
