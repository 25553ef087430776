"""``artkit doodle`` end to end on tiny images with a tiny VGG (no real weights needed)."""

import json
import os

import numpy as np
import pytest
import torch
from doodle_helpers import write_inputs
from PIL import Image
from typer.testing import CliRunner

from artkit.cli import app
from artkit.doodle.api import Checkpoint

pytestmark = pytest.mark.usefixtures("fake_vgg")


def _invoke(*args):
    return CliRunner().invoke(app, ["doodle", *map(str, args)])


def _args(tmp_path, *extra):
    style, _, doodle = write_inputs(tmp_path)
    return ["-s", style, "-m", doodle, "--iterations", "2", "--phases", "2", "--init", "mean",
            "--device", "cpu", "--quiet", *extra]


def test_writes_image_and_manifest_and_refuses_to_overwrite(tmp_path):
    out = tmp_path / "out.png"
    r = _invoke(*_args(tmp_path, "-o", out))
    assert r.exit_code == 0, r.output
    assert r.output == ""  # --quiet
    assert Image.open(out).size == (64, 48)
    manifest = json.loads((tmp_path / "out.json").read_text())
    assert manifest["command"] == "artkit doodle" and manifest["extra"]["mode"] == "doodle"
    assert manifest["params"]["config"]["iterations"] == 2 and manifest["seed"] == 0
    assert manifest["extra"]["partial"] is False and len(manifest["extra"]["phases"]) == 2
    assert not (tmp_path / "out.ckpt.safetensors").exists()
    before = out.read_bytes()
    r = _invoke(*_args(tmp_path, "-o", out))
    assert r.exit_code == 1 and "already exists" in r.output and out.read_bytes() == before


def test_patch_engine_follows_the_doodle_without_a_network(tmp_path, fake_vgg):
    out = tmp_path / "p.png"
    r = _invoke(*_args(tmp_path, "-o", out, "--engine", "patch"))
    assert r.exit_code == 0, r.output
    assert fake_vgg == []  # the patch engine loads no network
    img = np.asarray(Image.open(out)).astype(int)
    # the doodle puts blue on the left: the left half must be blue-ish, the right red-ish
    assert img[:, :28, 2].mean() > img[:, :28, 0].mean() and img[:, 36:, 0].mean() > img[:, 36:, 2].mean()


@pytest.mark.parametrize("option, value, message", [
    ("--uniformity", "-5", "--uniformity must be ≥ 0 (got -5)"),
    ("--em-iterations", "-1", "--em-iterations must be ≥ 1 (got -1)"),
    ("--iterations", "-1", "--iterations must be ≥ 0"),
    ("--tolerance", "1.5", "--tolerance must be < 1"),
    ("--patch-size", "8", "--patch-size must be odd"),
    ("--style-layers", "3_1,9_9", "--style-layers must be one of"),
    ("--init", "nowhere.png", "--init 'nowhere.png' is neither"),
])
def test_settings_out_of_range_are_refused_before_work(tmp_path, fake_vgg, option, value, message):
    r = _invoke(*_args(tmp_path, "-o", tmp_path / "o.png", option, value))
    assert r.exit_code == 1 and message in r.output, r.output
    assert len(r.output.strip().splitlines()) == 1 and fake_vgg == []


def test_preset_values_are_range_checked_naming_the_file(tmp_path):
    preset = tmp_path / "mine.toml"
    preset.write_text('engine = "patch"\nuniformity = -5.0\n')
    r = _invoke(*_args(tmp_path, "-o", tmp_path / "o.png", "--preset", preset))
    assert r.exit_code == 1 and f"{preset}: key 'uniformity' must be ≥ 0" in r.output, r.output


def test_options_given_override_the_preset_and_defaults_do_not(tmp_path):
    preset = tmp_path / "mine.toml"
    preset.write_text('engine = "patch"\nem_iterations = 1\n')
    out = tmp_path / "o.png"
    r = _invoke(*_args(tmp_path, "-o", out, "--preset", preset, "--uniformity", "0.5"))
    assert r.exit_code == 0, r.output
    config = json.loads((tmp_path / "o.json").read_text())["params"]["config"]
    # engine and em_iterations from the preset (the CLI's defaults do not override it)
    assert config["engine"] == "patch" and config["em_iterations"] == 1
    assert config["uniformity"] == 0.5


def test_outputs_are_checked_before_any_work(tmp_path, fake_vgg):
    r = _invoke(*_args(tmp_path, "-o", tmp_path / "out.gif"))
    assert r.exit_code == 1 and "unknown type '.gif'" in r.output and fake_vgg == []
    (tmp_path / "file").write_text("")
    r = _invoke(*_args(tmp_path, "-o", tmp_path / "file" / "out.png"))  # a folder that is a file
    assert r.exit_code == 1 and "is a file, not a folder" in r.output and fake_vgg == []
    if os.geteuid() != 0:  # root writes anywhere
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        r = _invoke(*_args(tmp_path, "-o", locked / "out.png"))
        assert r.exit_code == 1 and "permission denied" in r.output and fake_vgg == []
    (tmp_path / "o.json").write_text("{}")  # an unrelated file where the manifest would go
    r = _invoke(*_args(tmp_path, "-o", tmp_path / "o.png"))
    assert r.exit_code == 1 and "o.json' already exists" in r.output and fake_vgg == []


def test_bad_inputs_are_one_line_errors(tmp_path):
    style, smap, doodle = write_inputs(tmp_path)
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not a png")
    out = tmp_path / "o.png"
    r = _invoke("-s", bad, "-o", out)
    assert r.exit_code == 1 and "cannot read image" in r.output and "Traceback" not in r.output
    # a solid blob of a colour that no region of the style map has: named with its box
    odd = np.asarray(Image.open(doodle)).copy()
    odd[10:20, 40:52] = (0, 255, 0)
    Image.fromarray(odd).save(tmp_path / "green.png")
    r = _invoke("-s", style, "-m", tmp_path / "green.png", "-o", out)
    assert r.exit_code == 1 and "#00ff00 paints a region the style map does not have" in r.output
    assert "x 40–51, y 10–19" in r.output and "#ff0000" in r.output and not out.exists()
    (tmp_path / "paint_sem.png").rename(tmp_path / "elsewhere.png")
    r = _invoke("-s", style, "-m", doodle, "-o", out)
    assert r.exit_code == 1 and "needs the style image's semantic map" in r.output
    r = _invoke("-s", style, "--size", "10x10000", "-o", out)
    assert r.exit_code == 1 and "out of range" in r.output
    r = _invoke("-s", style, "--size", "big", "-o", out)
    assert r.exit_code == 1 and "is not WIDTHxHEIGHT" in r.output
    r = _invoke("-s", style, "--preset", "nope", "-o", out)
    assert r.exit_code == 1 and "unknown doodle preset" in r.output


def test_help_shows_every_default():
    r = _invoke("--help")
    assert r.exit_code == 0
    text = " ".join(r.output.split())  # undo the help's line wrapping
    assert "Usage: artkit doodle [OPTIONS]" in text
    for part in ("--engine <neural|patch>", "[default: neural]", "--iterations <int>",
                 "[default: 100]", "[default: 3_1,4_1]", "[default: auto]", "examples", "evaluate",
                 "demo"):
        assert part in text, part
    assert "None" not in text and "<bool>" not in text
    r = _invoke("--list-presets")
    assert r.exit_code == 0 and {"default", "draft", "faithful", "loose"} <= set(r.output.split())


def _interrupt_second_phase(monkeypatch):
    import artkit.doodle.api as api

    real, calls = api.run_phase, {"n": 0}

    def flaky(*a, **k):
        calls["n"] += 1
        if calls["n"] == 2:
            k["on_step"](1, a[1])
            raise KeyboardInterrupt
        return real(*a, **k)

    monkeypatch.setattr(api, "run_phase", flaky)
    return real


def test_interrupt_writes_a_partial_image_and_a_checkpoint_then_resumes(tmp_path, monkeypatch):
    real = _interrupt_second_phase(monkeypatch)
    out = tmp_path / "o.png"
    r = _invoke(*_args(tmp_path, "-o", out))
    assert r.exit_code == 130 and "checkpoint" in r.output and "partial" in r.output, r.output
    assert json.loads((tmp_path / "o.json").read_text())["extra"]["partial"] is True
    ckpt = tmp_path / "o.ckpt.safetensors"
    cp = Checkpoint.load(ckpt)
    assert (cp.phase, cp.step, cp.phases) == (1, 1, 2)
    monkeypatch.setattr("artkit.doodle.api.run_phase", real)
    r = _invoke(*_args(tmp_path, "--resume", ckpt, "-o", tmp_path / "resumed.png"))
    assert r.exit_code == 0, r.output
    # resuming onto the interrupted output replaces it and its checkpoint (with --force)
    r = _invoke(*_args(tmp_path, "--resume", ckpt, "-o", out))
    assert r.exit_code == 1 and "already exists" in r.output
    r = _invoke(*_args(tmp_path, "--resume", ckpt, "-o", out, "--force"))
    assert r.exit_code == 0, r.output
    assert json.loads((tmp_path / "o.json").read_text())["extra"]["partial"] is False


def test_resume_refuses_checkpoints_of_another_run(tmp_path, monkeypatch):
    _interrupt_second_phase(monkeypatch)
    r = _invoke(*_args(tmp_path, "-o", tmp_path / "o.png"))
    assert r.exit_code == 130
    ckpt = tmp_path / "o.ckpt.safetensors"
    cases = [
        (["--phases", "1"], "from a run with 2 phase(s); this run has 1"),
        (["--size", "32x24"], "is from a 64x48 painting"),
        (["--iterations", "0"], "past this run's 0 iterations"),
    ]
    for extra, message in cases:
        args = _args(tmp_path, "--resume", ckpt, "-o", tmp_path / "r.png")
        r = _invoke(*args, *extra)
        assert r.exit_code == 1 and message in r.output, (extra, r.output)
        assert len(r.output.strip().splitlines()) == 1
    cp = Checkpoint.load(ckpt)
    bad = tmp_path / "bad.ckpt.safetensors"
    Checkpoint(torch.full_like(cp.image, float("nan")), cp.phase, cp.step, cp.phases, cp.size,
               cp.fingerprint, cp.config).save(bad)
    r = _invoke(*_args(tmp_path, "--resume", bad, "-o", tmp_path / "r.png"))
    assert r.exit_code == 1 and "holds NaN" in r.output
    Checkpoint(cp.image[:, :, :5], cp.phase, cp.step, cp.phases, cp.size, cp.fingerprint,
               cp.config).save(bad)
    r = _invoke(*_args(tmp_path, "--resume", bad, "-o", tmp_path / "r.png"))
    assert r.exit_code == 1 and "phase 2 paints 64x48" in r.output
    r = _invoke(*_args(tmp_path, "--resume", tmp_path / "paint.png", "-o", tmp_path / "r.png"))
    assert r.exit_code == 1 and "not a safetensors file" in r.output


def test_frames_go_to_a_new_or_empty_folder(tmp_path):
    frames = tmp_path / "frames"
    frames.mkdir()
    (frames / "mine.txt").write_text("keep")
    r = _invoke(*_args(tmp_path, "-o", tmp_path / "o.png", "--frames", frames, "--save-every", "1"))
    assert r.exit_code == 1 and "is not empty" in r.output
    r = _invoke(*_args(tmp_path, "-o", tmp_path / "o.png", "--frames", tmp_path / "new",
                       "--save-every", "1"))
    assert r.exit_code == 0, r.output
    assert sorted(p.name for p in (tmp_path / "new").iterdir())[0].startswith("phase1_step")


def test_demo_runs_on_a_fresh_install(tmp_path):
    out = tmp_path / "demo"
    r = _invoke("demo", "-o", out, "--engine", "patch", "--size", "96x72", "--quiet")
    assert r.exit_code == 0, r.output
    for name in ("style.png", "style_sem.png", "doodle.png", "painting.png", "painting.json"):
        assert (out / name).exists()
    r = _invoke("demo", "-o", out, "--engine", "patch", "--size", "96x72")
    assert r.exit_code == 1 and "already exists" in r.output


def test_examples_list_and_canvas(tmp_path, monkeypatch):
    monkeypatch.delenv("ARTKIT_DATA", raising=False)
    r = _invoke("examples", "--json")
    assert r.exit_code == 0
    examples = json.loads(r.output)
    assert [e["name"] for e in examples] == ["demo"]
    assert [x["meaning"] for x in examples[0]["regions"]] == ["sky", "grass", "brick", "gravel"]
    canvas = tmp_path / "c.png"
    r = _invoke("examples", "demo", "--canvas", "40x30", "-o", canvas)
    assert r.exit_code == 0, r.output
    im = Image.open(canvas)
    assert im.mode == "P" and im.size == (40, 30)
    assert im.getpalette()[:12] == [0, 0, 255, 0, 255, 0, 255, 0, 0, 255, 255, 0]
    r = _invoke("examples", "nope", "--canvas", "40x30", "-o", tmp_path / "d.png")
    assert r.exit_code == 1 and "no doodle example 'nope'" in r.output


def test_evaluate_prints_a_table_and_json(tmp_path):
    style, smap, doodle = write_inputs(tmp_path)
    r = _invoke("evaluate", style, "-s", style, "-m", smap)
    assert r.exit_code == 0, r.output
    assert r.output.splitlines()[0].split("\t")[0] == "image" and "mean-colour" in r.output
    r = _invoke("evaluate", style, "-s", style, "-m", smap, "--json", "-o", tmp_path / "s.json")
    assert r.exit_code == 0, r.output
    data = json.loads(r.stdout)
    assert data["output"]["label_fidelity"] == 1.0
    assert json.loads((tmp_path / "s.json").read_text()) == data


def test_examples_list_the_reference_paintings(shared_data, tmp_path, monkeypatch):
    monkeypatch.setenv("ARTKIT_DATA", str(shared_data))
    r = _invoke("examples", "--json")
    assert r.exit_code == 0, r.output
    found = {e["name"]: e for e in json.loads(r.output)}
    assert {"demo", "monet", "gogh", "mia"} <= set(found)
    assert [x["colour"] for x in found["monet"]["regions"]] == ["#ffffff", "#ff331f", "#0000ff",
                                                               "#00ff00", "#c00000"]
    r = _invoke("examples", "monet", "--canvas", "64x48", "-o", tmp_path / "c.png")
    assert r.exit_code == 0, r.output
    im = Image.open(tmp_path / "c.png")
    assert im.getpalette()[:15] == [255, 255, 255, 255, 51, 31, 0, 0, 255, 0, 255, 0, 192, 0, 0]
    assert set(np.asarray(im).ravel().tolist()) == {0}  # all the largest region: white sky
