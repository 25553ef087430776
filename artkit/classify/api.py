"""``artkit classify``: photo classifiers on frozen pretrained features (DeepDoggo done properly).

DeepDoggo fed Inception-v3 pool features to a classifier and reported one accuracy. Here the
features come from EfficientNet-Lite0 (cached per file), the head is a small L2-regularised
logistic regression whose strength is chosen by inner cross-validation, and the report is a
nested stratified k-fold estimate with its spread, next to the ZeroR baseline, with per-class
precision / recall, the confusion matrix and the calibration error.

Example:
    >>> clf = train("photos/")            # photos/good_dog/*.jpg, photos/bad_dog/*.jpg  # doctest: +SKIP
    >>> clf.save("dogs.safetensors")                                                     # doctest: +SKIP
    >>> Classifier.load("dogs.safetensors").predict(["rex.jpg"])[0].label                # doctest: +SKIP
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

import numpy as np
import torch

from artkit import nets
from artkit.classify.features import check_backbone, extract_features, image_files, load_backbone
from artkit.classify.head import C_GRID, LogisticHead, choose_C, fit_logistic
from artkit.classify.report import cross_validate
from artkit.classify.robustness import evaluate_robustness
from artkit.core import distributed
from artkit.core.errors import ArtkitError
from artkit.core.images import load_image
from artkit.core.progress import ProgressCallback, track
from artkit.core.provenance import record_all, recording
from artkit.core.result import Evaluation, Result, Timer
from artkit.core.runtime import default_generator, resolve_device
from artkit.explain import fit_patterns
from artkit.nets.classifier import (ClassifierFile, FeatureClassifier, load_classifier_file,
                                    save_classifier_file)
from artkit.nets.imagenet import CAT_CLASSES, DOG_CLASSES, class_names


@dataclass
class Prediction:
    """One image's prediction: the most probable label and every label's probability."""

    path: Path
    label: str
    probabilities: dict[str, float]


@dataclass
class ImagenetPrediction:
    """One image's zero-shot ImageNet answer.

    Args:
        path: the image.
        top: ``(class index, name, probability)``, most probable first.
        dog: summed probability of the 118 dog-breed classes.
        cat: summed probability of the 5 domestic-cat classes.
    """

    path: Path
    top: list[tuple[int, str, float]]
    dog: float
    cat: float

    def is_(self, group: str) -> bool:
        """Whether the image shows a ``"dog"`` / ``"cat"``: the top class is one, or the group
        holds at least half of the probability."""
        classes = {"dog": DOG_CLASSES, "cat": CAT_CLASSES}[group]
        return self.top[0][0] in classes or getattr(self, group) >= 0.5


@dataclass(kw_only=True)
class Predictions(Result):
    """The answers for a batch of images: ``items`` (one :class:`Prediction` per readable
    image, in input order) and ``skipped`` (``(path, reason)`` of the unreadable ones)."""

    items: list = field(default_factory=list)
    skipped: list = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"predictions": [{"path": str(p.path), "label": p.label,
                                 "probabilities": p.probabilities} for p in self.items],
                "skipped": [[str(p), why] for p, why in self.skipped],
                "seconds": self.seconds, "notes": list(self.notes), "weights": dict(self.weights)}


@dataclass
class Classifier:
    """A trained head on a named backbone, with its cross-validation report.

    Built by :func:`train` (which writes nothing: call :meth:`save`) or read by :meth:`load`.
    The backbone network is loaded once, on the first image whose features are not in the
    feature cache (a second run over the same files needs no network at all), on ``device``.

    Args:
        labels: class names, index order.
        backbone: the feature network's name.
        head: the fitted logistic regression.
        report: the cross-validation report (see :func:`artkit.classify.report.cross_validate`)
            plus ``skipped`` files and ``duplicates``.
        pattern: (K, D) PatternNet pattern of the head on raw features, learned from the
            training features (for ``predict --explain``); None in models saved without it.
        device: where the backbone runs.
        weights: ``{name: sha256}`` of the model file (once saved or loaded) and the backbone.
    """

    labels: list[str]
    backbone: str
    head: LogisticHead
    report: dict = field(default_factory=dict)
    pattern: torch.Tensor | None = None
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))
    weights: dict[str, str] = field(default_factory=dict)
    _network: torch.nn.Module | None = field(default=None, repr=False)

    def predict_features(self, features: torch.Tensor) -> torch.Tensor:
        """(N, D) features -> (N, K) probabilities."""
        return self.head.predict_proba(features)

    def predict(self, paths: Iterable[str | Path], *,
                progress: ProgressCallback | None = None) -> Predictions:
        """Classify image files (folders are expanded, not recursively).

        Returns:
            :class:`Predictions`: the readable images' answers and the skipped files.
        """
        with Timer() as timer, recording() as used:
            fs = extract_features(image_files(paths), self.backbone, device=self.device,
                                  progress=progress)
            probs = self.predict_features(fs.features) if len(fs.paths) else torch.zeros(0, 0)
            items = [Prediction(p, self.labels[int(row.argmax())],
                                {lab: float(v) for lab, v in zip(self.labels, row)})
                     for p, row in zip(fs.paths, probs)]
        self.weights.update(used)
        record_all(self.weights)
        return Predictions(items=items, skipped=list(fs.skipped), seconds=timer.seconds,
                           weights=dict(self.weights))

    def network(self) -> FeatureClassifier:
        """Backbone and head as one differentiable network (images in [0, 1] → logits),
        loaded once."""
        if self._network is None:
            with recording() as used:
                backbone = load_backbone(self.backbone, self.device)
            self.weights.update(used)
            self._network = FeatureClassifier(backbone, self.head.weight, self.head.bias,
                                              self.head.mean, self.head.scale).to(self.device).eval()
        return self._network

    # ----------------------------------------------------------------------------- files

    def to_file(self) -> ClassifierFile:
        h = self.head
        return ClassifierFile(list(self.labels), self.backbone, h.weight, h.bias, h.mean, h.scale,
                              h.C, self.report, self.pattern)

    def save(self, path: str | os.PathLike, force: bool = False) -> Path:
        """Write the model file (an artkit artifact: head tensors, labels, backbone, report)."""
        return save_classifier_file(path, self.to_file(), force=force)

    @classmethod
    def load(cls, path: str | os.PathLike, backbone: str | None = None, *,
             device: str | torch.device = "cpu") -> "Classifier":
        """Read and check a classifier written by :meth:`save`.

        Args:
            path: the ``.safetensors`` file.
            backbone: if given, the backbone the caller will use; a model of another one fails.
            device: where the backbone will run.

        Raises:
            ArtkitError: missing, not an artkit classifier, damaged (shapes, NaN, labels), or
                built on a different or unknown backbone.
        """
        f = load_classifier_file(path, backbone)
        head = LogisticHead(f.weight, f.bias, f.mean, f.scale, f.C)
        return cls(f.labels, f.backbone, head, dict(f.report), f.pattern,
                   device=resolve_device(device), weights={Path(path).name: f.sha256})


def predict(paths: Iterable[str | Path], model: str | os.PathLike, *,
            device: str | torch.device = "auto",
            progress: ProgressCallback | None = None) -> Predictions:
    """Classify image files with the model file ``model`` in one call."""
    return Classifier.load(model, device=device).predict(paths, progress=progress)


# --------------------------------------------------------------------------------- dataset


def scan_dataset(data_dir: str | os.PathLike) -> tuple[list[str], dict[str, list[Path]]]:
    """The labels (sub-folder names, sorted) and each label's files.

    Raises:
        ArtkitError: the folder is missing, has fewer than two label folders, or one is empty.
    """
    root = Path(data_dir)
    if not root.is_dir():
        raise ArtkitError(f"data folder '{root}' does not exist or is not a folder")
    folders = sorted(d for d in root.iterdir() if d.is_dir() and not d.name.startswith("."))
    if len(folders) < 2:
        raise ArtkitError(f"'{root}' has {len(folders)} label folder(s); a classifier needs at "
                          "least 2", "make one sub-folder per label, e.g. good_dog/ and bad_dog/")
    files = {d.name: sorted(f for f in d.iterdir() if f.is_file() and not f.name.startswith("."))
             for d in folders}
    for label, items in files.items():
        if not items:
            raise ArtkitError(f"label folder '{root / label}' is empty",
                              "put images in it or remove it")
    return [d.name for d in folders], files


def train(data_dir: str | os.PathLike, backbone: str = "efficientnet-lite0", folds: int = 5,
          seed: int = 0, progress: ProgressCallback | None = None, *,
          device: str | torch.device = "auto", grid=C_GRID) -> Classifier | None:
    """Train a classifier on ``data_dir/<label>/<image>`` and cross-validate it (nothing is
    written: call ``.save(path)`` on the result).

    Args:
        data_dir: one sub-folder per label (at least two, none empty).
        backbone: feature network (see :data:`artkit.classify.features.BACKBONES`).
        folds: outer cross-validation folds (at least 2).
        seed: seeds the fold assignment.
        progress: optional progress callback.
        device: where to compute features.
        grid: C values for the inner cross-validation.

    Under torchrun (the process group joined) the features are extracted by all ranks, each
    its share of the files, and gathered; rank 0 alone cross-validates and fits the head.

    Returns:
        The classifier fitted on every readable image; ``report`` holds the cross-validation
        figures, the ``skipped`` files and ``duplicates`` (same bytes under different labels).
        ``None`` on the ranks other than 0 under torchrun.

    Raises:
        ArtkitError: bad folder layout, fewer than 2 usable labels, or fewer than 2 folds.
    """
    check_backbone(backbone)
    device = resolve_device(device)
    if folds < 2:
        raise ArtkitError(f"--folds must be at least 2, got {folds}")
    labels, files = scan_dataset(data_dir)
    paths = [p for lab in labels for p in files[lab]]
    label_of = {p: i for i, lab in enumerate(labels) for p in files[lab]}
    fs = extract_features(paths, backbone, device=device, progress=progress)
    y = np.array([label_of[p] for p in fs.paths], dtype=np.int64)
    counts = np.bincount(y, minlength=len(labels))
    for i, lab in enumerate(labels):
        if counts[i] == 0:
            raise ArtkitError(f"label '{lab}' has no readable images",
                              f"{len(fs.skipped)} file(s) could not be read, e.g. "
                              f"{fs.skipped[0][0]}: {fs.skipped[0][1]}" if fs.skipped else None)
        if counts[i] < 2:
            raise ArtkitError(f"label '{lab}' has only 1 readable image; cross-validation needs "
                              "at least 2 per label", "add images to it")
    seen: dict[str, Path] = {}
    duplicates = []
    for p, h in zip(fs.paths, fs.hashes):
        if h in seen and label_of[seen[h]] != label_of[p]:
            duplicates.append([str(seen[h]), str(p)])
        seen.setdefault(h, p)
    if not distributed.active().is_main:
        return None
    rep = cross_validate(fs.features, y, labels, folds=folds, seed=seed, grid=grid,
                         progress=progress)
    C, _ = choose_C(fs.features, y, len(labels), grid, 3, seed)
    head = fit_logistic(fs.features, y, len(labels), C)
    rep.update(backbone=backbone, labels=labels, C=C,
               skipped=[[str(p), why] for p, why in fs.skipped], duplicates=duplicates)
    if duplicates:
        rep["notes"].append(f"{len(duplicates)} image(s) appear under two labels (same bytes); "
                            "they make the labels ambiguous and leak across folds")
    return Classifier(labels, backbone, head, rep, head_pattern(head, fs.features),
                      device=resolve_device(device))


def head_pattern(head: LogisticHead, features: torch.Tensor) -> torch.Tensor:
    """The head's linear PatternNet pattern (K, D) on raw features, from the training rows."""
    w = (head.weight / head.scale[:, None]).T.float()  # (K, D) on raw features
    linear = torch.nn.Linear(w.shape[1], w.shape[0], bias=False)
    with torch.no_grad():
        linear.weight.copy_(w)
    return fit_patterns(linear, [features.float()], estimator="linear").linear[""]


# --------------------------------------------------------------------------------- robustness


@dataclass(kw_only=True)
class Robustness(Evaluation):
    """Accuracy clean, under uniform noise, FGSM and PGD (see :func:`robustness`).

    Attributes:
        figures: :func:`artkit.classify.robustness.evaluate_robustness`'s dict plus ``labels``,
            ``counts`` and ``skipped``.
    """

    figures: dict = field(default_factory=dict)

    def __getitem__(self, key: str):
        return self.figures[key]

    def to_dict(self) -> dict:
        return {**self.figures, "seconds": self.seconds, "weights": dict(self.weights)}


def robustness(data_dir: str | os.PathLike, classifier: "Classifier",
               eps: Iterable[float] = (1, 2, 4), steps: int = 10, *,
               generator: torch.Generator | None = None, batch_size: int = 16,
               progress: ProgressCallback | None = None) -> Robustness:
    """Accuracy of ``classifier`` on ``data_dir/<label>/<image>``: clean, under uniform noise,
    FGSM and PGD, each of L∞ size ε/255, through backbone, standardisation and head (on the
    classifier's device).

    Args:
        data_dir: one sub-folder per label; every folder must be one of the model's labels.
        classifier: a trained or loaded :class:`Classifier`.
        eps: radii in grey levels (units of 1/255).
        steps: PGD steps (of size ε/255/4, from a random start).
        generator: source of the noise and PGD's random starts (default: seeded with 0).
        batch_size: images per forward / backward pass.
        progress: optional callback (tasks ``"images"`` and ``"robustness"``).

    Raises:
        ArtkitError: bad folder layout, a folder that is not one of the model's labels, no
            readable image, or a bad ε / steps.
    """
    eps = [float(e) for e in eps]
    if not eps or any(not e >= 0 for e in eps):
        raise ArtkitError(f"--eps must be non-negative grey levels, got {eps}",
                          "e.g. --eps 1,2,4")
    if steps < 0:
        raise ArtkitError(f"--steps must be at least 0, got {steps}")
    labels, files = scan_dataset(data_dir)
    unknown = [lab for lab in labels if lab not in classifier.labels]
    if unknown:
        raise ArtkitError(f"label folder(s) {', '.join(repr(u) for u in unknown)} are not labels "
                          f"of the model (it knows {', '.join(repr(m) for m in classifier.labels)})",
                          "name the sub-folders after the model's labels")
    spec = check_backbone(classifier.backbone)
    dev = classifier.device
    timer = Timer().__enter__()
    images, targets, skipped = [], [], []
    items = [(p, classifier.labels.index(lab)) for lab in labels for p in files[lab]]
    for p, target in track(items, progress, "images"):
        try:
            images.append(nets.preprocess_pil(load_image(p), size=spec["size"]))  # (1, 3, S, S)
        except ArtkitError as exc:
            skipped.append([str(p), exc.message])
            continue
        targets.append(target)
    if not images:
        raise ArtkitError(f"no readable images in '{data_dir}'")
    x = torch.cat(images).to(dev)  # (N, 3, S, S)
    y = torch.tensor(targets, dtype=torch.long, device=dev)  # (N,)
    model = classifier.network()
    out = evaluate_robustness(model, x, y, eps, steps, default_generator(generator),
                              batch_size=batch_size, progress=progress)
    counts = torch.bincount(y.cpu(), minlength=len(classifier.labels)).tolist()
    out.update(labels=list(classifier.labels),
               counts={lab: int(c) for lab, c in zip(classifier.labels, counts)},
               skipped=skipped)
    timer.__exit__()
    return Robustness(figures=out, seconds=timer.seconds, weights=dict(classifier.weights))


# --------------------------------------------------------------------------------- zero-shot


@dataclass(kw_only=True)
class ImagenetPredictions(Result):
    """Zero-shot answers: ``items`` (:class:`ImagenetPrediction`) and ``skipped``."""

    items: list = field(default_factory=list)
    skipped: list = field(default_factory=list)


class ImagenetClassifier:
    """EfficientNet-Lite0 with its ImageNet head, loaded once; :meth:`predict` many times.

    Args:
        device: where to run.
    """

    def __init__(self, *, device: str | torch.device = "auto"):
        self.device = resolve_device(device)
        with recording() as used:
            self.model = nets.load_efficientnet(self.device)
        self.weights = dict(used)
        self.names = class_names()

    def predict(self, paths: Iterable[str | Path], k: int = 5, *,
                progress: ProgressCallback | None = None) -> ImagenetPredictions:
        """The top-``k`` ImageNet classes of image files (folders expanded)."""
        if not 1 <= k <= 1000:
            raise ArtkitError(f"--top must be in 1..1000, got {k}")
        files = image_files(paths)
        out, skipped = [], []
        with Timer() as timer, torch.inference_mode():
            for p in track(files, progress, "imagenet"):
                try:
                    x = nets.preprocess_pil(load_image(p), size=224).to(self.device)  # (1, 3, 224, 224)
                except ArtkitError as exc:
                    skipped.append((p, exc.message))
                    continue
                probs = torch.softmax(self.model(x).float(), dim=1)[0].cpu()  # (1000,)
                values, indices = probs.topk(k)
                top = [(int(i), self.names[int(i)], float(v)) for v, i in zip(values, indices)]
                out.append(ImagenetPrediction(
                    p, top, float(probs[DOG_CLASSES.start:DOG_CLASSES.stop].sum()),
                    float(probs[CAT_CLASSES.start:CAT_CLASSES.stop].sum())))
        record_all(self.weights)
        return ImagenetPredictions(items=out, skipped=skipped, seconds=timer.seconds,
                                   weights=dict(self.weights))


def imagenet(paths: Iterable[str | Path], k: int = 5, *, device: str | torch.device = "auto",
             progress: ProgressCallback | None = None) -> ImagenetPredictions:
    """Zero-shot ImageNet top-``k`` classes of image files with EfficientNet-Lite0, in one call."""
    return ImagenetClassifier(device=device).predict(paths, k, progress=progress)


__all__ = ["Classifier", "ImagenetClassifier", "ImagenetPrediction", "ImagenetPredictions",
           "Prediction", "Predictions", "Robustness", "imagenet", "predict", "robustness",
           "scan_dataset", "train"]
