"""The models ``artkit explain`` knows by name, and how each one reads an image.

- ``efficientnet-lite0``: the ImageNet classifier (1000 outputs), 224² centre crops.
- ``vgg16-hed``: VGG16's conv layers (no classifier ships): the outputs are the 512 channels of
  relu5_3, averaged over the image — "what makes this feature channel fire".
- ``fashion-cnn``: a small CNN the project trained on Fashion-MNIST (10 outputs, 28² grey),
  shipped with the package together with its patterns.
- a classifier file from ``artkit classify train``: backbone + the logistic head as one network.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from PIL import Image
from torch import nn

from artkit.core.errors import ArtkitError

MODEL_NAMES = ("efficientnet-lite0", "vgg16-hed", "fashion-cnn")
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


class ClassifierNet(nn.Module):
    """An ``artkit classify`` model as one network: backbone features, then its linear head."""

    def __init__(self, backbone: nn.Module, head):
        super().__init__()
        self.backbone = backbone
        w = head.weight.float() / head.scale.float()[:, None]  # (D, K) on raw features
        self.head = nn.Linear(w.shape[0], w.shape[1])
        with torch.no_grad():
            self.head.weight.copy_(w.T)
            self.head.bias.copy_(head.bias.float() - head.mean.float() @ w)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, 3, 224, 224) -> (B, K)
        return self.head(self.backbone.features(x))


def shipped_dir() -> Path:
    from artkit.core.presets import presets_root

    return presets_root() / "explain"


def _rgb224(image: Image.Image) -> torch.Tensor:
    from artkit.nets.efficientnet import preprocess_pil

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


def load_fashion_cnn(path: str | Path | None = None) -> FashionCNN:
    """The shipped Fashion-MNIST CNN (or one saved by :func:`save_fashion_cnn`)."""
    from safetensors.torch import load_file

    p = Path(path) if path else shipped_dir() / "fashion-cnn.safetensors"
    if not p.is_file():
        raise ArtkitError(f"Fashion-MNIST CNN '{p}' does not exist",
                          "train one with artkit.explain.fashion.train_cnn, or reinstall artkit")
    try:
        sd = load_file(str(p))
    except Exception:
        raise ArtkitError(f"'{p}' is not a readable safetensors file") from None
    width = sd["features.0.weight"].shape[0] if "features.0.weight" in sd else 16
    hidden = sd["classifier.1.weight"].shape[0] if "classifier.1.weight" in sd else 128
    model = FashionCNN(width, hidden)
    try:
        model.load_state_dict(sd)
    except RuntimeError:
        raise ArtkitError(f"'{p}' is not a Fashion-MNIST CNN of artkit's architecture") from None
    return model.eval()


def classifier_patterns(net: ClassifierNet, head_pattern: torch.Tensor | None):
    """Patterns for backbone + head: the shipped EfficientNet-Lite0 ones and the head's own
    (learned from the training features by ``artkit classify train``); None without the latter."""
    from artkit.explain.graph import fingerprint
    from artkit.explain.patterns import Patterns

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


def load_model(name: str, device: str | torch.device = "cpu") -> Explainable:
    """A model by name (see :data:`MODEL_NAMES`) or an ``artkit classify`` model file.

    Raises:
        ArtkitError: unknown name, missing file, weights not fetched.
    """
    if name == "efficientnet-lite0":
        from artkit.nets.efficientnet import load_efficientnet
        from artkit.nets.imagenet import class_names

        return Explainable(name, load_efficientnet(device).eval(), class_names(), _rgb224,
                           shipped_dir() / "efficientnet-lite0.patterns.safetensors")
    if name == "vgg16-hed":
        from artkit.nets.vgg import load_vgg

        model = VGGChannels(load_vgg("vgg16-hed", pooling="max", device=device)).eval()
        return Explainable(name, model, [f"relu5_3 channel {i}" for i in range(512)], _rgb224)
    if name == "fashion-cnn":
        return Explainable(name, load_fashion_cnn().to(device), list(FASHION_CLASSES),
                           fashion_preprocess, shipped_dir() / "fashion-cnn.patterns.safetensors",
                           image_size=28)
    p = Path(name)
    if p.suffix == ".safetensors" and p.is_file():
        from artkit.classify.api import Classifier
        from artkit.nets.efficientnet import load_efficientnet

        clf = Classifier.load(p)
        model = ClassifierNet(load_efficientnet(device), clf.head).to(device).eval()
        return Explainable(str(p), model, clf.labels, _rgb224,
                           patterns=classifier_patterns(model, clf.pattern))
    if p.suffix or p.exists():
        raise ArtkitError(f"model file '{p}' does not exist or is not an artkit classifier "
                          "(.safetensors)", f"use one of: {', '.join(MODEL_NAMES)}, or a model "
                                            "from `artkit classify train`")
    raise ArtkitError(f"unknown model '{name}'", f"use one of: {', '.join(MODEL_NAMES)}, or a "
                                                 "model file from `artkit classify train`")
