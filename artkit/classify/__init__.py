"""``artkit classify``: photo classifiers on frozen pretrained features, with an honest report.

Public API: :func:`train` returning a :class:`Classifier` (``save`` / ``load`` / ``predict`` →
:class:`Predictions`), :func:`predict` in one call, :class:`ImagenetClassifier` /
:func:`imagenet` for zero-shot ImageNet labels, and :func:`robustness` for accuracy under noise
and L∞ attacks (FGSM, PGD).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from artkit.core.lazy import lazy_exports

__all__ = ["Classifier", "ImagenetClassifier", "ImagenetPrediction", "ImagenetPredictions",
           "Prediction", "Predictions", "Robustness", "imagenet", "predict", "robustness", "train"]

_EXPORTS = dict.fromkeys(__all__, "api")

if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from artkit.classify.api import (Classifier, ImagenetClassifier, ImagenetPrediction,
                                     ImagenetPredictions, Prediction, Predictions, Robustness,
                                     imagenet, predict, robustness, train)


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
