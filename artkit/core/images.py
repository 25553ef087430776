"""Images in and out, tensors, and colour spaces (sRGB <-> Lab, RGB <-> YUV) in torch.

Tensors are float32 in [0, 1], shaped (B, C, H, W) unless a function says otherwise.
"""

from __future__ import annotations

import io
import json
import os
import warnings
from pathlib import Path
from typing import Iterable, Union

import numpy as np
import torch
from PIL import Image, ImageOps, PngImagePlugin, UnidentifiedImageError

from artkit.core.errors import ArtkitError
from artkit.core.files import atomic_path

# ----------------------------------------------------------------------------------- loading

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp", ".gif",
                            ".ppm", ".pgm", ".pbm"})
MAX_PIXELS = 8192 * 8192  # larger images are refused from their header, before decoding
ImageLike = Union[str, os.PathLike, Image.Image, np.ndarray, torch.Tensor]

# artkit checks sizes itself (below), before decoding; Pillow's own guard (an error at twice
# this) only backs it up, and its warning below that is silenced: artkit's check speaks instead.
Image.MAX_IMAGE_PIXELS = MAX_PIXELS
warnings.filterwarnings("ignore", category=Image.DecompressionBombWarning)


def list_images(paths: Iterable[str | os.PathLike], *, recursive: bool = True,
                exclude: Iterable[str | os.PathLike] = ()) -> list[Path]:
    """Expand files and folders into image files, in a stable order.

    A folder contributes its image files (by suffix; sub-folders too when ``recursive``;
    hidden files and folders skipped), sorted; a file is taken as given, whatever its suffix,
    so that a non-image named explicitly is reported rather than silently dropped.

    Args:
        paths: files and folders.
        recursive: look into sub-folders.
        exclude: folders whose contents are never inputs (e.g. the output folder when it lies
            inside an input folder, so earlier results are not read as photos).

    Raises:
        ArtkitError: a path does not exist, or a folder holds no image.
    """
    skip = [Path(e).resolve() for e in exclude]
    out: list[Path] = []
    for p in map(Path, paths):
        if not p.exists():
            raise ArtkitError(f"input '{p}' does not exist")
        if not p.is_dir():
            out.append(p)
            continue
        walk = p.rglob("*") if recursive else p.iterdir()
        found = sorted(f for f in walk
                       if f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES
                       and not any(part.startswith(".") for part in f.relative_to(p).parts)
                       and not any(f.resolve().is_relative_to(s) for s in skip))
        if not found:
            raise ArtkitError(f"folder '{p}' holds no images",
                              f"images end in {', '.join(sorted(IMAGE_SUFFIXES))}")
        out.extend(found)
    return out


def image_size(path: str | os.PathLike) -> tuple[int, int]:
    """(width, height) read from the file's header, without decoding the pixels.

    Raises:
        ArtkitError: not an image Pillow can read.
    """
    try:
        with Image.open(path) as im:
            return im.size
    except Image.DecompressionBombError:
        raise _too_large(f"image '{path}'", MAX_PIXELS) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise ArtkitError(f"cannot read image '{path}': {_short(exc)}",
                          "check that the file is a complete PNG/JPEG/TIFF/... image") from None


def load_image(path: str | os.PathLike, mode: str = "RGB", background=(255, 255, 255), *,
               max_pixels: int = MAX_PIXELS) -> Image.Image:
    """Load any image Pillow reads, with EXIF orientation applied, converted to ``mode``.

    Handles RGB, RGBA and LA (alpha composited onto ``background`` when ``mode`` has no alpha),
    L, 1, P (palette), CMYK, and 16/32-bit integer or float images (scaled to 8 bits by their
    value range: 16-bit by 257, float by 255). The size is checked from the header before the
    pixels are decoded, so a small file claiming a huge picture costs nothing.

    Args:
        path: the image file.
        mode: ``"RGB"``, ``"RGBA"`` or ``"L"``.
        background: colour that transparent pixels are laid on.
        max_pixels: the largest width × height accepted.

    Raises:
        ArtkitError: the file is missing, is not an image, is truncated or is too large.
    """
    path = Path(path)
    if not path.exists():
        raise ArtkitError(f"image '{path}' does not exist")
    if path.is_dir():
        raise ArtkitError(f"'{path}' is a folder, not an image")
    try:
        with Image.open(path) as im:
            check_pixels(im.size, f"image '{path}'", max_pixels)
            im.load()
            im = ImageOps.exif_transpose(im)
            return _convert(im, mode, background)
    except Image.DecompressionBombError:
        raise _too_large(f"image '{path}'", max_pixels) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as exc:
        raise ArtkitError(f"cannot read image '{path}': {_short(exc)}",
                          "check that the file is a complete PNG/JPEG/TIFF/... image") from None


def check_pixels(size: tuple[int, int], what: str, max_pixels: int = MAX_PIXELS) -> None:
    """Refuse a (width, height) that is empty or over ``max_pixels``."""
    w, h = size
    if w < 1 or h < 1:
        raise ArtkitError(f"{what} is empty ({w}×{h})")
    if w * h > max_pixels:
        raise _too_large(f"{what} is {w}×{h} pixels,", max_pixels)


def _too_large(what: str, max_pixels: int) -> ArtkitError:
    side = int(max_pixels ** 0.5)
    return ArtkitError(f"{what} more than artkit takes ({max_pixels / 1e6:.0f} megapixels)",
                       f"scale it below {side}×{side} first")


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


def to_mode(im: Image.Image, mode: str = "RGB", background=(255, 255, 255)) -> Image.Image:
    """Convert a PIL image of any mode to ``mode`` (see :func:`load_image` for the rules)."""
    return _convert(im, mode, background)


def as_image(image: ImageLike, mode: str = "RGB", what: str = "image",
             max_pixels: int = MAX_PIXELS) -> Image.Image:
    """Any image-like input → a PIL image in ``mode``: the one way inputs become images.

    Args:
        image: a path, a PIL image, an (H, W[, C]) array (uint8, or floats in [0, 1]), or a
            (1, C, H, W) / (C, H, W) tensor in [0, 1] with C = 1, 3 or 4.
        mode: ``"RGB"``, ``"RGBA"`` or ``"L"``.
        what: how to name it in errors ("style painting", "doodle").
        max_pixels: the largest width × height accepted.

    Raises:
        ArtkitError: unreadable, of an unusable type or shape, or too large.
    """
    if isinstance(image, (str, os.PathLike)):
        return load_image(image, mode, max_pixels=max_pixels)
    if isinstance(image, Image.Image):
        check_pixels(image.size, f"the {what}", max_pixels)
        return _convert(image, mode, (255, 255, 255))
    if isinstance(image, torch.Tensor):
        t = image.detach()
        if t.dim() == 4 and t.shape[0] == 1:
            t = t[0]
        if t.dim() == 2:
            t = t[None]
        if t.dim() != 3 or t.shape[0] not in (1, 3, 4):
            raise ArtkitError(f"the {what} must be one gray, RGB or RGBA image, "
                              f"got a tensor of shape {tuple(image.shape)}")
        check_pixels((t.shape[-1], t.shape[-2]), f"the {what}", max_pixels)
        return _convert(tensor_to_pil(t), mode, (255, 255, 255))
    if isinstance(image, np.ndarray):
        arr = image
        if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[2] not in (1, 3, 4)):
            raise ArtkitError(f"the {what} must be an (H, W) or (H, W, 3) array, "
                              f"got shape {arr.shape}")
        check_pixels((arr.shape[1], arr.shape[0]), f"the {what}", max_pixels)
        if arr.dtype != np.uint8:
            f = np.nan_to_num(arr.astype(np.float32))
            arr = np.clip(f * (255.0 if f.max() <= 1.0 else 1.0) + 0.5, 0, 255).astype(np.uint8)
        if arr.ndim == 3 and arr.shape[2] == 1:
            arr = arr[:, :, 0]
        return _convert(Image.fromarray(arr), mode, (255, 255, 255))
    raise ArtkitError(f"cannot use a {type(image).__name__} as the {what}",
                      "give a path, a PIL image, an array or a tensor")


def as_tensor(image: ImageLike, mode: str = "RGB", what: str = "image",
              max_pixels: int = MAX_PIXELS) -> torch.Tensor:
    """Any image-like input → (1, C, H, W) float32 in [0, 1] (see :func:`as_image`)."""
    if isinstance(image, torch.Tensor) and mode == "RGB" and image.dim() in (3, 4):
        t = image.detach().float()
        t = t[None] if t.dim() == 3 else t
        if t.shape[0] == 1 and t.shape[1] in (1, 3):  # keep full float precision
            check_pixels((t.shape[-1], t.shape[-2]), f"the {what}", max_pixels)
            return t.expand(-1, 3, -1, -1).clamp(0, 1).contiguous()
    return pil_to_tensor(as_image(image, mode, what, max_pixels))


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


IMAGE_FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".webp": "WEBP"}


def encode_image(image: torch.Tensor | Image.Image, suffix: str, *, manifest: dict | None = None,
                 quality: int = 95) -> bytes:
    """An image's file bytes for ``suffix`` (``.png``, ``.jpg``/``.jpeg`` or ``.webp``).

    Args:
        image: a tensor in [0, 1] or a PIL image.
        suffix: the file type.
        manifest: when given, stored in a PNG as the text chunk ``artkit`` (JSON).
        quality: JPEG/WebP quality.

    Raises:
        ArtkitError: unsupported suffix.
    """
    fmt = IMAGE_FORMATS.get(suffix.lower())
    if fmt is None:
        raise ArtkitError(f"unknown image type '{suffix}'", "use .png or .jpg")
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
    return buf.getvalue()


def save_image(image: torch.Tensor | Image.Image, path: str | os.PathLike, *, force: bool = False,
               manifest: dict | None = None, quality: int = 95) -> Path:
    """Save an image atomically as PNG, JPEG or WebP (chosen by the suffix).

    Raises:
        ArtkitError: unsupported suffix, or the file exists and ``force`` is false.
    """
    path = Path(path)
    data = encode_image(image, path.suffix, manifest=manifest, quality=quality)
    with atomic_path(path, force) as tmp:
        tmp.write_bytes(data)
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
