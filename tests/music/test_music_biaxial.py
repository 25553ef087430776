"""The biaxial model: piano-roll encoding, the 80 note features, training, composing, and model
files of the wrong kind."""

from pathlib import Path

import numpy as np
import pytest
import torch
from typer.testing import CliRunner

from artkit.cli import app
from artkit.core.errors import ArtkitError
from artkit.core.artifacts import load_artifact
from artkit.music.biaxial import (LOW, N_FEATURES, N_NOTES, SIZES, BiaxialConfig, BiaxialLSTM,
                                  BiaxialModel, NoteAxis, note_features, notes_to_roll, roll_loss,
                                  roll_to_notes, sample_roll)
from artkit.music.midi import MidiNote, MidiSong, MidiTrack, read_midi, write_midi
from artkit.music.threads import one_thread
from artkit.music.training import init_parameters

runner = CliRunner()
JAZZ = Path(__file__).resolve().parents[2] / "presets" / "music" / "models" / "jazz.safetensors"


def run(*args):
    return runner.invoke(app, ["music", *map(str, args)])


def chorale_like(k: int, bars: int = 4) -> bytes:
    """Four voices moving in half notes through I-IV-V-I in C, shifted by k quarters' rhythm."""
    chords = [(48, 64, 67, 72), (53, 65, 69, 72), (55, 62, 67, 71), (48, 64, 67, 72)]
    notes = []
    for b in range(bars):
        for half in range(2):
            ch = chords[(b * 2 + half + k) % 4]
            notes += [MidiNote(4.0 * b + 2.0 * half, 2.0, p, 80) for p in ch]
    return write_midi(MidiSong([MidiTrack("choir", 0, 0, notes)]))


@pytest.fixture(scope="module")
def tiny_biaxial(tmp_path_factory):
    d = tmp_path_factory.mktemp("bx")
    for k in range(3):
        (d / f"c{k}.mid").write_bytes(chorale_like(k))
    out = d / "bx.safetensors"
    res = run("train", d, "--model", "biaxial", "--size", "tiny", "-o", out, "--epochs", "2",
              "--quiet", "--device", "cpu")
    assert res.exit_code == 0, res.output
    return out


def test_features_of_a_hand_made_roll():
    prev = torch.zeros(1, 2, N_NOTES, 2)
    prev[0, 1, 30] = torch.tensor([1.0, 1.0])     # MIDI 54 (F#) struck
    prev[0, 1, 34] = torch.tensor([1.0, 0.0])     # MIDI 58 (A#) held
    f = note_features(prev, torch.tensor([4, 5]))
    assert f.shape == (1, 2, N_NOTES, N_FEATURES) == (1, 2, 78, 80)
    x = f[0, 1, 30]
    assert x[0] == pytest.approx(30 / 77)
    assert x[1:13].argmax() == (30 + LOW) % 12 and x[1:13].sum() == 1
    vic = x[13:63].view(25, 2)                    # offsets −12 … +12, (play, articulate)
    assert vic[12].tolist() == [1.0, 1.0] and vic[16].tolist() == [1.0, 0.0]
    assert vic.sum() == 3
    ctx = x[63:75]                                # counts rotated to F#: F# at 0, A# at 4
    assert ctx[0] == 1 and ctx[4] == 1 and ctx.sum() == 2
    assert f[0, 1, 0, 63:75][6] == 1 and f[0, 1, 0, 63:75][10] == 1   # C: F# is 6 up, A# 10
    assert f[0, 1, 0, 13:63].sum() == 0           # nothing within an octave of C1
    assert f[0, 1, 42, 13:63].view(25, 2)[0].tolist() == [1.0, 1.0]  # 12 below note 42
    assert x[75:79].tolist() == [1.0, -1.0, 1.0, -1.0]            # step 5 = 0b0101
    assert f[0, 0, 0, 75:79].tolist() == [-1.0, -1.0, 1.0, -1.0]  # step 4 = 0b0100
    assert x[79] == 0 and f[0, 0, 5, 79] == 1     # the first row's previous step is silent


def test_roll_round_trip_keeps_repeated_notes():
    notes = [(0, 1, 60), (1, 1, 60), (0.5, 0.25, 72), (2, 2, 40), (0, 1, 20)]  # 20: out of range
    roll = notes_to_roll(notes)
    assert roll.shape == (16, N_NOTES, 2)
    back = [(m.start, m.dur, m.pitch) for m in roll_to_notes(roll)]
    assert sorted(back) == sorted([(0.0, 1.0, 60), (1.0, 1.0, 60), (0.5, 0.25, 72), (2.0, 2.0, 40)])


def test_tiny_network_learns():
    net = BiaxialLSTM(BiaxialConfig(**SIZES["tiny"]))
    init_parameters(net, torch.Generator().manual_seed(0))
    roll = notes_to_roll([(q, 1, 60 + 4 * (int(q) % 3)) for q in range(4)])[None]
    opt = torch.optim.Adam(net.parameters(), lr=2e-2)
    losses = []
    with one_thread():
        for _ in range(20):
            loss = roll_loss(net(roll), roll)
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]


def test_numpy_note_axis_matches_the_network():
    net = BiaxialLSTM(BiaxialConfig(time_sizes=[8, 6], note_sizes=[7, 5])).eval()
    init_parameters(net, torch.Generator().manual_seed(1))
    with torch.no_grad():
        net.head.bias.fill_(0.0)
        feats = note_features(torch.zeros(1, 1, N_NOTES, 2), torch.tensor([0]))
        h, _ = net.run_time(feats.reshape(N_NOTES, 1, N_FEATURES))
        ax = NoteAxis(net)
        skip = net.skip(feats[0, 0]).double().numpy()
        bits = ax.sample(h.reshape(N_NOTES, -1).numpy(), np.zeros(N_NOTES),
                         np.random.default_rng(0).random((N_NOTES, 2)), 1.0, skip)
        assert 0 < bits[:, 0].sum() < N_NOTES
        assert (bits[:, 1] <= bits[:, 0]).all() and (bits[:, 1] == bits[:, 0]).all()  # all new
        probs = torch.sigmoid(net(torch.from_numpy(bits)[None, None]))[0, 0].numpy()
    assert np.allclose(probs, ax.last_p, atol=1e-5)


def test_train_writes_biaxial_files(tiny_biaxial):
    meta = load_artifact(tiny_biaxial, "biaxial-model").meta
    assert meta["config"]["time_sizes"] == [8, 8] and meta["encoding"]["features"] == 80
    assert meta["training"]["pieces"] == 3 and meta["training"]["steps"] == 3 * 64
    assert len(meta["training"]["history"]) == 2
    assert tiny_biaxial.with_name("bx.ckpt.safetensors").is_file()


def test_compose_writes_polyphonic_midi_of_the_right_length(tiny_biaxial, tmp_path):
    out = tmp_path / "poly.mid"
    res = run("--model", tiny_biaxial, "--bars", "2", "--seed", "3", "--tempo", "90",
              "--chords", "C G", "-o", out, "--pianoroll")
    assert res.exit_code == 0, res.output
    assert "--chords ignored" in res.stderr
    song = read_midi(out)
    notes = [n for t in song.tracks for n in t.notes]
    assert notes and all(0 <= n.start and n.start + n.dur <= 8.0 + 1e-6 for n in notes)
    assert all(abs(n.dur * 4 - round(n.dur * 4)) < 1e-6 and n.dur >= 0.25 for n in notes)
    assert all(LOW <= n.pitch < LOW + N_NOTES for n in notes)
    assert song.tempos[0][1] == pytest.approx(90)
    assert out.with_suffix(".png").stat().st_size > 1000
    bm = BiaxialModel.load(tiny_biaxial)
    rolls = [sample_roll(bm, 6, generator=torch.Generator().manual_seed(5)) for _ in range(2)]
    assert torch.equal(rolls[0], rolls[1])                          # seeded: the same music


def test_model_of_the_wrong_kind(tiny_biaxial, tmp_path):
    from artkit.music import JazzModel, load_model, train

    assert isinstance(load_model(tiny_biaxial), BiaxialModel)      # the kind is in the file
    with pytest.raises(ArtkitError, match="is a biaxial model, not a jazz model"):
        load_model(tiny_biaxial, kind="jazz")
    with pytest.raises(ArtkitError, match="is a biaxial model, not a jazz model"):
        JazzModel.load(tiny_biaxial)
    if JAZZ.is_file():
        with pytest.raises(ArtkitError, match="is a jazz model, not a biaxial model"):
            load_model(JAZZ, kind="biaxial")
        with pytest.raises(ArtkitError, match="is a jazz model, not a biaxial model"):
            BiaxialModel.load(JAZZ)
    with pytest.raises(ArtkitError, match="from a biaxial training run, not jazz"):
        train([str(tiny_biaxial.parent)], size="tiny", resume=True,
              checkpoint=tiny_biaxial.with_name("bx.ckpt.safetensors"))
    res = run("--model", tiny_biaxial, "--bars", "0", "-o", tmp_path / "x.mid")
    assert res.exit_code == 1 and "error:" in res.stderr and not (tmp_path / "x.mid").exists()


def test_resume_continues_biaxial(tiny_biaxial):
    res = run("train", tiny_biaxial.parent, "--model", "biaxial", "--size", "tiny", "-o",
              tiny_biaxial, "--epochs", "3", "--resume", "--quiet")
    assert res.exit_code == 0, res.output
    meta = load_artifact(tiny_biaxial, "biaxial-model").meta
    assert [h["epoch"] for h in meta["training"]["history"]] == [1, 2, 3]
