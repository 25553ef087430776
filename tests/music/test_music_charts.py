"""Lead sheets: the bundled charts (MusicXML, ABC, iReal Pro) read with their form and composed
over; iReal links decoded; repeats, endings, D.C./D.S., coda, N.C. and bar repeats played."""

import json

import pytest
from typer.testing import CliRunner

from artkit.cli import app
from artkit.core.errors import ArtkitError
from artkit.music.charts import Chart, ChartBar
from artkit.music.ireal import make_link, parse_chart, scramble, songs, unscramble
from artkit.music.leadsheet import read_abc, read_chart
from artkit.music.meter import Meter

# name, format, meter, chart bars, bars played, the sections as played, the last chord
BUNDLED = [
    ("blues", "MusicXML", "4/4", 14, 24, ["A", "A"], "Bb6/9"),
    ("aaba", "ABC", "4/4", 26, 32, ["A", "A", "B", "A"], "F6/9"),
    ("waltz", "MusicXML", "3/4", 18, 24, ["A", "A", "B"], "G6"),
    ("five", "iReal Pro", "5/4", 13, 22, ["A", "A", "B", "A"], "D-6"),
]


@pytest.mark.parametrize("name, fmt, meter, written, played, sections, last", BUNDLED,
                         ids=[b[0] for b in BUNDLED])
def test_bundled_charts_keep_their_form(name, fmt, meter, written, played, sections, last):
    chart = read_chart(name)
    prog = chart.progression()
    assert len(chart.bars) == written and len(prog.bars) == played
    assert {str(b.meter) for b in prog.bars} == {meter}
    assert [b.section for b in prog.bars if b.section] == sections
    assert prog.bars[-1].symbols[-1] == last
    assert any("1st ending" in b.label for b in prog.bars) and any("2nd ending" in b.label for b in prog.bars)


@pytest.mark.parametrize("name, fmt, meter, written, played, sections, last", BUNDLED,
                         ids=[b[0] for b in BUNDLED])
def test_compose_over_each_bundled_chart(composer, name, fmt, meter, written, played, sections, last):
    s = composer.compose(chords_from=name)
    assert s.n_bars == played and s.notes == []                 # one chorus: the tune's form
    assert s.progression.bars[-1].symbols[-1] == last and s.progression.meter.text == meter
    beats = Meter.parse(meter).bar_length
    assert sum(n.dur for n in s.melody) == played * beats       # every bar filled
    final = s.progression.bars[-1].chords[-1][2]
    assert s.melody[-1].pitch % 12 == final.root                # ending on the last chord's root
    assert s.midi_song().time_signatures[0][1:] == tuple(int(x) for x in meter.split("/"))


def test_the_blues_reads_musicxml_degrees_and_texts():
    symbols = [s for b in read_chart("blues").bars for _, s in b.chords]
    assert "F7#9" in symbols             # kind "dominant" + <degree> 9 add +1
    assert "Dø" in symbols and "Bb7(b9)" in symbols and "Bb7/D" in symbols and "G7alt" in symbols


IREAL = ("{*AT34C^7 A7 |n   | x  |D-7 G7 }"                  # |: C^7 A7 | N.C. | % | D-7 G7 :|
         "[*BT44E-7  A7alt |D-7  p  G7sus |QC6    <D.C. al Coda>]"
         "Y[QT12C6    |G7(Db7)  C69  Z")


def test_ireal_cells_signs_and_jumps():
    bars = parse_chart(unscramble(scramble(IREAL)))
    assert [b.meter.text for b in bars] == ["3/4"] * 4 + ["4/4"] * 3 + ["12/8"] * 2
    assert bars[0].chords == [(0, "C^7"), (2, "A7")] and bars[0].section == "A"
    assert bars[1].chords == bars[2].chords == [(0, "N.C.")] and bars[3].repeat_end == 2
    assert bars[5].chords == [(0, "D-7"), (3, "G7sus")]            # 'p' holds D-7 a cell longer
    assert bars[6].coda and bars[6].jump == "D.C." and bars[6].jump_to == "coda"
    assert bars[7].coda and bars[8].chords == [(0, "G7"), (3, "C69")]  # (Db7) left out
    form = [b.number for b, _ in Chart("t", bars).form()]
    # |: 1 2 3 4 :| 5 6 7 (D.C. al Coda) | 1 2 3 4 5 6 7 (to coda) | 8 9
    assert form == [1, 2, 3, 4, 1, 2, 3, 4, 5, 6, 7, 1, 2, 3, 4, 5, 6, 7, 8, 9]
    prog = Chart("t", bars).progression()
    assert prog.bars[1].chords[0][2].is_rest and prog.bars[-1].symbols == ["G7", "C69"]


def test_ireal_bar_repeats_counts_and_playlists():
    chart = "{*AC7   |x   |F7   |r   <3x>}"            # x: one bar again; r: two bars again
    bars = parse_chart(chart)
    assert [b.chords[0][1] for b in bars] == ["C7", "C7", "F7", "C7", "F7"] and bars[-1].repeat_end == 3
    assert len(Chart("r", bars).progression().bars) == 15
    playlist = (make_link("One", "[T44C   |F   Z") + "  " + "irealbook://Two=Me=Waltz=n=G=" +
                "[T34G  |D7  Z===My playlist")
    found = songs(f"<a href='{playlist}'>x</a>")
    assert [s["title"] for s in found] == ["One", "Two"] and found[1]["chart"].startswith("[T34")


def test_ireal_links_files_and_selectors(tmp_path):
    link = make_link("One", "[T44C   |F   Z") + " " + make_link("Two", "[T34G  |D7  Z")
    page = tmp_path / "list.html"
    page.write_text(f"<html><a href=\"{link.split()[0]}\">One</a> <a href=\"{link.split()[1]}\">Two</a>")
    assert read_chart(page).title == "One" and read_chart(f"{page}#2").title == "Two"
    assert read_chart(link.split()[1]).progression().meter.text == "3/4"
    with pytest.raises(ArtkitError, match="holds 2 song"):
        read_chart(f"{page}#3")
    with pytest.raises(ArtkitError, match="holds no readable iReal Pro song"):
        read_chart("irealb://A=B==S=C==garbage=0=0=0")
    with pytest.raises(ArtkitError, match="marker"):
        unscramble("garbage")


def test_abc_keeps_the_symbols_music21_drops(tmp_path):
    abc = ('X:1\nT:Drops\nM:3/4\nL:1/4\nK:C\nP:Verse\n"C7alt" C2 "^(a comment)" E | "Cø" D3 | '
           '"N.C." z3 | "(Db7)" "Cm(maj7)" G3 |]\nX:2\nT:Second\nM:4/4\nL:1/4\nK:C\n"C" C4 |]\n')
    chart = read_abc(abc, 1, "drops.abc")
    assert [s for b in chart.bars for _, s in b.chords] == ["C7alt", "Cø", "N.C.", "Cm(maj7)"]
    assert chart.bars[0].section == "Verse" and chart.bars[0].meter.text == "3/4"
    assert read_abc(abc, 2, "drops.abc").title == "Second"
    p = tmp_path / "two.abc"
    p.write_text(abc)
    assert read_chart(f"{p}#2").title == "Second"


@pytest.mark.parametrize("write, match", [
    (lambda p: p.with_suffix(".musicxml").write_bytes(b"\x00\x01 not xml"), "not a readable MusicXML"),
    (lambda p: p.with_suffix(".abc").write_text("X:1\nT:t\nM:4/4\nK:C\nCDEF|\n"), "no chord symbols"),
    (lambda p: p.with_suffix(".txt").write_text("hello"), "not a chart artkit reads"),
    (lambda p: p.with_suffix(".txt").write_text("irealbook://T=C=S=n=C=[T44H7 Z"), "cannot read"),
])
def test_bad_charts_are_one_clear_error(tmp_path, write, match):
    write(tmp_path / "c")
    path = next(tmp_path.iterdir())
    with pytest.raises(ArtkitError, match=match):
        read_chart(path).progression()
    with pytest.raises(ArtkitError, match="does not exist.*shipped chart: aaba, blues, five, waltz"):
        read_chart(tmp_path / "missing.musicxml")


def test_a_zip_bomb_mxl_is_refused(tmp_path):
    import zipfile

    bomb = tmp_path / "bomb.mxl"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("score.xml", b"\0" * (40 << 20))          # 40 MB of zeros, a 40 kB file
    assert bomb.stat().st_size < 1 << 20
    with pytest.raises(ArtkitError, match="unpacks to 40 MB"):
        read_chart(bomb)
    (tmp_path / "not.mxl").write_bytes(b"PK garbage")
    with pytest.raises(ArtkitError, match="not a readable .mxl"):
        read_chart(tmp_path / "not.mxl")


def test_endless_repeats_are_bounded():
    bars = [ChartBar(1, chords=[(0, "C")], repeat_start=True, repeat_end=16)] * 1
    assert len(Chart("x", bars).form()) == 16
    loop = [ChartBar(1, chords=[(0, "C")], jump="D.C.")]
    assert len(Chart("x", loop).form()) == 2                  # D.C. is taken once


def test_progressions_from_prints_the_chart_bar_by_bar():
    res = CliRunner().invoke(app, ["music", "progressions", "--from", "aaba"])
    assert res.exit_code == 0, res.output
    rows = [line.split("\t") for line in res.stdout.strip().splitlines()]
    assert rows[0] == ["bar", "section", "meter", "chords", "from"] and len(rows) == 33
    assert rows[15][3] == "Gm7 C7@3" and "2nd ending" in rows[15][4] and rows[17][1] == "B"
    res = CliRunner().invoke(app, ["music", "progressions", "--from", "five", "--json"])
    data = json.loads(res.stdout)
    assert data["title"] == "Five Corners" and len(data["bars"]) == 22
    assert "D.C. al Fine" in data["bars"][15]["from"]
