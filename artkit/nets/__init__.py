"""Network definitions shared by the capabilities: VGG feature extractors and EfficientNet-Lite0.

Importing this package is cheap: the submodules are imported on first attribute access, and no
weights are ever loaded until :func:`load_vgg` or :func:`load_efficientnet` is called.

Example:
    >>> from artkit import nets
    >>> vgg = nets.load_vgg("vgg16-hed")                     # doctest: +SKIP
    >>> clf = nets.load_efficientnet()                       # doctest: +SKIP
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from artkit.core.lazy import lazy_exports

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

__all__ = ["CAT_CLASSES", "CaffePreprocess", "ClassifierFile", "DOG_CLASSES", "EFFICIENTNET_SIZES",
           "EfficientNetConfig", "EfficientNetLite0", "FeatureClassifier", "TorchvisionPreprocess",
           "VGGConfig", "VGGFeatures", "VGG_SIZES", "caffe_preprocess", "class_names",
           "from_torchvision", "layer_names", "load_classifier_file", "load_efficientnet",
           "load_vgg", "preprocess_pil", "save_classifier_file", "to_torchvision",
           "torchvision_preprocess"]  # = sorted(_EXPORTS), written out for linters

if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from artkit.nets.efficientnet import (EFFICIENTNET_SIZES, EfficientNetConfig,
                                          EfficientNetLite0, load_efficientnet, preprocess_pil)
    from artkit.nets.classifier import (ClassifierFile, FeatureClassifier, load_classifier_file,
                                        save_classifier_file)
    from artkit.nets.imagenet import CAT_CLASSES, DOG_CLASSES, class_names
    from artkit.nets.vgg import (VGG_SIZES, CaffePreprocess, TorchvisionPreprocess, VGGConfig,
                                 VGGFeatures, caffe_preprocess, from_torchvision, layer_names,
                                 load_vgg, to_torchvision, torchvision_preprocess)


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

