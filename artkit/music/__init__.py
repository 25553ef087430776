"""``artkit music``: LSTM jazz over chord progressions (deepjazz done right) — train on any
corpus, compose MIDI / MusicXML / piano rolls, render audio with a built-in synthesiser, and
measure the music against random baselines and the training set.

Public API: :func:`train`, :func:`compose` (→ :class:`Score`), :func:`render`, :func:`evaluate`,
:func:`load_model`, and :func:`parse_chords` / :func:`load_progression` for harmony.
"""

from artkit.music.api import Score, TrainResult, compose, evaluate, load_model, render, train
from artkit.music.chords import load_progression, parse_chord, parse_chords

__all__ = ["Score", "TrainResult", "compose", "evaluate", "load_model", "load_progression",
           "parse_chord", "parse_chords", "render", "train"]
