"""``artkit classify``: photo classifiers on frozen pretrained features, with an honest report.

Public API: :func:`train` returning a :class:`Classifier` (``save`` / ``load`` / ``predict``),
:func:`imagenet` for zero-shot ImageNet labels, and :func:`robustness` for accuracy under
noise and L∞ attacks (FGSM, PGD).
"""

from artkit.classify.api import (Classifier, ImagenetPrediction, Prediction, imagenet, robustness,
                                 train)

__all__ = ["Classifier", "ImagenetPrediction", "Prediction", "imagenet", "robustness", "train"]
