"""Devices, seeding and threads: explicit, never global state hidden in library code."""

from __future__ import annotations

import os
import re
from contextlib import contextmanager
from typing import Iterator

import torch

from artkit.core.errors import ArtkitError

_DEVICE_RE = re.compile(r"^(auto|cpu|mps|cuda(:\d+)?)$")


def resolve_device(spec: str | torch.device | None = "auto") -> torch.device:
    """Turn a device spec into a ``torch.device``.

    Args:
        spec: ``"auto"`` (CUDA when present, else CPU), ``"cpu"``, ``"cuda"``, ``"cuda:N"``,
            ``"mps"``, or a ``torch.device``.

    Raises:
        ArtkitError: the spec is malformed or names a device this machine lacks.
    """
    if isinstance(spec, torch.device):
        return spec
    spec = (spec or "auto").strip().lower()
    if not _DEVICE_RE.match(spec):
        raise ArtkitError(f"unknown device '{spec}'", "use auto, cpu, cuda or cuda:N")
    if spec == "auto":
        return torch.device("cuda") if torch.cuda.is_available() else torch.device("cpu")
    if spec.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ArtkitError(f"device '{spec}' asked for, but CUDA is not available here",
                              "use --device cpu or --device auto")
        index = int(spec.split(":")[1]) if ":" in spec else 0
        if index >= torch.cuda.device_count():
            raise ArtkitError(f"device '{spec}' does not exist: this machine has "
                              f"{torch.cuda.device_count()} CUDA device(s)")
    if spec == "mps" and not (getattr(torch.backends, "mps", None)
                              and torch.backends.mps.is_available()):
        raise ArtkitError("device 'mps' asked for, but it is not available here",
                          "use --device cpu")
    return torch.device(spec)


def make_generator(seed: int | None, device: torch.device | str = "cpu") -> torch.Generator:
    """A ``torch.Generator`` seeded with ``seed`` (a fresh random seed when ``None``).

    The generator is what library code draws randomness from, so that the same seed, inputs and
    device always give the same output.
    """
    device = torch.device(device)
    gen = torch.Generator(device=device if device.type != "mps" else "cpu")
    if seed is None:
        gen.seed()
    else:
        gen.manual_seed(int(seed))
    return gen


def default_generator(generator: torch.Generator | None, seed: int = 0) -> torch.Generator:
    """``generator``, or a CPU generator seeded with ``seed`` when it is ``None``.

    Library functions take ``generator=None`` and call this, so that a call without one is
    still reproducible and never touches torch's global random state.
    """
    return generator if generator is not None else make_generator(seed, "cpu")


def generator_seed(gen: torch.Generator | None) -> int | None:
    """The initial seed of ``gen`` (for manifests), or ``None``."""
    return None if gen is None else int(gen.initial_seed())


def set_threads(n: int | None = None) -> int:
    """Set torch's intra-op thread count (default: ``ARTKIT_THREADS`` or all cores)."""
    if n is None:
        env = os.environ.get("ARTKIT_THREADS")
        n = int(env) if env else (os.cpu_count() or 1)
    n = max(1, int(n))
    torch.set_num_threads(n)
    return n


@contextmanager
def threads(n: int) -> Iterator[None]:
    """Run the block with ``n`` intra-op threads, then restore the count.

    For work made of many small operations (elementwise passes over one image, optimiser
    bookkeeping, small LAPACK calls): each parallel operation waits for all its threads, and
    on a busy machine a second thread may not be scheduled for milliseconds — longer than the
    operation itself. Large operations (convolutions, big matrix products) keep every thread.
    """
    before = torch.get_num_threads()
    torch.set_num_threads(max(1, int(n)))
    try:
        yield
    finally:
        torch.set_num_threads(before)
