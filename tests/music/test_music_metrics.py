"""Quality figures on inputs whose values are known by hand."""

import math
import random
from fractions import Fraction as F

import pytest

from artkit.music.chords import parse_chords
from artkit.music.corpus import Piece
from artkit.music.grammar import Note
from artkit.music.meter import Meter
from artkit.music.metrics import (baseline, chord_tone_ratio, evaluate_pieces, groove, overlap,
                                  pitch_entropy, piece_features, repetition, scale_consistency,
                                  strong_beat)


def piece(pitches, durs=None, chords="C", bars=None, meter="4/4"):
    durs = durs or [F(1)] * len(pitches)
    notes, t = [], F(0)
    for p, d in zip(pitches, durs):
        notes.append(Note(t, F(d), p))
        t += F(d)
    prog = parse_chords(chords, meter)
    n_bars = bars or int(math.ceil(t / prog.meter.bar_length))
    prog = prog.played(-(-n_bars // len(prog.bars)))
    spans = prog.spans()[:n_bars]
    return Piece("test", notes, prog.timeline(), [(t0, b.length) for t0, b in spans],
                 "chord symbols", meters=[b.meter for _, b in spans])


def test_scale_and_entropy():
    c_major = [60, 62, 64, 65, 67, 69, 71, 72]
    assert scale_consistency(c_major) == 1.0
    assert pitch_entropy(c_major) == pytest.approx(-(6 / 8 * math.log2(1 / 8) + 2 / 8 * math.log2(2 / 8)))
    chromatic = list(range(60, 72))
    assert pitch_entropy(chromatic) == pytest.approx(math.log2(12))
    assert scale_consistency(chromatic) == pytest.approx(7 / 12)
    assert pitch_entropy([60] * 5) == 0.0


def test_repetition():
    assert repetition([60, 62, 64, 62, 60, 62, 64, 62, 60]) == pytest.approx(1 - 4 / 6)
    assert repetition([60, 61, 63, 66, 70, 75]) == 0.0
    assert math.isnan(repetition([60, 62]))


def test_groove():
    same = piece([60, 62, 64, 65] * 3)                                  # quarters in every bar
    assert groove(same.melody, same.bars) == 1.0
    mixed = piece([60] * 8, [1, 1, 1, 1, 2, F(1, 2), F(1, 2), 1])       # 4 onsets vs 4 onsets
    # bar 1 onsets at 0,4,8,12 (16ths); bar 2 at 0,8,10,12 → 2 of 16 positions differ
    assert groove(mixed.melody, mixed.bars) == pytest.approx(1 - 2 / 16)


def test_chord_tone_ratio_on_strong_beats():
    # over C: beat 1 C (chord tone), beat 2 D (weak, ignored), beat 3 F (not), beat 4 ignored
    p = piece([60, 62, 65, 67, 64, 62, 67, 69])
    assert chord_tone_ratio(p) == pytest.approx(3 / 4)
    p = piece([60, 62, 65, 67], chords="F")
    assert chord_tone_ratio(p) == pytest.approx(1.0)


def test_strong_beats_follow_the_meter():
    # 3/4 over C: only the downbeat counts — C, then F (weak), then E on the next downbeat
    assert chord_tone_ratio(piece([60, 65, 65, 64, 65, 65], meter="3/4")) == 1.0
    # 5/4 (3 + 2): beats 1 and 4 — C on 1, F on 4 (not a chord tone)
    assert chord_tone_ratio(piece([60, 62, 62, 65, 62], meter="5/4")) == pytest.approx(0.5)
    # 6/8: the two dotted-quarter beats (0 and 1.5 quarters)
    p = piece([60, 62, 62, 64, 65, 65], durs=[F(1, 2)] * 6, meter="6/8")
    assert chord_tone_ratio(p) == pytest.approx(1.0)    # C at 0, E at 1.5; the Ds are weak
    assert strong_beat(F(3, 2), Meter(6, 8)) and not strong_beat(F(1), Meter(6, 8))
    assert strong_beat(F(2), F(4)) and not strong_beat(F(2), F(3))
    # N.C. bars are not counted
    assert chord_tone_ratio(piece([61, 61, 61, 61, 60, 60, 60, 60], chords="N.C. | C")) == 1.0


def test_overlap():
    a = [0.1 * i for i in range(20)]
    assert overlap(a, a) == pytest.approx(1.0, abs=1e-3)
    assert overlap([10.0, 10.1], a) < 0.01


def test_baselines_are_apart_from_a_scale_melody():
    rng = random.Random(0)
    line = [60, 62, 64, 65, 67, 65, 64, 62] * 6
    p = piece(line)
    real = piece_features(p)
    uni = piece_features(baseline(p, "uniform", rng))
    walk = piece_features(baseline(p, "walk", rng))
    assert real["scale_consistency"] == 1.0
    assert uni["scale_consistency"] < 0.9 and walk["scale_consistency"] < 0.95
    assert real["repetition"] > 0.8 > uni["repetition"]
    ev = evaluate_pieces([p, piece(line[::-1])], reference=[real, real])
    assert ev.overlap["mean"] > 0 and set(ev.to_dict()) >= {"pieces", "mean", "baselines", "seconds"}


def test_a_six_eight_midi_file_is_measured_in_six_eight(tmp_path, composer):
    from artkit.music.corpus import load_piece
    from artkit.music.midi import write_midi

    s = composer.compose(chords="C7 | F7", meter="6/8", choruses=4)
    path = tmp_path / "six.mid"
    path.write_bytes(write_midi(s.midi_song()))
    back = load_piece(path)
    assert {m.text for m in back.meters} == {"6/8"} and len(back.bars) == 8
    assert piece_features(back)["chord_tone_ratio"] == pytest.approx(piece_features(s.piece())["chord_tone_ratio"])
