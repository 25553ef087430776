"""Training checkpoints: a network's weights, its optimiser's state and where training stood.

One safetensors artifact (kind ``"checkpoint"``): tensors ``net.<name>`` for the network and
``opt.<param index>.<name>`` for the optimiser's per-parameter state; the metadata keeps the
optimiser's hyper-parameters, the epoch and anything the trainer adds (config, vocabulary, the
data it was trained on), so a resumed run can check that it continues the same run.

Example:
    >>> import torch, tempfile, pathlib
    >>> net = torch.nn.Linear(2, 1); opt = torch.optim.Adam(net.parameters())
    >>> net(torch.ones(1, 2)).sum().backward(); opt.step()
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "run.ckpt.safetensors"
    >>> _ = save_checkpoint(p, net, opt, run="demo", epoch=1)
    >>> ck = load_checkpoint(p, run="demo")
    >>> ck.epoch, sorted(ck.net_state())
    (1, ['bias', 'weight'])
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from artkit.core.artifacts import Artifact, describe, load_artifact, save_artifact
from artkit.core.errors import ArtkitError

KIND = "checkpoint"
describe(KIND, "training checkpoint", "start training again without --resume")


def checkpoint_path(output: str | os.PathLike) -> Path:
    """Where the checkpoint of a training run that writes ``output`` goes:
    ``model.safetensors`` → ``model.ckpt.safetensors``."""
    output = Path(output)
    stem = output.name[:-len(".safetensors")] if output.name.endswith(".safetensors") else output.stem
    return output.with_name(stem + ".ckpt.safetensors")


def save_checkpoint(path: str | os.PathLike, net: torch.nn.Module,
                    optimizer: torch.optim.Optimizer | None, *, run: str, epoch: int,
                    meta: dict[str, Any] | None = None) -> Path:
    """Write a checkpoint atomically (overwriting the previous one of the same run).

    Args:
        path: the checkpoint file.
        net: the network being trained.
        optimizer: its optimiser (``None``: weights only).
        run: what was being trained (``"colorize"``, ``"jazz"``, ...), checked on resume.
        epoch: epochs completed.
        meta: anything else the trainer needs to continue (JSON-ready).
    """
    tensors = {f"net.{k}": v for k, v in net.state_dict().items()}
    groups = []
    if optimizer is not None:
        sd = optimizer.state_dict()
        for pid, st in sd["state"].items():
            for k, v in st.items():
                v = (v if torch.is_tensor(v) else torch.tensor(float(v))).detach()
                tensors[f"opt.{pid}.{k}"] = v.reshape(1) if v.dim() == 0 else v
        groups = [{k: v for k, v in g.items() if k != "params"} for g in sd["param_groups"]]
    info = {"run": run, "epoch": int(epoch), "optimizer": type(optimizer).__name__ if optimizer else None,
            "param_groups": groups, **(meta or {})}
    return save_artifact(path, tensors, kind=KIND, meta=info, force=True)


@dataclass
class Checkpoint:
    """A loaded checkpoint; see :func:`load_checkpoint`."""

    artifact: Artifact

    @property
    def epoch(self) -> int:
        return int(self.artifact.field("epoch", int))

    @property
    def meta(self) -> dict[str, Any]:
        return self.artifact.meta

    def net_state(self) -> dict[str, torch.Tensor]:
        """The network's state dict."""
        return {k[4:]: v for k, v in self.artifact.tensors.items() if k.startswith("net.")}

    def load_net(self, net: torch.nn.Module) -> None:
        """Put the saved weights into ``net`` (which must have the same shapes)."""
        try:
            net.load_state_dict(self.net_state())
        except RuntimeError as exc:
            raise self.artifact.damaged(f"its network does not fit this run "
                                        f"({' '.join(str(exc).split())[:120]})") from None

    def load_optimizer(self, optimizer: torch.optim.Optimizer) -> None:
        """Put the saved optimiser state (and hyper-parameters) into ``optimizer``."""
        saved = self.meta.get("optimizer")
        if saved is not None and saved != type(optimizer).__name__:
            raise self.artifact.damaged(f"it was written with {saved}, not {type(optimizer).__name__}")
        device = next((p.device for g in optimizer.param_groups for p in g["params"]), None)
        state: dict[int, dict] = {}
        for k, v in self.artifact.tensors.items():
            if k.startswith("opt."):
                _, pid, name = k.split(".", 2)
                state.setdefault(int(pid), {})[name] = v.reshape(()) if name == "step" else v.to(device)
        sd = optimizer.state_dict()
        groups = self.meta.get("param_groups") or []
        if groups and len(groups) != len(sd["param_groups"]):
            raise self.artifact.damaged("its optimiser has another number of parameter groups")
        for g, saved_g in zip(sd["param_groups"], groups):
            g.update({k: v for k, v in saved_g.items() if k in g and k != "params"})
        sd["state"] = state
        try:
            optimizer.load_state_dict(sd)
        except (ValueError, RuntimeError, KeyError) as exc:
            raise self.artifact.damaged(f"its optimiser state does not fit ({exc})") from None


def load_checkpoint(path: str | os.PathLike, *, run: str) -> Checkpoint:
    """Read a checkpoint written by :func:`save_checkpoint` for a ``run`` of this kind.

    Raises:
        ArtkitError: missing (with the hint to train without --resume), damaged, or written by
            another kind of training.
    """
    path = Path(path)
    if not path.is_file():
        raise ArtkitError(f"no checkpoint '{path}' to resume from",
                          "train without --resume first (a checkpoint is written every epoch)")
    ck = Checkpoint(load_artifact(path, KIND, name=f"checkpoint:{path.name}"))
    if ck.meta.get("run") != run:
        raise ArtkitError(f"checkpoint '{path}' is from a {ck.meta.get('run')} training run, "
                          f"not {run}", "resume with the same command that wrote it")
    ck.epoch  # noqa: B018 - checks the field
    return ck
