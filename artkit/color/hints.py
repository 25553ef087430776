"""Colour from scribbles: Levin, Lischinski & Weiss (2004), "Colorization using Optimization".

In YUV, every pixel r that carries no scribble should have the chroma of its 3×3 neighbours,
weighted by how alike their luminance is::

    U(r) − Σ_s w_rs U(s) = 0,    w_rs ∝ exp(−(Y(r) − Y(s))² / (2 σ_r²)),   Σ_s w_rs = 1,

with σ_r² the variance of Y over r's window. Scribbled pixels keep their chroma. The equations
form one sparse square system ``A u = b`` shared by U and V, so it is factorised once (SuperLU)
and solved for both channels.

The solver works on numpy float64 arrays; :func:`hint_mask` and :func:`check_hints` turn a
scribble image into the marked pixels and their chroma, and :func:`hints_chroma` runs the whole
method for a photo at a working size (scribbles area-averaged down to it).
"""

from __future__ import annotations

import os

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla
import torch
import torch.nn.functional as F
from PIL import Image

from artkit.color.upsample import resize
from artkit.core.errors import ArtkitError
from artkit.core.images import ImageLike, as_tensor, load_image, rgb_to_yuv

# Floor of the window variance (Y in [0, 1]); keeps weights finite in flat regions.
MIN_VARIANCE = 2e-5
# A scribble must differ from the gray photo by more than this (any channel, in [0, 1]).
MARK_THRESHOLD = 0.04
# Marked pixels whose chroma |U| + |V| is below this count as gray scribbles.
MIN_CHROMA = 0.02

_RGB2YUV = np.array([[0.299, 0.587, 0.114],
                     [-0.14714119, -0.28886916, 0.43601035],
                     [0.61497538, -0.51496512, -0.10001026]])


def rgb_to_yuv_np(rgb: np.ndarray) -> np.ndarray:
    """(H, W, 3) RGB in [0, 1] → (H, W, 3) YUV (BT.601)."""
    return rgb @ _RGB2YUV.T


def yuv_to_rgb_np(yuv: np.ndarray) -> np.ndarray:
    """(H, W, 3) YUV → (H, W, 3) RGB (not clamped)."""
    return yuv @ np.linalg.inv(_RGB2YUV).T


def neighbour_weights(y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Affinities of every pixel to its 3×3 neighbours.

    Args:
        y: (H, W) luminance.

    Returns:
        ``(rows, cols, weights)``: flat pixel indices r and s and the normalised w_rs for every
        in-image neighbour pair (each row sums to 1).
    """
    h, w = y.shape
    n = h * w
    idx = np.arange(n).reshape(h, w)
    pad = np.pad(y, 1, mode="constant", constant_values=np.nan)
    ipad = np.pad(idx, 1, mode="constant", constant_values=-1)
    shifts = [(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1)]
    win = np.stack([pad[1 + dy:1 + dy + h, 1 + dx:1 + dx + w] for dy, dx in shifts])  # (9, H, W)
    var = np.nanvar(win, axis=0)  # (H, W) variance over the window, centre included
    sigma2 = np.maximum(var, MIN_VARIANCE)
    rows, cols, vals = [], [], []
    for k, (dy, dx) in enumerate(shifts):
        if dy == 0 and dx == 0:
            continue
        s = ipad[1 + dy:1 + dy + h, 1 + dx:1 + dx + w]  # (H, W) neighbour indices
        ok = s >= 0
        wgt = np.exp(-((y - win[k]) ** 2) / (2.0 * sigma2))
        rows.append(idx[ok])
        cols.append(s[ok])
        vals.append(wgt[ok])
    rows, cols, vals = np.concatenate(rows), np.concatenate(cols), np.concatenate(vals)
    total = np.bincount(rows, weights=vals, minlength=n)
    return rows, cols, vals / total[rows]


def system_matrix(y: np.ndarray, mask: np.ndarray) -> sp.csc_matrix:
    """The sparse matrix A of the Levin system: I − W on free pixels, identity on scribbles.

    Args:
        y: (H, W) luminance.
        mask: (H, W) bool, true where a scribble fixes the chroma.
    """
    n = y.size
    rows, cols, vals = neighbour_weights(y)
    free = ~mask.ravel()
    keep = free[rows]
    W = sp.csr_matrix((vals[keep], (rows[keep], cols[keep])), shape=(n, n))
    return (sp.identity(n, format="csr") - W).tocsc()


def solve(y: np.ndarray, hint_uv: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Propagate scribbled chroma over the image.

    Args:
        y: (H, W) luminance in [0, 1].
        hint_uv: (H, W, 2) chroma; only the values at ``mask`` are used.
        mask: (H, W) bool, the scribbled pixels.

    Returns:
        (H, W, 2) chroma (U, V) for every pixel, equal to ``hint_uv`` on the mask.

    Raises:
        ArtkitError: no pixel is marked.
    """
    if not mask.any():
        raise ArtkitError("the hints mark no pixel", "draw coloured scribbles on the photo")
    h, w = y.shape
    A = system_matrix(y.astype(np.float64), mask)
    b = np.where(mask.ravel()[:, None], hint_uv.reshape(-1, 2), 0.0)  # (N, 2)
    # Scribbled rows are identity rows: eliminate them so only free pixels are solved for.
    free = ~mask.ravel()
    out = b.copy()
    if free.any():
        order = nested_dissection(h, w)
        order = order[free[order]]  # the free pixels, separators last
        A_ff = A[order][:, order].tocsc().astype(np.float32)
        rhs = -(A[order][:, ~free] @ b[~free])  # (F, 2)
        # The nested-dissection order keeps the fill low; with SymmetricMode SuperLU keeps it
        # (the matrix is diagonally dominant, so diagonal pivots are safe).
        lu = spla.splu(A_ff, permc_spec="NATURAL", diag_pivot_thresh=0.0,
                       options=dict(SymmetricMode=True))
        out[order] = lu.solve(np.ascontiguousarray(rhs, dtype=np.float32))
    return out.reshape(h, w, 2)


def nested_dissection(h: int, w: int, leaf: int = 8) -> np.ndarray:
    """A fill-reducing elimination order of an H×W grid: split the longer side by a one-pixel
    separator, order both halves (recursively) first and the separator last.

    Returns:
        (H·W,) flat pixel indices in elimination order.
    """
    idx = np.arange(h * w).reshape(h, w)
    parts: list[np.ndarray] = []

    def visit(block: np.ndarray) -> None:  # recursion depth ~ log2(H·W)
        bh, bw = block.shape
        if bh * bw <= leaf * leaf:
            parts.append(block.ravel())
        elif bh >= bw:
            visit(block[:bh // 2])
            visit(block[bh // 2 + 1:])
            parts.append(block[bh // 2].ravel())
        else:
            visit(block[:, :bw // 2])
            visit(block[:, bw // 2 + 1:])
            parts.append(block[:, bw // 2].ravel())

    visit(idx)
    return np.concatenate(parts)


def dense_reference(y: np.ndarray, hint_uv: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """A slow, literal float64 version of :func:`solve` for tests (small images only)."""
    h, w = y.shape
    n = h * w
    A = np.zeros((n, n))
    b = np.zeros((n, 2))
    for i in range(h):
        for j in range(w):
            r = i * w + j
            A[r, r] = 1.0
            if mask[i, j]:
                b[r] = hint_uv[i, j]
                continue
            win = [(i + di, j + dj) for di in (-1, 0, 1) for dj in (-1, 0, 1)
                   if 0 <= i + di < h and 0 <= j + dj < w]
            vals = np.array([y[p] for p in win])
            s2 = max(vals.var(), MIN_VARIANCE)
            nb = [p for p in win if p != (i, j)]
            wts = np.array([np.exp(-(y[i, j] - y[p]) ** 2 / (2 * s2)) for p in nb])
            wts /= wts.sum()
            for p, wt in zip(nb, wts):
                A[r, p[0] * w + p[1]] -= wt
    return np.linalg.solve(A, b).reshape(h, w, 2)


def hint_mask(gray: np.ndarray, hints_rgb: np.ndarray,
              alpha: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Which pixels of a scribble image are hints, and their chroma.

    A pixel is a hint where the scribble image is opaque (when it has an alpha channel), else
    where it differs from the gray photo (Levin's rule: the scribbles were drawn over the photo).

    Args:
        gray: (H, W) luminance of the photo in [0, 1].
        hints_rgb: (H, W, 3) scribble image in [0, 1].
        alpha: optional (H, W) opacity in [0, 1].

    Returns:
        ``(mask, uv)``: (H, W) bool and (H, W, 2) chroma of the scribbles.
    """
    if alpha is not None and (alpha < 0.99).any():
        mask = alpha > 0.5
    else:
        mask = np.abs(hints_rgb - gray[..., None]).max(axis=2) > MARK_THRESHOLD
    uv = rgb_to_yuv_np(hints_rgb)[..., 1:]
    return mask, uv


def check_hints(mask: np.ndarray, uv: np.ndarray, where: str = "hints image") -> None:
    """Raise a clear error when the scribbles carry no colour."""
    if not mask.any():
        raise ArtkitError(f"the {where} marks no pixel: it matches the gray photo everywhere",
                          "draw coloured scribbles over the photo (or on a transparent layer)")
    chroma = np.abs(uv[mask]).sum(axis=1)
    if chroma.max() < MIN_CHROMA:
        raise ArtkitError(f"the {where} has no colour: every scribble is gray",
                          "scribble with saturated colours")


def load_hints(hints: ImageLike, shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray | None]:
    """The scribble image as (H, W, 3) RGB and optional (H, W) alpha, checked against the photo.

    Args:
        hints: a path, PIL image, (H, W, 3|4) array (uint8, or floats in [0, 1]) or tensor; an
            alpha channel marks the scribbles of a transparent layer.
        shape: (H, W) of the photo.

    Raises:
        ArtkitError: unreadable, or of another size than the photo.
    """
    if isinstance(hints, (str, os.PathLike)):
        arr = np.asarray(load_image(hints, "RGBA"), dtype=np.float64) / 255.0
    elif isinstance(hints, Image.Image):
        arr = np.asarray(hints.convert("RGBA"), dtype=np.float64) / 255.0
    elif isinstance(hints, np.ndarray) and hints.ndim == 3 and hints.shape[2] in (3, 4):
        arr = np.nan_to_num(hints.astype(np.float64))  # floats kept at full precision
        if hints.dtype == np.uint8 or arr.max() > 1.5:
            arr = arr / 255.0
        arr = arr.clip(0, 1)
    else:
        arr = as_tensor(hints, what="hints image")[0].permute(1, 2, 0).double().numpy()
    if arr.shape[:2] != tuple(shape):
        raise ArtkitError(f"the hints image is {arr.shape[1]}×{arr.shape[0]} but the photo is "
                          f"{shape[1]}×{shape[0]}",
                          "draw the hints on a copy of the photo (same size)")
    rgb, alpha = arr[..., :3], (arr[..., 3] if arr.shape[2] == 4 else None)
    if alpha is not None:
        rgb = rgb * alpha[..., None] + (1 - alpha[..., None])  # composite onto white
    return rgb, alpha


def hints_chroma(rgb: torch.Tensor, hints: ImageLike, size: tuple[int, int]
                 ) -> tuple[torch.Tensor, dict]:
    """UV chroma of a photo from its scribbles, solved at the working ``size``.

    Args:
        rgb: (1, 3, H, W) the photo (its luminance guides the propagation).
        hints: the scribble image (see :func:`load_hints`).
        size: (h, w) working size; scribbles are area-averaged to it, and a working pixel is
            marked when a quarter of it is scribbled (any covered pixel, for thin strokes).

    Returns:
        ``((1, 2, h, w) UV, {"hint_pixels": n})``.

    Raises:
        ArtkitError: scribbles of the wrong size, none, or gray ones.
    """
    H, W = rgb.shape[-2:]
    y_full = rgb_to_yuv(rgb.double().cpu())[0, 0].numpy()  # (H, W)
    hint_rgb, alpha = load_hints(hints, (H, W))
    mask, uv = hint_mask(y_full, hint_rgb, alpha)
    check_hints(mask, uv)
    if (H, W) != tuple(size):
        m = torch.from_numpy(mask.astype(np.float64))[None, None]
        u = torch.from_numpy(uv * mask[..., None]).permute(2, 0, 1)[None]
        cover = F.interpolate(m, size=size, mode="area")
        uv_s = (F.interpolate(u, size=size, mode="area") / cover.clamp(min=1e-9))[0]
        mask_s = (cover[0, 0] >= 0.25).numpy()
        if not mask_s.any():  # thin scribbles: keep any covered pixel
            mask_s = (cover[0, 0] > 0).numpy()
        uv_s = uv_s.permute(1, 2, 0).numpy()
        y_s = resize(torch.from_numpy(y_full)[None, None], size)[0, 0].numpy()
    else:
        mask_s, uv_s, y_s = mask, uv, y_full
    out = solve(y_s, uv_s, mask_s)  # (h, w, 2)
    return torch.from_numpy(out).permute(2, 0, 1)[None].float(), {"hint_pixels": int(mask.sum())}
