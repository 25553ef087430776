"""``artkit classify``: photo classifiers on frozen pretrained features, with an honest report.

Public API: :func:`train` returning a :class:`Classifier` (``save`` / ``load`` / ``predict`` →
:class:`Predictions`), :func:`predict` in one call, :class:`ImagenetClassifier` /
:func:`imagenet` for zero-shot ImageNet labels, and :func:`robustness` for accuracy under noise
and L∞ attacks (FGSM, PGD).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__all__ = ["Classifier", "ImagenetClassifier", "ImagenetPrediction", "ImagenetPredictions",
           "Prediction", "Predictions", "Robustness", "imagenet", "predict", "robustness", "train"]

if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from artkit.classify.api import (Classifier, ImagenetClassifier, ImagenetPrediction,
                                     ImagenetPredictions, Prediction, Predictions, Robustness,
                                     imagenet, predict, robustness, train)


def __getattr__(name: str) -> Any:
    """The API is imported on first use, so `artkit classify --help` loads no torch."""
    if name not in __all__:
        raise AttributeError(f"module 'artkit.classify' has no attribute '{name}'")
    value = getattr(importlib.import_module("artkit.classify.api"), name)
    globals()[name] = value
    return value
