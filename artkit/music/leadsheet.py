"""Reading lead sheets: MusicXML and ABC through music21, iReal Pro links through
:mod:`artkit.music.ireal`, into a :class:`~artkit.music.charts.Chart`.

MusicXML and ABC are parsed by music21 (measures, repeat bar lines and their counts, repeat
brackets, rehearsal marks, segno / coda / D.C. / D.S. / Fine, time signatures); the chord
symbols are taken as the chart writes them — from MusicXML's ``<harmony>`` (root, the kind's
displayed text or its usual spelling, degrees, bass) and from ABC's quoted strings, which are
set aside before music21 reads the tune (it silently drops spellings it does not know, like
``C7alt`` or ``Cø``) and put back in order — and parsed by artkit's chord grammar. ABC section
marks are ``P:`` fields; ABC annotations (``"^text"``) and alternative chords in parentheses
are left out.
"""

from __future__ import annotations

import re
import zipfile
from fractions import Fraction
from pathlib import Path

from artkit.core.errors import ArtkitError
from artkit.core.presets import presets_root
from artkit.music.charts import MAX_CHART_BARS, Chart, ChartBar
from artkit.music.ireal import ireal_chart, is_ireal
from artkit.music.meter import COMMON, Meter

MAX_CHART_BYTES = 4 << 20
MAX_UNZIPPED = 32 << 20


def chart_names() -> list[str]:
    """The shipped charts (``presets/music/charts``), by name."""
    folder = presets_root() / "music" / "charts"
    if not folder.is_dir():
        return []
    return sorted(p.name.split(".")[0] for p in folder.iterdir() if not p.name.startswith("."))


def chart_path(name: str) -> Path | None:
    """The file of the shipped chart ``name``, or ``None``."""
    folder = presets_root() / "music" / "charts"
    if not folder.is_dir() or not re.fullmatch(r"[\w-]+", name):
        return None
    hits = [p for p in folder.iterdir() if p.name.split(".")[0] == name]
    return Path(str(hits[0])) if hits else None


def read_chart(source: str | Path) -> Chart:
    """Read a chart: a MusicXML (.musicxml .xml .mxl) or ABC (.abc) file, an iReal Pro chart
    (an ``irealb://`` / ``irealbook://`` link, or a file holding one — a playlist page or a text
    file), or a shipped chart by name (``blues``, ``aaba``, ``waltz``, ``five``). ``FILE#N``
    picks the N-th tune of a file or link holding several.

    Raises:
        ArtkitError: a missing or oversized file, an unknown format, a chart without chords.
    """
    text = str(source)
    if is_ireal(text):
        return ireal_chart(text, 1, "link")
    path, index = _split_selector(text)
    if not path.exists() and chart_path(str(path)) is not None:
        path = chart_path(str(path))
    if not path.is_file():
        raise ArtkitError(f"chart '{path}' does not exist",
                          "give a MusicXML, ABC or iReal Pro file, an irealb:// link, or a "
                          f"shipped chart: {', '.join(chart_names()) or 'none'}")
    size = path.stat().st_size
    if size > MAX_CHART_BYTES:
        raise ArtkitError(f"chart '{path}' is {size >> 20} MB; lead sheets are small files",
                          f"artkit reads charts of up to {MAX_CHART_BYTES >> 20} MB")
    suffix = path.suffix.lower()
    if suffix in (".musicxml", ".xml", ".mxl"):
        return read_musicxml(path, index)
    data = path.read_bytes()
    try:
        body = data.decode("utf-8")
    except UnicodeDecodeError:
        body = data.decode("latin-1")
    if suffix == ".abc" or re.search(r"^X:\s*\d", body, re.M):
        return read_abc(body, index, str(path))
    if is_ireal(body):
        return ireal_chart(body, index, str(path))
    raise ArtkitError(f"'{path}' is not a chart artkit reads",
                      "give MusicXML (.musicxml, .mxl), ABC (.abc) or an iReal Pro link")


def _split_selector(text: str) -> tuple[Path, int]:
    m = re.match(r"^(.*)#(\d{1,4})$", text)
    if m and not Path(text).exists():
        return Path(m.group(1)), int(m.group(2))
    return Path(text), 1


def read_musicxml(path: Path, index: int = 1) -> Chart:
    """A chart from a MusicXML file's first part that holds chord symbols."""
    from music21 import converter

    if index != 1:
        raise ArtkitError(f"'{path}' is one MusicXML score; #{index} selects tunes in ABC files "
                          "and iReal playlists")
    if path.suffix.lower() == ".mxl":
        _check_mxl(path)
    try:
        score = converter.parse(str(path), format="musicxml")
    except Exception as exc:  # music21 raises many types on bad files
        raise ArtkitError(f"'{path}' is not a readable MusicXML file "
                          f"({type(exc).__name__}: {' '.join(str(exc).split())[:100]})") from None
    title = (score.metadata.title if score.metadata is not None else None) or path.stem
    return chart_from_music21(score, title, str(path), music21_symbol)


def _check_mxl(path: Path) -> None:
    """Refuse a compressed MusicXML file that is no zip, or would unpack to more than
    :data:`MAX_UNZIPPED` bytes (sizes read from the zip's directory, which bounds what reading
    it yields)."""
    try:
        with zipfile.ZipFile(path) as z:
            total = sum(i.file_size for i in z.infolist())
    except (zipfile.BadZipFile, OSError):
        raise ArtkitError(f"'{path}' is not a readable .mxl (compressed MusicXML) file") from None
    if total > MAX_UNZIPPED:
        raise ArtkitError(f"'{path}' unpacks to {total >> 20} MB; lead sheets are far smaller",
                          f"artkit reads .mxl files of up to {MAX_UNZIPPED >> 20} MB unpacked")


def music21_symbol(cs, _index: int = 0) -> str:
    """The symbol a music21 ``ChordSymbol`` (from MusicXML's ``<harmony>``) displays: root, the
    kind's text (or its usual spelling), degrees, bass."""
    from music21 import harmony

    if isinstance(cs, harmony.NoChord):
        return "N.C."
    root = cs.root()
    name = root.step + _acc(root.alter) if root is not None else "C"
    suffix = cs.chordKindStr or KIND_SUFFIX.get(cs.chordKind, "")
    for mod in cs.getChordStepModifications():
        alter = int(mod.interval.semitones) if mod.interval is not None else 0
        sign = {-1: "b", 1: "#", 0: ""}.get(alter, "")
        suffix += {"add": f"{sign}{mod.degree}" if sign else f"add{mod.degree}",
                   "alter": f"{sign}{mod.degree}", "subtract": f"no{mod.degree}"}.get(mod.modType, "")
    bass = cs.bass()
    slash = ""
    if bass is not None and root is not None and bass.pitchClass != root.pitchClass:
        slash = "/" + bass.step + _acc(bass.alter)
    return name + suffix + slash


def _acc(alter: float) -> str:
    return {-2: "bb", -1: "b", 0: "", 1: "#", 2: "##"}.get(int(alter or 0), "")


# How MusicXML's chord kinds are usually spelt, when a file gives no text.
KIND_SUFFIX = {
    "major": "", "minor": "m", "augmented": "+", "diminished": "dim", "dominant-seventh": "7",
    "dominant": "7", "major-seventh": "maj7", "minor-seventh": "m7", "diminished-seventh": "dim7",
    "augmented-seventh": "+7", "half-diminished-seventh": "m7b5", "half-diminished": "m7b5",
    "minor-major-seventh": "m(maj7)", "major-minor": "m(maj7)", "major-sixth": "6",
    "minor-sixth": "m6", "dominant-ninth": "9", "major-ninth": "maj9", "minor-ninth": "m9",
    "dominant-11th": "11", "major-11th": "maj11", "minor-11th": "m11", "dominant-13th": "13",
    "major-13th": "maj13", "minor-13th": "m13", "suspended-second": "sus2",
    "suspended-fourth": "sus4", "power": "5", "pedal": "",
}


def read_abc(text: str, index: int = 1, source: str = "abc") -> Chart:
    """A chart from the ``index``-th tune of an ABC file (chord symbols in double quotes,
    sections in ``P:`` fields)."""
    from music21 import converter

    tunes = [t for t in re.split(r"(?m)^(?=X:)", text) if t.strip().startswith("X:")]
    if not tunes:
        raise ArtkitError(f"'{source}' has no ABC tune (no X: field)")
    if not 1 <= index <= len(tunes):
        raise ArtkitError(f"'{source}' has {len(tunes)} tune(s); #{index} does not exist")
    tune, symbols, sections = _abc_placeholders(tunes[index - 1])
    try:
        score = converter.parse(tune, format="abc")
    except Exception as exc:  # music21 raises many types on bad files
        raise ArtkitError(f"'{source}' is not readable ABC "
                          f"({type(exc).__name__}: {' '.join(str(exc).split())[:100]})") from None
    title_m = re.search(r"(?m)^T:\s*(.+)$", tunes[index - 1])
    title = title_m.group(1).strip() if title_m else Path(source).stem

    def symbol(_cs, k: int) -> str:
        if k >= len(symbols):
            raise ArtkitError(f"'{source}': music21 placed more chord symbols than the file has")
        return symbols[k]

    chart = chart_from_music21(score, title, source, symbol, sections)
    placed = sum(len(b.chords) for b in chart.bars)
    if placed != len(symbols):
        raise ArtkitError(f"'{source}': {len(symbols)} chord symbols in the tune, {placed} placed "
                          "in its bars", "check the tune's bar lines and note lengths")
    return chart


_QUOTED = re.compile(r'"([^"\n]*)"')


def _abc_placeholders(tune: str) -> tuple[str, list[str], dict[int, str]]:
    """Replace every chord symbol by ``"C"`` (kept aside, in order), drop annotations
    (``"^text"``), and note which chord starts each ``P:`` section."""
    symbols: list[str] = []
    sections: dict[int, str] = {}
    pending = ""
    out_lines = []
    in_body = False
    for line in tune.splitlines():
        stripped = line.split("%", 1)[0] if not line.startswith("%%") else ""
        if not in_body:
            out_lines.append(line)
            in_body = stripped.startswith("K:")
            continue
        m = re.match(r"^P:\s*(.+)$", stripped.strip())
        if m:
            pending = m.group(1).strip()
            continue
        inline = re.findall(r"\[P:\s*([^\]]+)\]", stripped)
        if inline:
            pending = inline[-1].strip()
            stripped = re.sub(r"\[P:[^\]]*\]", "", stripped)

        def swap(match: re.Match) -> str:
            nonlocal pending
            text = match.group(1).strip()
            if not text or text[0] in "^_<>@" or (text[0] == "(" and text[-1] == ")"):
                return ""
            if pending:
                sections[len(symbols)] = pending
                pending = ""
            symbols.append(text)
            return '"C"'

        out_lines.append(_QUOTED.sub(swap, stripped))
    return "\n".join(out_lines) + "\n", symbols, sections


def chart_from_music21(score, title: str, source: str, symbol_of,
                       sections: dict[int, str] | None = None) -> Chart:
    """Measures of the first part with chord symbols → :class:`ChartBar` s.

    Args:
        symbol_of: ``(chord_symbol, running_index) -> str``, the symbol as written.
        sections: running chord index → the section mark that starts at its bar (ABC).
    """
    from music21 import expressions, harmony, repeat, spanner, stream

    parts = list(score.parts) if hasattr(score, "parts") and len(score.parts) else [score]
    part = next((p for p in parts if p.recurse().getElementsByClass(harmony.ChordSymbol)), parts[0])
    measures = list(part.getElementsByClass(stream.Measure))
    if not measures:                     # a tune without bar lines: music21 makes them
        measures = list(part.makeMeasures().getElementsByClass(stream.Measure))
    if len(measures) > MAX_CHART_BARS:
        raise ArtkitError(f"chart '{source}' has {len(measures)} bars; artkit reads charts of up "
                          f"to {MAX_CHART_BARS}")
    endings: dict[int, tuple[int, ...]] = {}
    for sp in part.spannerBundle.getByClass(spanner.RepeatBracket):
        numbers = tuple(int(n) for n in re.findall(r"\d+", str(sp.number or "1")))
        for m in sp.getSpannedElements():
            endings[id(m)] = numbers
    bars, meter, k = [], COMMON, 0
    for m in measures:
        if m.timeSignature is not None:
            meter = Meter(int(m.timeSignature.numerator), int(m.timeSignature.denominator))
        if m is measures[0] and m.paddingLeft and not m.recurse().getElementsByClass(harmony.ChordSymbol):
            continue                                     # a pickup bar without chords
        bar = ChartBar(len(bars) + 1, meter, endings=endings.get(id(m), ()))
        for cs in m.recurse().getElementsByClass(harmony.ChordSymbol):
            offset = Fraction(cs.getOffsetInHierarchy(m)).limit_denominator(48)
            if sections and k in sections and not bar.section:
                bar.section = sections[k]
            bar.chords.append((min(offset, meter.bar_length), symbol_of(cs, k)))
            k += 1
        bar.chords.sort(key=lambda c: c[0])
        for mark in m.recurse().getElementsByClass(expressions.RehearsalMark):
            bar.section = str(mark.content)
        _barlines(bar, m)
        for rx in m.recurse().getElementsByClass(repeat.RepeatExpression):
            _repeat_expression(bar, rx, repeat)
        bars.append(bar)
    return Chart(title, bars, source=source)


def _barlines(bar: ChartBar, m) -> None:
    from music21 import bar as m21bar

    left, right = m.leftBarline, m.rightBarline
    if isinstance(left, m21bar.Repeat) and left.direction == "start":
        bar.repeat_start = True
    if isinstance(right, m21bar.Repeat) and right.direction == "end":
        bar.repeat_end = max(2, min(16, int(right.times or 2)))
    if right is not None and getattr(right, "type", "") == "final":
        bar.final = True


def _repeat_expression(bar: ChartBar, rx, repeat) -> None:
    if isinstance(rx, repeat.Segno):
        bar.segno = True
    elif isinstance(rx, repeat.Coda):
        bar.coda = True
    elif isinstance(rx, repeat.Fine):
        bar.fine = True
    elif isinstance(rx, (repeat.DaCapoAlFine, repeat.DaCapoAlCoda, repeat.DaCapo)):
        bar.jump = "D.C."
        bar.jump_to = "fine" if isinstance(rx, repeat.DaCapoAlFine) else \
            "coda" if isinstance(rx, repeat.DaCapoAlCoda) else ""
    elif isinstance(rx, (repeat.DalSegnoAlFine, repeat.DalSegnoAlCoda, repeat.DalSegno)):
        bar.jump = "D.S."
        bar.jump_to = "fine" if isinstance(rx, repeat.DalSegnoAlFine) else \
            "coda" if isinstance(rx, repeat.DalSegnoAlCoda) else ""
