"""Input files: images and folders of images, expanded in a stable order."""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

from artkit.core.errors import ArtkitError

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp", ".gif"}


def list_images(paths: Iterable[str | Path]) -> list[Path]:
    """Expand files and folders into image files.

    A folder contributes its image files (by suffix, sub-folders included, hidden files
    skipped), sorted; a file is taken as given, whatever its suffix, so that a non-image named
    explicitly is reported rather than silently dropped.

    Raises:
        ArtkitError: a path does not exist, or a folder holds no image.
    """
    out: list[Path] = []
    for p in map(Path, paths):
        if not p.exists():
            raise ArtkitError(f"input '{p}' does not exist")
        if p.is_dir():
            found = sorted(f for f in p.rglob("*")
                           if f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES
                           and not any(part.startswith(".") for part in f.relative_to(p).parts))
            if not found:
                raise ArtkitError(f"folder '{p}' holds no images",
                                  f"images end in {', '.join(sorted(IMAGE_SUFFIXES))}")
            out.extend(found)
        else:
            out.append(p)
    return out
