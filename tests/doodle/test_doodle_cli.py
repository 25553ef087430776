"""``artkit doodle`` end to end on tiny images with a tiny VGG (no real weights needed)."""

import json

import numpy as np
import pytest
import torch
from PIL import Image
from typer.testing import CliRunner

from artkit.cli import app
from artkit.core.errors import ArtkitError
from artkit.doodle import DoodleConfig, transfer
from artkit.doodle.api import Checkpoint
from artkit.nets.vgg import VGGConfig, VGGFeatures


@pytest.fixture(autouse=True)
def tiny_vgg(monkeypatch):
    """Replace the pretrained VGG by a tiny random one (widths 4–8)."""

    def load(name="vgg16-hed", pooling="avg", device="cpu"):
        torch.manual_seed(0)
        return VGGFeatures(VGGConfig(widths=(4, 6, 8, 8, 8), pooling=pooling)).eval().requires_grad_(False)

    monkeypatch.setattr("artkit.nets.load_vgg", load)


RED, BLUE = (255, 0, 0), (0, 0, 255)


def _write_inputs(folder, size=(64, 48)):
    w, h = size
    rng = np.random.default_rng(0)
    style = np.zeros((h, w, 3), np.uint8)
    style[:, : w // 2] = [200, 60, 40]
    style[:, w // 2:] = [30, 60, 200]
    style = np.clip(style + rng.integers(-30, 30, style.shape), 0, 255).astype(np.uint8)
    smap = np.zeros((h, w, 3), np.uint8)
    smap[:, : w // 2] = RED
    smap[:, w // 2:] = BLUE
    doodle = smap[:, ::-1].copy()
    Image.fromarray(style).save(folder / "paint.png")
    Image.fromarray(smap).save(folder / "paint_sem.png")
    Image.fromarray(doodle).save(folder / "doodle.png")
    return folder / "paint.png", folder / "paint_sem.png", folder / "doodle.png"


def _args(tmp_path, *extra):
    style, _, doodle = _write_inputs(tmp_path)
    return ["doodle", "-s", str(style), "-m", str(doodle), "--iterations", "2", "--phases", "2",
            "--device", "cpu", "--quiet", *extra]


def test_cli_doodle_writes_image_and_manifest(tmp_path):
    out = tmp_path / "out.png"
    r = CliRunner().invoke(app, _args(tmp_path, "-o", str(out)))
    assert r.exit_code == 0, r.output
    assert Image.open(out).size == (64, 48)
    manifest = json.loads((tmp_path / "out.json").read_text())
    assert manifest["command"] == "artkit doodle" and manifest["extra"]["mode"] == "doodle"
    assert manifest["params"]["config"]["iterations"] == 2 and manifest["seed"] == 0
    # refuses to overwrite without --force, and leaves the file as it was
    before = out.read_bytes()
    r = CliRunner().invoke(app, _args(tmp_path, "-o", str(out)))
    assert r.exit_code == 1 and "already exists" in r.output and out.read_bytes() == before


def test_cli_patch_engine_follows_the_doodle(tmp_path):
    out = tmp_path / "p.png"
    r = CliRunner().invoke(app, _args(tmp_path, "-o", str(out), "--engine", "patch"))
    assert r.exit_code == 0, r.output
    img = np.asarray(Image.open(out)).astype(int)
    # the doodle puts blue on the left: the left half must be blue-ish, the right red-ish
    assert img[:, :28, 2].mean() > img[:, :28, 0].mean() and img[:, 36:, 0].mean() > img[:, 36:, 2].mean()


def test_same_seed_same_output(tmp_path):
    style, smap, doodle = _write_inputs(tmp_path)
    cfg = DoodleConfig(iterations=2, phases=1)
    a = transfer(style, smap, doodle, config=cfg, generator=torch.Generator().manual_seed(3))
    b = transfer(style, smap, doodle, config=cfg, generator=torch.Generator().manual_seed(3))
    assert torch.equal(a.image, b.image) and a.mode == "doodle"


def test_modes(tmp_path):
    style, smap, doodle = _write_inputs(tmp_path)
    cfg = DoodleConfig(iterations=1, phases=1)
    assert transfer(style, config=cfg, size=(40, 32)).image.shape == (1, 3, 32, 40)
    r = transfer(style, content=style, config=cfg)
    assert r.mode == "style" and r.image.shape == (1, 3, 48, 64)
    assert transfer(style, smap, doodle, content=style, config=cfg).mode == "content-doodle"


def test_bad_inputs_are_one_line_errors(tmp_path):
    style, smap, doodle = _write_inputs(tmp_path)
    runner = CliRunner()
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not a png")
    r = runner.invoke(app, ["doodle", "-s", str(bad), "-o", str(tmp_path / "o.png")])
    assert r.exit_code == 1 and "cannot read image" in r.output and "Traceback" not in r.output
    # a doodle colour that no region of the style map has
    odd = np.zeros((48, 64, 3), np.uint8)
    odd[:, :] = (0, 255, 0)
    Image.fromarray(odd).save(tmp_path / "green.png")
    r = runner.invoke(app, ["doodle", "-s", str(style), "-m", str(tmp_path / "green.png"),
                            "-o", str(tmp_path / "o.png")])
    assert r.exit_code == 1 and "#00ff00 match no region" in r.output
    assert not (tmp_path / "o.png").exists()
    # a doodle without a style map
    (tmp_path / "paint_sem.png").rename(tmp_path / "elsewhere.png")
    r = runner.invoke(app, ["doodle", "-s", str(style), "-m", str(doodle), "-o", str(tmp_path / "o.png")])
    assert r.exit_code == 1 and "needs the style image's semantic map" in r.output
    r = runner.invoke(app, ["doodle", "-s", str(style), "--size", "10x10000", "-o", str(tmp_path / "o.png")])
    assert r.exit_code == 1 and "out of range" in r.output
    r = runner.invoke(app, ["doodle", "-s", str(style), "--preset", "nope", "-o", str(tmp_path / "o.png")])
    assert r.exit_code == 1 and "unknown doodle preset" in r.output


def test_maps_are_snapped_and_resized(tmp_path):
    style, smap, doodle = _write_inputs(tmp_path)
    # an anti-aliased, half-size RGBA doodle still works
    d = Image.open(doodle).convert("RGBA").resize((32, 24), Image.Resampling.BILINEAR)
    d.save(tmp_path / "aa.png")
    r = transfer(style, smap, tmp_path / "aa.png", size=(64, 48), config=DoodleConfig(iterations=1, phases=1))
    assert r.maps.regions == 2 and any("doodle resized" in n for n in r.notes)


def test_interrupt_writes_image_and_checkpoint_and_resumes(tmp_path, monkeypatch):
    style, smap, doodle = _write_inputs(tmp_path)
    calls = {"n": 0}
    import artkit.doodle.api as api

    real = api.run_phase

    def flaky(*a, **k):
        calls["n"] += 1
        if calls["n"] == 2:
            k["on_step"](1, a[1])
            raise KeyboardInterrupt
        return real(*a, **k)

    monkeypatch.setattr(api, "run_phase", flaky)
    out = tmp_path / "o.png"
    r = CliRunner().invoke(app, ["doodle", "-s", str(style), "-m", str(doodle), "--iterations", "2",
                                 "--phases", "2", "--quiet", "-o", str(out)])
    assert r.exit_code == 130 and "checkpoint" in r.output and out.exists()
    ckpt = Checkpoint.load(tmp_path / "o.ckpt.safetensors")
    assert ckpt.phase == 1 and ckpt.step == 1
    monkeypatch.setattr(api, "run_phase", real)
    r = CliRunner().invoke(app, ["doodle", "-s", str(style), "-m", str(doodle), "--iterations", "2",
                                 "--phases", "2", "--quiet", "--resume", str(tmp_path / "o.ckpt.safetensors"),
                                 "-o", str(tmp_path / "resumed.png")])
    assert r.exit_code == 0, r.output
    with pytest.raises(ArtkitError, match="not an artkit doodle checkpoint"):
        Checkpoint.load(style)


def test_shipped_presets_are_valid():
    from artkit.core.presets import list_presets, load_preset

    names = list_presets("doodle")
    assert {"default", "faithful", "loose", "draft"} <= set(names)
    for n in names:
        DoodleConfig(**{**DoodleConfig().__dict__, **load_preset(n, "doodle", DoodleConfig)}).validate()


def test_demo_runs_on_a_fresh_install(tmp_path):
    out = tmp_path / "demo"
    r = CliRunner().invoke(app, ["doodle", "demo", "-o", str(out), "--engine", "patch", "--size", "96x72",
                                 "--quiet"])
    assert r.exit_code == 0, r.output
    for name in ("style.png", "style_sem.png", "doodle.png", "painting.png", "painting.json"):
        assert (out / name).exists()
    r = CliRunner().invoke(app, ["doodle", "demo", "-o", str(out), "--engine", "patch", "--size", "96x72"])
    assert r.exit_code == 1 and "already exists" in r.output
