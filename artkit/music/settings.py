"""What a composition's settings may be, stated once with their ranges (``core.config``).

:class:`Feel` is how a piece is played (tempo, temperature, swing, loudness, register, comping
density); a mood preset (:class:`Mood`, ``presets/music/moods/*.toml``) is a described feel,
and :class:`ComposeSettings` is a feel plus the piece's length and phrasing. Every field is
checked in one pass, naming the option (``--tempo``) or the preset file and key; rules that tie
fields together (a register is two MIDI pitches, low before high, at least an octave apart) are
in ``check``.

    >>> ComposeSettings(register=[72, 60]).validate()
    Traceback (most recent call last):
    ...
    artkit.core.errors.ArtkitError: --register must be low then high (got [72, 60])
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from artkit.core.config import Config, option_name, param
from artkit.core.errors import ArtkitError

MAX_BARS = 512


@dataclass
class PresetConfig(Config):
    """A :class:`Config` whose cross-field checks also name the preset file they came from."""

    def validate(self, where: str = "") -> None:
        self._where = where
        try:
            super().validate(where)
        except ArtkitError as exc:
            if where and where not in exc.message:
                raise ArtkitError(f"preset {where}: {exc.message}", exc.hint) from None
            raise

    def label(self, name: str) -> str:
        """How messages name a field: ``key 'x'`` in a preset, ``--x`` on the command line."""
        return f"key '{name}'" if getattr(self, "_where", "") else option_name(name)


@dataclass
class Feel(PresetConfig):
    """How a piece is played; ``None`` leaves the model's own default (jazz: 130 bpm and
    temperature 0.5; biaxial: 100 bpm and 1.0)."""

    tempo: float | None = param(None, ge=20, le=400, help="quarter notes a minute")
    temperature: float | None = param(None, ge=0.05, le=5, help="sampling temperature")
    swing: float = param(0.6, ge=0.5, le=0.8, help="where off-beat eighths fall (0.5 straight)")
    velocity: int = param(92, ge=1, le=127, help="melody loudness (MIDI velocity)")
    register: list[int] = param(factory=lambda: [60, 84], ge=0, le=127,
                                help="lowest and highest melody pitch (MIDI)")
    density: float = param(1.0, ge=0.0, le=1.0, help="comping density (below 0.75: sparse)")

    def check(self) -> None:
        reg = self.register
        if len(reg) != 2:
            raise ArtkitError(f"{self.label('register')} must be two MIDI pitches, low and high "
                              f"(got {reg})")
        if reg[0] >= reg[1]:
            raise ArtkitError(f"{self.label('register')} must be low then high (got {reg})")
        if reg[1] - reg[0] < 12:
            raise ArtkitError(f"{self.label('register')} must span at least an octave (got {reg})")

    def feel(self) -> dict:
        """The :class:`Feel` fields of these settings."""
        return {f.name: getattr(self, f.name) for f in fields(Feel)}


@dataclass
class Mood(Feel):
    """Schema of ``presets/music/moods/*.toml``: a described feel."""

    description: str = param("", help="what the mood sounds like")


@dataclass
class ComposeSettings(Feel):
    """A feel plus the piece's length and phrasing.

    Args:
        bars: length in bars (rounded up to whole choruses of a progression).
        choruses: length in choruses of the progression (instead of ``bars``).
        patches: phrases generated separately and joined.
        transition: how phrases join: ``soft`` or ``hard``.
    """

    bars: int | None = param(None, ge=1, le=MAX_BARS, help="length in bars")
    choruses: int | None = param(None, ge=1, le=MAX_BARS, help="length in choruses")
    patches: int = param(1, ge=1, le=64, help="separately generated phrases")
    transition: str = param("soft", choices=("soft", "hard"), help="how phrases join")

    def check(self) -> None:
        super().check()
        if self.bars is not None and self.choruses is not None:
            raise ArtkitError("give --bars or --choruses, not both")
