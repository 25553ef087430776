"""``artkit story``: a photo in, a story out — about who or what is in the photo, in a chosen style.

Public API: :func:`tell` returning a :class:`Story`, :class:`Storyteller` to keep the networks
loaded across many stories, :func:`evaluate` returning a :class:`StoryEvaluation`.
"""

from artkit.story.api import Story, Storyteller, TellConfig, tell
from artkit.story.evaluate import StoryEvaluation, evaluate, read_labels

__all__ = ["Story", "StoryEvaluation", "Storyteller", "TellConfig", "evaluate", "read_labels", "tell"]
