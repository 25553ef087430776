"""artkit: a creative-coding toolkit for generative media.

Capabilities live in sub-packages (``artkit.doodle``, ``artkit.color``, ...); shared plumbing is in
``artkit.core``, network definitions in ``artkit.nets`` and the offline weight store in
``artkit.weights``. Nothing heavy is imported here, so ``import artkit`` is instant.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
