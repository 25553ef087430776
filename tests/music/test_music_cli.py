"""`artkit music` from the shell: outputs written together or not at all, models never
overwritten, train / render / evaluate / progressions / upgrade, one-line errors."""

import json
import wave

import pytest
from typer.testing import CliRunner

from artkit.cli import app
from artkit.core.artifacts import peek_kind
from artkit.music.midi import read_midi

runner = CliRunner()


def run(*args):
    return runner.invoke(app, ["music", *map(str, args)])


@pytest.fixture(scope="module")
def trained(tmp_path_factory, corpus_dir):
    """A tiny model trained from the shell: MODEL.safetensors and its manifest MODEL.json."""
    out = tmp_path_factory.mktemp("cli") / "mine.safetensors"
    res = run("train", corpus_dir, "-o", out, "--epochs", "2", "--size", "tiny", "--quiet", "--device", "cpu")
    assert res.exit_code == 0, res.output
    return out


def test_train_writes_the_model_its_manifest_and_a_checkpoint(trained):
    assert peek_kind(trained) == "jazz-model" and peek_kind(trained.with_name("mine.ckpt.safetensors")) == "checkpoint"
    manifest = json.loads(trained.with_suffix(".json").read_text())
    assert manifest["command"] == "artkit music train" and manifest["extra"]["training"]["pieces"] == 4
    res = run("train", trained.parent, "-o", trained, "--epochs", "1", "--size", "tiny")
    assert res.exit_code == 1 and "already exists" in res.stderr
    other = trained.with_name("other.safetensors")
    other.with_name("other.ckpt.safetensors").write_bytes(trained.with_name("mine.ckpt.safetensors").read_bytes())
    res = run("train", trained.parent, "-o", other, "--epochs", "1", "--size", "tiny")
    assert res.exit_code == 1 and "--resume" in res.stderr and not other.exists()


def test_compose_never_overwrites_a_models_files(trained):
    """`compose --model mine.safetensors -o mine.mid` would put its manifest on mine.json."""
    before = {p: p.read_bytes() for p in (trained, trained.with_suffix(".json"))}
    for force in ([], ["--force"]):
        res = run("--model", trained, "-o", trained.with_suffix(".mid"), "--bars", "4", *force)
        assert res.exit_code == 1 and "is one of the inputs" in res.stderr, res.output
    assert all(p.read_bytes() == data for p, data in before.items())
    assert not trained.with_suffix(".mid").exists()


def test_compose_writes_every_output_together(trained, tmp_path):
    out = tmp_path / "song.mid"
    res = run("--model", trained, "--chords", "Dm7 G7 | Cmaj7 | A7", "--bars", "4", "--tempo", "150",
              "--seed", "3", "-o", out, "--musicxml", "--pianoroll", "--wav")
    assert res.exit_code == 0, res.output
    assert "note: 4 bars is not a whole number of 3-bar choruses: playing 6" in res.stderr
    song = read_midi(out)
    assert {t.name for t in song.tracks} >= {"melody", "piano", "bass", "drums"}
    assert song.tempos[0][1] == pytest.approx(150, abs=0.01)
    assert out.with_suffix(".png").read_bytes()[:4] == b"\x89PNG"
    assert b"<work-title>custom changes, seed 3</work-title>" in out.with_suffix(".musicxml").read_bytes()
    with wave.open(str(out.with_suffix(".wav"))) as w:
        assert w.getnframes() / w.getframerate() == pytest.approx(24 * 60 / 150 + 1.0, abs=0.6)
    manifest = json.loads(out.with_suffix(".json").read_text())
    assert manifest["seed"] == 3 and "features" in manifest["extra"]
    assert list(manifest["weights"]) == ["mine.safetensors"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["song.json", "song.mid", "song.musicxml",
                                                          "song.png", "song.wav"]
    res = run("--model", trained, "--chords", "Dm7 G7 | Cmaj7 | A7", "--bars", "4", "--tempo",
              "150", "--seed", "3", "-o", tmp_path / "again.mid", "--quiet")
    assert res.exit_code == 0 and res.stdout == "" and res.stderr == ""
    assert (tmp_path / "again.mid").read_bytes() == out.read_bytes()


def test_ctrl_c_while_rendering_leaves_nothing(trained, tmp_path, monkeypatch):
    from artkit.music.api import Rendering

    def interrupted(self, path, progress=None):
        open(path, "wb").write(b"RIFF half a file")
        raise KeyboardInterrupt

    monkeypatch.setattr(Rendering, "write_wav", interrupted)
    res = run("--model", trained, "-p", "ii-v-i", "--bars", "4", "-o", tmp_path / "s.mid", "--wav",
              "--pianoroll")
    assert res.exit_code == 130 and "nothing was written" in res.stderr
    assert list(tmp_path.iterdir()) == []                     # no .mid, .png, .json, temp files


@pytest.mark.parametrize("args, message", [
    (["--chords", "Dm7 H7"], "unknown chord symbol 'H7'"),
    (["--tempo", "9999"], "--tempo must be ≤ 400"),
    (["--bars", "0"], "--bars must be ≥ 1"),
    (["--progression", "nope"], "unknown music/progressions preset"),
    (["--meter", "4/5", "--chords", "C"], "4/5"),
    (["--chords-from", "nowhere.musicxml"], "does not exist"),
    (["--device", "tpu"], "unknown device"),
    (["--model", "nope"], "unknown model 'nope'"),
])
def test_bad_input_is_one_line(tmp_path, args, message):
    out = tmp_path / "x.mid"
    res = run("-o", out, *args)
    assert res.exit_code == 1, res.output
    lines = [line for line in res.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and message in lines[0] and "internal" not in lines[0]
    assert not list(tmp_path.iterdir())


def test_render_and_evaluate(trained, tmp_path):
    mid = tmp_path / "s.mid"
    assert run("--model", trained, "-p", "blues", "--bars", "12", "-o", mid, "--quiet").exit_code == 0
    wav = tmp_path / "s.wav"
    for force in ([], ["--force"]):                             # its manifest would be s.json
        res = run("render", mid, "-o", wav, "--quiet", *force)
        assert res.exit_code == 1 and "manifest of s.wav" in res.stderr and "one of the inputs" in res.stderr
    wav = tmp_path / "audio.wav"
    res = run("render", mid, "-o", wav, "--sample-rate", "16000", "--quiet")
    assert res.exit_code == 0, res.output
    with wave.open(str(wav)) as w:
        assert w.getframerate() == 16000 and w.getnframes() > 16000 * 5
    assert json.loads(wav.with_suffix(".json").read_text())["command"] == "artkit music render"
    res = run("render", mid, "-o", wav, "--quiet")
    assert res.exit_code == 1 and "already exists" in res.stderr
    res = run("render", mid, "-o", tmp_path / "t.wav", "--soundfont", mid)
    assert res.exit_code == 1 and "not a SoundFont" in res.stderr
    res = run("evaluate", mid, "--against", trained, "-o", tmp_path / "e.json")
    assert res.exit_code == 0, res.output
    assert "scale consistency" in res.stdout and "uniform random" in res.stdout
    data = json.loads((tmp_path / "e.json").read_text())
    assert data["overlap_with_reference"]["mean"] >= 0 and len(data["pieces"]) == 1
    res = run("evaluate", mid, "--json", "--quiet")
    assert json.loads(res.stdout)["mean"]["scale_consistency"] > 0
    bad = tmp_path / "bad.mid"
    bad.write_bytes(b"")
    res = run("evaluate", bad)
    assert res.exit_code == 1 and "empty" in res.stderr


def test_progressions_and_help():
    res = run("progressions")
    assert res.exit_code == 0 and "jazz-blues" in res.stdout and "relaxed" in res.stderr
    assert "jazz-waltz\t16\t3/4\tBb6" in res.stdout
    assert "charts (--chords-from NAME): aaba, blues, five, waltz" in res.stderr
    data = json.loads(run("progressions", "--json").stdout)
    assert "five" in data["charts"] and "jazz" in data["models"]
    for argv in (["--help"], ["compose", "--help"]):
        res = run(*argv)
        assert res.exit_code == 0 and "--chords-from" in res.stdout and "Examples" in res.stdout
    assert "train" in run("--help").stdout


def test_the_shipped_model_composes_out_of_the_box(tmp_path):
    out = tmp_path / "song.mid"
    res = run("-o", out)
    assert res.exit_code == 0, res.output
    assert "composed 36 bars (jazz-blues, seed 0" in res.stderr
    song = read_midi(out)
    mel = next(t for t in song.tracks if t.name == "melody")
    assert len(mel.notes) >= 36 and song.markers[-1][1] == "F7"
    meta = json.loads((tmp_path / "song.json").read_text())
    assert meta["params"]["model"] == "jazz" and meta["device"] == "cpu" or meta["device"].startswith("cuda")
    assert len(meta["weights"]["jazz.safetensors"]) == 64


def test_upgrade_converts_an_old_model(tmp_path):
    from artkit.music.models import upgrade_model

    res = run("upgrade", tmp_path / "none.safetensors", "-o", tmp_path / "new.safetensors")
    assert res.exit_code == 2                                   # typer: the file must exist
    bogus = tmp_path / "old.safetensors"
    bogus.write_bytes(b"not a model")
    res = run("upgrade", bogus, "-o", tmp_path / "new.safetensors")
    assert res.exit_code == 1 and "not an old-format" in res.stderr
    assert upgrade_model  # the conversion itself: tests/music/test_music_model.py
