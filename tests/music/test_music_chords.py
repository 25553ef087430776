"""Chord symbols, progressions and keys."""

import pytest

from artkit.core.errors import ArtkitError
from artkit.music.chords import (chord_from_pcs, key_pc, list_progressions, load_progression,
                                 parse_chord, parse_chords, transpose_symbol)


@pytest.mark.parametrize("symbol, root, pcs, family", [
    ("Dm7", 2, {2, 5, 9, 0}, "minor"),
    ("G7", 7, {7, 11, 2, 5}, "dominant"),
    ("Cmaj7", 0, {0, 4, 7, 11}, "major"),
    ("Bb7", 10, {10, 2, 5, 8}, "dominant"),          # 'b' after the root is a flat
    ("Ebm7", 3, {3, 6, 10, 1}, "minor"),
    ("F#m7b5", 6, {6, 9, 0, 4}, "diminished"),
    ("Cdim7", 0, {0, 3, 6, 9}, "diminished"),
    ("C", 0, {0, 4, 7}, "major"),
])
def test_parse_chord(symbol, root, pcs, family):
    c = parse_chord(symbol)
    assert c.root == root and set(c.pcs) == pcs and c.family == family


def test_slash_chord_bass_and_scales():
    c = parse_chord("C/E")
    assert c.bass == 4 and c.root == 0
    assert set(parse_chord("Cmaj7").scale) == {0, 2, 4, 5, 7, 9, 11}       # major
    assert set(parse_chord("Dm7").scale) == {2, 4, 5, 7, 9, 11, 0}         # D Dorian
    assert 10 in parse_chord("C7").scale and 11 not in parse_chord("C7").scale


@pytest.mark.parametrize("bad", ["H7", "Cmaj13#11b9", "x", "7"])
def test_unknown_symbol_is_named(bad):
    with pytest.raises(ArtkitError) as exc:
        parse_chord(bad)
    assert f"'{bad}'" in str(exc.value)


def test_parse_chords_bars():
    p = parse_chords("Dm7 G7 | Cmaj7 | Cmaj7")
    assert p.bars == [["Dm7", "G7"], ["Cmaj7"], ["Cmaj7"]]
    assert p.chord_at(0, 0).symbol == "Dm7" and p.chord_at(0, 2).symbol == "G7"
    assert p.chord_at(4, 0).symbol == "Cmaj7"            # cycles: bar 4 is bar 1
    p = parse_chords("Dm7 G7 Cmaj7")
    assert len(p.bars) == 3
    tl = p.timeline(4)
    assert [float(s) for s, _, _ in tl] == [0, 4, 8, 12] and tl[3][2].symbol == "Dm7"
    with pytest.raises(ArtkitError, match="'H7'"):
        parse_chords("Dm7 H7 Cmaj7")


def test_shipped_progressions():
    names = set(list_progressions())
    assert {"blues", "jazz-blues", "ii-v-i", "rhythm-changes", "minor-blues", "modal-vamp",
            "pop"} <= names
    assert len(load_progression("blues").bars) == 12
    assert len(load_progression("rhythm-changes").bars) == 32
    assert load_progression("pop").bars == [["C"], ["G"], ["Am"], ["F"]]


def test_ii_v_i_in_any_key():
    for key, expect in [("Bb", ["Cm7", "F7", "Bbmaj7"]), ("F#", ["Abm7", "C#7", "F#maj7"]),
                        ("C", ["Dm7", "G7", "Cmaj7"])]:
        p = load_progression("ii-v-i", key=key)
        assert [b[0] for b in p.bars[:3]] == expect
        assert p.chords[2][0].root == key_pc(key)
    with pytest.raises(ArtkitError, match="unknown key"):
        load_progression("ii-v-i", key="H")
    with pytest.raises(ArtkitError, match="unknown music/progressions preset"):
        load_progression("bluez")


def test_transpose_and_naming():
    assert transpose_symbol("Bb7", 2) == "C7"
    assert transpose_symbol("C/E", 1) == "C#/F"
    c = chord_from_pcs({7: 2.0, 11: 1.0, 2: 1.0, 5: 1.0})
    assert c.symbol == "G7"
    assert chord_from_pcs({9: 2.0, 0: 1.0, 4: 1.0}).symbol == "Am"
    assert chord_from_pcs({}) is None
