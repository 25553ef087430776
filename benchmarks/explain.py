"""Benchmark ``artkit explain``: patterns fitted on thousands of crops judged against the shipped
ones (ρ per layer on disjoint photos), localisation on composites (energy pointing game and
pointing-game hits against random and centre-bias baselines) on EfficientNet-Lite0 and on an
``artkit classify`` model, the paper's degradation AOPC, speed, and the gallery figures.

    python benchmarks/explain.py --gather DIR --parts ""          # the photo sets, once
    python benchmarks/explain.py --photos DIR/fit --parts fit --crops 129 --new-patterns P
    python benchmarks/explain.py --parts localise --objects unseen --object-dir DIR/objects [--use-new]
    python benchmarks/explain.py --judge DIR/judge --parts rho --new-patterns P
        [--parts fit,rho,localise,speed,gallery,classify] [--composites 200] [--gallery-dir gallery/explain]

--gather DIR fetches Debian's wallpaper and photo packages (`apt-get download`, unpacked with
`dpkg-deb -x` into a temporary folder, no root needed) and writes the natural photos among them
(a fixed list: vector art, renders and gradients left out) into DIR/fit and DIR/judge, split by a
hash of the file name (one in five to judge: 39 and 12 photos), and five opencv-doc object photos
into DIR/objects (``artkit.explain.localise.UNSEEN_OBJECTS``: in no fitting set, neither the
shipped patterns' ten photos nor DIR/fit). Needs the EfficientNet-Lite0 weights. Figures are
recorded in benchmarks/results/explain.json.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import fetch_debs, save_results, table  # noqa: E402

from artkit.classify.api import head_pattern  # noqa: E402
from artkit.core.errors import ArtkitError  # noqa: E402
from artkit.classify.head import fit_logistic  # noqa: E402
from artkit.core.runtime import make_generator  # noqa: E402
from artkit.explain import Explainer, Patterns, attribute, fit_patterns, grid, trace  # noqa: E402
from artkit.explain.api import DEFAULT_METHODS, batched, image_inputs, random_crop  # noqa: E402
from artkit.explain.evaluate import ESTIMATOR_NAMES, estimator_quality, image_degradation  # noqa: E402
from artkit.explain.localise import (ObjectCrop, imagenet_objects, localisation,  # noqa: E402
                                     make_composites, unseen_objects)
from artkit.explain.models import classifier_patterns, load_model, shipped_dir  # noqa: E402
from artkit.nets.classifier import FeatureClassifier  # noqa: E402

METHODS = ("patternnet", "patternattribution", "gradient", "input_x_gradient", "smoothgrad",
           "lrp_epsilon")
GALLERY = ("astronaut", "chelsea", "coffee", "rocket", "hubble_deep_field", "immunohistochemistry",
           "retina", "grace_hopper")  # fixed order; the first six are drawn

# --gather: the Debian packages with photos, and which of their files are natural photos (a fixed
# list, chosen once by looking at every picture: vector art, renders, gradients and logos left out)
GATHER_DEBS = ("lomiri-wallpapers-16.04", "lomiri-wallpapers-20.04", "mate-backgrounds",
               "plasma-workspace-wallpapers", "palapeli-data", "opencv-doc", "sway-backgrounds",
               "gnome-backgrounds", "ukui-wallpapers")
WALL = "usr/share/backgrounds/"
OPENCV = "usr/share/doc/opencv-doc/examples/data/"
NATURAL = (
    *(WALL + f for f in (
        "Bridge_by_Sander_Klootwijk.jpg", "Dragonfly_by_Bolly.jpg", "Picture_0B_by_freespace.jpg",
        "Picture_1A_by_freespace.jpg", "Wine_by_Jakkub_Mede.jpg", "aitzgorri_by_Aitzol_Berasategi.jpg",
        "free_by_Peter_Nerlich.jpg", "friends_by_Aitzol_Berasategi.jpg", "greentock_by_Peter_Nerlich.jpg",
        "life_by_Aitzol_Berasategi.jpg", "picosdeeuropa_by_Aitzol_Berasategi.jpg",
        "seeding_by_Clements_Engelhardt.jpg", "sunset_by_Aitzol_Berasategi.jpg",
        "Infinite-Sea_by_Aury88.jpg", "Kleiber_by_Lukas_Baubkus.jpg")),
    *(WALL + "mate/nature/" + f + ".jpg" for f in (
        "Aqua", "Blinds", "Dune", "FreshFlower", "Garden", "GreenMeadow", "LadyBird", "RainDrops",
        "Storm", "TwoWings", "Wood", "YellowFlower")),
    *("usr/share/palapeli/collection/" + f + ".jpg" for f in (
        "castle-maintenon", "cincinnati-bridge", "citrus-fruits", "european-honey-bee",
        "panther-chameleon-female")),
    *("usr/share/wallpapers/" + f for f in (  # Plasma themes: the largest picture of each
        "BytheWater", "ColdRipple", "ColorfulCups", "DarkestHour", "EveningGlow", "FallenLeaf", "Grey",
        "Kite", "OneStandsOut", "Path", "summer_1am")),
    *(OPENCV + f for f in ("aero1.jpg", "aloeL.jpg", "basketball1.png", "board.jpg", "building.jpg",
                           "home.jpg", "leuvenA.jpg", "messi5.jpg")),
)
# the object photos of the unseen-object composites (artkit.explain.localise.UNSEEN_OBJECTS): in no
# fitting set, so they are kept out of NATURAL
OBJECT_FILES = {"baboon.jpg": OPENCV + "baboon.jpg", "butterfly.jpg": OPENCV + "butterfly.jpg",
                "orange.jpg": OPENCV + "orange.jpg", "squirrel.jpg": OPENCV + "squirrel_cls.jpg",
                "pekinese.png": OPENCV + "chicky_512.png"}


def _theme_picture(theme: Path) -> Path:
    """The largest picture (by its WxH file name) of a Plasma wallpaper theme."""
    def pixels(p: Path) -> int:
        m = re.match(r"(\d+)x(\d+)", p.stem)
        return int(m[1]) * int(m[2]) if m else 0

    return max((theme / "contents" / "images").iterdir(), key=pixels)


def gather(folder: Path) -> dict[str, int]:
    """DIR/fit and DIR/judge (the natural photos, split by a hash of their name: one in five to
    judge) and DIR/objects, from the Debian packages; the files are copied unchanged."""
    subs = {k: folder / k for k in ("fit", "judge", "objects")}
    for sub in subs.values():
        sub.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        root = fetch_debs(GATHER_DEBS, Path(tmp))
        for rel in NATURAL:
            src = root / rel
            if rel.startswith("usr/share/wallpapers/"):
                src = _theme_picture(src)
                name = f"plasma-{Path(rel).name}{src.suffix}"
            else:
                name = Path(rel).name
            judge = hashlib.sha256(name.encode()).digest()[0] % 5 == 0
            shutil.copyfile(src, subs["judge" if judge else "fit"] / name)
        for name, rel in OBJECT_FILES.items():
            shutil.copyfile(root / rel, subs["objects"] / name)
    return {k: len(list(v.iterdir())) for k, v in subs.items()}


def _cpu() -> float:
    t = os.times()
    return t.user + t.system


def fit_part(ex, photos: Path, crops: int, out: Path) -> tuple[Patterns, dict]:
    t0, c0 = time.perf_counter(), _cpu()
    gen = make_generator(0)
    n = [0]

    def inputs():
        for x in image_inputs(ex, photos, crops=crops, generator=gen):
            n[0] += 1
            yield x

    pats = fit_patterns(ex.model, batched(inputs(), 32), "relu", positions=256, generator=gen)
    pats.meta.update({"model": "efficientnet-lite0", "data": "natural photos from Debian packages "
                      "(lomiri/mate/plasma wallpapers, palapeli-data, opencv-doc): "
                      "benchmarks/explain.py --gather, DIR/fit", "photos": len(list(photos.glob("*"))), "crops": n[0],
                      "crop": "35-100 % of each side, mirrored half of the time",
                      "estimator": "relu", "positions": 256})
    pats.compact().save(out, force=True, dtype="int8")
    return Patterns.load(out), {"inputs": n[0], "seconds": time.perf_counter() - t0,
                                "cpu_seconds": _cpu() - c0}


def rho_part(ex, judge: Path, old: Patterns, new: Patterns) -> list[dict]:
    held = torch.stack(list(image_inputs(ex, judge, crops=8, generator=make_generator(1))))
    out = []
    for name, pats in (("shipped before", old), ("fitted on crops", new)):
        q = estimator_quality(ex.model, held.split(16), pats, rows=3000, neurons=8, seed=0)
        out.append({"patterns": name, "per_layer": q, "inputs": len(held),
                    "mean": {k: statistics.mean(v[k] for v in q.values()) for k in ESTIMATOR_NAMES}})
    return out


def localise_part(model, patterns, objects, backgrounds, n: int, seed: int, methods) -> list:
    comps = make_composites(objects, backgrounds, model, n, generator=make_generator(seed))
    graph = trace(model, comps[0].x[None])
    gen = make_generator(seed)

    def explain_fn(x, t, m):
        return attribute(model, x, m, target=t, patterns=patterns, graph=graph, generator=gen)[0]

    return comps, localisation(explain_fn, comps, methods)


def classify_model(ex, objects):
    """A 3-class ``artkit classify`` head (cat / espresso / rocket) trained on random crops of the
    object pictures, as one network with its patterns."""
    gen = make_generator(5)
    xs, ys = [], []
    for k, obj in enumerate(objects):
        for _ in range(24):
            xs.append(ex.preprocess(random_crop(obj.image, gen))[0])
            ys.append(k)
    x = torch.stack(xs)
    with torch.no_grad():
        feats = torch.cat([ex.model.features(b) for b in x.split(16)])
    head = fit_logistic(feats, np.array(ys), len(objects), C=1.0)
    net = FeatureClassifier(ex.model, head.weight, head.bias, head.mean, head.scale).eval()
    return net, classifier_patterns(net, head_pattern(head, feats))


def speed_part(ex, repeat: int = 3) -> list[list]:
    model, pats = ex.explainable.model, ex.patterns
    x = torch.rand(1, 3, 224, 224)
    graph = trace(model, x)
    rows = []
    for m in METHODS:
        attribute(model, x, m, patterns=pats, graph=graph)  # warm up
        runs, cpus = [], []
        for _ in range(repeat):
            t, c = time.perf_counter(), _cpu()
            attribute(model, x, m, patterns=pats, graph=graph)
            runs.append(time.perf_counter() - t)
            cpus.append(_cpu() - c)
        rows.append([m, statistics.median(runs) * 1000, statistics.median(cpus) * 1000])
    base = rows[[r[0] for r in rows].index("gradient")][1]
    return [r + [r[1] / base] for r in rows]


def gallery_part(ex, folder: Path) -> list[str]:
    import skimage.data

    folder.mkdir(parents=True, exist_ok=True)
    done = []
    for name in GALLERY[:6]:
        photo = Image.fromarray(getattr(skimage.data, name)()).convert("RGB")
        res = ex.explain(photo, methods=DEFAULT_METHODS)
        pic = grid(photo, res.maps, f"efficientnet-lite0: {res.label} ({res.score:.2f})")
        pic.save(folder / f"{name}-efficientnet.jpg", quality=90)
        done.append(f"gallery {name}: {res.label} ({res.score:.2f})")
    return done


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--gather", type=Path, metavar="DIR",
                    help="first write DIR/fit, DIR/judge and DIR/objects from Debian packages")
    ap.add_argument("--photos", type=Path, help="photos to fit patterns on (default: DIR/fit)")
    ap.add_argument("--judge", type=Path, help="disjoint photos to judge patterns on")
    ap.add_argument("--parts", default="fit,rho,gallery,localise,speed,classify")
    ap.add_argument("--crops", type=int, default=88, help="inputs per fitting photo")
    ap.add_argument("--composites", type=int, default=200)
    ap.add_argument("--objects", choices=("skimage", "unseen"), default="skimage",
                    help="localise: scikit-image's cat/coffee/rocket, or the unseen opencv-doc objects")
    ap.add_argument("--object-dir", type=Path, help="the unseen objects (default: DIR/objects of --gather)")
    ap.add_argument("--classify-composites", type=int, default=0, help="(default: --composites)")
    ap.add_argument("--degrade-images", type=int, default=12)
    ap.add_argument("--loc-methods", default=",".join(METHODS), help="methods for localisation")
    ap.add_argument("--new-patterns", type=Path, default=Path("/tmp/efficientnet-lite0.patterns.safetensors"))
    ap.add_argument("--force", action="store_true", help="with --gather: write over DIR's photos")
    ap.add_argument("--note", action="append", default=[], help="a note to record with the figures")
    ap.add_argument("--use-new", action="store_true", help="measure with --new-patterns (without rho)")
    ap.add_argument("--gallery-dir", type=Path, default=Path(__file__).resolve().parents[1] / "gallery" / "explain")
    args = ap.parse_args()
    if args.gather:
        if any((args.gather / k).exists() for k in ("fit", "judge", "objects")) and not args.force:
            sys.exit(f"{args.gather} already holds gathered photos; pass --force to write them again")
        counts = gather(args.gather)
        print("gathered " + ", ".join(f"{n} photos in {args.gather / k}" for k, n in counts.items()))
        args.photos = args.photos or args.gather / "fit"
        args.judge = args.judge or args.gather / "judge"
        args.object_dir = args.object_dir or args.gather / "objects"
    parts = {p for p in args.parts.split(",") if p}
    if not parts:
        return
    if "fit" in parts and args.photos is None:
        sys.exit("--parts fit needs photos: pass --photos FIT_DIR or --gather DIR")
    if "localise" in parts and args.objects == "unseen" and args.object_dir is None:
        sys.exit("--objects unseen needs the object photos: pass --object-dir DIR/objects or --gather DIR")
    if "rho" in parts and args.judge is None:
        sys.exit("--parts rho needs judging photos: pass --judge JUDGE_DIR or --gather DIR")
    loc_methods = args.loc_methods.split(",")
    torch.set_num_threads(int(os.environ.get("ARTKIT_THREADS", "2")))
    ex = load_model("efficientnet-lite0")
    old = Patterns.load(shipped_dir() / "efficientnet-lite0.patterns.safetensors")
    tables, notes = [], [f"load average at start: {os.getloadavg()[0]:.1f}", *args.note]
    command = "python benchmarks/explain.py " + " ".join(sys.argv[1:])

    def record():  # after every part, so a long run keeps what it has measured
        save_results("explain", tables, command=command,
                     notes=notes + [f"load average now: {os.getloadavg()[0]:.1f}"])

    new = None
    if "fit" in parts:
        new, info = fit_part(ex, args.photos, args.crops, args.new_patterns)
        record()
        notes.append(f"patterns fitted on {info['inputs']} crops of {len(list(args.photos.glob('*')))} "
                     f"photos in {info['seconds']:.0f} s wall, {info['cpu_seconds']:.0f} s CPU; "
                     f"written to {args.new_patterns}")
    elif args.new_patterns.is_file():
        new = Patterns.load(args.new_patterns)
    if "rho" in parts and new is not None:
        rho = rho_part(ex, args.judge, old, new)
        tables.append(table(f"signal-estimator quality ρ on {rho[0]['inputs']} crops of "
                            f"{len(list(args.judge.glob('*')))} judging photos (mean over 50 layers)",
                            ["patterns", *ESTIMATOR_NAMES],
                            [[r["patterns"], *[r["mean"][k] for k in ESTIMATOR_NAMES]] for r in rho]))
        layers = list(rho[0]["per_layer"])
        tables.append(table("ρ of the pattern PatternNet uses (a₊ after a ReLU, else a), per layer: shipped before vs fitted on crops",
                            ["layer", "before", "after"],
                            [[l, rho[0]["per_layer"][l]["S_a"], rho[1]["per_layer"][l]["S_a"]]
                             for l in layers]))
        record()
    pats = old
    if "rho" in parts and new is not None and rho[1]["mean"]["S_a"] > rho[0]["mean"]["S_a"]:
        pats = new  # the better patterns are the ones measured (and shipped) from here on
        notes.append("the patterns fitted on crops have the higher ρ: localisation, speed and "
                     "gallery use them")
    elif "rho" not in parts and args.new_patterns.is_file() and args.use_new:
        pats = Patterns.load(args.new_patterns)
    pattern_name = "shipped" if pats is old else f"new ({args.new_patterns})"
    notes.append(f"patterns measured: {pattern_name}")
    ex = Explainer(ex, patterns=pats)
    if "gallery" in parts:
        notes += gallery_part(ex, args.gallery_dir)
        record()
    objects, backgrounds = imagenet_objects()
    if "localise" in parts:
        loc_objects, what = objects, "objects from scikit-image"
        if args.objects == "unseen":
            try:
                loc_objects = unseen_objects(args.object_dir)
            except ArtkitError as err:
                sys.exit(err.one_line())
            what = "opencv-doc objects no pattern set was fitted on,"
        comps, scores = localise_part(ex.explainable.model, pats, loc_objects, backgrounds,
                                      args.composites, 0, loc_methods)
        tables.append(table(f"localisation, EfficientNet-Lite0, {pattern_name} patterns: {len(comps)} "
                            f"composites ({what} on scikit-image's textures), seed 0",
                            ["method", "energy in box", "pointing hits"],
                            [[s.method, s.energy, s.hits] for s in scores]))
        record()
    if "speed" in parts:
        tables.append(table(f"speed, EfficientNet-Lite0 at 224², one image, {torch.get_num_threads()} "
                            "threads (median of 3)", ["method", "ms wall", "ms CPU", "× gradient"],
                            speed_part(ex)))
        record()
    if "classify" in parts:
        net, cpats = classify_model(ex.explainable, objects)
        relabelled = [ObjectCrop(o.name, o.image, frozenset({k})) for k, o in enumerate(objects)]
        comps, scores = localise_part(net, cpats, relabelled, backgrounds,
                                      args.classify_composites or args.composites, 1, loc_methods)
        tables.append(table(f"localisation, a 3-class `artkit classify` head on EfficientNet-Lite0 "
                            f"features: {len(comps)} composites, seed 1",
                            ["method", "energy in box", "pointing hits"],
                            [[s.method, s.energy, s.hits] for s in scores]))
        held = torch.stack([c.x for c in comps[:args.degrade_images]])
        curves = image_degradation(net, held, loc_methods, cpats, patch=16, steps=30, fill="mean")
        tables.append(table(f"degradation AOPC on {len(held)} composites (16 px patches, mean fill, 30 steps; "
                            "higher is better)", ["method", "AOPC"],
                            [[c.method, c.aopc] for c in sorted(curves, key=lambda c: -c.aopc)]))
        record()
    record()


if __name__ == "__main__":
    main()
