"""Lead-sheet chord symbols: a table of real-book spellings with the notes each must hold, the
symbols music21 refused, unknown symbols named, transposition."""

import pytest

from artkit.core.errors import ArtkitError
from artkit.music.chords import NO_CHORD, parse_chord, parse_chords
from artkit.music.symbols import transpose_symbol

PC = {"C": 0, "C#": 1, "Db": 1, "D": 2, "D#": 3, "Eb": 3, "E": 4, "Fb": 4, "F": 5, "E#": 5,
      "F#": 6, "Gb": 6, "G": 7, "G#": 8, "Ab": 8, "A": 9, "A#": 10, "Bb": 10, "B": 11, "Cb": 11}

# symbol → the notes it holds (a slash bass sounds with the chord). Conventions where jazz
# practice must decide are documented in artkit/music/symbols.py.
TABLE = """
C: C E G | Cmaj: C E G | CM: C E G | Cm: C Eb G | Cmin: C Eb G | Cmi: C Eb G | C-: C Eb G
Cdim: C Eb Gb | C°: C Eb Gb | Co: C Eb Gb | Caug: C E G# | C+: C E G# | C+5: C E G#
C(#5): C E G# | Csus: C F G | Csus4: C F G | Csus2: C D G | C5: C G | C2: C D E G
Cadd9: C D E G | Cadd2: C D E G | Cadd4: C E F G | Cm(add9): C D Eb G | Cmadd9: C D Eb G
C6: C E G A | Cm6: C Eb G A | C-6: C Eb G A | C6/9: C D E G A | C69: C D E G A
C6add9: C D E G A | Cm6/9: C D Eb G A | C-69: C D Eb G A | Cm(b6): C Eb G Ab | C-b6: C Eb G Ab
C-#5: C Eb G# | C7: C E G Bb | Cmaj7: C E G B | CM7: C E G B | CΔ: C E G B | CΔ7: C E G B
C^7: C E G B | C^: C E G B | Cma7: C E G B | Cj7: C E G B | CMaj7: C E G B | Cm7: C Eb G Bb
C-7: C Eb G Bb | Cmin7: C Eb G Bb | Cmi7: C Eb G Bb | Cm7b5: C Eb Gb Bb | C-7b5: C Eb Gb Bb
Cmi7(b5): C Eb Gb Bb | Cø: C Eb Gb Bb | Cø7: C Eb Gb Bb | Ch7: C Eb Gb Bb | Cdim7: C Eb Gb A
C°7: C Eb Gb A | Co7: C Eb Gb A | Cm(maj7): C Eb G B | CmM7: C Eb G B | Cm/maj7: C Eb G B
C-Δ7: C Eb G B | C-^7: C Eb G B | CmΔ7: C Eb G B | Cmin(maj7): C Eb G B | Caug7: C E G# Bb
C+7: C E G# Bb | C7+: C E G# Bb | C7#5: C E G# Bb | C7(#5): C E G# Bb | C7+5: C E G# Bb
Cmaj7#5: C E G# B | CΔ7#5: C E G# B | C+maj7: C E G# B | C^7#5: C E G# B
Cdim(maj7): C Eb Gb B | C7b5: C E Gb Bb | C7(b5): C E Gb Bb | C7-5: C E Gb Bb
C7sus4: C F G Bb | C7sus: C F G Bb | Csus7: C F G Bb | C7sus2: C D G Bb
C9: C E G Bb D | Cmaj9: C E G B D | CΔ9: C E G B D | C^9: C E G B D | CM9: C E G B D
Cm9: C Eb G Bb D | C-9: C Eb G Bb D | C-^9: C Eb G B D | CmM9: C Eb G B D
Cø9: C Eb Gb Bb D | Ch9: C Eb Gb Bb D | C9sus4: C F G Bb D | C9sus: C F G Bb D
C11: C G Bb D F | Cm11: C Eb G Bb D F | C-11: C Eb G Bb D F | C13: C E G Bb D A
Cmaj13: C E G B D A | CΔ13: C E G B D A | Cm13: C Eb G Bb D F A | C13sus: C F G Bb D A
C13sus4: C F G Bb D A | C7b9: C E G Bb Db | C7(b9): C E G Bb Db | C7-9: C E G Bb Db
C7#9: C E G Bb D# | C7(#9): C E G Bb D# | C7+9: C E G Bb D# | C7#11: C E G Bb F#
C7(#11): C E G Bb F# | C7b13: C E G Bb Ab | C7(b13): C E G Bb Ab | C9#11: C E G Bb D F#
C9(#11): C E G Bb D F# | C9b5: C E Gb Bb D | C9#5: C E G# Bb D | C13#11: C E G Bb D F# A
C13(#11): C E G Bb D F# A | C13b9: C E G Bb Db A | C13#9: C E G Bb D# A
C7b9b13: C E G Bb Db Ab | C7(b9,b13): C E G Bb Db Ab | C7(b9,#11): C E G Bb Db F#
C7b9#11: C E G Bb Db F# | C7#9#5: C E G# Bb D# | C7#9b5: C E Gb Bb D# | C7#9#11: C E G Bb D# F#
C7b9#9: C E G Bb Db D# | C7b9#5: C E G# Bb Db | C7b9b5: C E Gb Bb Db | C7#9b13: C E G Bb D# Ab
C7alt: C E Bb Db D# Ab | Calt: C E Bb Db D# Ab | C7b9sus: C F G Bb Db | C7b13sus: C F G Bb Ab
C7susadd3: C E F G Bb | C7add3sus: C E F G Bb | Cmaj7(#11): C E G B F# | CΔ7#11: C E G B F#
Cmaj9#11: C E G B D F# | C^9#11: C E G B D F# | Cmaj7(#5): C E G# B | C7(9,13): C E G Bb D A
C7(9): C E G Bb D | Cm7(11): C Eb G Bb F | Cm7add11: C Eb G Bb F | C/E: C E G | C/G: C E G
C/Bb: C E G Bb | C7/Bb: C E G Bb | F/G: F A C G | Dm7/G: D F A C G | Bb/C: Bb D F C
Ab/Bb: Ab C Eb Bb | G7/F: G B D F | Am7/D: A C E G D | Bbm(maj7)/F: Bb Db F A | Cm7/Bb: C Eb G Bb
Bb13: Bb D F Ab C G | F#m7b5: F# A C E | Ebmaj7: Eb G Bb D | Abm6: Ab Cb Eb F
Db7#11: Db F Ab Cb G | Gø7: G Bb Db F | E7alt: E G# D F G C | A7(b9): A C# E G Bb
D-7: D F A C | G7sus: G C D F | F6/9: F G A C D | B°7: B D F Ab | Eb-7: Eb Gb Bb Db
Ab^7: Ab C Eb G | C#m7: C# E G# B | F#7: F# A# C# E | Gb^7: Gb Bb Db F | Cb: Cb Eb Gb
Bbmaj9: Bb D F A C | Ebm9: Eb Gb Bb Db F | Ab13: Ab C Eb Gb Bb F | D7(#9): D F# A C F
G13b9: G B D F Ab E | E♭7♭9: Eb G Bb Db Fb | F♯m7♭5: F# A C E | Bb7(b9)/D: Bb D F Ab Cb
"""
ENTRIES = [tuple(x.strip() for x in e.split(":", 1)) for line in TABLE.strip().splitlines()
           for e in line.split("|")]
REFUSED = ["CΔ", "CΔ7", "C^7", "Cø", "C7alt", "Cmaj9", "C6/9", "C9sus4", "Cm(maj7)", "Cm/maj7",
           "N.C."]


def test_the_table_is_real_book_sized():
    assert len(ENTRIES) >= 150 and len({s for s, _ in ENTRIES}) == len(ENTRIES)


@pytest.mark.parametrize("symbol, notes", ENTRIES, ids=[s for s, _ in ENTRIES])
def test_symbol_pitch_classes(symbol, notes):
    chord = parse_chord(symbol)
    assert set(chord.pcs) == {PC[n] for n in notes.split()}, sorted(chord.pcs)
    assert chord.root == PC[notes.split()[0]]
    assert chord.pcs <= chord.scale            # chord tones are scale tones too


@pytest.mark.parametrize("symbol, bass", [("C/E", "E"), ("Dm7/G", "G"), ("Bbm(maj7)/F", "F"),
                                          ("C6/9", "C"), ("Cm/maj7", "C")])
def test_slash_bass(symbol, bass):
    assert parse_chord(symbol).bass == PC[bass]


def test_no_chord_and_scales():
    for s in ("N.C.", "NC", "n.c.", "No Chord"):
        assert parse_chord(s) is NO_CHORD and NO_CHORD.is_rest
    assert set(parse_chord("C7alt").scale) == {0, 1, 3, 4, 6, 8, 10}       # the altered scale
    assert set(parse_chord("Cm(maj7)").scale) == {0, 2, 3, 5, 7, 9, 11}    # melodic minor
    assert set(parse_chord("Dm7").scale) == {2, 4, 5, 7, 9, 11, 0}         # D Dorian
    assert set(parse_chord("Cm7b5").scale) == set(parse_chord("Cø").scale)  # Locrian either way
    assert 1 in parse_chord("C7b9").scale and 2 not in parse_chord("C7b9").scale


def test_the_symbols_music21_refused_compose(composer):
    score = composer.compose(chords=" ".join(REFUSED), choruses=1)
    assert [b.symbols for b in score.progression.bars] == [[s] for s in REFUSED]
    assert not score.progression.bars[-1].chords[0][2].pcs          # N.C.: the band rests
    last_bar = 4.0 * (len(REFUSED) - 1)
    assert not [n for n in score.parts["piano"] + score.parts["bass"] if n.start >= last_bar]
    assert any(n.start >= last_bar for n in score.parts["melody"])  # the melody may play


@pytest.mark.parametrize("bad", ["H7", "x", "7", "Cfoo", "C7#", "Cmaj7q", "C7maj7", "Cm7/9"])
def test_unknown_symbol_is_named(bad):
    with pytest.raises(ArtkitError) as exc:
        parse_chord(bad)
    assert f"'{bad}'" in str(exc.value)
    with pytest.raises(ArtkitError, match=f"'{bad}'"):
        parse_chords(f"C | {bad} | F")


def test_transpose_keeps_the_spelling():
    assert transpose_symbol("Bb7(b9)/D", 2) == "C7(b9)/E"
    assert transpose_symbol("F♯m7♭5", 1) == "Gm7♭5"
    assert transpose_symbol("C/E", 1) == "C#/F"
    assert transpose_symbol("N.C.", 3) == "N.C."
