
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from artkit.core.errors import ArtkitError
from artkit.core.images import (lab_to_rgb, load_image, load_tensor, pil_to_tensor,
                                read_png_manifest, rgb_to_gray, rgb_to_lab, rgb_to_yuv,
                                save_image, tensor_to_pil, yuv_to_rgb)


def _rgb(h=6, w=8, seed=0):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (h, w, 3), dtype=np.uint8)


def test_load_modes(tmp_path):
    arr = _rgb()
    Image.fromarray(arr).save(tmp_path / "rgb.png")
    rgba = np.dstack([arr, np.full(arr.shape[:2], 0, np.uint8)])
    Image.fromarray(rgba, "RGBA").save(tmp_path / "rgba.png")
    Image.fromarray(arr[:, :, 0], "L").save(tmp_path / "l.png")
    Image.fromarray(arr).convert("P").save(tmp_path / "p.png")
    Image.fromarray((arr[:, :, 0].astype(np.uint16) * 257)).save(tmp_path / "i16.png")

    assert np.array_equal(np.asarray(load_image(tmp_path / "rgb.png")), arr)
    # fully transparent pixels land on the white background
    assert np.asarray(load_image(tmp_path / "rgba.png")).min() == 255
    assert load_image(tmp_path / "l.png").mode == "RGB"
    assert load_image(tmp_path / "p.png").size == (8, 6)
    g16 = np.asarray(load_image(tmp_path / "i16.png", "L"))
    assert np.array_equal(g16, arr[:, :, 0])


def test_exif_orientation_applied(tmp_path):
    arr = _rgb(4, 10)
    im = Image.fromarray(arr)
    exif = im.getexif()
    exif[0x0112] = 6  # rotate 90° clockwise on display
    im.save(tmp_path / "rot.jpg", exif=exif.tobytes(), quality=100)
    assert load_image(tmp_path / "rot.jpg").size == (4, 10)


@pytest.mark.parametrize("content", [b"", b"not an image at all", b"\x89PNG\r\n\x1a\n\x00\x00"])
def test_unreadable_image_is_clear_error(tmp_path, content):
    bad = tmp_path / "bad.png"
    bad.write_bytes(content)
    with pytest.raises(ArtkitError, match="cannot read image"):
        load_image(bad)
    with pytest.raises(ArtkitError, match="does not exist"):
        load_image(tmp_path / "missing.png")


def test_truncated_jpeg_is_clear_error(tmp_path):
    Image.fromarray(_rgb(64, 64)).save(tmp_path / "a.jpg")
    data = (tmp_path / "a.jpg").read_bytes()
    (tmp_path / "cut.jpg").write_bytes(data[: len(data) // 2])
    with pytest.raises(ArtkitError):
        load_image(tmp_path / "cut.jpg")


def test_tensor_round_trip_and_resize(tmp_path):
    arr = _rgb()
    t = pil_to_tensor(Image.fromarray(arr))
    assert t.shape == (1, 3, 6, 8) and t.dtype == torch.float32
    assert np.array_equal(np.asarray(tensor_to_pil(t)), arr)
    Image.fromarray(arr).save(tmp_path / "a.png")
    assert load_tensor(tmp_path / "a.png", size=(4, 3)).shape == (1, 3, 3, 4)


def test_save_is_atomic_refuses_overwrite_and_keeps_manifest(tmp_path):
    t = torch.rand(1, 3, 5, 7, generator=torch.Generator().manual_seed(0))
    out = tmp_path / "sub" / "out.png"
    save_image(t, out, manifest={"command": "test", "seed": 3})
    assert read_png_manifest(out) == {"command": "test", "seed": 3}
    before = out.read_bytes()
    with pytest.raises(ArtkitError, match="already exists"):
        save_image(torch.zeros(1, 3, 5, 7), out)
    assert out.read_bytes() == before
    save_image(torch.zeros(1, 3, 5, 7), out, force=True)
    assert out.read_bytes() != before
    assert [p.name for p in out.parent.iterdir()] == ["out.png"]  # no temp files left
    save_image(t, tmp_path / "out.jpg")
    with pytest.raises(ArtkitError, match="unknown image type"):
        save_image(t, tmp_path / "out.xyz")


def test_failed_write_leaves_nothing(tmp_path, monkeypatch):
    out = tmp_path / "x.png"

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr("pathlib.Path.write_bytes", boom)
    with pytest.raises(OSError):
        save_image(torch.zeros(1, 3, 2, 2), out)
    assert list(tmp_path.iterdir()) == []


def test_lab_known_values():
    white = torch.ones(1, 3, 1, 1)
    lab = rgb_to_lab(white)[0, :, 0, 0]
    assert torch.allclose(lab, torch.tensor([100.0, 0.0, 0.0]), atol=1e-3)
    red = torch.tensor([1.0, 0.0, 0.0]).view(1, 3, 1, 1)
    lab = rgb_to_lab(red)[0, :, 0, 0]
    assert torch.allclose(lab, torch.tensor([53.24, 80.09, 67.20]), atol=0.05)
    assert torch.allclose(rgb_to_lab(torch.zeros(1, 3, 1, 1)), torch.zeros(1, 3, 1, 1), atol=1e-4)


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**31 - 1))
def test_colour_round_trips_below_1e4(seed):
    x = torch.rand(2, 3, 9, 11, generator=torch.Generator().manual_seed(seed))
    assert (lab_to_rgb(rgb_to_lab(x)) - x).abs().max() < 1e-4
    assert (yuv_to_rgb(rgb_to_yuv(x)) - x).abs().max() < 1e-4


def test_gray_is_luma():
    x = torch.tensor([1.0, 0.0, 0.0]).view(1, 3, 1, 1)
    assert torch.allclose(rgb_to_gray(x), torch.tensor(0.299).view(1, 1, 1, 1))
