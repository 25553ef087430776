"""core.distributed in one process: a world of one, and the splits of work across ranks.

Its two-process behaviour (gloo on 127.0.0.1) — a small network trained on two ranks' shares
equals one process's, the bytes sent, all-reduce, gather_rows, all_gather_objects, broadcast,
a dead rank's one clear line — is checked in tests/test_torchrun.py, inside the one launch of
two processes that checks the commands too (each process start costs seconds here).
"""

from __future__ import annotations

import pytest
import torch

from artkit.core import distributed as D
from artkit.core.errors import ArtkitError


def test_one_process_is_world_of_one(monkeypatch):
    for k in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE"):
        monkeypatch.delenv(k, raising=False)
    w, dev = D.setup("cpu")
    assert w == D.World() and w.is_main and not w.distributed and dev.type == "cpu"
    assert D.shard([1, 2, 3]) == [1, 2, 3] and D.all_gather_objects({"a": 1}) == [{"a": 1}]
    net = torch.nn.Linear(2, 1)
    assert D.all_reduce_gradients(net) == 0
    monkeypatch.setenv("WORLD_SIZE", "two")
    with pytest.raises(ArtkitError, match="WORLD_SIZE='two' is not a number"):
        D.world()


def test_shards_and_batches_cover_everything_once():
    items = list(range(11))
    parts = [D.shard(items, D.World(r, 3)) for r in range(3)]
    assert sorted(sum(parts, [])) == items
    for epoch in range(2):
        per_rank = [D.batch_indices(10, 4, epoch, seed=7, w=D.World(r, 2)) for r in range(2)]
        one = D.batch_indices(10, 4, epoch, seed=7, w=D.World(0, 1))
        for b, (full, n) in enumerate(one):
            union = per_rank[0][b][0] + per_rank[1][b][0]
            assert sorted(union) == sorted(full) and per_rank[0][b][1] == n
    assert D.batch_indices(10, 4, 0, 7) != D.batch_indices(10, 4, 1, 7)
