"""Scaling out on torch.distributed: 1 process against N on this machine, and what crosses
the wire.

Throughput: every training command (and explain's pattern fitting) run as a user runs it —
``python -m artkit ...`` for one process, ``torchrun --nproc-per-node N -m artkit ...`` for N —
on the same inputs and settings; wall time of the whole command (start-up, loading and
writing included) and the CPU time of all its processes, the throughput in the command's own
unit, and the speed-up against one process measured in the same run. On a 2-core machine two
processes are the ceiling, and each process then gets one thread (``core.distributed.setup``),
where one process alone had two: the speed-up says how much of the work the split parallelises
better than intra-op threads do.

The whole command includes what every process repeats — the interpreter, imports, loading the
photos, corpus and networks, joining the group — which on two cores is paid twice over;
colorize also reports its training loop's own rate (images/s between the first and the last
step), the part the split actually parallelises.

Communication: the bytes each rank sends per optimiser step (one all-reduce of the float32
gradients of the trained parameters — ``core.distributed.all_reduce_gradients`` returns it),
per pattern fit (one all-reduce of float64 sums) and per classify run (the gathered feature
rows), computed from the default-size models; ``docs/scale.md`` turns them into the cost of a
multi-GPU or multi-node step.

Usage:
    python benchmarks/scale.py [--procs 2] [--only colorize,jazz,biaxial,classify,explain]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import data_dir, save_results, table  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


def _photos(folder: Path, n: int, seed: int, side: int = 256) -> Path:
    """``n`` colour photos: the reference paintings/photos when ``$ARTKIT_DATA`` has them,
    else smooth random colour fields (training speed does not depend on the content)."""
    folder.mkdir(parents=True, exist_ok=True)
    ref = data_dir("doodle")
    srcs = sorted(p for p in ref.rglob("*.jpg")) if ref else []
    rng = np.random.default_rng(seed)
    for i in range(n):
        if srcs:
            img = Image.open(srcs[i % len(srcs)]).convert("RGB")
            img = img.resize((side, side * img.height // img.width))
            if i >= len(srcs):  # another copy: mirrored and shifted in colour, other bytes
                arr = np.asarray(img).astype(int)[:, ::-1] + rng.integers(-8, 8, 3)
                img = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))
        else:
            small = rng.integers(0, 255, (8, 8, 3)).astype(np.uint8)
            img = Image.fromarray(small).resize((side, side), Image.Resampling.BICUBIC)
        img.save(folder / f"p{i:03d}.png")
    return folder


def _labelled(folder: Path, n: int, seed: int) -> Path:
    """Two labels of ``n`` photos each, new bytes every run (the feature cache misses)."""
    rng = np.random.default_rng(seed)
    for label, tint in (("warm", (60, 0, -40)), ("cool", (-40, 0, 60))):
        sub = folder / label
        sub.mkdir(parents=True, exist_ok=True)
        for i in range(n):
            base = rng.integers(40, 200, (8, 8, 3)) + np.array(tint)
            img = Image.fromarray(np.clip(base, 0, 255).astype(np.uint8)).resize((224, 224))
            img.save(sub / f"{label}{i:03d}.png")
    return folder


def _run(argv: list[str], procs: int, cwd: Path) -> tuple[float, float, str]:
    """Wall and CPU seconds (all processes) of ``artkit argv`` on ``procs`` processes."""
    if procs == 1:
        cmd = [sys.executable, "-m", "artkit", *argv]
    else:
        cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", str(procs),
               "-m", "artkit", *argv]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    env.pop("OMP_NUM_THREADS", None)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    res = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if res.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed:\n{res.stderr[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, res.stderr


def _bytes_per_step() -> list[list]:
    """What one rank sends per step / per run, from the default-size models."""
    import torch

    from artkit.color.model import ColorModel, ColorModelConfig
    from artkit.music.biaxial import SIZES as BIAXIAL_SIZES, BiaxialConfig, BiaxialLSTM
    from artkit.music.model import SIZES as JAZZ_SIZES, JazzConfig, JazzLSTM

    def grads(module: torch.nn.Module) -> int:
        return sum(p.numel() * 4 for p in module.parameters() if p.requires_grad)

    color = ColorModel(ColorModelConfig(), pretrained=False)
    rows = [["colorize train (decoder, efficientnet-lite0 taps)", "per step",
             grads(color.decoder)]]
    rows.append(["music train jazz (default, vocabulary 80)", "per step",
                 grads(JazzLSTM(JazzConfig(80, **JAZZ_SIZES["default"])))])
    rows.append(["music train --model biaxial (default)", "per step",
                 grads(BiaxialLSTM(BiaxialConfig(**BIAXIAL_SIZES["default"])))])
    rows.append(["music train --model biaxial (original)", "per step",
                 grads(BiaxialLSTM(BiaxialConfig(**BIAXIAL_SIZES["original"])))])
    rows.append(["classify train (features gathered)", "per image", 1280 * 4])
    return rows


def _explain_bytes() -> int:
    """The float64 sums of every layer of EfficientNet-Lite0 (relu estimator): one all-reduce."""
    import torch

    from artkit.explain.graph import trace
    from artkit.explain.patterns import grouped_weight
    from artkit.nets import load_efficientnet

    net = load_efficientnet("cpu").eval()
    graph = trace(net, torch.zeros(1, 3, 224, 224))
    total = 0
    for info in graph.layers:
        g, dg, kg = grouped_weight(info.module).shape
        total += 1 + g * dg + g * kg + 3 * g * dg * kg + 2 * g * kg
    return total * 8


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--procs", type=int, default=2)
    ap.add_argument("--only", default="colorize,jazz,biaxial,classify,explain")
    args = ap.parse_args()
    only = set(args.only.split(","))
    load = [os.getloadavg()[0]]
    work = Path(tempfile.mkdtemp(prefix="artkit-scale-"))
    rows, notes = [], []
    try:
        photos = _photos(work / "photos", 24, seed=0)
        cases = {
            "colorize": (["colorize", "train", str(photos), "--epochs", "1", "--size", "96",
                          "--batch", "16", "--crops", "4", "--device", "cpu"], 24 * 4, "crops"),
            "jazz": (["music", "train", "corpus:chorales:40", "--epochs", "3", "--device", "cpu"],
                     None, "epochs"),
            "biaxial": (["music", "train", "corpus:chorales:12", "--model", "biaxial",
                         "--epochs", "1", "--device", "cpu"], None, "epochs"),
            "classify": (None, 2 * 24, "images"),
            "explain": (["explain", "fit", "--data", str(photos), "--crops", "2",
                         "--device", "cpu"], 24 * 2, "inputs"),
        }
        for name, (argv, amount, unit) in cases.items():
            if name not in only:
                continue
            walls = {}
            for procs in (1, args.procs):
                out = work / f"{name}-{procs}"
                out.mkdir()
                if name == "classify":
                    data = _labelled(out / "data", 24, seed=procs)
                    run_argv = ["classify", "train", str(data), "-o", "m.safetensors",
                                "--folds", "3", "--device", "cpu"]
                else:
                    run_argv = argv + ["-o", "m.safetensors"]
                load.append(os.getloadavg()[0])
                wall, cpu, _ = _run(run_argv, procs, out)
                walls[procs] = wall
                n = amount if amount else int(run_argv[run_argv.index("--epochs") + 1])
                loop = None  # colorize reports its training loop's own rate in the manifest
                if name == "colorize":
                    extra = json.loads((out / "m.json").read_text())["extra"]
                    loop = round(float(extra["images_per_second"]), 1)
                rows.append([name, procs, round(wall, 1), round(cpu, 1), round(n / wall, 2),
                             unit + "/s", round(walls[1] / wall, 2), loop])
                print(rows[-1], flush=True)
        load.append(os.getloadavg()[0])
        comm = _bytes_per_step()
        comm.append(["explain fit (efficientnet-lite0, relu sums)", "per fit", _explain_bytes()])
        comm = [[what, when, b, round(b / 2 ** 20, 2)] for what, when, b in comm]
    finally:
        shutil.rmtree(work, ignore_errors=True)
    notes.append(f"1-minute load average during the run: {min(load):.1f}–{max(load):.1f} on "
                 f"{os.cpu_count()} cores, shared with other jobs")
    tables = [
        table(f"1 process against {args.procs} on this machine (wall: the whole command)",
              ["command", "processes", "wall s", "cpu s", "throughput", "unit",
               "speed-up vs 1", "training loop img/s"], rows,
              "colorize: 24 photos × 4 crops at 96², batch 16; jazz: 40 chorales, 3 epochs; "
              "biaxial: 12 chorales, 1 epoch; classify: 48 new 224² images, 3 folds; explain: "
              "24 photos × 2 inputs, efficientnet-lite0"),
        table("What one rank sends", ["work", "when", "bytes", "MiB"], comm,
              "a ring all-reduce moves about 2·(N−1)/N times this per rank per step"),
    ]
    save_results("scale", tables, command="python benchmarks/scale.py", notes=notes)


if __name__ == "__main__":
    main()
