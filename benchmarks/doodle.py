"""Doodle benchmark: speed, memory and quality of both engines on neural-doodle's headline example.

Monet + Monet_sem → Coastline_sem (512×384) from ``../shared/data/doodle``. Each run happens in
a child process so its peak RSS is its own. Prints, for the neural engine with the default
preset: wall time, time per phase, steps/s and peak RSS; the same figures per step for a plain
implementation of the same algorithm (NCHW, exact matching recomputed at every step) measured
in the same run, and the ratio; the patch engine's time and RSS; and for every output and the two
baselines, label fidelity and style distance (``artkit doodle evaluate``).

Usage: python benchmarks/doodle.py [--threads 2] [--plain-steps 6] [--out DIR]
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

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "doodle"


def child(args: argparse.Namespace) -> None:
    """Run one configuration and print a JSON line with its figures."""
    import torch

    from artkit.core.images import save_image
    from artkit.doodle import DoodleConfig, transfer
    from artkit.core.presets import load_preset

    torch.set_num_threads(args.threads)
    values = load_preset(args.preset, "doodle", DoodleConfig) if args.preset else {}
    values.update(json.loads(args.overrides))
    cfg = DoodleConfig(**{**DoodleConfig().__dict__, **values})
    t0 = time.perf_counter()
    r = transfer(DATA / "Monet.jpg", DATA / "Monet_sem.png", DATA / "Coastline_sem.png", config=cfg,
                 generator=torch.Generator().manual_seed(0), device="cpu")
    wall = time.perf_counter() - t0
    save_image(r.image, args.save, force=True)
    phases = [{"size": p.size, "steps": p.steps, "evaluations": p.evaluations,
               "seconds": round(p.seconds, 2), "match_seconds": round(p.match_seconds, 2),
               "final_loss": p.loss[-1] if p.loss else None} for p in r.phases]
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KB → MB
    print(json.dumps({"wall": wall, "phases": phases, "rss_mb": rss}))


def run(name: str, out: Path, threads: int, preset: str | None = None, **overrides) -> dict:
    save = out / f"{name}.png"
    cmd = [sys.executable, __file__, "--child", "--threads", str(threads), "--save", str(save),
           "--overrides", json.dumps(overrides)] + (["--preset", preset] if preset else [])
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"{name} failed:\n{proc.stderr[-2000:]}")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    result["path"] = str(save)
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--plain-steps", type=int, default=6,
                    help="finest-phase steps of the plain implementation to time (it is slow)")
    ap.add_argument("--out", type=Path, default=Path("benchmarks/out/doodle"))
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--save", default="", help=argparse.SUPPRESS)
    ap.add_argument("--preset", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--overrides", default="{}", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        return child(args)
    if not DATA.is_dir():
        raise SystemExit(f"reference data not found at {DATA}")
    args.out.mkdir(parents=True, exist_ok=True)
    print(f"doodle benchmark: Monet + Monet_sem -> Coastline_sem, 512x384, {args.threads} threads, CPU")

    neural = run("neural-default", args.out, args.threads, preset="default")
    print(f"\nneural engine, default preset: {neural['wall']:.1f} s wall, peak RSS {neural['rss_mb']:.0f} MB")
    for i, p in enumerate(neural["phases"], 1):
        sps = p["steps"] / max(p["seconds"], 1e-9)
        print(f"  phase {i} {p['size'][1]}x{p['size'][0]}: {p['steps']} steps, {p['evaluations']} evals, "
              f"{p['seconds']:.1f} s ({sps:.2f} steps/s; matching {p['match_seconds']:.1f} s), loss {p['final_loss']:.3f}")
    fine = neural["phases"][-1]
    fast_step = fine["seconds"] / max(fine["steps"], 1)

    # The plain algorithm: NCHW, fp32, exact matching recomputed at every step. Timed on a few
    # steps of the finest phase only (one phase at full size, started from the mean-colour image).
    plain = run("plain-steps", args.out, args.threads, phases=1, iterations=args.plain_steps,
                match_every=1, match_dims=0, init="mean", tolerance=0.0, channels_last=False)
    pp = plain["phases"][0]
    plain_step = pp["seconds"] / max(pp["steps"], 1)
    fast1 = run("fast-steps", args.out, args.threads, phases=1, iterations=args.plain_steps * 5,
                init="mean", tolerance=0.0)
    fp = fast1["phases"][0]
    fast_step1 = fp["seconds"] / max(fp["steps"], 1)
    print(f"\nper step at 512x384: plain {plain_step:.2f} s (exact matching every step, {pp['steps']} steps), "
          f"artkit {fast_step1:.2f} s ({fp['steps']} steps)  → {plain_step / fast_step1:.1f}x faster")
    print(f"  plain implementation, extrapolated to the default schedule: "
          f"~{plain_step * sum(p['steps'] * (p['size'][0] * p['size'][1]) / (384 * 512) for p in neural['phases']):.0f} s "
          f"vs {neural['wall']:.0f} s measured")

    classic = run("neural-classic", args.out, args.threads, preset="default", phases=3, init="mean")
    print(f"\nneural engine, original pipeline (3 phases from region mean colours): "
          f"{classic['wall']:.1f} s wall, peak RSS {classic['rss_mb']:.0f} MB")

    patch = run("patch", args.out, args.threads, engine="patch")
    print(f"\npatch engine: {patch['wall']:.1f} s wall, peak RSS {patch['rss_mb']:.0f} MB")

    from artkit.doodle.evaluate import evaluate_files

    print("\nquality (label fidelity ↑ / style distance ↓):")
    rows = {}
    for name, res in (("neural", neural), ("neural-classic", classic), ("patch", patch)):
        s = evaluate_files(res["path"], DATA / "Monet.jpg", DATA / "Monet_sem.png", DATA / "Coastline_sem.png")
        rows[name] = s["output"]
        rows.update(s["baselines"])
    for name, s in rows.items():
        print(f"  {name:14s} {s['label_fidelity']:.3f}   {s['style_distance']:.4f}")
    (args.out / "results.json").write_text(json.dumps(
        {"neural": neural, "classic": classic, "plain": plain, "fast_steps": fast1, "patch": patch,
         "quality": rows}, indent=2))
    print(f"\nimages and results.json in {args.out}")


if __name__ == "__main__":
    main()
