"""Lead sheets in: the chord symbols and the form of a tune, from MusicXML, ABC or iReal Pro.

A chart is read into :class:`ChartBar` s *as written* — each bar's meter, its chord symbols at
their offsets, and the signs around it: section marks (A, B, Intro), repeat signs (with a count),
numbered endings, segno, coda, Fine, D.C. and D.S. :meth:`Chart.form` then plays it through the
way a band reads it, and :meth:`Chart.progression` gives the bars as played:

1. bars are played in order; a bar inside numbered endings is played only on those passes;
2. at a repeat sign ``:|`` the passage goes back to the last ``|:`` (or the start, or just after
   the previous repeat) until it has been played its number of times (two unless marked);
3. at D.C. (or D.S.) the chart starts again from the top (or the segno), taking no more repeats
   and only the last ending, up to Fine — or, *al Coda*, up to the first coda sign and then on
   from the second;
4. a final bar line ends the tune unless a jump is written on that bar;
5. a bar with no chord holds the chord before it (in the order played), and so does the start of
   a bar whose first chord comes later.

Charts are read by :mod:`artkit.music.leadsheet` (MusicXML, ABC) and :mod:`artkit.music.ireal`
(iReal Pro links).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction

from artkit.core.errors import ArtkitError
from artkit.music.chords import Bar, Progression, parse_chord
from artkit.music.meter import COMMON, Meter

MAX_CHART_BARS = 1024
MAX_PLAYED_BARS = 4096


@dataclass
class ChartBar:
    """One bar of a chart as written.

    Args:
        number: its position in the chart (1-based).
        meter: its time signature.
        chords: ``(offset in quarters, symbol)`` as written.
        section: a section mark starting at this bar ("A", "B", "Intro").
        repeat_start / repeat_end: ``|:`` before it; ``:|`` after it, with the number of times
            the passage is played in all (0: no repeat sign).
        endings: the numbered endings (1st, 2nd, ...) this bar belongs to.
        segno, coda, fine, final: the signs on the bar (``coda``: a coda sign — the first is
            "to coda", the second the coda itself; ``final``: a final bar line after it).
        jump: ``"D.C."`` or ``"D.S."`` at the end of the bar, with ``jump_to`` ``"fine"``,
            ``"coda"`` or ``""``.
    """

    number: int
    meter: Meter = COMMON
    chords: list[tuple[Fraction, str]] = field(default_factory=list)
    section: str = ""
    repeat_start: bool = False
    repeat_end: int = 0
    endings: tuple[int, ...] = ()
    segno: bool = False
    coda: bool = False
    fine: bool = False
    final: bool = False
    jump: str = ""
    jump_to: str = ""


@dataclass
class Chart:
    """A lead sheet's chords and form (see the module docstring)."""

    title: str
    bars: list[ChartBar]
    key: str = ""
    source: str = ""

    def __post_init__(self) -> None:
        if not self.bars:
            raise ArtkitError(f"chart '{self.source or self.title}' has no bars")
        if len(self.bars) > MAX_CHART_BARS:
            raise ArtkitError(f"chart '{self.source or self.title}' has {len(self.bars)} bars; "
                              f"artkit reads charts of up to {MAX_CHART_BARS}")
        if not any(b.chords for b in self.bars):
            raise ArtkitError(f"chart '{self.source or self.title}' has no chord symbols",
                              "give a lead sheet with chord symbols (harmony in MusicXML, "
                              "\"quoted\" chords in ABC)")

    def form(self) -> list[tuple[ChartBar, str]]:
        """The bars in the order played, each with a note on how it was reached."""
        bars = self.bars
        last_ending = max((e for b in bars for e in b.endings), default=1)
        codas = [i for i, b in enumerate(bars) if b.coda]
        segno = next((i for i, b in enumerate(bars) if b.segno), 0)
        played: list[tuple[ChartBar, str]] = []
        i, start, passes, jumped, jump_to = 0, 0, 1, False, ""
        while i < len(bars):
            if len(played) >= MAX_PLAYED_BARS:
                raise ArtkitError(f"chart '{self.source or self.title}' plays more than "
                                  f"{MAX_PLAYED_BARS} bars (do its repeats end?)")
            bar = bars[i]
            if bar.repeat_start and i != start and not jumped:
                start, passes = i, 1
            if bar.endings and passes not in bar.endings:
                i += 1
                continue
            note = _note(bar, passes, jumped)
            played.append((bar, note))
            if jumped and jump_to == "fine" and bar.fine:
                break
            if jumped and jump_to == "coda" and bar.coda and len(codas) > 1 and i == codas[0]:
                i = codas[1]
                continue
            if bar.repeat_end and not jumped:
                if passes < bar.repeat_end:
                    passes += 1
                    i = start
                    continue
                start = i + 1
            if bar.jump and not jumped:
                jumped, jump_to, passes = True, bar.jump_to, last_ending
                i = segno if bar.jump == "D.S." else 0
                continue
            if bar.final:
                break
            i += 1
        return played

    def progression(self) -> Progression:
        """The bars as played, chords held across bars that have none."""
        out: list[Bar] = []
        held = None
        for bar, note in self.form():
            chords = []
            for k, (offset, symbol) in enumerate(bar.chords):
                end = bar.chords[k + 1][0] if k + 1 < len(bar.chords) else bar.meter.bar_length
                chords.append((offset, end - offset, parse_chord(symbol)))
            if not chords or chords[0][0] > 0:
                first = chords[0][0] if chords else bar.meter.bar_length
                if held is None:
                    held = chords[0][2] if chords else None
                if held is None:
                    continue                   # leading bars without any chord yet
                chords.insert(0, (Fraction(0), first, held))
            held = chords[-1][2]
            out.append(Bar(bar.meter, tuple(chords), bar.section, f"bar {bar.number}{note}"))
        if not out:
            raise ArtkitError(f"chart '{self.source or self.title}' plays no chord")
        return Progression(out, self.title)


def _note(bar: ChartBar, passes: int, jumped: bool) -> str:
    bits = []
    if bar.endings:
        bits.append(f"{_ordinal(passes if not jumped else max(bar.endings))} ending")
    if bar.repeat_end and not jumped:
        bits.append(f"repeat {passes}/{bar.repeat_end}")
    if bar.jump and not jumped:
        bits.append(f"{bar.jump} al {bar.jump_to.capitalize()}" if bar.jump_to else bar.jump)
    if bar.coda:
        bits.append("coda")
    return (", " + ", ".join(bits)) if bits else ""


def _ordinal(n: int) -> str:
    return {1: "1st", 2: "2nd", 3: "3rd"}.get(n, f"{n}th")
