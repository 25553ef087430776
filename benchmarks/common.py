"""What every benchmark shares: where the reference inputs are, and how figures are recorded.

Each benchmark prints its figures and records them with :func:`save_results` in
``benchmarks/results/<name>.json`` as tables; ``python benchmarks/report.py`` turns those files
into ``benchmarks/README.md``, so the figures people read cannot drift from the code that
measured them.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any, Sequence

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"


def data_dir(sub: str = "") -> Path | None:
    """``$ARTKIT_DATA/sub`` (the original systems' reference inputs), or ``None`` when unset or
    absent — benchmarks then skip the rows that need it and say so."""
    root = os.environ.get("ARTKIT_DATA")
    if not root:
        return None
    path = Path(root).expanduser() / sub
    return path if path.exists() else None


def fetch_debs(packages: Sequence[str], work: Path) -> Path:
    """Download Debian packages into ``work`` with ``apt-get download`` and unpack them all under
    ``work/root`` with ``dpkg-deb -x`` (no root needed); returns that root. Exits with one line
    when apt-get or dpkg-deb is missing or a download fails."""
    import sys

    if shutil.which("apt-get") is None or shutil.which("dpkg-deb") is None:
        sys.exit("this needs apt-get and dpkg-deb (Debian or Ubuntu)")
    root = work / "root"
    root.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["apt-get", "download", *packages], cwd=work, capture_output=True, text=True)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no message"])[-1]
        sys.exit(f"apt-get download failed ({last}); run `apt-get update` or check the package names")
    for deb in sorted(work.glob("*.deb")):
        subprocess.run(["dpkg-deb", "-x", str(deb), str(root)], check=True)
    return root


def machine() -> dict[str, Any]:
    """The machine the figures were measured on."""
    import torch

    return {"cpus": os.cpu_count(), "torch_threads": torch.get_num_threads(),
            "platform": f"{platform.system()} {platform.machine()}",
            "python": platform.python_version(), "torch": torch.__version__,
            "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None}


def table(title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]],
          note: str = "") -> dict[str, Any]:
    """One table of figures (rows of values in the order of ``columns``)."""
    return {"title": title, "columns": list(columns), "rows": [list(r) for r in rows], "note": note}


def print_table(t: dict[str, Any]) -> None:
    """Print a table on stdout as aligned text."""
    cells = [t["columns"]] + [[_fmt(v) for v in r] for r in t["rows"]]
    widths = [max(len(str(r[i])) for r in cells) for i in range(len(t["columns"]))]
    print(f"\n{t['title']}")
    for r in cells:
        print("  ".join(str(v).ljust(w) for v, w in zip(r, widths)))
    if t.get("note"):
        print(t["note"])


def save_results(name: str, tables: list[dict[str, Any]], *, command: str,
                 notes: Sequence[str] = ()) -> Path:
    """Write ``benchmarks/results/<name>.json`` (and print every table)."""
    for t in tables:
        print_table(t)
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{name}.json"
    payload = {"benchmark": name, "command": command, "measured": time.strftime("%Y-%m-%d"),
               "machine": machine(), "tables": tables, "notes": list(notes)}
    path.write_text(json.dumps(payload, indent=1, default=str) + "\n")
    print(f"\nrecorded in {path.relative_to(HERE.parent)}; run `python benchmarks/report.py` "
          "to refresh benchmarks/README.md")
    return path


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    return "" if v is None else str(v)
