"""The PatternNet paper's two evaluations: signal-estimator quality and image degradation.

**Signal-estimator quality.** For a neuron ``y = wᵀx`` and an estimator ``S``, the distractor
estimate is ``d = x − S(x)``. A good estimator leaves no trace of ``y`` in ``d``:
``ρ(S) = 1 − max_v corr(y, vᵀd)``, with ``v`` fitted by least squares of ``y`` on ``d``. We fit
``v`` on one half of held-out rows and measure the correlation on the other half (fitting and
measuring on the same rows lets ``v`` overfit when the patch is wide). Estimators: ``S_w``
(``w wᵀx / wᵀw``), ``S_a`` (linear pattern), ``S_a+-`` (two-component), and a random direction
``S_r``. The identity ``S_x`` leaves an empty distractor, so its ρ is 1 by construction and says
nothing; it is reported as such and kept out of the comparison.

**Image degradation.** Cut the image into ``patch × patch`` squares, rank them by their summed
heatmap, replace them with uniform noise most relevant first (and in random order as the
baseline), and follow the target output. AOPC — the mean drop from the original output over the
first ``steps`` replacements — is larger when the heatmap found what matters.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
from torch import nn

from artkit.core.errors import ArtkitError
from artkit.core.progress import ProgressCallback, report
from artkit.core.result import Evaluation, Timer
from artkit.core.runtime import default_generator
from artkit.explain.attribute import attribute
from artkit.explain.graph import folded, trace
from artkit.explain.localise import localisation
from artkit.explain.methods import get_method, signed_methods
from artkit.explain.patterns import (
    Patterns,
    fit_patterns,
    grouped_weight,
    layer_io,
    layer_rows,
)

ESTIMATOR_NAMES = ("S_w", "S_a", "S_a+-", "random")
SIGNED = signed_methods()  # snapshot of the registry's signed methods (for old callers)


def _corr_after_fit(y: torch.Tensor, d: torch.Tensor) -> float:
    """corr(y, vᵀd) on the second half, v fitted by least squares on the first half."""
    n = y.shape[0] // 2
    d1, d2 = d[:n], d[n:]
    y1, y2 = y[:n], y[n:]
    mu_d, mu_y = d1.mean(0), y1.mean()
    a = d1 - mu_d
    ridge = 1e-6 * (a.pow(2).sum() / max(1, a.shape[1])) + 1e-12
    v = torch.linalg.solve(a.T @ a + ridge * torch.eye(a.shape[1], dtype=a.dtype), a.T @ (y1 - mu_y))
    pred = (d2 - mu_d) @ v
    pc, yc = pred - pred.mean(), y2 - y2.mean()
    denom = math.sqrt(float(pc.pow(2).sum()) * float(yc.pow(2).sum()))
    return float((pc * yc).sum()) / denom if denom > 0 else 0.0


def estimator_quality(model: nn.Module, data, patterns: Patterns, *, rows: int = 4000,
                      neurons: int = 16, seed: int = 0,
                      progress: ProgressCallback | None = None) -> dict[str, dict[str, float]]:
    """ρ of each estimator, averaged over a sample of neurons of every Conv/Linear layer.

    Args:
        model: the model the patterns belong to.
        data: held-out input batches (tensors or (tensor, label) pairs).
        patterns: its fitted patterns (with the two-component ones for ``S_a+-``).
        rows: (patch, output) rows to collect per layer.
        neurons: neurons sampled per layer.

    Returns:
        ``{layer: {"S_w": ρ, "S_a": ρ, "S_a+-": ρ, "random": ρ, "S_x": 1.0}}`` in forward order.
    """
    patterns.check(model)
    gen = torch.Generator().manual_seed(seed)
    first = None
    collected: dict[str, list] = {}
    batches = iter(data)
    for item in batches:
        first = item[0] if isinstance(item, (tuple, list)) else item
        break
    if first is None:
        raise ArtkitError("no data for the estimator evaluation")
    graph = trace(model, first[:1])
    need = {info.name: rows for info in graph.layers}

    def _more():
        yield first
        for item in batches:
            yield item[0] if isinstance(item, (tuple, list)) else item

    with folded(model, graph), layer_io(model, graph) as seen, torch.no_grad():
        for x in _more():
            model(x)
            for info in graph.layers:
                if need[info.name] <= 0:
                    continue
                xi, zi = seen[info.name]
                per = max(1, math.ceil(need[info.name] / max(1, xi.shape[0])))
                xr, yr, zr = layer_rows(info.module, xi, zi, per, gen)
                collected.setdefault(info.name, []).append((xr, yr, zr))
                need[info.name] -= xr.shape[0]
            if all(v <= 0 for v in need.values()):
                break
        weights = {info.name: grouped_weight(info.module).double() for info in graph.layers}
    out: dict[str, dict[str, float]] = {}
    for li, info in enumerate(graph.layers):
        xr = torch.cat([c[0] for c in collected[info.name]]).double()  # (R, G, Dg)
        yr = torch.cat([c[1] for c in collected[info.name]]).double()  # (R, G, Kg)
        zr = torch.cat([c[2] for c in collected[info.name]]).double()
        w = weights[info.name]  # (G, Dg, Kg)
        g, dg, kg = w.shape
        a_lin = _grouped(patterns.linear[info.name], g)
        two = info.rectified and info.name in patterns.positive  # else S_a+- is S_a
        a_pos = _grouped(patterns.positive[info.name], g) if two else a_lin
        a_neg = _grouped(patterns.negative[info.name], g) if two else a_lin
        picks = torch.randperm(g * kg, generator=gen)[:neurons]
        scores = {k: [] for k in ESTIMATOR_NAMES}
        for p in picks.tolist():
            gi, ki = divmod(p, kg)
            x = xr[:, gi]  # (R, Dg)
            y = yr[:, gi, ki]  # (R,)
            if float(y.std()) == 0.0:
                continue
            wk = w[gi, :, ki]
            r = torch.randn(dg, generator=gen, dtype=torch.float64)
            r = r / (wk @ r) if abs(float(wk @ r)) > 1e-9 else r
            pos = (zr[:, gi, ki] > 0)[:, None]
            estimates = {
                "S_w": y[:, None] * (wk / (wk @ wk))[None],
                "S_a": y[:, None] * a_lin[gi, :, ki][None],
                "S_a+-": y[:, None] * torch.where(pos, a_pos[gi, :, ki][None], a_neg[gi, :, ki][None]),
                "random": y[:, None] * r[None],
            }
            for name, s in estimates.items():
                scores[name].append(1.0 - abs(_corr_after_fit(y, x - s)))
        out[info.name] = {k: (sum(v) / len(v) if v else float("nan")) for k, v in scores.items()}
        out[info.name]["S_x"] = 1.0
        report(progress, "estimator quality", li + 1, len(graph.layers))
    return out


def _grouped(a: torch.Tensor, g: int) -> torch.Tensor:
    k = a.shape[0]
    return a.double().reshape(g, k // g, -1).transpose(1, 2)  # (G, Dg, Kg)


# --------------------------------------------------------------------------- degradation


@dataclass
class DegradationCurve:
    """Target output after 0..steps patch replacements, averaged over images, and its AOPC."""

    method: str
    outputs: list[float]
    aopc: float


def patch_ranking(heatmap: torch.Tensor, patch: int, signed: bool) -> torch.Tensor:
    """Patch indices (row-major over the patch grid), most relevant first.

    Args:
        heatmap: (C, H, W) attribution of one image.
    """
    h = heatmap.sum(0) if signed else heatmap.abs().sum(0)  # (H, W)
    gh, gw = h.shape[0] // patch, h.shape[1] // patch
    sums = h[:gh * patch, :gw * patch].reshape(gh, patch, gw, patch).sum((1, 3))  # (gh, gw)
    return sums.flatten().argsort(descending=True)


@torch.no_grad()
def degrade(model: nn.Module, x: torch.Tensor, order: torch.Tensor, target: int, patch: int,
            steps: int, noise: torch.Tensor, batch: int = 32) -> list[float]:
    """Target output of ``x`` (C, H, W) with the first 0..steps patches of ``order`` replaced by
    ``noise`` (C, H, W)."""
    gw = x.shape[2] // patch
    images = [x]
    cur = x.clone()
    for idx in order[:steps].tolist():
        r, c = divmod(idx, gw)
        sl = (slice(None), slice(r * patch, (r + 1) * patch), slice(c * patch, (c + 1) * patch))
        cur[sl] = noise[sl]
        images.append(cur.clone())
    outs = []
    for i in range(0, len(images), batch):
        outs.append(model(torch.stack(images[i:i + batch]))[:, target])
    return torch.cat(outs).tolist()


def image_degradation(model: nn.Module, images: torch.Tensor, methods, patterns: Patterns | None,
                      *, patch: int = 9, steps: int = 50, seed: int = 0, fill: str = "noise",
                      progress: ProgressCallback | None = None) -> list[DegradationCurve]:
    """Degradation curves and AOPC of each method (plus ``random`` order) over ``images``.

    Args:
        model: the model (eval mode), returning (B, K).
        images: (N, C, H, W) inputs; each is explained for its top output.
        methods: attribution methods to compare.
        patterns: needed for patternnet / patternattribution.
        patch: side of the replaced squares.
        steps: patches replaced (the curve has steps + 1 points).
        fill: what replaces a patch: ``noise`` (uniform, as in the paper's protocol) or
            ``mean`` (the image's mean colour: a gentler, on-manifold change).
    """
    gen = torch.Generator().manual_seed(seed)
    model.eval()
    graph = trace(model, images[:1])
    with torch.no_grad():
        targets = model(images).argmax(1)
    n, c, h, w = images.shape
    n_patches = (h // patch) * (w // patch)
    steps = min(steps, n_patches)
    if fill == "noise":
        noise = torch.rand((n, c, h, w), generator=gen).to(images)
    elif fill == "mean":
        noise = images.mean((2, 3), keepdim=True).expand(n, c, h, w).clone()
    else:
        raise ArtkitError(f"unknown fill '{fill}'", "use noise or mean")
    curves: dict[str, list[list[float]]] = {}
    total = n * (len(methods) + 1)
    done = 0
    for i in range(n):
        x, t = images[i:i + 1], int(targets[i])
        for method in list(methods) + ["random"]:
            if method == "random":
                order = torch.randperm(n_patches, generator=gen)
            else:
                heat = attribute(model, x, method, target=t, patterns=patterns, graph=graph)[0]
                order = patch_ranking(heat, patch, get_method(method).signed)
            curves.setdefault(method, []).append(
                degrade(model, x[0], order, t, patch, steps, noise[i]))
            done += 1
            report(progress, "degradation", done, total)
    result = []
    for method, runs in curves.items():
        mean = torch.tensor(runs).mean(0)  # (steps + 1,)
        aopc = float((mean[0] - mean).mean())
        result.append(DegradationCurve(method, mean.tolist(), aopc))
    return result


# --------------------------------------------------------------------------- the whole evaluation


@dataclass(kw_only=True)
class ExplainEvaluation(Evaluation):
    """``artkit explain evaluate``'s figures: ρ per layer, degradation, localisation.

    Attributes:
        model: the model's name.
        quality: ``{layer: {estimator: ρ}}``.
        quality_mean: ``{estimator: mean ρ over layers}``.
        degradation: the curves (AOPC per method and random order).
        localisation: the localisation scores with their baselines (empty when not run).
        settings: the evaluation's settings (patch, steps, fill, images, composites).
    """

    model: str
    quality: dict[str, dict[str, float]]
    quality_mean: dict[str, float]
    degradation: list[DegradationCurve]
    localisation: list = field(default_factory=list)
    settings: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"model": self.model, **self.settings,
                "estimator_quality": self.quality, "estimator_quality_mean": self.quality_mean,
                "degradation": {c.method: {"aopc": c.aopc, "curve": c.outputs}
                                for c in self.degradation},
                "localisation": {s.method: {"energy": s.energy, "hits": s.hits, "n": s.n}
                                 for s in self.localisation},
                "seconds": self.seconds, "notes": list(self.notes), "weights": dict(self.weights)}


def evaluate(model: nn.Module, fit_data, held_out: torch.Tensor, *, name: str = "",
             methods=("patternattribution", "patternnet", "gradient", "smoothgrad", "lrp_epsilon"),
             patch: int = 0, steps: int = 50, rows: int = 4000, neurons: int = 16,
             fill: str = "mean", images: int = 8, composites=(),
             generator: torch.Generator | None = None,
             progress: ProgressCallback | None = None) -> ExplainEvaluation:
    """The paper's evaluation plus localisation, on one model.

    Patterns are fitted on ``fit_data`` (batches) and judged on ``held_out`` (N, C, H, W):
    ρ per layer, then the degradation of the first ``images`` held-out inputs; with
    ``composites`` (from :func:`artkit.explain.localise.make_composites`), the energy pointing
    game and pointing-game hits of every method against the random and centre-bias baselines.

    Returns:
        An :class:`ExplainEvaluation` (``.to_dict()`` for JSON).
    """
    gen = default_generator(generator)
    seed = int(torch.randint(0, 2 ** 31 - 1, (1,), generator=gen))
    with Timer() as timer:
        pats = fit_patterns(model, fit_data, "relu", seed=seed, progress=progress)
        held = list(held_out.split(16))
        quality = estimator_quality(model, held, pats, rows=rows, neurons=neurons, seed=seed,
                                    progress=progress)
        test = held_out[:images]
        p = patch or (9 if test.shape[-1] >= 112 else 4)
        curves = image_degradation(model, test, list(methods), pats, patch=p, steps=steps,
                                   seed=seed, fill=fill, progress=progress)
        scores = []
        if composites:
            graph = trace(model, composites[0].x[None])

            def explain_fn(x, t, m):
                return attribute(model, x, m, target=t, patterns=pats, graph=graph,
                                 generator=gen)[0]

            scores = localisation(explain_fn, composites, list(methods), progress=progress)
    mean = {k: sum(v[k] for v in quality.values()) / len(quality) for k in ESTIMATOR_NAMES}
    settings = {"patch": p, "steps": steps, "fill": fill, "images": len(test),
                "composites": len(composites), "fit_rows": dict(pats.samples)}
    return ExplainEvaluation(model=name, quality=quality, quality_mean=mean, degradation=curves,
                             localisation=scores, settings=settings, seconds=timer.seconds)
