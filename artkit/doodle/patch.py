"""The patch engine: guided patch-based texture synthesis, no network.

Texture optimisation (Kwatra et al. 2005) with Image-Analogies-style guidance channels: every
output pixel is the average of the style pixels that the overlapping matched style patches put
there ("voting"), and the matches come from a nearest-neighbour field (NNF) found by PatchMatch
(Barnes et al. 2009: propagation from neighbours plus random search in shrinking windows). The
region maps enter the patch vectors as one-hot channels, so a patch of sea in the doodle looks
for patches of sea in the painting. Work runs coarse to fine over an image pyramid, and a
usage term (in the spirit of Jamriška et al. 2015, StyLit) penalises style patches that many
output patches already copy, so strokes are spread over the whole painting instead of cloned.

Everything is vectorised in torch: a PatchMatch step scores a batch of candidates for every
output pixel at once. To keep those steps cheap the patch vectors (Lab colour + guidance, e.g.
7×7×7 = 343 numbers) are projected per level onto their leading principal components
(``SEARCH_DIMS``) and the search compares the projections. Votes are weighted towards good
matches, and the very last image is not averaged at all: every pixel copies the centre pixel of
its own match, so the result is made of real style pixels and keeps the brush strokes crisp.
The coarsest level starts from a random field drawn within each pixel's region, shown as those
style pixels in random order (the right colours, no blend).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from artkit.core.errors import ArtkitError
from artkit.core.images import rgb_to_lab
from artkit.core.progress import report
from artkit.core.runtime import threads

SEARCH_DIMS = 32        # principal components of the patch vectors compared by the search
MIN_COARSE_SIDE = 40    # automatic pyramids stop before the short side gets smaller than this
PCA_SAMPLES = 8192      # style patches used to fit the projection
VOTE_SHARPNESS = 2.0    # votes weigh exp(-sharpness · cost / mean cost): good matches count more


@dataclass
class PatchConfig:
    """Settings of the patch engine.

    Args:
        patch_size: side of the square patches, odd.
        levels: pyramid levels; 0 picks them so the coarsest short side stays ≥ ~40 px.
        em_iterations: search + vote rounds at the finest level (coarser levels get twice as
            many, they are cheap).
        pm_iterations: PatchMatch passes (propagation + random search) per search.
        guidance_weight: weight of the region channels relative to colour; 1 makes one
            mislabelled pixel cost as much as the colour difference of two random style pixels.
        uniformity: strength of the even-usage term (0 = off): a style patch whose pixels are
            copied more than an even share of its region pays ``uniformity`` × (mean match
            cost) × (its copies / even share − 1).
        content_weight: with a content photo, weight of its (remapped) luminance as a guidance
            channel matched against the style's luminance.
    """

    patch_size: int = 7
    levels: int = 0
    em_iterations: int = 4
    pm_iterations: int = 4
    guidance_weight: float = 2.0
    uniformity: float = 1.0
    content_weight: float = 0.0


# ----------------------------------------------------------------------------------- checks


def _check_inputs(style: Tensor, style_labels: Tensor, target_labels: Tensor | None,
                  regions: int, size: tuple[int, int], content: Tensor | None,
                  init: Tensor | None, cfg: PatchConfig) -> None:
    p = cfg.patch_size
    if p < 3 or p % 2 == 0:
        raise ArtkitError(f"patch size must be an odd number ≥ 3, got {p}")
    if style.dim() != 4 or style.shape[:2] != (1, 3):
        raise ArtkitError(f"style must be a (1, 3, H, W) image tensor, got {tuple(style.shape)}")
    hs, ws = style.shape[-2:]
    ht, wt = size
    if min(hs, ws) < p:
        raise ArtkitError(f"the style image ({ws}x{hs}) is smaller than one {p}x{p} patch",
                          "use a larger style image or a smaller patch size")
    if min(ht, wt) < p:
        raise ArtkitError(f"the output size {wt}x{ht} is smaller than one {p}x{p} patch",
                          "ask for a larger output or a smaller patch size")
    if tuple(style_labels.shape) != (hs, ws):
        raise ArtkitError(f"style labels {tuple(style_labels.shape)} do not match the style "
                          f"image {hs}x{ws}")
    if regions < 1 or int(style_labels.max()) >= regions or int(style_labels.min()) < 0:
        raise ArtkitError(f"style labels must lie in 0..{regions - 1}")
    if target_labels is not None:
        if tuple(target_labels.shape) != (ht, wt):
            raise ArtkitError(f"target labels {tuple(target_labels.shape)} do not match the "
                              f"output size {ht}x{wt}")
        if int(target_labels.max()) >= regions or int(target_labels.min()) < 0:
            raise ArtkitError(f"target labels must lie in 0..{regions - 1}")
        have = torch.bincount(style_labels.flatten(), minlength=regions)
        used = torch.unique(target_labels).tolist()
        for r in used:
            if have[r] == 0:
                raise ArtkitError(f"region {r} of the doodle has no pixels in the style map",
                                  "paint the doodle only with regions the style map has")
    for name, t in (("content", content), ("init", init)):
        if t is not None and (t.dim() != 4 or tuple(t.shape) != (1, 3, ht, wt)):
            raise ArtkitError(f"the {name} image must be (1, 3, {ht}, {wt}), "
                              f"got {tuple(t.shape)}")


def _level_count(cfg: PatchConfig, style_hw: tuple[int, int], size: tuple[int, int]) -> int:
    """Pyramid depth: the configured one, or the most that keeps every image ≥ ~40 px."""
    if cfg.levels > 0:
        return cfg.levels
    short = min(*style_hw, *size)
    floor = max(MIN_COARSE_SIDE, 3 * cfg.patch_size)
    levels = 1
    while short / 2 ** levels >= floor:
        levels += 1
    return levels


# ----------------------------------------------------------------------------------- pyramid


def _resize(x: Tensor, hw: tuple[int, int]) -> Tensor:
    """Antialiased resize of (1, C, H, W); a no-op at the same size."""
    if tuple(x.shape[-2:]) == tuple(hw):
        return x
    return F.interpolate(x, size=hw, mode="bilinear", antialias=True, align_corners=False)


def _soft_onehot(labels: Tensor, regions: int, hw: tuple[int, int]) -> Tensor:
    """(H, W) labels → (1, K, h, w) area-averaged one-hot channels."""
    onehot = F.one_hot(labels.long(), regions).permute(2, 0, 1).unsqueeze(0).float()
    if tuple(onehot.shape[-2:]) == tuple(hw):
        return onehot
    return F.adaptive_avg_pool2d(onehot, hw) if _divides(onehot.shape[-2:], hw) else \
        F.interpolate(onehot, size=hw, mode="bilinear", antialias=True, align_corners=False)


def _divides(src, dst) -> bool:
    return all(s % d == 0 for s, d in zip(src, dst))


def _sizes(hw: tuple[int, int], levels: int) -> list[tuple[int, int]]:
    """Sizes from coarsest to finest, halving per level."""
    return [(max(1, round(hw[0] / 2 ** k)), max(1, round(hw[1] / 2 ** k)))
            for k in reversed(range(levels))]


# ----------------------------------------------------------------------------------- patches


def _fit_projection(feat: Tensor, p: int, dims: int,
                    generator: torch.Generator | None) -> tuple[Tensor, Tensor]:
    """Principal components of the valid patches of ``feat`` (1, C, H, W).

    Returns:
        weight (d, C, p, p): the components as convolution kernels, and bias (d,) that
        centres them, so ``conv2d(feat, weight, bias)`` projects every patch at once.
    """
    _, c, h, w = feat.shape
    hv, wv = h - p + 1, w - p + 1
    n = hv * wv
    pick = torch.randperm(n, generator=generator)[:PCA_SAMPLES] if n > PCA_SAMPLES else \
        torch.arange(n)
    ys, xs = pick // wv, pick % wv
    offs = torch.arange(p)
    rows = ys[:, None] + offs[None, :]  # (M, p)
    cols = xs[:, None] + offs[None, :]  # (M, p)
    patches = feat[0][:, rows[:, :, None], cols[:, None, :]]  # (C, M, p, p)
    vecs = patches.permute(1, 0, 2, 3).reshape(len(pick), c * p * p).double()  # (M, D)
    mean = vecs.mean(0)
    cov = (vecs - mean).T @ (vecs - mean) / max(1, len(pick) - 1)
    with threads(1):  # a threaded 343×343 eigh stalls on busy machines
        _, evecs = torch.linalg.eigh(cov)  # ascending eigenvalues
    basis = evecs[:, -min(dims, evecs.shape[1]):].flip(1).float()  # (D, d)
    weight = basis.T.reshape(-1, c, p, p).contiguous()
    return weight, -(mean.float() @ basis)


def _project(feat: Tensor, weight: Tensor, bias: Tensor, pad: bool) -> Tensor:
    """Project every patch of ``feat`` (1, C, H, W): (N, d), centres in row-major order.

    With ``pad`` the image is reflect-padded so every pixel is a centre; otherwise only
    centres whose patch lies inside the image count.
    """
    r = weight.shape[-1] // 2
    if pad:
        feat = F.pad(feat, (r, r, r, r), mode="reflect")
    out = F.conv2d(feat, weight, bias)  # (1, d, Hv, Wv)
    return out[0].flatten(1).T.contiguous()  # (N, d)


# ----------------------------------------------------------------------------------- one level


class _Level:
    """The style side of one pyramid level: projected patch bank, labels, samplers.

    Matches are stored as (y, x) of the patch's top-left corner in the grid of valid patches
    (Hv = Hs − p + 1 by Wv = Ws − p + 1); the patch's centre is (y + r, x + r).
    """

    def __init__(self, style_rgb: Tensor, style_feat: Tensor, style_guide: Tensor | None,
                 target_labels: Tensor | None, p: int, generator: torch.Generator | None):
        self.p, self.r = p, p // 2
        self.hs, self.ws = style_rgb.shape[-2:]
        self.rgb = style_rgb[0].reshape(3, -1)  # (3, Hs*Ws)
        self.hv, self.wv = self.hs - p + 1, self.ws - p + 1
        self.weight, self.bias = _fit_projection(style_feat, p, SEARCH_DIMS, generator)
        self.bank = _project(style_feat, self.weight, self.bias, pad=False)  # (Nv, d)
        self.bank_sq = (self.bank * self.bank).sum(1)  # (Nv,)
        self.regions = int(style_guide.shape[1]) if style_guide is not None else 1
        if style_guide is not None:
            inner = style_guide[0, :, self.r:self.hs - self.r, self.r:self.ws - self.r]
            self.valid_labels = inner.argmax(0).flatten()  # (Nv,)
        else:
            inner = None
            self.valid_labels = torch.zeros(self.hv * self.wv, dtype=torch.long)
        self.target_labels = target_labels  # (Ht*Wt,) or None
        self._build_pools(inner)

    def _build_pools(self, inner: Tensor | None) -> None:
        """Per region, the valid patches to draw random matches from."""
        pools, starts, counts = [], [], []
        offset = 0
        for k in range(self.regions):
            idx = torch.nonzero(self.valid_labels == k).flatten()
            if len(idx) == 0 and inner is not None:  # region too thin at this level
                idx = torch.nonzero(inner[k].flatten() > 0).flatten()
            if len(idx) == 0:
                idx = torch.arange(self.hv * self.wv)
            pools.append(idx)
            starts.append(offset)
            counts.append(len(idx))
            offset += len(idx)
        self.pool = torch.cat(pools)
        self.pool_start = torch.tensor(starts)
        self.pool_count = torch.tensor(counts)

    def sample(self, n: int, generator: torch.Generator | None) -> Tensor:
        """Random valid-patch indices (n,), from the target pixel's region when known."""
        region = self.target_labels if self.target_labels is not None else \
            torch.zeros(n, dtype=torch.long)
        u = torch.rand(n, generator=generator)
        count = self.pool_count[region]
        return self.pool[self.pool_start[region] + torch.minimum((u * count).long(), count - 1)]

    def expected_usage(self, n_target: int) -> Tensor:
        """(Nv,) coverage a style pixel gets when its region's patches are used evenly."""
        area = self.p ** 2
        if self.target_labels is None:
            return torch.full((self.hv * self.wv,), area * n_target / (self.hv * self.wv))
        t_count = torch.bincount(self.target_labels, minlength=self.regions).float()
        per_region = (area * t_count / self.pool_count.float()).clamp(min=1e-3)
        return per_region[self.valid_labels]

    def overuse(self, idx: Tensor, expected: Tensor) -> Tensor:
        """(Nv,) how far each style patch's pixels are copied beyond even use (≥ 0)."""
        counts = torch.bincount(idx, minlength=self.hv * self.wv).float()
        counts = counts.view(1, 1, self.hv, self.wv)
        box = torch.ones(1, 1, self.p, self.p)
        cover = F.conv_transpose2d(counts, box)  # copies of each style pixel (1, 1, Hs, Ws)
        patch = F.conv2d(cover, box).flatten() / (self.p * self.p)  # (Nv,)
        return (patch / expected - 1.0).clamp(min=0.0)


def _costs(bank: Tensor, bank_sq: Tensor, tvec: Tensor, tvec_sq: Tensor, idx: Tensor,
           todo: Tensor | None = None) -> Tensor:
    """Squared distances (k, N) between target patches tvec (N, d) and bank rows idx (k, N).

    ``bank_sq`` (Nv,) and ``tvec_sq`` (N,) are the rows' squared norms. With ``todo`` (k, N)
    only those entries are scored (the rest are +inf); worth it when few are set.
    """
    k, n = idx.shape
    if todo is None or todo.float().mean() > 0.7:
        rows = bank.index_select(0, idx.flatten()).view(k, n, -1)  # (k, N, d)
        dot = torch.einsum("knd,nd->kn", rows, tvec)
        cost = bank_sq[idx] + tvec_sq - 2.0 * dot
        return cost if todo is None else cost.masked_fill(~todo, float("inf"))
    flat = idx.flatten()
    where = torch.nonzero(todo.flatten()).flatten()
    pix = where % n
    sel = flat.index_select(0, where)
    rows = bank.index_select(0, sel)  # (M, d)
    dot = (rows * tvec.index_select(0, pix)).sum(1)
    out = torch.full((k * n,), float("inf"))
    cost = bank_sq.index_select(0, sel) + tvec_sq.index_select(0, pix) - 2.0 * dot
    out.index_copy_(0, where, cost)
    return out.view(k, n)


def _patchmatch(level: _Level, tvec: Tensor, ny: Tensor, nx: Tensor, cfg: PatchConfig,
                radius: int, jumps: int,
                generator: torch.Generator | None) -> tuple[Tensor, Tensor, Tensor]:
    """Improve the NNF (ny, nx), each (Ht, Wt), against target patch vectors tvec (N, d).

    Every pass scores a batch of propagated candidates (neighbours' matches shifted by the
    neighbour's offset, in alternating directions; with ``jumps`` > 1 the first passes also
    look 2, 4, ... 2**(jumps - 1) pixels away, jump-flooding style), then a batch of random
    candidates in windows of shrinking radius plus one draw from the pixel's own region.
    Candidates equal to the current match are not scored again.

    Returns:
        the new (ny, nx) and the colour-and-guidance cost (N,) of every match.
    """
    ht, wt = ny.shape
    n = ht * wt
    hv1, wv1 = level.hv - 1, level.wv - 1
    ny, nx = ny.clamp(0, hv1), nx.clamp(0, wv1)
    tvec_sq = (tvec * tvec).sum(1)
    raw = _costs(level.bank, level.bank_sq, tvec, tvec_sq, (ny * level.wv + nx).view(1, n))[0]
    expected = level.expected_usage(n) if cfg.uniformity > 0 else None
    for it in range(cfg.pm_iterations):
        pen = None
        best = raw
        if expected is not None:
            scale = cfg.uniformity * raw.mean().clamp(min=1e-8)
            pen = level.overuse((ny * level.wv + nx).flatten(), expected) * scale  # (Nv,)
            best = raw + pen[(ny * level.wv + nx).flatten()]

        def consider(cy: Tensor, cx: Tensor) -> None:
            nonlocal ny, nx, raw, best
            cy, cx = cy.clamp(0, hv1), cx.clamp(0, wv1)  # (k, Ht, Wt)
            idx = (cy * level.wv + cx).view(len(cy), n)
            current = (ny * level.wv + nx).view(1, n)
            c_raw = _costs(level.bank, level.bank_sq, tvec, tvec_sq, idx, idx != current)
            c = c_raw + pen[idx] if pen is not None else c_raw
            c_min, arg = c.min(0)
            better = c_min < best
            best = torch.where(better, c_min, best)
            raw = torch.where(better, c_raw.gather(0, arg[None])[0], raw)
            mask = better.view(ht, wt)
            arg = arg.view(1, ht, wt)
            ny = torch.where(mask, cy.gather(0, arg)[0], ny)
            nx = torch.where(mask, cx.gather(0, arg)[0], nx)

        sign = 1 if it % 2 == 0 else -1
        for s in [2 ** k for k in reversed(range(max(1, jumps - it)))]:
            cands_y, cands_x = [], []
            for dy, dx in ((0, sign * s), (sign * s, 0), (0, -sign * s), (-sign * s, 0)):
                if abs(dy) < ht and abs(dx) < wt:
                    # the match of the neighbour at (y - dy, x - dx), moved by (dy, dx)
                    cands_y.append(torch.roll(ny, shifts=(dy, dx), dims=(0, 1)) + dy)
                    cands_x.append(torch.roll(nx, shifts=(dy, dx), dims=(0, 1)) + dx)
            if cands_y:
                consider(torch.stack(cands_y), torch.stack(cands_x))
        radii = []
        rad = float(radius)
        while rad >= 1.0:
            radii.append(rad)
            rad /= 2.0
        if radii:
            rad_t = torch.tensor(radii).view(-1, 1, 1)
            oy = ((torch.rand(len(radii), ht, wt, generator=generator) * 2 - 1) * rad_t).round()
            ox = ((torch.rand(len(radii), ht, wt, generator=generator) * 2 - 1) * rad_t).round()
            consider(ny + oy.long(), nx + ox.long())
        pick = level.sample(n, generator).view(1, ht, wt)
        consider(pick // level.wv, pick % level.wv)
    return ny, nx, raw


def _vote(level: _Level, ny: Tensor, nx: Tensor, weight: Tensor | None = None) -> Tensor:
    """Average the style pixels the overlapping matched patches put on every output pixel.

    Pixels near the border are covered by fewer patches; each pixel is divided by the weight
    it actually received.

    Args:
        weight: optional (Ht, Wt) weight of every output patch's votes (default: equal).
    """
    ht, wt = ny.shape
    p, r = level.p, level.r
    w = weight.view(1, ht, wt) if weight is not None else torch.ones(1, ht, wt)
    acc = torch.zeros(3, ht + p - 1, wt + p - 1)
    norm = torch.zeros(1, ht + p - 1, wt + p - 1)
    corner = (ny * level.ws + nx).flatten()  # top-left pixel of each match (N,)
    for dy in range(p):
        for dx in range(p):
            vals = level.rgb.index_select(1, corner + (dy * level.ws + dx)).view(3, ht, wt)
            acc[:, dy:dy + ht, dx:dx + wt] += vals * w
            norm[:, dy:dy + ht, dx:dx + wt] += w
    out = acc[:, r:r + ht, r:r + wt] / norm[:, r:r + ht, r:r + wt].clamp(min=1e-12)
    return out.unsqueeze(0)  # (1, 3, Ht, Wt)


def _centres(level: _Level, ny: Tensor, nx: Tensor) -> Tensor:
    """Every output pixel copies the centre pixel of its own match: (1, 3, Ht, Wt)."""
    ht, wt = ny.shape
    idx = ((ny + level.r) * level.ws + nx + level.r).flatten()
    return level.rgb.index_select(1, idx).view(1, 3, ht, wt)


def _upsample_nnf(ny: Tensor, nx: Tensor, style_src: tuple[int, int], style_dst: tuple[int, int],
                  hw: tuple[int, int], r: int) -> tuple[Tensor, Tensor]:
    """Carry a coarse NNF to the next level: scaled centres plus the sub-pixel offset."""
    hc, wc = ny.shape
    hf, wf = hw
    iy, ix = torch.arange(hf), torch.arange(wf)
    cy = (iy * hc // hf).clamp(max=hc - 1)
    cx = (ix * wc // wf).clamp(max=wc - 1)
    ry, rx = style_dst[0] / style_src[0], style_dst[1] / style_src[1]
    fy = (ny[cy][:, cx] + r).double() * ry + (iy - cy * hf / hc)[:, None] - r
    fx = (nx[cy][:, cx] + r).double() * rx + (ix - cx * wf / wc)[None, :] - r
    return fy.round().long(), fx.round().long()


# ----------------------------------------------------------------------------------- public


@dataclass
class _Guides:
    """What every pyramid level is built from: the style in Lab, the guidance scale, and the
    content photo's luminance remapped to the style's (when content guides the result)."""

    style_lab: Tensor            # (1, 3, Hs, Ws) Lab / 100
    guided: bool                 # region channels enter the patch vectors
    g_scale: float               # their weight relative to colour
    c_lum: Tensor | None         # (1, 1, Ht, Wt) remapped content luminance, or None
    s_lum: Tensor | None         # (1, 1, Hs, Ws) style luminance, or None


def _guides(style: Tensor, target_labels: Tensor | None, content: Tensor | None,
            cfg: PatchConfig) -> _Guides:
    style_lab = rgb_to_lab(style) / 100.0  # (1, 3, Hs, Ws), L in [0, 1]
    sigma = style_lab.var(dim=(2, 3)).sum().sqrt().clamp(min=1e-3)
    c_lum = s_lum = None
    if content is not None and cfg.content_weight > 0:
        c_lum = rgb_to_lab(content.detach().float().cpu())[:, :1] / 100.0
        s_lum = style_lab[:, :1]
        c_lum = (c_lum - c_lum.mean()) / c_lum.std().clamp(min=1e-4) * s_lum.std() + s_lum.mean()
    return _Guides(style_lab, target_labels is not None and cfg.guidance_weight > 0,
                   cfg.guidance_weight * float(sigma), c_lum, s_lum)


def _build_level(style: Tensor, style_labels: Tensor, target_labels: Tensor | None, regions: int,
                 shw: tuple[int, int], thw: tuple[int, int], g: _Guides, cfg: PatchConfig,
                 generator: torch.Generator | None):
    """One pyramid level: the style side (:class:`_Level`), a function turning an image into
    its projected patch vectors, and the doodle's labels at this level (or ``None``)."""
    s_rgb = _resize(style, shw)
    s_feat = [rgb_to_lab(s_rgb) / 100.0]
    s_guide = _soft_onehot(style_labels, regions, shw) if target_labels is not None else None
    t_guide = _soft_onehot(target_labels, regions, thw) if target_labels is not None else None
    if g.guided:
        s_feat.append(s_guide * g.g_scale)
    if g.c_lum is not None:
        s_feat.append(_resize(g.s_lum, shw) * cfg.content_weight)
    t_lab = t_guide[0].argmax(0).flatten() if t_guide is not None else None
    level = _Level(s_rgb, torch.cat(s_feat, 1), s_guide, t_lab, cfg.patch_size, generator)

    def target_vectors(img: Tensor) -> Tensor:
        feats = [rgb_to_lab(img) / 100.0]
        if g.guided:
            feats.append(t_guide * g.g_scale)
        if g.c_lum is not None:
            feats.append(_resize(g.c_lum, thw) * cfg.content_weight)
        return _project(torch.cat(feats, 1), level.weight, level.bias, pad=True)

    return level, target_vectors, t_lab


def _refine(level: _Level, target_vectors, ny: Tensor, nx: Tensor, image: Tensor,
            t_lab: Tensor | None, cfg: PatchConfig, *, rounds: int, radius: int, jumps: int,
            last: bool, generator: torch.Generator | None, progress, task: str,
            label: str) -> tuple[Tensor, Tensor, Tensor]:
    """Search-and-vote rounds at one level; on the very last round of the finest level every
    pixel copies its match's centre instead of a vote. Returns (ny, nx, image)."""
    report(progress, task, 0, rounds, label)
    for k in range(rounds):
        ny, nx, raw = _patchmatch(level, target_vectors(image), ny, nx, cfg, radius, jumps,
                                  generator)
        if last and k == rounds - 1:
            image = _centres(level, ny, nx)  # the last image copies, never averages
        else:
            sharp = VOTE_SHARPNESS / raw.mean().clamp(min=1e-8)
            image = _vote(level, ny, nx, torch.exp(-raw * sharp).view(ny.shape))
        metrics = {"cost": float(raw.mean())}
        if t_lab is not None:
            got = level.valid_labels[(ny * level.wv + nx).flatten()]
            metrics["fidelity"] = float((got == t_lab).float().mean())
        report(progress, task, k + 1, rounds, label, **metrics)
    return ny, nx, image


def synthesize(style: Tensor, style_labels: Tensor, target_labels: Tensor | None, regions: int,
               size: tuple[int, int], *, content: Tensor | None = None,
               init: Tensor | None = None, config: PatchConfig = PatchConfig(),
               generator: torch.Generator | None = None, progress=None) -> Tensor:
    """Paint ``size`` pixels in the style of ``style`` following a doodle, by copying patches.

    Args:
        style: (1, 3, Hs, Ws) RGB style painting in [0, 1].
        style_labels: (Hs, Ws) int64 region of every style pixel.
        target_labels: (Ht, Wt) int64 region of every output pixel (the doodle), or ``None``
            for plain texture synthesis.
        regions: number of regions K (labels lie in 0..K-1).
        size: (Ht, Wt) of the output.
        content: optional (1, 3, Ht, Wt) photo whose luminance guides the result
            (``config.content_weight`` > 0).
        init: optional (1, 3, Ht, Wt) start image for the coarsest level.
        config: engine settings.
        generator: the source of all randomness.
        progress: optional progress callback; one task per pyramid level.

    Returns:
        (1, 3, Ht, Wt) RGB image in [0, 1].

    Raises:
        ArtkitError: sizes smaller than a patch, a doodle region absent from the style map,
            mismatched shapes.
    """
    cfg = config
    size = (int(size[0]), int(size[1]))
    style = style.detach().float().cpu()
    style_labels = torch.as_tensor(style_labels).long().cpu()
    if target_labels is not None:
        target_labels = torch.as_tensor(target_labels).long().cpu()
    _check_inputs(style, style_labels, target_labels, regions, size, content, init, cfg)
    p = cfg.patch_size
    levels = _level_count(cfg, tuple(style.shape[-2:]), size)
    s_sizes, t_sizes = _sizes(tuple(style.shape[-2:]), levels), _sizes(size, levels)
    for what, hw in (("style image", s_sizes[0]), ("output", t_sizes[0])):
        if min(hw) < p:
            raise ArtkitError(f"the {what} at the coarsest of {levels} pyramid levels "
                              f"({hw[1]}x{hw[0]}) is smaller than one {p}x{p} patch",
                              "use fewer pyramid levels (0 = automatic) or a larger "
                              + ("style image" if what == "style image" else "output"))
    g = _guides(style, target_labels, content, cfg)
    ny = nx = image = None
    prev_s = s_sizes[0]
    for li in range(levels):
        shw, thw = s_sizes[li], t_sizes[li]
        level, target_vectors, t_lab = _build_level(style, style_labels, target_labels, regions,
                                                    shw, thw, g, cfg, generator)
        # random search: the whole painting at the coarsest level, a few patches finer up
        radius = max(shw) if li == 0 else min(max(shw), 4 * p)
        jumps = 3 if li == 0 else 1
        if ny is None:
            pick = level.sample(thw[0] * thw[1], generator).view(thw)
            ny, nx = pick // level.wv, pick % level.wv
            if init is not None:
                image = _resize(init.detach().float().cpu().clamp(0, 1), thw)
                ny, nx, _ = _patchmatch(level, target_vectors(image), ny, nx, cfg, radius,
                                        jumps, generator)
        else:
            ny, nx = _upsample_nnf(ny, nx, prev_s, shw, thw, level.r)
        ny, nx = ny.clamp(0, level.hv - 1), nx.clamp(0, level.wv - 1)
        # the first image of the pyramid: style pixels in random order (the right colours)
        image = _centres(level, ny, nx) if li == 0 and init is None else _vote(level, ny, nx)
        ny, nx, image = _refine(level, target_vectors, ny, nx, image, t_lab, cfg,
                                rounds=cfg.em_iterations * (1 if li == levels - 1 else 2),
                                radius=radius, jumps=jumps, last=li == levels - 1,
                                generator=generator, progress=progress,
                                task=f"patch level {li + 1}/{levels}", label=f"{thw[1]}x{thw[0]}")
        prev_s = shw
    return image.clamp(0, 1)
