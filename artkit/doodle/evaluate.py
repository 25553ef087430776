"""Quality scores for semantic style transfer: does the output follow the doodle, in the style?

Two numbers, both computed on small Lab patches at reduced resolution and both deterministic for
the same inputs (the random directions and subsets come from a fixed-seed generator unless one is
passed):

- **label fidelity** — for output patch centres on a grid (every 2nd centre in each direction by
  default, at the working resolution) the exact nearest style patch is found (squared L2 over all
  style patches, by chunked matmul); the output pixel counts as faithful when the style label at
  that patch's centre equals the doodle label at the output patch's centre. The score is the
  faithful fraction. Higher is better (1 = every output patch looks most like a patch of the
  region the doodle asks for).
- **style distance** — for each region r present in both the doodle and the style map, the sliced
  Wasserstein-1 distance between the output patches centred in doodle region r and the style
  patches centred in style region r: the mean, over ``projections`` random unit directions, of
  the exact 1-D W1 between the projected sets (each set first randomly subsampled to at most
  ``max_patches``; unequal sizes are compared through their quantile functions). The regions are
  averaged weighted by their doodle area (their share of the scored output centres). Lower is
  better (0 = the same patch distribution).

Patches are ``patch``×``patch`` windows (valid positions only, so a border of ``patch // 2``
pixels is not scored) of the image resized by ``scale`` (antialiased bilinear), in Lab with the
channels normalised to comparable ranges: L/100, a/110, b/110. Labels are taken at the working
resolution by nearest-centre sampling.

``baselines`` makes the two reference outputs every real result should beat: the doodle filled
with each region's mean style colour, and the style image resized to the output size.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

from artkit.core.errors import ArtkitError
from artkit.core.images import ImageLike, as_image, pil_to_tensor, rgb_to_lab
from artkit.core.result import Evaluation, Timer
from artkit.doodle.maps import prepare_maps

LAB_SCALE = (100.0, 110.0, 110.0)  # L, a, b are divided by these before patches are taken
QUERY_STRIDE = 2                   # label fidelity looks at every 2nd patch centre
DEFAULT_SEED = 0                   # seed of the generator used when none is passed
_CHUNK_ELEMENTS = 1 << 24          # distance-matrix entries per chunk of the NN search (64 MB)


@dataclass
class DoodleScores:
    """Scores of one output against its style and doodle.

    Args:
        label_fidelity: fraction of scored output pixels whose nearest style patch lies in the
            region the doodle asks for (0–1, higher is better).
        style_distance: sliced Wasserstein-1 distance between output and style patches of the
            same region, averaged over the regions present in both maps weighted by doodle area
            (normalised-Lab units, lower is better; ``nan`` when no region is shared).
        per_region: region index → ``{"area", "label_fidelity", "style_distance"}``; ``area`` is
            the region's fraction of the scored output pixels; ``style_distance`` is ``nan`` for
            a region the style map lacks at the working resolution.
    """

    label_fidelity: float
    style_distance: float
    per_region: dict[int, dict[str, float]] = field(default_factory=dict)


# ------------------------------------------------------------------------------ building blocks


def nearest_patches(queries: torch.Tensor, keys: torch.Tensor,
                    chunk: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Exact nearest neighbours under squared L2, by chunked matmul.

    Uses ‖q − k‖² = ‖q‖² − 2 q·k + ‖k‖² on data centred on the keys' mean (which keeps the
    float32 cancellation small). Ties go to the lowest key index.

    Args:
        queries: (N, D) float.
        keys: (M, D) float, M ≥ 1.
        chunk: queries per matmul; by default as many as keep one (chunk, M) block at 16 M entries.

    Returns:
        (N,) int64 index of each query's nearest key, and (N,) its squared distance.
    """
    if keys.shape[0] == 0:
        raise ArtkitError("no style patches to search", "use a larger style image or smaller patch")
    mean = keys.mean(0, keepdim=True)
    k = keys - mean                                       # (M, D)
    q = queries - mean                                    # (N, D)
    kk = (k * k).sum(1, keepdim=True)                     # (M, 1)
    qq = (q * q).sum(1)                                   # (N,)
    # one matmul gives ‖k‖² − 2 q·k: queries get a constant 1, keys −2k and ‖k‖²
    ka = torch.cat([-2.0 * k, kk], 1).t().contiguous()    # (D + 1, M)
    qa = torch.cat([q, torch.ones_like(q[:, :1])], 1)     # (N, D + 1)
    step = chunk or max(1, _CHUNK_ELEMENTS // max(1, k.shape[0]))
    idx = torch.empty(q.shape[0], dtype=torch.long)
    best = torch.empty(q.shape[0], dtype=q.dtype)
    buf = torch.empty(min(step, q.shape[0]), k.shape[0], dtype=q.dtype)  # reused: no page faults
    for start in range(0, q.shape[0], step):
        n = min(step, q.shape[0] - start)
        part = torch.mm(qa[start:start + n], ka, out=buf[:n])            # (n, M)
        torch.min(part, 1, out=(best[start:start + n], idx[start:start + n]))
    return idx, (best + qq).clamp(min=0.0)


def wasserstein_1d(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Exact W1 between the empirical distributions of rows of ``a`` and rows of ``b``.

    Sizes may differ: the quantile functions are compared on the union of both step grids
    (levels i/n_a and j/n_b), which is exact. For n_a = n_b it is mean |sort(a) − sort(b)|.

    Args:
        a: (P, n_a) samples, one distribution per row.
        b: (P, n_b) samples.

    Returns:
        (P,) distances.
    """
    na, nb = a.shape[1], b.shape[1]
    sa, _ = a.sort(1)
    sb, _ = b.sort(1)
    if na == nb:
        return (sa - sb).abs().mean(1)
    levels = torch.cat([torch.arange(1, na + 1, dtype=torch.float64) / na,
                        torch.arange(1, nb + 1, dtype=torch.float64) / nb]).unique()  # sorted
    lo = torch.cat([torch.zeros(1, dtype=torch.float64), levels[:-1]])
    width = (levels - lo).to(a.dtype)                     # (G,)
    mid = (levels + lo) / 2
    ia = (mid * na).long().clamp(max=na - 1)              # quantile index of a on each step
    ib = (mid * nb).long().clamp(max=nb - 1)
    return ((sa[:, ia] - sb[:, ib]).abs() * width).sum(1)


def sliced_wasserstein(a: torch.Tensor, b: torch.Tensor, directions: torch.Tensor) -> float:
    """Sliced Wasserstein-1: the mean over ``directions`` of the exact 1-D W1 of the projections.

    Args:
        a: (n_a, D) samples.
        b: (n_b, D) samples.
        directions: (P, D) unit vectors.
    """
    return float(wasserstein_1d(directions @ a.t(), directions @ b.t()).mean())


def random_directions(count: int, dim: int, generator: torch.Generator) -> torch.Tensor:
    """(count, dim) directions uniform on the unit sphere (normalised Gaussians)."""
    d = torch.randn(count, dim, generator=generator, dtype=torch.float32)
    return d / d.norm(dim=1, keepdim=True).clamp(min=1e-12)


def _labels(labels: torch.Tensor | np.ndarray, name: str) -> torch.Tensor:
    t = torch.as_tensor(np.asarray(labels) if not isinstance(labels, torch.Tensor) else labels)
    if t.dim() != 2:
        raise ArtkitError(f"{name} must be a (H, W) label image, got shape {tuple(t.shape)}")
    return t.long().cpu()


def _image(x: torch.Tensor, name: str) -> torch.Tensor:
    if x.dim() != 4 or x.shape[0] != 1 or x.shape[1] != 3:
        raise ArtkitError(f"{name} must be a (1, 3, H, W) RGB tensor, got {tuple(x.shape)}")
    return x.detach().float().cpu()


def _work_size(h: int, w: int, scale: float) -> tuple[int, int]:
    return max(1, round(h * scale)), max(1, round(w * scale))


def _resize_labels(labels: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Nearest-centre resampling of (H, W) labels to ``size`` = (h, w)."""
    h, w = size
    H, W = labels.shape
    rows = ((torch.arange(h, dtype=torch.float64) + 0.5) * H / h).long().clamp(max=H - 1)
    cols = ((torch.arange(w, dtype=torch.float64) + 0.5) * W / w).long().clamp(max=W - 1)
    return labels[rows][:, cols]


def lab_patches(rgb: torch.Tensor, patch: int,
                stride: int = 1) -> tuple[torch.Tensor, tuple[int, int]]:
    """Normalised-Lab patches of a (1, 3, H, W) RGB image.

    Returns:
        (L, 3·patch²) patch vectors in raster order of their top-left corner, and the (rows, cols)
        of that grid; the patch at grid (i, j) is centred on pixel (i·stride + patch//2,
        j·stride + patch//2).
    """
    lab = rgb_to_lab(rgb.clamp(0, 1))                                         # (1, 3, H, W)
    lab = lab / torch.tensor(LAB_SCALE, dtype=lab.dtype).view(1, 3, 1, 1)
    rows = (lab.shape[2] - patch) // stride + 1
    cols = (lab.shape[3] - patch) // stride + 1
    unfolded = F.unfold(lab, patch, stride=stride)                            # (1, D, L)
    return unfolded[0].t().contiguous(), (rows, cols)


def _centre_labels(labels: torch.Tensor, grid: tuple[int, int], patch: int,
                   stride: int) -> torch.Tensor:
    """Labels at the centres of a patch grid, flattened to (L,)."""
    c = patch // 2
    r = torch.arange(grid[0]) * stride + c
    q = torch.arange(grid[1]) * stride + c
    return labels[r][:, q].reshape(-1)


def _subsample(x: torch.Tensor, limit: int, generator: torch.Generator) -> torch.Tensor:
    if x.shape[0] <= limit:
        return x
    keep = torch.randperm(x.shape[0], generator=generator)[:limit]
    return x[keep.sort().values]


# ----------------------------------------------------------------------------------- scoring


def score(output: torch.Tensor, style: torch.Tensor,
          style_labels: torch.Tensor | np.ndarray, target_labels: torch.Tensor | np.ndarray, *,
          patch: int = 7, scale: float = 0.5, projections: int = 64, max_patches: int = 4096,
          stride: int = QUERY_STRIDE, generator: torch.Generator | None = None) -> DoodleScores:
    """Score an output painting against its style painting and the doodle it should follow.

    See the module docstring for the exact definitions. Cost at 512×384 with the defaults: one
    exact NN search of ~12 k output patches against ~47 k style patches of 147 values, about
    8 CPU-seconds (4 s on two free cores), 6 of them in the search.

    Args:
        output: (1, 3, H_t, W_t) RGB in [0, 1].
        style: (1, 3, H_s, W_s) RGB in [0, 1].
        style_labels: (H_s, W_s) int region of every style pixel.
        target_labels: (H_t, W_t) int region the doodle asks for at every output pixel.
        patch: patch side in pixels at the working resolution.
        scale: working resolution relative to the inputs.
        projections: random directions of the sliced Wasserstein distance.
        max_patches: each region's output and style patch sets are randomly subsampled to at most
            this many before the distance.
        stride: label fidelity scores every ``stride``-th output patch centre in each direction
            (the NN search costs ∝ 1/stride²).
        generator: source of the directions and subsets; a fresh one seeded with 0 when ``None``
            (so the scores are deterministic).

    Raises:
        ArtkitError: shapes disagree, or an image is too small for one patch.
    """
    out, sty = _image(output, "output"), _image(style, "style")
    slab, tlab = _labels(style_labels, "style_labels"), _labels(target_labels, "target_labels")
    if tuple(slab.shape) != tuple(sty.shape[2:]):
        raise ArtkitError(f"style_labels {tuple(slab.shape)} do not match the style image "
                          f"{tuple(sty.shape[2:])}")
    if tuple(tlab.shape) != tuple(out.shape[2:]):
        raise ArtkitError(f"target_labels {tuple(tlab.shape)} do not match the output "
                          f"{tuple(out.shape[2:])}", "resize the doodle to the output size")
    if patch < 1 or scale <= 0 or projections < 1 or max_patches < 1 or stride < 1:
        raise ArtkitError("patch, scale, projections, max_patches and stride must be positive")
    gen = generator if generator is not None else torch.Generator().manual_seed(DEFAULT_SEED)

    sizes = {"output": _work_size(*out.shape[2:], scale),
             "style": _work_size(*sty.shape[2:], scale)}
    for name, (h, w) in sizes.items():
        if h < patch or w < patch:
            raise ArtkitError(f"the {name} image is {h}x{w} px at scale {scale}, smaller than one "
                              f"{patch}x{patch} patch",
                              "use a larger image or scale, or a smaller patch")
    out_s = F.interpolate(out, size=sizes["output"], mode="bilinear", antialias=True,
                          align_corners=False) if sizes["output"] != tuple(out.shape[2:]) else out
    sty_s = F.interpolate(sty, size=sizes["style"], mode="bilinear", antialias=True,
                          align_corners=False) if sizes["style"] != tuple(sty.shape[2:]) else sty
    tl = _resize_labels(tlab, sizes["output"])             # (h_t, w_t)
    sl = _resize_labels(slab, sizes["style"])              # (h_s, w_s)

    with torch.inference_mode():
        style_p, sgrid = lab_patches(sty_s, patch)         # (M, D)
        style_c = _centre_labels(sl, sgrid, patch, 1)      # (M,)
        out_p, ogrid = lab_patches(out_s, patch)           # (L, D), all positions
        out_c = _centre_labels(tl, ogrid, patch, 1)        # (L,)

        # label fidelity on a stride grid of output patch centres
        on_grid = torch.zeros(ogrid, dtype=torch.bool)
        on_grid[::stride, ::stride] = True
        on_grid = on_grid.reshape(-1)
        nn_idx, _ = nearest_patches(out_p[on_grid], style_p)
        asked = out_c[on_grid]                             # (N,)
        hit = style_c[nn_idx] == asked                     # (N,)

        directions = random_directions(projections, style_p.shape[1], gen)  # (P, D)
        per_region: dict[int, dict[str, float]] = {}
        total, weighted = 0, 0.0
        for r in sorted(asked.unique().tolist()):
            mask = asked == r
            entry = {"area": float(mask.float().mean()),
                     "label_fidelity": float(hit[mask].float().mean()),
                     "style_distance": float("nan")}
            a = out_p[out_c == r]
            b = style_p[style_c == r]
            if len(b):
                d = sliced_wasserstein(_subsample(a, max_patches, gen),
                                       _subsample(b, max_patches, gen), directions)
                entry["style_distance"] = d
                weighted += d * int(mask.sum())
                total += int(mask.sum())
            per_region[int(r)] = entry
    return DoodleScores(label_fidelity=float(hit.float().mean()),
                        style_distance=weighted / total if total else float("nan"),
                        per_region=per_region)


# ----------------------------------------------------------------------------------- baselines


def baselines(style: torch.Tensor, style_labels: torch.Tensor | np.ndarray,
              target_labels: torch.Tensor | np.ndarray,
              palette_or_regions: np.ndarray | int) -> dict[str, torch.Tensor]:
    """Reference outputs a semantic style transfer should beat.

    Args:
        style: (1, 3, H_s, W_s) RGB in [0, 1].
        style_labels: (H_s, W_s) int.
        target_labels: (H_t, W_t) int.
        palette_or_regions: the (K, 3) palette of the maps, or K.

    Returns:
        ``"mean-colour"``: (1, 3, H_t, W_t) the doodle with every region filled by that region's
        mean style colour (the mean of the whole style image for a region the style lacks);
        ``"resized-style"``: (1, 3, H_t, W_t) the style image resized (antialiased bilinear).
    """
    sty = _image(style, "style")
    slab, tlab = _labels(style_labels, "style_labels"), _labels(target_labels, "target_labels")
    k = int(palette_or_regions) if np.ndim(palette_or_regions) == 0 else len(palette_or_regions)
    if tuple(slab.shape) != tuple(sty.shape[2:]):
        raise ArtkitError(f"style_labels {tuple(slab.shape)} do not match the style image "
                          f"{tuple(sty.shape[2:])}")
    for name, lab in (("style_labels", slab), ("target_labels", tlab)):
        if lab.numel() and (lab.min() < 0 or lab.max() >= k):
            raise ArtkitError(f"{name} hold labels outside 0..{k - 1}")
    flat = sty[0].reshape(3, -1)                                                # (3, H_s·W_s)
    sums = torch.zeros(k, 3).index_add_(0, slab.reshape(-1), flat.t())          # (K, 3)
    counts = torch.bincount(slab.reshape(-1), minlength=k).float()              # (K,)
    means = torch.where(counts[:, None] > 0, sums / counts.clamp(min=1)[:, None], flat.mean(1))
    fill = means[tlab].permute(2, 0, 1).unsqueeze(0).contiguous()               # (1, 3, H_t, W_t)
    resized = F.interpolate(sty, size=tuple(tlab.shape), mode="bilinear", antialias=True,
                            align_corners=False).clamp(0, 1)
    return {"mean-colour": fill, "resized-style": resized}


@dataclass(kw_only=True)
class DoodleEvaluation(Evaluation):
    """The scores of one painting and of the two baselines (see the module docstring).

    Args:
        output: the painting's scores.
        baselines: ``"mean-colour"`` and ``"resized-style"`` → their scores.
        regions: the region colours (``"#rrggbb"``); per-region keys index this list.
    """

    output: DoodleScores
    baselines: dict[str, DoodleScores]
    regions: list[str]

    def rows(self) -> list[tuple[str, float, float]]:
        """(image, label fidelity, style distance) for the output, then each baseline."""
        return [(name, s.label_fidelity, s.style_distance)
                for name, s in [("output", self.output), *self.baselines.items()]]

    def to_dict(self) -> dict:
        return {"output": asdict(self.output),
                "baselines": {k: asdict(v) for k, v in self.baselines.items()},
                "regions": list(self.regions), "seconds": self.seconds, "notes": list(self.notes)}


def evaluate(output: ImageLike, style: ImageLike, style_map: ImageLike, target_map: ImageLike,
             **options) -> DoodleEvaluation:
    """Score a painting and the two baselines.

    The style map is resized to the style image and the doodle to the output, both read the way
    a painting run reads them (:func:`artkit.doodle.maps.prepare_maps`).

    Args:
        output: the painting to score (a path, PIL image, array or tensor).
        style: the style painting.
        style_map: its semantic map.
        target_map: the doodle the output should follow.
        **options: passed to :func:`score` (``patch``, ``scale``, ``projections``, ...).

    Example:
        >>> import numpy as np
        >>> style = np.zeros((32, 32, 3), np.uint8); style[:, 16:] = 255
        >>> smap = style.copy()
        >>> ev = evaluate(style, style, smap, smap, scale=1.0, patch=3)
        >>> round(ev.output.label_fidelity, 2), sorted(ev.baselines)
        (1.0, ['mean-colour', 'resized-style'])
    """
    with Timer() as timer:
        out_im = as_image(output, "RGB", "painting")
        style_im = as_image(style, "RGB", "style painting")
        maps = prepare_maps(style_im.size, as_image(style_map, "RGBA", "style map"),
                            as_image(target_map, "RGBA", "doodle"), target_size=out_im.size)
        out, sty = pil_to_tensor(out_im), pil_to_tensor(style_im)
        refs = baselines(sty, maps.style_labels, maps.target_labels, maps.palette)
        scores = score(out, sty, maps.style_labels, maps.target_labels, **options)
        base = {name: score(img, sty, maps.style_labels, maps.target_labels, **options)
                for name, img in refs.items()}
    return DoodleEvaluation(output=scores, baselines=base,
                            regions=["#%02x%02x%02x" % tuple(int(v) for v in c) for c in maps.palette],
                            seconds=timer.seconds, notes=list(maps.notes))
