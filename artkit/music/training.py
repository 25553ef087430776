"""What both music models train with: seeded initial weights, seeded dropout, and one epoch loop
(shuffled batches, clipped Adam steps, a validation loss per epoch, the best epoch's weights
kept, a checkpoint after every epoch).

Randomness comes only from the ``generator`` a caller passes: initial weights are drawn from it
with PyTorch's default distributions (uniform ±1/√hidden for LSTMs, ±1/√fan-in for linear
layers, a unit normal for embeddings), and dropout masks are drawn from it on the CPU, so the
same seed trains the same model and torch's global random state is never touched.
"""

from __future__ import annotations

import math
import time
from typing import Callable

import torch
from torch import nn

from artkit.core import distributed
from artkit.core.errors import ArtkitError
from artkit.core.progress import ProgressCallback, report


@torch.no_grad()
def init_parameters(net: nn.Module, generator: torch.Generator) -> None:
    """Redraw every parameter of ``net`` (on the CPU) from its default initialisation,
    with ``generator``."""
    for module in net.modules():
        if isinstance(module, nn.LSTM):
            bound = 1.0 / math.sqrt(module.hidden_size)
            for p in module.parameters(recurse=False):
                p.uniform_(-bound, bound, generator=generator)
        elif isinstance(module, nn.Linear):
            bound = 1.0 / math.sqrt(module.in_features)
            module.weight.uniform_(-bound, bound, generator=generator)
            if module.bias is not None:
                module.bias.uniform_(-bound, bound, generator=generator)
        elif isinstance(module, nn.Embedding):
            module.weight.normal_(0.0, 1.0, generator=generator)


def dropout(x: torch.Tensor, p: float, generator: torch.Generator | None,
            training: bool, share: tuple[list[int], int] | None = None) -> torch.Tensor:
    """Inverted dropout with its mask drawn from ``generator`` (on the CPU, then moved).

    Args:
        share: under torchrun, ``(rows, n)``: this rank holds rows ``rows`` of a global batch
            of ``n``, and ``x``'s first axis is batch-major (``len(rows) * k`` rows). The mask
            of the whole global batch is drawn — so every rank's generator stays in step and
            each row gets the mask one process would give it — and this rank's rows are kept.
    """
    if not training or p <= 0:
        return x
    if share is None:
        keep = torch.rand(x.shape, generator=generator) >= p
    else:
        rows, n = share
        k = x.shape[0] // len(rows)
        full = torch.rand((n * k, *x.shape[1:]), generator=generator) >= p  # (n·k, ...)
        keep = full.view(n, k, *x.shape[1:])[rows].reshape(x.shape)
    return x * keep.to(device=x.device, dtype=x.dtype) / (1.0 - p)


def run_epochs(net: nn.Module, opt: torch.optim.Optimizer, n_train: int, batch_size: int,
               batch_loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
               val_loss: Callable[[], float] | None, *, epochs: int, start_epoch: int,
               history: list[dict], generator: torch.Generator | None,
               save: Callable[[int, list[dict]], None] | None = None,
               max_seconds: float | None = None,
               progress: ProgressCallback | None = None) -> tuple[list[dict], int]:
    """Train ``net`` from ``start_epoch`` to ``epochs``.

    Under torchrun (the process group joined) each global batch is split across the ranks
    (interleaved rows), every rank weights its loss by its share and the gradients are summed
    before clipping, so every rank takes the step one process takes on the whole batch; the
    epoch losses are summed across ranks, so the history is the same too. ``save`` should
    write on rank 0 only.

    Args:
        n_train: number of training rows; ``batch_loss(rows, batch)`` gets the indices of this
            rank's rows and of the whole global batch, and returns this rank's part of the
            batch's loss (the parts of all ranks sum to the loss of the batch).
        val_loss: the validation loss of the current weights (None: no validation rows).
        history: earlier epochs (``epoch``, ``loss``, ``val_loss``, ``seconds``), extended here.
        save: called as ``save(epoch, history)`` after every epoch (a checkpoint).
        max_seconds: stop after the epoch that passes this much time.

    Returns:
        The history and the epoch whose weights ``net`` holds at the end: the one with the lowest
        (rounded) validation loss, or the last one without validation.
    """
    history = list(history)
    best, best_epoch = None, len(history)
    n_batches = math.ceil(n_train / batch_size)
    w = distributed.active()
    _check_split(n_train, batch_size, w, net)
    t_start = time.perf_counter()
    for epoch in range(start_epoch, epochs):
        t0 = time.perf_counter()
        net.train()
        order = torch.randperm(n_train, generator=generator)
        total = 0.0
        for b in range(n_batches):
            full = order[b * batch_size:(b + 1) * batch_size]
            rows = distributed.share_of(len(full), w)
            opt.zero_grad()
            if rows:
                net.share = (rows, len(full)) if w.distributed else None
                loss = batch_loss(full[rows], full)
                loss.backward()
                total += loss.item()
            distributed.all_reduce_gradients(net)
            nn.utils.clip_grad_norm_(net.parameters(), 1.0)
            opt.step()
            report(progress, "train", epoch * n_batches + b + 1, epochs * n_batches,
                   f"epoch {epoch + 1}/{epochs}", loss=total * w.size / (b + 1))
        net.share = None
        total = float(distributed.all_reduce(torch.tensor([total], dtype=torch.float64)))
        net.eval()
        vloss = float("nan")
        if val_loss is not None:
            with torch.inference_mode():
                vloss = val_loss()
        history.append({"epoch": epoch + 1, "loss": round(total / n_batches, 4),
                        "val_loss": round(vloss, 4), "seconds": round(time.perf_counter() - t0, 2)})
        report(progress, "train", (epoch + 1) * n_batches, epochs * n_batches,
               f"epoch {epoch + 1}/{epochs}", loss=total / n_batches, val_loss=vloss)
        if val_loss is not None and round(vloss, 4) <= min(h["val_loss"] for h in history):
            best = {k: v.detach().clone() for k, v in net.state_dict().items()}
            best_epoch = epoch + 1
        if save is not None:
            save(epoch + 1, history)
        if max_seconds is not None and distributed.broadcast_object(  # rank 0's clock decides
                time.perf_counter() - t_start > max_seconds):
            break
    if best is not None and best_epoch != len(history):
        net.load_state_dict(best)
    net.eval()
    return history, (best_epoch if best is not None else len(history))


def _check_split(n_train: int, batch_size: int, w: distributed.World, net: nn.Module) -> None:
    """Under torchrun every rank needs a row of every batch when dropout draws masks (a rank
    without rows would draw none and its generator would fall out of step)."""
    if not w.distributed:
        return
    last = n_train % batch_size or batch_size
    p = float(getattr(getattr(net, "config", None), "dropout", 0.0) or 0.0)
    if min(batch_size, last) < w.size and p > 0:
        raise ArtkitError(f"a batch of {min(batch_size, last)} rows cannot be split across "
                          f"{w.size} processes while dropout draws masks",
                          f"use at most {min(batch_size, last)} processes, or a batch size "
                          f"(train(batch_size=...)) whose last batch of the {n_train} rows "
                          f"also has {w.size}")


def lstm_shapes(prefix: str, n_in: int, hidden: int) -> dict[str, tuple[int, ...]]:
    """The parameter shapes of a one-layer ``nn.LSTM``."""
    return {prefix + "weight_ih_l0": (4 * hidden, n_in), prefix + "weight_hh_l0": (4 * hidden, hidden),
            prefix + "bias_ih_l0": (4 * hidden,), prefix + "bias_hh_l0": (4 * hidden,)}


def check_shapes(state: dict[str, tuple[int, ...]], tensors: dict[str, torch.Tensor]) -> str | None:
    """Why ``tensors`` (from a file) cannot be a network whose state dict has the shapes
    ``state`` (``None`` when every name and shape agrees)."""
    missing = sorted(set(state) - set(tensors))
    if missing:
        return f"it has no tensor '{missing[0]}'"
    extra = sorted(set(tensors) - set(state))
    if extra:
        return f"it has a tensor '{extra[0]}' the network does not"
    for name, shape in state.items():
        if tuple(tensors[name].shape) != tuple(shape):
            got = "×".join(map(str, tensors[name].shape))
            return f"tensor '{name}' is {got}, its config says {'×'.join(map(str, shape))}"
    return None
