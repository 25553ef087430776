"""Print sizes: a memory budget, VGG passes cut into tiles that fit it, and a refusal that
comes before the work.

**Tiles without seams.** A VGG feature at stride s depends only on the input pixels within its
receptive field (radius r: every 3×3 convolution adds the current stride, every 2×2 pooling
doubles it; r = 41 px for ``relu4_2``). The image is cut into tiles whose edges lie on
multiples of the deepest stride, and each tile is run through VGG with a margin (*halo*) of at
least r + stride pixels around it. The features of the tile's own positions are then exactly
the features of the whole image (the zero padding at the crop's edge reaches only the halo),
and because the objective is a sum over feature positions, summing the tiles' losses — and
their gradients, which autograd adds into the one image — gives exactly the whole image's loss
and gradient. There is nothing to blend, so there are no seams; the cost is the halo's extra
pixels, which is why tiles are as large as the budget allows (one tile when the picture fits).

**The budget.** ``memory`` GB when given; otherwise half of the memory the machine has
available now (``MemAvailable``), or 80 % of the GPU's free memory. :func:`plan_memory`
estimates a run's peak from a model calibrated by ``benchmarks/doodle.py`` (bytes per pixel of
a VGG forward + backward pass, of the patch engine, of the L-BFGS history and of the layer
maps kept at full size) and picks the largest tiles that fit; when even small tiles would not
fit it refuses before any work, naming the largest size that fits.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from typing import Callable

import torch

from artkit.core.errors import ArtkitError

GB = 1 << 30
AUTO_SHARE_CPU = 0.5    # of MemAvailable
AUTO_SHARE_GPU = 0.8    # of the GPU's free memory
MIN_TILE = 128          # smallest tile side (input pixels) worth running
TILE_STEP = 64          # tile sides are multiples of this (a few plans, not one per MB)

# Bytes per pixel, measured with benchmarks/doodle.py --calibrate (vgg16-hed, float32, CPU;
# 1415, 548 and 1660 measured, rounded up):
VGG_BACKWARD_BPP = 1500   # one forward + input-backward pass up to relu4_2, per crop pixel
VGG_FORWARD_BPP = 600     # one no-grad forward pass up to relu4_1, per pixel
PATCH_ENGINE_BPP = 1750   # the patch engine at the output size, per output pixel
PER_PIXEL_BPP = 420       # full-size buffers of a phase (image, gradient, layer maps, targets)
LBFGS_BPP = 24            # per history pair: two image-sized float32 vectors
FIXED_BYTES = 700 << 20   # torch, the VGG weights, the style side at typical sizes


# ----------------------------------------------------------------------------------- geometry


@dataclass
class TilePlan:
    """How VGG passes are cut: tiles of ``tile`` pixels (0 = the whole image) with ``halo``
    pixels of context, edges on multiples of ``align`` (the deepest stride).

    Args:
        strides: layer name → its stride (2^pools before it).
        halo: context pixels around every tile (≥ receptive-field radius + stride).
        align: the deepest stride; tile edges and crops start on its multiples.
        tile: tile side in input pixels (a multiple of ``align``), 0 for whole images.
    """

    strides: dict[str, int]
    halo: int
    align: int
    tile: int = 0
    notes: list[str] = field(default_factory=list)

    @classmethod
    def create(cls, names: list[str], used: list[str], tile: int = 0) -> "TilePlan":
        """The plan for passes up to the deepest of ``used`` through a network whose layers
        are ``names`` in forward order (whole images unless ``tile`` is given)."""
        deepest = max(names.index(n) for n in used)
        strides, radius = receptive_fields(names[:deepest + 1])
        align = strides[names[deepest]]
        halo = math.ceil((radius + align) / align) * align
        return cls(strides, halo, align, max(align, tile - tile % align) if tile else 0)

    def stride(self, name: str) -> int:
        return self.strides[name]

    def layer_size(self, name: str, hw: tuple[int, int]) -> tuple[int, int]:
        """(h, w) of layer ``name`` for an (H, W) input (floor-mode pooling)."""
        s = self.strides[name]
        return int(hw[0]) // s, int(hw[1]) // s

    def spans(self, n: int) -> list[tuple[int, int]]:
        """Owned [start, end) spans along one side of length ``n``: equal pieces no longer than
        the tile, edges on multiples of ``align``."""
        if not self.tile or n <= self.tile:
            return [(0, n)]
        pieces = math.ceil(n / self.tile)
        step = math.ceil(n / pieces / self.align) * self.align
        edges = list(range(0, n, step)) + [n]
        return list(zip(edges[:-1], edges[1:]))

    def tiles(self, hw) -> list[tuple[tuple[int, int], tuple[int, int], tuple[int, int], tuple[int, int]]]:
        """Every tile of an (H, W) image: ((own y0, y1), (own x0, x1), (crop y0, y1),
        (crop x0, x1)) in input pixels."""
        h, w = int(hw[0]), int(hw[1])
        out = []
        for ys in self.spans(h):
            for xs in self.spans(w):
                cy = (max(0, ys[0] - self.halo), min(h, ys[1] + self.halo))
                cx = (max(0, xs[0] - self.halo), min(w, xs[1] + self.halo))
                out.append((ys, xs, cy, cx))
        return out

    def count(self, hw) -> int:
        return len(self.spans(int(hw[0]))) * len(self.spans(int(hw[1])))

    def windows(self, layers, own_y, own_x, crop_y, crop_x, hw):
        """For each layer: the full-map window a tile owns and the same window inside the
        tile's own features, as (rows, cols) slices."""
        full, local = {}, {}
        for name in layers:
            s = self.strides[name]
            hl, wl = self.layer_size(name, hw)
            ry = (own_y[0] // s, hl if own_y[1] == hw[0] else own_y[1] // s)
            rx = (own_x[0] // s, wl if own_x[1] == hw[1] else own_x[1] // s)
            full[name] = (slice(*ry), slice(*rx))
            local[name] = (slice(ry[0] - crop_y[0] // s, ry[1] - crop_y[0] // s),
                           slice(rx[0] - crop_x[0] // s, rx[1] - crop_x[0] // s))
        return full, local


def receptive_fields(names: list[str]) -> tuple[dict[str, int], int]:
    """Strides of every VGG layer and the receptive-field radius (pixels) of the last one."""
    strides: dict[str, int] = {}
    stride, radius = 1, 0
    for name in names:
        if name.startswith("conv"):
            radius += stride
        elif name.startswith("pool"):
            radius += stride
            stride *= 2
        strides[name] = stride
    return strides, radius


def _channels_last(x: torch.Tensor, on: bool) -> torch.Tensor:
    return x.contiguous(memory_format=torch.channels_last if on else torch.contiguous_format)


def tiled_features(vgg, x: torch.Tensor, layers: list[str], plan: TilePlan,
                   channels_last: bool = True) -> dict[str, torch.Tensor]:
    """``vgg(x, layers)`` without gradients, tile by tile when the plan says so.

    Args:
        x: (1, 3, H, W) image in [0, 1].

    Returns:
        layer → (1, C, H // s, W // s) features, equal to one pass over the whole image.
    """
    hw = tuple(x.shape[2:])
    with torch.no_grad():
        if plan.count(hw) == 1:
            return {k: v.contiguous() for k, v in vgg(_channels_last(x, channels_last), layers).items()}
        out: dict[str, torch.Tensor] = {}
        for own_y, own_x, cy, cx in plan.tiles(hw):
            feats = vgg(_channels_last(x[:, :, cy[0]:cy[1], cx[0]:cx[1]], channels_last), layers)
            full, local = plan.windows(layers, own_y, own_x, cy, cx, hw)
            for name, f in feats.items():
                if name not in out:
                    out[name] = f.new_empty((1, f.shape[1], *plan.layer_size(name, hw)))
                out[name][:, :, full[name][0], full[name][1]] = f[:, :, local[name][0], local[name][1]]
        return out


def tiled_backward(vgg, img: torch.Tensor, layers: list[str], plan: TilePlan,
                   loss_fn: Callable[[dict[str, torch.Tensor], dict[str, tuple[slice, slice]]], torch.Tensor],
                   channels_last: bool = True) -> float:
    """Evaluate a loss that is a sum over feature positions, tile by tile, and add its
    gradient into ``img.grad``.

    Args:
        img: (1, 3, H, W) leaf tensor that requires grad.
        loss_fn: ``loss_fn(feats, windows)`` → scalar over the given features, where
            ``feats[name]`` holds the tile's own positions of layer ``name`` and
            ``windows[name]`` says where they lie in the full layer map.

    Returns:
        The loss summed over the tiles.
    """
    hw = tuple(img.shape[2:])
    total = 0.0
    for own_y, own_x, cy, cx in plan.tiles(hw):
        whole = cy == (0, hw[0]) and cx == (0, hw[1])  # no slice: its backward would zero-fill
        crop = img if whole else img[:, :, cy[0]:cy[1], cx[0]:cx[1]]
        feats = vgg(_channels_last(crop, channels_last), layers)
        full, local = plan.windows(layers, own_y, own_x, cy, cx, hw)
        own = {n: f[:, :, local[n][0], local[n][1]] for n, f in feats.items()}
        loss = loss_fn(own, full)
        loss.backward()
        total += float(loss.detach())
        del feats, own, loss
    return total


# ----------------------------------------------------------------------------------- budget


def available_memory(device: torch.device) -> int:
    """Bytes free for work now: the GPU's free memory, or the machine's MemAvailable."""
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        return int(free)
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return 8 * GB


def budget_bytes(memory_gb: float, device: torch.device) -> int:
    """The run's memory budget: ``memory_gb`` when set, else a safe share of what is free."""
    if memory_gb > 0:
        return int(memory_gb * GB)
    share = AUTO_SHARE_GPU if device.type == "cuda" else AUTO_SHARE_CPU
    return int(available_memory(device) * share)


@dataclass
class MemoryPlan:
    """What :func:`plan_memory` decided: tiles, L-BFGS history, match chunk and the estimate."""

    tile: int
    history: int
    match_mb: int
    estimate: int
    budget: int

    def describe(self, hw) -> str:
        tiles = "whole image" if not self.tile else f"tiles of {self.tile} px"
        return (f"memory: about {self.estimate / GB:.1f} GB of a {self.budget / GB:.1f} GB budget "
                f"({tiles}, L-BFGS history {self.history})")


def estimate(hw: tuple[int, int], style_hw: tuple[int, int], *, tile: int, halo: int,
             history: int, patch_init: bool, neural: bool = True) -> int:
    """Estimated peak bytes of a run at output size ``hw`` (H, W) with ``tile`` (0 = whole)."""
    px = hw[0] * hw[1]
    total = FIXED_BYTES + VGG_FORWARD_BPP * style_hw[0] * style_hw[1]
    if patch_init or not neural:
        total += PATCH_ENGINE_BPP * px
    if not neural:
        return total
    crop = (min(hw[0], tile + 2 * halo) * min(hw[1], tile + 2 * halo)) if tile else px
    work = VGG_BACKWARD_BPP * crop + (PER_PIXEL_BPP + LBFGS_BPP * history) * px
    return max(total, FIXED_BYTES + VGG_FORWARD_BPP * style_hw[0] * style_hw[1] + work)


def plan_memory(hw: tuple[int, int], style_hw: tuple[int, int], budget: int, *, halo: int,
                align: int, patch_init: bool, neural: bool = True,
                history: int = 20) -> MemoryPlan:
    """The largest tiles (then the longest L-BFGS history) that fit ``budget``.

    Raises:
        ArtkitError: nothing fits; the message names the largest output size that does.
    """
    match_mb = int(max(32, min(512, budget / 16 / 2**20)))
    longest = max(hw)
    candidates = [0] + [t for t in range((longest // TILE_STEP) * TILE_STEP, MIN_TILE - 1, -TILE_STEP)
                        if t < longest and t % align == 0]
    for hist in sorted({history, min(history, 10), min(history, 5)}, reverse=True):
        for tile in candidates:
            need = estimate(hw, style_hw, tile=tile, halo=halo, history=hist,
                            patch_init=patch_init, neural=neural)
            if need <= budget:
                return MemoryPlan(tile, hist, match_mb, need, budget)
    scale = 1.0
    while scale > 0.05:
        scale *= 0.9
        small = (int(hw[0] * scale) // 8 * 8, int(hw[1] * scale) // 8 * 8)
        if estimate(small, style_hw, tile=MIN_TILE, halo=halo, history=5,
                    patch_init=patch_init, neural=neural) <= budget:
            break
    need = estimate(hw, style_hw, tile=MIN_TILE, halo=halo, history=5, patch_init=patch_init,
                    neural=neural)
    raise ArtkitError(f"a {hw[1]}x{hw[0]} painting needs about {need / GB:.1f} GB, more than "
                      f"the {budget / GB:.1f} GB budget",
                      f"use --size {small[1]}x{small[0]} or smaller, or raise --memory")
