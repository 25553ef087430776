"""The shared scaffolding of the capability contract: results, artifacts, checkpoints, configs,
the output plan, the run, image inputs, the CLI groups and tables."""

from __future__ import annotations

import json
import os
import re
import struct
import subprocess
import sys
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import pytest
import torch
import typer
from typer.testing import CliRunner

from artkit.core.artifacts import describe, load_artifact, peek_kind, save_artifact
from artkit.core.checkpoint import checkpoint_path, load_checkpoint, save_checkpoint
from artkit.core.cli import OutputOpt, Run, capability_app, command, print_table
from artkit.core.config import Config, param
from artkit.core.errors import ArtkitError
from artkit.core.images import as_image, as_tensor, image_size, list_images, load_image
from artkit.core.outputs import OutputPlan
from artkit.core.provenance import record, recording
from artkit.core.result import Evaluation, Result

# ------------------------------------------------------------------------------ results


@dataclass(kw_only=True)
class _Painting(Result):
    size: int


def test_result_fields_and_to_dict():
    r = _Painting(size=4, seconds=1.25, notes=["n"], weights={"w": "ab"})
    d = r.to_dict()
    assert d == {"size": 4, "seconds": 1.25, "notes": ["n"], "weights": {"w": "ab"}}
    assert issubclass(Evaluation, Result)


# ------------------------------------------------------------------------------ provenance


def test_recordings_nest_and_close():
    record("outside", "0")  # no block open: ignored
    with recording() as outer:
        record("a", "1")
        with recording() as inner:
            record("b", "2")
    assert outer == {"a": "1", "b": "2"} and inner == {"b": "2"}


# ------------------------------------------------------------------------------ artifacts

describe("test-model", "test model", "make one with the test")


def test_artifact_round_trip_records_sha(tmp_path):
    p = save_artifact(tmp_path / "m.safetensors", {"w": torch.arange(6.0).view(2, 3)},
                      kind="test-model", version=2, meta={"labels": ["a", "b"]})
    assert peek_kind(p) == "test-model"
    with recording() as used:
        art = load_artifact(p, "test-model", versions=(1, 2))
    assert used == {"m.safetensors": art.sha256} and len(art.sha256) == 64
    assert art.meta == {"labels": ["a", "b"]} and art.version == 2
    assert art.tensor("w", shape=(2, None)).shape == (2, 3)
    with pytest.raises(ArtkitError, match="tensor 'w' is 2×3, expected 3×2"):
        art.tensor("w", shape=(3, 2))
    with pytest.raises(ArtkitError, match="no tensor 'x'"):
        art.tensor("x")


def test_artifact_refusals(tmp_path):
    p = save_artifact(tmp_path / "m.safetensors", {"w": torch.ones(2)}, kind="test-model")
    with pytest.raises(ArtkitError, match="is a test model, not a patterns"):
        load_artifact(p, "patterns")
    with pytest.raises(ArtkitError, match="format version 1; this artkit reads 2"):
        load_artifact(p, "test-model", versions=(2,))
    with pytest.raises(ArtkitError, match="already exists"):
        save_artifact(p, {"w": torch.ones(2)}, kind="test-model")
    nan = save_artifact(tmp_path / "nan.safetensors", {"w": torch.tensor([1.0, float("nan")])},
                        kind="test-model")
    with pytest.raises(ArtkitError, match="damaged: tensor 'w' holds NaN"):
        load_artifact(nan, "test-model")
    huge = tmp_path / "huge.safetensors"  # a header that claims 2**60 bytes
    huge.write_bytes(struct.pack("<Q", 1 << 60) + b"{}")
    with pytest.raises(ArtkitError, match="not a safetensors file"):
        load_artifact(huge, "test-model")
    foreign = tmp_path / "foreign.safetensors"
    from safetensors.torch import save_file

    save_file({"w": torch.ones(1)}, str(foreign))
    with pytest.raises(ArtkitError, match="not a file artkit wrote"):
        load_artifact(foreign, "test-model")
    with pytest.raises(ArtkitError, match="does not exist"):
        load_artifact(tmp_path / "none.safetensors", "test-model")


# ------------------------------------------------------------------------------ checkpoints


def test_checkpoint_resumes_the_optimiser_exactly(tmp_path):
    torch.manual_seed(0)
    net = torch.nn.Linear(3, 2)
    opt = torch.optim.AdamW(net.parameters(), lr=0.01)
    for _ in range(3):
        opt.zero_grad()
        net(torch.ones(4, 3)).pow(2).sum().backward()
        opt.step()
    path = checkpoint_path(tmp_path / "model.safetensors")
    assert path.name == "model.ckpt.safetensors"
    save_checkpoint(path, net, opt, run="test", epoch=3, meta={"vocab": ["x"]})
    net2 = torch.nn.Linear(3, 2)
    opt2 = torch.optim.AdamW(net2.parameters(), lr=0.5)
    ck = load_checkpoint(path, run="test")
    ck.load_net(net2)
    ck.load_optimizer(opt2)
    assert ck.epoch == 3 and ck.meta["vocab"] == ["x"] and opt2.param_groups[0]["lr"] == 0.01
    for a, b in ((net, opt), (net2, opt2)):
        b.zero_grad()
        a(torch.ones(4, 3)).pow(2).sum().backward()
        b.step()
    assert torch.equal(net.weight, net2.weight)
    with pytest.raises(ArtkitError, match="from a test training run, not jazz"):
        load_checkpoint(path, run="jazz")
    with pytest.raises(ArtkitError, match="does not fit this run"):
        ck.load_net(torch.nn.Linear(5, 2))
    with pytest.raises(ArtkitError, match="train without --resume"):
        load_checkpoint(tmp_path / "absent.safetensors", run="test")


# ------------------------------------------------------------------------------ configs


@dataclass
class _Cfg(Config):
    steps: int = param(10, ge=1)
    rate: float = param(0.5, gt=0, le=1)
    engine: str = param("fast", choices=("fast", "good"))
    sizes: list = param(factory=lambda: [1, 2], ge=1)


def test_config_ranges_name_the_option_and_file(tmp_path):
    _Cfg().validate()
    for kwargs, message in ((dict(steps=0), "--steps must be ≥ 1 (got 0)"),
                            (dict(rate=0.0), "--rate must be > 0"),
                            (dict(rate=float("nan")), "--rate must be a finite number"),
                            (dict(engine="slow"), "--engine must be one of fast, good"),
                            (dict(sizes=[1, 0]), "--sizes must be ≥ 1"),
                            (dict(steps="3"), "--steps should be an integer")):
        with pytest.raises(ArtkitError, match=re.escape(message)):
            _Cfg(**kwargs).validate()
    preset = tmp_path / "p.toml"
    preset.write_text("steps = -1\n")
    with pytest.raises(ArtkitError, match=r"p.toml: key 'steps' must be ≥ 1"):
        _Cfg.build(str(preset), "none")
    preset.write_text("steps = 4\n")
    assert _Cfg.build(str(preset), "none", rate=0.25, steps=None) == _Cfg(steps=4, rate=0.25)
    preset.write_bytes(b"steps = \xff\n")
    with pytest.raises(ArtkitError, match="not UTF-8"):
        _Cfg.build(str(preset), "none")


@dataclass
class _Needs(Config):
    bars: int = param(ge=1)
    name: str = "x"


def test_preset_missing_a_required_key(tmp_path):
    preset = tmp_path / "p.toml"
    preset.write_text('name = "y"\n')
    with pytest.raises(ArtkitError, match="required key 'bars' is missing"):
        _Needs.build(str(preset), "none")


# ------------------------------------------------------------------------------ output plan


def test_plan_refuses_before_any_work(tmp_path):
    (tmp_path / "a.json").write_text("{}")  # an unrelated file where a.png's manifest would go
    plan = OutputPlan(force=False)
    plan.add(tmp_path / "a.png", suffixes={".png"})
    with pytest.raises(ArtkitError, match="manifest of a.png '.*a.json' already exists"):
        plan.check()
    model = tmp_path / "mine.safetensors"
    plan = OutputPlan(force=True, inputs=[model, tmp_path / "mine.json"])
    plan.add(tmp_path / "mine.mid")
    with pytest.raises(ArtkitError, match="is one of the inputs"):
        plan.check()
    plan = OutputPlan(force=True)
    plan.add(tmp_path / "x.png")
    with pytest.raises(ArtkitError, match="two outputs would be written"):
        plan.add(tmp_path / "sub" / ".." / "x.png")
    plan = OutputPlan()
    plan.add(tmp_path / "x.bmp", suffixes={".png"})
    with pytest.raises(ArtkitError, match="unknown type '.bmp'"):
        plan.check()
    (tmp_path / "file").write_text("")
    plan = OutputPlan()
    plan.add(tmp_path / "file" / "x.png")
    with pytest.raises(ArtkitError, match="is a file, not a folder"):
        plan.check()


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere")
def test_plan_refuses_an_unwritable_folder(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    plan = OutputPlan()
    plan.add(ro / "x.png")
    with pytest.raises(ArtkitError, match="permission denied"):
        plan.check()


def test_staged_files_are_all_or_nothing(tmp_path):
    plan = OutputPlan()
    a, b = plan.add(tmp_path / "a.txt"), plan.add(tmp_path / "b.txt")
    plan.check()
    plan.stage_text(a, "A")
    with pytest.raises(RuntimeError):
        plan.stage(b, lambda tmp: (_ for _ in ()).throw(RuntimeError("disk full")))
    plan.discard()
    assert sorted(p.name for p in tmp_path.iterdir()) == []
    plan.stage_text(a, "A")
    plan.stage_text(b, "B")
    assert [p.name for p in plan.commit()] == ["a.txt", "b.txt"]
    assert (tmp_path / "a.txt").read_text() == "A" and not list(tmp_path.glob(".*part*"))
    assert (tmp_path / "a.txt").stat().st_mode & 0o777 == 0o666 & ~_umask()


def _umask() -> int:
    m = os.umask(0)
    os.umask(m)
    return m


# ------------------------------------------------------------------------------ the run


def test_run_writes_outputs_and_manifests_with_weights(tmp_path):
    run = Run("artkit test", params={"x": 1}, seed=3, device="cpu", quiet=True)
    out = run.image_output(tmp_path / "o.png")
    with run:
        record("net", "abc")
        image = torch.rand(1, 3, 4, 4, generator=run.generator)
        run.save_image(out, image, extra={"loss": 0.5})
    manifest = json.loads((tmp_path / "o.json").read_text())
    assert manifest["weights"] == {"net": "abc"} and manifest["seed"] == 3
    assert manifest["device"] == "cpu" and manifest["extra"] == {"loss": 0.5}
    from artkit.core.images import read_png_manifest

    assert read_png_manifest(out)["weights"] == {"net": "abc"}


def test_run_writes_nothing_on_an_error(tmp_path):
    run = Run("artkit test", quiet=True, device=None)
    out = run.output(tmp_path / "o.txt")
    with pytest.raises(KeyboardInterrupt), run:
        run.save_text(out, "half")
        raise KeyboardInterrupt
    assert list(tmp_path.iterdir()) == []


def test_run_batch_items_go_on_past_a_bad_one(tmp_path):
    run = Run("artkit test", quiet=True, device=None)
    outs = [run.output(tmp_path / f"{i}.txt") for i in range(3)]
    with pytest.raises(ArtkitError, match="1 input.* failed: 1"), run:
        for i, out in enumerate(outs):
            with run.item(str(i)):
                run.save_text(out, "x")
                if i == 1:
                    raise ArtkitError("bad photo")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["0.json", "0.txt", "2.json", "2.txt"]


# ------------------------------------------------------------------------------ images


def _png_header_only(path: Path, w: int, h: int) -> None:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0"))
                     + chunk(b"IEND", b""))


def test_huge_header_is_refused_before_decoding(tmp_path):
    bomb = tmp_path / "bomb.png"
    _png_header_only(bomb, 100000, 100000)
    assert bomb.stat().st_size < 100
    for read in (image_size, load_image):
        with pytest.raises(ArtkitError, match="bomb.png' more than artkit takes"):
            read(bomb)
    small = tmp_path / "small.png"
    _png_header_only(small, 9000, 9000)  # under Pillow's own guard, over artkit's budget
    assert image_size(small) == (9000, 9000)
    with pytest.raises(ArtkitError, match="9000×9000 pixels, more than artkit takes"):
        load_image(small)
    with pytest.raises(ArtkitError, match="more than artkit takes"):
        as_image(torch.zeros(1, 3, 9000, 9000), max_pixels=8000 * 8000)


def test_as_image_and_tensor_accept_every_kind(tmp_path):
    import numpy as np
    from PIL import Image

    arr = (np.arange(48, dtype=np.uint8).reshape(4, 4, 3))
    Image.fromarray(arr).save(tmp_path / "a.png")
    for x in (tmp_path / "a.png", Image.fromarray(arr), arr, arr / 255.0,
              torch.from_numpy(arr).permute(2, 0, 1)[None] / 255.0):
        assert np.array_equal(np.asarray(as_image(x)), arr)
    t = as_tensor(torch.full((1, 1, 2, 2), 0.3))
    assert t.shape == (1, 3, 2, 2) and torch.allclose(t, torch.tensor(0.3))
    with pytest.raises(ArtkitError, match="cannot use a dict"):
        as_image({})


def test_list_images_excludes_the_output_folder(tmp_path):
    from PIL import Image

    for rel in ("a.png", "sub/b.jpg", "out/a.png", ".hidden/c.png", "notes.txt"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        if rel.endswith("txt"):
            (tmp_path / rel).write_text("x")
        else:
            Image.new("RGB", (2, 2)).save(tmp_path / rel)
    found = list_images([tmp_path], exclude=[tmp_path / "out"])
    assert [p.relative_to(tmp_path).as_posix() for p in found] == ["a.png", "sub/b.jpg"]
    assert len(list_images([tmp_path], recursive=False)) == 1
    with pytest.raises(ArtkitError, match="does not exist"):
        list_images([tmp_path / "nope"])


# ------------------------------------------------------------------------------ CLI layer


def _demo_app():
    app = capability_app("Demo capability.", default="make")

    @command(app, "make", hidden=True)
    def make(output: OutputOpt, n: Annotated[int, typer.Option(help="How many.")] = 1) -> None:
        """Make N things."""
        typer.echo(f"made {n} into {output}")

    @command(app, "check")
    def check() -> None:
        """Check things."""
        raise ArtkitError("nothing to check", "make something first")

    return app


def test_default_command_and_help():
    app, runner = _demo_app(), CliRunner()
    res = runner.invoke(app, ["-o", "x.png", "--n", "2"])
    assert res.exit_code == 0 and "made 2 into x.png" in res.output
    res = runner.invoke(app, ["--help"])
    assert res.exit_code == 0
    assert "Make N things." in res.output and "--n <int>" in res.output
    assert "check" in res.output and "<bool>" not in res.output
    res = runner.invoke(app, ["check"])
    assert res.exit_code == 1 and res.output.strip() == "error: nothing to check (make something first)"


def test_piped_tables_keep_names_whole(capsys):
    long = "efficientnet-lite0-with-a-very-long-name-that-would-be-cut"
    print_table("t", ["name", "size"], [[long, 1.5]])
    out = capsys.readouterr().out
    assert out.splitlines() == ["name\tsize", f"{long}\t1.5"]
    print_table("t", ["name"], [[long]], as_json=True)
    assert json.loads(capsys.readouterr().out) == [{"name": long}]


def test_root_help_and_version_do_not_import_torch():
    code = ("import sys; from typer.testing import CliRunner; from artkit.cli import app; "
            "r = CliRunner().invoke(app, ['--help']); assert r.exit_code == 0, r.output; "
            "r = CliRunner().invoke(app, ['--version']); assert 'artkit' in r.output; "
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
