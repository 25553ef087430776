"""`artkit music` from the shell: train, compose, render, evaluate, progressions."""

import json
import wave

import pytest
from typer.testing import CliRunner

from artkit.cli import app
from artkit.music.midi import MidiNote, MidiSong, MidiTrack, read_midi, write_midi

runner = CliRunner()


def run(*args):
    return runner.invoke(app, ["music", *map(str, args)])


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    d = tmp_path_factory.mktemp("cli")
    arp = {"C7": [60, 64, 67, 70], "F7": [65, 69, 72, 75], "G7": [67, 71, 74, 77]}
    for k in range(3):
        mel, markers = [], []
        for b, ch in enumerate(["C7", "F7", "C7", "G7"] * 2):
            markers.append((4.0 * b, ch))
            mel += [MidiNote(4.0 * b + i * 0.5, 0.5, arp[ch][(i + k) % 4] + 12 * (i >= 4), 90)
                    for i in range(8)]
        (d / f"t{k}.mid").write_bytes(write_midi(MidiSong([MidiTrack("melody", 0, 0, mel)],
                                                          markers=markers)))
    out = d / "m.safetensors"
    res = run("train", d, "-o", out, "--epochs", "2", "--size", "tiny", "--quiet", "--device", "cpu")
    assert res.exit_code == 0, res.output
    return out


def test_train_writes_model_and_refuses_overwrite(model):
    assert model.is_file() and model.with_suffix(".json").is_file()
    res = run("train", model.parent, "-o", model, "--epochs", "1", "--size", "tiny", "--quiet")
    assert res.exit_code == 1 and "error:" in res.output and "--force" in res.output


def test_compose_writes_everything(model, tmp_path):
    out = tmp_path / "song.mid"
    res = run("compose", "--model", model, "--chords", "Dm7 G7 | Cmaj7 | A7", "--bars", "4",
              "--tempo", "150", "--seed", "3", "-o", out, "--musicxml", "--pianoroll", "--wav",
              "--quiet")
    assert res.exit_code == 0, res.output
    song = read_midi(out)
    assert {t.name for t in song.tracks} >= {"melody", "piano", "bass", "drums"}
    assert song.tempos[0][1] == pytest.approx(150, abs=0.01)
    assert out.with_suffix(".png").read_bytes()[:4] == b"\x89PNG"
    assert b"<score-partwise" in out.with_suffix(".musicxml").read_bytes()[:2000]
    with wave.open(str(out.with_suffix(".wav"))) as w:
        secs = w.getnframes() / w.getframerate()
    assert secs == pytest.approx(16 * 60 / 150 + 1.0, abs=0.6)
    manifest = json.loads(out.with_suffix(".json").read_text())
    assert manifest["seed"] == 3 and "features" in manifest["extra"]
    # the same seed gives the same music
    res = run("compose", "--model", model, "--chords", "Dm7 G7 | Cmaj7 | A7", "--bars", "4",
              "--tempo", "150", "--seed", "3", "-o", tmp_path / "again.mid", "--quiet")
    assert (tmp_path / "again.mid").read_bytes() == out.read_bytes()


@pytest.mark.parametrize("args, message", [
    (["--chords", "Dm7 H7"], "unknown chord symbol 'H7'"),
    (["--chords", "Cmaj13#11b9"], "'Cmaj13#11b9'"),
    (["--tempo", "9999"], "tempo"),
    (["--bars", "0"], "bars"),
    (["--progression", "nope"], "unknown music/progressions preset"),
])
def test_compose_bad_input_is_one_line(model, tmp_path, args, message):
    out = tmp_path / "x.mid"
    res = run("compose", "--model", model, "-o", out, "--quiet", *args)
    assert res.exit_code == 1
    assert message in res.output and "Traceback" not in res.output
    assert not out.exists() and not list(tmp_path.iterdir())


def test_render_and_evaluate(model, tmp_path):
    mid = tmp_path / "s.mid"
    assert run("compose", "--model", model, "-p", "blues", "--bars", "4", "--seed", "1", "-o",
               mid, "--quiet").exit_code == 0
    wav = tmp_path / "s.wav"
    res = run("render", mid, "-o", wav, "--sample-rate", "16000", "--quiet")
    assert res.exit_code == 0, res.output
    with wave.open(str(wav)) as w:
        assert w.getframerate() == 16000 and w.getnframes() > 16000 * 5
    res = run("render", mid, "-o", wav, "--quiet")
    assert res.exit_code == 1 and "already exists" in res.output
    res = run("render", mid, "-o", tmp_path / "t.wav", "--soundfont", mid)
    assert res.exit_code == 1 and "not a SoundFont" in res.output
    js = tmp_path / "e.json"
    res = run("evaluate", mid, "--against", model, "--json", js)
    assert res.exit_code == 0, res.output
    assert "scale consistency" in res.output and "uniform random" in res.output
    data = json.loads(js.read_text())
    assert data["overlap_with_reference"]["mean"] >= 0 and len(data["pieces"]) == 1
    bad = tmp_path / "bad.mid"
    bad.write_bytes(b"")
    res = run("evaluate", bad)
    assert res.exit_code == 1 and "empty" in res.output


def test_progressions_and_help():
    res = run("progressions")
    assert res.exit_code == 0 and "jazz-blues" in res.output and "relaxed" in res.output
    res = run("compose", "--help")
    assert res.exit_code == 0 and "Example" in res.output


def test_shipped_model_composes_out_of_the_box(tmp_path):
    out = tmp_path / "song.mid"
    res = run("compose", "--progression", "jazz-blues", "--bars", "12", "--seed", "0", "-o", out)
    assert res.exit_code == 0, res.output
    assert "scale consistency" in res.output
    song = read_midi(out)
    mel = next(t for t in song.tracks if t.name == "melody")
    assert len(mel.notes) >= 12 and song.end <= 48 + 1
    meta = json.loads((tmp_path / "song.json").read_text())
    assert meta["params"]["model"].endswith("jazz.safetensors")
