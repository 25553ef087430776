"""Self-supervised training of the colouriser on any folder of colour photos.

Every step draws random crops (random scale, random position, random horizontal flip) from the
photos, splits them into lightness L and chroma ab, and teaches the decoder to predict ab from L
through the frozen backbone. A checkpoint (decoder, Adam state, epoch) is written after every
epoch beside the output, so ``resume=True`` continues an interrupted run.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F
from PIL import Image

from artkit.color.inputs import list_images
from artkit.color.model import ColorModel, ColorModelConfig, rebalance_weights
from artkit.core.errors import ArtkitError
from artkit.core.images import load_image, pil_to_tensor, rgb_to_lab
from artkit.core.progress import ProgressCallback, report

MAX_SIDE = 512  # photos are kept in memory at most this big


@dataclass
class TrainConfig:
    """Settings of ``artkit colorize train``.

    Args:
        epochs: passes; each pass draws ``crops_per_image`` crops from every photo.
        size: crop side in pixels.
        batch: crops per step.
        lr: Adam learning rate (cosine-decayed to 5 % over the run).
        crops_per_image: crops per photo per epoch.
        min_scale: smallest crop, as a fraction of the photo's short side.
        model: the architecture to train.
    """

    epochs: int = 10
    size: int = 128
    batch: int = 16
    lr: float = 3e-3
    crops_per_image: int = 32
    min_scale: float = 0.35
    model: ColorModelConfig = field(default_factory=ColorModelConfig)

    def validate(self) -> None:
        if self.epochs < 1 or self.batch < 1 or self.crops_per_image < 1:
            raise ArtkitError("epochs, batch and crops per image must be at least 1")
        if self.size < 32 or self.size % 8:
            raise ArtkitError(f"--size must be a multiple of 8, at least 32 (got {self.size})")
        if not 0 < self.min_scale <= 1:
            raise ArtkitError(f"min_scale must be in (0, 1], got {self.min_scale}")
        self.model.validate()


@dataclass
class TrainResult:
    """What training did: the model, the loss of every epoch, throughput, the photos used."""

    model: ColorModel
    epoch_losses: list[float]
    images_per_second: float
    photos: list[str]
    skipped: list[tuple[str, str]]
    seconds: float


def load_photos(folder: str | Path, max_side: int = MAX_SIDE
                ) -> tuple[list[torch.Tensor], list[str], list[tuple[str, str]]]:
    """Read every image of a folder as (1, 3, H, W) RGB, long side at most ``max_side``.

    Gray images are skipped (they teach nothing about colour). Returns the tensors, their paths
    and the skipped ``(path, reason)`` pairs.
    """
    paths = list_images([Path(folder)])
    photos, names, skipped = [], [], []
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
        photos.append(t)
        names.append(str(p))
    if not photos:
        raise ArtkitError(f"no colour photos to train on in '{folder}'",
                          "give a folder of colour JPEG/PNG photos")
    return photos, names, skipped


def random_crops(photos: list[torch.Tensor], n: int, size: int, min_scale: float,
                 gen: torch.Generator) -> torch.Tensor:
    """``n`` random crops resized to ``size``², randomly flipped: (n, 3, size, size)."""
    out = []
    for _ in range(n):
        img = photos[int(torch.randint(len(photos), (1,), generator=gen))]
        H, W = img.shape[-2:]
        short = min(H, W)
        s = min_scale + (1 - min_scale) * float(torch.rand((), generator=gen))
        side = max(8, int(short * s))
        y = int(torch.randint(H - side + 1, (1,), generator=gen))
        x = int(torch.randint(W - side + 1, (1,), generator=gen))
        crop = img[:, :, y:y + side, x:x + side]
        mode = "area" if side >= size else "bilinear"
        crop = F.interpolate(crop, size=(size, size), mode=mode,
                             **({} if mode == "area" else {"align_corners": False}))
        if float(torch.rand((), generator=gen)) < 0.5:
            crop = crop.flip(-1)
        out.append(crop)
    return torch.cat(out).clamp(0, 1)


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


def checkpoint_path(output: str | Path) -> Path:
    """``model.safetensors`` → ``model.ckpt.safetensors``."""
    output = Path(output)
    return output.with_name(output.stem + ".ckpt.safetensors")


def _save_checkpoint(path: Path, model: ColorModel, opt: torch.optim.Optimizer, epoch: int,
                     losses: list[float], config: TrainConfig) -> None:
    from safetensors.torch import save_file

    from artkit.core.files import atomic_path

    tensors = {f"decoder.{k}": v.detach().contiguous()
               for k, v in model.decoder.state_dict().items()}
    tensors["weights"] = model.weights.contiguous()
    tensors["mean_ab"] = model.mean_ab.contiguous()
    state = opt.state_dict()
    for pid, st in state["state"].items():
        for key, val in st.items():
            if torch.is_tensor(val):
                tensors[f"opt.{pid}.{key}"] = val.detach().reshape(-1).contiguous() \
                    if val.dim() == 0 else val.detach().contiguous()
    meta = {"kind": "artkit-colorize-checkpoint", "epoch": str(epoch),
            "losses": json.dumps(losses), "config": json.dumps(_config_dict(config))}
    with atomic_path(path, True) as tmp:
        save_file(tensors, str(tmp), metadata=meta)


def _config_dict(config: TrainConfig) -> dict:
    import dataclasses

    return dataclasses.asdict(config)


def _load_checkpoint(path: Path, model: ColorModel, opt: torch.optim.Optimizer,
                     config: TrainConfig) -> tuple[int, list[float]]:
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
            tensors = {k: f.get_tensor(k) for k in f.keys()}
    except Exception as exc:
        raise ArtkitError(f"cannot read checkpoint '{path}' ({type(exc).__name__})",
                          "delete it to start over") from None
    if meta.get("kind") != "artkit-colorize-checkpoint":
        raise ArtkitError(f"'{path}' is not a colorize training checkpoint")
    saved = json.loads(meta.get("config", "{}"))
    if saved.get("model") != _config_dict(config)["model"] or saved.get("size") != config.size:
        raise ArtkitError(f"checkpoint '{path}' was made with other settings ({saved})",
                          "resume with the same --size and model settings, or delete it")
    dec = {k[8:]: v for k, v in tensors.items() if k.startswith("decoder.")}
    model.decoder.load_state_dict(dec)
    model.weights.copy_(tensors["weights"])
    model.mean_ab.copy_(tensors["mean_ab"])
    state = opt.state_dict()
    params = state["param_groups"][0]["params"]
    for pid in params:
        st = {}
        for key in ("step", "exp_avg", "exp_avg_sq"):
            name = f"opt.{pid}.{key}"
            if name in tensors:
                st[key] = tensors[name].reshape(()) if key == "step" else tensors[name]
        if st:
            state["state"][pid] = st
    opt.load_state_dict(state)
    return int(meta["epoch"]), json.loads(meta.get("losses", "[]"))


def train(photos_dir: str | Path, output: str | Path | None = None, *,
          config: TrainConfig | None = None, resume: bool = False, seed: int = 0,
          pretrained: bool = True, progress: ProgressCallback | None = None) -> TrainResult:
    """Train a colouriser on a folder of colour photos.

    Args:
        photos_dir: folder of colour photos (sub-folders included).
        output: the final model file; the checkpoint goes beside it (none when ``None``).
        config: training settings.
        resume: continue from the checkpoint beside ``output``.
        seed: seeds the crops and the decoder's initial weights.
        pretrained: use the pretrained backbone (false only in tests).
        progress: progress callback (task ``"train"``, metrics loss and img/s).

    Raises:
        ArtkitError: no usable photos, bad settings, an unreadable or mismatched checkpoint.
    """
    config = config or TrainConfig()
    config.validate()
    photos, names, skipped = load_photos(photos_dir)
    torch.manual_seed(seed)
    model = ColorModel(config.model, pretrained=pretrained)
    chroma_statistics(photos, model, config.model.rebalance)
    opt = torch.optim.Adam(model.decoder.parameters(), lr=config.lr)
    steps_per_epoch = max(1, math.ceil(len(photos) * config.crops_per_image / config.batch))
    total = steps_per_epoch * config.epochs

    def lr_at(step: int) -> float:  # cosine decay to 5 %
        return config.lr * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * min(step, total) / total)))

    start, losses = 0, []
    ckpt = checkpoint_path(output) if output is not None else None
    if resume:
        if ckpt is None or not ckpt.is_file():
            raise ArtkitError(f"nothing to resume: no checkpoint '{ckpt}'",
                              "run without --resume to start training")
        start, losses = _load_checkpoint(ckpt, model, opt, config)
    model.decoder.train()
    t0, seen = time.perf_counter(), 0
    report(progress, "train", start * steps_per_epoch, total)
    for epoch in range(start, config.epochs):
        gen = torch.Generator().manual_seed(seed * 100003 + epoch)
        run = 0.0
        for step in range(steps_per_epoch):
            for group in opt.param_groups:
                group["lr"] = lr_at(epoch * steps_per_epoch + step)
            rgb = random_crops(photos, config.batch, config.size, config.min_scale, gen)
            lab = rgb_to_lab(rgb)  # (B, 3, S, S)
            loss = model.loss(lab[:, :1], lab[:, 1:])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            run += loss.item()
            seen += config.batch
            rate = seen / max(time.perf_counter() - t0, 1e-9)
            report(progress, "train", epoch * steps_per_epoch + step + 1, total,
                   f"epoch {epoch + 1}/{config.epochs}", loss=loss.item(), img_s=round(rate, 1))
        losses.append(run / steps_per_epoch)
        if ckpt is not None:
            _save_checkpoint(ckpt, model, opt, epoch + 1, losses, config)
    model.eval()
    seconds = time.perf_counter() - t0
    return TrainResult(model, losses, seen / max(seconds, 1e-9), names, skipped, seconds)
