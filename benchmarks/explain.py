"""Benchmark ``artkit explain``: speed against a plain gradient / forward pass, and the paper's
evaluation (signal-estimator quality ρ, image degradation AOPC) on the Fashion-MNIST CNN and on
EfficientNet-Lite0.

    .venv/bin/python benchmarks/explain.py [--quick] [--photos DIR]

Needs the weights (`artkit weights fetch --all`) and, for the Fashion-MNIST part, the data set
(`artkit weights fetch fashion-mnist`). Prints a table per part and writes
benchmarks/out/explain.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import torch

from artkit.explain import attribute, fit_patterns
from artkit.explain.api import image_batches, load_patterns
from artkit.explain.evaluate import estimator_quality, image_degradation
from artkit.explain.graph import trace
from artkit.explain.models import load_model

METHODS = ["patternattribution", "patternnet", "gradient", "smoothgrad", "lrp_epsilon"]


def _time(fn, repeat: int) -> float:
    fn()  # warm up
    runs = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - t)
    return statistics.median(runs)


def speed(repeat: int) -> dict:
    ex = load_model("efficientnet-lite0")
    pats = load_patterns(ex)
    x = torch.rand(1, 3, 224, 224)
    graph = trace(ex.model, x)
    out = {}
    for method in ("gradient", "patternattribution", "patternnet", "lrp_epsilon"):
        out[method] = _time(lambda: attribute(ex.model, x, method, patterns=pats, graph=graph), repeat)
    out["pa_over_gradient"] = out["patternattribution"] / out["gradient"]
    batch = torch.rand(16, 3, 224, 224)
    with torch.no_grad():
        fwd = _time(lambda: ex.model(batch), max(1, repeat // 2))
    fit = _time(lambda: fit_patterns(ex.model, [batch]), max(1, repeat // 2))
    out.update({"forward_img_s": 16 / fwd, "fit_img_s": 16 / fit, "fit_over_forward": fwd / fit})
    print(f"\nspeed (EfficientNet-Lite0, 224², {torch.get_num_threads()} threads)")
    for m in ("gradient", "patternattribution", "patternnet", "lrp_epsilon"):
        print(f"  {m:<20} {out[m] * 1000:7.0f} ms / image")
    print(f"  PatternAttribution / gradient: {out['pa_over_gradient']:.2f}x (target <= 2)")
    print(f"  forward {out['forward_img_s']:.1f} img/s, fitting {out['fit_img_s']:.1f} img/s: "
          f"{out['fit_over_forward']:.2f}x forward throughput (target >= 0.5)")
    return out


def _print_eval(title: str, quality: dict, curves: dict) -> None:
    print(f"\n{title}")
    print(f"  {'layer':<28}" + "".join(f"{k:>8}" for k in ("S_w", "S_a", "S_a+-", "random")))
    for layer, q in quality.items():
        print(f"  {layer:<28}" + "".join(f"{q[k]:8.3f}" for k in ("S_w", "S_a", "S_a+-", "random")))
    means = {k: statistics.mean(q[k] for q in quality.values()) for k in ("S_w", "S_a", "S_a+-", "random")}
    print(f"  {'mean':<28}" + "".join(f"{means[k]:8.3f}" for k in ("S_w", "S_a", "S_a+-", "random")))
    for fill, cs in curves.items():
        ranked = sorted(cs.items(), key=lambda kv: -kv[1])
        print(f"  AOPC ({fill} fill): " + ", ".join(f"{m} {a:.3f}" for m, a in ranked))


def fashion(n_images: int, steps: int) -> dict:
    from artkit.explain.fashion import accuracy, load_split

    ex = load_model("fashion-cnn")
    xtr, _ = load_split("train")
    xte, yte = load_split("test")
    acc = accuracy(ex.model, xte, yte)
    t = time.perf_counter()
    pats = fit_patterns(ex.model, xtr[:10000].split(500), positions=None)
    fit_s = time.perf_counter() - t
    quality = estimator_quality(ex.model, xte[:2000].split(500), pats)
    curves = {}
    for fill in ("mean", "noise"):
        cs = image_degradation(ex.model, xte[:n_images], METHODS, pats, patch=4, steps=steps, fill=fill)
        curves[fill] = {c.method: c.aopc for c in cs}
    _print_eval(f"Fashion-MNIST CNN (test accuracy {acc:.4f}; patterns fitted on 10,000 train "
                f"images in {fit_s:.1f} s; ρ on test rows; degradation on {n_images} test images, "
                f"4 px patches, {steps} steps)", quality, curves)
    return {"test_accuracy": acc, "fit_seconds": fit_s, "quality": quality, "aopc": curves}


def efficientnet(photos: Path, n_images: int, steps: int, fills=("mean", "noise"), neurons: int = 8) -> dict:
    ex = load_model("efficientnet-lite0")
    batches = image_batches(ex, photos, crops=12, seed=0)
    flat = torch.cat(batches)
    half = len(flat) // 2
    pats = fit_patterns(ex.model, flat[:half].split(16))
    quality = estimator_quality(ex.model, flat[half:].split(16), pats, rows=3000, neurons=neurons)
    curves = {}
    test = flat[half:half + n_images]
    for fill in fills:
        cs = image_degradation(ex.model, test, METHODS, pats, patch=9, steps=steps, fill=fill)
        curves[fill] = {c.method: c.aopc for c in cs}
    _print_eval(f"EfficientNet-Lite0 ({len(flat)} crops of {photos}; patterns fitted on half, "
                f"judged on the other half; degradation on {len(test)} crops, 9 px patches, "
                f"{steps} steps)", quality, curves)
    return {"crops": len(flat), "quality": quality, "aopc": curves}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer images and repeats")
    ap.add_argument("--photos", type=Path, default=None, help="folder of photos for EfficientNet")
    ap.add_argument("--skip", nargs="*", default=[], help="parts to skip: speed fashion efficientnet")
    args = ap.parse_args()
    results = {}
    if "speed" not in args.skip:
        results["speed"] = speed(3 if args.quick else 7)
    if "fashion" not in args.skip:
        results["fashion"] = fashion(16 if args.quick else 64, 20)
    if "efficientnet" not in args.skip and args.photos:
        if args.quick:
            results["efficientnet"] = efficientnet(args.photos, 4, 30, ("mean",), 4)
        else:
            results["efficientnet"] = efficientnet(args.photos, 12, 50)
    out = Path(__file__).parent / "out" / "explain.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    print(f"\nwrote {out}")


if __name__ == "__main__":
    main()
