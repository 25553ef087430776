"""Launch a job's ranks as torchrun would (RANK, WORLD_SIZE, MASTER_ADDR on 127.0.0.1), for the
distributed tests: each rank a subprocess, a hung rank a test failure, not a stalled suite."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def free_port() -> int:
    return free_ports(1)[0]


def free_ports(n: int) -> list[int]:
    """``n`` distinct ports free on 127.0.0.1 (held open together while chosen)."""
    socks = [socket.socket() for _ in range(n)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def launch(argv: list[str], size: int, cwd: Path, timeout: float = 90.0,
           env: dict | None = None) -> list[subprocess.CompletedProcess]:
    """Run ``python argv...`` as ``size`` ranks of one job (what torchrun would do)."""
    port = free_port()
    procs = []
    for rank in range(size):
        e = {**os.environ, "RANK": str(rank), "WORLD_SIZE": str(size), "LOCAL_RANK": str(rank),
             "LOCAL_WORLD_SIZE": str(size), "MASTER_ADDR": "127.0.0.1",
             "MASTER_PORT": str(port), "ARTKIT_DIST_TIMEOUT": "30", "OMP_NUM_THREADS": "1",
             "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
             **(env or {})}
        if size == 1:  # one process: no torchrun at all
            for k in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE"):
                e.pop(k)
        procs.append(subprocess.Popen([sys.executable, *argv], env=e, cwd=cwd, text=True,
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE))
    out = []
    for p in procs:
        try:
            stdout, stderr = p.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            for q in procs:
                q.kill()
            pytest.fail(f"a rank of {argv} hung")
        out.append(subprocess.CompletedProcess(p.args, p.returncode, stdout, stderr))
    return out
