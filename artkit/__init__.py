"""artkit: a creative-coding toolkit for generative media.

Capabilities live in sub-packages (``artkit.doodle``, ``artkit.color``, ...); shared plumbing is in
``artkit.core``, network definitions in ``artkit.nets`` and the offline weight store in
``artkit.weights``. Nothing heavy is imported here, so ``import artkit`` is instant.
"""

import os as _os

# OpenMP threads that spin while waiting slow torch down many-fold when the cores are shared
# with other work (measured here: 129 s vs 18 s for one doodle). Must be set before torch loads.
_os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

__version__ = "0.1.0"

__all__ = ["__version__"]
