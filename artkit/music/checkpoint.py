"""Training checkpoints shared by the music models: network + Adam state in one safetensors file."""

from __future__ import annotations

from pathlib import Path

import torch

from artkit.core.errors import ArtkitError


def write(path: Path, net: torch.nn.Module, opt: torch.optim.Optimizer, meta: dict[str, str]) -> None:
    """Save ``net``'s weights and ``opt``'s state (``net.*`` / ``opt.<param>.<name>``) atomically."""
    from safetensors.torch import save_file

    from artkit.core.files import atomic_path

    tensors = {f"net.{k}": v.detach().cpu().contiguous() for k, v in net.state_dict().items()}
    for pid, st in opt.state_dict()["state"].items():
        for k, v in st.items():
            v = (v if torch.is_tensor(v) else torch.tensor(float(v))).detach().cpu()
            tensors[f"opt.{pid}.{k}"] = v.reshape(1).contiguous() if v.dim() == 0 else v.contiguous()
    with atomic_path(path, force=True) as tmp:
        save_file(tensors, str(tmp), metadata=meta)


def read(path: Path) -> tuple[dict[str, str], dict[str, torch.Tensor]]:
    """The metadata and tensors of a checkpoint (safetensors; nothing is unpickled).

    Raises:
        ArtkitError: no such file, or not readable.
    """
    from safetensors import safe_open

    if not path.is_file():
        raise ArtkitError(f"no checkpoint '{path}' to resume from",
                          "train without --resume first (checkpoints are written every epoch)")
    try:
        with safe_open(str(path), framework="pt") as f:
            return dict(f.metadata() or {}), {k: f.get_tensor(k) for k in f.keys()}
    except Exception as exc:
        raise ArtkitError(f"checkpoint '{path}' cannot be read: {type(exc).__name__}: {exc}") from None


def net_state(tensors: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {k[4:]: v for k, v in tensors.items() if k.startswith("net.")}


def restore_optimizer(net: torch.nn.Module, tensors: dict[str, torch.Tensor], lr: float,
                      device) -> torch.optim.Optimizer:
    """An Adam optimiser over ``net`` with the saved state put back."""
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    state: dict[int, dict] = {}
    for k, v in tensors.items():
        if k.startswith("opt."):
            _, pid, name = k.split(".", 2)
            state.setdefault(int(pid), {})[name] = v.reshape(()) if name == "step" else v.to(device)
    if state:
        sd = opt.state_dict()
        sd["state"] = state
        opt.load_state_dict(sd)
    return opt


def training_output(output, *, resume: bool, force: bool, size: str, sizes: dict,
                    epochs: int) -> Path:
    """Check a training run's options and output; returns the ``.safetensors`` path.

    Raises:
        ArtkitError: unknown size, no epochs, or an output (or its ``.json``) that exists
            without ``force`` on a fresh run.
    """
    from artkit.core.files import check_output

    if size not in sizes:
        raise ArtkitError(f"unknown model size '{size}'", f"known: {', '.join(sizes)}")
    if epochs < 1:
        raise ArtkitError("--epochs must be at least 1")
    output = Path(output)
    if output.suffix != ".safetensors":
        output = output.with_name(output.name + ".safetensors")
    if not resume:
        check_output(output, force)
        check_output(output.with_suffix(".json"), force)
    return output
