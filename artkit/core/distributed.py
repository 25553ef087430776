"""Several processes, GPUs or machines working as one, on ``torch.distributed``.

artkit never starts processes itself: ``torchrun`` does (``torchrun --nproc-per-node 2 -m artkit
colorize train photos/ -o m.safetensors``; ``--nnodes 2 --rdzv-endpoint host:port`` across
machines) and sets ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``, ``LOCAL_WORLD_SIZE``, ``MASTER_ADDR``
and ``MASTER_PORT``. Outside torchrun nothing changes: one process, world size 1, and every
function here is a no-op.

Under torchrun, :func:`setup` joins the process group (NCCL when each rank has a GPU, gloo on
CPUs) with a timeout, so a rank that dies makes the others stop with a clear error instead of
waiting forever; each rank takes its local GPU (``cuda:LOCAL_RANK``), or on CPUs
``cores / local world size`` threads. The helpers below are what data-parallel work needs:

* :func:`shard` — a deterministic split of a list (files, photos) across ranks;
* :func:`batch_indices` — the sample indices of one rank's share of each global batch, from a
  seeded permutation that every rank computes identically (no sampler state to keep);
* :func:`all_reduce_gradients` — sum the ranks' gradients, so that with a loss normalised by
  the *global* batch size every rank takes the same optimiser step as one process would;
* :func:`all_reduce`, :func:`gather_rows`, :func:`all_gather_objects` (JSON, never pickled),
  :func:`broadcast_object`, :func:`barrier`;
* :attr:`World.is_main` — rank 0 alone writes models, checkpoints, manifests and progress bars.
"""

from __future__ import annotations

import atexit
import datetime
import json
import os
import sys
from dataclasses import dataclass
from typing import Any, Sequence, TypeVar

import torch

from artkit.core.errors import ArtkitError
from artkit.core.runtime import resolve_device

T = TypeVar("T")
DEFAULT_TIMEOUT_S = 600.0


@dataclass(frozen=True)
class World:
    """Where this process stands among the processes of one job."""

    rank: int = 0
    size: int = 1
    local_rank: int = 0
    local_size: int = 1

    @property
    def is_main(self) -> bool:
        """Rank 0: the process that writes files and reports progress."""
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.size > 1


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value in (None, ""):
        return default
    try:
        return int(value)
    except ValueError:
        raise ArtkitError(f"environment variable {name}={value!r} is not a number",
                          "start artkit with torchrun, which sets it") from None


def world() -> World:
    """This process's place, read from torchrun's environment (world size 1 without it)."""
    size = _env_int("WORLD_SIZE", 1)
    rank = _env_int("RANK", 0)
    local_size = _env_int("LOCAL_WORLD_SIZE", size)
    local_rank = _env_int("LOCAL_RANK", rank)
    if size < 1 or not 0 <= rank < size or not 0 <= local_rank < max(local_size, 1):
        raise ArtkitError(f"inconsistent torchrun environment: RANK={rank}, WORLD_SIZE={size}, "
                          f"LOCAL_RANK={local_rank}, LOCAL_WORLD_SIZE={local_size}")
    return World(rank, size, local_rank, max(local_size, 1))


def active() -> World:
    """The world library code works in: torchrun's once :func:`setup` has joined the group,
    else one process (so a library call outside a torchrun command never shards)."""
    return world() if is_initialized() else World()


def share_of(n: int, w: World | None = None) -> list[int]:
    """The positions ``rank, rank + size, ...`` of a global batch of ``n`` rows that this rank
    computes (the same interleaving as :func:`shard` and :func:`batch_indices`)."""
    w = w or active()
    return list(range(w.rank, n, w.size))


def timeout_seconds() -> float:
    """How long a collective waits for the other ranks (``ARTKIT_DIST_TIMEOUT``, seconds)."""
    value = os.environ.get("ARTKIT_DIST_TIMEOUT")
    try:
        return float(value) if value else DEFAULT_TIMEOUT_S
    except ValueError:
        raise ArtkitError(f"ARTKIT_DIST_TIMEOUT={value!r} is not a number of seconds") from None


def is_initialized() -> bool:
    return torch.distributed.is_available() and torch.distributed.is_initialized()


def setup(device: str | torch.device | None = "auto") -> tuple[World, torch.device]:
    """Join the job's process group (under torchrun) and choose this rank's device.

    Args:
        device: the device asked for; under torchrun, ``"auto"`` and ``"cuda"`` mean this rank's
            local GPU, and on CPUs each rank gets ``cores / local world size`` threads.

    Returns:
        ``(world, device)``.

    Raises:
        ArtkitError: the group cannot be joined (the other ranks did not come in time).
    """
    w = world()
    if not w.distributed:
        return w, resolve_device(device)
    spec = str(device or "auto")
    use_cuda = torch.cuda.is_available() and spec in ("auto", "cuda")
    if use_cuda:
        dev = torch.device("cuda", w.local_rank % torch.cuda.device_count())
        torch.cuda.set_device(dev)
    else:
        dev = resolve_device("cpu" if spec in ("auto", "cuda") else spec)
        torch.set_num_threads(max(1, (os.cpu_count() or 1) // w.local_size))
    if not is_initialized():
        backend = "nccl" if dev.type == "cuda" else "gloo"
        try:
            torch.distributed.init_process_group(
                backend, rank=w.rank, world_size=w.size,
                timeout=datetime.timedelta(seconds=timeout_seconds()))
        except (RuntimeError, ValueError) as exc:
            raise ArtkitError(f"rank {w.rank} could not join the other {w.size - 1} process(es): "
                              f"{' '.join(str(exc).split())[:160]}",
                              "check MASTER_ADDR/MASTER_PORT and that every rank started") from None
    return w, dev


def teardown() -> None:
    """Leave the process group (at the end of a command)."""
    if is_initialized():
        torch.distributed.destroy_process_group()


def _end_hard_at_exit() -> None:
    """After a collective failed, the process group is broken: tearing it down at interpreter
    exit makes gloo's C++ threads abort the process (``terminate called``, exit status -6)
    instead of the error's exit 1. So the process ends at exit, after flushing its output,
    with status 1 and no teardown."""
    global _ENDING_HARD
    if not _ENDING_HARD:
        _ENDING_HARD = True

        def end() -> None:
            for stream in (sys.stdout, sys.stderr):
                try:
                    stream.flush()
                except (OSError, ValueError):
                    pass
            os._exit(1)

        atexit.register(end)


_ENDING_HARD = False


def _collective(what: str):
    """Turn a failed collective (a rank died, the timeout passed) into one clear line."""

    class _Guard:
        def __enter__(self):
            return self

        def __exit__(self, exc_type, exc, tb):
            if exc_type is not None and issubclass(exc_type, (RuntimeError, OSError)) \
                    and not issubclass(exc_type, ArtkitError):
                w = world()
                _end_hard_at_exit()
                raise ArtkitError(f"rank {w.rank}: {what} failed — another process stopped or did "
                                  f"not answer within {timeout_seconds():.0f} s "
                                  f"({' '.join(str(exc).split())[:120]})",
                                  "look at the first error of the other ranks") from None
            return False

    return _Guard()


def shard(items: Sequence[T], w: World | None = None) -> list[T]:
    """This rank's share of ``items``: every ``size``-th item from position ``rank``, so the
    split depends only on the list's order (sort it first) and the world size."""
    w = w or world()
    return list(items[w.rank::w.size])


def batch_indices(n: int, batch_size: int, epoch: int, seed: int,
                  w: World | None = None) -> list[tuple[list[int], int]]:
    """One epoch's batches for this rank, as ``(indices, global batch length)`` pairs.

    Every rank draws the same permutation of ``range(n)`` (seeded by ``seed`` and ``epoch``),
    cuts it into global batches of ``batch_size`` and takes its interleaved share of each, so
    the union over ranks of one global batch is exactly the batch one process would take.
    Normalise the loss by the global length and sum gradients with
    :func:`all_reduce_gradients`.
    """
    w = w or world()
    gen = torch.Generator().manual_seed(int(seed) * 1_000_003 + int(epoch))
    order = torch.randperm(n, generator=gen).tolist()
    out = []
    for start in range(0, n, batch_size):
        batch = order[start:start + batch_size]
        out.append((batch[w.rank::w.size], len(batch)))
    return out


def all_reduce(tensor: torch.Tensor, op: str = "sum") -> torch.Tensor:
    """Sum (or ``"max"``) ``tensor`` across ranks, in place; unchanged in one process."""
    if is_initialized() and torch.distributed.get_world_size() > 1:
        reduce_op = {"sum": torch.distributed.ReduceOp.SUM, "max": torch.distributed.ReduceOp.MAX}[op]
        with _collective("all-reduce"):
            torch.distributed.all_reduce(tensor, op=reduce_op)
    return tensor


def all_reduce_gradients(module: torch.nn.Module) -> int:
    """Sum every parameter's gradient across ranks (one flat buffer); returns the bytes sent
    per rank (0 in one process). Parameters without a gradient count as zero."""
    if not (is_initialized() and torch.distributed.get_world_size() > 1):
        return 0
    params = [p for p in module.parameters() if p.requires_grad]
    flat = torch.cat([(p.grad if p.grad is not None else torch.zeros_like(p)).reshape(-1)
                      for p in params])
    all_reduce(flat)
    offset = 0
    for p in params:
        n = p.numel()
        chunk = flat[offset:offset + n].view_as(p)
        if p.grad is None:
            p.grad = chunk.clone()
        else:
            p.grad.copy_(chunk)
        offset += n
    return flat.numel() * flat.element_size()


def _gather_bytes(data: bytes) -> list[bytes]:
    size = torch.distributed.get_world_size()
    n = torch.tensor([len(data)], dtype=torch.int64)
    sizes = [torch.zeros(1, dtype=torch.int64) for _ in range(size)]
    with _collective("gathering results"):
        torch.distributed.all_gather(sizes, n)
        longest = int(max(int(s) for s in sizes))
        buf = torch.zeros(longest, dtype=torch.uint8)
        buf[:len(data)] = torch.frombuffer(bytearray(data), dtype=torch.uint8) if data else buf[:0]
        parts = [torch.zeros(longest, dtype=torch.uint8) for _ in range(size)]
        torch.distributed.all_gather(parts, buf)
    return [p[:int(s)].numpy().tobytes() for p, s in zip(parts, sizes)]


def all_gather_objects(obj: Any) -> list[Any]:
    """Every rank's ``obj`` — JSON data: lists, dicts, numbers, strings — in rank order.

    Objects travel as JSON, never pickled, so nothing a peer sends can run code here.
    """
    if not (is_initialized() and torch.distributed.get_world_size() > 1):
        return [obj]
    return [json.loads(b.decode("utf-8")) for b in _gather_bytes(json.dumps(obj).encode("utf-8"))]


def broadcast_object(obj: Any) -> Any:
    """Rank 0's ``obj`` (JSON data) on every rank."""
    if not (is_initialized() and torch.distributed.get_world_size() > 1):
        return obj
    return all_gather_objects(obj if world().is_main else None)[0]


def gather_rows(tensor: torch.Tensor) -> list[torch.Tensor]:
    """Every rank's ``tensor`` (any number of rows, the same trailing shape and dtype), in rank
    order; ``[tensor]`` in one process."""
    if not (is_initialized() and torch.distributed.get_world_size() > 1):
        return [tensor]
    size = torch.distributed.get_world_size()
    rows = torch.tensor([tensor.shape[0]], dtype=torch.int64, device=tensor.device)
    counts = [torch.zeros_like(rows) for _ in range(size)]
    with _collective("gathering results"):
        torch.distributed.all_gather(counts, rows)
        longest = int(max(int(c) for c in counts))
        padded = torch.zeros((longest, *tensor.shape[1:]), dtype=tensor.dtype, device=tensor.device)
        padded[:tensor.shape[0]] = tensor
        parts = [torch.zeros_like(padded) for _ in range(size)]
        torch.distributed.all_gather(parts, padded)
    return [p[:int(c)] for p, c in zip(parts, counts)]


def barrier() -> None:
    """Wait until every rank gets here."""
    if is_initialized() and torch.distributed.get_world_size() > 1:
        with _collective("barrier"):
            torch.distributed.barrier()
