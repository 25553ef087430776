"""Composing: whole choruses ending on the tonic, one Score type, meters across the band, swing,
settings checked in one place, titled MusicXML."""

from fractions import Fraction as F

import pytest
import torch

from artkit.core.errors import ArtkitError
from artkit.music import Composer, Score, compose
from artkit.music.grammar import BAR, Token
from artkit.music.output import write_musicxml


def bar_onsets(notes, bar_start, bar_len):
    return sorted({round(n.start - bar_start, 3) for n in notes if bar_start <= n.start < bar_start + bar_len})


def test_default_length_is_whole_choruses_ending_on_the_tonic(composer):
    s = composer.compose(progression="jazz-blues")
    assert isinstance(s, Score) and s.kind == "jazz" and s.n_bars == 36 and s.notes == []
    assert s.progression.bars[-1].symbols == ["F7"] and s.progression.bars[-13].symbols == ["Gm7", "C7"]
    last = s.melody[-1]
    assert (last.start, last.end, last.pitch % 12) == (F(140), F(144), 5)        # F, the whole bar
    assert [n.pitch % 12 for n in s.parts["bass"] if n.start >= 140] == [5]
    assert {n.pitch for n in s.parts["drums"] if n.start >= 140} == {36, 49}       # kick, crash
    assert s.duration == pytest.approx(144 * 60 / 130, rel=0.01) and s.seconds < s.duration
    assert s.weights["jazz.safetensors"] == composer.model.sha256


def test_bars_round_up_to_whole_choruses_with_a_note(composer):
    s = composer.compose(progression="jazz-blues", bars=32)
    assert s.n_bars == 36 and "32 bars is not a whole number of 12-bar choruses: playing 36" in s.notes[0]
    assert composer.compose(progression="ii-v-i", choruses=3).n_bars == 12
    assert composer.compose(progression="ii-v-i", bars=8).notes == []
    with pytest.raises(ArtkitError, match="--bars or --choruses, not both"):
        composer.compose(bars=8, choruses=2)
    with pytest.raises(ArtkitError, match="up to 512"):
        composer.compose(progression="rhythm-changes", choruses=20)


@pytest.mark.parametrize("meter, bass, piano, beats", [
    ("4/4", [0, 1, 2, 3], [0, 1.5], 4), ("3/4", [0, 2], [0, 1.5], 3),
    ("5/4", [0, 2, 3, 4], [0, 1.5, 3], 5), ("6/8", [0, 1.5], [0, 1.5], 3),
    ("7/4", [0, 1, 2, 3, 4, 6], [0, 1.5, 2, 3.5, 4, 5.5], 7),
])
def test_the_band_plays_each_meter(composer, meter, bass, piano, beats):
    s = composer.compose(chords="C7 | F7", meter=meter, choruses=2)
    assert s.n_bars == 4 and s.progression.meter.text == meter
    for b in range(3):                                          # the last bar is the ending
        assert bar_onsets(s.parts["bass"], b * beats, beats) == bass
        assert bar_onsets(s.parts["piano"], b * beats, beats) == piano
    assert bar_onsets(s.parts["bass"], 3 * beats, beats) == [0]
    total = F(0)
    for t in s.tokens:                                           # every bar filled exactly
        if t == BAR:
            assert total == beats
            total = F(0)
        else:
            total += Token.parse(t).dur
    song = s.midi_song()
    assert song.time_signatures == [(0.0, int(meter.split("/")[0]), int(meter.split("/")[1]))]


def test_drums_per_meter_and_no_swing_in_six_eight(composer):
    s = composer.compose(chords="C7 | F7", meter="6/8", choruses=2, swing=0.66)
    ride = bar_onsets([n for n in s.parts["drums"] if n.pitch == 51], 3, 3)
    assert ride == [0, 1, 1.5, 2.5]                               # each group's first and last eighth
    assert not s.swings and "no swing" in s.notes[0]
    assert s.midi_song().tracks[0].notes[0].start == s.parts["melody"][0].start
    w = composer.compose(chords="C7 | F7", meter="3/4", choruses=2, swing=0.66)
    hat = [n.start for n in w.parts["drums"] if n.pitch == 44]
    assert hat == [1.0, 4.0, 7.0]                                 # the waltz's beat 2


def test_swing_moves_offbeats(tiny):
    model, _ = tiny
    s = compose(model, progression="blues", bars=12, swing=0.66, device="cpu",
                generator=torch.Generator().manual_seed(1))
    ride = [n.start for t in s.midi_song().tracks if t.name == "drums" for n in t.notes]
    assert any(abs(x % 1 - 0.66) < 1e-6 for x in ride)


def test_patches_moods_and_transitions(tiny):
    model, _ = tiny
    c = Composer(model, device="cpu")
    s = c.compose(progression="ii-v-i", bars=8, patches=2, mood="relaxed",
                  generator=torch.Generator().manual_seed(2))
    assert s.tempo == 84 and len(s.tempo_map) > 2              # ritardando between the phrases
    assert all(58 <= n.pitch <= 80 for n in s.melody if n.pitch is not None)
    h = c.compose(progression="blues", patches=2, transition="hard",
                  generator=torch.Generator().manual_seed(4))
    assert len(h.tempo_map) == 2
    mel = h.parts["melody"]
    half = float(h.progression.spans()[18][0])                  # 36 bars: phrases of 18
    assert min(n.velocity for n in mel if n.start < half) > max(n.velocity for n in mel if n.start >= half)


def test_primer_continues_a_melody(tiny, corpus_dir):
    model, _ = tiny
    s = compose(model, progression="ii-v-i", bars=4, primer=corpus_dir / "tune0.mid", device="cpu")
    first = next(n.pitch for n in s.melody if n.pitch is not None)
    assert abs(first - 72) <= 15 and sum(n.dur for n in s.melody) == 16


def _mood(tmp_path, body):
    p = tmp_path / "m.toml"
    p.write_text('description = "test"\n' + body)
    return str(p)


@pytest.mark.parametrize("body, match", [
    ("register = [60]\n", "key 'register'.*two MIDI pitches"),
    ("register = [84, 60]\n", "register.*low then high"),
    ("register = [200, 240]\n", "key 'register' must be ≤ 127 \\(got 200\\)"),
    ("register = [60, 66]\n", "at least an octave"),
    ("velocity = 1000\n", "key 'velocity' must be ≤ 127"),
    ("density = -3\n", "key 'density' must be ≥ 0"),
    ("tempo = 0\n", "key 'tempo' must be ≥ 20"),
    ('swing = "lots"\n', "key 'swing' should be a number"),
    ("temp = 1\n", "unknown key 'temp'"),
])
def test_moods_are_checked_naming_file_and_key(composer, tmp_path, body, match):
    with pytest.raises(ArtkitError, match=match) as exc:
        composer.compose(mood=_mood(tmp_path, body), bars=4)
    assert "m.toml" in str(exc.value)


@pytest.mark.parametrize("kw, match", [
    (dict(tempo=5), "--tempo must be ≥ 20"), (dict(temperature=0), "--temperature"),
    (dict(swing=0.95), "--swing must be ≤ 0.8"), (dict(bars=0), "--bars must be ≥ 1"),
    (dict(patches=0), "--patches"), (dict(transition="x"), "--transition must be one of"),
    (dict(chords="Dm7 H7"), "'H7'"), (dict(progression="nope"), "unknown"),
    (dict(patches=5, progression="ii-v-i", choruses=1), "5 phrases for 4 bars"),
    (dict(chords="C", progression="blues"), "not both"), (dict(key="Eb", chords="C"), "--key"),
    (dict(meter="3/4", progression="blues"), "--meter sets the meter of --chords"),
])
def test_bad_options_are_named(composer, kw, match):
    with pytest.raises(ArtkitError, match=match):
        composer.compose(**kw)


def test_a_high_register_stays_in_midi(composer):
    s = composer.compose(progression="ii-v-i", bars=8, mood=None, tempo=150)
    assert all(0 <= n.pitch <= 127 for part in s.parts.values() for n in part)


def test_same_seed_same_score(composer):
    a = composer.compose(progression="autumn", generator=torch.Generator().manual_seed(9))
    b = composer.compose(progression="autumn", generator=torch.Generator().manual_seed(9))
    c = composer.compose(progression="autumn")                 # no generator: seed 0
    d = composer.compose(progression="autumn", generator=torch.Generator().manual_seed(0))
    assert a.melody == b.melody and a.parts == b.parts and c.melody == d.melody


def test_musicxml_is_titled_and_keeps_the_symbols(composer, tmp_path):
    from artkit.music.leadsheet import read_chart

    s = composer.compose(chords="CΔ7 | A7alt | Dm9 | G7(b9,#11) | Cø | F#m7b5 | N.C. | Db7/Ab | C6/9",
                         mood="relaxed", choruses=1)
    out = tmp_path / "s.musicxml"
    write_musicxml(out, s)
    assert s.title == "custom changes, relaxed mood, seed 0"
    assert b"<work-title>custom changes, relaxed mood, seed 0</work-title>" in out.read_bytes()
    back = read_chart(out).progression()
    assert [b.symbols for b in back.bars] == [b.symbols for b in s.progression.bars]


def test_biaxial_compose_returns_the_same_score_type(tmp_path):
    s = compose("biaxial", bars=2, device="cpu", chords="C G")
    assert isinstance(s, Score) and s.kind == "biaxial" and s.n_bars == 2 and s.progression is None
    assert "--chords ignored" in s.notes[0] and s.roll.shape == (32, 78, 2)
    assert all(n.start + n.dur <= 8.0 + 1e-6 for n in s.parts["piano"])
    assert s.duration <= 8 * 60 / 100 + 1e-6
    assert s.weights and "biaxial.safetensors" in s.weights
