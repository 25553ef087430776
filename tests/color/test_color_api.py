"""``artkit.color``'s front door: the Colorizer, exemplar matching, odd inputs, gamut handling."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from artkit.color import ColorizeResult, Colorizer, colorize
from artkit.color.chroma import lab_in_gamut, yuv_in_gamut
from artkit.core.errors import ArtkitError
from artkit.core.images import rgb_to_lab, rgb_to_yuv
from artkit.core.provenance import recording
from artkit.core.result import Result


def _two_colour(h=32, w=48):
    img = np.zeros((h, w, 3), np.float32)
    img[:, : w // 2] = (0.8, 0.2, 0.15)
    img[:, w // 2:] = (0.2, 0.3, 0.8)
    img += np.linspace(0, 0.1, w, dtype=np.float32)[None, :, None]
    return torch.from_numpy(np.clip(img, 0, 1)).permute(2, 0, 1)[None]


@pytest.fixture(scope="module")
def tiny_colorizer(tiny_path):
    """A Colorizer on the tiny model; exemplar matching shares its (tiny) backbone."""
    return Colorizer(tiny_path, device="cpu", methods=("model", "exemplar", "hints"))


def test_colorizer_holds_its_networks_and_records_them(tiny_path, tiny_colorizer):
    c = tiny_colorizer
    assert c.device == torch.device("cpu") and c.model is not None
    assert set(c.weights) == {"colorize:tiny.safetensors"} and len(c.weights[
        "colorize:tiny.safetensors"]) == 64
    assert c._backbone is c.model.backbone  # exemplar shares the model's backbone
    with recording() as used:
        res = c.colorize(_two_colour(), "model")
    assert isinstance(res, ColorizeResult) and isinstance(res, Result)
    assert res.weights == c.weights and used == c.weights  # the run's manifest sees them
    assert res.seconds > 0 and res.to_dict()["image_shape"] == [1, 3, 32, 48]
    again = c.colorize(_two_colour(), "model")
    assert torch.equal(res.image, again.image)  # no state carried between calls


def test_a_colorizer_serves_only_the_methods_it_loaded():
    c = Colorizer(methods=("hints",), device="cpu")  # loads nothing, needs no weights
    assert c.model is None and c.weights == {}
    with pytest.raises(ArtkitError, match="built for hints, not the model method"):
        c.colorize(_two_colour(), "model")
    with pytest.raises(ArtkitError, match="unknown method 'magic'"):
        Colorizer(methods=("magic",))


def test_settings_are_checked_in_one_pass(tiny_colorizer):
    with pytest.raises(ArtkitError, match="--saturation must be ≤ 2"):
        tiny_colorizer.colorize(_two_colour(), "model", saturation=3.0)
    with pytest.raises(ArtkitError, match="--render-size must be ≥ 16"):
        tiny_colorizer.colorize(_two_colour(), "model", render_size=8)
    with pytest.raises(ArtkitError, match="--cast-removal must be ≤ 1"):
        tiny_colorizer.colorize(_two_colour(), "model", cast_removal=1.5)


def test_exemplar_from_the_photo_itself_restores_its_colours(tiny_colorizer):
    photo = _two_colour()
    res = tiny_colorizer.colorize(photo, "exemplar", reference=photo)
    assert res.method == "exemplar" and res.was_color
    out = res.image[0]
    assert (out[0, :, :20] > out[2, :, :20]).float().mean() > 0.9  # red half stays red
    assert (out[2, :, 28:] > out[0, :, 28:]).float().mean() > 0.9  # blue half stays blue
    L_in, L_out = rgb_to_lab(photo)[:, 0], rgb_to_lab(res.image)[:, 0]
    assert (L_in - L_out).abs().max() < 1.5  # luminance kept


def test_exemplar_reference_errors(tmp_path, tiny_colorizer):
    empty = tmp_path / "refs"
    empty.mkdir()
    with pytest.raises(ArtkitError, match="holds no images"):
        tiny_colorizer.colorize(_two_colour(), "exemplar", reference=empty)
    gray = torch.full((1, 3, 20, 20), 0.5)
    with pytest.raises(ArtkitError, match="no colour to give"):
        tiny_colorizer.colorize(_two_colour(), "exemplar", reference=gray)


def test_reference_folder_picks_and_reports(tmp_path, tiny_colorizer):
    refs = tmp_path / "refs"
    refs.mkdir()
    for i in range(4):
        arr = (np.random.default_rng(i).random((24, 24, 3)) * 255).astype(np.uint8)
        Image.fromarray(arr).save(refs / f"r{i}.png")
    res = tiny_colorizer.colorize(_two_colour(), "exemplar", reference=refs)
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
    res = colorize(p, "hints", hints=hints, device="cpu")
    assert res.image.shape == (1, 3, 24, 32)
    assert res.image[0, 0, 7, 7] > res.image[0, 2, 7, 7] + 0.2  # the red stroke is red


def test_hints_on_a_transparent_layer(tmp_path):
    photo = np.tile(np.linspace(0.2, 0.8, 32), (24, 1))
    layer = np.zeros((24, 32, 4), np.uint8)
    layer[:, 24:] = (30, 60, 220, 255)  # blue strokes on the right, the rest transparent
    Image.fromarray(layer, "RGBA").save(tmp_path / "layer.png")
    res = colorize(photo, "hints", hints=tmp_path / "layer.png", device="cpu")
    assert res.details["hint_pixels"] == 24 * 8
    assert (res.image[0, 2, :, 26:] > res.image[0, 0, :, 26:]).all()


def test_non_image_is_a_clear_error(tmp_path):
    p = tmp_path / "notes.png"
    p.write_text("hello")
    with pytest.raises(ArtkitError, match="cannot read image"):
        colorize(p, "hints", hints=np.zeros((2, 2, 3)), device="cpu")


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
    res = colorize(photo, "hints", hints=np.zeros((32, 48, 3)), keep_color_input=True,
                   device="cpu")
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
    c = Colorizer(device="cpu", methods=("model", "exemplar"))
    assert c._backbone is c.model.backbone  # one EfficientNet serves both methods
    assert set(c.weights) == {"colorize:default", "efficientnet-lite0"}
    res = c.colorize(photo, "model")
    assert res.method == "model" and res.image.shape == photo.shape
    assert colourfulness(res.image) > 0.3 * colourfulness(photo)
    L_in, L_out = rgb_to_lab(photo)[:, 0], rgb_to_lab(res.image)[:, 0]
    assert (L_in - L_out).abs().mean() < 1.0
