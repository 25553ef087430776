"""``artkit story``: a photo in, a story out — about who or what is in the photo, in a chosen style.

Public API: :func:`tell` returning a :class:`Story`, :class:`Storyteller` to keep the networks
loaded across many stories, :func:`evaluate` returning a :class:`StoryEvaluation`.

Importing this package is cheap (as for ``artkit.music``): the names below load their module,
and torch, on first use, so ``artkit story --help`` stays instant.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from artkit.core.lazy import lazy_exports

_EXPORTS = {
    "Story": "api", "Storyteller": "api", "TellConfig": "api", "tell": "api",
    "StoryEvaluation": "evaluate", "evaluate": "evaluate", "read_labels": "evaluate",
}

__all__ = ["Story", "StoryEvaluation", "Storyteller", "TellConfig", "evaluate", "read_labels",
           "tell"]  # = sorted(_EXPORTS), written out for linters

if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from artkit.story.api import Story, Storyteller, TellConfig, tell
    from artkit.story.evaluate import StoryEvaluation, evaluate, read_labels


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
