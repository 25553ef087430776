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

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

import numpy as np
import torch

from artkit.classify.features import (IMAGE_SUFFIXES, check_backbone, extract_features,
                                      image_files)
from artkit.classify.head import C_GRID, LogisticHead, choose_C, fit_logistic
from artkit.classify.report import cross_validate
from artkit.core.errors import ArtkitError
from artkit.core.progress import ProgressCallback

FORMAT = "artkit-classifier"
FORMAT_VERSION = 1
_META_KEY = "artkit_classifier"


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
        from artkit.nets.imagenet import CAT_CLASSES, DOG_CLASSES

        classes = {"dog": DOG_CLASSES, "cat": CAT_CLASSES}[group]
        return self.top[0][0] in classes or getattr(self, group) >= 0.5


@dataclass
class Classifier:
    """A trained head on a named backbone, with its cross-validation report.

    Args:
        labels: class names, index order.
        backbone: the feature network's name.
        head: the fitted logistic regression.
        report: the cross-validation report (see :func:`artkit.classify.report.cross_validate`)
            plus ``skipped`` files and ``duplicates``.
        pattern: (K, D) PatternNet pattern of the head on raw features, learned from the
            training features (for ``predict --explain``); None in models saved without it.
    """

    labels: list[str]
    backbone: str
    head: LogisticHead
    report: dict = field(default_factory=dict)
    pattern: torch.Tensor | None = None

    def predict_features(self, features: torch.Tensor) -> torch.Tensor:
        """(N, D) features -> (N, K) probabilities."""
        return self.head.predict_proba(features)

    def predict(self, paths: Iterable[str | Path], *, device: str | torch.device = "cpu",
                progress: ProgressCallback | None = None) -> tuple[list[Prediction], list]:
        """Classify image files (folders are expanded).

        Returns:
            The predictions of the readable images and ``(path, reason)`` of the skipped ones.
        """
        fs = extract_features(image_files(paths), self.backbone, device=device, progress=progress)
        probs = self.predict_features(fs.features) if len(fs.paths) else torch.zeros(0, 0)
        out = [Prediction(p, self.labels[int(row.argmax())],
                          {lab: float(v) for lab, v in zip(self.labels, row)})
               for p, row in zip(fs.paths, probs)]
        return out, fs.skipped

    # ----------------------------------------------------------------------------- files

    def save(self, path: str | os.PathLike, force: bool = True) -> Path:
        """Write the head as safetensors with the labels, backbone and report as JSON metadata."""
        from safetensors.torch import save_file

        from artkit.core.files import atomic_path

        tensors = {"weight": self.head.weight, "bias": self.head.bias, "mean": self.head.mean,
                   "scale": self.head.scale}
        if self.pattern is not None:
            tensors["pattern"] = self.pattern.float()
        meta = {"format": FORMAT, "version": FORMAT_VERSION, "labels": self.labels,
                "backbone": self.backbone, "C": self.head.C, "report": self.report}
        with atomic_path(path, force) as tmp:
            save_file({k: v.contiguous() for k, v in tensors.items()}, str(tmp),
                      metadata={_META_KEY: json.dumps(meta)})
        return Path(path)

    @classmethod
    def load(cls, path: str | os.PathLike, backbone: str | None = None) -> "Classifier":
        """Read a classifier written by :meth:`save`.

        Args:
            path: the ``.safetensors`` file.
            backbone: if given, the backbone the caller will use; a model of another one fails.

        Raises:
            ArtkitError: the file is missing, not an artkit classifier, damaged, or built on a
                different or unknown backbone.
        """
        from safetensors import SafetensorError, safe_open

        path = Path(path)
        if not path.is_file():
            raise ArtkitError(f"model '{path}' does not exist")
        not_one = ArtkitError(f"'{path}' is not an artkit classifier",
                              "train one with `artkit classify train DATA_DIR -o MODEL.safetensors`")
        try:
            with safe_open(str(path), framework="pt") as f:
                meta_text = (f.metadata() or {}).get(_META_KEY)
                tensors = {k: f.get_tensor(k) for k in f.keys()}
        except (SafetensorError, OSError, ValueError, RuntimeError):
            raise not_one from None
        try:
            meta = json.loads(meta_text or "")
            labels = [str(v) for v in meta["labels"]]
            model_backbone = str(meta["backbone"])
            ok = meta.get("format") == FORMAT and all(
                k in tensors for k in ("weight", "bias", "mean", "scale"))
        except (ValueError, KeyError, TypeError):
            raise not_one from None
        if not ok:
            raise not_one
        if backbone is not None and model_backbone != backbone:
            raise ArtkitError(f"model '{path}' was trained on backbone '{model_backbone}', "
                              f"not '{backbone}'", "retrain it or use the matching backbone")
        check_backbone(model_backbone)
        w = tensors["weight"].double()
        dim = check_backbone(model_backbone)["dim"]
        if tuple(w.shape) != (dim, len(labels)):
            raise ArtkitError(f"model '{path}' has a {tuple(w.shape)} head, expected "
                              f"({dim}, {len(labels)}) for '{model_backbone}'",
                              "the file is damaged: retrain it")
        head = LogisticHead(w, tensors["bias"].double(), tensors["mean"].double(),
                            tensors["scale"].double(), float(meta.get("C", 1.0)))
        pattern = tensors.get("pattern")
        if pattern is not None and tuple(pattern.shape) != (len(labels), dim):
            raise ArtkitError(f"model '{path}' has a {tuple(pattern.shape)} head pattern, expected "
                              f"({len(labels)}, {dim})", "the file is damaged: retrain it")
        return cls(labels, model_backbone, head, dict(meta.get("report") or {}), pattern)


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
          device: str | torch.device = "cpu", grid=C_GRID) -> Classifier:
    """Train a classifier on ``data_dir/<label>/<image>`` and cross-validate it.

    Args:
        data_dir: one sub-folder per label (at least two, none empty).
        backbone: feature network (see :data:`artkit.classify.features.BACKBONES`).
        folds: outer cross-validation folds (at least 2).
        seed: seeds the fold assignment.
        progress: optional progress callback.
        device: where to compute features.
        grid: C values for the inner cross-validation.

    Returns:
        The classifier fitted on every readable image; ``report`` holds the cross-validation
        figures, the ``skipped`` files and ``duplicates`` (same bytes under different labels).

    Raises:
        ArtkitError: bad folder layout, fewer than 2 usable labels, or fewer than 2 folds.
    """
    check_backbone(backbone)
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
    rep = cross_validate(fs.features, y, labels, folds=folds, seed=seed, grid=grid,
                         progress=progress)
    C, _ = choose_C(fs.features, y, len(labels), grid, 3, seed)
    head = fit_logistic(fs.features, y, len(labels), C)
    rep.update(backbone=backbone, labels=labels, C=C,
               skipped=[[str(p), why] for p, why in fs.skipped], duplicates=duplicates)
    if duplicates:
        rep["notes"].append(f"{len(duplicates)} image(s) appear under two labels (same bytes); "
                            "they make the labels ambiguous and leak across folds")
    return Classifier(labels, backbone, head, rep, head_pattern(head, fs.features))


def head_pattern(head: LogisticHead, features: torch.Tensor) -> torch.Tensor:
    """The head's linear PatternNet pattern (K, D) on raw features, from the training rows."""
    from artkit.explain import fit_patterns

    w = (head.weight / head.scale[:, None]).T.float()  # (K, D) on raw features
    linear = torch.nn.Linear(w.shape[1], w.shape[0], bias=False)
    with torch.no_grad():
        linear.weight.copy_(w)
    return fit_patterns(linear, [features.float()], estimator="linear").linear[""]


# --------------------------------------------------------------------------------- robustness


def robustness(data_dir: str | os.PathLike, classifier: "Classifier",
               eps: Iterable[float] = (1, 2, 4), steps: int = 10, *, generator: torch.Generator | None = None,
               device: str | torch.device = "cpu", batch_size: int = 16,
               progress: ProgressCallback | None = None) -> dict:
    """Accuracy of ``classifier`` on ``data_dir/<label>/<image>``: clean, under uniform noise,
    FGSM and PGD, each of L∞ size ε/255, through backbone, standardisation and head.

    Args:
        data_dir: one sub-folder per label; every folder must be one of the model's labels.
        classifier: a trained :class:`Classifier`.
        eps: radii in grey levels (units of 1/255).
        steps: PGD steps (of size ε/255/4, from a random start).
        generator: source of the noise and PGD's random starts.
        device: where to run the network.
        batch_size: images per forward / backward pass.
        progress: optional callback (tasks ``"images"`` and ``"robustness"``).

    Returns:
        :func:`artkit.classify.robustness.evaluate_robustness`'s dict plus ``labels``,
        ``counts`` (images per label) and ``skipped`` (``[path, reason]``).

    Raises:
        ArtkitError: bad folder layout, a folder that is not one of the model's labels, no
            readable image, or a bad ε / steps.
    """
    from artkit import nets
    from artkit.classify.robustness import ClassifierModel, evaluate_robustness
    from artkit.core.images import load_image
    from artkit.core.progress import track
    from artkit.core.runtime import resolve_device

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
    dev = resolve_device(device)
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
    model = ClassifierModel(nets.load_efficientnet(dev), classifier.head).to(dev).eval()
    out = evaluate_robustness(model, x, y, eps, steps, generator, batch_size=batch_size,
                              progress=progress)
    counts = torch.bincount(y.cpu(), minlength=len(classifier.labels)).tolist()
    out.update(labels=list(classifier.labels),
               counts={lab: int(c) for lab, c in zip(classifier.labels, counts)},
               skipped=skipped)
    return out


# --------------------------------------------------------------------------------- zero-shot


def imagenet(paths: Iterable[str | Path], k: int = 5, *, device: str | torch.device = "cpu",
             progress: ProgressCallback | None = None) -> tuple[list[ImagenetPrediction], list]:
    """Zero-shot ImageNet top-``k`` classes of image files with EfficientNet-Lite0.

    Returns:
        Predictions of the readable images and ``(path, reason)`` of the skipped ones.
    """
    from artkit import nets
    from artkit.core.images import load_image
    from artkit.core.progress import track
    from artkit.core.runtime import resolve_device
    from artkit.nets.imagenet import CAT_CLASSES, DOG_CLASSES

    if not 1 <= k <= 1000:
        raise ArtkitError(f"--top must be in 1..1000, got {k}")
    files = image_files(paths)
    dev = resolve_device(device)
    model = nets.load_efficientnet(dev)
    names = nets.class_names()
    out, skipped = [], []
    with torch.inference_mode():
        for p in track(files, progress, "imagenet"):
            try:
                x = nets.preprocess_pil(load_image(p), size=224).to(dev)  # (1, 3, 224, 224)
            except ArtkitError as exc:
                skipped.append((p, exc.message))
                continue
            probs = torch.softmax(model(x).float(), dim=1)[0].cpu()  # (1000,)
            values, indices = probs.topk(k)
            top = [(int(i), names[int(i)], float(v)) for v, i in zip(values, indices)]
            out.append(ImagenetPrediction(
                p, top, float(probs[DOG_CLASSES.start:DOG_CLASSES.stop].sum()),
                float(probs[CAT_CLASSES.start:CAT_CLASSES.stop].sum())))
    return out, skipped


__all__ = ["Classifier", "ImagenetPrediction", "Prediction", "IMAGE_SUFFIXES", "imagenet",
           "robustness", "scan_dataset", "train"]
