"""Regenerate ``benchmarks/README.md`` from the recorded figures in ``benchmarks/results/``.

Usage: ``python benchmarks/report.py`` (after running the benchmarks whose figures changed).
"""

from __future__ import annotations

import json
from pathlib import Path

HERE = Path(__file__).resolve().parent
INTRO = """# Benchmarks

Every capability has a benchmark here that prints its figures — speed, memory and quality —
beside the baselines, peers or hardware floors they are measured against in the same run. Each
records its tables in `results/<name>.json`; this page is generated from those files by
`python benchmarks/report.py`, so it shows exactly what the code last measured. Reference inputs
of the original systems are read from `$ARTKIT_DATA` (rows that need them are skipped without it).
"""


def _cell(v) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    return "" if v is None else str(v).replace("|", "\\|")


def render() -> str:
    parts = [INTRO]
    for path in sorted((HERE / "results").glob("*.json")):
        r = json.loads(path.read_text())
        m = r.get("machine", {})
        parts.append(f"## {r['benchmark']}\n\n`{r['command']}` — measured {r.get('measured')} on "
                     f"{m.get('cpus')} CPU(s), {m.get('platform')}, torch {m.get('torch')}"
                     + (f", {m['cuda']}" if m.get("cuda") else "") + ".\n")
        for t in r["tables"]:
            parts.append(f"**{t['title']}**\n")
            parts.append("| " + " | ".join(t["columns"]) + " |")
            parts.append("|" + " --- |" * len(t["columns"]))
            for row in t["rows"]:
                parts.append("| " + " | ".join(_cell(v) for v in row) + " |")
            parts.append(("\n" + t["note"] + "\n") if t.get("note") else "")
        for note in r.get("notes", []):
            parts.append(f"- {note}")
        parts.append("")
    return "\n".join(parts).rstrip() + "\n"


if __name__ == "__main__":
    (HERE / "README.md").write_text(render())
    print(f"wrote {HERE / 'README.md'}")
