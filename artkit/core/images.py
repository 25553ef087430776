"""Images in and out, tensors, and colour spaces (sRGB <-> Lab, RGB <-> YUV) in torch.

Tensors are float32 in [0, 1], shaped (B, C, H, W) unless a function says otherwise.
"""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps, PngImagePlugin, UnidentifiedImageError

from artkit.core.errors import ArtkitError
from artkit.core.files import atomic_path

# ----------------------------------------------------------------------------------- loading


def load_image(path: str | os.PathLike, mode: str = "RGB", background=(255, 255, 255)) -> Image.Image:
    """Load any image Pillow reads, with EXIF orientation applied, converted to ``mode``.

    Handles RGB, RGBA and LA (alpha composited onto ``background`` when ``mode`` has no alpha),
    L, 1, P (palette), CMYK, and 16/32-bit integer or float images (scaled to 8 bits by their
    value range: 16-bit by 257, float by 255).

    Args:
        path: the image file.
        mode: ``"RGB"``, ``"RGBA"`` or ``"L"``.
        background: colour that transparent pixels are laid on.

    Raises:
        ArtkitError: the file is missing, is not an image, or is truncated.
    """
    path = Path(path)
    if not path.exists():
        raise ArtkitError(f"image '{path}' does not exist")
    if path.is_dir():
        raise ArtkitError(f"'{path}' is a folder, not an image")
    try:
        with Image.open(path) as im:
            im.load()
            im = ImageOps.exif_transpose(im)
            return _convert(im, mode, background)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise ArtkitError(f"cannot read image '{path}': {_short(exc)}",
                          "check that the file is a complete PNG/JPEG/TIFF/... image") from None


def _short(exc: Exception) -> str:
    return " ".join(str(exc).split())[:160] or type(exc).__name__


def _convert(im: Image.Image, mode: str, background) -> Image.Image:
    if im.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I"):
        arr = np.asarray(im, dtype=np.float64)
        scale = 257.0 if im.mode.startswith("I;16") or arr.max() > 255 else 1.0
        im = Image.fromarray(np.clip(arr / scale + 0.5, 0, 255).astype(np.uint8), "L")
    elif im.mode == "F":
        arr = np.asarray(im, dtype=np.float64)
        scale = 255.0 if arr.max() <= 1.0 else 1.0
        im = Image.fromarray(np.clip(arr * scale + 0.5, 0, 255).astype(np.uint8), "L")
    elif im.mode in ("RGB;16", "RGBA;16") or im.mode.startswith("BGR"):
        im = im.convert("RGB")
    if im.mode == "P":
        im = im.convert("RGBA" if "transparency" in im.info else "RGB")
    if im.mode in ("RGBA", "LA", "PA") and mode != "RGBA":
        rgba = im.convert("RGBA")
        base = Image.new("RGBA", rgba.size, tuple(background) + (255,))
        im = Image.alpha_composite(base, rgba)
    return im.convert(mode)


def pil_to_tensor(im: Image.Image) -> torch.Tensor:
    """PIL image → (1, C, H, W) float32 in [0, 1]."""
    arr = np.asarray(im, dtype=np.float32) / 255.0
    if arr.ndim == 2:
        arr = arr[:, :, None]
    return torch.from_numpy(np.ascontiguousarray(arr.transpose(2, 0, 1))).unsqueeze(0)


def tensor_to_pil(t: torch.Tensor) -> Image.Image:
    """(1, C, H, W) or (C, H, W) tensor in [0, 1] → PIL image (C = 1 or 3 or 4)."""
    if t.dim() == 4:
        if t.shape[0] != 1:
            raise ValueError(f"expected a batch of one image, got {tuple(t.shape)}")
        t = t[0]
    arr = (t.detach().float().clamp(0, 1).cpu().numpy().transpose(1, 2, 0) * 255.0 + 0.5)
    arr = arr.astype(np.uint8)
    if arr.shape[2] == 1:
        return Image.fromarray(arr[:, :, 0], "L")
    return Image.fromarray(arr, "RGBA" if arr.shape[2] == 4 else "RGB")


def load_tensor(path: str | os.PathLike, mode: str = "RGB",
                size: tuple[int, int] | None = None) -> torch.Tensor:
    """Load an image as a (1, C, H, W) tensor, optionally resized to ``size`` = (W, H)."""
    im = load_image(path, mode)
    if size is not None and im.size != tuple(size):
        im = im.resize(tuple(size), Image.Resampling.LANCZOS)
    return pil_to_tensor(im)


# ----------------------------------------------------------------------------------- saving


def save_image(image: torch.Tensor | Image.Image, path: str | os.PathLike, *, force: bool = False,
               manifest: dict | None = None, quality: int = 95) -> Path:
    """Save an image atomically as PNG or JPEG (chosen by the suffix).

    Args:
        image: a tensor in [0, 1] or a PIL image.
        path: output file; ``.png``, ``.jpg``/``.jpeg`` or ``.webp``.
        force: overwrite an existing file.
        manifest: when given, stored in a PNG as the text chunk ``artkit`` (JSON).
        quality: JPEG/WebP quality.

    Raises:
        ArtkitError: unsupported suffix, or the file exists and ``force`` is false.
    """
    path = Path(path)
    fmt = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".webp": "WEBP"}.get(path.suffix.lower())
    if fmt is None:
        raise ArtkitError(f"cannot save '{path}': unknown image type '{path.suffix}'",
                          "use .png or .jpg")
    im = tensor_to_pil(image) if isinstance(image, torch.Tensor) else image
    kwargs: dict = {}
    if fmt == "PNG" and manifest is not None:
        info = PngImagePlugin.PngInfo()
        info.add_text("artkit", json.dumps(manifest, sort_keys=True, default=str))
        kwargs["pnginfo"] = info
    if fmt in ("JPEG", "WEBP"):
        kwargs["quality"] = quality
        if im.mode not in ("RGB", "L"):
            im = im.convert("RGB")
    buf = io.BytesIO()
    im.save(buf, fmt, **kwargs)
    with atomic_path(path, force) as tmp:
        tmp.write_bytes(buf.getvalue())
    return path


def read_png_manifest(path: str | os.PathLike) -> dict | None:
    """The manifest stored in a PNG's ``artkit`` text chunk, or ``None``."""
    with Image.open(path) as im:
        text = getattr(im, "text", {}).get("artkit")
    return json.loads(text) if text else None


# ----------------------------------------------------------------------------------- colour

# sRGB (D65) → XYZ, IEC 61966-2-1.
_RGB2XYZ = torch.tensor([[0.4124564, 0.3575761, 0.1804375],
                         [0.2126729, 0.7151522, 0.0721750],
                         [0.0193339, 0.1191920, 0.9503041]], dtype=torch.float64)
_XYZ2RGB = torch.linalg.inv(_RGB2XYZ)
_WHITE = _RGB2XYZ.sum(dim=1)  # D65 white point of this matrix
_EPS = 216.0 / 24389.0
_KAPPA = 24389.0 / 27.0

# BT.601 YUV (analogue form: U = 0.492 (B − Y), V = 0.877 (R − Y)), as ColorNet used.
_RGB2YUV = torch.tensor([[0.299, 0.587, 0.114],
                         [-0.14714119, -0.28886916, 0.43601035],
                         [0.61497538, -0.51496512, -0.10001026]], dtype=torch.float64)
_YUV2RGB = torch.linalg.inv(_RGB2YUV)


def _mix(x: torch.Tensor, m: torch.Tensor) -> torch.Tensor:
    """Apply a 3×3 matrix over the channel axis of (B, 3, H, W) or (3, H, W)."""
    m = m.to(device=x.device, dtype=x.dtype)
    return torch.einsum("ij,...jhw->...ihw", m, x)


def srgb_to_linear(x: torch.Tensor) -> torch.Tensor:
    return torch.where(x <= 0.04045, x / 12.92, ((x.clamp(min=0.04045) + 0.055) / 1.055) ** 2.4)


def linear_to_srgb(x: torch.Tensor) -> torch.Tensor:
    return torch.where(x <= 0.0031308, x * 12.92,
                       1.055 * x.clamp(min=0.0031308) ** (1.0 / 2.4) - 0.055)


def rgb_to_lab(rgb: torch.Tensor) -> torch.Tensor:
    """sRGB in [0, 1] → CIE Lab (L in [0, 100], a/b roughly [−128, 127]), D65."""
    xyz = _mix(srgb_to_linear(rgb), _RGB2XYZ)
    w = _WHITE.to(device=rgb.device, dtype=rgb.dtype).view(3, 1, 1)
    t = xyz / w
    f = torch.where(t > _EPS, t.clamp(min=_EPS) ** (1.0 / 3.0), (_KAPPA * t + 16.0) / 116.0)
    fx, fy, fz = f.unbind(dim=-3)
    return torch.stack([116.0 * fy - 16.0, 500.0 * (fx - fy), 200.0 * (fy - fz)], dim=-3)


def lab_to_rgb(lab: torch.Tensor, clamp: bool = True) -> torch.Tensor:
    """CIE Lab → sRGB; clamped to [0, 1] unless ``clamp`` is false."""
    L, a, b = lab.unbind(dim=-3)
    fy = (L + 16.0) / 116.0
    f = torch.stack([fy + a / 500.0, fy, fy - b / 200.0], dim=-3)
    t = torch.where(f ** 3 > _EPS, f ** 3, (116.0 * f - 16.0) / _KAPPA)
    w = _WHITE.to(device=lab.device, dtype=lab.dtype).view(3, 1, 1)
    rgb = linear_to_srgb(_mix(t * w, _XYZ2RGB))
    return rgb.clamp(0, 1) if clamp else rgb


def rgb_to_yuv(rgb: torch.Tensor) -> torch.Tensor:
    """RGB in [0, 1] → YUV (BT.601; Y in [0, 1], U in ±0.436, V in ±0.615)."""
    return _mix(rgb, _RGB2YUV)


def yuv_to_rgb(yuv: torch.Tensor) -> torch.Tensor:
    """YUV (BT.601) → RGB (not clamped)."""
    return _mix(yuv, _YUV2RGB)


def rgb_to_gray(rgb: torch.Tensor) -> torch.Tensor:
    """RGB → luma Y (BT.601), shape (..., 1, H, W)."""
    return rgb_to_yuv(rgb)[..., :1, :, :]
