"""The classifier head: L2-regularised multinomial logistic regression, fitted with L-BFGS.

Features are standardised (mean 0, std 1 per dimension, from the training rows), then
``softmax(x W + b)`` is fitted in float64 by minimising

    sum_i w_i * CE_i / sum_i w_i  +  ||W||^2 / (2 * C * n)

which is scikit-learn's ``LogisticRegression(C=C)`` objective divided by ``C * n``, with
per-sample weights ``w_i`` (balanced class weights: ``n / (k * count(class))``) so that a small
class counts as much as a large one. The bias is not penalised.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

C_GRID = (0.01, 0.1, 1.0, 10.0)


@dataclass
class LogisticHead:
    """A fitted head.

    Args:
        weight: (D, K) float64 weights on standardised features.
        bias: (K,) float64 biases.
        mean: (D,) feature means of the training rows.
        scale: (D,) feature standard deviations (1 where a feature is constant).
        C: the inverse regularisation strength it was fitted with.
    """

    weight: torch.Tensor
    bias: torch.Tensor
    mean: torch.Tensor
    scale: torch.Tensor
    C: float

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        """(N, D) features -> (N, K) float64 logits."""
        z = (x.double() - self.mean) / self.scale  # (N, D)
        return z @ self.weight + self.bias  # (N, K)

    def predict_proba(self, x: torch.Tensor) -> torch.Tensor:
        """(N, D) features -> (N, K) class probabilities."""
        return torch.softmax(self.logits(x), dim=1)


def balanced_weights(y: np.ndarray, n_classes: int) -> np.ndarray:
    """Per-sample weights ``n / (k * count(class))`` (scikit-learn's ``"balanced"``)."""
    counts = np.bincount(y, minlength=n_classes).astype(np.float64)
    present = counts > 0
    per_class = np.zeros(n_classes)
    per_class[present] = len(y) / (present.sum() * counts[present])
    return per_class[y]


@dataclass
class Prepared:
    """Standardised training features in the coordinates of their row space (see fit_logistic)."""

    mean: torch.Tensor   # (D,)
    scale: torch.Tensor  # (D,)
    basis: torch.Tensor  # (D, r) orthonormal basis of the rows' span
    reduced: torch.Tensor  # (N, r) standardised rows in that basis


def prepare(x: torch.Tensor | np.ndarray) -> Prepared:
    """Standardise ``x`` and find an orthonormal basis of its row space.

    The basis comes from the eigen-decomposition of the smaller Gram matrix (N×N when N ≤ D,
    else D×D), about twice as fast as an SVD of the rows and the same up to rounding.
    """
    x = torch.as_tensor(np.asarray(x), dtype=torch.float64)  # (N, D)
    n, d = x.shape
    mean = x.mean(0)
    scale = x.std(0, unbiased=False)
    scale = torch.where(scale > 1e-12, scale, torch.ones_like(scale))
    z = (x - mean) / scale  # (N, D)
    if n <= d:
        evals, u = torch.linalg.eigh(z @ z.T)  # z zᵀ = U S² Uᵀ
        keep = evals > max(float(evals.max()), 1e-300) * 1e-12
        sing = evals[keep].sqrt()
        basis = (z.T @ u[:, keep]) / sing  # V = zᵀ U S⁻¹, (D, r)
        reduced = u[:, keep] * sing  # z V = U S, (N, r)
    else:
        evals, v = torch.linalg.eigh(z.T @ z)
        keep = evals > max(float(evals.max()), 1e-300) * 1e-12
        basis = v[:, keep]
        reduced = z @ basis
    return Prepared(mean, scale, basis, reduced)


def fit_logistic(x: torch.Tensor | np.ndarray, y: np.ndarray, n_classes: int, C: float = 1.0,
                 *, balanced: bool = True, max_iter: int = 200,
                 prepared: Prepared | None = None) -> LogisticHead:
    """Fit the head on features ``x`` (N, D) and integer labels ``y`` (N,).

    Args:
        x: training features.
        y: labels in ``0 ... n_classes - 1``.
        n_classes: number of classes K (a class may be absent from ``y``).
        C: inverse L2 strength; larger fits the training rows more closely.
        balanced: weight samples so that every class has the same total weight.
        max_iter: L-BFGS iterations at most.
        prepared: :func:`prepare` of ``x``, to share between fits of several C values.
    """
    # The optimal W lies in the row space of the standardised rows z (the penalty is a plain L2
    # norm), so fit in the coordinates of an orthonormal basis V of that space: W = V theta,
    # ||W|| = ||theta||. Exact, and with N < D far fewer unknowns, better conditioned.
    prep = prepared if prepared is not None else prepare(x)
    mean, scale, basis, zr = prep.mean, prep.scale, prep.basis, prep.reduced
    n = zr.shape[0]
    rank = basis.shape[1]
    target = torch.as_tensor(y, dtype=torch.long)
    sw = torch.as_tensor(balanced_weights(y, n_classes) if balanced else np.ones(n),
                         dtype=torch.float64)
    sw = sw / sw.sum()
    lam = 1.0 / (C * n)
    weight = torch.zeros(rank, n_classes, dtype=torch.float64, requires_grad=True)
    bias = torch.zeros(n_classes, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([weight, bias], lr=1.0, max_iter=max_iter, tolerance_grad=1e-9,
                            tolerance_change=1e-12, history_size=20,
                            line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        opt.zero_grad()
        logp = torch.log_softmax(zr @ weight + bias, dim=1)  # (N, K)
        nll = -(sw * logp.gather(1, target[:, None])[:, 0]).sum()
        loss = nll + 0.5 * lam * (weight * weight).sum()
        loss.backward()
        return loss

    with torch.enable_grad():
        opt.step(closure)
    return LogisticHead(basis @ weight.detach(), bias.detach(), mean, scale, float(C))


def stratified_folds(y: np.ndarray, k: int, seed: int = 0) -> list[np.ndarray]:
    """Split indices into ``k`` folds with (nearly) the class proportions of ``y``.

    Each class's indices are shuffled, the classes are laid end to end, and the sequence is
    dealt round-robin onto the folds, so fold sizes differ by at most one.

    Returns:
        ``k`` arrays of test indices (every index in exactly one).
    """
    rng = np.random.default_rng(seed)
    order = np.concatenate([rng.permutation(np.flatnonzero(y == c)) for c in np.unique(y)])
    fold_of = np.empty(len(y), dtype=np.int64)
    fold_of[order] = np.arange(len(y)) % k
    return [np.flatnonzero(fold_of == f) for f in range(k)]


def choose_C(x: torch.Tensor, y: np.ndarray, n_classes: int, grid=C_GRID, folds: int = 3,
             seed: int = 0) -> tuple[float, dict[float, float]]:
    """Pick C from ``grid`` by inner stratified cross-validation on held-out log-loss.

    Falls back to C = 1 when a class has fewer rows than two folds need.

    Returns:
        The chosen C and ``{C: mean held-out log-loss}``.
    """
    counts = np.bincount(y, minlength=n_classes)
    k = int(min(folds, counts[counts > 0].min()))
    if k < 2 or len(grid) == 1:
        return (1.0 if 1.0 in grid or not grid else float(grid[0])), {}
    x = torch.as_tensor(np.asarray(x), dtype=torch.float64)
    splits = stratified_folds(y, k, seed)
    losses: dict[float, list[float]] = {float(C): [] for C in grid}
    for test in splits:
        train = np.setdiff1d(np.arange(len(y)), test)
        prep = prepare(x[train])  # shared by every C of this fold
        w = balanced_weights(y[test], n_classes)
        for C in grid:
            head = fit_logistic(x[train], y[train], n_classes, C, prepared=prep)
            p = head.predict_proba(x[test]).clamp_min(1e-12)
            ll = -np.log(p[np.arange(len(test)), y[test]].numpy())
            losses[float(C)].append(float((w * ll).sum() / w.sum()))
    scores = {C: float(np.mean(v)) for C, v in losses.items()}
    best = min(scores, key=lambda c: (scores[c], -c))
    return best, scores
