"""The neural engine: neural-doodle's MRF patch matching on VGG features, done fast.

For each style layer (default ``relu3_1``, ``relu4_1``) the style image's activations, with the
semantic map's one-hot channels (average-pooled to the layer's resolution) beside them, are cut
into 3×3 patches (stride 1). Every patch of the image being optimised is matched to its nearest
style patch by normalised cross-correlation — the feature part and the semantic part normalised
separately, the semantic part scaled by √(semantic weight) — as one matrix product per chunk of
patches, sliced to a memory budget. The style loss pulls each patch towards its match (feature
channels only); a colour term, a content loss (``relu4_2``) and a smoothness term complete the
objective, which L-BFGS minimises on the pixels, coarse to fine.

What makes it fast and small:

* matches are recomputed every ``match_every`` L-BFGS steps, not at every step (the nearest
  patches change slowly);
* patches are compared in a ``match_dims``-dimensional projection (the top right singular
  vectors of a sample of style patches, uncentred so dot products are kept), computed as one
  convolution of the feature map — the (positions × C·9) patch matrix is never built;
* the patch loss Σᵢ‖Tᵢ − S_m(i)‖² equals Σₚ nₚ‖T(p) − R(p)‖² + const, with R the average of the
  matched style patches folded back onto the map and n the number of patches covering p
  (:func:`fold_matches`); R is gathered straight from the style feature map, nine shifted
  copies, so each step is a weighted MSE against a fixed map;
* the VGG passes go through :mod:`artkit.doodle.scale`, which cuts them into overlapping tiles
  when the picture would not fit in the memory budget (exactly the same loss and gradient).

Determinism: all randomness (the projection's sample and range finder) comes from the
``generator``; no operation here depends on thread scheduling (no atomics, no scatter-add), so
the same inputs, seed, thread count and tile plan give the same bits on the CPU.
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
from artkit.core.runtime import threads
from artkit.doodle.scale import TilePlan, tiled_backward, tiled_features

CHUNK_MB = 32  # the largest block of match scores computed at once


@dataclass
class NeuralSettings:
    """The neural engine's knobs (filled from :class:`artkit.doodle.config.DoodleConfig`).

    Args:
        style_layers: VGG layers matched by patches, e.g. ``("relu3_1", "relu4_1")``.
        content_layers: layers of the content loss.
        style_weight, content_weight, semantic_weight, smoothness: the objective's weights.
        colour_weight: weight of a colour term: the image, average-pooled to each style
            layer's resolution, is pulled towards the colours of the matched style patches.
            VGG features (the edge-tuned HED ones especially) barely see hue; this keeps the
            painting's palette.
        variety: > 0 penalises style patches already used by many target patches.
        iterations: L-BFGS steps per phase.
        match_every: recompute the nearest-patch matches every this many steps (1 = plain).
        match_dims: project feature patches onto their top principal directions before
            matching; 0 matches in the full dimension.
        tolerance: stop the phase early when one matching period lowers the loss by less than
            this fraction (0 = always run every iteration).
        patch_size: side of the feature patches (3 in neural-doodle).
        memory_mb: budget for one chunk of the match score matrix.
        channels_last: run VGG in channels-last memory format (faster on CPU).
        match_dtype: ``"auto"`` (bf16 on CUDA, fp32 elsewhere), ``"float32"`` or ``"bfloat16"``.
        history: L-BFGS history size (pairs of image-sized vectors kept).
    """

    style_layers: tuple[str, ...] = ("relu3_1", "relu4_1")
    content_layers: tuple[str, ...] = ("relu4_2",)
    style_weight: float = 25.0
    content_weight: float = 10.0
    semantic_weight: float = 10.0
    smoothness: float = 10.0
    colour_weight: float = 30.0
    variety: float = 0.0
    iterations: int = 100
    match_every: int = 10
    match_dims: int = 128
    tolerance: float = 0.0
    patch_size: int = 3
    memory_mb: int = 512
    channels_last: bool = True
    match_dtype: str = "auto"
    history: int = 20


# ----------------------------------------------------------------------------------- patches


def extract_patches(x: torch.Tensor, size: int = 3) -> torch.Tensor:
    """All ``size``×``size`` patches (stride 1, no padding) of one map.

    Args:
        x: (1, C, H, W).

    Returns:
        (N, C·size·size) with N = (H − size + 1)(W − size + 1), row-major over positions;
        columns channel-major, then the patch's rows.
    """
    cols = F.unfold(x, size)  # (1, C·s·s, N)
    return cols[0].t()


def sample_patches(x: torch.Tensor, count: int, size: int,
                   generator: torch.Generator | None) -> torch.Tensor:
    """``count`` patches of ``x`` (1, C, H, W) at random positions (all when there are fewer),
    in the layout of :func:`extract_patches`, without unfolding the whole map: (n, C·size²)."""
    _, c, h, w = x.shape
    hv, wv = h - size + 1, w - size + 1
    n = hv * wv
    pick = torch.randperm(n, generator=generator)[:count].sort().values if n > count else torch.arange(n)
    ys, xs = (pick // wv).to(x.device), (pick % wv).to(x.device)
    off = torch.arange(size, device=x.device)
    rows = (ys[:, None] + off[None, :])[:, :, None]           # (n, s, 1)
    cols = (xs[:, None] + off[None, :])[:, None, :]           # (n, 1, s)
    patches = x[0][:, rows, cols]                             # (C, n, s, s)
    return patches.permute(1, 0, 2, 3).reshape(len(pick), c * size * size)


def projection(patches: torch.Tensor, dims: int,
               generator: torch.Generator | None = None) -> torch.Tensor | None:
    """Top ``dims`` right singular vectors of ``patches`` (N, D), uncentred: projecting onto
    them keeps dot products, so matching in the projected space approximates NCC.

    A randomized range finder (Halko et al. 2011: a Gaussian sketch from ``generator``, two
    power iterations with QR, then the SVD of the small matrix), so the result depends only on
    the generator and not on torch's global random state.

    Returns:
        (D, dims) basis, or ``None`` when ``dims`` is 0 or not smaller than D.
    """
    d = patches.shape[1]
    if dims <= 0 or dims >= d:
        return None
    a = patches.float()
    q = min(dims + 8, d)
    sketch = torch.randn(d, q, generator=generator).to(a.device)   # (D, q)
    with threads(1):  # small LAPACK calls: a second thread only waits on a busy machine
        basis = torch.linalg.qr(a @ sketch).Q                     # (N, q)
        for _ in range(2):
            basis = torch.linalg.qr(a @ (a.t() @ basis)).Q
        _, _, vh = torch.linalg.svd(basis.t() @ a, full_matrices=False)  # (q, D)
    return vh[:dims].t().contiguous()  # (D, dims)


def project_patches(x: torch.Tensor, basis: torch.Tensor | None, size: int = 3) -> torch.Tensor:
    """Every ``size``×``size`` patch of ``x`` (1, C, H, W) projected on ``basis`` (C·size², d),
    as one convolution: (N, d) in the row order of :func:`extract_patches`. Without a basis,
    the patches themselves."""
    if basis is None:
        return extract_patches(x, size)
    c = x.shape[1]
    weight = basis.t().reshape(-1, c, size, size).to(x.dtype)  # (d, C, s, s)
    out = F.conv2d(x.contiguous(), weight)                    # (1, d, H−s+1, W−s+1)
    return out[0].flatten(1).t()


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
    # chunks of at most CHUNK_MB of scores, written into one reused buffer: fresh half-gigabyte
    # blocks cost more in page faults than the products themselves
    rows = max(1, int(min(memory_mb, CHUNK_MB) * 2**20 // (4 * max(ns, 1))))
    if variety > 0:
        rows = min(rows, max(1, -(-nt // 8)))
    bank = (style if dtype is None else style.to(dtype)).t().contiguous()  # (D, Ns)
    usage = torch.zeros(ns, device=target.device)
    average = max(nt / ns, 1e-8)
    best = torch.empty(nt, dtype=torch.long, device=target.device)
    buf = torch.empty(min(rows, nt), ns, dtype=bank.dtype, device=target.device)
    for start in range(0, nt, rows):
        chunk = target[start:start + rows]
        if dtype is not None:
            chunk = chunk.to(dtype)
        scores = torch.mm(chunk, bank, out=buf[:len(chunk)])  # (rows, Ns)
        if variety > 0:
            scores = scores.float() - (variety / average) * usage[None, :]
        idx = scores.argmax(dim=1)
        best[start:start + rows] = idx
        if variety > 0:
            usage += torch.bincount(idx, minlength=ns).float()
    return best


def fold_matches(patches: torch.Tensor, size: tuple[int, int], patch: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Average matched patches back onto the map: each pixel gets the mean of the patch values
    that cover it, plus the count of covering patches (the reference form of
    :func:`gather_fold`).

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
    count = coverage(size, patch, patches.dtype, patches.device)
    return summed / count, count


def coverage(size: tuple[int, int], patch: int, dtype=torch.float32, device=None) -> torch.Tensor:
    """(1, 1, h, w): how many ``patch``×``patch`` patches (stride 1, inside the map) cover
    each position of an (h, w) map."""

    def along(n: int) -> torch.Tensor:  # patches t in [max(0, i − p + 1), min(i, n − p)]
        i = torch.arange(n, device=device)
        return (i.clamp(max=n - patch) - (i - patch + 1).clamp(min=0) + 1).clamp(min=0)

    return (along(size[0])[:, None] * along(size[1])[None, :]).to(dtype)[None, None]


def gather_fold(source: torch.Tensor, matches: torch.Tensor, size: tuple[int, int],
                patch: int) -> torch.Tensor:
    """:func:`fold_matches` of the patches of ``source`` chosen by ``matches``, gathered
    straight from the map: nine shifted index-selects instead of an (N, C·9) patch matrix.

    Args:
        source: (1, C, Hs, Ws) style map (features or colours).
        matches: (N,) index of the matched style patch (row-major top-left corners in the
            (Hs − p + 1) × (Ws − p + 1) grid) for every target patch of an (h, w) map.
        size: (h, w) of the target map.

    Returns:
        (1, C, h, w): every position's mean over the matched patches covering it.
    """
    _, c, hs, ws = source.shape
    h, w = size
    hv, wv = h - patch + 1, w - patch + 1
    flat = source[0].reshape(c, hs * ws)
    corner = (matches // (ws - patch + 1)) * ws + matches % (ws - patch + 1)  # (N,) top-left
    summed = source.new_zeros(c, h, w)
    for dy in range(patch):
        for dx in range(patch):
            vals = flat.index_select(1, corner + (dy * ws + dx)).view(c, hv, wv)
            summed[:, dy:dy + hv, dx:dx + wv] += vals
    return summed[None] / coverage(size, patch, source.dtype, source.device)


def smoothness_loss(img: torch.Tensor) -> torch.Tensor:
    """``((dx² + dy²)^1.25).mean()`` on an image in [0, 1] (neural-doodle's total variation)."""
    dx = img[:, :, :-1, 1:] - img[:, :, :-1, :-1]
    dy = img[:, :, 1:, :-1] - img[:, :, :-1, :-1]
    return ((dx * dx + dy * dy + 1e-12) ** 1.25).mean()


def pool_to(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Average ``x`` (1, C, H, W) down to a layer's (h, w) the way VGG's pooling sees it:
    s × s blocks from the top-left (s = the layer's stride, H // s = h), the remainder dropped
    as VGG's floor-mode pooling drops it. Plain average pooling has a deterministic backward
    pass on every device; other size ratios fall back to area interpolation."""
    h, w = size
    for s in (1, 2, 4, 8, 16, 32):
        if x.shape[2] // s == h and x.shape[3] // s == w:
            return F.avg_pool2d(x[:, :, :h * s, :w * s], s) if s > 1 else x
    return F.interpolate(x, size=size, mode="area")


# ----------------------------------------------------------------------------------- one phase


@dataclass
class StyleLayer:
    """The style side of one matched layer, and the current matches' folded targets."""

    name: str
    features: torch.Tensor       # (1, C, hs, ws) style features (gathered for the targets)
    colours: torch.Tensor        # (1, 3, hs, ws) style image pooled to this layer
    basis: torch.Tensor | None   # (C·9, d) projection used for matching, or None
    bank: torch.Tensor           # (Ns, D) normalised [projected features, semantics]
    target_semantic: torch.Tensor | None  # (Nt, Ds) semantic patches of the output
    scale: float                 # 1 / mean(style feature²): makes the loss scale-free
    target: torch.Tensor | None = None         # (1, C, h, w) folded matched features
    target_colour: torch.Tensor | None = None  # (1, 3, h, w) folded matched colours
    coverage: torch.Tensor | None = None       # (1, 1, h, w) patches covering each position


@dataclass
class PhaseLog:
    """What one phase did: sizes, steps, losses and timings."""

    size: tuple[int, int]
    steps: int = 0
    evaluations: int = 0
    matchings: int = 0
    loss: list[float] = field(default_factory=list)
    seconds: float = 0.0
    setup_seconds: float = 0.0   # the style side and content features, before the first step
    match_seconds: float = 0.0
    tiles: int = 1


def style_layers(vgg, style: torch.Tensor, style_semantic: torch.Tensor | None,
                 target_semantic: torch.Tensor | None, image_hw: tuple[int, int],
                 s: NeuralSettings, plan: TilePlan,
                 generator: torch.Generator | None) -> list[StyleLayer]:
    """Build the style side of every matched layer: features, projection, matching bank.

    Args:
        style: (1, 3, Hs, Ws) style image at this phase's scale.
        style_semantic, target_semantic: (1, K, ·, ·) one-hot regions of style and output.
        image_hw: (H, W) of the image being optimised (its layer sizes must fit a patch).
    """
    sfeat = tiled_features(vgg, style, list(s.style_layers), plan, s.channels_last)
    use_sem = style_semantic is not None and target_semantic is not None and s.semantic_weight > 0
    layers = []
    for name in s.style_layers:
        f = sfeat[name].float()  # (1, C, hs, ws)
        hw = plan.layer_size(name, image_hw)
        if min(f.shape[2:]) < s.patch_size or min(hw) < s.patch_size:
            raise ArtkitError(f"image too small at layer {name} for {s.patch_size}x{s.patch_size} "
                              f"patches (style {f.shape[3]}x{f.shape[2]}, output {hw[1]}x{hw[0]})",
                              "use fewer --phases or a larger --size / style image")
        basis = projection(sample_patches(f, 4096, s.patch_size, generator), s.match_dims, generator)
        sp = tp = None
        if use_sem:
            sp = extract_patches(pool_to(style_semantic, f.shape[2:]), s.patch_size)
            tp = extract_patches(pool_to(target_semantic, hw), s.patch_size)
        bank = normalised_bank(project_patches(f, basis, s.patch_size), sp, s.semantic_weight)
        layers.append(StyleLayer(name, f, pool_to(style, f.shape[2:]), basis, bank, tp,
                                 1.0 / float((f * f).mean().clamp_min(1e-8))))
    return layers


def rematch(layers: list[StyleLayer], feats: dict[str, torch.Tensor], s: NeuralSettings,
            dtype: torch.dtype | None) -> None:
    """Match every patch of the current features to its nearest style patch and fold the
    matched features and colours into each layer's targets."""
    for layer in layers:
        f = feats[layer.name].float()  # (1, C, h, w)
        size = tuple(f.shape[2:])
        tb = normalised_bank(project_patches(f, layer.basis, s.patch_size),
                             layer.target_semantic, s.semantic_weight)
        matches = nearest_patches(tb, layer.bank, s.memory_mb, s.variety, dtype)
        layer.target = gather_fold(layer.features, matches, size, s.patch_size)
        layer.target_colour = gather_fold(layer.colours, matches, size, s.patch_size)
        layer.coverage = coverage(size, s.patch_size, f.dtype, f.device)


def feature_loss(feats: dict[str, torch.Tensor], window: dict[str, tuple[slice, slice]],
                 layers: list[StyleLayer],
                 content: dict[str, torch.Tensor], content_scale: dict[str, float],
                 s: NeuralSettings) -> torch.Tensor:
    """The VGG part of the objective over one window of the layers' positions (a tile's own
    positions; the whole map when untiled): the style loss against the folded matches and the
    content loss. Summed over windows it is the whole objective's VGG part.

    Args:
        feats: layer → (1, C, h', w') features of the window (its own positions only).
        window: layer → (rows, cols) slices of the full layer map that ``feats`` covers.
    """
    loss = None
    for layer in layers:
        rows, cols = window[layer.name]
        d = feats[layer.name] - layer.target[:, :, rows, cols]  # (1, C, h', w')
        norm = float(layer.coverage.sum()) * d.shape[1]
        term = (s.style_weight / len(layers) * layer.scale / norm
                * (layer.coverage[:, :, rows, cols] * d * d).sum())
        loss = term if loss is None else loss + term
    for name, target in content.items():
        rows, cols = window[name]
        d = feats[name] - target[:, :, rows, cols]
        term = s.content_weight / len(content) * content_scale[name] * (d * d).sum() / target.numel()
        loss = term if loss is None else loss + term
    return loss


def image_loss(img: torch.Tensor, layers: list[StyleLayer], s: NeuralSettings) -> torch.Tensor:
    """The objective's terms on the pixels themselves: colours against the matched patches'
    colours (at each layer's resolution) and smoothness."""
    loss = img.new_zeros(())
    if s.colour_weight > 0:
        for layer in layers:
            small = pool_to(img, layer.target_colour.shape[2:])  # (1, 3, h, w)
            dc = small - layer.target_colour
            norm = float(layer.coverage.sum()) * 3
            loss = loss + s.colour_weight / len(layers) * (layer.coverage * dc * dc).sum() / norm
    if s.smoothness > 0:
        loss = loss + s.smoothness * smoothness_loss(img)
    return loss


class Objective:
    """One phase's objective: the style side of every matched layer, the content targets and
    the tiling; evaluates the loss (adding its gradient into the image) and re-matches.

    Args:
        image_hw: (H, W) of the image being optimised; the other arguments as for
            :func:`run_phase`.
    """

    def __init__(self, vgg, style: torch.Tensor, style_semantic: torch.Tensor | None,
                 target_semantic: torch.Tensor | None, content: torch.Tensor | None,
                 image_hw: tuple[int, int], s: NeuralSettings, plan: TilePlan,
                 generator: torch.Generator | None):
        self.vgg, self.s, self.plan = vgg, s, plan
        self.layers = style_layers(vgg, style, style_semantic, target_semantic, image_hw, s, plan,
                                   generator)
        self.content = ({} if content is None or s.content_weight <= 0 else
                        {k: v.float() for k, v in tiled_features(vgg, content, list(s.content_layers),
                                                                 plan, s.channels_last).items()})
        self.content_scale = {k: 1.0 / float((v * v).mean().clamp_min(1e-8))
                              for k, v in self.content.items()}
        self.wanted = list(dict.fromkeys([*s.style_layers, *self.content]))
        self.match_dtype = _match_dtype(s.match_dtype, style.device)
        self.workers = torch.get_num_threads()

    def rematch(self, img: torch.Tensor) -> None:
        """Match the patches of ``img`` (1, 3, H, W) to the style anew."""
        with torch.no_grad(), threads(self.workers):
            feats = tiled_features(self.vgg, img.detach(), list(self.s.style_layers), self.plan,
                                   self.s.channels_last)
            rematch(self.layers, feats, self.s, self.match_dtype)

    def evaluate(self, img: torch.Tensor) -> float:
        """The loss at ``img`` (a leaf requiring grad); its gradient is added to ``img.grad``."""
        s = self.s
        with threads(self.workers):  # the VGG passes: every thread
            total = tiled_backward(self.vgg, img, self.wanted, self.plan,
                                   lambda feats, window: feature_loss(feats, window, self.layers,
                                                                      self.content, self.content_scale, s),
                                   s.channels_last)
        rest = image_loss(img, self.layers, s)  # small operations: on the caller's threads
        rest.backward()
        return total + float(rest.detach())


def run_phase(vgg, image: torch.Tensor, style: torch.Tensor, *, settings: NeuralSettings,
              style_semantic: torch.Tensor | None = None,
              target_semantic: torch.Tensor | None = None,
              content: torch.Tensor | None = None, plan: TilePlan | None = None,
              generator: torch.Generator | None = None,
              progress: ProgressCallback | None = None, task: str = "phase",
              on_step: Callable[[int, torch.Tensor], None] | None = None,
              start_step: int = 0) -> tuple[torch.Tensor, PhaseLog]:
    """Optimise ``image`` for one resolution: re-match, then up to ``match_every`` L-BFGS
    steps, until ``iterations`` steps or convergence.

    Args:
        vgg: a ``VGGFeatures`` network (frozen).
        image: (1, 3, H, W) start image in [0, 1].
        style: (1, 3, Hs, Ws) style image at this phase's scale.
        style_semantic: (1, K, Hs, Ws) one-hot style regions, or ``None``.
        target_semantic: (1, K, H, W) one-hot doodle regions, or ``None``.
        content: (1, 3, H, W) content image, or ``None`` (no content loss).
        plan: how the VGG passes are tiled (default: whole images).
        generator: randomness of the matching projection.
        on_step: called as ``on_step(step, image)`` after every matching period.
        start_step: steps already done in this phase (when resuming).

    Returns:
        The optimised image (clamped to [0, 1]) and the phase log.
    """
    s = settings
    plan = plan or TilePlan.create(vgg.layer_names, [*s.style_layers, *s.content_layers])
    log = PhaseLog(size=(image.shape[2], image.shape[3]), tiles=plan.count(image.shape[2:]))
    t_phase = time.perf_counter()
    objective = Objective(vgg, style, style_semantic, target_semantic, content,
                          tuple(image.shape[2:]), s, plan, generator)
    log.setup_seconds = time.perf_counter() - t_phase
    img = image.detach().clone().contiguous().requires_grad_(True)  # L-BFGS needs a flat view
    opt = torch.optim.LBFGS([img], lr=1.0, max_iter=max(1, s.match_every),
                            history_size=s.history, line_search_fn="strong_wolfe",
                            tolerance_grad=1e-9, tolerance_change=1e-12)
    last = [float("nan")]

    def closure() -> torch.Tensor:
        opt.zero_grad(set_to_none=False)
        last[0] = objective.evaluate(img)
        log.evaluations += 1
        return torch.tensor(last[0], dtype=img.dtype)

    step = start_step
    while step < s.iterations:
        t0 = time.perf_counter()
        objective.rematch(img)
        log.matchings += 1
        log.match_seconds += time.perf_counter() - t0
        n = min(max(1, s.match_every), s.iterations - step)
        opt.param_groups[0].update(max_iter=n, max_eval=n * 5 // 4 + 1)
        with threads(1):  # L-BFGS bookkeeping and the pixel terms: many small operations
            opt.step(closure)
        with torch.no_grad():
            img.clamp_(0.0, 1.0)
        step += n
        log.steps = step
        log.loss.append(last[0])
        report(progress, task, step, s.iterations, loss=last[0])
        if on_step is not None:
            on_step(step, img.detach())
        if _converged(log.loss, s.tolerance):
            report(progress, task, s.iterations, s.iterations, "converged", loss=last[0])
            break
    log.seconds = time.perf_counter() - t_phase
    return img.detach().contiguous().clamp(0, 1), log


def _converged(losses: list[float], tolerance: float) -> bool:
    """Whether the last matching period improved the loss by less than ``tolerance``.

    Raises:
        ArtkitError: the loss is not finite (the optimisation diverged).
    """
    if not math.isfinite(losses[-1]):
        raise ArtkitError("the optimisation diverged (loss is not finite)",
                          "lower --style-weight or --smoothness, or use --init content")
    return tolerance > 0 and len(losses) >= 2 and losses[-2] - losses[-1] < tolerance * abs(losses[-2])


def _match_dtype(name: str, device: torch.device) -> torch.dtype | None:
    if name == "float32":
        return None
    if name == "bfloat16":
        return torch.bfloat16
    return torch.bfloat16 if device.type == "cuda" else None
