"""The neural engine: neural-doodle's MRF patch matching on VGG features, done fast.

For each style layer (default ``relu3_1``, ``relu4_1``) the style image's activations, with the
semantic map's one-hot channels (average-pooled to the layer's resolution) concatenated, are cut
into 3×3 patches (stride 1). Every patch of the image being optimised is matched to its nearest
style patch by normalised cross-correlation — the feature part and the semantic part normalised
separately, the semantic part scaled by √(semantic weight) — computed as one matrix product per
chunk of patches, sliced to a memory budget. The style loss pulls each patch towards its match
(feature channels only); a content loss (``relu4_2``) and a smoothness term complete the
objective, which L-BFGS minimises on the pixels, coarse to fine.

Speed: matches are recomputed every ``match_every`` L-BFGS steps rather than at every step (the
nearest patches change slowly), VGG runs in ``channels_last``, and the matching runs in bf16 on
GPUs. ``benchmarks/doodle.py`` measures all of this against the plain algorithm.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Callable

import torch
import torch.nn.functional as F

from artkit.core.errors import ArtkitError
from artkit.core.progress import ProgressCallback, report


@dataclass
class NeuralSettings:
    """The neural engine's knobs (the CLI and presets fill these from ``DoodleConfig``).

    Args:
        style_layers: VGG layers matched by patches, e.g. ``("relu3_1", "relu4_1")``.
        content_layers: layers of the content loss.
        style_weight, content_weight, semantic_weight, smoothness: the objective's weights.
        colour_weight: weight of a colour term: the image, area-pooled to each style layer's
            resolution, is pulled towards the colours of the matched style patches. VGG
            features (the edge-tuned HED ones especially) barely see hue; this keeps the
            painting's palette.
        variety: > 0 penalises style patches already used by many target patches.
        iterations: L-BFGS steps per phase.
        match_every: recompute the nearest-patch matches every this many steps (1 = plain).
        match_dims: project feature patches onto their top principal directions (uncentred,
            so dot products are kept) before matching; 0 matches in the full dimension.
        tolerance: stop the phase early when one matching period lowers the loss by less than
            this fraction (0 = always run every iteration).
        patch_size: side of the feature patches (3 in neural-doodle).
        memory_mb: budget for one chunk of the match score matrix.
        channels_last: run VGG in channels-last memory format (faster on CPU).
        match_dtype: ``"auto"`` (bf16 on CUDA, fp32 elsewhere), ``"float32"`` or ``"bfloat16"``.
    """

    style_layers: tuple[str, ...] = ("relu3_1", "relu4_1")
    content_layers: tuple[str, ...] = ("relu4_2",)
    style_weight: float = 25.0
    content_weight: float = 10.0
    semantic_weight: float = 10.0
    smoothness: float = 1.0
    colour_weight: float = 10.0
    variety: float = 0.0
    iterations: int = 100
    match_every: int = 10
    match_dims: int = 128
    tolerance: float = 0.0
    patch_size: int = 3
    memory_mb: int = 512
    channels_last: bool = True
    match_dtype: str = "auto"


# ----------------------------------------------------------------------------------- matching


def extract_patches(x: torch.Tensor, size: int = 3) -> torch.Tensor:
    """All ``size``×``size`` patches (stride 1, no padding) of one map.

    Args:
        x: (1, C, H, W).

    Returns:
        (N, C·size·size) with N = (H − size + 1)(W − size + 1), row-major over positions.
    """
    cols = F.unfold(x, size)  # (1, C·s·s, N)
    return cols[0].t()


def projection(patches: torch.Tensor, dims: int, generator: torch.Generator | None = None,
               sample: int = 4096) -> torch.Tensor | None:
    """Top ``dims`` right singular vectors of (a sample of) the patches, uncentred: projecting
    onto them keeps dot products, so matching in the projected space approximates NCC.

    Returns:
        (D, dims) basis, or ``None`` when ``dims`` is 0 or not smaller than D.
    """
    n, d = patches.shape
    if dims <= 0 or dims >= d:
        return None
    if n > sample:
        idx = torch.randperm(n, generator=generator, device="cpu")[:sample].to(patches.device)
        patches = patches[idx]
    _, _, v = torch.svd_lowrank(patches.float(), q=min(dims + 8, d), niter=2)
    return v[:, :dims].contiguous()  # (D, dims)


def normalised_bank(features: torch.Tensor, semantic: torch.Tensor | None,
                    semantic_weight: float, eps: float = 1e-8) -> torch.Tensor:
    """Rows ``[f/‖f‖, √w·s/‖s‖]``: dot products are NCC(features) + w·NCC(semantics).

    Args:
        features: (N, Df) feature patches.
        semantic: (N, Ds) semantic patches or ``None``.
    """
    f = features / features.norm(dim=1, keepdim=True).clamp_min(eps)
    if semantic is None or semantic_weight <= 0:
        return f
    s = semantic / semantic.norm(dim=1, keepdim=True).clamp_min(eps)
    return torch.cat([f, math.sqrt(semantic_weight) * s], dim=1)


def nearest_patches(target: torch.Tensor, style: torch.Tensor, memory_mb: int = 512,
                    variety: float = 0.0, dtype: torch.dtype | None = None) -> torch.Tensor:
    """Index of the best-correlated style row for each target row, in memory-bounded chunks.

    Args:
        target: (Nt, D) normalised target patches.
        style: (Ns, D) normalised style patches.
        memory_mb: the largest score chunk, (rows × Ns) floats, to hold at once.
        variety: > 0 subtracts ``variety × usage / average usage`` from each style patch's
            score, usage counted over the chunks matched so far (at least 8 chunks), so
            popular patches give way progressively.
        dtype: compute dtype for the products (None: the inputs' dtype).

    Returns:
        (Nt,) int64 indices into ``style``.
    """
    nt, ns = target.shape[0], style.shape[0]
    rows = max(1, int(memory_mb * 2**20 // (4 * max(ns, 1))))
    if variety > 0:
        rows = min(rows, max(1, -(-nt // 8)))
    bank = style if dtype is None else style.to(dtype)
    usage = torch.zeros(ns, device=target.device)
    average = max(nt / ns, 1e-8)
    best = torch.empty(nt, dtype=torch.long, device=target.device)
    for start in range(0, nt, rows):
        chunk = target[start:start + rows]
        if dtype is not None:
            chunk = chunk.to(dtype)
        scores = chunk @ bank.t()  # (rows, Ns)
        if variety > 0:
            scores = scores.float() - (variety / average) * usage[None, :]
        idx = scores.argmax(dim=1)
        best[start:start + rows] = idx
        if variety > 0:
            usage += torch.bincount(idx, minlength=ns).float()
    return best


# ----------------------------------------------------------------------------------- losses


def smoothness_loss(img: torch.Tensor) -> torch.Tensor:
    """``((dx² + dy²)^1.25).mean()`` on an image in [0, 1] (neural-doodle's total variation)."""
    dx = img[:, :, :-1, 1:] - img[:, :, :-1, :-1]
    dy = img[:, :, 1:, :-1] - img[:, :, :-1, :-1]
    return ((dx * dx + dy * dy + 1e-12) ** 1.25).mean()


@dataclass
class _StyleLayer:
    name: str
    features: torch.Tensor      # (Ns, Df) raw style feature patches (loss targets)
    basis: torch.Tensor | None  # (Df, d) projection used for matching, or None
    bank: torch.Tensor          # (Ns, D) normalised [features, semantics] for matching
    target_semantic: torch.Tensor | None  # (Nt, Ds) semantic patches of the output
    colours: torch.Tensor       # (Ns, 3·p·p) style colour patches at this layer's resolution
    scale: float                # 1 / mean(style feature²): makes the loss scale-free
    matches: torch.Tensor | None = None
    target: torch.Tensor | None = None         # (1, Df/p², h, w) folded matched features
    target_colour: torch.Tensor | None = None  # (1, 3, h, w) folded matched colours
    coverage: torch.Tensor | None = None       # (1, 1, h, w) patches covering each pixel


def fold_matches(patches: torch.Tensor, size: tuple[int, int], patch: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Average the matched patches back onto the map: each pixel gets the mean of the patch
    values that cover it, plus the count of covering patches.

    With R = that average and n = the count, Σᵢ‖Tᵢ − Sₘ₍ᵢ₎‖² over all patches equals
    Σₚ nₚ‖T(p) − R(p)‖² plus a constant, so the patch loss becomes a weighted MSE against a
    fixed map: the same gradient, without unfolding the image's features at every step.

    Args:
        patches: (N, C·patch²) matched style patches, one per target position.
        size: (h, w) of the target map.

    Returns:
        ``(R, n)``: (1, C, h, w) and (1, 1, h, w).
    """
    summed = F.fold(patches.t()[None], size, patch)  # (1, C, h, w)
    ones = torch.ones(1, patch * patch, patches.shape[0], dtype=patches.dtype, device=patches.device)
    count = F.fold(ones, size, patch)  # (1, 1, h, w)
    return summed / count.clamp_min(1), count


@dataclass
class PhaseLog:
    """What one phase did: sizes, steps, losses and timings."""

    size: tuple[int, int]
    steps: int = 0
    evaluations: int = 0
    matchings: int = 0
    loss: list[float] = field(default_factory=list)
    seconds: float = 0.0
    match_seconds: float = 0.0


def pool_to(semantic: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Average-pool one-hot maps (1, K, H, W) to a layer's (h, w) (area interpolation)."""
    return F.interpolate(semantic, size=size, mode="area")


def run_phase(vgg, image: torch.Tensor, style: torch.Tensor, *, settings: NeuralSettings,
              style_semantic: torch.Tensor | None = None,
              target_semantic: torch.Tensor | None = None,
              content: torch.Tensor | None = None, progress: ProgressCallback | None = None,
              task: str = "phase", on_step: Callable[[int, torch.Tensor], None] | None = None,
              start_step: int = 0) -> tuple[torch.Tensor, PhaseLog]:
    """Optimise ``image`` for one resolution.

    Args:
        vgg: a ``VGGFeatures`` network (frozen).
        image: (1, 3, H, W) start image in [0, 1].
        style: (1, 3, Hs, Ws) style image at this phase's scale.
        style_semantic: (1, K, Hs, Ws) one-hot style regions, or ``None``.
        target_semantic: (1, K, H, W) one-hot doodle regions, or ``None``.
        content: (1, 3, H, W) content image, or ``None`` (no content loss).
        on_step: called as ``on_step(step, image)`` after every matching period.
        start_step: steps already done in this phase (when resuming).

    Returns:
        The optimised image (clamped to [0, 1]) and the phase log.
    """
    s = settings
    device = image.device
    mdtype = _match_dtype(s.match_dtype, device)
    log = PhaseLog(size=(image.shape[2], image.shape[3]))
    t_phase = time.perf_counter()
    fmt = torch.channels_last if s.channels_last else torch.contiguous_format
    use_sem = style_semantic is not None and target_semantic is not None and s.semantic_weight > 0
    wanted = list(dict.fromkeys([*s.style_layers, *(s.content_layers if content is not None else ())]))

    with torch.no_grad():
        sfeat = vgg(style.contiguous(memory_format=fmt), list(s.style_layers))
        cfeat = (vgg(content.contiguous(memory_format=fmt), list(s.content_layers))
                 if content is not None and s.content_weight > 0 else {})
        probe = vgg(image.contiguous(memory_format=fmt), list(s.style_layers))
    layers: list[_StyleLayer] = []
    for name in s.style_layers:
        f = sfeat[name].float()
        if min(f.shape[2], f.shape[3]) < s.patch_size or min(probe[name].shape[2:]) < s.patch_size:
            raise ArtkitError(f"image too small at layer {name} for {s.patch_size}x{s.patch_size} "
                              f"patches ({f.shape[3]}x{f.shape[2]})",
                              "use fewer --phases or a larger --size / style image")
        fp = extract_patches(f, s.patch_size)
        sp = tp = None
        if use_sem:
            sp = extract_patches(pool_to(style_semantic, f.shape[2:]), s.patch_size)
            tp = extract_patches(pool_to(target_semantic, probe[name].shape[2:]), s.patch_size)
        basis = projection(fp, s.match_dims)
        bank = normalised_bank(fp if basis is None else fp @ basis, sp, s.semantic_weight)
        colours = extract_patches(F.interpolate(style, size=f.shape[2:], mode="area"), s.patch_size)
        layers.append(_StyleLayer(name, fp, basis, bank, tp, colours,
                                  1.0 / float((f * f).mean().clamp_min(1e-8))))
    cscale = {k: 1.0 / float((v * v).mean().clamp_min(1e-8)) for k, v in cfeat.items()}
    del sfeat, probe

    img = image.detach().clone().contiguous().requires_grad_(True)  # L-BFGS needs a flat view
    opt = torch.optim.LBFGS([img], lr=1.0, max_iter=max(1, s.match_every),
                            history_size=20, line_search_fn="strong_wolfe",
                            tolerance_grad=1e-9, tolerance_change=1e-12)
    last_loss = [float("nan")]

    def rematch() -> None:
        t0 = time.perf_counter()
        with torch.no_grad():
            feats = vgg(img.contiguous(memory_format=fmt), list(s.style_layers))
            for layer in layers:
                tp = extract_patches(feats[layer.name].float(), s.patch_size)
                if layer.basis is not None:
                    tp = tp @ layer.basis
                tb = normalised_bank(tp, layer.target_semantic, s.semantic_weight)
                layer.matches = nearest_patches(tb, layer.bank, s.memory_mb, s.variety, mdtype)
                size = tuple(feats[layer.name].shape[2:])
                layer.target, layer.coverage = fold_matches(layer.features[layer.matches], size, s.patch_size)
                layer.target_colour, _ = fold_matches(layer.colours[layer.matches], size, s.patch_size)
        log.matchings += 1
        log.match_seconds += time.perf_counter() - t0

    def closure() -> torch.Tensor:
        opt.zero_grad(set_to_none=True)
        feats = vgg(img.contiguous(memory_format=fmt), wanted)
        loss = img.new_zeros(())
        for layer in layers:
            # Σ over patches of ‖patch − matched style patch‖², as a weighted MSE (fold_matches)
            norm = layer.coverage.sum()  # = number of patch elements per channel
            d = feats[layer.name] - layer.target  # (1, C, h, w)
            loss = loss + (s.style_weight / len(layers) * layer.scale
                           * (layer.coverage * d * d).sum() / (norm * d.shape[1]))
            if s.colour_weight > 0:
                small = F.interpolate(img, size=d.shape[2:], mode="area")  # (1, 3, h, w)
                dc = small - layer.target_colour
                loss = loss + s.colour_weight / len(layers) * (layer.coverage * dc * dc).sum() / (norm * 3)
        for name, target in cfeat.items():
            d = feats[name] - target
            loss = loss + s.content_weight / len(cfeat) * cscale[name] * (d * d).mean()
        if s.smoothness > 0:
            loss = loss + s.smoothness * smoothness_loss(img)
        loss.backward()
        log.evaluations += 1
        last_loss[0] = float(loss.detach())
        return loss

    step = start_step
    while step < s.iterations:
        rematch()
        n = min(max(1, s.match_every), s.iterations - step)
        opt.param_groups[0]["max_iter"] = n
        opt.param_groups[0]["max_eval"] = n * 5 // 4 + 1
        opt.step(closure)
        with torch.no_grad():
            img.clamp_(0.0, 1.0)
        step += n
        log.steps = step
        log.loss.append(last_loss[0])
        report(progress, task, step, s.iterations, loss=last_loss[0])
        if on_step is not None:
            on_step(step, img.detach())
        if not math.isfinite(last_loss[0]):
            raise ArtkitError("the optimisation diverged (loss is not finite)",
                              "lower --style-weight or --smoothness, or use --init content")
        if (s.tolerance > 0 and len(log.loss) >= 2
                and log.loss[-2] - log.loss[-1] < s.tolerance * abs(log.loss[-2])):
            report(progress, task, s.iterations, s.iterations, "converged", loss=last_loss[0])
            break
    log.seconds = time.perf_counter() - t_phase
    return img.detach().contiguous().clamp(0, 1), log


def _match_dtype(name: str, device: torch.device) -> torch.dtype | None:
    if name == "float32":
        return None
    if name == "bfloat16":
        return torch.bfloat16
    return torch.bfloat16 if device.type == "cuda" else None
