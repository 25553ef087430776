"""The Python front door: Painter, transfer, DoodleConfig, DoodleResult, checkpoints."""

import dataclasses

import pytest
import torch
from doodle_helpers import write_inputs

from artkit.core.errors import ArtkitError
from artkit.core.images import encode_image
from artkit.core.result import Result
from artkit.doodle import Checkpoint, DoodleConfig, DoodleResult, Painter, transfer

TINY = dict(iterations=2, phases=1, init="mean")


def test_every_setting_declares_its_range_or_choices():
    for f in dataclasses.fields(DoodleConfig):
        meta = f.metadata
        assert meta.get("help"), f.name
        if f.type in ("int", "float"):
            assert meta.get("ge") is not None or meta.get("gt") is not None, f.name
            assert meta.get("le") is not None or meta.get("lt") is not None, f.name
        elif f.type not in ("bool", "str"):  # engine, network, layers: choices
            assert meta.get("choices"), f.name


@pytest.mark.parametrize("values, message", [
    (dict(uniformity=-5), "--uniformity must be ≥ 0 (got -5)"),
    (dict(em_iterations=-1), "--em-iterations must be ≥ 1 (got -1)"),
    (dict(phases=7), "--phases must be ≤ 6"),
    (dict(engine="fast"), "--engine should be one of .neural., .patch."),
    (dict(network="vgg19", style_layers=["3_4"]), None),
    (dict(style_layers=["3_4"]), "layer 3_4 exists only in vgg19"),
    (dict(memory=float("nan")), "--memory must be a finite number"),
])
def test_config_validation(values, message):
    config = DoodleConfig(**values)
    if message is None:
        config.validate()
        return
    with pytest.raises(ArtkitError, match=message.replace("(", r"\(").replace(")", r"\)")):
        config.validate()


def test_shipped_presets_build():
    for name in ("default", "draft", "faithful", "loose"):
        DoodleConfig.build(name)
    assert DoodleConfig.build("draft", iterations=3).engine == "patch"


def test_painter_loads_its_network_once_and_returns_a_result(tmp_path, fake_vgg):
    style, smap, doodle = write_inputs(tmp_path)
    painter = Painter(device="cpu")
    assert fake_vgg == ["vgg16-hed"] and painter.device == torch.device("cpu")
    a = painter.paint(style, smap, doodle, config=DoodleConfig(**TINY))
    b = painter.paint(style, smap, doodle, config=DoodleConfig(**TINY))
    assert fake_vgg == ["vgg16-hed"]  # once per (network, device)
    assert isinstance(a, DoodleResult) and isinstance(a, Result)
    assert a.seconds > 0 and a.mode == "doodle" and a.image.shape == (1, 3, 48, 64)
    assert torch.equal(a.image, b.image)  # generator=None: seeded with 0, reproducible
    assert any("2 regions" in n for n in a.notes) and a.to_dict()["phases"][0]["steps"] == 2


def test_transfer_is_painter_paint_with_the_same_keywords(tmp_path, fake_vgg):
    style, smap, doodle = write_inputs(tmp_path)
    cfg = DoodleConfig(**TINY)
    a = transfer(style, smap, doodle, config=cfg, generator=torch.Generator().manual_seed(3), device="cpu")
    b = Painter(device="cpu").paint(style, smap, doodle, config=cfg,
                                    generator=torch.Generator().manual_seed(3))
    assert torch.equal(a.image, b.image)
    c = transfer(style, smap, doodle, config=cfg, generator=torch.Generator().manual_seed(4), device="cpu")
    assert not torch.equal(a.image, c.image)


def test_modes_and_in_memory_inputs(tmp_path, fake_vgg):
    style, smap, doodle = write_inputs(tmp_path)
    cfg = DoodleConfig(**TINY)
    painter = Painter(device="cpu")
    assert painter.paint(style, config=cfg, size=(40, 32)).image.shape == (1, 3, 32, 40)
    r = painter.paint(style, content=style, config=DoodleConfig(iterations=1))
    assert r.mode == "style" and r.image.shape == (1, 3, 48, 64)
    from PIL import Image

    r = painter.paint(Image.open(style), Image.open(smap), Image.open(doodle), content=style, config=cfg)
    assert r.mode == "content-doodle"


def test_checkpoints_round_trip_and_refuse_another_run(tmp_path):
    cp = Checkpoint(torch.rand(1, 3, 24, 32), phase=0, step=4, phases=2, size=(48, 64),
                    fingerprint="ab", config={"iterations": 10})
    cp.save(tmp_path / "c.safetensors")
    back = Checkpoint.load(tmp_path / "c.safetensors")
    assert torch.equal(back.image, cp.image) and (back.phase, back.step, back.size) == (0, 4, (48, 64))
    ok = dict(phases=2, iterations=10, size=(48, 64), fingerprint="ab", sizes=[(24, 32), (48, 64)])
    back.check(**ok)
    for change, message in [(dict(phases=3), "with 2 phase"), (dict(fingerprint="cd"), "another style"),
                            (dict(iterations=3), "past this run's 3"),
                            (dict(sizes=[(12, 16), (48, 64)]), "holds a 32x24 image")]:
        with pytest.raises(ArtkitError, match=message):
            back.check(**{**ok, **change})
    (tmp_path / "x.safetensors").write_bytes(b"\x08" + b"\x00" * 7 + b"{}garbage")
    with pytest.raises(ArtkitError, match="not a file artkit wrote|cannot be read|not a safetensors"):
        Checkpoint.load(tmp_path / "x.safetensors")


@pytest.mark.weights
def test_same_seed_same_painting_with_the_real_network(real_weights):
    """Issue 20: the neural engine with vgg16-hed, twice, gives the same bytes (CPU)."""
    real_weights("vgg16-hed")
    from artkit.doodle.examples import get_example

    demo = get_example("demo")
    style, smap = demo.images((64, 48))
    doodle = demo.doodle((64, 48))
    cfg = DoodleConfig(iterations=4, match_every=2)  # the default start: the patch engine
    painter = Painter(device="cpu")
    runs = [painter.paint(style, smap, doodle, config=cfg, generator=torch.Generator().manual_seed(0))
            for _ in range(2)]
    torch.rand(3)  # whatever the global random state
    runs.append(transfer(style, smap, doodle, config=cfg, device="cpu"))
    data = [encode_image(r.image, ".png") for r in runs]
    assert data[0] == data[1] == data[2]
    assert runs[0].weights == {"vgg16-hed": painter.weights["vgg16-hed"]}
    assert len(runs[0].weights["vgg16-hed"]) == 64
