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

from dataclasses import asdict, dataclass, field
from fractions import Fraction
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from artkit.core.artifacts import describe, load_artifact, save_artifact
from artkit.core.config import Config, param
from artkit.core.errors import ArtkitError
from artkit.core.progress import ProgressCallback, report
from artkit.music.corpus import build_piece, read_raw, resolve_sources
from artkit.music.metrics import piece_features
from artkit.music.midi import MidiNote
from artkit.music.score import Score
from artkit.music.threads import one_thread
from artkit.music.training import check_shapes, dropout, lstm_shapes, run_epochs

KIND = "biaxial-model"
describe(KIND, "biaxial model", "train one with `artkit music train --model biaxial`, or use "
         "the shipped model 'biaxial'")

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
class BiaxialConfig(Config):
    """Sizes of the two LSTM stacks and the training window (``SIZES`` names the usual ones)."""

    time_sizes: list[int] = param(factory=lambda: [64, 64], ge=1, le=1024)
    note_sizes: list[int] = param(factory=lambda: [32, 32], ge=1, le=1024)
    dropout: float = param(0.0, ge=0.0, lt=1.0)
    skip: bool = True             # a linear path from the 80 features to the two logits
    seq_steps: int = param(64, ge=16, le=4096)   # training windows: 4 bars of 16th notes

    def check(self) -> None:
        if not 1 <= len(self.time_sizes) <= 8 or not 1 <= len(self.note_sizes) <= 8:
            raise ArtkitError("a biaxial model has 1 to 8 layers on each axis")


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
        self.head = nn.Linear(n_in, 2)
        self.generator: torch.Generator | None = None    # dropout masks, while training
        self.share: tuple[list[int], int] | None = None  # this rank's rows, under torchrun
        # Four stacked LSTMs lie between the features and the output; from a random start they
        # sat at the notes' mean density for the hundreds of updates CPU minutes allow. A
        # linear path from the features (as in a residual network) learns "a sounding note
        # goes on, notes start on beats" at once, and the LSTMs learn the rest.
        self.skip = nn.Linear(N_FEATURES, 2) if config.skip else None

    @staticmethod
    def shapes(config: BiaxialConfig) -> dict[str, tuple[int, ...]]:
        """The state dict's tensor shapes for ``config`` (checked against a file before any
        network is built)."""
        out: dict[str, tuple[int, ...]] = {}
        n_in = N_FEATURES
        for k, h in enumerate(config.time_sizes):
            out |= lstm_shapes(f"time.{k}.", n_in, h)
            n_in = h
        n_in += 2
        for k, h in enumerate(config.note_sizes):
            out |= lstm_shapes(f"note.{k}.", n_in, h)
            n_in = h
        out |= {"head.weight": (2, n_in), "head.bias": (2,)}
        if config.skip:
            out |= {"skip.weight": (2, N_FEATURES), "skip.bias": (2,)}
        return out

    def run_time(self, x: torch.Tensor, states: list | None = None):
        states = states or [None] * len(self.time)
        new = []
        for layer, st in zip(self.time, states):
            x, st = layer(x, st)
            x = dropout(x, self.config.dropout, self.generator, self.training, self.share)
            new.append(st)
        return x, new

    def run_note(self, x: torch.Tensor, states: list | None = None):
        states = states or [None] * len(self.note)
        new = []
        for layer, st in zip(self.note, states):
            x, st = layer(x, st)
            x = dropout(x, self.config.dropout, self.generator, self.training, self.share)
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


def roll_loss(logits: torch.Tensor, roll: torch.Tensor, share: float = 1.0,
              sounding: torch.Tensor | None = None) -> torch.Tensor:
    """Mean binary cross-entropy of play over every pitch and step, plus that of articulate
    over the pitches that sound (articulation means nothing for a silent pitch).

    Under torchrun a rank holds part of a global batch: ``share`` is its fraction of the rows
    and ``sounding`` the number of sounding notes in the whole batch, so that the ranks' losses
    sum to the loss of the batch."""
    roll = roll.float()
    play = F.binary_cross_entropy_with_logits(logits[..., 0], roll[..., 0])
    mask = roll[..., 0]
    artic = F.binary_cross_entropy_with_logits(logits[..., 1], roll[..., 1], reduction="none")
    total = mask.sum() if sounding is None else sounding
    return play * share + (artic * mask).sum() / total.clamp(min=1.0)


@dataclass
class BiaxialModel:
    """A trained biaxial model: the network and how it was trained.

    Args:
        net: the network.
        training: the training record (sources, pieces, steps, history, pitch range, ...).
        features: the training pieces' quality figures (top line over the rest).
        best_epoch: the epoch whose weights the network holds.
        skipped: ``(source, reason)`` of the pieces training could not use (not saved).
    """

    net: BiaxialLSTM
    training: dict = field(default_factory=dict)
    features: list[dict] = field(default_factory=list)
    best_epoch: int | None = None
    skipped: list[tuple[str, str]] = field(default_factory=list, repr=False)
    sha256: str = ""
    kind = "biaxial"

    @property
    def device(self) -> torch.device:
        return next(self.net.parameters()).device

    def save(self, path: str | Path, force: bool = False) -> Path:
        """Write the model as one artifact (``.safetensors``), atomically."""
        meta = {"config": asdict(self.net.config), "training": self.training,
                "features": self.features,
                "encoding": {"low": LOW, "notes": N_NOTES, "steps_per_quarter": STEPS_PER_QUARTER,
                             "features": N_FEATURES}}
        return save_artifact(path, self.net.state_dict(), kind=KIND, meta=meta, force=force)

    @staticmethod
    def load(path: str | Path, device: torch.device | str = "cpu",
             name: str | None = None) -> "BiaxialModel":
        """Load a model written by :meth:`save` (checked before use; nothing is unpickled)."""
        art = load_artifact(path, KIND, name=name)
        enc = art.field("encoding", dict)
        if enc != {"low": LOW, "notes": N_NOTES, "steps_per_quarter": STEPS_PER_QUARTER,
                   "features": N_FEATURES}:
            raise art.damaged(f"it encodes music another way ({enc})")
        try:
            config = BiaxialConfig(**art.field("config", dict))
            config.validate()
        except (TypeError, ArtkitError) as exc:
            raise art.damaged(f"its config does not hold ({' '.join(str(exc).split())[:120]})") from None
        why = check_shapes(BiaxialLSTM.shapes(config), art.tensors)
        if why:
            raise art.damaged(why)
        net = BiaxialLSTM(config)
        net.load_state_dict(art.tensors)
        return BiaxialModel(net.to(device).eval(), dict(art.meta.get("training") or {}),
                            list(art.meta.get("features") or []), sha256=art.sha256)


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
    files, skipped = resolve_sources(sources)
    rolls, names, feats = [], [], []
    for i, f in enumerate(files):
        report(progress, "read music", i, len(files), f.name)
        try:
            for name, raw in read_raw(f):
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
    if rolls:
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


def fit(model: BiaxialModel, rolls: list[torch.Tensor], *, epochs: int, start_epoch: int = 0,
        opt: torch.optim.Optimizer | None = None, lr: float = 2e-3, batch_size: int = 8,
        generator: torch.Generator | None = None, history: list | None = None, save=None,
        max_seconds: float | None = None,
        progress: ProgressCallback | None = None) -> tuple[list[dict], torch.optim.Optimizer]:
    """Train on windows of ``rolls``; about 10 % of the pieces (at least one when there are
    two or more) are held out, the weights of the best validation epoch are kept.
    ``save(epoch, history, optimizer)`` is called after every epoch (a checkpoint);
    ``max_seconds`` ends training after the epoch that passes it. On the CPU it trains on one
    thread (see ``threads``). Returns the history and the optimiser."""
    cfg, device = model.net.config, model.device
    order = torch.randperm(len(rolls), generator=generator).tolist()
    n_val = max(1, len(rolls) // 10) if len(rolls) > 1 else 0
    train = roll_windows([rolls[k] for k in sorted(order[n_val:])], cfg.seq_steps)
    val = roll_windows([rolls[k] for k in order[:n_val]], cfg.seq_steps)[:64]
    if len(train) < 1:
        raise ArtkitError("too little music to train on", "give at least two bars of notes")
    opt = opt or torch.optim.Adam(model.net.parameters(), lr=lr)

    def batch_loss(idx: torch.Tensor, full: torch.Tensor) -> torch.Tensor:
        whole = train[full]  # the global batch: its pitch range and sounding notes
        lo, hi = active_range(whole)
        batch = train[idx].to(device)
        return roll_loss(model.net(batch, pitches=(lo, hi)), batch[:, :, lo:hi],
                         share=len(idx) / len(full),
                         sounding=whole[:, :, lo:hi, 0].float().sum().to(device))

    def val_loss() -> float:
        vl = [roll_loss(model.net(v.to(device)), v.to(device)).item() * len(v)
              for v in val.split(batch_size)]
        return sum(vl) / len(val)

    model.net.generator = generator
    try:
        with one_thread(device.type == "cpu"):
            history, model.best_epoch = run_epochs(
                model.net, opt, len(train), batch_size, batch_loss,
                val_loss if len(val) else None, epochs=epochs, start_epoch=start_epoch,
                history=list(history or []), generator=generator,
                save=(lambda e, h: save(e, h, opt)) if save else None,
                max_seconds=max_seconds, progress=progress)
    finally:
        model.net.generator = None
    return history, opt


# ---------------------------------------------------------------- composing

@torch.inference_mode()
def sample_roll(model: BiaxialModel, steps: int, *, temperature: float = 1.0,
                generator: torch.Generator | None = None,
                progress: ProgressCallback | None = None) -> torch.Tensor:
    """Generate ``(steps, 78, 2)`` step by step from silence: the time axis advances every
    pitch one step, then the note axis samples play / articulate pitch by pitch upwards (a
    pitch that starts sounding is always articulated)."""
    net = model.net
    dev = next(net.parameters()).device
    with one_thread(dev.type == "cpu"):
        roll = torch.zeros(steps, N_NOTES, 2)
        u = torch.rand(steps, N_NOTES, 2, generator=generator)
        prev = torch.zeros(1, 1, N_NOTES, 2, device=dev)
        t_states = None
        temperature = max(float(temperature), 1e-3)
        note_axis = NoteAxis(net)
        u = u.numpy()
        # pitches the training music never used get no training signal (training skips the
        # silent rows of a batch): they stay silent
        lo, hi = model.training.get("pitch_range") or (LOW, LOW + N_NOTES - 1)
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


class NoteAxis:
    """The note-axis LSTM stack and head in NumPy, one pitch at a time: sampling walks up 78
    pitches every step, and for such tiny vectors NumPy's per-call cost is ~20× below torch's
    (32 bars: about 1 s instead of a minute)."""

    def __init__(self, net: BiaxialLSTM):
        def arr(t):
            return t.detach().cpu().double().numpy()

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


def compose_biaxial(model: BiaxialModel, *, bars: int = 16, tempo: float = 100.0,
                    temperature: float = 1.0, generator: torch.Generator | None = None,
                    progress: ProgressCallback | None = None) -> Score:
    """Compose ``bars`` bars of free polyphony in 4/4 (16 steps a bar), one piano part."""
    roll = sample_roll(model, bars * STEPS_PER_BAR, temperature=temperature, generator=generator,
                       progress=progress)
    return Score(kind="biaxial", title="", parts={"piano": roll_to_notes(roll)}, n_bars=bars,
                 tempo=tempo, roll=roll, settings={"temperature": temperature})
