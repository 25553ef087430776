"""An honest estimate of how well the head works: nested stratified k-fold cross-validation.

Every outer fold chooses C by an inner cross-validation on its own training rows only, fits the
head there and predicts the held-out rows, so no figure is computed on rows that helped fit or
tune the model. Reported against the ZeroR baseline (always answer the training fold's most
frequent class), with per-class precision / recall, the confusion matrix and the expected
calibration error (10 equal-width confidence bins) of the pooled out-of-fold predictions.
"""

from __future__ import annotations

import numpy as np
import torch

from artkit.classify.head import C_GRID, choose_C, fit_logistic, stratified_folds
from artkit.core.progress import ProgressCallback, report


def confusion(y_true: np.ndarray, y_pred: np.ndarray, n_classes: int) -> np.ndarray:
    """(K, K) counts; row = true class, column = predicted class."""
    m = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(m, (y_true, y_pred), 1)
    return m


def precision_recall(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-class precision and recall from a confusion matrix (0 where undefined)."""
    tp = np.diag(matrix).astype(np.float64)
    predicted = matrix.sum(0)
    actual = matrix.sum(1)
    precision = np.divide(tp, predicted, out=np.zeros_like(tp), where=predicted > 0)
    recall = np.divide(tp, actual, out=np.zeros_like(tp), where=actual > 0)
    return precision, recall


def reliability(probs: np.ndarray, y_true: np.ndarray, bins: int = 10) -> list[dict]:
    """Per confidence bin: its edges, how many predictions fall in it, their mean confidence
    and their accuracy (``None`` for an empty bin). The data of a reliability diagram.

    Args:
        probs: (N, K) predicted probabilities.
        y_true: (N,) true classes.
        bins: number of equal-width bins over [0, 1]; bin b holds confidences in
            (b/bins, (b+1)/bins] (confidence 0 goes to bin 0).
    """
    conf = probs.max(1)
    correct = (probs.argmax(1) == y_true).astype(np.float64)
    idx = np.clip(np.ceil(conf * bins).astype(np.int64) - 1, 0, bins - 1)
    out = []
    for b in range(bins):
        mask = idx == b
        n = int(mask.sum())
        out.append({"lo": b / bins, "hi": (b + 1) / bins, "count": n,
                    "confidence": float(conf[mask].mean()) if n else None,
                    "accuracy": float(correct[mask].mean()) if n else None})
    return out


def expected_calibration_error(probs: np.ndarray, y_true: np.ndarray, bins: int = 10) -> float:
    """ECE: the bin-size-weighted mean |accuracy - confidence| over equal-width confidence bins.

    Args:
        probs: (N, K) predicted probabilities.
        y_true: (N,) true classes.
        bins: number of bins over [0, 1].
    """
    conf = probs.max(1)
    correct = (probs.argmax(1) == y_true).astype(np.float64)
    # bin b holds confidences in (b/bins, (b+1)/bins]; confidence 0 goes to bin 0
    idx = np.clip(np.ceil(conf * bins).astype(np.int64) - 1, 0, bins - 1)
    ece = 0.0
    for b in range(bins):
        mask = idx == b
        if mask.any():
            ece += mask.mean() * abs(correct[mask].mean() - conf[mask].mean())
    return float(ece)


def cross_validate(features: torch.Tensor, y: np.ndarray, labels: list[str], *, folds: int = 5,
                   seed: int = 0, grid=C_GRID, inner_folds: int = 3,
                   progress: ProgressCallback | None = None) -> dict:
    """Nested stratified k-fold evaluation of the head on ``features``.

    Args:
        features: (N, D) features.
        y: (N,) integer labels indexing ``labels``.
        labels: class names.
        folds: outer folds (lowered to the smallest class's size when that is smaller).
        seed: seeds the fold assignment.
        grid: the C values the inner CV chooses from.
        inner_folds: folds of the inner CV.
        progress: optional callback (task ``"cross-validation"``).

    Returns:
        A JSON-ready dict: accuracy (mean, std, pooled, per fold), zeror (accuracy = the
        majority class rate, and its cross-validated mean / std / pooled figures), per_class
        precision / recall / support, confusion, ece, reliability (see :func:`reliability`),
        chosen C per fold and notes.
    """
    k = len(labels)
    n = len(y)
    counts = np.bincount(y, minlength=k)
    notes: list[str] = []
    n_folds = int(min(folds, counts.min()))
    if n_folds < folds:
        notes.append(f"folds lowered from {folds} to {n_folds}: the smallest class has "
                     f"{counts.min()} images")
    x = torch.as_tensor(np.asarray(features), dtype=torch.float64)
    probs = np.zeros((n, k))
    zeror_pred = np.zeros(n, dtype=np.int64)
    fold_acc, fold_zeror, chosen = [], [], []
    splits = stratified_folds(y, n_folds, seed)
    report(progress, "cross-validation", 0, n_folds)
    for f, test in enumerate(splits):
        train = np.setdiff1d(np.arange(n), test)
        C, _ = choose_C(x[train], y[train], k, grid, inner_folds, seed + 1 + f)
        head = fit_logistic(x[train], y[train], k, C)
        p = head.predict_proba(x[test]).numpy()
        probs[test] = p
        majority = int(np.bincount(y[train], minlength=k).argmax())
        zeror_pred[test] = majority
        fold_acc.append(float((p.argmax(1) == y[test]).mean()))
        fold_zeror.append(float((y[test] == majority).mean()))
        chosen.append(C)
        report(progress, "cross-validation", f + 1, n_folds, acc=fold_acc[-1])
    pred = probs.argmax(1)
    matrix = confusion(y, pred, k)
    precision, recall = precision_recall(matrix)
    return {
        "n_images": int(n),
        "folds": n_folds,
        "seed": seed,
        "accuracy": {"mean": float(np.mean(fold_acc)), "std": float(np.std(fold_acc)),
                     "pooled": float((pred == y).mean()), "per_fold": fold_acc},
        # ZeroR's accuracy is the majority class rate. Its cross-validated figures are kept too,
        # but on balanced data they fall below it (each training fold's majority is the class
        # its test fold has fewer of), so they flatter the model and are not the headline.
        "zeror": {"accuracy": float(counts.max() / n),
                  "majority_label": labels[int(counts.argmax())],
                  "cv_mean": float(np.mean(fold_zeror)), "cv_std": float(np.std(fold_zeror)),
                  "cv_pooled": float((zeror_pred == y).mean())},
        "per_class": {labels[c]: {"precision": float(precision[c]), "recall": float(recall[c]),
                                  "support": int(counts[c])} for c in range(k)},
        "confusion": {"labels": list(labels), "matrix": matrix.tolist()},
        "ece": expected_calibration_error(probs, y, 10),
        "reliability": reliability(probs, y, 10),
        "C_per_fold": chosen,
        "notes": notes,
    }
