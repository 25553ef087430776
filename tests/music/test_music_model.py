"""A tiny jazz model trains, saves, resumes and composes bars filled exactly."""

import json
from fractions import Fraction as F

import pytest
import torch

from artkit.core.errors import ArtkitError
from artkit.core.progress import Collector
from artkit.music.api import compose, train
from artkit.music.grammar import BAR, Token
from artkit.music.midi import MidiNote, MidiSong, MidiTrack, write_midi
from artkit.music.model import JazzModel, checkpoint_path

CHORDS = ["Dm7", "G7", "Cmaj7", "A7"]
ARPS = {"Dm7": [62, 65, 69, 72], "G7": [67, 71, 74, 77], "Cmaj7": [64, 67, 71, 72],
        "A7": [61, 64, 67, 69]}


def make_song(seed: int, bars: int = 8) -> bytes:
    """A swing-less bebop exercise: arpeggios up, a scale step, a rest, over ii-V-I-VI."""
    g = torch.Generator().manual_seed(seed)
    mel, comp, markers = [], [], []
    for b in range(bars):
        ch = CHORDS[b % 4]
        t0 = 4.0 * b
        markers.append((t0, ch))
        arp = ARPS[ch]
        rhythm = [0.5] * 6 + [1.0] if torch.rand((), generator=g) < 0.5 else [1.0, 0.5, 0.5, 1.0, 1.0]
        t = t0
        for i, d in enumerate(rhythm):
            mel.append(MidiNote(t, d, arp[i % 4] + (12 if i >= 4 and b % 2 else 0), 90))
            t += d
        comp += [MidiNote(t0, 4.0, p - 12, 60) for p in arp[:3]]
    return write_midi(MidiSong([MidiTrack("melody", 0, 0, mel), MidiTrack("piano", 1, 0, comp)],
                               markers=markers))


@pytest.fixture(scope="module")
def corpus_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("corpus")
    for i in range(4):
        (d / f"tune{i}.mid").write_bytes(make_song(i))
    (d / "notes.txt").write_text("not music")
    return d


@pytest.fixture(scope="module")
def tiny(corpus_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("model") / "tiny.safetensors"
    res = train([str(corpus_dir)], out, epochs=3, size="tiny", seed=0)
    return res


def test_train_saves_safetensors_and_json(tiny):
    assert tiny.pieces == 4 and tiny.path.is_file()
    meta = json.loads(tiny.path.with_suffix(".json").read_text())
    assert meta["model"] == "jazz" and meta["config"]["hidden"] == 16
    assert BAR in meta["vocab"] and meta["training"]["pieces"] == 4
    assert len(meta["features"]) == 4 and meta["training"]["harmony"] == {"chord symbols": 4}
    assert len(tiny.history) == 3 and tiny.history[-1]["loss"] < tiny.history[0]["loss"]
    assert checkpoint_path(tiny.path).is_file()


def test_loaded_model_is_the_same(tiny):
    m = JazzModel.load(tiny.path)
    ids = torch.tensor([[0, 1, 2, 3]])
    a, _ = m.net(ids)
    b, _ = tiny.model.net.eval()(ids)
    assert torch.allclose(a, b) and m.vocab == tiny.model.vocab


def test_resume_continues_from_the_checkpoint(tiny, corpus_dir):
    events = Collector()
    res = train([str(corpus_dir)], tiny.path, epochs=5, size="tiny", resume=True, progress=events)
    assert [h["epoch"] for h in res.history] == [1, 2, 3, 4, 5]
    assert res.history[:3] == tiny.history                      # the first three were kept
    assert any(e.task == "train" for e in events.events)


def test_train_refuses_overwrite_and_bad_sources(tiny, corpus_dir, tmp_path):
    with pytest.raises(ArtkitError, match="already exists"):
        train([str(corpus_dir)], tiny.path, epochs=1, size="tiny")
    with pytest.raises(ArtkitError, match="no music files"):
        train([str(tmp_path)], tmp_path / "m.safetensors", epochs=1, size="tiny")
    bad = tmp_path / "bad.mid"
    bad.write_bytes(b"MThd\x00\x00\x00\x06garbage")
    with pytest.raises(ArtkitError, match="no usable piece.*bad.mid"):
        train([str(bad)], tmp_path / "m.safetensors", epochs=1, size="tiny")


def test_compose_fills_bars_and_is_seeded(tiny):
    g = lambda: torch.Generator().manual_seed(7)  # noqa: E731
    s = compose(tiny.model, chords="Dm7 G7 | Cmaj7 | Bb7 | Ebmaj7", bars=8, generator=g())
    assert s.n_bars == 8 and s.tokens.count(BAR) == 8
    total = F(0)
    for t in s.tokens:
        if t == BAR:
            assert total == 4
            total = F(0)
        else:
            total += Token.parse(t).dur
    assert sum(n.dur for n in s.melody) == 32
    s2 = compose(tiny.model, chords="Dm7 G7 | Cmaj7 | Bb7 | Ebmaj7", bars=8, generator=g())
    assert s.melody == s2.melody
    song = s.midi_song()
    assert {t.name for t in song.tracks} == {"melody", "piano", "bass", "drums"}
    assert [m[1] for m in song.markers[:3]] == ["Dm7", "G7", "Cmaj7"]


def test_compose_swing_moves_offbeats(tiny):
    s = compose(tiny.model, progression="blues", bars=4, swing=0.66,
                generator=torch.Generator().manual_seed(1))
    ride = [n.start for t in s.midi_song().tracks if t.name == "drums" for n in t.notes]
    assert any(abs(x % 1 - 0.66) < 1e-6 for x in ride)       # the swung "and"s


def test_compose_patches_and_moods(tiny):
    s = compose(tiny.model, progression="ii-v-i", bars=8, patches=2, transition="soft",
                mood="relaxed", generator=torch.Generator().manual_seed(2))
    assert s.tempo == 84 and len(s.tempo_map) > 2          # ritardando between the phrases
    assert all(55 <= n.pitch <= 79 for n in s.melody if n.pitch is not None)
    h = compose(tiny.model, progression="ii-v-i", bars=8, patches=2, transition="hard",
                generator=torch.Generator().manual_seed(2))
    assert len(h.tempo_map) == 2


@pytest.mark.parametrize("kw, match", [
    (dict(tempo=5), "tempo"), (dict(bars=0), "bars"), (dict(bars=10_000), "bars"),
    (dict(temperature=0), "temperature"), (dict(swing=0.95), "swing"),
    (dict(chords="Dm7 H7"), "'H7'"), (dict(progression="nope"), "unknown"),
    (dict(patches=3, bars=2), "patches"),
])
def test_compose_rejects_bad_input(tiny, kw, match):
    with pytest.raises(ArtkitError, match=match):
        compose(tiny.model, **kw)


def test_primer_continues_a_melody(tiny, corpus_dir):
    s = compose(tiny.model, progression="ii-v-i", bars=4, primer=corpus_dir / "tune0.mid",
                generator=torch.Generator().manual_seed(0))
    first = next(n.pitch for n in s.melody if n.pitch is not None)
    assert abs(first - 72) <= 15          # starts near where the primer's melody ended (72)
    assert sum(n.dur for n in s.melody) == 16
    assert s.stream.parts[0].partName == "melody"          # the music21 score


def test_hard_transition_changes_the_dynamics(tiny):
    s = compose(tiny.model, progression="blues", bars=8, patches=2, transition="hard",
                generator=torch.Generator().manual_seed(4))
    mel = next(t for t in s.midi_song().tracks if t.name == "melody").notes
    first = [n.velocity for n in mel if n.start < 16]
    second = [n.velocity for n in mel if n.start >= 16]
    assert min(first) > max(second)                       # the second phrase comes in softly
