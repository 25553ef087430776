"""Thread control for chains of small tensor operations."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

import torch


@contextmanager
def one_thread(active: bool = True) -> Iterator[None]:
    """Run the block on one intra-op thread, then restore the count.

    Token-by-token sampling and note-by-note synthesis are long chains of small operations;
    several threads only wait for each other there — on a busy 2-core machine 2 threads were
    measured 10–20× slower than one.
    """
    if not active:
        yield
        return
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(n)
