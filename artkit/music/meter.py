"""Meters: how a bar is counted, grouped and felt.

A time signature n/d gives the bar's length in quarter notes (4·n/d) and, for the band and the
metrics, its *groups*: the beats a player feels, in twos and threes.

* n/4 (and n/2, counted in quarters): groups of two quarters, with one group of three when n is
  odd — 4/4 is 2+2, 3/4 is 3, 5/4 is 3+2, 7/4 is 2+2+3 — and 6/4 is 3+3. Every quarter is a
  beat; eighths within a quarter swing.
* n/8: groups of three eighths where n is a multiple of three (6/8 is two dotted quarters,
  12/8 four), else twos and a final three (5/8 is 3+2, 7/8 is 2+2+3). The felt beats are the
  group starts; the eighths do not swing (they are the meter's own subdivision).

The strong beats are the group starts (beats 1 and 3 of 4/4, the downbeat of 3/4, beats 1
and 4 of 5/4 and 6/8), or every other group start when a bar has four groups (12/8).

    >>> m = Meter.parse("5/4")
    >>> m.bar_length, m.groups, sorted(m.strong)
    (Fraction(5, 1), (Fraction(3, 1), Fraction(2, 1)), [Fraction(0, 1), Fraction(3, 1)])
    >>> Meter.parse("6/8").beats
    (Fraction(0, 1), Fraction(3, 2))
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction

from artkit.core.errors import ArtkitError

MAX_NUMERATOR = 16
DENOMINATORS = (2, 4, 8)
_RE = re.compile(r"^\s*(\d{1,2})\s*/\s*(\d{1,2})\s*$")


def _split(n: int, three_first: bool = False) -> list[int]:
    """``n`` units in groups of two with one three when ``n`` is odd (``three_first``: the
    three comes first, as in 5 = 3+2)."""
    if n <= 3:
        return [n]
    twos = [2] * ((n - 3) // 2) if n % 2 else [2] * (n // 2)
    if n % 2 == 0:
        return twos
    return [3] + twos if three_first else twos + [3]


@dataclass(frozen=True)
class Meter:
    """A time signature.

    Args:
        numerator: beats (or eighths, for n/8) in a bar, 1–16.
        denominator: 2, 4 or 8.
    """

    numerator: int = 4
    denominator: int = 4

    def __post_init__(self) -> None:
        if not 1 <= self.numerator <= MAX_NUMERATOR or self.denominator not in DENOMINATORS:
            raise ArtkitError(f"time signature {self.numerator}/{self.denominator} is not a meter "
                              "artkit plays", f"use n/4, n/2 or n/8 with n from 1 to {MAX_NUMERATOR}")

    @staticmethod
    def parse(text: "str | Meter") -> "Meter":
        """``"3/4"`` → ``Meter(3, 4)`` (a :class:`Meter` is returned as is).

        Raises:
            ArtkitError: not ``n/d`` or a meter out of range.
        """
        if isinstance(text, Meter):
            return text
        m = _RE.match(str(text))
        if not m:
            raise ArtkitError(f"'{text}' is not a time signature", "write it like 4/4, 3/4, 5/4 or 6/8")
        return Meter(int(m.group(1)), int(m.group(2)))

    @property
    def text(self) -> str:
        return f"{self.numerator}/{self.denominator}"

    def __str__(self) -> str:
        return self.text

    @property
    def bar_length(self) -> Fraction:
        """Quarter notes in a bar."""
        return Fraction(4 * self.numerator, self.denominator)

    @property
    def eighths(self) -> bool:
        """Counted in eighths (n/8)."""
        return self.denominator == 8

    @property
    def swings(self) -> bool:
        """Whether the eighths swing (n/4 and n/2: yes; n/8: they are the meter's pulse)."""
        return not self.eighths

    @property
    def groups(self) -> tuple[Fraction, ...]:
        """Lengths (quarters) of the felt groups of a bar."""
        if self.eighths:
            n = self.numerator
            units = [3] * (n // 3) if n % 3 == 0 else _split(n, three_first=n == 5)
            return tuple(Fraction(u, 2) for u in units)
        if self.denominator == 2:
            return tuple(Fraction(2) for _ in range(self.numerator))
        quarters = self.numerator
        units = [3, 3] if quarters == 6 else _split(quarters, three_first=quarters == 5)
        return tuple(Fraction(u) for u in units)

    @property
    def group_starts(self) -> tuple[Fraction, ...]:
        starts, t = [], Fraction(0)
        for g in self.groups:
            starts.append(t)
            t += g
        return tuple(starts)

    @property
    def beats(self) -> tuple[Fraction, ...]:
        """Offsets of the felt beats: every quarter in n/4 and n/2, the group starts in n/8."""
        if self.eighths:
            return self.group_starts
        return tuple(Fraction(b) for b in range(int(self.bar_length)))

    @property
    def strong(self) -> frozenset:
        """Offsets of the strong beats (see the module docstring)."""
        starts = self.group_starts
        if len(starts) == 4:
            starts = starts[::2]
        return frozenset(starts)


COMMON = Meter(4, 4)


def meter_for_length(bar_length: Fraction) -> Meter:
    """The n/4 (or n/8) meter of a bar ``bar_length`` quarters long (pieces read from files
    that give bar lengths only)."""
    q = Fraction(bar_length)
    if q.denominator == 1 and 1 <= q <= MAX_NUMERATOR:
        return Meter(int(q), 4)
    if (q * 2).denominator == 1 and 1 <= q * 2 <= MAX_NUMERATOR:
        return Meter(int(q * 2), 8)
    return COMMON
