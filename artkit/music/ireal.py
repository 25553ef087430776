"""iReal Pro charts: the ``irealb://`` and ``irealbook://`` links jazz players share.

A link is URL-encoded; songs are separated by ``===`` (a playlist's name may follow the last),
and each song is ``=``-separated fields. ``irealbook://`` songs have six — title, composer,
style, (unused), key, chart — and the chart is plain text. ``irealb://`` songs have ten — title,
composer, (unused), style, key, (transposed key), chart, (style, tempo, repeats played) — and
the chart is scrambled: it starts with the marker ``1r34LbKcu7``; after it, each block of 50
characters that is followed by at least two more has its characters 0–4 swapped with 45–49 and
10–23 with 26–39, each pair mirrored (position i with 49 − i), and three abbreviations are
substituted (``XyQ`` for three spaces, ``LZ`` for `` |``, ``Kcl`` for ``| x``). The swap is its
own inverse, so :func:`scramble` writes what :func:`unscramble` reads.

The chart itself is a row of *cells*: a chord (or ``n`` no chord, ``p`` a slash repeating the
chord before, ``x`` / ``r`` repeating the last one / two bars) takes a cell, a space advances
one; bar lines (``|``, ``[ ]`` double, ``{ }`` repeats, ``Z`` final) take none. Around them:
``T44`` time signatures (``T12`` is 12/8), ``*A`` section marks, ``N1`` / ``N2`` endings,
``S`` segno, ``Q`` coda, ``<...>`` text (``D.C. al Fine``, ``D.S. al Coda``, ``Fine``, ``3x``
for a repeat count), and layout marks (``s`` ``l`` chord size, ``Y`` spacing, ``f`` fermata,
``U``, ``,``) that carry no harmony. Chords share their bar by the cells they cover (snapped to
the beat, else equally); an alternative chord in parentheses ``(Db7)`` is left out. Chord
qualities are iReal's spellings (``^7``, ``-7``, ``h7``, ``o7``, ``7alt``, ``-^7``, ``7susadd3``
...), read by artkit's chord grammar.
"""

from __future__ import annotations

import re
from fractions import Fraction
from urllib.parse import quote, unquote

from artkit.core.errors import ArtkitError
from artkit.music.charts import MAX_CHART_BARS, Chart, ChartBar
from artkit.music.meter import COMMON, Meter

MAGIC = "1r34LbKcu7"
MAX_LINK_CHARS = 1 << 20
MAX_SONGS = 2000
_LINK = re.compile(r"ireal(?:b|book)://[^\s\"'<>]+")
_TIMES = {"12": (12, 8)}
_CHORD = re.compile(r"([A-GW][#b]?)([^\s,|\[\]{}<(YQSUNTZ*]*)(\([^)]*\))?")


def is_ireal(text: str) -> bool:
    """Whether ``text`` holds an iReal Pro link."""
    return "irealb://" in text or "irealbook://" in text


def _swap50(block: str) -> str:
    chars = list(block)
    for lo, hi in ((0, 5), (10, 24)):
        for i in range(lo, hi):
            chars[i], chars[49 - i] = block[49 - i], block[i]
    return "".join(chars)


def _hussle(text: str) -> str:
    out = []
    while len(text) > 50:
        block, text = text[:50], text[50:]
        out.append(block if len(text) < 2 else _swap50(block))
    return "".join(out) + text


def unscramble(music: str) -> str:
    """An ``irealb://`` chart string (with its marker) → the plain chart."""
    if not music.startswith(MAGIC):
        raise ArtkitError("the iReal chart lacks its 1r34LbKcu7 marker (a damaged link?)")
    text = _hussle(music[len(MAGIC):])
    return text.replace("XyQ", "   ").replace("LZ", " |").replace("Kcl", "| x")


def scramble(chart: str) -> str:
    """A plain chart → the ``irealb://`` chart string (the inverse of :func:`unscramble`)."""
    text = chart.replace("   ", "XyQ").replace(" |", "LZ").replace("| x", "Kcl")
    return MAGIC + _hussle(text)


def make_link(title: str, chart: str, *, composer: str = "Unknown", style: str = "Medium Swing",
              key: str = "C", tempo: int = 0) -> str:
    """An ``irealb://`` link for one song (what :func:`songs` reads back)."""
    fields = [title, composer, "", style, key, "", scramble(chart), "", str(tempo), "0"]
    return "irealb://" + quote("=".join(fields), safe="")


def songs(text: str) -> list[dict[str, str]]:
    """Every song of every link in ``text``: ``{"title", "key", "style", "chart"}`` with the
    chart unscrambled."""
    if len(text) > MAX_LINK_CHARS:
        raise ArtkitError(f"the iReal text is {len(text)} characters; playlists are far smaller")
    out = []
    for link in _LINK.findall(text):
        scheme, _, body = link.partition("://")
        body = unquote(body)
        for raw in body.split("==="):
            fields = raw.split("=")
            if len(out) >= MAX_SONGS:
                raise ArtkitError(f"the iReal link holds more than {MAX_SONGS} songs")
            song = _song(scheme, fields)
            if song is not None:
                out.append(song)
    return out


def _song(scheme: str, fields: list[str]) -> dict[str, str] | None:
    if scheme == "irealb":
        music = next((f for f in fields if f.startswith(MAGIC)), None)
        if music is None or len(fields) < 7:
            return None                                   # a playlist name
        return {"title": fields[0], "style": fields[3], "key": fields[4],
                "chart": unscramble(music)}
    if len(fields) < 6:
        return None
    return {"title": fields[0], "style": fields[2], "key": fields[4], "chart": fields[5]}


def ireal_chart(text: str, index: int = 1, source: str = "link") -> Chart:
    """The ``index``-th song of the iReal links in ``text`` as a :class:`Chart`."""
    found = songs(text)
    if not found:
        raise ArtkitError(f"'{source}' holds no readable iReal Pro song",
                          "give an irealb:// or irealbook:// link exported by iReal Pro")
    if not 1 <= index <= len(found):
        raise ArtkitError(f"'{source}' holds {len(found)} song(s); #{index} does not exist")
    song = found[index - 1]
    return Chart(song["title"] or "iReal chart", parse_chart(song["chart"]), song["key"], source)


# ------------------------------------------------------------------ the chart string


class _Builder:
    """Collects cells into bars while reading a chart string."""

    def __init__(self) -> None:
        self.bars: list[ChartBar] = []
        self.meter = COMMON
        self.cells: list[str | None] = []      # one entry per cell: a symbol, "p", or None
        self.pending: dict = {}                # signs for the bar being written
        self.ending: tuple[int, ...] = ()
        self.repeat_times = 0

    def sign(self, **kw) -> None:
        self.pending.update(kw)

    def close(self, repeat_end: bool = False, final: bool = False) -> None:
        if not self.cells and not self.pending.get("chords_from"):
            if repeat_end and self.bars:
                self.bars[-1].repeat_end = self.repeat_times or 2
                self.repeat_times = 0
            if final and self.bars:
                self.bars[-1].final = True
            return
        if len(self.bars) >= MAX_CHART_BARS:
            raise ArtkitError(f"the iReal chart has more than {MAX_CHART_BARS} bars")
        bar = ChartBar(len(self.bars) + 1, self.meter, endings=self.ending)
        copy = self.pending.pop("chords_from", None)
        bar.chords = list(copy) if copy is not None else _place(self.cells, self.meter)
        for key, value in self.pending.items():
            setattr(bar, key, value)
        if repeat_end:
            bar.repeat_end = self.repeat_times or 2
            self.repeat_times = 0
            self.ending = ()
        bar.final = final
        self.bars.append(bar)
        self.cells, self.pending = [], {}


def parse_chart(chart: str) -> list[ChartBar]:
    """A plain iReal chart string → its bars as written (see the module docstring)."""
    b = _Builder()
    i, n = 0, len(chart)
    while i < n:
        c = chart[i]
        if c in "|[]{}Z":
            b.close(repeat_end=c == "}", final=c == "Z")
            if c in "[]{Z":
                b.ending = ()
            if c == "{":
                b.sign(repeat_start=True)
            i += 1
        elif chart.startswith("T", i) and chart[i + 1:i + 3].isdigit():
            num, den = _TIMES.get(chart[i + 1:i + 3], (int(chart[i + 1]), int(chart[i + 2])))
            b.meter = Meter(num, den)
            i += 3
        elif c == "*" and i + 1 < n:
            b.sign(section={"i": "Intro", "v": "Verse"}.get(chart[i + 1], chart[i + 1]))
            i += 2
        elif c == "N" and i + 1 < n and chart[i + 1].isdigit():
            b.ending = (int(chart[i + 1]),)
            i += 2
        elif c == "<":
            end = chart.find(">", i)
            end = n if end < 0 else end
            _comment(b, chart[i + 1:end])
            i = end + 1
        elif c == " ":
            b.cells.append(None)
            i += 1
        elif c in "np":
            b.cells.append("N.C." if c == "n" else "/")
            i += 1
        elif c in "xr":
            back = 1 if c == "x" else 2
            if len(b.bars) >= back:
                src = b.bars[-back] if c == "x" else b.bars[-2]
                b.sign(chords_from=src.chords)
                if c == "r":                      # two bars: the first now, the second next
                    b.close()
                    b.sign(chords_from=b.bars[-2].chords)
            i += 1
        elif c == "S":
            b.sign(segno=True)
            i += 1
        elif c == "Q":
            b.sign(coda=True)
            i += 1
        elif c in "slfYU,\n\r\t":
            i += 1
        else:
            m = _CHORD.match(chart, i)
            if not m or m.end() == i:
                raise ArtkitError(f"the iReal chart has a character artkit cannot read: "
                                  f"'{chart[i:i + 12]}'")
            b.cells.append(None if m.group(1) == "W" else m.group(1) + m.group(2))
            i = m.end()
    b.close()
    return b.bars


def _comment(b: _Builder, text: str) -> None:
    t = re.sub(r"^\*\d\d", "", text.strip()).strip().lower()
    times = re.match(r"^(\d+)x$", t)
    if times:
        b.repeat_times = max(2, min(16, int(times.group(1))))
    elif t.startswith(("d.c.", "d.s.")):
        b.sign(jump="D.C." if t.startswith("d.c.") else "D.S.",
               jump_to="fine" if "fine" in t else "coda" if "coda" in t else "")
    elif t == "fine":
        b.sign(fine=True)


def _place(cells: list[str | None], meter: Meter) -> list[tuple[Fraction, str]]:
    """Chords of a bar at offsets from the cells they start in (slashes extend the chord
    before), snapped to the beat; chords share the bar equally when the cells do not fall on
    beats."""
    marks = [(k, s) for k, s in enumerate(cells) if s is not None and s != "/"]
    if not marks:
        return []
    total = max(len(cells), 1)
    unit = Fraction(1, 2) if meter.eighths else Fraction(1)
    offsets = [Fraction(k, total) * meter.bar_length for k, _ in marks]
    snapped = [round(o / unit) * unit for o in offsets]
    ok = all(a < b for a, b in zip(snapped, snapped[1:])) and snapped[-1] < meter.bar_length \
        and snapped[0] == 0
    if not ok:
        share = meter.bar_length / len(marks)
        snapped = [k * share for k in range(len(marks))]
    return [(o, s) for o, (_, s) in zip(snapped, marks)]
