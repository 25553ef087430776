"""Training either music model on any music: the settings, the run, the checkpoints.

``train`` reads the sources, builds (or, resuming, restores) the network, trains it with the
caller's generator, and returns the trained model; it writes nothing itself except a checkpoint
after every epoch where ``checkpoint=`` says (``core.checkpoint``: network, optimiser, epoch and
what is needed to continue — config, vocabulary, history). The caller saves the model
(``model.save(path)``).
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from artkit.core import distributed
from artkit.core.checkpoint import load_checkpoint, save_checkpoint
from artkit.core.config import Config, param
from artkit.core.errors import ArtkitError
from artkit.core.progress import ProgressCallback
from artkit.core.runtime import default_generator, resolve_device
from artkit.music.biaxial import SIZES as BIAXIAL_SIZES
from artkit.music.biaxial import BiaxialConfig, BiaxialLSTM, BiaxialModel, load_rolls, pitch_range
from artkit.music.biaxial import fit as fit_biaxial
from artkit.music.model import SIZES as JAZZ_SIZES
from artkit.music.model import JazzConfig, JazzLSTM, JazzModel
from artkit.music.model import fit as fit_jazz
from artkit.music.corpus import load_pieces
from artkit.music.grammar import BAR
from artkit.music.metrics import piece_features
from artkit.music.training import init_parameters


@dataclass
class TrainSettings(Config):
    """What a training run may be asked to do."""

    model: str = param("jazz", choices=("jazz", "biaxial"), help="model kind")
    size: str = param("default", choices=("default", "original", "tiny"), help="network size")
    epochs: int = param(20, ge=1, le=10_000, help="epochs in all")
    lr: float = param(2e-3, gt=0, le=1, help="Adam's learning rate")
    batch_size: int | None = param(None, ge=1, le=4096, help="rows a batch")
    max_seconds: float | None = param(None, gt=0, help="stop after the epoch that passes this")

    def check(self) -> None:
        sizes = JAZZ_SIZES if self.model == "jazz" else BIAXIAL_SIZES
        if self.size not in sizes:
            raise ArtkitError(f"--size {self.size} is not a {self.model} model size",
                              f"use {', '.join(sizes)}")


def build_vocab(streams: list[list[str]]) -> list[str]:
    """Tokens by descending frequency (ties alphabetical), the bar line always included."""
    counts = Counter(t for s in streams for t in s)
    counts[BAR] += 1
    return [t for t, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))]


def train(sources: list[str], *, model: str = "jazz", size: str = "default", epochs: int = 20,
          lr: float = 2e-3, batch_size: int | None = None, max_seconds: float | None = None,
          checkpoint: str | Path | None = None, resume: bool = False,
          device: str | torch.device = "auto", generator: torch.Generator | None = None,
          progress: ProgressCallback | None = None) -> JazzModel | BiaxialModel:
    """Train a jazz or biaxial model on ``sources`` (files, folders, ``corpus:NAME[:N]``).

    Args:
        model: ``jazz`` (deepjazz's grammar LSTM: a melody over chords) or ``biaxial`` (the
            Biaxial RNN: every part as a piano roll, 4/4 pieces).
        size: ``default``, ``tiny`` (tests) or, for biaxial, ``original`` (Johnson's sizes).
        epochs: epochs in all (resuming: up to this many).
        batch_size: rows a batch (default 64 windows for jazz, 8 for biaxial).
        max_seconds: stop after the epoch that passes this much time.
        checkpoint: write a checkpoint here after every epoch (``None``: none).
        resume: continue from ``checkpoint``.
        device, generator, progress: the usual (see docs/design.md).

    Returns:
        The trained model (``.save(path)`` writes it); its ``training`` record says what was
        learnt from, and ``skipped`` which pieces could not be used and why.

    Raises:
        ArtkitError: bad settings, no usable piece, a missing or foreign checkpoint.
    """
    settings = TrainSettings(model=model, size=size, epochs=epochs, lr=lr, batch_size=batch_size,
                             max_seconds=max_seconds)
    settings.validate()
    if resume and checkpoint is None:
        raise ArtkitError("resuming needs the checkpoint to resume from")
    gen = default_generator(generator)
    dev = resolve_device(device)
    ck = load_checkpoint(checkpoint, run=model) if resume else None
    t0 = time.perf_counter()
    run = _train_jazz if model == "jazz" else _train_biaxial
    trained = run([str(s) for s in sources], settings, ck, checkpoint, gen, dev, progress)
    trained.training.update({"sources": [str(s) for s in sources], "size": size,
                             "seed": gen.initial_seed(), "seconds": round(time.perf_counter() - t0, 1),
                             "kept_epoch": trained.best_epoch,
                             "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())})
    trained.net.cpu()
    return trained


def _saver(checkpoint, kind: str, net, extra: dict):
    if checkpoint is None or not distributed.active().is_main:  # rank 0 writes
        return None
    return lambda epoch, history, opt: save_checkpoint(
        checkpoint, net, opt, run=kind, epoch=epoch, meta={**extra, "history": history})


def _restore(ck, net, lr: float) -> tuple[torch.optim.Optimizer | None, int, list]:
    if ck is None:
        return None, 0, []
    ck.load_net(net)
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    ck.load_optimizer(opt)
    return opt, ck.epoch, list(ck.meta.get("history") or [])


def _train_jazz(sources, s: TrainSettings, ck, checkpoint, gen, dev, progress) -> JazzModel:
    pieces, skipped = load_pieces(sources, progress)
    if not pieces:
        reasons = "; ".join(f"{Path(n).name}: {r}" for n, r in skipped[:3])
        raise ArtkitError(f"no usable piece among the sources ({reasons or 'nothing found'})")
    streams = [p.tokens() for p in pieces]
    if ck is not None:
        vocab = list(ck.meta.get("vocab") or [])
        config = JazzConfig(**(ck.meta.get("config") or {}))
    else:
        vocab = build_vocab(streams)
        config = JazzConfig(len(vocab), **JAZZ_SIZES[s.size])
    net = JazzLSTM(config)
    init_parameters(net, gen)
    opt, start, history = _restore(ck, net, s.lr)
    m = JazzModel(net.to(dev), vocab, skipped=skipped)
    index = m.index
    per_piece = [[index[t] for t in stream if t in index] for stream in streams]
    save = _saver(checkpoint, "jazz", net, {"config": asdict(config), "vocab": vocab})
    history, _ = fit_jazz(m, per_piece, epochs=s.epochs, start_epoch=start, opt=opt, lr=s.lr,
                          batch_size=s.batch_size or 64, generator=gen, history=history,
                          save=save, progress=progress)
    m.training = {"pieces": len(pieces), "tokens": sum(len(p) for p in per_piece),
                  "skipped": len(skipped), "epochs": len(history), "history": history,
                  "harmony": dict(Counter(p.harmony for p in pieces))}
    m.features = [piece_features(p) for p in pieces]
    return m


def _train_biaxial(sources, s: TrainSettings, ck, checkpoint, gen, dev,
                   progress) -> BiaxialModel:
    rolls, _, feats, skipped = load_rolls(sources, progress)
    if not rolls:
        reasons = "; ".join(f"{Path(n).name}: {r}" for n, r in skipped[:3])
        raise ArtkitError(f"no usable piece among the sources ({reasons or 'nothing found'})")
    config = BiaxialConfig(**(ck.meta.get("config") or {})) if ck is not None else \
        BiaxialConfig(**BIAXIAL_SIZES[s.size])
    net = BiaxialLSTM(config)
    init_parameters(net, gen)
    opt, start, history = _restore(ck, net, s.lr)
    m = BiaxialModel(net.to(dev), skipped=skipped)
    save = _saver(checkpoint, "biaxial", net, {"config": asdict(config)})
    history, _ = fit_biaxial(m, rolls, epochs=s.epochs, start_epoch=start, opt=opt, lr=s.lr,
                             batch_size=s.batch_size or 8, generator=gen, history=history,
                             save=save, max_seconds=s.max_seconds, progress=progress)
    m.training = {"pieces": len(rolls), "steps": sum(len(r) for r in rolls),
                  "skipped": len(skipped), "epochs": len(history), "history": history,
                  "pitch_range": pitch_range(rolls)}
    m.features = feats
    return m
