"""The hypercolumn colouriser: bins, decoding, model files checked field by field, training."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest
import torch
from color_helpers import tiny_model
from PIL import Image
from safetensors import safe_open
from safetensors.torch import save_file

from artkit.color import TrainConfig, TrainedColorizer, train
from artkit.color.model import (ColorModel, ColorModelConfig, annealed_mean, gamut_bins,
                                rebalance_weights, soft_encode)
from artkit.color.model_file import LEGACY_KIND, expected_shapes, load_model
from artkit.color.patterns import PATTERNS_KIND
from artkit.color.training import random_crops
from artkit.core.artifacts import load_artifact, save_artifact
from artkit.core.errors import ArtkitError
from artkit.core.result import Result

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
def test_forward_shapes_and_the_shapes_a_file_must_have(loss):
    config = ColorModelConfig(backbone="tiny", dim=8, loss=loss)
    model = ColorModel(config).eval()
    with torch.inference_mode():
        ab = model(torch.rand(2, 1, 32, 40) * 100)
    assert ab.shape == (2, 2, 8, 10)
    have = {k: tuple(v.shape) for k, v in model.decoder_state().items()}
    assert have == expected_shapes(config)  # computed without building anything


def test_initial_weights_come_from_the_generator():
    a = ColorModel(TINY, generator=torch.Generator().manual_seed(1)).decoder_state()
    b = ColorModel(TINY, generator=torch.Generator().manual_seed(1)).decoder_state()
    c = ColorModel(TINY, generator=torch.Generator().manual_seed(2)).decoder_state()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not torch.equal(a["decoder.head.weight"], c["decoder.head.weight"])


def test_save_load_roundtrip(tmp_path):
    model = ColorModel(TINY).eval()
    model.mean_ab.copy_(torch.tensor([3.0, 9.0]))
    path = model.save(tmp_path / "m.safetensors", training={"photos": ["a.png"]})
    with pytest.raises(ArtkitError, match="already exists"):
        model.save(path)
    loaded, file = load_model(path)
    assert file.training == {"photos": ["a.png"]} and len(file.sha256) == 64
    L = torch.rand(1, 1, 32, 32) * 100
    with torch.inference_mode():
        torch.testing.assert_close(loaded(L), model(L), atol=0.05, rtol=0.01)  # float16 file
    assert torch.equal(loaded.mean_ab, torch.tensor([3.0, 9.0]))


def test_foreign_model_files_are_refused(tmp_path):
    other = tmp_path / "classifier.safetensors"
    save_file({"w": torch.zeros(3)}, str(other), metadata={"format": "pt"})
    with pytest.raises(ArtkitError, match="not a file artkit wrote, not a colorize model"):
        load_model(other)
    patterns = save_artifact(tmp_path / "p.safetensors", {"w": torch.zeros(2)},
                             kind=PATTERNS_KIND)
    with pytest.raises(ArtkitError, match="is a colorize patterns file, not a colorize model"):
        load_model(patterns)
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"not safetensors at all")
    with pytest.raises(ArtkitError, match="not a safetensors file"):
        load_model(junk)
    with pytest.raises(ArtkitError, match="does not exist"):
        load_model(tmp_path / "missing.safetensors")


def _rewrite(src, dst, config=None, tensors=None, version=1):
    """A copy of a model file with its config or tensors changed."""
    art = load_artifact(src, "colorize-model")
    meta = dict(art.meta)
    if config is not None:
        meta["config"] = {**meta["config"], **config}
    return save_artifact(dst, {**art.tensors, **(tensors or {})}, kind="colorize-model",
                         version=version, meta=meta)


def test_every_field_of_a_model_file_is_checked_before_use(tmp_path):
    """Issue 15 item 12: `dim` from a header once asked for a 64 GB decoder."""
    good = tiny_model(tmp_path / "good.safetensors")
    t0 = time.perf_counter()
    with pytest.raises(ArtkitError, match=r"key 'dim' must be ≤ 512 \(got 1000000000\)"):
        load_model(_rewrite(good, tmp_path / "huge.safetensors", {"dim": 10 ** 9}))
    assert time.perf_counter() - t0 < 5  # refused from the header, nothing allocated
    with pytest.raises(ArtkitError, match="key 'backbone' must be one of"):
        load_model(_rewrite(good, tmp_path / "b.safetensors", {"backbone": "resnet"}))
    with pytest.raises(ArtkitError, match="key 'temperature' must be > 0"):
        load_model(_rewrite(good, tmp_path / "t.safetensors", {"temperature": -1.0}))
    with pytest.raises(ArtkitError, match="key 'dim' should be an integer"):
        load_model(_rewrite(good, tmp_path / "s.safetensors", {"dim": "8"}))
    with pytest.raises(ArtkitError, match="unknown config key 'layers'"):
        load_model(_rewrite(good, tmp_path / "u.safetensors", {"layers": 3}))
    with pytest.raises(ArtkitError, match="format version 2; this artkit reads 1"):
        load_model(_rewrite(good, tmp_path / "v.safetensors", version=2))
    with pytest.raises(ArtkitError, match="does not fit the tiny colouriser: tensor "
                                          "'decoder.gray.bias' is 8, expected 16"):
        load_model(_rewrite(good, tmp_path / "d.safetensors", {"dim": 16}))
    nan = torch.full((2,), float("nan"))
    with pytest.raises(ArtkitError, match="tensor 'mean_ab' holds NaN"):
        load_model(_rewrite(good, tmp_path / "n.safetensors", tensors={"mean_ab": nan}))
    with pytest.raises(ArtkitError, match="its ab bins are not the gamut bins"):
        load_model(_rewrite(good, tmp_path / "g.safetensors",
                            tensors={"bins": gamut_bins() + 1}))


def test_a_model_in_the_old_format_still_loads(tmp_path):
    new = tiny_model(tmp_path / "new.safetensors")
    with safe_open(str(new), framework="pt") as f:
        tensors = {k: f.get_tensor(k) for k in f.keys()}
        meta = json.loads(f.metadata()["artkit.meta"])
    old = tmp_path / "old.safetensors"
    save_file(tensors, str(old), metadata={"kind": LEGACY_KIND, "version": "1",
                                           "config": json.dumps(meta["config"]),
                                           "extra": json.dumps({"photos": ["x.jpg"]})})
    model, file = load_model(old)
    assert file.legacy and file.training == {"photos": ["x.jpg"]}
    assert torch.equal(model.decoder.head.weight, load_model(new)[0].decoder.head.weight)
    bad = tmp_path / "bad.safetensors"
    save_file(tensors, str(bad), metadata={"kind": LEGACY_KIND, "version": "1",
                                           "config": json.dumps({**meta["config"], "dim": -3})})
    with pytest.raises(ArtkitError, match="key 'dim' must be ≥ 4"):
        load_model(bad)


def test_random_crops_are_seeded():
    photos = [torch.rand(1, 3, 40, 50), torch.rand(1, 3, 60, 30)]
    a = random_crops(photos, 4, 16, 0.5, torch.Generator().manual_seed(3))
    b = random_crops(photos, 4, 16, 0.5, torch.Generator().manual_seed(3))
    assert a.shape == (4, 3, 16, 16) and torch.equal(a, b)


def test_train_config_ranges():
    with pytest.raises(ArtkitError, match="--size must be a multiple of 8"):
        TrainConfig(size=36).validate()
    with pytest.raises(ArtkitError, match="--epochs must be ≥ 1"):
        TrainConfig(epochs=0).validate()
    with pytest.raises(ArtkitError, match="--dim must be ≤ 512"):
        TrainConfig(model=ColorModelConfig(dim=4096)).validate()


@pytest.mark.parametrize("loss", ["classification", "regression"])
def test_training_lowers_the_loss_and_writes_nothing(tmp_path, loss):
    folder = _photos(tmp_path / "photos")
    before = sorted(p.name for p in tmp_path.rglob("*"))
    cfg = TrainConfig(epochs=3, size=32, batch=8, crops_per_image=8, lr=1e-2,
                      model=ColorModelConfig(backbone="tiny", dim=8, loss=loss))
    res = train(folder, config=cfg, device="cpu", generator=torch.Generator().manual_seed(0))
    assert isinstance(res, TrainedColorizer) and isinstance(res, Result)
    assert res.epoch_losses[-1] < res.epoch_losses[0]
    assert sorted(p.name for p in tmp_path.rglob("*")) == before  # no file written
    path = res.save(tmp_path / "m.safetensors")
    assert load_model(path)[1].training["photos"] == ["p0.png", "p1.png", "p2.png"]


def test_training_draws_from_its_generator_only(tmp_path):
    folder = _photos(tmp_path / "photos", n=2)
    cfg = TrainConfig(epochs=1, size=32, batch=4, crops_per_image=4, model=TINY)
    state = torch.random.get_rng_state()
    runs = [train(folder, config=cfg, device="cpu", generator=torch.Generator().manual_seed(s))
            for s in (5, 5, 6)]
    assert torch.equal(state, torch.random.get_rng_state())  # global state untouched
    heads = [r.model.decoder.head.weight for r in runs]
    assert torch.equal(heads[0], heads[1]) and not torch.equal(heads[0], heads[2])
    assert runs[0].seed == 5


def test_resume_continues_from_the_checkpoint(tmp_path):
    folder = _photos(tmp_path / "photos", n=2)
    ckpt = tmp_path / "m.ckpt.safetensors"
    cfg = TrainConfig(epochs=2, size=32, batch=4, crops_per_image=4, model=TINY)
    straight = train(folder, config=cfg, device="cpu")

    def interrupt(event):  # Ctrl-C in the second epoch, after the first one's checkpoint
        if event.total and event.completed > event.total / 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train(folder, config=cfg, checkpoint=ckpt, device="cpu", progress=interrupt)
    assert load_artifact(ckpt, "checkpoint").meta["run"] == "colorize"
    res = train(folder, config=cfg, checkpoint=ckpt, resume=True, device="cpu")
    assert len(res.epoch_losses) == 2 and res.notes == ["resumed at epoch 1"]
    # The resumed run draws the crops the uninterrupted one drew: the same weights.
    torch.testing.assert_close(res.model.decoder.head.weight, straight.model.decoder.head.weight)
    assert res.epoch_losses == pytest.approx(straight.epoch_losses)
    with pytest.raises(ArtkitError, match="other settings"):
        train(folder, config=TrainConfig(epochs=3, size=40, batch=4, crops_per_image=4,
                                         model=TINY), checkpoint=ckpt, resume=True)
    with pytest.raises(ArtkitError, match="already done 2 epochs"):
        train(folder, config=cfg, checkpoint=ckpt, resume=True)


def test_training_needs_colour_photos(tmp_path):
    folder = tmp_path / "gray"
    folder.mkdir()
    Image.fromarray(np.full((40, 40), 128, np.uint8)).save(folder / "g.png")
    with pytest.raises(ArtkitError, match="no colour photos"):
        train(folder, config=TrainConfig(epochs=1, size=32, model=TINY))
