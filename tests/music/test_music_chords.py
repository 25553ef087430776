"""Progressions: text, presets (with their endings and meters), keys; meters."""

from fractions import Fraction as F

import pytest

from artkit.core.errors import ArtkitError
from artkit.music.chords import (chord_from_pcs, key_pc, list_progressions, load_progression,
                                 melody_harmony, parse_chord, parse_chords)
from artkit.music.meter import Meter, meter_for_length


def test_parse_chords_bars_slashes_and_repeats():
    p = parse_chords("Dm7 G7 | Cmaj7 | %")
    assert [b.symbols for b in p.bars] == [["Dm7", "G7"], ["Cmaj7"], ["Cmaj7"]]
    assert p.chord_at(F(0)).symbol == "Dm7" and p.chord_at(F(2)).symbol == "G7"
    p = parse_chords("Dm7 / / G7 | C")                       # '/' holds a chord one share more
    assert [(s, n, c.symbol) for s, n, c in p.timeline()] == [(0, 3, "Dm7"), (3, 1, "G7"), (4, 4, "C")]
    p = parse_chords("Dm7 G7 Cmaj7")
    assert len(p.bars) == 3 and [float(s) for s, _, _ in p.timeline()] == [0, 4, 8]
    with pytest.raises(ArtkitError, match="'H7'"):
        parse_chords("Dm7 H7 Cmaj7")
    with pytest.raises(ArtkitError, match="first bar"):
        parse_chords("% | C")
    with pytest.raises(ArtkitError, match="starts with '/'"):
        parse_chords("/ C | C")


def test_meters_of_text_chords():
    p = parse_chords("C | F", meter="3/4")
    assert p.length == 6 and p.meter == Meter(3, 4)
    p = parse_chords("Dm7 / / G7 / | C", meter="5/4")
    assert [(s, n) for s, n, _ in p.timeline()] == [(0, 3), (3, 2), (5, 5)]
    assert parse_chords("C", meter="6/8").length == 3
    for bad in ("4/5", "0/4", "17/4", "three"):
        with pytest.raises(ArtkitError):
            parse_chords("C", meter=bad)


@pytest.mark.parametrize("text, groups, strong, beats", [
    ("4/4", [2, 2], [0, 2], 4), ("3/4", [3], [0], 3), ("5/4", [3, 2], [0, 3], 5),
    ("7/4", [2, 2, 3], [0, 2, 4], 7), ("6/8", [1.5, 1.5], [0, 1.5], 2),
    ("12/8", [1.5] * 4, [0, 3], 4), ("2/2", [2, 2], [0, 2], 4), ("7/8", [1, 1, 1.5], [0, 1, 2], 3),
])
def test_meter_groups(text, groups, strong, beats):
    m = Meter.parse(text)
    assert [float(g) for g in m.groups] == groups and sum(m.groups) == m.bar_length
    assert sorted(float(s) for s in m.strong) == strong and len(m.beats) == beats
    assert m.swings == (m.denominator != 8)


def test_meter_for_length():
    assert meter_for_length(F(3)) == Meter(3, 4) and meter_for_length(F(5, 2)) == Meter(5, 8)


def test_shipped_progressions_and_their_endings():
    names = set(list_progressions())
    assert {"blues", "jazz-blues", "ii-v-i", "rhythm-changes", "minor-blues", "modal-vamp",
            "pop", "jazz-waltz", "five-four"} <= names
    assert len(load_progression("blues").bars) == 12
    assert len(load_progression("rhythm-changes").bars) == 32
    blues = load_progression("jazz-blues")
    played = blues.played(3)
    assert len(played.bars) == 36 and played.bars[-1].symbols == ["F7"]     # the tonic
    assert played.bars[-13].symbols == ["Gm7", "C7"]                       # a turnaround inside
    assert load_progression("ii-v-i").played(2).bars[-1].symbols == ["Cmaj7"]
    assert load_progression("jazz-waltz").meter == Meter(3, 4)
    assert load_progression("five-four").meter == Meter(5, 4)


def test_ii_v_i_in_any_key():
    for key, expect in [("Bb", ["Cm7", "F7", "Bbmaj7"]), ("F#", ["Abm7", "C#7", "F#maj7"]),
                        ("C", ["Dm7", "G7", "Cmaj7"])]:
        p = load_progression("ii-v-i", key=key)
        assert [b.symbols[0] for b in p.bars[:3]] == expect
        assert p.bars[2].chords[0][2].root == key_pc(key)
    assert load_progression("jazz-blues", key="Bb").ending.symbol == "Bb7"
    with pytest.raises(ArtkitError, match="unknown key"):
        load_progression("ii-v-i", key="H")
    with pytest.raises(ArtkitError, match="unknown music/progressions preset"):
        load_progression("bluez")


@pytest.mark.parametrize("body, match", [
    ('description = "x"\n', "required key 'bars' is missing"),
    ('description = "x"\nbars = []\n', "key 'bars' is empty"),
    ('description = "x"\nbars = ["C", "H7"]\n', "'H7'"),
    ('description = "x"\nbars = ["C"]\nmeter = "4/5"\n', "4/5"),
    ('description = "x"\nbars = ["C"]\nkey = "Q"\n', "unknown key"),
    ('description = "x"\nbars = ["C"]\nbeats = 3\n', "unknown key 'beats'"),
])
def test_bad_progression_presets_name_the_file(tmp_path, body, match):
    p = tmp_path / "mine.toml"
    p.write_text(body)
    with pytest.raises(ArtkitError, match=match) as exc:
        load_progression(str(p))
    assert "mine.toml" in str(exc.value)


def test_no_chord_in_the_melody_harmony():
    p = parse_chords("N.C. | C7 | N.C. | F")
    assert [c.symbol for _, _, c in melody_harmony(p.timeline())] == ["C7", "C7", "C7", "F"]
    with pytest.raises(ArtkitError, match="only N.C."):
        melody_harmony(parse_chords("N.C.").timeline())


def test_naming_sounding_notes():
    assert chord_from_pcs({7: 2.0, 11: 1.0, 2: 1.0, 5: 1.0}).symbol == "G7"
    assert chord_from_pcs({9: 2.0, 0: 1.0, 4: 1.0}).symbol == "Am"
    assert chord_from_pcs({}) is None
    assert parse_chord("Cpedal").root == 0            # a spelling only music21 knows
