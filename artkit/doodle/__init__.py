"""``artkit doodle``: semantic style transfer — two-colour doodles into paintings.

Public API: :func:`transfer` with :class:`DoodleConfig`, returning :class:`DoodleResult`;
:func:`artkit.doodle.evaluate.evaluate_files` for the quality figures.
"""

from artkit.doodle.api import Checkpoint, DoodleConfig, DoodleResult, default_style_map, transfer

__all__ = ["Checkpoint", "DoodleConfig", "DoodleResult", "default_style_map", "transfer"]
