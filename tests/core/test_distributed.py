"""core.distributed on CPU with gloo on 127.0.0.1: two processes behave as one."""

from __future__ import annotations

import json
import subprocess
import textwrap
from pathlib import Path

import pytest
import torch
from ranks import launch

from artkit.core import distributed as D
from artkit.core.errors import ArtkitError


def run_ranks(code: str, tmp_path: Path, size: int = 2, timeout: float = 60.0,
              env: dict | None = None) -> list[subprocess.CompletedProcess]:
    """Run ``code`` in ``size`` processes with torchrun's environment, on 127.0.0.1."""
    script = tmp_path / "rank.py"
    script.write_text(textwrap.dedent(code))
    return launch([str(script)], size, tmp_path, timeout,
                  env={"ARTKIT_DIST_TIMEOUT": "20", "OUT": str(tmp_path), **(env or {})})


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


TRAIN = """
import json, os, torch
from artkit.core import distributed as D
w, dev = D.setup("cpu")
torch.set_num_threads(1)
gen = torch.Generator().manual_seed(0)
x, y = torch.randn(24, 5, generator=gen), torch.randn(24, 1, generator=gen)
net = torch.nn.Sequential(torch.nn.Linear(5, 8), torch.nn.Tanh(), torch.nn.Linear(8, 1))
net.load_state_dict({k: torch.full_like(v, 0.1) * (i + 1) for i, (k, v) in enumerate(net.state_dict().items())})
opt = torch.optim.Adam(net.parameters(), lr=0.05)
sent = 0
for epoch in range(3):
    for idx, n in D.batch_indices(24, 8, epoch, seed=3, w=w):
        opt.zero_grad()
        loss = ((net(x[idx]) - y[idx]) ** 2).sum() / n
        loss.backward()
        sent = D.all_reduce_gradients(net)
        opt.step()
stats = D.all_reduce(torch.tensor([float(w.rank + 1)], dtype=torch.float64))
rows = D.gather_rows(torch.full((w.rank + 1, 2), float(w.rank)))
gathered = D.all_gather_objects({"rank": w.rank})
bcast = D.broadcast_object("from-0" if w.is_main else "other")
if w.is_main:
    json.dump({"weights": [v.tolist() for v in net.state_dict().values()], "sent": sent,
               "stats": stats.item(), "rows": [r.tolist() for r in rows], "gathered": gathered,
               "bcast": bcast}, open(os.environ["OUT"] + f"/w{w.size}.json", "w"))
D.teardown()
"""


def test_two_processes_train_like_one(tmp_path):
    two = run_ranks(TRAIN, tmp_path, size=2)
    assert all(p.returncode == 0 for p in two), two[0].stderr[-800:] + two[1].stderr[-800:]
    one = run_ranks(TRAIN, tmp_path, size=1)
    assert one[0].returncode == 0, one[0].stderr[-800:]
    a = json.loads((tmp_path / "w2.json").read_text())
    b = json.loads((tmp_path / "w1.json").read_text())
    for wa, wb in zip(a["weights"], b["weights"]):
        assert torch.allclose(torch.tensor(wa), torch.tensor(wb), atol=1e-5)
    assert a["sent"] == 4 * (5 * 8 + 8 + 8 + 1) and a["stats"] == 3.0
    assert a["rows"] == [[[0.0, 0.0]], [[1.0, 1.0], [1.0, 1.0]]]
    assert a["gathered"] == [{"rank": 0}, {"rank": 1}] and a["bcast"] == "from-0"


DIES = """
import os, sys, torch
from artkit.core import distributed as D
from artkit.core.errors import ArtkitError
w, _ = D.setup("cpu")
if w.rank == 1:
    os._exit(3)
try:
    D.all_reduce(torch.ones(1))
    D.barrier()
except ArtkitError as exc:
    print(exc.one_line(), file=sys.stderr)
    sys.exit(1)
"""


def test_a_dead_rank_stops_the_others_with_a_clear_error(tmp_path):
    res = run_ranks(DIES, tmp_path, size=2, timeout=60)
    assert res[1].returncode == 3
    assert res[0].returncode == 1, res[0].stderr[-800:]
    assert "rank 0:" in res[0].stderr and "another process stopped" in res[0].stderr
