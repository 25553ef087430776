"""``artkit.color.colorize``: gray photos into colour — learned, by example, or from scribbles.

Every method keeps the photo's own luminance at full resolution and computes only chroma, at a
working size (``render_size``, the long side), then brings the chroma back to full size with an
edge-aware (guided) upsampling, so results are sharp at any size:

* ``"model"``: the shipped (or a trained) hypercolumn colouriser predicts Lab ab;
* ``"exemplar"``: chroma from reference photos by feature matching, spread by luminance-aware
  propagation;
* ``"hints"``: Levin et al.'s optimisation from colour scribbles, in YUV;
* ``"auto"``: hints when given, else exemplar when references are given, else the model.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence, Union

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from artkit.color.upsample import guided_upsample, resize, working_size
from artkit.core.errors import ArtkitError
from artkit.core.images import (lab_to_rgb, load_image, pil_to_tensor, rgb_to_lab, rgb_to_yuv,
                                yuv_to_rgb)
from artkit.core.progress import ProgressCallback, report

ImageLike = Union[str, Path, Image.Image, torch.Tensor, np.ndarray]
METHODS = ("auto", "model", "exemplar", "hints")
# Working sizes (long side) chosen by measurement; see benchmarks/colorize.py.
DEFAULT_RENDER_SIZE = {"model": 256, "exemplar": 256, "hints": 512}
# Share of the predicted image-mean chroma removed from the model's output (a gray-world
# correction of the warm "sepia" cast that a model trained on few photos gives uncertain regions).
# Measured on 8 held-out images: AuC 0.786 → 0.809, rebalanced AuC 0.743 → 0.746, colourfulness
# ratio 1.01 → 0.82 (0 keeps the raw prediction).
CAST_REMOVAL = 0.5
# Scale of the model's chroma after the cast removal. Chosen on a validation set of 77 photos and
# paintings the model neither trained on nor is tested on (Debian's opencv-doc, palapeli-data,
# plasma-workspace-wallpapers, wesnoth data and scipy's face): plain AuC 0.8627 at 1.0, 0.8654 at
# 0.9, 0.8687 at 0.75, 0.8711 at 0.6 against gray's 0.8660; rebalanced AuC 0.644 / 0.644 / 0.642
# / 0.639 (gray 0.616); colourfulness ratio 1.01 / 0.91 / 0.76 / 0.61. 0.75 is the most colourful
# setting that beats the gray image on plain AuC there.
SATURATION = 0.75
COLOUR_THRESHOLD = 4.0  # mean |ab| above which an input counts as a colour photo
MAX_PIXELS = 8192 * 8192

_MODELS: dict[str, tuple] = {}


@dataclass
class ColorizeResult:
    """A colourised photo and how it was made.

    Attributes:
        image: (1, 3, H, W) RGB in [0, 1], the input's size.
        method: the method that ran (``"kept"`` when a colour input was passed through).
        chroma_size: (h, w) at which chroma was computed.
        seconds: wall time.
        was_color: the input had colour (it was converted to gray first, unless kept).
        details: method specifics (model file, references used, hint pixels).
    """

    image: torch.Tensor
    method: str
    chroma_size: tuple[int, int]
    seconds: float
    was_color: bool
    details: dict = field(default_factory=dict)


# ----------------------------------------------------------------------------------- inputs


def as_rgb_tensor(image: ImageLike, what: str = "image", max_side: int | None = None
                  ) -> torch.Tensor:
    """Any image-like input → (1, 3, H, W) float32 RGB in [0, 1].

    Args:
        image: path, PIL image, (H, W[, 3]) array, or (1, C, H, W) / (C, H, W) tensor.
        what: how to name it in errors.
        max_side: shrink a file read from disk so its long side is at most this.
    """
    if isinstance(image, (str, Path)):
        im = load_image(image, "RGB")
        if max_side is not None and max(im.size) > max_side:
            im.thumbnail((max_side, max_side), Image.Resampling.BILINEAR, reducing_gap=2.0)
        t = pil_to_tensor(im)
    elif isinstance(image, Image.Image):
        from artkit.core.images import _convert

        t = pil_to_tensor(_convert(image, "RGB", (255, 255, 255)))
    elif isinstance(image, np.ndarray):
        arr = image.astype(np.float32)
        if arr.max() > 1.5:
            arr = arr / 255.0
        t = torch.from_numpy(arr)
        t = t[None, None] if t.dim() == 2 else t.permute(2, 0, 1)[None]
    elif isinstance(image, torch.Tensor):
        t = image.float()
        if t.dim() == 3:
            t = t[None]
    else:
        raise ArtkitError(f"cannot use a {type(image).__name__} as the {what}",
                          "give a path, a PIL image, an array or a tensor")
    if t.dim() != 4 or t.shape[0] != 1 or t.shape[1] not in (1, 3):
        raise ArtkitError(f"the {what} must be one gray or RGB image, got shape {tuple(t.shape)}")
    if t.shape[1] == 1:
        t = t.expand(-1, 3, -1, -1)
    if t.shape[-2] * t.shape[-1] > MAX_PIXELS:
        raise ArtkitError(f"the {what} is too large ({t.shape[-1]}×{t.shape[-2]})",
                          "scale it below 8192×8192 first")
    return t.clamp(0, 1).contiguous()


def is_color(rgb: torch.Tensor) -> bool:
    """Whether an RGB image has noticeable colour (mean |a| + |b| above a few Lab units)."""
    small = resize(rgb, working_size(*rgb.shape[-2:], 128))
    return float(rgb_to_lab(small)[:, 1:].abs().sum(dim=1).mean()) > COLOUR_THRESHOLD


def yuv_in_gamut(y: torch.Tensor, uv: torch.Tensor) -> torch.Tensor:
    """RGB of luminance ``y`` (B, 1, H, W) and chroma ``uv`` (B, 2, H, W), with the chroma of
    out-of-gamut pixels scaled down just enough to fit, so the luminance is kept exactly (a plain
    clamp would change it and shift the hue)."""
    d = yuv_to_rgb(torch.cat([torch.zeros_like(y), uv], dim=1))  # (B, 3, H, W) chroma part
    inf = torch.full_like(d, float("inf"))
    up = torch.where(d > 1e-9, (1.0 - y) / d.clamp(min=1e-9), inf)
    down = torch.where(d < -1e-9, y / (-d).clamp(min=1e-9), inf)
    s = torch.minimum(up, down).amin(dim=1, keepdim=True).clamp(0, 1)  # (B, 1, H, W)
    return (y + s * d).clamp(0, 1)


def fit_ab_to_gamut(L: torch.Tensor, ab: torch.Tensor, steps: int = 6) -> torch.Tensor:
    """Scale down the chroma of pixels whose (L, a, b) falls outside sRGB (bisection on the
    scale), so the colour keeps its lightness and hue instead of having channels clamped.

    Args:
        L: (1, 1, H, W) lightness; ab: (1, 2, H, W) chroma.

    Returns:
        (1, 2, H, W) chroma inside the gamut (to ~1 %).
    """
    rgb = lab_to_rgb(torch.cat([L, ab], dim=1), clamp=False)
    bad = ((rgb < -0.01) | (rgb > 1.01)).any(dim=1)[0]  # (H, W)
    if not bad.any():
        return ab
    Lb = L[0, 0][bad][None, :, None]  # (1, N, 1) as a (C, H, W) strip
    abb = ab[0][:, bad][:, :, None]  # (2, N, 1)
    lo, hi = torch.zeros_like(Lb), torch.ones_like(Lb)
    for _ in range(steps):
        mid = (lo + hi) / 2
        c = lab_to_rgb(torch.cat([Lb, abb * mid], dim=0), clamp=False)
        ok = ((c >= -0.01) & (c <= 1.01)).all(dim=0, keepdim=True)
        lo, hi = torch.where(ok, mid, lo), torch.where(ok, hi, mid)
    ab = ab.clone()
    ab[0][:, bad] = (abb * lo)[:, :, 0]
    return ab


def lab_in_gamut(L: torch.Tensor, ab: torch.Tensor) -> torch.Tensor:
    """RGB of lightness ``L`` and chroma ``ab`` with out-of-gamut chroma scaled down."""
    return lab_to_rgb(torch.cat([L, fit_ab_to_gamut(L, ab)], dim=1))


# ----------------------------------------------------------------------------------- models


def default_model_path() -> Path:
    from artkit.core.presets import presets_root

    return Path(str(presets_root())) / "color" / "default.safetensors"


def get_model(path: str | Path | None = None, device: torch.device | str = "cpu"):
    """The colouriser of ``path`` (default: the shipped one), loaded once per process."""
    from artkit.color.model import load_model

    path = Path(path) if path is not None else default_model_path()
    key = f"{path.resolve()}@{device}"
    if key not in _MODELS:
        if not path.is_file() and path == default_model_path():
            raise ArtkitError("the shipped colorize model is missing",
                              "reinstall artkit or pass --model MODEL.safetensors")
        model, extra = load_model(path)
        _MODELS[key] = (model.to(device), extra)
    return _MODELS[key]


# ----------------------------------------------------------------------------------- methods


def remove_cast(ab: torch.Tensor, share: float = CAST_REMOVAL) -> torch.Tensor:
    """(B, 2, h, w) predicted chroma with ``share`` of its image mean taken off (gray world)."""
    return ab - share * ab.mean(dim=(2, 3), keepdim=True)


def _model_chroma(L: torch.Tensor, size: tuple[int, int], model_path, device,
                  cast_removal: float = CAST_REMOVAL, saturation: float = SATURATION
                  ) -> tuple[torch.Tensor, dict]:
    model, extra = get_model(model_path, device)
    Ls = resize(L, size).to(device)
    with torch.inference_mode():
        ab = model(Ls)  # (1, 2, h/4, w/4)
    ab = remove_cast(ab, cast_removal) * saturation
    ab = F.interpolate(ab, size=size, mode="bilinear", align_corners=False)
    return ab.cpu(), {"model": str(model_path or "default"), "backbone": model.config.backbone,
                      "loss": model.config.loss}


def _load_hints(hints: ImageLike, shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray | None]:
    """The scribble image as (H, W, 3) RGB and optional (H, W) alpha, checked against the photo."""
    if isinstance(hints, (str, Path)):
        im = load_image(hints, "RGBA")
        arr = np.asarray(im, dtype=np.float64) / 255.0
    elif isinstance(hints, Image.Image):
        arr = np.asarray(hints.convert("RGBA"), dtype=np.float64) / 255.0
    else:
        arr = as_rgb_tensor(hints, "hints image")[0].permute(1, 2, 0).double().numpy()
    if arr.shape[:2] != tuple(shape):
        raise ArtkitError(f"the hints image is {arr.shape[1]}×{arr.shape[0]} but the photo is "
                          f"{shape[1]}×{shape[0]}",
                          "draw the hints on a copy of the photo (same size)")
    rgb, alpha = arr[..., :3], (arr[..., 3] if arr.shape[2] == 4 else None)
    if alpha is not None:
        rgb = rgb * alpha[..., None] + (1 - alpha[..., None])  # composite onto white
    return rgb, alpha


def _hints_chroma(rgb: torch.Tensor, hints: ImageLike, size: tuple[int, int]
                  ) -> tuple[torch.Tensor, dict]:
    from artkit.color import hints as levin

    H, W = rgb.shape[-2:]
    y_full = rgb_to_yuv(rgb.double())[0, 0].numpy()  # (H, W)
    hint_rgb, alpha = _load_hints(hints, (H, W))
    mask, uv = levin.hint_mask(y_full, hint_rgb, alpha)
    levin.check_hints(mask, uv)
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
    out = levin.solve(y_s, uv_s, mask_s)  # (h, w, 2)
    return torch.from_numpy(out).permute(2, 0, 1)[None].float(), {"hint_pixels": int(mask.sum())}


def _resolve_method(method: str, hints, reference) -> str:
    if method not in METHODS:
        raise ArtkitError(f"unknown method '{method}'", f"use one of {', '.join(METHODS)}")
    if isinstance(reference, (list, tuple)) and len(reference) == 0:
        reference = None
    if method == "auto":
        return "hints" if hints is not None else "exemplar" if reference is not None else "model"
    if method == "hints" and hints is None:
        raise ArtkitError("--method hints needs a scribble image", "pass --hints SCRIBBLES.png")
    if method == "exemplar" and reference is None:
        raise ArtkitError("--method exemplar needs reference photos",
                          "pass --reference PHOTO (or a folder of photos)")
    return method


def colorize(image: ImageLike, method: str = "auto", *, hints: ImageLike | None = None,
             reference: ImageLike | Sequence[ImageLike] | None = None,
             model: str | Path | None = None, render_size: int | None = None,
             keep_color_input: bool = False, cast_removal: float = CAST_REMOVAL,
             saturation: float = SATURATION,
             device: str | torch.device = "cpu",
             progress: ProgressCallback | None = None) -> ColorizeResult:
    """Colour a photo.

    Args:
        image: the photo (path, PIL image, array or tensor); a colour photo is converted to gray
            first, unless ``keep_color_input`` (then it is returned as it is).
        method: ``"auto"``, ``"model"``, ``"exemplar"`` or ``"hints"``.
        hints: scribble image (same size as the photo) for ``"hints"``: coloured strokes drawn
            over the gray photo, or on a transparent layer.
        reference: reference photo(s) or folder(s) of photos for ``"exemplar"``.
        model: a model file from ``artkit colorize train`` (default: the shipped model).
        render_size: long side at which chroma is computed (default per method, measured).
        keep_color_input: pass colour inputs through unchanged.
        cast_removal: model method: share of the predicted image-mean chroma removed (gray
            world), against a uniform warm cast; 0 keeps the raw prediction.
        saturation: model method: scale of the predicted chroma (1 keeps it; the default 0.75
            was chosen on validation photos, see :data:`SATURATION`).
        device: where the networks run.
        progress: progress callback.

    Returns:
        A :class:`ColorizeResult`.

    Raises:
        ArtkitError: bad image, hints or references, a model file of another kind.
    """
    from artkit.core.runtime import resolve_device

    t0 = time.perf_counter()
    method = _resolve_method(method, hints, reference)
    dev = resolve_device(device)
    rgb = as_rgb_tensor(image)
    H, W = rgb.shape[-2:]
    colour = is_color(rgb)
    if colour and keep_color_input:
        return ColorizeResult(rgb, "kept", (H, W), time.perf_counter() - t0, True,
                              {"reason": "colour input kept (keep_color_input)"})
    rs = render_size or DEFAULT_RENDER_SIZE[method]
    if rs < 16:
        raise ArtkitError(f"render size must be at least 16, got {rs}")
    multiple = 8 if method == "model" else 1
    size = working_size(H, W, rs, multiple)
    report(progress, "colorize", 0, 1, method)
    if method == "hints":
        uv, details = _hints_chroma(rgb, hints, size)
        yuv = rgb_to_yuv(rgb)
        uv_full = guided_upsample(uv, yuv[:, :1]) if tuple(size) != (H, W) else uv
        out = yuv_in_gamut(yuv[:, :1], uv_full)
    else:
        lab = rgb_to_lab(rgb)
        L = lab[:, :1]  # (1, 1, H, W)
        if method == "model":
            if not 0 <= cast_removal <= 1:
                raise ArtkitError(f"cast removal must be in [0, 1], got {cast_removal}")
            if not 0 <= saturation <= 2:
                raise ArtkitError(f"saturation must be in [0, 2], got {saturation}")
            ab, details = _model_chroma(L, size, model, dev, cast_removal, saturation)
        else:
            from artkit.color.exemplar import exemplar_chroma

            ab, details = exemplar_chroma(L, size, reference, device=dev, progress=progress)
        if tuple(size) != (H, W):
            # Fit the gamut at the working size (cheap), then upsample; the full-size result
            # then needs at most a small clamp.
            ab = fit_ab_to_gamut(resize(L, size), ab)
            out = lab_to_rgb(torch.cat([L, guided_upsample(ab, L / 100.0)], dim=1))
        else:
            out = lab_in_gamut(L, ab)
    report(progress, "colorize", 1, 1, method)
    return ColorizeResult(out, method, tuple(size), time.perf_counter() - t0, colour, details)
