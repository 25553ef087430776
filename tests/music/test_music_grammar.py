"""The deepjazz grammar: token types, exact bars and the round trip on hand-written measures."""

from fractions import Fraction as F

import pytest
import torch

from artkit.core.errors import ArtkitError
from artkit.music.chords import parse_chord, parse_chords
from artkit.music.grammar import (BAR, Note, Token, bar_lengths_ok, classify, quantize, realise,
                                  tokenize)


def _line(bars_of_notes):
    """[[(dur, pitch or None), ...] per bar] → notes with absolute starts."""
    notes, t = [], F(0)
    for bar in bars_of_notes:
        for dur, pitch in bar:
            notes.append(Note(t, F(dur), pitch))
            t += F(dur)
    return notes


def test_classify_types():
    c7 = parse_chord("C7")
    assert classify(64, c7) == "C"      # E: chord tone
    assert classify(62, c7) == "S"      # D: Mixolydian scale tone
    assert classify(63, c7) == "A"      # Eb: a semitone from E and D... not in chord/scale
    assert classify(66, c7) == "A"      # F#: a semitone from G
    dm7 = parse_chord("Dm7")
    assert classify(71, dm7) == "S"     # B natural: Dorian 6th
    assert classify(61, dm7) == "A"     # C#: leading tone to D
    assert classify(68, parse_chord("Cmaj7")) == "A"  # G#/Ab next to G
    assert classify(65, parse_chord("G")) == "X"      # F over G: no relation


def test_token_text_round_trip():
    for text in ["C,1/2,<-3,3>", "S,3/2,<1,7>", "A,1/3,<-8,-2>", "X,4,<-15,-9>", "R,5/4", BAR]:
        assert Token.parse(text).text == text
    with pytest.raises(ArtkitError):
        Token.parse("Q,1,<0,1>")


# Hand-written measures over ii-V-I: a bebop-ish line with approach tones, rests, triplets.
MEASURES = [
    [(0.5, 62), (0.5, 65), (0.5, 69), (0.5, 72), (1, 71), (0.5, None), (0.5, 69)],      # Dm7
    [(F(1, 3), 67), (F(1, 3), 65), (F(1, 3), 64), (1, 65), (0.5, 68), (0.5, 67), (1, None)],  # G7
    [(1.5, 64), (0.5, 63), (1, 64), (1, 71)],                                            # Cmaj7
    [(4, 72)],                                                                          # Cmaj7
]


def test_round_trip_on_hand_written_measures():
    prog = parse_chords("Dm7 G7 Cmaj7 Cmaj7")
    notes = _line(MEASURES)
    bars = [(F(4 * i), F(4)) for i in range(4)]
    chord_at = prog.chord_at
    tokens = tokenize(notes, chord_at, bars, start_pitch=60)
    assert tokens.count(BAR) == 4 and bar_lengths_ok(tokens, F(4))
    kinds = [Token.parse(t).kind for t in tokens if t != BAR]
    assert kinds[:7] == ["C", "C", "C", "C", "S", "R", "C"]
    assert "A" in kinds        # the Eb before E over Cmaj7, the Ab before G over G7
    back = realise(tokens, chord_at, F(4), start_pitch=60)
    assert back == notes                              # exactly the hand-written melody
    assert tokenize(back, chord_at, bars, start_pitch=60) == tokens


def test_realise_over_other_chords_keeps_types_and_bars():
    src = parse_chords("Dm7 G7 Cmaj7 Cmaj7")
    notes = _line(MEASURES)
    bars = [(F(4 * i), F(4)) for i in range(4)]
    tokens = tokenize(notes, src.chord_at, bars, 60)
    new = parse_chords("Gm7 C7 Fmaj7 Fmaj7")
    new_at = new.chord_at
    gen = torch.Generator().manual_seed(0)
    out = realise(tokens, new_at, F(4), 65, register=(55, 84), generator=gen)
    assert sum(n.dur for n in out) == 16
    again = tokenize(out, new_at, bars, 65)
    assert [Token.parse(t).kind for t in again] == [Token.parse(t).kind for t in tokens]
    assert all(55 <= n.pitch <= 84 for n in out if n.pitch is not None)


def test_tokenize_fills_bars_splits_ties_and_quantizes():
    c = parse_chord("C")
    notes = [Note(F(0.02), F(0.49), 60), Note(F(3), F(2), 64)]   # off-grid, crosses the bar
    tokens = tokenize(notes, lambda t: c, [(F(0), F(4)), (F(4), F(4))], 60)
    assert bar_lengths_ok(tokens, F(4))
    assert tokens[0] == "C,1/2,<-3,3>" and tokens[1] == "R,5/2"
    assert tokens[3] == BAR and tokens[4].startswith("C,1,")   # the tied half restated
    assert quantize([Note(F(0), F(1), 60), Note(F(1, 2), F(1), 62)])[0].dur == F(1, 2)


def test_realise_with_changing_bar_lengths():
    prog = parse_chords("C | F", meter="3/4")
    tokens = ["C,1,<-2,2>", "R,2", BAR, "C,3,<0,4>", BAR]
    notes = realise(tokens, prog.chord_at, [F(3), F(3)], 60)
    assert [(n.start, n.dur) for n in notes] == [(0, 1), (1, 2), (3, 3)]
    notes = realise(["C,1,<-2,2>", BAR, "C,1,<0,4>", BAR], prog.chord_at, [F(5, 2), F(3)], 60)
    assert [(n.start, n.dur, n.pitch is None) for n in notes] == [
        (0, 1, False), (1, F(3, 2), True), (F(5, 2), 1, False), (F(7, 2), 2, True)]
