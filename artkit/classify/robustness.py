"""How much an "imperceptible noise filter" changes a classifier's answers, measured.

DeepDoggo joked that a filter of invisible noise turns a bad dog good. This module makes that
measurable: the accuracy of a differentiable ``model(x01) -> logits`` on clean images, under
uniform random noise, and under the two standard L∞ attacks — FGSM (one signed-gradient step,
Goodfellow et al. 2015) and PGD (projected signed-gradient ascent from a random start, Madry
et al. 2018) — each within an L∞ ball of radius ε around the image and inside [0, 1].

Everything here is a pure function of a model callable, images and a ``torch.Generator``, so
any ``nn.Module`` (or a tiny linear model in the tests) can be attacked; the whole artkit
classifier is one such network (:class:`artkit.nets.classifier.FeatureClassifier`).
"""

from __future__ import annotations

from typing import Callable, Sequence

import torch
import torch.nn.functional as F

from artkit.core.errors import ArtkitError
from artkit.core.progress import ProgressCallback, report

Model = Callable[[torch.Tensor], torch.Tensor]  # (B, C, H, W) images in [0, 1] -> (B, K) logits


def _uniform(shape, low: float, high: float, generator: torch.Generator | None,
             device: torch.device) -> torch.Tensor:
    """Uniform samples in [low, high), drawn on the generator's device, then moved."""
    gdev = generator.device if generator is not None else device
    u = torch.rand(shape, generator=generator, device=gdev)
    return (low + (high - low) * u).to(device)


def _input_gradient(model: Model, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Gradient of the summed cross-entropy loss with respect to the images ``x``."""
    with torch.enable_grad():
        x = x.detach().clone().requires_grad_(True)
        loss = F.cross_entropy(model(x).float(), y, reduction="sum")
        (grad,) = torch.autograd.grad(loss, x)
    return grad  # (B, C, H, W)


def _check_eps(eps: float) -> None:
    if not eps >= 0:
        raise ArtkitError(f"ε must be non-negative, got {eps}")


def uniform_noise(x: torch.Tensor, eps: float,
                  generator: torch.Generator | None = None) -> torch.Tensor:
    """``x`` plus independent uniform noise in [-ε, ε] per pixel, clamped to [0, 1].

    Args:
        x: (B, C, H, W) images in [0, 1].
        eps: the L∞ radius, in the images' units (1/255 is one grey level).
        generator: source of the noise.
    """
    _check_eps(eps)
    noise = _uniform(x.shape, -eps, eps, generator, x.device)
    return (x + noise).clamp(0.0, 1.0)


def fgsm(model: Model, x: torch.Tensor, y: torch.Tensor, eps: float) -> torch.Tensor:
    """Fast gradient sign method: one step of size ε along the sign of the loss gradient.

    Args:
        model: ``model(x01) -> (B, K)`` logits, differentiable in its input.
        x: (B, C, H, W) images in [0, 1].
        y: (B,) true classes.
        eps: the L∞ radius.

    Returns:
        (B, C, H, W) adversarial images: ``clamp(x + ε sign(∇ₓ loss), 0, 1)``.
    """
    _check_eps(eps)
    grad = _input_gradient(model, x, y)
    return (x + eps * grad.sign()).clamp(0.0, 1.0).detach()


def pgd(model: Model, x: torch.Tensor, y: torch.Tensor, eps: float, steps: int = 10,
        generator: torch.Generator | None = None, step_size: float | None = None) -> torch.Tensor:
    """Projected gradient descent (ascent on the loss) in the L∞ ball of radius ε.

    Starts at a uniformly random point of the ball, then ``steps`` times: a step of
    ``step_size`` (default ε/4) along the sign of the loss gradient, projection back into the
    ball around ``x``, and clamping to [0, 1].

    Args:
        model: ``model(x01) -> (B, K)`` logits, differentiable in its input.
        x: (B, C, H, W) images in [0, 1].
        y: (B,) true classes.
        eps: the L∞ radius.
        steps: number of gradient steps (0 leaves only the random start).
        generator: source of the random start.
        step_size: the size of each step; ε/4 when ``None``.

    Returns:
        (B, C, H, W) adversarial images within ε of ``x`` and inside [0, 1].
    """
    _check_eps(eps)
    if steps < 0:
        raise ArtkitError(f"--steps must be at least 0, got {steps}")
    alpha = eps / 4 if step_size is None else step_size
    x = x.detach()
    lo, hi = (x - eps).clamp(0.0, 1.0), (x + eps).clamp(0.0, 1.0)
    adv = uniform_noise(x, eps, generator)
    for _ in range(steps):
        grad = _input_gradient(model, adv, y)
        adv = torch.minimum(torch.maximum(adv + alpha * grad.sign(), lo), hi)
    return adv.detach()


@torch.no_grad()
def _correct(model: Model, x: torch.Tensor, y: torch.Tensor) -> int:
    return int((model(x).argmax(1) == y).sum())


def evaluate_robustness(model: Model, x: torch.Tensor, y: torch.Tensor, eps_list: Sequence[float],
                        steps: int = 10, generator: torch.Generator | None = None, *,
                        batch_size: int = 16,
                        progress: ProgressCallback | None = None) -> dict:
    """Accuracy of ``model`` on clean, noisy, FGSM- and PGD-attacked images, for each ε.

    Args:
        model: ``model(x01) -> (B, K)`` logits, differentiable in its input.
        x: (N, C, H, W) images in [0, 1].
        y: (N,) true classes.
        eps_list: radii **in grey levels** (units of 1/255), like the CLI's ``--eps 1,2,4``.
        steps: PGD steps (each of size ε/255/4).
        generator: source of the noise and of PGD's random starts.
        batch_size: images per forward / backward pass.
        progress: optional callback (task ``"robustness"``, one unit per batch and attack).

    Returns:
        A JSON-ready dict: ``n``, ``steps``, ``clean`` accuracy and ``eps``: one entry per ε with
        ``eps`` (grey levels), ``eps01`` (in [0, 1] units) and the ``noise``, ``fgsm`` and
        ``pgd`` accuracies.
    """
    n = int(x.shape[0])
    if n == 0:
        raise ArtkitError("no images to evaluate")
    for e in eps_list:
        _check_eps(e)
    batches = [(s, min(n, s + max(1, batch_size))) for s in range(0, n, max(1, batch_size))]
    total = len(batches) * (1 + 3 * len(eps_list))
    done = 0
    report(progress, "robustness", done, total)

    clean = 0
    for a, b in batches:
        clean += _correct(model, x[a:b], y[a:b])
        done += 1
        report(progress, "robustness", done, total)
    rows = []
    for e in eps_list:
        eps01 = float(e) / 255.0
        counts = {"noise": 0, "fgsm": 0, "pgd": 0}
        attacks = {
            "noise": lambda xb, yb: uniform_noise(xb, eps01, generator),
            "fgsm": lambda xb, yb: fgsm(model, xb, yb, eps01),
            "pgd": lambda xb, yb: pgd(model, xb, yb, eps01, steps, generator),
        }
        for name, attack in attacks.items():
            for a, b in batches:
                counts[name] += _correct(model, attack(x[a:b], y[a:b]), y[a:b])
                done += 1
                report(progress, "robustness", done, total, message=f"{name} ε={e:g}")
        rows.append({"eps": float(e), "eps01": eps01,
                     **{k: v / n for k, v in counts.items()}})
    return {"n": n, "steps": int(steps), "clean": clean / n, "eps": rows}
