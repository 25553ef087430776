"""Network definitions shared by the capabilities: VGG feature extractors and EfficientNet-Lite0.

Importing this package is cheap: the submodules are imported on first attribute access, and no
weights are ever loaded until :func:`load_vgg` or :func:`load_efficientnet` is called.

Example:
    >>> from artkit import nets
    >>> vgg = nets.load_vgg("vgg16-hed")                     # doctest: +SKIP
    >>> clf = nets.load_efficientnet()                       # doctest: +SKIP
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    # vgg
    "VGGConfig": "vgg",
    "VGGFeatures": "vgg",
    "VGG_SIZES": "vgg",
    "load_vgg": "vgg",
    "caffe_preprocess": "vgg",
    "torchvision_preprocess": "vgg",
    "CaffePreprocess": "vgg",
    "TorchvisionPreprocess": "vgg",
    "layer_names": "vgg",
    "from_torchvision": "vgg",
    "to_torchvision": "vgg",
    # efficientnet
    "EfficientNetConfig": "efficientnet",
    "EfficientNetLite0": "efficientnet",
    "EFFICIENTNET_SIZES": "efficientnet",
    "load_efficientnet": "efficientnet",
    "preprocess_pil": "efficientnet",
    # classifier (backbone + linear head, and its file)
    "FeatureClassifier": "classifier",
    "ClassifierFile": "classifier",
    "load_classifier_file": "classifier",
    "save_classifier_file": "classifier",
    # imagenet
    "class_names": "imagenet",
    "DOG_CLASSES": "imagenet",
    "CAT_CLASSES": "imagenet",
}

__all__ = sorted(_EXPORTS)

if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from artkit.nets.efficientnet import (EFFICIENTNET_SIZES, EfficientNetConfig,
                                          EfficientNetLite0, load_efficientnet, preprocess_pil)
    from artkit.nets.classifier import (ClassifierFile, FeatureClassifier, load_classifier_file,
                                        save_classifier_file)
    from artkit.nets.imagenet import CAT_CLASSES, DOG_CLASSES, class_names
    from artkit.nets.vgg import (VGG_SIZES, CaffePreprocess, TorchvisionPreprocess, VGGConfig,
                                 VGGFeatures, caffe_preprocess, from_torchvision, layer_names,
                                 load_vgg, to_torchvision, torchvision_preprocess)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'artkit.nets' has no attribute '{name}'")
    value = getattr(importlib.import_module(f"artkit.nets.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))
