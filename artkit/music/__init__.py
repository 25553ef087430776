"""``artkit music``: jazz over any chord progression or lead sheet (deepjazz's grammar LSTM) and
free polyphony (the Biaxial RNN) — train on any corpus, compose MIDI / MusicXML / piano rolls,
render audio with a built-in synthesiser, and measure the music against random baselines.

The front door (docs/design.md): :class:`Composer` holds a model and composes again and again,
:func:`compose` does it once; both return a :class:`Score`. :func:`train` returns a trained
model (``.save(path)``), :func:`evaluate` a :class:`MusicEvaluation`, :func:`render` a
:class:`Rendering`. Harmony: :func:`parse_chord`, :func:`parse_chords`, :func:`load_progression`
and :func:`read_chart` (MusicXML, ABC, iReal Pro).

Importing this package is cheap (as for ``artkit.nets``): the names below load their module,
and torch, on first use, so ``artkit music --help`` stays instant.

Example:
    >>> from artkit import music
    >>> score = music.compose(progression="ii-v-i", bars=4, device="cpu")  # doctest: +SKIP
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from artkit.core.lazy import lazy_exports

_EXPORTS = {
    "Composer": "api", "Rendering": "api", "compose": "api", "evaluate": "api", "render": "api",
    "BiaxialModel": "biaxial", "Chart": "charts", "Chord": "chords", "Progression": "chords",
    "load_progression": "chords", "parse_chord": "chords", "parse_chords": "chords",
    "read_chart": "leadsheet", "Meter": "meter", "MusicEvaluation": "metrics",
    "JazzModel": "model", "load_model": "models", "upgrade_model": "models", "Score": "score",
    "train": "train",
}

__all__ = ["BiaxialModel", "Chart", "Chord", "Composer", "JazzModel", "Meter", "MusicEvaluation",
           "Progression", "Rendering", "Score", "compose", "evaluate", "load_model",
           "load_progression", "parse_chord", "parse_chords", "read_chart", "render", "train",
           "upgrade_model"]  # = sorted(_EXPORTS), written out for linters

if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from artkit.music.api import Composer, Rendering, compose, evaluate, render
    from artkit.music.biaxial import BiaxialModel
    from artkit.music.charts import Chart
    from artkit.music.chords import Chord, Progression, load_progression, parse_chord, parse_chords
    from artkit.music.leadsheet import read_chart
    from artkit.music.meter import Meter
    from artkit.music.metrics import MusicEvaluation
    from artkit.music.model import JazzModel
    from artkit.music.models import load_model, upgrade_model
    from artkit.music.score import Score
    from artkit.music.train import train


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
