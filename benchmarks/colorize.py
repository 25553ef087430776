"""``artkit colorize`` on this machine: speed of every method, quality against two baselines, and
what ``--explain`` costs and finds.

Speed (median of ``--repeats`` after a warm-up; wall time and the CPU time of this process, all
threads — on a shared machine wall time grows with the load, CPU time does not):

* model: one 512×512 photo, end to end (chroma at the default render size, and at 512);
* training throughput: images/s at 128², batch 16 (crops, Lab, frozen backbone, decoder
  forward + backward, Adam step);
* hints: Levin et al. at 512×512, full resolution and at render 256 (40 strokes of the true
  colour);
* exemplar: one 512×512 photo from one reference;
* ``--explain``: what it adds per photo, as the command runs it (PatternNet's signal and LRP-ε's
  evidence for all the colour and each region, then the figure), on three held-out photos.

Quality (:func:`artkit.color.evaluate`): photos the shipped model did not train on —
scikit-image's ``astronaut`` and ``coffee`` and, when ``$ARTKIT_DATA`` is set, the JPEGs of
``$ARTKIT_DATA/doodle`` (paintings and a photo) — made gray, coloured, and compared with the
originals: AuC of the per-pixel ab error over thresholds 0–150, class-rebalanced AuC, PSNR and
the colourfulness ratio, for each method and for the two baselines (gray; gray + the training
set's mean chroma) computed in the same run. ``--extra DIR`` adds more held-out photos to the
model's table.

Explanations: the degradation test of :func:`artkit.color.explain.colour_degradation` on the
held-out photos — each region's 16×16 squares flattened to the photo's mean gray in the order
each method ranks them; AOPC is the mean drop of the region's shown chroma along its hue (ab
units) over the first 24 squares; ``random`` order is the baseline.

Usage:
    python benchmarks/colorize.py [--repeats 3] [--max-side 384] [--skip-speed]
        [--skip-quality] [--skip-explain] [--gallery gallery/color] [--extra MORE_HELD_OUT_DIR]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import artkit  # noqa: F401  (first: it sets OMP_WAIT_POLICY=PASSIVE before torch loads)
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import data_dir, save_results, table  # noqa: E402

from artkit.color import Colorizer, evaluate  # noqa: E402
from artkit.color.evaluation import simulated_hints  # noqa: E402
from artkit.color.explain import colour_degradation  # noqa: E402
from artkit.color.model import ColorModel  # noqa: E402
from artkit.color.training import random_crops  # noqa: E402
from artkit.color.upsample import load_rgb  # noqa: E402
from artkit.core.images import list_images, rgb_to_gray, rgb_to_lab  # noqa: E402


def _median_time(fn, repeats: int) -> tuple[float, float]:
    """Median wall seconds and median CPU seconds (this process, all threads) per call."""
    fn()  # warm-up
    wall, cpu = [], []
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return statistics.median(wall), statistics.median(cpu)


def _photo(name: str) -> torch.Tensor:
    import skimage.data

    if name in ("motorcycle_left", "motorcycle_right"):
        arr = skimage.data.stereo_motorcycle()[0 if name.endswith("left") else 1]
    else:
        arr = getattr(skimage.data, name)()
    return torch.from_numpy(arr).permute(2, 0, 1)[None].float() / 255.0


def _square(t: torch.Tensor, side: int = 512) -> torch.Tensor:
    import torch.nn.functional as F

    h, w = t.shape[-2:]
    s = min(h, w)
    t = t[..., (h - s) // 2:(h - s) // 2 + s, (w - s) // 2:(w - s) // 2 + s]
    return F.interpolate(t, size=(side, side), mode="area" if s >= side else "bilinear")


def _gray(t: torch.Tensor) -> torch.Tensor:
    return rgb_to_gray(t).expand(-1, 3, -1, -1)


def bench_speed(c: Colorizer, repeats: int) -> dict:
    photo = _square(_photo("astronaut"))
    gray = _gray(photo)
    rows = []

    def add(what, t, target=""):
        rows.append([what, round(t[0], 3), round(t[1], 3), target])

    add("model, 512×512, render 256 (default)", _median_time(
        lambda: c.colorize(gray, "model"), repeats), "≤ 1 s")
    add("model, 512×512, render 512", _median_time(
        lambda: c.colorize(gray, "model", render_size=512), repeats))
    fresh = ColorModel(c.model.config)  # same architecture, a trainable decoder
    fresh.decoder.train()
    opt = torch.optim.Adam(fresh.decoder.parameters(), lr=1e-3)
    photos = [_photo(n) for n in ("astronaut", "chelsea", "coffee", "rocket")]
    gen = torch.Generator().manual_seed(0)

    def step():
        lab = rgb_to_lab(random_crops(photos, 16, 128, 0.35, gen))
        loss = fresh.loss(lab[:, :1], lab[:, 1:])
        opt.zero_grad()
        loss.backward()
        opt.step()

    t = _median_time(step, repeats)
    rows.append(["training, 128², batch 16 (images/s)", round(16 / t[0], 1),
                 round(16 / t[1], 1), "≥ 20 images/s"])
    scribbles = simulated_hints(photo, 40, torch.Generator().manual_seed(0), side=6)
    add("hints (Levin), 512×512 full size", _median_time(
        lambda: c.colorize(gray, "hints", hints=scribbles), repeats), "≤ 3 s")
    add("hints, 512×512, render 256", _median_time(
        lambda: c.colorize(gray, "hints", hints=scribbles, render_size=256), repeats))
    target, ref = _square(_photo("coffee")), _photo("chelsea")
    add("exemplar, 512×512, one reference", _median_time(
        lambda: c.colorize(target, "exemplar", reference=ref), repeats), "≤ 10 s")
    return table("Speed (training row: images/s per wall second and per CPU second)",
                 ["what", "wall s", "CPU s", "target"], rows,
                 "CPU s: this process, all threads; on an idle two-core machine wall ≈ CPU / 2 "
                 "for the well-parallelised rows")


def bench_explain_cost(c: Colorizer, repeats: int) -> dict:
    """What `--explain` adds per photo, as the command runs it."""
    photos = {"astronaut (512×512)": _photo("astronaut"), "coffee (600×400)": _photo("coffee"),
              "chelsea (451×300)": _photo("chelsea")}
    c.patterns()  # loaded once per run, as the command does
    rows = []
    for name, p in photos.items():
        colour = _median_time(lambda: c.colorize(p, "model"), repeats)
        ex = _median_time(lambda: c.explain(p), repeats)
        both = _median_time(lambda: c.explain(p).picture(), repeats)
        rows.append([name, round(colour[0], 2), round(ex[0], 2), round(both[0], 2),
                     round(both[1], 2)])
    mean = [round(statistics.mean(r[i] for r in rows), 2) for i in range(1, 5)]
    rows.append(["mean per photo", *mean])
    return table("What --explain adds per photo (PatternNet + LRP-ε rows, every region, the "
                 "figure)", ["photo", "colouring, wall s", "explanation, wall s",
                             "explanation + figure, wall s", "explanation + figure, CPU s"],
                 rows)


def _quality_rows(name: str, res, rows: list) -> None:
    for k, r in res.rows.items():
        rows.append([name if k == res.method else f"  {k} baseline", round(r["auc"], 4),
                     round(r["auc_rebalanced"], 4), round(r["psnr"], 2),
                     round(r["colourfulness_ratio"], 3), round(res.seconds_per_image, 2)
                     if k == res.method else ""])


def bench_quality(c: Colorizer, max_side: int, extra_dirs: list[Path]) -> list[dict]:
    from PIL import Image
    import skimage.data

    folder = Path(tempfile.mkdtemp(prefix="colorize-bench-"))
    tables = []
    try:
        for name in ("astronaut", "coffee"):
            Image.fromarray(getattr(skimage.data, name)()).save(folder / f"{name}.png")
        doodle = data_dir("doodle")
        for p in sorted(doodle.glob("*.jpg")) if doodle else []:
            shutil.copy(p, folder / p.name)
        names = sorted(p.name for p in folder.iterdir())
        cols = ["method", "AuC", "AuC rebalanced", "PSNR dB", "colourfulness ratio", "s/photo"]
        rows: list = []
        base = evaluate(folder, "model", colorizer=c, max_side=max_side)
        _quality_rows("model (default, render 256)", base, rows)
        for rs in (128, 384):
            r = evaluate(folder, "model", colorizer=c, max_side=max_side, render_size=rs)
            rows.append([f"model, render {rs}", round(r.rows["model"]["auc"], 4),
                         round(r.rows["model"]["auc_rebalanced"], 4),
                         round(r.rows["model"]["psnr"], 2),
                         round(r.rows["model"]["colourfulness_ratio"], 3),
                         round(r.seconds_per_image, 2)])
        r = evaluate(folder, "exemplar", colorizer=c, max_side=max_side)
        _quality_rows("exemplar (leave-one-out references)", r, rows)
        r = evaluate(folder, "hints", colorizer=c, max_side=max_side)
        _quality_rows("hints (40 simulated 5×5 scribbles)", r, rows)
        tables.append(table(f"Quality on {len(names)} held-out images ({', '.join(names)}), "
                            f"long side ≤ {max_side}", cols, rows,
                            "" if doodle else "ARTKIT_DATA unset: the doodle JPEGs are left out"))
        more = [p for d in extra_dirs for p in list_images([d])]
        if more:
            for p in more:
                shutil.copy(p, folder / p.name)
            rows = []
            _quality_rows("model (default)", evaluate(folder, "model", colorizer=c,
                                                      max_side=max_side), rows)
            tables.append(table(f"Model on all {len(names) + len(more)} held-out images (the "
                                f"above + {', '.join(p.name for p in more)})", cols, rows))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return tables


def _held_out(extra_dirs: list[Path]) -> list[torch.Tensor]:
    """The held-out photos of the quality table, at most 512 px on their long side."""
    out = [_photo(n) for n in ("astronaut", "coffee")]
    doodle = data_dir("doodle")
    files = sorted(doodle.glob("*.jpg")) if doodle else []
    files += [p for d in extra_dirs for p in list_images([d])]
    return out + [load_rgb(f, max_side=512) for f in files]


def bench_degradation(c: Colorizer, extra_dirs: list[Path]) -> dict:
    photos = _held_out(extra_dirs)
    methods = ("lrp_epsilon", "input_x_gradient", "patternattribution", "patternnet", "gradient")
    t0 = time.perf_counter()
    res = colour_degradation(c.model, photos, methods, patterns=c.patterns())
    rows = [[r.method, round(r.aopc, 2)] + [round(r.curve[i], 1) for i in (0, 8, 16, 24)]
            for r in sorted(res, key=lambda r: -r.aopc)]
    return table(f"Colour degradation on {len(photos)} held-out photos: AOPC in ab units, larger "
                 f"is better ({time.perf_counter() - t0:.0f} s)",
                 ["ranking", "AOPC", "chroma at 0", "after 8", "after 16", "after 24"], rows)


def make_gallery(c: Colorizer, folder: Path) -> None:
    """Before/after pictures: model (held-out photos), hints, exemplar, --explain."""
    from PIL import Image

    from artkit.core.images import tensor_to_pil

    def strip(images, height=256):
        tiles = [tensor_to_pil(t) for t in images]
        tiles = [im.resize((round(im.width * height / im.height), height),
                           Image.Resampling.LANCZOS) for im in tiles]
        out = Image.new("RGB", (sum(t.width for t in tiles) + 4 * (len(tiles) - 1), height),
                        "white")
        x = 0
        for t in tiles:
            out.paste(t, (x, 0))
            x += t.width + 4
        return out

    folder.mkdir(parents=True, exist_ok=True)
    rows = [strip([_gray(p), c.colorize(p, "model").image, p])
            for p in (_photo("astronaut"), _photo("coffee"))]
    doodle = data_dir("doodle")
    if doodle and (doodle / "Mia.jpg").is_file():
        p = load_rgb(doodle / "Mia.jpg", max_side=512)
        rows.append(strip([_gray(p), c.colorize(p, "model").image, p]))
    w = max(r.width for r in rows)
    stack = Image.new("RGB", (w, sum(r.height for r in rows) + 4 * (len(rows) - 1)), "white")
    y = 0
    for r in rows:
        stack.paste(r, (0, y))
        y += r.height + 4
    stack.save(folder / "model.jpg", quality=88)
    photo = _photo("astronaut")
    scribbles = simulated_hints(photo, 60, torch.Generator().manual_seed(1), side=7)
    hint_t = torch.from_numpy(scribbles).permute(2, 0, 1)[None].float()
    strip([hint_t, c.colorize(photo, "hints", hints=scribbles).image, photo]).save(
        folder / "hints.jpg", quality=88)
    target, ref = _photo("motorcycle_left"), _photo("motorcycle_right")
    res = c.colorize(_gray(target), "exemplar", reference=ref)
    strip([_gray(target), ref, res.image, target], height=200).save(folder / "exemplar.jpg",
                                                                    quality=88)
    c.explain(_photo("coffee")).picture().save(folder / "explain.png")  # as `--explain` draws it
    print(f"gallery written to {folder}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--max-side", type=int, default=384)
    ap.add_argument("--skip-quality", action="store_true")
    ap.add_argument("--skip-speed", action="store_true")
    ap.add_argument("--skip-explain", action="store_true")
    ap.add_argument("--gallery", type=Path, help="Also write before/after pictures here.")
    ap.add_argument("--extra", type=Path, action="append", default=[],
                    help="A folder of more held-out photos for the model's quality table "
                         "(e.g. the shipped model's other held-out photos: scikit-learn's "
                         "flower.jpg, mate-backgrounds' GreenMeadow.jpg and LadyBird.jpg).")
    args = ap.parse_args()
    load0 = os.getloadavg()
    c0, t0 = time.process_time(), time.perf_counter()
    c = Colorizer(device="cpu")  # every method, every network loaded once
    if args.gallery is not None:
        make_gallery(c, args.gallery)
    tables = []
    if not args.skip_speed:
        tables.append(bench_speed(c, args.repeats))
    if not args.skip_explain:
        tables.append(bench_explain_cost(c, args.repeats))
    if not args.skip_quality:
        tables += bench_quality(c, args.max_side, args.extra)
    if not args.skip_explain:
        tables.append(bench_degradation(c, args.extra))
    load1 = os.getloadavg()
    notes = [f"load average {load0[0]:.1f} at the start, {load1[0]:.1f} at the end (1 min); "
             f"{time.perf_counter() - t0:.0f} s wall, {time.process_time() - c0:.0f} s CPU in all",
             f"torch threads {torch.get_num_threads()}"]
    for n in notes:
        print(n)
    save_results("colorize", tables, command="python benchmarks/colorize.py "
                 + " ".join(sys.argv[1:]), notes=notes)


if __name__ == "__main__":
    main()
