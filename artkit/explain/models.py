"""The models ``artkit explain`` knows by name, and how each one reads an image.

- ``efficientnet-lite0``: the ImageNet classifier (1000 outputs), 224² centre crops.
- ``vgg16-hed``: VGG16's conv layers (no classifier ships): the outputs are the 512 channels of
  relu5_3, averaged over the image — "what makes this feature channel fire".
- ``fashion-cnn``: a small CNN the project trained on Fashion-MNIST (10 outputs, 28² grey),
  shipped with the package together with its patterns.
- a classifier file from ``artkit classify train``: backbone + the logistic head as one network
  (read through :mod:`artkit.nets.classifier`, so explain never imports classify).
"""

from __future__ import annotations

import os

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import nn

from artkit.core.artifacts import describe, load_artifact, peek_kind, save_artifact
from artkit.core.errors import ArtkitError
from artkit.core.presets import presets_root
from artkit.core.runtime import resolve_device
from artkit.explain.graph import fingerprint
from artkit.explain.patterns import Patterns
from artkit.nets.classifier import KIND as CLASSIFIER_KIND
from artkit.nets.classifier import FeatureClassifier, load_classifier_file
from artkit.nets.efficientnet import load_efficientnet, preprocess_pil
from artkit.nets.imagenet import class_names
from artkit.nets.vgg import load_vgg

MODEL_NAMES = ("efficientnet-lite0", "vgg16-hed", "fashion-cnn")
FASHION_KIND = "fashion-cnn"
describe(FASHION_KIND, "Fashion-MNIST CNN", "train one with artkit.explain.fashion.train_cnn")
FASHION_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                   "Sneaker", "Bag", "Ankle boot"]


@dataclass
class Explainable:
    """A model ready for attribution.

    Attributes:
        name: what it is called (a registry name or a file path).
        model: the torch module, eval mode, returning (B, K).
        labels: names of its K outputs.
        preprocess: PIL image -> (1, C, H, W) input tensor.
        patterns_file: the shipped patterns for it, if any.
        image_size: the side of its square input.
    """

    name: str
    model: nn.Module
    labels: list[str]
    preprocess: Callable[[Image.Image], torch.Tensor]
    patterns_file: Path | None = None
    image_size: int = 224
    meta: dict = field(default_factory=dict)
    patterns: object | None = None  # pre-built Patterns (classifier files)


class FashionCNN(nn.Module):
    """Two conv blocks and two linear layers for 28x28 grey images (ReLU, max-pooling)."""

    def __init__(self, width: int = 16, hidden: int = 128, classes: int = 10):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, width, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),  # (B, w, 14, 14)
            nn.Conv2d(width, 2 * width, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),  # (B, 2w, 7, 7)
        )
        self.classifier = nn.Sequential(
            nn.Flatten(), nn.Linear(2 * width * 49, hidden), nn.ReLU(), nn.Dropout(0.25),
            nn.Linear(hidden, classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, 1, 28, 28) in [0, 1] -> (B, 10)
        return self.classifier(self.features(x))


class VGGChannels(nn.Module):
    """VGG conv layers to relu5_3, then the spatial mean of each of the 512 channels."""

    def __init__(self, vgg):
        super().__init__()
        self.preprocess = vgg.preprocess
        self.body = nn.Sequential(*[getattr(vgg, n) for n in vgg.layer_names[:vgg.layer_names.index("relu5_3") + 1]])
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.flatten = nn.Flatten(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, 3, H, W) -> (B, 512)
        return self.flatten(self.pool(self.body(self.preprocess(x))))


ClassifierNet = FeatureClassifier  # the old name


def shipped_dir() -> Path:
    """Where the shipped explain models and patterns are (``presets/explain``)."""
    return presets_root() / "explain"


def _rgb224(image: Image.Image) -> torch.Tensor:
    return preprocess_pil(image, 224)


def fashion_preprocess(image: Image.Image) -> torch.Tensor:
    """Any image -> (1, 1, 28, 28) in [0, 1]: grey, fitted into 28x28 (aspect kept, padded)
    and inverted when the background is light, since Fashion-MNIST items are light on black."""
    g = image.convert("L")
    g.thumbnail((28, 28), Image.Resampling.LANCZOS)
    canvas = Image.new("L", (28, 28), 0)
    arr = np.asarray(g, dtype=np.float32) / 255.0
    border = np.concatenate([arr[0], arr[-1], arr[:, 0], arr[:, -1]])
    if border.mean() > 0.5:
        arr = 1.0 - arr
    canvas.paste(Image.fromarray((arr * 255).astype(np.uint8)),
                 ((28 - g.width) // 2, (28 - g.height) // 2))
    out = np.asarray(canvas, dtype=np.float32) / 255.0
    return torch.from_numpy(out.copy())[None, None]


def save_fashion_cnn(model: FashionCNN, path: str | Path, *, meta: dict | None = None,
                     force: bool = False) -> Path:
    """Write the Fashion-MNIST CNN as an artkit artifact (kind ``fashion-cnn``)."""
    width = model.features[0].out_channels
    hidden = model.classifier[1].out_features
    return save_artifact(path, model.state_dict(), kind=FASHION_KIND, force=force,
                         meta={"width": width, "hidden": hidden, **(meta or {})})


def load_fashion_cnn(path: str | Path | None = None) -> FashionCNN:
    """The shipped Fashion-MNIST CNN (or one saved by :func:`save_fashion_cnn`).

    Raises:
        ArtkitError: missing, not a Fashion-MNIST CNN, damaged.
    """
    p = Path(path) if path else shipped_dir() / "fashion-cnn.safetensors"
    if not p.is_file():
        raise ArtkitError(f"Fashion-MNIST CNN '{p}' does not exist",
                          "train one with artkit.explain.fashion.train_cnn, or reinstall artkit")
    art = load_artifact(p, FASHION_KIND)
    width, hidden = art.field("width", int), art.field("hidden", int)
    if not (1 <= width <= 256 and 1 <= hidden <= 4096):
        raise art.damaged(f"its sizes are width {width}, hidden {hidden}")
    model = FashionCNN(width, hidden)
    want = model.state_dict()
    state = {k: art.tensor(k, shape=tuple(v.shape)) for k, v in want.items()}
    model.load_state_dict(state)
    return model.eval()


def classifier_patterns(net: FeatureClassifier, head_pattern: torch.Tensor | None):
    """Patterns for backbone + head: the shipped EfficientNet-Lite0 ones and the head's own
    (learned from the training features by ``artkit classify train``); None without the latter."""
    shipped = shipped_dir() / "efficientnet-lite0.patterns.safetensors"
    if head_pattern is None or not shipped.is_file():
        return None
    base = Patterns.load(shipped)
    base.check(net.backbone)
    linear = {f"backbone.{k}": base.pattern(k) for k in base.linear}
    linear["head"] = head_pattern.float()
    rectified = {f"backbone.{k}": v for k, v in base.rectified.items()}
    rectified["head"] = False
    return Patterns(linear, {}, {}, rectified, fingerprint(net),
                    meta={"model": "classifier", "backbone": base.meta})


# Model files ``artkit explain`` can open, by artifact kind: kind -> loader(path, device).
MODEL_LOADERS: dict[str, Callable[[Path, torch.device], Explainable]] = {}


def register_model_loader(kind: str, loader: Callable[[Path, torch.device], Explainable]) -> None:
    """Let ``--model FILE`` open artifacts of ``kind`` with ``loader(path, device)``."""
    MODEL_LOADERS[kind] = loader


def _classifier_file(path: Path, device: torch.device) -> Explainable:
    clf = load_classifier_file(path)
    net = FeatureClassifier.from_file(load_efficientnet(device), clf).to(device).eval()
    return Explainable(str(path), net, clf.labels, _rgb224,
                       patterns=classifier_patterns(net, clf.pattern),
                       meta={"kind": "classifier", "sha256": clf.sha256})


def _fashion_file(path: Path, device: torch.device) -> Explainable:
    return Explainable(str(path), load_fashion_cnn(path).to(device), list(FASHION_CLASSES),
                       fashion_preprocess, image_size=28)


register_model_loader(CLASSIFIER_KIND, _classifier_file)
register_model_loader(FASHION_KIND, _fashion_file)


def shipped_patterns(model: str) -> dict[str, Path]:
    """The pattern sets that ship for ``model``, by name: ``default`` (what is used without
    ``--patterns``) and the others (``efficientnet-lite0.NAME.patterns.safetensors``)."""
    sets = {}
    for f in sorted(shipped_dir().glob("*.patterns.safetensors")):
        stem = f.name[:-len(".patterns.safetensors")]
        if stem == model:
            sets["default"] = f
        elif stem.startswith(model + "."):
            sets[stem[len(model) + 1:]] = f
    return sets


def resolve_patterns(model: str, value: str | os.PathLike | None) -> Path | None:
    """The patterns file a ``--patterns`` value means: a file, or the name of a set that ships
    for ``model`` (:func:`shipped_patterns`); None stays None (the default set).

    Raises:
        ArtkitError: neither an existing file nor a shipped set's name.
    """
    if value is None:
        return None
    path = Path(value)
    if path.is_file():
        return path
    sets = shipped_patterns(model)
    if str(value) in sets:
        return sets[str(value)]
    raise ArtkitError(f"patterns '{value}' is neither a file nor a pattern set that ships for "
                      f"'{model}'", f"give a file from `artkit explain fit` or one of: "
                      f"{', '.join(sets) or '(none ship for it)'}")


def load_model(name: str, device: str | torch.device = "cpu") -> Explainable:
    """A model by name (see :data:`MODEL_NAMES`) or a model file (an ``artkit classify`` model,
    or any kind in :data:`MODEL_LOADERS`).

    Raises:
        ArtkitError: unknown name, missing file, weights not fetched.
    """
    device = resolve_device(device)
    if name == "efficientnet-lite0":
        return Explainable(name, load_efficientnet(device).eval(), class_names(), _rgb224,
                           shipped_dir() / "efficientnet-lite0.patterns.safetensors")
    if name == "vgg16-hed":
        model = VGGChannels(load_vgg("vgg16-hed", pooling="max", device=device)).eval()
        return Explainable(name, model, [f"relu5_3 channel {i}" for i in range(512)], _rgb224)
    if name == "fashion-cnn":
        return Explainable(name, load_fashion_cnn().to(device), list(FASHION_CLASSES),
                           fashion_preprocess, shipped_dir() / "fashion-cnn.patterns.safetensors",
                           image_size=28)
    p = Path(name)
    if p.is_file():
        kind = peek_kind(p)
        if kind in MODEL_LOADERS:
            return MODEL_LOADERS[kind](p, device)
        raise ArtkitError(f"'{p}' is {('a ' + kind) if kind else 'not a model artkit wrote'}, not "
                          "a model artkit explain can open",
                          "give a model from `artkit classify train` or one of: "
                          + ", ".join(MODEL_NAMES))
    if p.suffix or p.exists():
        raise ArtkitError(f"model file '{p}' does not exist",
                          f"use one of: {', '.join(MODEL_NAMES)}, or a model from "
                          "`artkit classify train`")
    raise ArtkitError(f"unknown model '{name}'", f"use one of: {', '.join(MODEL_NAMES)}, or a "
                                                 "model file from `artkit classify train`")
