"""Finding melody, chords and bars in files, folders and music21 corpus selectors."""

import pytest

from artkit.core.errors import ArtkitError
from artkit.music.corpus import load_piece, load_pieces, resolve_sources
from artkit.music.grammar import BAR
from artkit.music.midi import MidiNote, MidiSong, MidiTrack, write_midi

ABC = """X:1
T:Test Tune
M:4/4
L:1/8
K:G
"G"GABc dedB|"C"c2e2 "D7"d2c2|"G"B2G2 "Em"E2G2|"Am"A2c2 "D7"F2A2|"G"G8|]
"""


def test_abc_with_chord_symbols(tmp_path):
    p = tmp_path / "tune.abc"
    p.write_text(ABC)
    piece = load_piece(p)
    assert piece.harmony == "chord symbols"
    assert [c.symbol for _, _, c in piece.chords[:4]] == ["G", "C", "D7", "G"]
    assert piece.melody[0].pitch == 67 and len(piece.bars) == 5
    toks = piece.tokens()
    assert toks.count(BAR) == 5 and toks[0].startswith("C,1/2,")


def _midi(tmp_path, name, tracks, markers=()):
    p = tmp_path / name
    p.write_bytes(write_midi(MidiSong(tracks, markers=list(markers))))
    return p


def test_midi_melody_by_register_and_chordified_accompaniment(tmp_path):
    mel = [MidiNote(float(i), 1.0, [72, 74, 76, 77, 79, 77, 76, 74][i % 8], 90) for i in range(16)]
    acc = [MidiNote(float(4 * b), 4.0, p, 60) for b in range(4) for p in
           ([48, 52, 55] if b % 2 == 0 else [43, 47, 50, 53])]
    p = _midi(tmp_path, "a.mid", [MidiTrack("left", 1, 0, acc), MidiTrack("right", 0, 0, mel)])
    piece = load_piece(p)
    assert piece.harmony == "chordified accompaniment"
    assert [n.pitch for n in piece.melody[:3]] == [72, 74, 76]
    assert [c.symbol for _, _, c in piece.chords] == ["C", "G7", "C", "G7"]


def test_skipped_pieces_have_reasons(tmp_path):
    solo = [MidiNote(float(i), 1.0, 60 + i, 90) for i in range(12)]
    _midi(tmp_path, "solo.mid", [MidiTrack("flute", 0, 0, solo)])
    _midi(tmp_path, "short.mid", [MidiTrack("x", 0, 0, solo[:3])], [(0.0, "C")])
    (tmp_path / "broken.mid").write_bytes(b"MThd garbage")
    pieces, skipped = load_pieces([str(tmp_path)])
    assert pieces == []
    why = {n.split("/")[-1]: r for n, r in skipped}
    assert "no chord symbols and no accompaniment" in why["solo.mid"]
    assert "no melody" in why["short.mid"]
    assert "not a readable MIDI" in why["broken.mid"]
    with pytest.raises(ArtkitError, match="cannot use"):
        load_piece(tmp_path / "solo.mid")


def test_bad_sources(tmp_path):
    with pytest.raises(ArtkitError, match="does not exist"):
        resolve_sources([str(tmp_path / "nope.mid")])
    with pytest.raises(ArtkitError, match="no music files"):
        resolve_sources([str(tmp_path)])
    (tmp_path / "x.txt").write_text("hi")
    with pytest.raises(ArtkitError, match="not a music file"):
        resolve_sources([str(tmp_path / "x.txt")])
    with pytest.raises(ArtkitError, match="unknown corpus selector 'corpus:jazz'"):
        resolve_sources(["corpus:jazz"])
    with pytest.raises(ArtkitError, match="positive number"):
        resolve_sources(["corpus:bach:x"])


def test_corpus_selectors():
    files, _ = resolve_sources(["corpus:chorales:3", "corpus:joplin"])
    assert len(files) == 4 and files[-1].name == "maple_leaf_rag.mxl"
    piece = load_piece("corpus:bach/bwv66.6")     # a chorale: soprano + chordified ATB
    assert piece.harmony == "chordified accompaniment" and len(piece.bars) >= 8
    assert 60 <= sum(n.pitch for n in piece.melody) / len(piece.melody) <= 76
