"""``artkit doodle``: semantic style transfer — doodles into paintings (neural-doodle).

Public API (see ``docs/doodle.md``): :class:`Painter` (holds its VGG; ``paint(...)``) and the
one-call :func:`transfer`, both returning :class:`DoodleResult`; settings in
:class:`DoodleConfig`; :func:`evaluate` for the quality figures; :class:`Checkpoint` to resume
an interrupted painting.

Importing the package is cheap (the command line's ``--help`` stays instant): the names below
load their module, and torch, on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from artkit.core.lazy import lazy_exports

_EXPORTS = {
    "Checkpoint": "api", "DoodleResult": "api", "Painter": "api", "default_style_map": "jobs",
    "transfer": "api", "DoodleConfig": "config", "DoodleEvaluation": "evaluate",
    "evaluate": "evaluate",
}
__all__ = ["Checkpoint", "DoodleConfig", "DoodleEvaluation", "DoodleResult", "Painter",
           "default_style_map", "evaluate", "transfer"]
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from artkit.doodle.api import Checkpoint, DoodleResult, Painter, transfer
    from artkit.doodle.config import DoodleConfig
    from artkit.doodle.jobs import default_style_map
    from artkit.doodle.evaluate import DoodleEvaluation, evaluate
