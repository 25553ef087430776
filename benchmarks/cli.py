"""Start-up time of the command line: how long ``--help``, ``--version`` and ``weights list``
take, and where the time of an import goes.

Targets (issue "the first hour"): ``--help`` and ``--version`` of every command ≤ 0.5 s,
``weights list`` ≤ 1 s. Each figure is the median of several fresh processes (the OS file cache
warm, as for a user's second command). The import breakdown comes from ``python -X importtime``
and lists the heaviest top-level packages a command loads.

Usage: ``python benchmarks/cli.py [--repeat 5]``
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import save_results, table  # noqa: E402

COMMANDS = [
    ["--version"], ["--help"],
    ["doodle", "--help"], ["colorize", "--help"], ["story", "--help"], ["music", "--help"],
    ["explain", "--help"], ["classify", "--help"], ["weights", "--help"],
    ["music", "compose", "--help"], ["colorize", "train", "--help"],
    ["weights", "list"],
]
TARGET = {"weights list": 1.0}


def artkit_argv() -> list[str]:
    return [sys.executable, "-c", "import sys; from artkit.cli import main; sys.argv[0]='artkit'; main()"]


def timed(argv: list[str], repeat: int) -> tuple[float, int]:
    times, rc = [], 0
    for _ in range(repeat):
        t = time.perf_counter()
        rc = subprocess.run(artkit_argv() + argv, capture_output=True, env=os.environ).returncode
        times.append(time.perf_counter() - t)
    return statistics.median(times), rc


def import_breakdown(argv: list[str], top: int = 6) -> list[tuple[str, float]]:
    """The heaviest third-party packages a command imports (ms, cumulative, at the outermost
    import of each)."""
    res = subprocess.run([sys.executable, "-X", "importtime", "-c",
                          "import sys; from artkit.cli import main; sys.argv[0]='artkit'; main()",
                          *argv], capture_output=True, text=True)
    heavy: dict[str, float] = {}
    for line in res.stderr.splitlines():
        m = re.match(r"import time:\s+\d+ \|\s+(\d+) \|\s*(\S+)", line)
        if m:
            name = m.group(2).split(".")[0]
            if name not in ("artkit", "encodings", "site", "zipimport"):
                heavy[name] = max(heavy.get(name, 0.0), int(m.group(1)) / 1000.0)
    return sorted(heavy.items(), key=lambda kv: -kv[1])[:top]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    base, _ = timed([], 1)  # warm the file cache
    python_only = statistics.median(
        [_t([sys.executable, "-c", "pass"]) for _ in range(args.repeat)])
    rows = []
    for argv in COMMANDS:
        name = " ".join(argv)
        seconds, rc = timed(argv, args.repeat)
        target = TARGET.get(name, 0.5)
        heavy = ", ".join(f"{n} {ms:.0f} ms" for n, ms in import_breakdown(argv)[:3])
        rows.append([f"artkit {name}", round(seconds, 3), target,
                     "yes" if seconds <= target and rc == 0 else "NO", heavy])
    tables = [table("Start-up time (median of fresh processes)",
                    ["command", "seconds", "target", "met", "heaviest imports"], rows,
                    note=f"A bare `python -c pass` takes {python_only:.3f} s on this machine.")]
    save_results("cli", tables, command="python benchmarks/cli.py")


def _t(argv: list[str]) -> float:
    t = time.perf_counter()
    subprocess.run(argv, capture_output=True)
    return time.perf_counter() - t


if __name__ == "__main__":
    main()
