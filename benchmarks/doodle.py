"""``artkit doodle``: speed against the hardware floor, print sizes, memory and quality.

Inputs: neural-doodle's headline example from ``$ARTKIT_DATA/doodle`` — Monet + Monet_sem →
Coastline_sem (512×384). Every run happens in a child process, so its peak RSS (and on CUDA its
peak GPU memory) is its own; wall time is printed beside CPU time and the load average, since
the machine may be shared.

Tables:

* **floor** — time per full-size L-BFGS step against the hardware floor, measured in the same
  child: an sgemm (2048³, best of 5, timed right before and right after the steps) gives the
  machine's FLOP rate; the floor of a step is the FLOPs the schedule needs (VGG forward + input
  backward at every objective evaluation, a forward at every re-matching) divided by that rate.
  Also the plain algorithm (NCHW, exact matching at every step) per step, for comparison.
* **paintings** — the default settings at 512×384, 1024×768 and 2048×1536 (the doodle scaled
  up), neural-doodle's original pipeline, the patch engine, and a Coastline doodle with
  anti-aliased seams between every pair of regions: wall and CPU time, peak RSS, tiles, label
  fidelity and style distance (``artkit doodle evaluate``), beside the two baselines.
* ``--device cuda`` (a prepared run for a machine with a GPU): the 512×384 and 2048×1536
  paintings on CUDA — time, peak GPU memory, quality against the CPU figures recorded in
  ``results/doodle.json``, and whether two runs give the same pixels — recorded in
  ``results/doodle-cuda.json``.
* ``--calibrate`` prints the bytes per pixel that :mod:`artkit.doodle.scale` budgets with.

Usage:
    python benchmarks/doodle.py [--threads 2] [--only floor,paintings] [--skip-large]
                                [--large 1024x768,2048x1536] [--runs neural-512,neural-aa]
    python benchmarks/doodle.py --device cuda
    python benchmarks/doodle.py --calibrate
Run it under ``flock /tmp/artkit-heavy.lock`` on a shared machine.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import data_dir, save_results, table  # noqa: E402

HERE = Path(__file__).resolve().parent
STYLE, STYLE_MAP, DOODLE = "Monet.jpg", "Monet_sem.png", "Coastline_sem.png"


# ----------------------------------------------------------------------------------- children


def sgemm_rate(n: int = 2048, repeats: int = 5) -> float:
    """FLOP/s of the best of ``repeats`` n×n×n float32 matmuls on the CPU."""
    import torch

    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b
    best = min(_timed(lambda: a @ b) for _ in range(repeats))
    return 2 * n ** 3 / best


def _timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def vgg_flops(vgg, layers: list[str], hw: tuple[int, int]) -> float:
    """FLOPs of one forward pass of ``vgg`` up to the deepest of ``layers`` on an (H, W)
    input (2 · C_in · C_out · 9 per output position of every 3×3 convolution)."""
    names = vgg.layer_names
    flops, cin, (h, w) = 0.0, 3, hw
    for name in names[:max(names.index(n) for n in layers) + 1]:
        if name.startswith("conv"):
            cout = vgg.out_channels(name)
            flops += 2.0 * cin * cout * 9 * h * w
            cin = cout
        elif name.startswith("pool"):
            h, w = h // 2, w // 2
    return flops


def child(spec: dict) -> dict:
    """One measured run (see :func:`run`); returns its figures."""
    import torch

    from artkit.core.images import save_image
    from artkit.doodle import DoodleConfig, Painter
    from artkit.doodle.config import layer_name

    torch.set_num_threads(spec["threads"])
    data = Path(spec["data"])
    cfg = DoodleConfig.build(spec.get("preset"), **spec.get("config", {}))
    doodle = spec.get("doodle") or str(data / DOODLE)
    painter = Painter(cfg.network if cfg.engine == "neural" else None, device=spec["device"])
    rate0 = sgemm_rate() if spec.get("floor") else None
    if spec["device"].startswith("cuda"):
        torch.cuda.reset_peak_memory_stats()
    t0, c0 = time.perf_counter(), time.process_time()
    r = painter.paint(data / STYLE, data / STYLE_MAP, doodle, size=spec.get("size"), config=cfg,
                      generator=torch.Generator().manual_seed(0))
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    rate1 = sgemm_rate() if spec.get("floor") else None
    vgg = painter.vgg(cfg.network) if cfg.engine == "neural" else None
    save_image(r.image, spec["save"], force=True)
    out = {"wall": wall, "cpu": cpu, "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
           "phases": [{"size": p.size, "steps": p.steps, "evaluations": p.evaluations,
                       "forward_flops": vgg_flops(vgg, [layer_name(n) for n in cfg.style_layers],
                                                  p.size) if vgg is not None else None,
                       "matchings": p.matchings, "seconds": p.seconds, "setup": p.setup_seconds,
                       "match_seconds": p.match_seconds, "tiles": p.tiles,
                       "final_loss": p.loss[-1] if p.loss else None} for p in r.phases],
           "tile": r.memory.tile if r.memory else 0, "notes": r.notes}
    if spec["device"].startswith("cuda"):
        out["gpu_mb"] = torch.cuda.max_memory_allocated() / 2**20
    if rate0:
        out["sgemm"] = (rate0 + rate1) / 2
    return out


def run(name: str, args, **spec) -> dict:
    """Run one configuration in a child process; returns its figures plus the image path."""
    save = args.out / f"{name}.png"
    spec = {"threads": args.threads, "device": args.device, "data": str(args.data),
            "save": str(save), **spec}
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, __file__, "--child", json.dumps(spec)],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        print(f"  {name} FAILED:\n{proc.stderr[-3000:]}", flush=True)
        return None
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    result.update(path=str(save), name=name, load=os.getloadavg()[0],
                  elapsed=time.perf_counter() - t0)
    print(f"  {name}: {result['wall']:.1f} s wall, {result['cpu']:.1f} s CPU, "
          f"{result['rss_mb']:.0f} MB peak RSS (load {result['load']:.1f})", flush=True)
    return result


# ----------------------------------------------------------------------------------- tables


def floor_table(args) -> tuple[dict, list[str]]:
    """Seconds per full-size step against the floor, at 512×384 and 1024×768."""
    rows, notes = [], []
    sizes = [(512, 384, 12), (1024, 768, 6)]

    def make() -> dict:
        return table("time per full-size step against the hardware floor",
                     ["size", "implementation", "steps", "evaluations/step", "s/step",
                      "floor s/step", "× floor", "sgemm GFLOP/s", "load"], rows)

    for w, h, steps in sizes:
        for kind, extra in (("artkit", {}),
                            ("plain", {"match_every": 1, "match_dims": 0, "channels_last": False})):
            if kind == "plain" and w > 512:
                continue
            n = steps if kind == "artkit" else 3
            r = run(f"steps-{kind}-{w}", args, size=[w, h], floor=True,
                    config={"init": "mean", "tolerance": 0.0, "iterations": n, **extra})
            if r is None:
                rows.append([f"{w}x{h}", kind, "failed", None, None, None, None, None, None])
                args.partial(make(), notes)
                continue
            p = r["phases"][0]
            per_step = (p["seconds"] - p["setup"]) / p["steps"]
            # no content photo: the passes stop at the deepest style layer
            flops = (p["evaluations"] * 2 + p["matchings"]) * p["forward_flops"] / p["steps"]
            floor = flops / r["sgemm"]
            rows.append([f"{w}x{h}", kind, p["steps"], round(p["evaluations"] / p["steps"], 2),
                         round(per_step, 2), round(floor, 2), round(per_step / floor, 2),
                         round(r["sgemm"] / 1e9, 1), round(r["load"], 1)])
            args.partial(make(), notes)
    notes.append("floor = (evaluations × (VGG forward + input backward) + re-matchings × forward) "
                 "FLOPs per step ÷ the sgemm rate measured in the same process")
    return make(), notes


def aa_doodle(args) -> Path:
    """Coastline_sem with anti-aliased seams between every pair of regions: drawn at 4× and
    box-filtered down, then every border pixel replaced by its two sides' midpoint colour."""
    import numpy as np
    from PIL import Image

    from artkit.doodle.maps import find_regions, map_rgb

    monet = find_regions(map_rgb(Image.open(args.data / STYLE_MAP)))
    clean = find_regions(map_rgb(Image.open(args.data / DOODLE)), monet.palette).labels
    pal = monet.palette.astype(np.float64)
    big = Image.fromarray(monet.palette[clean]).resize((2048, 1536), Image.Resampling.NEAREST)
    rgb = np.asarray(big.resize((512, 384), Image.Resampling.BOX)).astype(np.float64)
    edge = np.zeros(clean.shape, bool)
    edge[:, 1:] |= clean[:, 1:] != clean[:, :-1]
    rgb[edge] = (pal[clean[edge]] + pal[np.roll(clean, 1, 1)[edge]]) / 2  # e.g. #008080
    path = args.out / "coastline-aa-seams.png"
    Image.fromarray(np.round(rgb).astype(np.uint8)).save(path)
    return path


def tiled_budget(wh: tuple[int, int]) -> float:
    """A budget (GB) under what a whole-image run at ``wh`` needs, so that it must tile: the
    largest one whose plan cuts the image at least in two both ways (keeping the full L-BFGS
    history), else the largest that tiles at all. (A fixed share of the whole-image estimate
    does not work: the L-BFGS history does not shrink with the tiles, and at three quarters
    nothing fits.)"""
    from artkit.core.errors import ArtkitError
    from artkit.doodle import DoodleConfig
    from artkit.doodle.api import plan_run
    from artkit.doodle.scale import GB

    whole = plan_run(wh, (512, 384), DoodleConfig(memory=1000.0), "cpu")
    fallback = None
    for pct in range(99, 40, -1):
        gb = round(pct / 100 * whole.estimate / GB, 2)
        try:
            plan = plan_run(wh, (512, 384), DoodleConfig(memory=gb), "cpu")
        except ArtkitError:
            break
        if plan.tile and plan.history == whole.history:
            fallback = fallback or gb
            if plan.tile <= max(wh) // 2:  # 2x2 tiles or more at 4:3
                return gb
    if fallback is None:
        raise SystemExit(f"no memory budget makes a {wh[0]}x{wh[1]} painting tile")
    return fallback


def seam_note(tiled: dict, whole_path: Path) -> str:
    """How the tiled painting's pixels step across tile borders, against every other row and
    column (1.0 = no seam), beside the same measure on the whole-image painting."""
    import numpy as np
    from PIL import Image

    from artkit.doodle.scale import TilePlan

    plan = TilePlan(strides={}, halo=0, align=8, tile=tiled["tile"])  # the run's tile edges
    ratios = []
    for path in (tiled["path"], whole_path):
        img = np.asarray(Image.open(path)).astype(np.float64)
        h, w = img.shape[:2]
        step_y = np.abs(np.diff(img, axis=0)).mean(axis=(1, 2))  # (H-1,) row-to-row change
        step_x = np.abs(np.diff(img, axis=1)).mean(axis=(0, 2))
        ys = [start - 1 for start, _ in plan.spans(h)[1:]]  # step from row start-1 to start
        xs = [start - 1 for start, _ in plan.spans(w)[1:]]
        border = np.concatenate([step_y[ys], step_x[xs]]) if ys or xs else np.array([np.nan])
        ratios.append(border.mean() / np.concatenate([step_y, step_x]).mean())
    return (f"tile seams at 1024x768: pixel steps across the tiled run's tile borders are "
            f"{ratios[0]:.2f}x the average step (the whole-image run, same rows and columns: "
            f"{ratios[1]:.2f}x); 1.00 = no seam")


def paintings_table(args) -> tuple[dict, list[str]]:
    from artkit.doodle.evaluate import evaluate

    runs = [("neural, default, 512x384", "neural-512", {})]
    large = [] if args.skip_large else args.large.split(",")
    if "1024x768" in large:
        tight = tiled_budget((1024, 768))
        runs += [("neural, default, 1024x768", "neural-1024", {"size": [1024, 768]}),
                 (f"neural, 1024x768 in tiles (--memory {tight:.2f})", "neural-1024-tiled",
                  {"size": [1024, 768], "config": {"memory": tight}})]
    if "2048x1536" in large:
        runs.append(("neural, default, 2048x1536", "neural-2048", {"size": [2048, 1536]}))
    runs += [("neural, original pipeline (3 phases from flat colours)", "neural-classic",
              {"config": {"phases": 3, "init": "mean"}}),
             ("patch engine", "patch-512", {"config": {"engine": "patch"}}),
             ("neural, default, doodle with anti-aliased seams", "neural-aa",
              {"doodle": str(aa_doodle(args))})]
    if args.runs != "all":
        runs = [r for r in runs if r[1] in args.runs.split(",")]
    rows, notes, done = [], [], set()

    def make() -> dict:
        return table("paintings: Monet + Monet_sem → Coastline_sem (doodle scaled to the size)",
                     ["run", "size", "wall s", "CPU s", "peak RSS GB", "tiles",
                      "label fidelity ↑", "style distance ↓", "load"], rows)

    for label, name, spec in runs:
        r = run(name, args, **spec)
        size = spec.get("size") or [512, 384]
        if r is None:
            rows.append([label, f"{size[0]}x{size[1]}", "failed", None, None, None, None, None, None])
            args.partial(make(), notes)
            continue
        doodle = spec.get("doodle") or args.data / DOODLE
        ev = evaluate(r["path"], args.data / STYLE, args.data / STYLE_MAP, doodle)
        rows.append([label, f"{size[0]}x{size[1]}", round(r["wall"], 1), round(r["cpu"], 1),
                     round(r["rss_mb"] / 1024, 2), r["tile"] or "whole",
                     round(ev.output.label_fidelity, 3), round(ev.output.style_distance, 4),
                     round(r["load"], 1)])
        if name == "neural-512":
            for base, s in ev.baselines.items():
                rows.append([f"baseline: {base}", "512x384", None, None, None, None,
                             round(s.label_fidelity, 3), round(s.style_distance, 4), None])
        notes += [f"{name}: {n}" for n in r["notes"] if n.startswith("memory")]
        done.add(name)
        if name == "neural-1024-tiled" and "neural-1024" in done:  # the whole-image run, this run
            notes.append(seam_note(r, args.out / "neural-1024.png"))
        args.partial(make(), notes)
    notes.append("wall time grows with the machine's load (last column); CPU time is the "
                 "child's own (all threads): on an idle 2-core machine wall ≈ CPU / 2")
    return make(), notes


def cuda_tables(args) -> tuple[list[dict], list[str]]:
    """The prepared GPU run: 512×384 and 2048×1536 on CUDA, quality vs the CPU's recorded
    figures, and whether two runs give the same pixels."""
    import numpy as np
    from PIL import Image

    from artkit.doodle.evaluate import evaluate

    cpu_rows = {}
    recorded = HERE / "results" / "doodle.json"
    if recorded.is_file():
        for t in json.loads(recorded.read_text())["tables"]:
            if t["title"].startswith("paintings"):
                cpu_rows = {r[1]: r for r in t["rows"] if r[0].startswith("neural, default, ")
                            and "seams" not in r[0]}
    rows = []
    for w, h in ((512, 384), (2048, 1536)):
        a = run(f"cuda-{w}", args, size=[w, h])
        b = run(f"cuda-{w}-again", args, size=[w, h])
        if a is None or b is None:
            rows.append([f"{w}x{h}", "failed"] + [None] * 7)
            continue
        same = np.array_equal(np.asarray(Image.open(a["path"])), np.asarray(Image.open(b["path"])))
        ev = evaluate(a["path"], args.data / STYLE, args.data / STYLE_MAP, args.data / DOODLE)
        cpu = cpu_rows.get(f"{w}x{h}")
        rows.append([f"{w}x{h}", round(a["wall"], 1), round(a.get("gpu_mb", 0) / 1024, 2),
                     round(ev.output.label_fidelity, 3), round(ev.output.style_distance, 4),
                     None if cpu is None else cpu[6], None if cpu is None else cpu[7],
                     None if cpu is None else cpu[2], "yes" if same else "no"])
    return [table("CUDA: the default painting (Monet → Coastline)",
                  ["size", "wall s", "peak GPU GB", "label fidelity ↑", "style distance ↓",
                   "CPU fidelity", "CPU distance", "CPU wall s", "same pixels twice"], rows)], []


def calibrate(args) -> None:
    """Print bytes per pixel of the parts :mod:`artkit.doodle.scale` budgets for."""
    code = r"""
import json, resource, sys, torch
from artkit.doodle.scale import TilePlan, tiled_backward
from artkit.nets import load_vgg
torch.set_num_threads(2)
kind, h, w = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
vgg = load_vgg("vgg16-hed")
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
x = torch.rand(1, 3, h, w)
if kind == "backward":
    img = x.requires_grad_(True)
    plan = TilePlan.create(vgg.layer_names, ["relu3_1", "relu4_1", "relu4_2"])
    tiled_backward(vgg, img, ["relu3_1", "relu4_1", "relu4_2"], plan, lambda f, win: sum((v * v).sum() for v in f.values()))
elif kind == "forward":
    with torch.no_grad():
        vgg(x.contiguous(memory_format=torch.channels_last), ["relu3_1", "relu4_1"])
else:
    from artkit.doodle.patch import synthesize
    synthesize(torch.rand(1, 3, 384, 512), torch.zeros(384, 512, dtype=torch.long), torch.zeros(h, w, dtype=torch.long), 1, (h, w))
print(json.dumps((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base) * 1024))
"""
    for kind in ("backward", "forward", "patch"):
        got = []
        for h, w in ((384, 512), (768, 1024)):
            proc = subprocess.run([sys.executable, "-c", code, kind, str(h), str(w)],
                                  capture_output=True, text=True, check=True)
            got.append((h * w, json.loads(proc.stdout.strip().splitlines()[-1])))
        (p0, b0), (p1, b1) = got
        print(f"{kind}: {(b1 - b0) / (p1 - p0):.0f} bytes per pixel "
              f"({b0 / 2**20:.0f} MB at 512x384, {b1 / 2**20:.0f} MB at 1024x768)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--device", default="cpu", help="cpu (default) or cuda: the prepared GPU run")
    ap.add_argument("--only", default="floor,paintings", help="tables to measure")
    ap.add_argument("--skip-large", action="store_true", help="no 1024x768 / 2048x1536 runs")
    ap.add_argument("--large", default="1024x768,2048x1536",
                    help="the print sizes to paint (comma-separated; 2048x1536 takes tens of "
                         "minutes on two cores)")
    ap.add_argument("--runs", default="all",
                    help="paintings to run, by name: neural-512, neural-1024, neural-1024-tiled, "
                         "neural-2048, neural-classic, patch-512, neural-aa (default all)")
    ap.add_argument("--calibrate", action="store_true", help="print the memory model's bytes/pixel")
    ap.add_argument("--out", type=Path, default=Path("benchmarks/out/doodle"))
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(child(json.loads(args.child))))
        return
    args.data = data_dir("doodle")
    if args.calibrate:
        return calibrate(args)
    if args.data is None:
        raise SystemExit("set ARTKIT_DATA to a folder holding doodle/Monet.jpg, Monet_sem.png, "
                         "Coastline_sem.png (neural-doodle's example)")
    args.out.mkdir(parents=True, exist_ok=True)
    print(f"doodle benchmark on {args.device}, {args.threads} threads; load {os.getloadavg()[0]:.1f}")
    command = " ".join(["python benchmarks/doodle.py", *sys.argv[1:]])
    if args.device != "cpu":
        tables, notes = cuda_tables(args)
        save_results("doodle-cuda", tables, command=command, notes=notes)
        return
    tables, notes = [], []

    def partial(t: dict, n: list[str]) -> None:  # what is measured so far: a stopped run keeps it
        save_results("doodle", tables + [t], command=command + " (stopped before the end)",
                     notes=notes + n)

    args.partial = partial
    steps = {"floor": floor_table, "paintings": paintings_table}
    for name in args.only.split(","):  # in the order given
        t, n = steps[name](args)
        tables.append(t)
        notes += n
    save_results("doodle", tables, command=command, notes=notes)


if __name__ == "__main__":
    main()
