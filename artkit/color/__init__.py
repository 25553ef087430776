"""``artkit colorize``: black-and-white photos into colour — learned, by example, and by hints.

The front door (see docs/colorize.md):

* :class:`Colorizer` holds the networks (the learned model, the backbone for exemplar
  matching), loaded once; :meth:`Colorizer.colorize` returns a :class:`ColorizeResult`, and
  :meth:`Colorizer.explain` a :class:`ColorExplanation` of what drove the model's colours;
* :func:`colorize` does one photo in one call;
* :func:`train` trains a colouriser on your photos (a :class:`TrainedColorizer` with ``.save``);
* :func:`evaluate` measures a method against baselines (a :class:`ColorEvaluation`).

Importing this package is cheap (``artkit colorize --help`` loads no torch): the names below are
imported from their modules on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from artkit.core.lazy import lazy_exports

_EXPORTS = {
    "Colorizer": "api", "ColorizeResult": "api", "ColorizeSettings": "api", "colorize": "api",
    "ColorEvaluation": "evaluation", "evaluate": "evaluation",
    "ColorExplanation": "explain",
    "ColorModelConfig": "model",
    "TrainConfig": "training", "TrainedColorizer": "training", "train": "training",
}

__all__ = ["ColorEvaluation", "ColorExplanation", "ColorModelConfig", "ColorizeResult",
           "ColorizeSettings", "Colorizer", "TrainConfig", "TrainedColorizer", "colorize",
           "evaluate", "train"]  # = sorted(_EXPORTS), written out for linters

if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from artkit.color.api import ColorizeResult, Colorizer, ColorizeSettings, colorize
    from artkit.color.evaluation import ColorEvaluation, evaluate
    from artkit.color.explain import ColorExplanation
    from artkit.color.model import ColorModelConfig
    from artkit.color.training import TrainConfig, TrainedColorizer, train


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
