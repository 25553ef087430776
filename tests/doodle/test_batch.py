"""``artkit doodle batch JOBS.toml`` in one process, on tiny images with a tiny VGG: every job
painted with its own settings and manifest, the whole file checked before any work, a rerun
skipping what is done. (Two processes: tests/test_torchrun.py.)"""

import json

import numpy as np
import pytest
from doodle_helpers import write_inputs
from PIL import Image
from typer.testing import CliRunner

from artkit.cli import app

pytestmark = pytest.mark.usefixtures("fake_vgg")

JOBS = """
[defaults]
style = "paint.png"
init = "mean"
phases = 2

[[job]]
map = "doodle.png"
output = "out/neural.png"
iterations = 2

[[job]]
map = "doodle.png"
output = "out/patch.png"
engine = "patch"
size = "48x32"
seed = 5
"""


def _batch(folder, *extra, text=JOBS):
    write_inputs(folder)
    (folder / "jobs.toml").write_text(text)
    return CliRunner().invoke(app, ["doodle", "batch", str(folder / "jobs.toml"),
                                    "--device", "cpu", *map(str, extra)])


def _manifest(path):
    return json.loads(path.with_suffix(".json").read_text())


def test_paints_every_job_with_its_own_settings_then_a_rerun_skips_them(tmp_path):
    r = _batch(tmp_path, "--quiet")
    assert r.exit_code == 0, r.output
    neural, patch = tmp_path / "out" / "neural.png", tmp_path / "out" / "patch.png"
    assert Image.open(neural).size == (64, 48) and Image.open(patch).size == (48, 32)
    a, b = _manifest(neural), _manifest(patch)
    assert a["command"] == b["command"] == "artkit doodle batch"
    assert a["params"]["config"]["engine"] == "neural" and a["params"]["config"]["iterations"] == 2
    assert b["params"]["config"]["engine"] == "patch" and b["params"]["config"]["phases"] == 2
    assert (a["seed"], b["seed"], b["params"]["size"]) == (0, 5, [48, 32])
    assert a["params"]["map"] == str(tmp_path / "doodle.png")  # relative to the job file
    assert a["params"]["style_map"] == str(tmp_path / "paint_sem.png")  # found beside the style
    assert a["extra"]["input"] == str(tmp_path / "paint.png") and len(a["extra"]["phases"]) == 2
    before = {p: p.stat().st_mtime_ns for p in (tmp_path / "out").iterdir()}
    r = _batch(tmp_path)
    assert r.exit_code == 0, r.output
    assert "skipping 2 job(s) painted by an earlier run with the same settings" in r.output
    assert {p: p.stat().st_mtime_ns for p in (tmp_path / "out").iterdir()} == before
    # one job's settings changed: the other is still skipped, this one is not overwritten...
    changed = JOBS.replace("seed = 5", "seed = 6")
    r = _batch(tmp_path, text=changed)
    assert r.exit_code == 1 and "skipping 1 job(s)" in r.output
    assert f"output image '{patch}' already exists" in r.output
    # ...unless --force, which repaints every job
    r = _batch(tmp_path, "--force", text=changed)
    assert r.exit_code == 0, r.output
    assert _manifest(patch)["seed"] == 6 and neural.stat().st_mtime_ns != before[neural]


def test_a_job_paints_what_the_single_picture_command_paints(tmp_path):
    """Both go through one code path: the same inputs, settings and seed, the same pixels."""
    r = _batch(tmp_path, "--quiet")
    assert r.exit_code == 0, r.output
    style, _, doodle = tmp_path / "paint.png", None, tmp_path / "doodle.png"
    r = CliRunner().invoke(app, ["doodle", "-s", str(style), "-m", str(doodle), "--engine",
                                 "patch", "--size", "48x32", "--phases", "2", "--init", "mean",
                                 "--seed", "5", "--device", "cpu", "-q",
                                 "-o", str(tmp_path / "single.png")])
    assert r.exit_code == 0, r.output
    single = np.asarray(Image.open(tmp_path / "single.png"))
    assert np.array_equal(single, np.asarray(Image.open(tmp_path / "out" / "patch.png")))


@pytest.mark.parametrize("text, message", [
    (JOBS.replace("iterations = 2", "iteratons = 2"),
     "jobs.toml job 1: unknown key 'iteratons' (did you mean 'iterations'?)"),
    (JOBS.replace('map = "doodle.png"\noutput = "out/patch.png"',
                  'map = "nope.png"\noutput = "out/patch.png"'),
     "jobs.toml job 2: map '{tmp}/nope.png' does not exist"),
    (JOBS.replace("out/patch.png", "out/neural.png"),
     "jobs.toml job 2 writes '{tmp}/out/neural.png', as job 1 does"),
    (JOBS.replace("seed = 5", "seed = 5\nuniformity = -1.0"),
     "jobs.toml job 2: key 'uniformity' must be ≥ 0 (got -1)"),
    (JOBS.replace('size = "48x32"', 'size = "big"'), "jobs.toml job 2: size 'big' is not WIDTHxHEIGHT"),
    (JOBS.replace('size = "48x32"', 'size = "48x9000"'), "jobs.toml job 2: output size 48x9000 is out of range"),
    (JOBS.replace('output = "out/neural.png"\n', ''), "jobs.toml job 1: 'output' is missing"),
    (JOBS.replace('style = "paint.png"', 'style = "doodle.png"'),
     "jobs.toml job 1: a doodle (map) needs the style's semantic map, and 'doodle_sem.png' is not"),
    (JOBS.replace("[defaults]", "[defaults]\noutput = 'x.png'"),
     "jobs.toml [defaults]: unknown key 'output'"),
    ('[defaults]\nstyle = "paint.png"\n', "jobs.toml: no jobs (add one [[job]] table per painting)"),
    ("[[job]\n", "job file {tmp}/jobs.toml is not valid TOML"),
    (JOBS.replace("out/patch.png", "out/patch.gif"), "cannot write output image '{tmp}/out/patch.gif'"),
    (JOBS.replace("out/patch.png", "doodle.png"), "output image '{tmp}/doodle.png' is one of the inputs"),
])
def test_the_whole_file_is_checked_before_any_work(tmp_path, fake_vgg, text, message):
    r = _batch(tmp_path, text=text)
    assert r.exit_code == 1
    lines = r.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), r.output
    assert message.format(tmp=tmp_path) in lines[0]
    assert fake_vgg == [] and not (tmp_path / "out").exists()  # nothing loaded, nothing written


def test_an_existing_output_without_its_manifest_stops_the_batch_before_any_work(tmp_path, fake_vgg):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "patch.png").write_bytes(b"mine")
    r = _batch(tmp_path)
    assert r.exit_code == 1 and "'out/patch.png' already exists" in r.output.replace(str(tmp_path) + "/", "")
    assert fake_vgg == [] and not (tmp_path / "out" / "neural.png").exists()
    assert (tmp_path / "out" / "patch.png").read_bytes() == b"mine"


def test_missing_job_file_and_help():
    r = CliRunner().invoke(app, ["doodle", "batch", "nowhere.toml"])
    assert r.exit_code == 1 and "job file 'nowhere.toml' does not exist" in r.output
    r = CliRunner().invoke(app, ["doodle", "batch", "--help"])
    assert r.exit_code == 0
    for part in ("[[job]]", "[defaults]", "torchrun --nproc-per-node", "--seed", "--force"):
        assert part in r.output, part


def test_ctrl_c_keeps_the_paintings_done_and_a_rerun_paints_the_rest(tmp_path, monkeypatch):
    from artkit.doodle.api import Painter

    real, calls = Painter.paint, []

    def interrupted_second(self, *a, **kw):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(self, *a, **kw)

    monkeypatch.setattr(Painter, "paint", interrupted_second)
    r = _batch(tmp_path)
    assert r.exit_code == 130 and "interrupted: 1 painting(s) of this process are written" in r.output
    assert (tmp_path / "out" / "neural.png").exists() and not (tmp_path / "out" / "patch.png").exists()
    monkeypatch.setattr(Painter, "paint", real)
    r = _batch(tmp_path)
    assert r.exit_code == 0 and "skipping 1 job(s)" in r.output
    assert (tmp_path / "out" / "patch.png").exists()
