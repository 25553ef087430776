"""Colour by example: chroma from reference photos by semantic correspondence.

1. Both the gray target and the references (also as gray, so only structure is compared) go
   through the frozen EfficientNet-Lite0; activations at strides 8 and 16 are resized to a 1/4
   grid, concatenated with a little of the local luminance and L2-normalised per position.
2. Every target position takes the chroma of its most similar reference position (cosine
   similarity over all references at once).
3. Only confident matches are kept — the most similar third, and only where the match is also
   close in luminance — and their chroma is spread over the whole photo by the Levin et al.
   luminance-aware propagation (:mod:`artkit.color.hints`), so colour stops at luminance edges.

A reference *folder* is narrowed to the ``k`` references closest to the target by pooled
features (cosine similarity of the globally averaged coarsest activation).

The backbone is passed in (:class:`artkit.color.Colorizer` holds it, shared with the learned
model's when that is an EfficientNet); any :class:`~artkit.color.model.Backbone` with taps at
strides 8 and 16 works.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from artkit.color.hints import solve as levin_solve
from artkit.color.chroma import is_color
from artkit.color.model import Backbone, ColorModel
from artkit.color.upsample import load_rgb, resize, working_size
from artkit.core.errors import ArtkitError
from artkit.core.images import ImageLike, list_images, rgb_to_lab
from artkit.core.progress import ProgressCallback, report

KEEP_FRACTION = 0.35  # share of target positions whose matches seed the propagation
MAX_REFERENCES = 3  # references kept from a folder


def features(L: torch.Tensor, net: Backbone) -> tuple[torch.Tensor, torch.Tensor]:
    """Dense matching features on the 1/4 grid and a pooled global descriptor.

    Args:
        L: (1, 1, H, W) lightness in [0, 100], on the backbone's device.
        net: the backbone.

    Returns:
        ``(dense, pooled)``: (C, h, w) L2-normalised features and a (C',) normalised vector.
    """
    with torch.inference_mode():
        taps = net(ColorModel.gray_rgb(L))
    grid = (max(1, L.shape[-2] // 4), max(1, L.shape[-1] // 4))
    picked = [t for t, s in zip(taps, net.strides) if s in (8, 16)]
    parts = [F.normalize(F.interpolate(t, size=grid, mode="bilinear", align_corners=False),
                         dim=1) for t in picked]
    lum = F.interpolate(L / 100.0, size=grid, mode="area")
    parts.append(0.5 * (lum - lum.mean()))  # a little local luminance
    dense = F.normalize(torch.cat(parts, dim=1), dim=1)[0]  # (C, h, w)
    pooled = F.normalize(taps[-1].float().mean(dim=(2, 3))[0], dim=0)
    return dense.float(), pooled.float()


def reference_list(reference: ImageLike | Sequence[ImageLike]) -> list[ImageLike]:
    """References as a list of image-likes, folders expanded.

    Raises:
        ArtkitError: a missing reference, a folder without images, or no reference at all.
    """
    refs = reference if isinstance(reference, (list, tuple)) else [reference]
    out = []
    for r in refs:
        if isinstance(r, (str, os.PathLike)):
            p = Path(r)
            if p.is_dir():
                try:
                    out.extend(list_images([p]))
                except ArtkitError:
                    raise ArtkitError(f"reference folder '{p}' holds no images",
                                      "give a folder of colour photos") from None
                continue
            if not p.exists():
                raise ArtkitError(f"reference '{p}' does not exist")
        out.append(r)
    if not out:
        raise ArtkitError("no reference photos given")
    return out


def exemplar_chroma(L: torch.Tensor, size: tuple[int, int],
                    reference: ImageLike | Sequence[ImageLike], net: Backbone, *,
                    progress: ProgressCallback | None = None,
                    max_references: int = MAX_REFERENCES) -> tuple[torch.Tensor, dict]:
    """Chroma for the target lightness ``L`` (full size) at working ``size`` from references.

    Args:
        L: (1, 1, H, W) the target's lightness (on the CPU).
        size: (h, w) working size.
        reference: reference photo(s) or folder(s).
        net: the matching backbone (its device is where features are computed).
        progress: progress callback (task ``"references"``).
        max_references: references kept, the closest by pooled features.

    Returns:
        ``((1, 2, h, w) ab, details)``.

    Raises:
        ArtkitError: missing or unreadable references, a reference without colour.
    """
    device = next(net.parameters()).device
    Lt = resize(L, size)  # (1, 1, h, w)
    dense_t, pooled_t = features(Lt.to(device), net)
    refs = reference_list(reference)
    loaded = []
    bad = []
    for i, r in enumerate(refs):
        report(progress, "references", i, len(refs))
        try:
            rgb = load_rgb(r, "reference", max_side=2 * max(size))
        except ArtkitError as exc:
            if len(refs) == 1:
                raise
            bad.append((str(r), exc.one_line()))
            continue
        if not is_color(rgb):
            if len(refs) == 1:
                raise ArtkitError(f"the reference '{r}' has no colour to give",
                                  "use a colour photo as the reference")
            bad.append((str(r), "no colour"))
            continue
        lab = rgb_to_lab(resize(rgb, working_size(*rgb.shape[-2:], max(size), 4)))
        dense_r, pooled_r = features(lab[:, :1].to(device), net)
        loaded.append((str(r) if isinstance(r, (str, os.PathLike)) else f"reference {i}",
                       lab, dense_r, float(pooled_r @ pooled_t)))
    report(progress, "references", len(refs), len(refs))
    if not loaded:
        raise ArtkitError("none of the reference photos could be used: "
                          + "; ".join(f"{p}: {why}" for p, why in bad[:3]))
    loaded.sort(key=lambda x: -x[3])
    chosen = loaded[:max_references]
    # Reference banks: features, chroma and lightness on each reference's 1/4 grid.
    feats, abs_, lums = [], [], []
    for _, lab, dense_r, _ in chosen:
        grid = dense_r.shape[-2:]
        feats.append(dense_r.reshape(dense_r.shape[0], -1))
        small = F.interpolate(lab, size=grid, mode="area")[0]
        abs_.append(small[1:].reshape(2, -1))
        lums.append(small[0].reshape(-1))
    bank = torch.cat(feats, dim=1).to(dense_t)  # (C, M)
    bank_ab, bank_L = torch.cat(abs_, dim=1), torch.cat(lums)
    C, h, w = dense_t.shape
    q = dense_t.reshape(C, -1).T  # (N, C)
    best_sim = torch.empty(len(q))
    best_idx = torch.empty(len(q), dtype=torch.long)
    for s in range(0, len(q), 2048):  # chunks keep the (N, M) similarity small
        sim = q[s:s + 2048] @ bank  # (n, M)
        v, i = sim.max(dim=1)
        best_sim[s:s + 2048], best_idx[s:s + 2048] = v.cpu(), i.cpu()
    ab_match = bank_ab[:, best_idx]  # (2, N)
    Lq = F.interpolate(Lt, size=(h, w), mode="area").reshape(-1)
    lum_ok = (Lq - bank_L[best_idx]).abs() < 20.0
    thresh = torch.quantile(best_sim, 1 - KEEP_FRACTION)
    keep = (best_sim >= thresh) & lum_ok
    if keep.sum() < 1:
        keep = best_sim >= thresh
    # Seeds on the working grid: each kept 1/4-grid cell marks its centre pixel.
    H, W = size
    mask = np.zeros((H, W), dtype=bool)
    ab_seed = np.zeros((H, W, 2))
    ys = ((torch.arange(h).float() + 0.5) * H / h).long().clamp(max=H - 1)
    xs = ((torch.arange(w).float() + 0.5) * W / w).long().clamp(max=W - 1)
    yy, xx = torch.meshgrid(ys, xs, indexing="ij")
    k = keep.numpy()
    mask[yy.reshape(-1).numpy()[k], xx.reshape(-1).numpy()[k]] = True
    ab_seed[yy.reshape(-1).numpy()[k], xx.reshape(-1).numpy()[k]] = ab_match.T.numpy()[k]
    y = (Lt[0, 0].double() / 100.0).numpy()
    ab = levin_solve(y, ab_seed, mask)  # (H, W, 2)
    details = {"references": [c[0] for c in chosen],
               "reference_similarity": [round(c[3], 4) for c in chosen],
               "seeds": int(mask.sum()), "skipped_references": bad}
    return torch.from_numpy(ab).permute(2, 0, 1)[None].float(), details
