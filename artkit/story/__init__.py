"""``artkit story``: a photo in, a story out — grounded in the photo, in a chosen style.

Public API: :func:`tell` returning a :class:`Story`, and :class:`Storyteller` to keep the
networks loaded across many stories (``artkit story evaluate`` uses it).
"""

from artkit.story.api import Story, Storyteller, tell

__all__ = ["Story", "Storyteller", "tell"]
