"""The jazz model: deepjazz's LSTM over grammar tokens — the network, the trained model file,
training and sampling.

deepjazz: one-hot tokens → LSTM(128) → dropout 0.2 → LSTM(128) → dropout 0.2 → softmax, trained
on windows of 20 tokens taken every 3 tokens. Here the one-hot input is an embedding (the same
thing, cheaper), every position of a window predicts its next token (deepjazz used only the
last), dropout masks come from the caller's generator, and the trained model is one artifact
(``core.artifacts``, kind ``jazz-model``): the weights, with the config, the vocabulary, the
training record and the training set's quality figures in its metadata.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from pathlib import Path

import torch
from torch import nn

from artkit.core.artifacts import describe, load_artifact, save_artifact
from artkit.core.config import Config, param
from artkit.core.errors import ArtkitError
from artkit.core.progress import ProgressCallback
from artkit.music.grammar import BAR, Token
from artkit.music.threads import one_thread
from artkit.music.training import check_shapes, dropout, lstm_shapes, run_epochs

KIND = "jazz-model"
describe(KIND, "jazz model", "train one with `artkit music train`, or use the shipped model 'jazz'")

SIZES = {
    "default": dict(embed=64, hidden=128, layers=2, dropout=0.2),   # deepjazz's sizes
    "tiny": dict(embed=8, hidden=16, layers=2, dropout=0.0),        # for tests
}


@dataclass
class JazzConfig(Config):
    """Sizes of the jazz LSTM (``SIZES`` names the usual ones)."""

    vocab_size: int = param(2, ge=2, le=100_000)
    embed: int = param(64, ge=1, le=1024)
    hidden: int = param(128, ge=1, le=2048)
    layers: int = param(2, ge=1, le=8)
    dropout: float = param(0.2, ge=0.0, lt=1.0)
    seq_len: int = param(20, ge=2, le=1024)
    step: int = param(3, ge=1, le=1024)


class JazzLSTM(nn.Module):
    """Token LSTM: ``(B, T)`` token ids → ``(B, T, V)`` next-token logits.

    The LSTM layers are separate modules so dropout between them can draw its masks from a
    generator (:attr:`generator`, set while training).
    """

    def __init__(self, config: JazzConfig):
        super().__init__()
        self.config = config
        self.embed = nn.Embedding(config.vocab_size, config.embed)
        sizes = [config.embed] + [config.hidden] * config.layers
        self.lstm = nn.ModuleList(nn.LSTM(a, b, batch_first=True) for a, b in zip(sizes, sizes[1:]))
        self.head = nn.Linear(config.hidden, config.vocab_size)
        self.generator: torch.Generator | None = None
        self.share: tuple[list[int], int] | None = None  # this rank's rows, under torchrun

    @staticmethod
    def shapes(config: JazzConfig) -> dict[str, tuple[int, ...]]:
        """The state dict's tensor shapes for ``config`` (checked against a file before any
        network is built)."""
        out = {"embed.weight": (config.vocab_size, config.embed)}
        sizes = [config.embed] + [config.hidden] * config.layers
        for k, (a, b) in enumerate(zip(sizes, sizes[1:])):
            out |= lstm_shapes(f"lstm.{k}.", a, b)
        return out | {"head.weight": (config.vocab_size, config.hidden),
                      "head.bias": (config.vocab_size,)}

    def forward(self, ids: torch.Tensor, state: list | None = None):
        x = self.embed(ids)                                  # (B, T, E)
        state = state or [None] * len(self.lstm)
        new = []
        for layer, st in zip(self.lstm, state):
            x, st = layer(x, st)                             # (B, T, H)
            x = dropout(x, self.config.dropout, self.generator, self.training, self.share)
            new.append(st)
        return self.head(x), new                             # (B, T, V)


@dataclass
class JazzModel:
    """A trained jazz model: the network, its vocabulary and how it was trained.

    Args:
        net: the network.
        vocab: the grammar tokens, index = token id.
        training: the training record (sources, pieces, tokens, epochs, history, ...).
        features: the training pieces' quality figures (for ``evaluate --against``).
        best_epoch: the epoch whose weights the network holds.
        skipped: ``(source, reason)`` of the pieces training could not use (not saved).
    """

    net: JazzLSTM
    vocab: list[str]
    training: dict = field(default_factory=dict)
    features: list[dict] = field(default_factory=list)
    best_epoch: int | None = None
    skipped: list[tuple[str, str]] = field(default_factory=list, repr=False)
    sha256: str = ""
    kind = "jazz"

    @property
    def index(self) -> dict[str, int]:
        return {t: i for i, t in enumerate(self.vocab)}

    @property
    def device(self) -> torch.device:
        return next(self.net.parameters()).device

    def save(self, path: str | Path, force: bool = False) -> Path:
        """Write the model as one artifact (``.safetensors``), atomically."""
        meta = {"config": asdict(self.net.config), "vocab": self.vocab,
                "training": self.training, "features": self.features}
        return save_artifact(path, self.net.state_dict(), kind=KIND, meta=meta, force=force)

    @staticmethod
    def load(path: str | Path, device: torch.device | str = "cpu",
             name: str | None = None) -> "JazzModel":
        """Load a model written by :meth:`save` (checked before use; nothing is unpickled)."""
        art = load_artifact(path, KIND, name=name)
        vocab = art.field("vocab", list)
        try:
            config = JazzConfig(**art.field("config", dict))
            config.validate()
        except (TypeError, ArtkitError) as exc:
            raise art.damaged(f"its config does not hold ({' '.join(str(exc).split())[:120]})") from None
        if config.vocab_size != len(vocab) or not all(isinstance(t, str) for t in vocab) \
                or BAR not in vocab:
            raise art.damaged("its vocabulary does not match its config")
        for t in vocab:
            if t != BAR:
                Token.parse(t)
        why = check_shapes(JazzLSTM.shapes(config), art.tensors)
        if why:
            raise art.damaged(why)
        net = JazzLSTM(config)
        net.load_state_dict(art.tensors)
        return JazzModel(net.to(device).eval(), list(vocab), dict(art.meta.get("training") or {}),
                         list(art.meta.get("features") or []), sha256=art.sha256)


def windows(ids: list[int], seq_len: int, step: int) -> torch.Tensor:
    """``(N, seq_len + 1)`` windows of the token stream, one every ``step`` tokens."""
    if len(ids) < seq_len + 1:
        return torch.empty(0, seq_len + 1, dtype=torch.long)
    t = torch.tensor(ids, dtype=torch.long)
    return t.unfold(0, seq_len + 1, step)


def fit(model: JazzModel, pieces: list[list[int]], *, epochs: int, start_epoch: int = 0,
        opt: torch.optim.Optimizer | None = None, lr: float = 2e-3, batch_size: int = 64,
        generator: torch.Generator | None = None, history: list | None = None,
        save=None, progress: ProgressCallback | None = None) -> tuple[list[dict], torch.optim.Optimizer]:
    """Train ``model`` on the token ids of ``pieces``; about 10 % of the pieces (at least one,
    drawn with ``generator``) are held out for validation.

    The weights of the epoch with the lowest validation loss are kept at the end (with a
    single piece, the last epoch's). ``save(epoch, history, optimizer)`` is called after every
    epoch (a checkpoint). Returns the history (``epoch``, ``loss``, ``val_loss``, ``seconds``
    per epoch) and the optimiser. On the CPU it trains on one thread: for a 2×128 LSTM on
    batches of 64 that was measured 4× faster than two threads on a busy 2-core machine.
    """
    cfg = model.net.config
    device = model.device
    pieces = [p for p in pieces if p]
    order = torch.randperm(len(pieces), generator=generator).tolist()
    n_val = max(1, len(pieces) // 10) if len(pieces) > 1 else 0
    val_ids = [i for k in order[:n_val] for i in pieces[k]]
    train_ids = [i for k in sorted(order[n_val:]) for i in pieces[k]]
    train = windows(train_ids, cfg.seq_len, cfg.step).to(device)
    val = (windows(val_ids, cfg.seq_len, cfg.step) if val_ids else train[:0].cpu()).to(device)
    if len(train) < 1:
        raise ArtkitError(f"too little music to train on: {len(train_ids)} tokens",
                          f"give at least {2 * (cfg.seq_len + 1)} tokens (a few pieces)")
    opt = opt or torch.optim.Adam(model.net.parameters(), lr=lr)
    loss_fn = nn.CrossEntropyLoss()

    def seq_loss(rows: torch.Tensor) -> torch.Tensor:
        logits, _ = model.net(rows[:, :-1])
        return loss_fn(logits.reshape(-1, logits.shape[-1]), rows[:, 1:].reshape(-1))

    model.net.generator = generator
    try:
        with one_thread(device.type == "cpu"):
            history, model.best_epoch = run_epochs(
                model.net, opt, len(train), batch_size, 
                lambda idx, full: seq_loss(train[idx]) * (len(idx) / len(full)),
                (lambda: seq_loss(val).item()) if len(val) else None, epochs=epochs,
                start_epoch=start_epoch, history=list(history or []), generator=generator,
                save=(lambda e, h: save(e, h, opt)) if save else None, progress=progress)
    finally:
        model.net.generator = None
    return history, opt


@torch.inference_mode()
def sample_bars(model: JazzModel, bar_lengths: list[Fraction], *, temperature: float = 0.5,
                generator: torch.Generator | None = None, primer: list[str] | None = None) -> list[str]:
    """Generate tokens bar by bar so each bar's durations add up exactly to its length.

    Tokens that would overflow the bar are masked out, the bar line is masked until the bar is
    full and then forced; a gap no token fits is filled with a rest. After a silent bar the
    next bar (and the first) must hold a note (a rest may not fill it). One token at a time is
    a chain of tiny operations, so on the CPU it runs on one thread (20× faster than two on a
    busy machine).
    """
    with one_thread(model.device.type == "cpu"):
        return _sample(model, bar_lengths, temperature, generator, primer)


def _sample(model: JazzModel, bar_lengths: list[Fraction], temperature: float,
            generator: torch.Generator | None, primer: list[str] | None) -> list[str]:
    device, index = model.device, model.index
    if BAR not in index:
        raise ArtkitError("the model's vocabulary has no bar line token")
    exact = [Token.parse(t).dur if t != BAR else Fraction(0) for t in model.vocab]
    durs = torch.tensor([float(d) for d in exact], dtype=torch.float64)
    bar_id = index[BAR]
    context = [index[t] for t in (primer or []) if t in index] + [bar_id]
    logits, state = model.net(torch.tensor([context], device=device))
    last = logits[0, -1].double().cpu()
    out: list[str] = []
    temperature = max(float(temperature), 1e-3)
    is_rest = torch.tensor([t.startswith("R,") for t in model.vocab])
    silent_before = True       # the first bar holds a note too
    for bar_len in bar_lengths:
        remaining = Fraction(bar_len)
        silent = True
        while remaining > 0:
            mask = (durs <= float(remaining) + 1e-9) & (durs > 0)
            if silent_before and silent:   # never two silent bars in a row
                fits_note = mask & ~is_rest & (durs < float(remaining) + 1e-9)
                rest_ok = mask & is_rest & (durs < float(remaining) - 1e-9)
                if bool((fits_note | rest_ok).any()):
                    mask = fits_note | rest_ok
            if not bool(mask.any()):
                out.append(Token("R", remaining).text)
                break
            z = torch.where(mask, last / temperature, torch.full_like(last, -math.inf))
            probs = torch.softmax(z - z.max(), dim=0)
            i = int(torch.multinomial(probs, 1, generator=generator).item())
            out.append(model.vocab[i])
            remaining -= exact[i]
            silent = silent and bool(is_rest[i])
            logits, state = model.net(torch.tensor([[i]], device=device), state)
            last = logits[0, -1].double().cpu()
        out.append(BAR)
        silent_before = silent
        logits, state = model.net(torch.tensor([[bar_id]], device=device), state)
        last = logits[0, -1].double().cpu()
    return out
