"""Frozen backbone features of image files, cached on disk by file content.

A feature vector is keyed by the sha256 of the file's bytes and the backbone's name, and stored
as a small safetensors file under ``ARTKIT_HOME/cache/features/<backbone>/``. A second run over
the same files loads every vector from there without loading the network at all; a file whose
bytes change gets a new hash and so is recomputed.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

import torch

from artkit import nets
from artkit.core import distributed
from artkit.core.errors import ArtkitError
from artkit.core.files import atomic_path
from artkit.core.images import IMAGE_SUFFIXES, list_images, load_image
from artkit.core.progress import ProgressCallback, report
from artkit.core.runtime import resolve_device
from artkit.nets.classifier import BACKBONES, check_backbone
from artkit.weights.store import artkit_home

__all__ = ["BACKBONES", "FeatureSet", "IMAGE_SUFFIXES", "cache_dir", "check_backbone",
           "extract_features", "image_files", "load_backbone", "sha256_bytes"]

@dataclass
class FeatureSet:
    """Features of the files that could be read, and the ones that could not.

    Args:
        paths: the files that have a feature row, in input order.
        hashes: sha256 of each of ``paths``.
        features: (N, D) float32 features, row ``i`` for ``paths[i]``.
        skipped: ``(path, reason)`` of each file that could not be read.
        computed: how many rows were computed (the rest came from the cache).
    """

    paths: list[Path]
    hashes: list[str]
    features: torch.Tensor
    skipped: list[tuple[Path, str]] = field(default_factory=list)
    computed: int = 0


def cache_dir(backbone: str) -> Path:
    """The folder that holds the cached features of ``backbone``."""
    return artkit_home() / "cache" / "features" / backbone


def sha256_bytes(data: bytes) -> str:
    """Hex sha256 of ``data``."""
    return hashlib.sha256(data).hexdigest()


def image_files(inputs: Iterable[str | Path]) -> list[Path]:
    """Expand files and folders (their image files, sorted, not recursive) into a file list,
    through :func:`artkit.core.images.list_images`.

    Raises:
        ArtkitError: an input does not exist, or a folder holds no image.
    """
    return list_images(inputs, recursive=False)


def load_backbone(backbone: str, device: torch.device):
    """The feature network ``backbone`` on ``device`` (looked up through :mod:`artkit.nets` at
    call time, so tests can swap in a small network)."""
    check_backbone(backbone)
    return nets.load_efficientnet(device)


def _cache_file(backbone: str, digest: str) -> Path:
    return cache_dir(backbone) / digest[:2] / f"{digest}.safetensors"


def _read_cached(backbone: str, digest: str, dim: int) -> torch.Tensor | None:
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    file = _cache_file(backbone, digest)
    if not file.is_file():
        return None
    try:
        vec = load_file(str(file))["features"]
    except (SafetensorError, KeyError, OSError, ValueError):
        return None  # damaged entry: recompute it
    return vec if tuple(vec.shape) == (dim,) else None


def _write_cached(backbone: str, digest: str, vec: torch.Tensor) -> None:
    from safetensors.torch import save_file

    try:
        with atomic_path(_cache_file(backbone, digest), force=True) as tmp:
            save_file({"features": vec.detach().float().cpu().contiguous()}, str(tmp),
                      metadata={"backbone": backbone, "sha256": digest})
    except OSError:
        pass  # a read-only cache only costs speed


def extract_features(paths: Iterable[str | Path], backbone: str = "efficientnet-lite0", *,
                     device: str | torch.device = "cpu", batch_size: int = 16,
                     use_cache: bool = True, progress: ProgressCallback | None = None,
                     _local: bool = False) -> FeatureSet:
    """Pooled backbone features of image files, through the on-disk cache.

    Args:
        paths: image files.
        backbone: a name from :data:`BACKBONES`.
        device: where to run the network (only loaded if some feature is not cached).
        batch_size: images per forward pass.
        use_cache: read and write the feature cache.
        progress: optional progress callback (task ``"features"``).

    Under torchrun (the process group joined) each rank extracts every ``size``-th file and
    the rows are gathered, so every rank returns the whole set, in the order of ``paths``.

    Returns:
        A :class:`FeatureSet`; unreadable files are listed in ``skipped``, not raised.
    """
    spec = check_backbone(backbone)
    paths = [Path(p) for p in paths]
    w = distributed.active()
    if w.distributed and not _local:
        mine = extract_features(distributed.shard(paths, w), backbone, device=device,
                                batch_size=batch_size, use_cache=use_cache, progress=progress,
                                _local=True)
        return _gathered(paths, mine, spec["dim"])
    total = len(paths)
    rows: dict[int, torch.Tensor] = {}
    hashes: dict[int, str] = {}
    skipped: dict[int, str] = {}
    todo: list[tuple[int, str]] = []
    for i, p in enumerate(paths):
        try:
            digest = sha256_bytes(p.read_bytes())
        except OSError as exc:
            skipped[i] = f"cannot read: {exc.strerror or type(exc).__name__}"
            continue
        hashes[i] = digest
        vec = _read_cached(backbone, digest, spec["dim"]) if use_cache else None
        if vec is None:
            todo.append((i, digest))
        else:
            rows[i] = vec
    done = total - len(todo)
    report(progress, "features", done, total, message="cached" if done else "")

    model = None
    dev = resolve_device(device)
    with torch.inference_mode():
        for start in range(0, len(todo), max(1, batch_size)):
            chunk = todo[start:start + max(1, batch_size)]
            batch, owners = [], []
            for i, digest in chunk:
                try:
                    image = load_image(paths[i])
                except ArtkitError as exc:
                    skipped[i] = exc.message
                    hashes.pop(i, None)
                    continue
                batch.append(nets.preprocess_pil(image, size=spec["size"]))  # (1, 3, S, S)
                owners.append((i, digest))
            if batch:
                if model is None:
                    model = load_backbone(backbone, dev)
                feats = model.features(torch.cat(batch).to(dev)).float().cpu()  # (b, D)
                for (i, digest), vec in zip(owners, feats):
                    vec = vec.clone()
                    rows[i] = vec
                    if use_cache:
                        _write_cached(backbone, digest, vec)
            done += len(chunk)
            report(progress, "features", done, total)

    keep = sorted(rows)
    feats = (torch.stack([rows[i] for i in keep]) if keep
             else torch.zeros(0, spec["dim"]))  # (N, D)
    return FeatureSet(paths=[paths[i] for i in keep], hashes=[hashes[i] for i in keep],
                      features=feats, skipped=[(paths[i], skipped[i]) for i in sorted(skipped)],
                      computed=len([i for i, _ in todo if i in rows]))


def _gathered(paths: list[Path], mine: FeatureSet, dim: int) -> FeatureSet:
    """Every rank's share of a :class:`FeatureSet` put together, in the order of ``paths``."""
    parts = distributed.all_gather_objects({
        "paths": [str(p) for p in mine.paths], "hashes": mine.hashes, "computed": mine.computed,
        "skipped": [[str(p), why] for p, why in mine.skipped]})
    rows = distributed.gather_rows(mine.features.float().contiguous())  # [(n_r, D)] by rank
    position = {str(p): i for i, p in enumerate(paths)}
    found: dict[int, tuple[str, torch.Tensor]] = {}
    skipped: dict[int, str] = {}
    for part, feats in zip(parts, rows):
        for p, digest, vec in zip(part["paths"], part["hashes"], feats):
            found[position[p]] = (digest, vec)
        for p, why in part["skipped"]:
            skipped[position[p]] = why
    keep = sorted(found)
    return FeatureSet(paths=[paths[i] for i in keep], hashes=[found[i][0] for i in keep],
                      features=(torch.stack([found[i][1] for i in keep]) if keep
                                else torch.zeros(0, dim)),  # (N, D)
                      skipped=[(paths[i], skipped[i]) for i in sorted(skipped)],
                      computed=sum(part["computed"] for part in parts))
