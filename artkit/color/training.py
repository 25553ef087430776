"""Self-supervised training of the colouriser on any folder of colour photos.

Every step draws random crops (random scale, random position, random horizontal flip) from the
photos, splits them into lightness L and chroma ab, and teaches the decoder to predict ab from L
through the frozen backbone (Adam, learning rate cosine-decayed to 5 %). Before the first step
the class-rebalancing weights and the mean chroma are measured on the photos.

:func:`train` returns a :class:`TrainedColorizer` (``.save(path)`` writes the model file) and
writes nothing itself — except a checkpoint (decoder, Adam state, epoch) after every epoch where
``checkpoint=`` says, from which ``resume=True`` continues an interrupted run with the same
crops it would have drawn. Randomness (the decoder's initial weights, the crops) comes from
``generator``; the work runs on ``device``.
"""

from __future__ import annotations

import dataclasses
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

import torch
import torch.nn.functional as F
from PIL import Image

from artkit.color.model import ColorModel, ColorModelConfig, rebalance_weights
from artkit.core import distributed
from artkit.core.checkpoint import load_checkpoint, save_checkpoint
from artkit.core.config import Config, param
from artkit.core.errors import ArtkitError
from artkit.core.images import list_images, load_image, pil_to_tensor, rgb_to_lab
from artkit.core.progress import ProgressCallback, report
from artkit.core.result import Result
from artkit.core.runtime import default_generator, generator_seed, resolve_device

MAX_SIDE = 512  # photos are kept in memory at most this big
RUN = "colorize"  # the checkpoints' run name


@dataclass
class TrainConfig(Config):
    """Settings of ``artkit colorize train``.

    Args:
        epochs: passes; each pass draws ``crops_per_image`` crops from every photo.
        size: crop side in pixels (a multiple of 8).
        batch: crops per step.
        lr: Adam learning rate (cosine-decayed to 5 % over the run).
        crops_per_image: crops per photo per epoch.
        min_scale: smallest crop, as a fraction of the photo's short side.
        model: the architecture to train.
    """

    epochs: int = param(10, ge=1, le=100_000, help="passes over the photos")
    size: int = param(128, ge=32, le=1024, help="crop side in pixels")
    batch: int = param(16, ge=1, le=4096, help="crops per step")
    lr: float = param(3e-3, gt=0, le=1, help="Adam learning rate")
    crops_per_image: int = param(32, ge=1, le=100_000, help="crops per photo per epoch")
    min_scale: float = param(0.35, gt=0, le=1, help="smallest crop, share of the short side")
    model: ColorModelConfig = field(default_factory=ColorModelConfig)

    def check(self) -> None:
        if self.size % 8:
            raise ArtkitError(f"--size must be a multiple of 8 (got {self.size})")
        self.model.validate()


@dataclass(kw_only=True)
class TrainedColorizer(Result):
    """A trained colouriser and how training went; :meth:`save` writes the model file.

    Attributes:
        model: the trained model (eval mode).
        config: the settings it was trained with.
        epoch_losses: mean loss of every epoch (resumed epochs included).
        images_per_second: training throughput of this run.
        photos: the photos trained on.
        skipped: ``(path, reason)`` of the files left out.
        seed: the generator's initial seed.
    """

    model: ColorModel
    config: TrainConfig
    epoch_losses: list[float]
    images_per_second: float
    photos: list[str]
    skipped: list[tuple[str, str]] = field(default_factory=list)
    seed: int | None = None

    def record(self) -> dict:
        """The training record a model file keeps: recipe, photos, losses, speed."""
        return {"photos": [Path(p).name for p in self.photos], "epoch_losses": self.epoch_losses,
                "images_per_second": round(self.images_per_second, 2), "seed": self.seed,
                "config": dataclasses.asdict(self.config)}

    def save(self, path: str | os.PathLike, force: bool = False) -> Path:
        """Write the model file (decoder only, float16) with its training record."""
        return self.model.save(path, training=self.record(), force=force)


def load_photos(photos: str | os.PathLike | Iterable[str | os.PathLike], max_side: int = MAX_SIDE
                ) -> tuple[list[torch.Tensor], list[str], list[tuple[str, str]]]:
    """Read every image of a folder (or of several files and folders) as (1, 3, H, W) RGB, long
    side at most ``max_side``.

    Unreadable and gray images are skipped (gray ones teach nothing about colour). Returns the
    tensors, their paths and the skipped ``(path, reason)`` pairs.

    Raises:
        ArtkitError: a path does not exist, or no usable colour photo is left.
    """
    folder = photos if isinstance(photos, (str, os.PathLike)) else ", ".join(map(str, photos))
    paths = list_images([photos] if isinstance(photos, (str, os.PathLike)) else photos)
    images, names, skipped = [], [], []
    for p in paths:
        try:
            im = load_image(p, "RGB")
        except ArtkitError as exc:
            skipped.append((str(p), exc.one_line()))
            continue
        scale = max_side / max(im.size)
        if scale < 1:
            im = im.resize((max(1, round(im.width * scale)), max(1, round(im.height * scale))),
                           Image.Resampling.LANCZOS)
        t = pil_to_tensor(im)
        if min(t.shape[-2:]) < 32:
            skipped.append((str(p), "smaller than 32 pixels"))
            continue
        chroma = rgb_to_lab(t)[:, 1:].abs().mean().item()
        if chroma < 2.0:
            skipped.append((str(p), "gray image (no colour to learn from)"))
            continue
        images.append(t)
        names.append(str(p))
    if not images:
        raise ArtkitError(f"no colour photos to train on in '{folder}'",
                          "give a folder of colour JPEG/PNG photos")
    return images, names, skipped


def crop_boxes(photos: list[torch.Tensor], n: int, min_scale: float,
               gen: torch.Generator) -> list[tuple[int, int, int, int, bool]]:
    """Draw ``n`` random crops: ``(photo, y, x, side, flip)`` each. Drawing is cheap, so under
    torchrun every rank draws the whole global batch (the generators stay in step) and cuts
    only its own share of it."""
    boxes = []
    for _ in range(n):
        k = int(torch.randint(len(photos), (1,), generator=gen))
        H, W = photos[k].shape[-2:]
        s = min_scale + (1 - min_scale) * float(torch.rand((), generator=gen))
        side = max(8, int(min(H, W) * s))
        y = int(torch.randint(H - side + 1, (1,), generator=gen))
        x = int(torch.randint(W - side + 1, (1,), generator=gen))
        boxes.append((k, y, x, side, float(torch.rand((), generator=gen)) < 0.5))
    return boxes


def cut_crops(photos: list[torch.Tensor], boxes: list[tuple[int, int, int, int, bool]],
              size: int) -> torch.Tensor:
    """The crops ``boxes`` name, resized to ``size``² (and flipped): (n, 3, size, size)."""
    out = []
    for k, y, x, side, flip in boxes:
        crop = photos[k][:, :, y:y + side, x:x + side]
        mode = "area" if side >= size else "bilinear"
        crop = F.interpolate(crop, size=(size, size), mode=mode,
                             **({} if mode == "area" else {"align_corners": False}))
        out.append(crop.flip(-1) if flip else crop)
    return torch.cat(out).clamp(0, 1)


def random_crops(photos: list[torch.Tensor], n: int, size: int, min_scale: float,
                 gen: torch.Generator) -> torch.Tensor:
    """``n`` random crops resized to ``size``², randomly flipped: (n, 3, size, size)."""
    return cut_crops(photos, crop_boxes(photos, n, min_scale, gen), size)


def chroma_statistics(photos: list[torch.Tensor], model: ColorModel, lam: float) -> None:
    """Set the model's rebalancing weights and mean chroma from the training photos."""
    samples = []
    gen = torch.Generator().manual_seed(0)
    for p in photos:
        ab = rgb_to_lab(F.interpolate(p, scale_factor=0.25, mode="area"))[0, 1:]  # (2, h, w)
        flat = ab.reshape(2, -1).T
        k = min(len(flat), 4000)
        samples.append(flat[torch.randperm(len(flat), generator=gen)[:k]])
    ab = torch.cat(samples)
    _, w = rebalance_weights(ab, model.bins, lam=lam)
    model.weights.copy_(w)
    model.mean_ab.copy_(ab.mean(dim=0))




def train(photos: str | os.PathLike | Iterable[str | os.PathLike], *,
          config: TrainConfig | None = None, checkpoint: str | os.PathLike | None = None,
          resume: bool = False, device: str | torch.device = "auto",
          generator: torch.Generator | None = None, pretrained: bool = True,
          progress: ProgressCallback | None = None) -> TrainedColorizer:
    """Train a colouriser on colour photos.

    Args:
        photos: a folder of colour photos (sub-folders included), or several files and folders.
        config: training settings (validated here).
        checkpoint: where to write a checkpoint after every epoch (``None``: nowhere).
        resume: continue from ``checkpoint`` (which must exist and match the settings; it may
            have been written by any number of processes).
        device: where the networks run.
        generator: draws the decoder's initial weights and every crop.
        pretrained: use the pretrained backbone (false only in tests).
        progress: progress callback (task ``"train"``, metrics loss and img/s).

    Under torchrun (after :func:`artkit.core.distributed.setup`) the work is data-parallel:
    every rank draws the same global batch of crop boxes, cuts and runs its interleaved share,
    weights its loss by its share of the global batch and sums the gradients with the others,
    so each optimiser step is the one a single process takes; rank 0 alone writes checkpoints.

    Returns:
        A :class:`TrainedColorizer`; nothing is written except the checkpoint.

    Raises:
        ArtkitError: no usable photos, bad settings, an unreadable or mismatched checkpoint.
    """
    t0 = time.perf_counter()
    config = config or TrainConfig()
    config.validate()
    if resume and checkpoint is None:
        raise ArtkitError("nothing to resume from: no checkpoint given")
    dev = resolve_device(device)
    w = distributed.active()
    if config.batch < w.size:
        raise ArtkitError(f"--batch {config.batch} is smaller than the {w.size} processes",
                          f"give every process at least one crop: --batch {w.size} or more")
    share = distributed.share_of(config.batch, w)  # the rows of each global batch run here
    gen = default_generator(generator)
    seed = generator_seed(gen)
    images, names, skipped = load_photos(photos)
    model = ColorModel(config.model, pretrained=pretrained, generator=gen)
    chroma_statistics(images, model, config.model.rebalance)
    base = int(torch.randint(2 ** 62, (1,), generator=gen))  # seeds each epoch's crops
    model.to(dev)
    opt = torch.optim.Adam(model.decoder.parameters(), lr=config.lr)
    steps = max(1, math.ceil(len(images) * config.crops_per_image / config.batch))
    total = steps * config.epochs
    settings = {"size": config.size, "model": dataclasses.asdict(config.model)}
    start, losses = 0, []
    if resume:
        ck = load_checkpoint(checkpoint, run=RUN)
        if ck.meta.get("settings") != settings:
            raise ArtkitError(f"checkpoint '{checkpoint}' was made with other settings "
                              f"({ck.meta.get('settings')})",
                              "resume with the same --size and model settings, or start over")
        ck.load_net(model.decoder)
        ck.load_optimizer(opt)
        start, losses = ck.epoch, [float(v) for v in ck.meta.get("losses", [])][:ck.epoch]
        if start >= config.epochs:
            raise ArtkitError(f"checkpoint '{checkpoint}' has already done {start} epochs",
                              f"ask for more than {start} with --epochs")
    model.decoder.train()
    seen, t_train = 0, time.perf_counter()
    report(progress, "train", start * steps, total)
    for epoch in range(start, config.epochs):
        epoch_gen = torch.Generator().manual_seed(base + epoch)
        run = 0.0
        for step in range(steps):
            at = epoch * steps + step
            for group in opt.param_groups:  # cosine decay to 5 %
                group["lr"] = config.lr * (0.05 + 0.475 * (1 + math.cos(math.pi * at / total)))
            boxes = crop_boxes(images, config.batch, config.min_scale, epoch_gen)
            rgb = cut_crops(images, [boxes[i] for i in share], config.size)
            lab = rgb_to_lab(rgb.to(dev))  # (b, 3, S, S), this rank's b of the global batch
            loss = model.loss(lab[:, :1], lab[:, 1:])
            opt.zero_grad(set_to_none=True)
            (loss * (len(share) / config.batch)).backward()  # ranks' sum: the global mean
            distributed.all_reduce_gradients(model.decoder)
            opt.step()
            value = loss.detach().item()
            run += value * len(share) / config.batch
            seen += config.batch
            rate = seen / max(time.perf_counter() - t_train, 1e-9)
            report(progress, "train", at + 1, total, f"epoch {epoch + 1}/{config.epochs}",
                   loss=value, img_s=round(rate, 1))
        losses.append(float(distributed.all_reduce(torch.tensor([run / steps],
                                                               dtype=torch.float64))))
        if checkpoint is not None and w.is_main:
            save_checkpoint(checkpoint, model.decoder, opt, run=RUN, epoch=epoch + 1,
                            meta={"settings": settings, "losses": losses, "photos": names})
    model.eval()
    rate = seen / max(time.perf_counter() - t_train, 1e-9)
    notes = [f"resumed at epoch {start}"] if start else []
    return TrainedColorizer(model=model, config=config, epoch_losses=losses,
                            images_per_second=rate, photos=names, skipped=skipped, seed=seed,
                            seconds=time.perf_counter() - t0, notes=notes)
