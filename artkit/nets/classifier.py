"""A backbone with a linear head as one network, and the file an ``artkit classify`` model lives in.

``artkit classify`` fits a logistic head on a frozen backbone's pooled features; ``artkit
explain`` and the robustness attacks need the two as *one* differentiable network. Both read the
model file through :func:`load_classifier_file` here, so neither capability imports the other.

The file is an artkit artifact (kind ``classifier``): tensors ``weight`` (D, K) and ``bias`` (K,)
of the head on *standardised* features, ``mean`` and ``scale`` (D,) of the standardisation, and
optionally ``pattern`` (K, D), the head's PatternNet pattern on raw features; the metadata holds
``labels``, ``backbone``, ``C`` and the cross-validation ``report``. Every shape, label and value
is checked before use.

:class:`FeatureClassifier` folds the standardisation into one ``nn.Linear``:
``logits = ((f − mean) / scale) W + b = f (W / scale) + (b − mean · W / scale)``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from artkit.core.artifacts import describe, load_artifact, save_artifact
from artkit.core.errors import ArtkitError

KIND = "classifier"
# Backbones a classifier can be built on: name -> feature size and input side.
BACKBONES: dict[str, dict[str, int]] = {
    "efficientnet-lite0": {"dim": 1280, "size": 224},
}
describe(KIND, "artkit classifier",
         "train one with `artkit classify train DATA_DIR -o MODEL.safetensors`")


@dataclass
class ClassifierFile:
    """The contents of a classifier file (see the module docstring)."""

    labels: list[str]
    backbone: str
    weight: torch.Tensor  # (D, K) float64, on standardised features
    bias: torch.Tensor    # (K,)
    mean: torch.Tensor    # (D,)
    scale: torch.Tensor   # (D,)
    C: float = 1.0
    report: dict[str, Any] = field(default_factory=dict)
    pattern: torch.Tensor | None = None  # (K, D) on raw features
    sha256: str = ""


def save_classifier_file(path: str | os.PathLike, clf: ClassifierFile, *, force: bool = False) -> Path:
    """Write ``clf`` as a classifier artifact, atomically."""
    tensors = {"weight": clf.weight, "bias": clf.bias, "mean": clf.mean, "scale": clf.scale}
    if clf.pattern is not None:
        tensors["pattern"] = clf.pattern.float()
    meta = {"labels": list(clf.labels), "backbone": clf.backbone, "C": float(clf.C),
            "report": clf.report}
    return save_artifact(path, tensors, kind=KIND, meta=meta, force=force)


def load_classifier_file(path: str | os.PathLike, backbone: str | None = None) -> ClassifierFile:
    """Read and check a classifier file.

    Args:
        path: the ``.safetensors`` file.
        backbone: if given, the backbone the caller will use; a model of another one fails.

    Raises:
        ArtkitError: missing, not a classifier, on another or unknown backbone, labels that are
            not distinct strings, tensors of the wrong shape, NaN or infinite values.
    """
    art = load_artifact(path, KIND)
    labels = art.field("labels", list)
    if len(labels) < 2 or not all(isinstance(v, str) and v for v in labels) \
            or len(set(labels)) != len(labels):
        raise art.damaged("its labels are not two or more distinct, non-empty names")
    name = art.field("backbone", str)
    if backbone is not None and name != backbone:
        raise ArtkitError(f"model '{art.path}' was trained on backbone '{name}', not "
                          f"'{backbone}'", "retrain it or use the matching backbone")
    dim = check_backbone(name)["dim"]
    k = len(labels)
    C = art.meta.get("C", 1.0)
    if isinstance(C, bool) or not isinstance(C, (int, float)) or not C > 0:
        raise art.damaged(f"its regularisation C is {C!r}")
    report = art.meta.get("report") or {}
    if not isinstance(report, dict):
        raise art.damaged("its report is not a JSON object")
    scale = art.tensor("scale", shape=(dim,), dtype=torch.float64)
    if not bool((scale > 0).all()):
        raise art.damaged("tensor 'scale' has entries ≤ 0")
    pattern = art.tensors.get("pattern")
    if pattern is not None:
        pattern = art.tensor("pattern", shape=(k, dim), dtype=torch.float32)
    return ClassifierFile(labels=list(labels), backbone=name,
                          weight=art.tensor("weight", shape=(dim, k), dtype=torch.float64),
                          bias=art.tensor("bias", shape=(k,), dtype=torch.float64),
                          mean=art.tensor("mean", shape=(dim,), dtype=torch.float64),
                          scale=scale, C=float(C), report=report, pattern=pattern,
                          sha256=art.sha256)


def check_backbone(name: str) -> dict[str, int]:
    """The sizes of backbone ``name``, or an ArtkitError naming the known ones."""
    if name not in BACKBONES:
        raise ArtkitError(f"unknown backbone '{name}'", f"known: {', '.join(sorted(BACKBONES))}")
    return BACKBONES[name]


class FeatureClassifier(nn.Module):
    """A backbone's pooled features, then one linear layer: images in [0, 1] → (B, K) logits.

    Args:
        backbone: a network with ``features(x01) -> (B, D)`` (EfficientNet-Lite0).
        weight: (D, K) head weights on standardised features.
        bias: (K,) head biases.
        mean, scale: (D,) the standardisation of the features.
    """

    def __init__(self, backbone: nn.Module, weight: torch.Tensor, bias: torch.Tensor,
                 mean: torch.Tensor, scale: torch.Tensor):
        super().__init__()
        self.backbone = backbone
        w = weight.double() / scale.double()[:, None]  # (D, K) on raw features
        self.head = nn.Linear(w.shape[0], w.shape[1])
        with torch.no_grad():
            self.head.weight.copy_(w.T.float())
            self.head.bias.copy_((bias.double() - mean.double() @ w).float())
        self.head.requires_grad_(False)

    @classmethod
    def from_file(cls, backbone: nn.Module, clf: ClassifierFile) -> FeatureClassifier:
        """The network of a loaded classifier file on ``backbone``."""
        return cls(backbone, clf.weight, clf.bias, clf.mean, clf.scale)

    def forward(self, x01: torch.Tensor) -> torch.Tensor:  # (B, 3, H, W) -> (B, K)
        return self.head(self.backbone.features(x01).float())
