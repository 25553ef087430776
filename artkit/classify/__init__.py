"""``artkit classify``: photo classifiers on frozen pretrained features, with an honest report.

Public API: :func:`train` returning a :class:`Classifier` (``save`` / ``load`` / ``predict`` →
:class:`Predictions`), :func:`predict` in one call, :class:`ImagenetClassifier` /
:func:`imagenet` for zero-shot ImageNet labels, and :func:`robustness` for accuracy under noise
and L∞ attacks (FGSM, PGD).
"""

from artkit.classify.api import (Classifier, ImagenetClassifier, ImagenetPrediction,
                                 ImagenetPredictions, Prediction, Predictions, Robustness, imagenet,
                                 predict, robustness, train)

__all__ = ["Classifier", "ImagenetClassifier", "ImagenetPrediction", "ImagenetPredictions",
           "Prediction", "Predictions", "Robustness", "imagenet", "predict", "robustness", "train"]
