"""The Biaxial RNN (Daniel D. Johnson, 2015): free polyphony on a piano roll.

Music is a piano roll of 78 pitches (MIDI 24–101) at 16th-note steps, two bits per pitch and
step: *play* (the note sounds) and *articulate* (it is struck at this step). For every pitch and
step the network sees 80 features of the previous step (see :func:`note_features`); a
**time-axis** LSTM runs along the steps for each pitch (weights shared by all pitches), then a
**note-axis** LSTM runs up the pitches at each step, seeing the time-axis output and what the
pitch below it does, and gives P(play) and P(articulate). Training teacher-forces the lower
pitch's true bits; composing samples pitch by pitch, step by step.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as F

from artkit.core.errors import ArtkitError
from artkit.core.progress import ProgressCallback, report
from artkit.music.training import run_epochs

LOW, N_NOTES = 24, 78             # MIDI 24 (C1) … 101 (F7)
STEPS_PER_QUARTER = 4
STEPS_PER_BAR = 16
N_FEATURES = 80

SIZES = {
    "default": dict(time_sizes=[64, 64], note_sizes=[32, 32], dropout=0.0),   # CPU, minutes
    "original": dict(time_sizes=[300, 300], note_sizes=[100, 50], dropout=0.5, skip=False),
    "tiny": dict(time_sizes=[8, 8], note_sizes=[8, 8], dropout=0.0, seq_steps=32),  # tests
}


@dataclass
class BiaxialConfig:
    """Sizes of the two LSTM stacks and the training window (``SIZES`` names the usual ones)."""

    time_sizes: list[int] = field(default_factory=lambda: [64, 64])
    note_sizes: list[int] = field(default_factory=lambda: [32, 32])
    dropout: float = 0.0
    skip: bool = True             # a linear path from the 80 features to the two logits
    seq_steps: int = 64           # training windows: 4 bars of 16th notes


# ---------------------------------------------------------------- features

_PCS = (torch.arange(N_NOTES) + LOW) % 12                                   # (78,)
_PC_ONEHOT = F.one_hot(_PCS, 12).float()                                    # (78, 12)
_ROTATE = (_PCS[:, None] + torch.arange(12)[None, :]) % 12                  # (78, 12)
_POSITION = (torch.arange(N_NOTES, dtype=torch.float32) / (N_NOTES - 1))[:, None]


def beat_bits(steps: torch.Tensor) -> torch.Tensor:
    """``(T,)`` step numbers → ``(T, 4)`` position in the 16-step bar as ±1 bits (LSB first)."""
    pos = steps.long() % STEPS_PER_BAR
    return torch.stack([((pos >> k) & 1).float() * 2 - 1 for k in range(4)], dim=-1)


def note_features(prev: torch.Tensor, steps: torch.Tensor) -> torch.Tensor:
    """The 80 input features of every pitch at every step.

    Args:
        prev: ``(B, T, 78, 2)`` play / articulate of the *previous* step of each step.
        steps: ``(T,)`` the step numbers (for the beat bits).

    Returns:
        ``(B, T, 78, 80)``: position (pitch index / 77) [0], pitch class one-hot [1:13], the
        previous step's play and articulate of the 25 pitches from 12 below to 12 above,
        interleaved per pitch [13:63], the previous step's count of sounding notes of each pitch
        class, rotated so index 0 is the note's own pitch class [63:75], the beat bits [75:79],
        and whether the previous step was silent [79].
    """
    prev = prev.float()
    B, T = prev.shape[:2]
    dev = prev.device
    padded = F.pad(prev, (0, 0, 12, 12))                                    # (B, T, 102, 2)
    vicinity = padded.unfold(2, 25, 1)                                      # (B, T, 78, 2, 25)
    vicinity = vicinity.transpose(-1, -2).reshape(B, T, N_NOTES, 50)
    counts = prev[..., 0] @ _PC_ONEHOT.to(dev)                              # (B, T, 12)
    context = counts[:, :, _ROTATE.to(dev)]                                 # (B, T, 78, 12)
    beat = beat_bits(steps.to(dev))[None, :, None, :].expand(B, T, N_NOTES, 4)
    silent = (prev[..., 0].sum(-1) == 0).float()[..., None, None].expand(B, T, N_NOTES, 1)
    fixed = torch.cat([_POSITION, _PC_ONEHOT], dim=1).to(dev)               # (78, 13)
    return torch.cat([fixed.expand(B, T, N_NOTES, 13), vicinity, context, beat, silent], dim=-1)


def shift_back(roll: torch.Tensor) -> torch.Tensor:
    """``(B, T, 78, 2)`` → each step's previous step (silence before the first)."""
    return torch.cat([torch.zeros_like(roll[:, :1]), roll[:, :-1]], dim=1)


# ---------------------------------------------------------------- the network

class BiaxialLSTM(nn.Module):
    """``(B, T, 78, 2)`` piano roll → ``(B, T, 78, 2)`` logits of play / articulate at each
    step, from the previous steps (time axis) and the pitches below (note axis)."""

    def __init__(self, config: BiaxialConfig):
        super().__init__()
        self.config = config
        self.time = nn.ModuleList()
        n_in = N_FEATURES
        for h in config.time_sizes:
            self.time.append(nn.LSTM(n_in, h, batch_first=True))
            n_in = h
        self.note = nn.ModuleList()
        n_in += 2
        for h in config.note_sizes:
            self.note.append(nn.LSTM(n_in, h, batch_first=True))
            n_in = h
        self.drop = nn.Dropout(config.dropout)
        self.head = nn.Linear(n_in, 2)
        # Four stacked LSTMs lie between the features and the output; from a random start they
        # sat at the notes' mean density for the hundreds of updates CPU minutes allow. A
        # linear path from the features (as in a residual network) learns "a sounding note
        # goes on, notes start on beats" at once, and the LSTMs learn the rest.
        self.skip = nn.Linear(N_FEATURES, 2) if config.skip else None

    def run_time(self, x: torch.Tensor, states: list | None = None):
        states = states or [None] * len(self.time)
        new = []
        for layer, st in zip(self.time, states):
            x, st = layer(x, st)
            x = self.drop(x)
            new.append(st)
        return x, new

    def run_note(self, x: torch.Tensor, states: list | None = None):
        states = states or [None] * len(self.note)
        new = []
        for layer, st in zip(self.note, states):
            x, st = layer(x, st)
            x = self.drop(x)
            new.append(st)
        return self.head(x), new

    def forward(self, roll: torch.Tensor, start_step: int = 0,
                pitches: tuple[int, int] | None = None) -> torch.Tensor:
        """Logits for every pitch, or for the pitches ``lo:hi`` only (training on the range a
        batch uses: the features still see the whole roll, the note axis starts at ``lo``)."""
        roll = roll.float()
        B, T = roll.shape[:2]
        lo, hi = pitches or (0, N_NOTES)
        P = hi - lo
        steps = torch.arange(start_step, start_step + T, device=roll.device)
        feats = note_features(shift_back(roll), steps)[:, :, lo:hi]         # (B, T, P, 80)
        x = feats.permute(0, 2, 1, 3).reshape(B * P, T, N_FEATURES)
        h, _ = self.run_time(x)
        H = h.shape[-1]
        h = h.reshape(B, P, T, H).permute(0, 2, 1, 3).reshape(B * T, P, H)
        lower = torch.cat([torch.zeros_like(roll[:, :, :1]), roll[:, :, :-1]], dim=2)[:, :, lo:hi]
        logits, _ = self.run_note(torch.cat([h, lower.reshape(B * T, P, 2)], dim=-1))
        logits = logits.reshape(B, T, P, 2)
        if self.skip is not None:
            logits = logits + self.skip(feats)
        return logits


def roll_loss(logits: torch.Tensor, roll: torch.Tensor) -> torch.Tensor:
    """Mean binary cross-entropy of play over every pitch and step, plus that of articulate
    over the pitches that sound (articulation means nothing for a silent pitch)."""
    roll = roll.float()
    play = F.binary_cross_entropy_with_logits(logits[..., 0], roll[..., 0])
    mask = roll[..., 0]
    artic = F.binary_cross_entropy_with_logits(logits[..., 1], roll[..., 1], reduction="none")
    return play + (artic * mask).sum() / mask.sum().clamp(min=1.0)


@dataclass
class BiaxialModel:
    """A trained biaxial model: the network and its provenance."""

    net: BiaxialLSTM
    info: dict = field(default_factory=dict)
    best_epoch: int | None = None

    def save(self, path: str | Path, force: bool = False) -> tuple[Path, Path]:
        """Write ``MODEL.safetensors`` and ``MODEL.json`` atomically."""
        from safetensors.torch import save_file

        from artkit.core.files import atomic_path, atomic_write_text, check_output

        path = Path(path)
        cfg_path = path.with_suffix(".json")
        check_output(path, force)
        check_output(cfg_path, force)
        state = {k: v.detach().cpu().contiguous() for k, v in self.net.state_dict().items()}
        with atomic_path(path, force=True) as tmp:
            save_file(state, str(tmp))
        meta = {"model": "biaxial", "config": asdict(self.net.config),
                "encoding": {"low": LOW, "notes": N_NOTES, "steps_per_quarter": STEPS_PER_QUARTER,
                             "features": N_FEATURES}, **self.info}
        atomic_write_text(cfg_path, json.dumps(meta, indent=1) + "\n", force=True)
        return path, cfg_path

    @staticmethod
    def load(path: str | Path, device: torch.device | str = "cpu") -> "BiaxialModel":
        """Load a model written by :meth:`save` (safetensors: nothing is unpickled)."""
        from safetensors import SafetensorError
        from safetensors.torch import load_file

        path = Path(path)
        cfg_path = path.with_suffix(".json")
        if not path.is_file():
            raise ArtkitError(f"model '{path}' does not exist",
                              "train one with `artkit music train --model biaxial`, or use the "
                              "preset 'biaxial'")
        if not cfg_path.is_file():
            raise ArtkitError(f"model '{path}' has no config '{cfg_path.name}' beside it")
        try:
            meta = json.loads(cfg_path.read_text(encoding="utf-8"))
            if meta.get("model") != "biaxial":
                raise ArtkitError(f"'{cfg_path}' is a '{meta.get('model')}' model, not a "
                                  "biaxial model")
            net = BiaxialLSTM(BiaxialConfig(**meta["config"]))
            net.load_state_dict(load_file(str(path)))
        except (SafetensorError, OSError, KeyError, TypeError, RuntimeError, ValueError) as exc:
            raise ArtkitError(f"model '{path}' cannot be loaded: {type(exc).__name__}: "
                              f"{str(exc)[:160]}") from None
        info = {k: v for k, v in meta.items() if k not in ("model", "config", "encoding")}
        return BiaxialModel(net.to(device).eval(), info)


# ---------------------------------------------------------------- music in

def notes_to_roll(notes, shift_steps: int = 0) -> torch.Tensor:
    """``(start, dur, pitch)`` in quarter notes → ``(T, 78, 2)`` bool roll; pitches outside
    MIDI 24–101 are dropped, every note lasts at least one step."""
    spans = []
    for start, dur, pitch in notes:
        if not LOW <= pitch < LOW + N_NOTES:
            continue
        s0 = int(round(float(start) * STEPS_PER_QUARTER)) + shift_steps
        s1 = max(s0 + 1, int(round(float(start + dur) * STEPS_PER_QUARTER)) + shift_steps)
        if s0 >= 0:
            spans.append((s0, s1, pitch - LOW))
    T = max((s1 for _, s1, _ in spans), default=0)
    roll = torch.zeros(T, N_NOTES, 2, dtype=torch.bool)
    for s0, s1, n in spans:
        roll[s0:s1, n, 0] = True
    for s0, s1, n in spans:        # struck after sounding: a repeated note is re-articulated
        roll[s0, n, 1] = True
    return roll


def load_rolls(sources: list[str], progress: ProgressCallback | None = None):
    """Piano rolls of every 4/4 piece of ``sources`` (all parts), bar lines on multiples of 16
    steps. Returns ``(rolls, names, features, skipped)``; ``features`` are the pieces' quality
    figures (melody = top line) where they can be measured."""
    from artkit.music.corpus import _read, build_piece, resolve_sources
    from artkit.music.metrics import piece_features

    files, skipped = resolve_sources(sources)
    rolls, names, feats = [], [], []
    for i, f in enumerate(files):
        report(progress, "read music", i, len(files), f.name)
        try:
            for name, raw in _read(f):
                if any(length != 4 for _, length in raw.time_signatures):
                    skipped.append((name, "not in 4/4 (the biaxial model learns 4/4 bars)"))
                    continue
                notes = [n for p in raw.parts for n in p.notes]
                # a pickup: move the first full bar onto a bar line of the grid
                first_bar = raw.measures[0][0] if raw.measures else Fraction(0)
                shift = (-int(round(float(first_bar) * STEPS_PER_QUARTER))) % STEPS_PER_BAR
                roll = notes_to_roll(notes, shift)
                if int(roll[..., 0].any(-1).sum()) < 2 * STEPS_PER_BAR:
                    skipped.append((name, "fewer than 2 bars of notes in MIDI 24–101"))
                    continue
                rolls.append(roll)
                names.append(name)
                try:
                    feats.append(piece_features(build_piece(name, raw)))
                except ArtkitError:
                    pass
        except ArtkitError as exc:
            skipped.append((str(f), exc.message))
    report(progress, "read music", len(files), len(files), f"{len(rolls)} pieces")
    return rolls, names, feats, skipped


def roll_windows(rolls: list[torch.Tensor], seq: int) -> torch.Tensor:
    """``(N, seq, 78, 2)`` windows starting on bar lines, every half window; a piece shorter
    than a window is padded with silence."""
    hop = max(STEPS_PER_BAR, (seq // 2) // STEPS_PER_BAR * STEPS_PER_BAR)
    out = []
    for r in rolls:
        if len(r) < seq:
            r = torch.cat([r, torch.zeros(seq - len(r), N_NOTES, 2, dtype=r.dtype)])
        for s in range(0, len(r) - seq + 1, hop):
            out.append(r[s:s + seq])
    if not out:
        return torch.zeros(0, seq, N_NOTES, 2, dtype=torch.bool)
    return torch.stack(out)


# ---------------------------------------------------------------- training

def active_range(batch: torch.Tensor, margin: int = 3) -> tuple[int, int]:
    """The pitch rows a batch sounds in, ``margin`` more each side: the rows far below and
    above are silent, so training skips them (chorales use about 45 of the 78)."""
    used = batch[..., 0].reshape(-1, N_NOTES).any(0).nonzero().flatten()
    if len(used) == 0:
        return 0, N_NOTES
    return max(0, int(used.min()) - margin), min(N_NOTES, int(used.max()) + 1 + margin)


def pitch_range(rolls: list[torch.Tensor]) -> list[int]:
    """The lowest and highest MIDI pitch sounding anywhere in ``rolls``."""
    used = torch.zeros(N_NOTES, dtype=torch.bool)
    for r in rolls:
        used |= r[..., 0].any(0)
    idx = used.nonzero().flatten()
    if len(idx) == 0:
        return [LOW, LOW + N_NOTES - 1]
    return [int(idx.min()) + LOW, int(idx.max()) + LOW]


def checkpoint_path(model_path: Path) -> Path:
    model_path = Path(model_path)
    return model_path.with_name(model_path.stem + ".ckpt.safetensors")


def save_checkpoint(path: Path, model: BiaxialModel, opt: torch.optim.Optimizer, epoch: int,
                    history: list[dict]) -> None:
    from artkit.music import checkpoint as ckpt

    ckpt.write(path, model.net, opt, {
        "model": "biaxial", "epoch": str(epoch), "config": json.dumps(asdict(model.net.config)),
        "history": json.dumps(history), "info": json.dumps(model.info)})


def load_checkpoint(path: Path, lr: float, device):
    from artkit.music import checkpoint as ckpt

    meta, tensors = ckpt.read(path)
    if meta.get("model") != "biaxial":
        raise ArtkitError(f"checkpoint '{path}' is not a biaxial model's",
                          "resume with the --model it was trained with")
    try:
        net = BiaxialLSTM(BiaxialConfig(**json.loads(meta["config"])))
        net.load_state_dict(ckpt.net_state(tensors))
    except Exception as exc:
        raise ArtkitError(f"checkpoint '{path}' cannot be read: {type(exc).__name__}: {exc}") from None
    net.to(device)
    opt = ckpt.restore_optimizer(net, tensors, lr, device)
    model = BiaxialModel(net, json.loads(meta.get("info", "{}")))
    return model, opt, int(meta["epoch"]), json.loads(meta.get("history", "[]"))


def fit(model: BiaxialModel, rolls: list[torch.Tensor], *, epochs: int, start_epoch: int = 0,
        opt: torch.optim.Optimizer | None = None, lr: float = 2e-3, batch_size: int = 16,
        generator: torch.Generator | None = None, device="cpu", history: list | None = None,
        checkpoint: Path | None = None, max_seconds: float | None = None,
        progress: ProgressCallback | None = None) -> list[dict]:
    """Train on windows of ``rolls``; about 10 % of the pieces (at least one when there are
    two or more) are held out, the weights of the best validation epoch are kept. A
    checkpoint after every epoch when ``checkpoint`` is set; ``max_seconds`` ends training
    after the epoch that passes it. On the CPU it trains on one thread (see ``threads``)."""
    from artkit.music.threads import one_thread

    with one_thread(torch.device(device).type == "cpu"):
        return _fit(model, rolls, epochs=epochs, start_epoch=start_epoch, opt=opt, lr=lr,
                    batch_size=batch_size, generator=generator, device=device, history=history,
                    checkpoint=checkpoint, max_seconds=max_seconds, progress=progress)


def _fit(model: BiaxialModel, rolls: list[torch.Tensor], *, epochs: int, start_epoch: int,
         opt: torch.optim.Optimizer | None, lr: float, batch_size: int,
         generator: torch.Generator | None, device, history: list | None,
         checkpoint: Path | None, max_seconds: float | None,
         progress: ProgressCallback | None) -> list[dict]:
    cfg = model.net.config
    order = torch.randperm(len(rolls), generator=generator).tolist()
    n_val = max(1, len(rolls) // 10) if len(rolls) > 1 else 0
    train = roll_windows([rolls[k] for k in sorted(order[n_val:])], cfg.seq_steps)
    val = roll_windows([rolls[k] for k in order[:n_val]], cfg.seq_steps)[:64]
    if len(train) < 1:
        raise ArtkitError("too little music to train on", "give at least two bars of notes")
    opt = opt or torch.optim.Adam(model.net.parameters(), lr=lr)

    def batch_loss(idx: torch.Tensor) -> torch.Tensor:
        batch = train[idx].to(device)
        lo, hi = active_range(batch)
        return roll_loss(model.net(batch, pitches=(lo, hi)), batch[:, :, lo:hi])

    def val_loss() -> float:
        vl = [roll_loss(model.net(v.to(device)), v.to(device)).item() * len(v)
              for v in val.split(batch_size)]
        return sum(vl) / len(val)

    history, model.best_epoch = run_epochs(
        model.net, opt, len(train), batch_size, batch_loss, val_loss if len(val) else None,
        epochs=epochs, start_epoch=start_epoch, history=list(history or []),
        generator=generator,
        save=(lambda e, h: save_checkpoint(checkpoint, model, opt, e, h)) if checkpoint else None,
        max_seconds=max_seconds, progress=progress)
    return history


def train_biaxial(sources: list[str], output: str | Path, *, epochs: int = 20,
                  size: str = "default", resume: bool = False, seed: int | None = 0,
                  device: str | torch.device = "cpu", lr: float = 2e-3, batch_size: int = 8,
                  force: bool = False, max_seconds: float | None = None,
                  progress: ProgressCallback | None = None):
    """Train a biaxial model on every part of ``sources`` and save it (see ``api.train``).

    Returns ``(model, output, pieces, steps, skipped, history, seconds)``.
    """
    from artkit.core.runtime import make_generator
    from artkit.music.checkpoint import training_output

    output = training_output(output, resume=resume, force=force, size=size, sizes=SIZES,
                             epochs=epochs)
    t0 = time.perf_counter()
    rolls, names, feats, skipped = load_rolls([str(s) for s in sources], progress)
    if not rolls:
        reasons = "; ".join(f"{Path(n).name}: {r}" for n, r in skipped[:3])
        raise ArtkitError(f"no usable piece among the sources ({reasons or 'nothing found'})")
    gen = make_generator(seed)
    ckpt = checkpoint_path(output)
    dev = torch.device(device)
    if resume:
        bm, opt, start, history = load_checkpoint(ckpt, lr, dev)
    else:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(gen.initial_seed())
            net = BiaxialLSTM(BiaxialConfig(**SIZES[size])).to(dev)
        bm, opt, start, history = BiaxialModel(net), None, 0, []
    steps = sum(len(r) for r in rolls)
    history = fit(bm, rolls, epochs=epochs, start_epoch=start, opt=opt, lr=lr,
                  batch_size=batch_size, generator=gen, device=dev, history=history,
                  checkpoint=ckpt, max_seconds=max_seconds, progress=progress)
    seconds = time.perf_counter() - t0
    bm.info = {
        "training": {
            "sources": [str(s) for s in sources], "pieces": len(rolls), "steps": steps,
            "skipped": len(skipped), "epochs": len(history), "size": size, "seed": seed,
            "history": history, "seconds": round(seconds, 1), "kept_epoch": bm.best_epoch,
            "pitch_range": pitch_range(rolls),
            "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        },
        "features": feats,
    }
    bm.net.cpu()
    bm.save(output, force=True)
    return bm, output, len(rolls), steps, skipped, history, seconds


# ---------------------------------------------------------------- composing

@torch.inference_mode()
def sample_roll(model: BiaxialModel, steps: int, *, temperature: float = 1.0,
                generator: torch.Generator | None = None,
                progress: ProgressCallback | None = None) -> torch.Tensor:
    """Generate ``(steps, 78, 2)`` step by step from silence: the time axis advances every
    pitch one step, then the note axis samples play / articulate pitch by pitch upwards (a
    pitch that starts sounding is always articulated)."""
    from artkit.music.threads import one_thread

    net = model.net
    dev = next(net.parameters()).device
    with one_thread(dev.type == "cpu"):
        roll = torch.zeros(steps, N_NOTES, 2)
        u = torch.rand(steps, N_NOTES, 2, generator=generator)
        prev = torch.zeros(1, 1, N_NOTES, 2, device=dev)
        t_states = None
        temperature = max(float(temperature), 1e-3)
        note_axis = _NoteAxis(net)
        u = u.numpy()
        # pitches the training music never used get no training signal (training skips the
        # silent rows of a batch): they stay silent
        lo, hi = model.info.get("training", {}).get("pitch_range") or (LOW, LOW + N_NOTES - 1)
        allowed = (torch.arange(N_NOTES) + LOW >= lo) & (torch.arange(N_NOTES) + LOW <= hi)
        allowed = allowed.numpy()
        for t in range(steps):
            feats = note_features(prev, torch.tensor([t], device=dev))      # (1, 1, 78, 80)
            h, t_states = net.run_time(feats.reshape(N_NOTES, 1, N_FEATURES), t_states)
            h = h.reshape(N_NOTES, -1).cpu().numpy()
            was = prev[0, 0, :, 0].cpu().numpy()
            skip = None if net.skip is None else net.skip(feats[0, 0]).double().cpu().numpy()
            roll[t] = torch.from_numpy(note_axis.sample(h, was, u[t], temperature, skip, allowed))
            prev = roll[t].to(dev).view(1, 1, N_NOTES, 2)
            if t % STEPS_PER_BAR == STEPS_PER_BAR - 1:
                report(progress, "compose", t + 1, steps, f"bar {(t + 1) // STEPS_PER_BAR}")
    return roll


class _NoteAxis:
    """The note-axis LSTM stack and head in NumPy, one pitch at a time: sampling walks up 78
    pitches every step, and for such tiny vectors NumPy's per-call cost is ~20× below torch's
    (32 bars: about 1 s instead of a minute)."""

    def __init__(self, net: BiaxialLSTM):
        import numpy as np

        def arr(t):
            return t.detach().cpu().double().numpy()

        self.np = np
        self.layers = []
        for k, layer in enumerate(net.note):
            w_ih, w_hh = arr(layer.weight_ih_l0), arr(layer.weight_hh_l0)
            b = arr(layer.bias_ih_l0) + arr(layer.bias_hh_l0)
            self.layers.append((w_ih, w_hh, b, layer.hidden_size))
        self.head_w, self.head_b = arr(net.head.weight), arr(net.head.bias)

    def sample(self, h_time, was, u, temperature: float, skip=None, allowed=None):
        """``h_time`` (78, H) time-axis outputs, ``was`` (78,) previous play bits, ``u``
        (78, 2) uniform numbers, ``skip`` (78, 2) the linear path's logits → (78, 2) play /
        articulate bits of this step; pitches where ``allowed`` is false stay silent."""
        np = self.np
        w_ih0, w_hh0, b0, H0 = self.layers[0]
        Ht = h_time.shape[1]
        pre0 = h_time.astype(np.float64) @ w_ih0[:, :Ht].T + b0             # (78, 4H)
        w_low = w_ih0[:, Ht:]                                               # (4H, 2)
        hs = [np.zeros(size) for *_, size in self.layers]
        cs = [np.zeros(size) for *_, size in self.layers]
        out = np.zeros((N_NOTES, 2), dtype=np.float32)
        self.last_p = np.zeros((N_NOTES, 2))
        lower = np.zeros(2)
        for n in range(N_NOTES):
            x = None
            for k, (w_ih, w_hh, b, H) in enumerate(self.layers):
                if k == 0:
                    g = pre0[n] + w_low @ lower + w_hh @ hs[0]
                else:
                    g = w_ih @ x + w_hh @ hs[k] + b
                s = 1.0 / (1.0 + np.exp(-g))
                c = s[H:2 * H] * cs[k] + s[:H] * np.tanh(g[2 * H:3 * H])
                x = s[3 * H:] * np.tanh(c)
                hs[k], cs[k] = x, c
            z = self.head_w @ x + self.head_b
            if skip is not None:
                z = z + skip[n]
            z = z / temperature
            p = 1.0 / (1.0 + np.exp(-z))
            play = u[n, 0] < p[0] and (allowed is None or allowed[n])
            art = play and (was[n] < 0.5 or u[n, 1] < p[1])
            out[n] = (float(play), float(art))
            self.last_p[n] = p
            lower = out[n].astype(np.float64)
        return out


def roll_to_notes(roll: torch.Tensor, velocity: int = 80):
    """``(T, 78, 2)`` → :class:`MidiNote` list (quarter-note times): a note begins where a
    pitch starts sounding or is re-articulated and lasts while it sounds."""
    from artkit.music.midi import MidiNote

    play = roll[..., 0].bool().numpy()
    art = roll[..., 1].bool().numpy()
    T = play.shape[0]
    notes = []
    for n in range(N_NOTES):
        start = None
        for t in range(T + 1):
            on = t < T and play[t, n]
            if start is not None and (not on or art[t, n]):
                notes.append(MidiNote(start / STEPS_PER_QUARTER, (t - start) / STEPS_PER_QUARTER,
                                      n + LOW, velocity))
                start = None
            if on and start is None:
                start = t
    notes.sort(key=lambda m: (m.start, m.pitch))
    return notes


@dataclass
class BiaxialScore:
    """A polyphonic composition: the piano roll and how it was made."""

    roll: torch.Tensor            # (steps, 78, 2)
    n_bars: int
    tempo: float
    info: dict = field(default_factory=dict)

    def notes(self):
        return roll_to_notes(self.roll)

    def midi_song(self):
        from artkit.music.midi import MidiSong, MidiTrack

        return MidiSong([MidiTrack("piano", 0, 0, self.notes())], [(0.0, float(self.tempo))],
                        [(0.0, 4, 4)], [])

    @property
    def seconds(self) -> float:
        return self.n_bars * 4 * 60.0 / self.tempo

    def piece(self):
        """The composition as a :class:`Piece` (top line over the chordified rest), for the
        quality figures; ``None`` when it has too few notes to be measured."""
        from artkit.music.corpus import _Part, _Raw, build_piece

        notes = [(Fraction(m.start), Fraction(m.dur), m.pitch) for m in self.notes()]
        raw = _Raw([_Part("piano", notes)], [], [(Fraction(0), Fraction(4))],
                   [(Fraction(4 * b), Fraction(4)) for b in range(self.n_bars)])
        try:
            return build_piece("composition", raw)
        except ArtkitError:
            return None


def compose_biaxial(model: BiaxialModel, *, bars: int = 16, tempo: float = 100.0,
                    temperature: float = 1.0, generator: torch.Generator | None = None,
                    progress: ProgressCallback | None = None) -> BiaxialScore:
    """Compose ``bars`` bars of free polyphony in 4/4 (16 steps a bar)."""
    t0 = time.perf_counter()
    roll = sample_roll(model, bars * STEPS_PER_BAR, temperature=temperature, generator=generator,
                       progress=progress)
    return BiaxialScore(roll, bars, tempo, info={
        "model": model.info.get("training", {}).get("sources"), "temperature": temperature,
        "seconds": round(time.perf_counter() - t0, 3)})
