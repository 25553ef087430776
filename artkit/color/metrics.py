"""Quality figures of a colourisation against the true colour photo.

* AuC (Zhang et al. 2016): the fraction of pixels whose ab error ‖ab − ab_true‖₂ is within a
  threshold, averaged over thresholds 0, 1, …, 150 (so 1.0 is perfect, and the gray image scores
  high on the many dull pixels of real photos).
* Class-rebalanced AuC: the same with every pixel weighted by the inverse frequency of its true
  ab bin (10-unit grid) in the evaluated set, so every colour counts equally and leaving a
  saturated colour out is punished.
* PSNR of the RGB images (peak 1).
* Colourfulness (Hasler & Süsstrunk 2003), reported as the ratio to the true photo's.
"""

from __future__ import annotations

import math

import torch

THRESHOLDS = torch.arange(0, 151, dtype=torch.float32)  # 0..150


def ab_errors(ab: torch.Tensor, ab_true: torch.Tensor) -> torch.Tensor:
    """(B, 2, H, W) predicted and true ab → (N,) per-pixel Euclidean errors."""
    return (ab - ab_true).pow(2).sum(dim=1).sqrt().reshape(-1)


def auc(errors: torch.Tensor, weights: torch.Tensor | None = None) -> float:
    """Area under the cumulative error curve over thresholds 0–150, in [0, 1].

    Args:
        errors: (N,) per-pixel ab errors.
        weights: optional (N,) pixel weights.
    """
    e = errors.double().reshape(-1)
    w = torch.ones_like(e) if weights is None else weights.double().reshape(-1)
    # e <= t for an integer t exactly when ceil(e) <= t: a weighted histogram of ceil(e)
    # summed cumulatively gives the curve at t = 0..150 without a (T, N) matrix.
    bucket = torch.ceil(e).clamp(max=len(THRESHOLDS)).long()
    hist = torch.bincount(bucket, weights=w, minlength=len(THRESHOLDS) + 1)
    curve = torch.cumsum(hist, dim=0)[: len(THRESHOLDS)] / w.sum()
    return float(curve.mean())


def bin_ids(ab_true: torch.Tensor, grid: float = 10.0) -> torch.Tensor:
    """(B, 2, H, W) ab → (N,) id of each pixel's 10×10 ab bin."""
    q = torch.round(ab_true / grid).clamp(-15, 15).long() + 15  # 31 bins per axis
    return (q[:, 0] * 31 + q[:, 1]).reshape(-1)


def rebalance_pixel_weights(ids: torch.Tensor) -> torch.Tensor:
    """Per-pixel weights ∝ 1 / frequency of the pixel's bin (each bin weighs the same in all)."""
    counts = torch.bincount(ids, minlength=31 * 31).float()
    return 1.0 / counts[ids]


def psnr(rgb: torch.Tensor, rgb_true: torch.Tensor) -> float:
    """PSNR in dB of RGB images in [0, 1]."""
    mse = float((rgb.clamp(0, 1) - rgb_true.clamp(0, 1)).pow(2).mean())
    return 99.0 if mse <= 1e-10 else 10.0 * math.log10(1.0 / mse)


def colourfulness(rgb: torch.Tensor) -> float:
    """Hasler & Süsstrunk's M of an RGB image (values in 0–255 units)."""
    x = rgb.clamp(0, 1) * 255.0
    r, g, b = x[:, 0], x[:, 1], x[:, 2]
    rg = r - g
    yb = 0.5 * (r + g) - b
    return float(torch.sqrt(rg.var(unbiased=False) + yb.var(unbiased=False))
                 + 0.3 * torch.sqrt(rg.mean() ** 2 + yb.mean() ** 2))
