"""The hypercolumn colouriser: bins, decoding, files, and that training lowers the loss."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import save_file

from artkit.color.model import (ColorModel, ColorModelConfig, annealed_mean, gamut_bins,
                                load_model, rebalance_weights, soft_encode)
from artkit.color.train import TrainConfig, random_crops, train
from artkit.core.errors import ArtkitError

TINY = ColorModelConfig(backbone="tiny", dim=8)


def _photos(folder, n=3, size=48):
    """Synthetic colour 'photos': coloured blocks over a gradient."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(1)
    for i in range(n):
        img = np.zeros((size, size, 3), np.uint8)
        img[:] = (np.linspace(40, 200, size)[None, :, None]).astype(np.uint8)
        for _ in range(4):
            y, x = rng.integers(0, size - 12, 2)
            img[y:y + 12, x:x + 12] = rng.integers(0, 255, 3)
        Image.fromarray(img).save(folder / f"p{i}.png")
    return folder


def test_bins_cover_the_srgb_gamut():
    bins = gamut_bins()
    assert 200 < len(bins) < 400
    assert bins.abs().max() <= 110
    assert (bins % 10 == 0).all()


def test_annealed_mean_of_a_peaked_distribution_is_its_bin():
    bins = gamut_bins()
    logits = torch.full((1, len(bins), 2, 2), -20.0)
    logits[0, 7] = 20.0
    ab = annealed_mean(logits, bins, 0.38)
    assert torch.allclose(ab[0, :, 0, 0], bins[7], atol=1e-3)


def test_lower_temperature_is_more_saturated():
    bins = gamut_bins()
    logits = torch.randn(1, len(bins), 1, 1, generator=torch.Generator().manual_seed(0))
    sat = [annealed_mean(logits, bins, t).norm() for t in (1.0, 0.38, 0.1)]
    assert sat[0] < sat[1] < sat[2]


def test_soft_encoding_and_rebalancing():
    bins = gamut_bins()
    ab = torch.tensor([[[[3.0]], [[-41.0]]]])  # (1, 2, 1, 1)
    idx, w = soft_encode(ab, bins)
    assert torch.allclose(w.sum(dim=1), torch.ones(1, 1, 1))
    assert torch.allclose(bins[idx[0, 0, 0, 0]], torch.tensor([0.0, -40.0]))
    samples = torch.cat([torch.zeros(900, 2), torch.tensor([[50.0, 50.0]]).repeat(100, 1)])
    p, wts = rebalance_weights(samples, bins)
    assert torch.isclose((p * wts).sum(), torch.tensor(1.0), atol=1e-4)
    common = torch.cdist(torch.zeros(1, 2), bins).argmin()
    rare = torch.cdist(torch.tensor([[50.0, 50.0]]), bins).argmin()
    assert wts[rare] > wts[common]


@pytest.mark.parametrize("loss", ["classification", "regression"])
def test_forward_shapes(loss):
    model = ColorModel(ColorModelConfig(backbone="tiny", dim=8, loss=loss)).eval()
    with torch.inference_mode():
        ab = model(torch.rand(2, 1, 32, 40) * 100)
    assert ab.shape == (2, 2, 8, 10)


def test_save_load_roundtrip(tmp_path):
    torch.manual_seed(0)
    model = ColorModel(TINY).eval()
    model.mean_ab.copy_(torch.tensor([3.0, 9.0]))
    path = model.save(tmp_path / "m.safetensors", extra={"photos": ["a.png"]})
    loaded, extra = load_model(path)
    assert extra == {"photos": ["a.png"]}
    L = torch.rand(1, 1, 32, 32) * 100
    with torch.inference_mode():
        torch.testing.assert_close(loaded(L), model(L), atol=0.05, rtol=0.01)  # float16 file
    assert torch.equal(loaded.mean_ab, torch.tensor([3.0, 9.0]))


def test_foreign_model_files_are_refused(tmp_path):
    other = tmp_path / "classifier.safetensors"
    save_file({"w": torch.zeros(3)}, str(other), metadata={"format": "pt"})
    with pytest.raises(ArtkitError, match="not an artkit colorize model"):
        load_model(other)
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"not safetensors at all")
    with pytest.raises(ArtkitError, match="not a safetensors model file"):
        load_model(junk)
    with pytest.raises(ArtkitError, match="does not exist"):
        load_model(tmp_path / "missing.safetensors")


def test_other_architecture_is_refused(tmp_path):
    path = ColorModel(TINY).save(tmp_path / "m.safetensors")
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as f:
        meta = f.metadata()
        tensors = {k: f.get_tensor(k) for k in f.keys()}
    meta["config"] = meta["config"].replace('"dim": 8', '"dim": 16')
    save_file(tensors, str(tmp_path / "bad.safetensors"), metadata=meta)
    with pytest.raises(ArtkitError, match="does not fit"):
        load_model(tmp_path / "bad.safetensors")


def test_random_crops_are_seeded():
    photos = [torch.rand(1, 3, 40, 50), torch.rand(1, 3, 60, 30)]
    a = random_crops(photos, 4, 16, 0.5, torch.Generator().manual_seed(3))
    b = random_crops(photos, 4, 16, 0.5, torch.Generator().manual_seed(3))
    assert a.shape == (4, 3, 16, 16) and torch.equal(a, b)


@pytest.mark.parametrize("loss", ["classification", "regression"])
def test_training_lowers_the_loss(tmp_path, loss):
    folder = _photos(tmp_path / "photos")
    cfg = TrainConfig(epochs=4, size=32, batch=8, crops_per_image=8, lr=1e-2,
                      model=ColorModelConfig(backbone="tiny", dim=8, loss=loss))
    res = train(folder, tmp_path / "m.safetensors", config=cfg, seed=0)
    assert res.epoch_losses[-1] < res.epoch_losses[0]
    assert (tmp_path / "m.ckpt.safetensors").is_file()


def test_resume_continues_from_the_checkpoint(tmp_path):
    folder = _photos(tmp_path / "photos", n=2)
    out = tmp_path / "m.safetensors"
    small = dict(size=32, batch=4, crops_per_image=4, model=TINY)
    train(folder, out, config=TrainConfig(epochs=1, **small), seed=0)
    res = train(folder, out, config=TrainConfig(epochs=2, **small), seed=0, resume=True)
    assert len(res.epoch_losses) == 2
    with pytest.raises(ArtkitError, match="other settings"):
        train(folder, out, config=TrainConfig(epochs=3, **{**small, "size": 40}), resume=True)


def test_training_needs_colour_photos(tmp_path):
    folder = tmp_path / "gray"
    folder.mkdir()
    Image.fromarray(np.full((40, 40), 128, np.uint8)).save(folder / "g.png")
    with pytest.raises(ArtkitError, match="no colour photos"):
        train(folder, None, config=TrainConfig(epochs=1, size=32, model=TINY))
