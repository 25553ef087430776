"""``artkit classify``: photo classifiers on frozen pretrained features, with an honest report.

Public API: :func:`train` returning a :class:`Classifier` (``save`` / ``load`` / ``predict``),
and :func:`imagenet` for zero-shot ImageNet labels.
"""

from artkit.classify.api import Classifier, ImagenetPrediction, Prediction, imagenet, train

__all__ = ["Classifier", "ImagenetPrediction", "Prediction", "imagenet", "train"]
