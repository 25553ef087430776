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
            training: bool) -> torch.Tensor:
    """Inverted dropout with its mask drawn from ``generator`` (on the CPU, then moved)."""
    if not training or p <= 0:
        return x
    keep = torch.rand(x.shape, generator=generator) >= p
    return x * keep.to(device=x.device, dtype=x.dtype) / (1.0 - p)


def run_epochs(net: nn.Module, opt: torch.optim.Optimizer, n_train: int, batch_size: int,
               batch_loss: Callable[[torch.Tensor], torch.Tensor],
               val_loss: Callable[[], float] | None, *, epochs: int, start_epoch: int,
               history: list[dict], generator: torch.Generator | None,
               save: Callable[[int, list[dict]], None] | None = None,
               max_seconds: float | None = None,
               progress: ProgressCallback | None = None) -> tuple[list[dict], int]:
    """Train ``net`` from ``start_epoch`` to ``epochs``.

    Args:
        n_train: number of training rows; ``batch_loss`` gets the indices of one batch.
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
    t_start = time.perf_counter()
    for epoch in range(start_epoch, epochs):
        t0 = time.perf_counter()
        net.train()
        order = torch.randperm(n_train, generator=generator)
        total = 0.0
        for b in range(n_batches):
            loss = batch_loss(order[b * batch_size:(b + 1) * batch_size])
            opt.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(net.parameters(), 1.0)
            opt.step()
            total += loss.item()
            report(progress, "train", epoch * n_batches + b + 1, epochs * n_batches,
                   f"epoch {epoch + 1}/{epochs}", loss=total / (b + 1))
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
        if max_seconds is not None and time.perf_counter() - t_start > max_seconds:
            break
    if best is not None and best_epoch != len(history):
        net.load_state_dict(best)
    net.eval()
    return history, (best_epoch if best is not None else len(history))


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
