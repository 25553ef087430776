"""``artkit colorize`` on this machine: speed of every method and quality against two baselines.

Timings (median of ``--repeats``, after a warm-up):

* model: one 512×512 photo, end to end (chroma at the default render size, and at 512);
* training throughput: images/s at 128², batch 16 (crops, Lab, frozen backbone, decoder
  forward + backward, Adam step);
* hints: Levin et al. at 512×512, full resolution (40 random strokes of the true colour);
* exemplar: one 512×512 photo from one reference.

Quality (``artkit.color.evaluate``): photos the shipped model did not train on — scikit-image's
``astronaut`` and ``coffee`` (held out of its training set) and, when ``../shared/data/doodle``
is present, its JPEGs (paintings and a photo) — made gray, coloured, and compared with the
originals: AuC of the per-pixel ab error over thresholds 0–150, class-rebalanced AuC, PSNR and
the colourfulness ratio, for the method and for the two baselines (gray; gray + the training
set's mean chroma) computed in the same run. The model is also measured at several render sizes
(the default render size is the one chosen here).

Explanations (``--explain``): the time of one explanation (a 512×512 photo, every colour region)
and the degradation test of :func:`artkit.color.explain.colour_degradation` on the held-out
photos: each region's 16×16 squares are flattened to the photo's mean gray in the order each
method ranks them, and the AOPC is the mean drop of the region's shown chroma along its hue (ab
units) over the first 24 squares; ``random`` order is the baseline. The load average is printed too: the machine
is shared, and timings scale with it.

Usage:
    python benchmarks/colorize.py [--repeats 3] [--max-side 384] [--skip-quality]
        [--skip-speed] [--skip-explain] [--gallery gallery/color] [--extra MORE_HELD_OUT_DIR]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import torch

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "doodle"


def _median_time(fn, repeats: int) -> tuple[float, float]:
    """Median wall seconds and median CPU seconds of this process (all its threads) per call.

    On a shared machine the wall time grows with the load; the CPU time does not, and CPU / 2
    estimates the wall time on an idle two-core machine."""
    fn()  # warm-up
    wall, cpu = [], []
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return statistics.median(wall), statistics.median(cpu)


def _fmt(t: tuple[float, float]) -> str:
    return f"{t[0]:.3f} s wall, {t[1]:.3f} s CPU"


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


def bench_speed(repeats: int) -> None:
    from artkit.color import colorize
    from artkit.color.evaluate import simulated_hints
    from artkit.color.model import ColorModel
    from artkit.color.train import random_crops
    from artkit.core.images import rgb_to_lab

    photo = _square(_photo("astronaut"))
    from artkit.core.images import rgb_to_gray

    gray = rgb_to_gray(photo).expand(-1, 3, -1, -1)
    t = _median_time(lambda: colorize(gray, "model"), repeats)
    print(f"model, 512×512, render 256 (default): {_fmt(t)}   (target ≤ 1 s)")
    t = _median_time(lambda: colorize(gray, "model", render_size=512), repeats)
    print(f"model, 512×512, render 512:           {_fmt(t)}")

    from artkit.color.api import get_model

    model, _ = get_model()
    fresh = ColorModel(model.config)  # same architecture, trainable decoder
    fresh.decoder.train()
    opt = torch.optim.Adam(fresh.decoder.parameters(), lr=1e-3)
    photos = [_photo(n) for n in ("astronaut", "chelsea", "coffee", "rocket")]
    gen = torch.Generator().manual_seed(0)

    def step():
        rgb = random_crops(photos, 16, 128, 0.35, gen)
        lab = rgb_to_lab(rgb)
        loss = fresh.loss(lab[:, :1], lab[:, 1:])
        opt.zero_grad()
        loss.backward()
        opt.step()

    t = _median_time(step, repeats)
    print(f"training, 128², batch 16:             {16 / t[0]:.1f} images/s wall, "
          f"{16 / t[1]:.1f} per CPU-second   (target ≥ 20 on 2 cores)")

    scribbles = simulated_hints(photo, 40, torch.Generator().manual_seed(0), side=6)
    t = _median_time(lambda: colorize(gray, "hints", hints=scribbles), repeats)
    print(f"hints (Levin), 512×512 full size:     {_fmt(t)}   (target ≤ 3 s)")
    t = _median_time(lambda: colorize(gray, "hints", hints=scribbles, render_size=256), repeats)
    print(f"hints, 512×512, render 256:           {_fmt(t)}")

    ref = _photo("chelsea")
    t = _median_time(lambda: colorize(_square(_photo("coffee")), "exemplar", reference=ref),
                     repeats)
    print(f"exemplar, 512×512, one reference:     {_fmt(t)}   (target ≤ 10 s)")


def _table(title: str, rows: dict) -> None:
    print(f"\n{title}")
    print(f"{'':>22} {'AuC':>7} {'AuC rebal.':>11} {'PSNR dB':>8} {'colourful':>10}")
    for name, r in rows.items():
        print(f"{name:>22} {r['auc']:7.4f} {r['auc_rebalanced']:11.4f} {r['psnr']:8.2f} "
              f"{r['colourfulness_ratio']:10.3f}")


def bench_quality(max_side: int, extra_dirs: list[Path] | None = None) -> None:
    import skimage.data
    from PIL import Image

    from artkit.color.evaluate import evaluate

    folder = Path(tempfile.mkdtemp(prefix="colorize-bench-"))
    try:
        for name in ("astronaut", "coffee"):
            Image.fromarray(getattr(skimage.data, name)()).save(folder / f"{name}.png")
        extra = sorted(SHARED.glob("*.jpg")) if SHARED.is_dir() else []
        for p in extra:
            shutil.copy(p, folder / p.name)
        base_names = sorted(p.name for p in folder.iterdir())
        more = [p for d in extra_dirs or [] for p in sorted(Path(d).iterdir())
                if p.suffix.lower() in (".jpg", ".jpeg", ".png")]
        names = sorted(p.name for p in folder.iterdir())
        print(f"\nheld-out photos ({len(names)}): {', '.join(names)}; long side ≤ {max_side}")
        res = evaluate(folder, "model", max_side=max_side)
        _table(f"model (default, render 256)  [{res.seconds_per_image:.2f} s/photo]", res.rows)
        base = res.rows
        for rs in (128, 384):
            r = evaluate(folder, "model", max_side=max_side, render_size=rs)
            print(f"  render {rs}: AuC {r.rows['model']['auc']:.4f}, rebalanced "
                  f"{r.rows['model']['auc_rebalanced']:.4f}, colourfulness "
                  f"{r.rows['model']['colourfulness_ratio']:.3f}")
        r = evaluate(folder, "exemplar", max_side=max_side)
        _table(f"exemplar (leave-one-out references)  [{r.seconds_per_image:.2f} s/photo]",
               r.rows)
        r = evaluate(folder, "hints", max_side=max_side)
        _table(f"hints (40 simulated 5×5 scribbles)  [{r.seconds_per_image:.2f} s/photo]",
               r.rows)
        m, g, c = base["model"], base["gray"], base["mean chroma"]
        print(f"\nmodel vs gray: AuC ×{m['auc'] / g['auc']:.3f}; vs mean chroma: "
              f"×{m['auc'] / c['auc']:.3f}; colourfulness ratio {m['colourfulness_ratio']:.2f}")
        if more:
            for p in more:
                shutil.copy(p, folder / p.name)
            res = evaluate(folder, "model", max_side=max_side)
            _table(f"model on all {len(base_names) + len(more)} held-out images (the "
                   f"{len(base_names)} above + {', '.join(p.name for p in more)})", res.rows)
            m, g = res.rows["model"], res.rows["gray"]
            print(f"model vs gray: AuC ×{m['auc'] / g['auc']:.3f}")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _strip(images: list[torch.Tensor], height: int = 256):
    """Images side by side at one height, 4 px white gaps: a PIL image."""
    from PIL import Image

    from artkit.core.images import tensor_to_pil

    tiles = []
    for t in images:
        im = tensor_to_pil(t)
        tiles.append(im.resize((round(im.width * height / im.height), height),
                               Image.Resampling.LANCZOS))
    out = Image.new("RGB", (sum(t.width for t in tiles) + 4 * (len(tiles) - 1), height), "white")
    x = 0
    for t in tiles:
        out.paste(t, (x, 0))
        x += t.width + 4
    return out


def _stack(strips):
    from PIL import Image

    w = max(s.width for s in strips)
    out = Image.new("RGB", (w, sum(s.height for s in strips) + 4 * (len(strips) - 1)), "white")
    y = 0
    for s in strips:
        out.paste(s, (0, y))
        y += s.height + 4
    return out


def _held_out(extra_dirs: list[Path] | None) -> list[tuple[str, torch.Tensor]]:
    """The held-out photos of the quality table, as (name, (1, 3, H, W)) at most 512 px."""
    from artkit.color.api import as_rgb_tensor
    from artkit.color.inputs import list_images

    out = [(n, _photo(n)) for n in ("astronaut", "coffee")]
    files = sorted(SHARED.glob("*.jpg")) if SHARED.is_dir() else []
    files += list_images(extra_dirs) if extra_dirs else []
    out += [(f.stem, as_rgb_tensor(f, max_side=512)) for f in files]
    return out


def bench_explain(repeats: int, extra_dirs: list[Path] | None = None) -> None:
    from artkit.color.explain import colour_degradation, explain_colors

    photo = _square(_photo("astronaut"))
    for method in ("lrp_epsilon", "patternnet"):  # `--explain` runs both
        t = _median_time(lambda: explain_colors(photo, method=method), repeats)
        print(f"\nexplain ({method}; every region), 512×512: {_fmt(t)}")
    photos = _held_out(extra_dirs)
    methods = ("lrp_epsilon", "input_x_gradient", "patternattribution", "patternnet", "gradient")
    t0 = time.perf_counter()
    res = colour_degradation([p for _, p in photos], methods)
    print(f"colour degradation on {len(photos)} held-out photos "
          f"({time.perf_counter() - t0:.0f} s): AOPC in ab units, larger is better")
    for r in sorted(res, key=lambda r: -r.aopc):
        print(f"{r.method:>22} AOPC {r.aopc:6.2f}   chroma after 0/8/16/24 squares: "
              + " ".join(f"{r.curve[i]:5.1f}" for i in (0, 8, 16, 24) if i < len(r.curve)))


def make_gallery(folder: Path) -> None:
    """Before/after pictures: model (held-out photos), hints, exemplar."""
    from artkit.color import colorize
    from artkit.color.evaluate import simulated_hints
    from artkit.core.images import rgb_to_gray

    folder.mkdir(parents=True, exist_ok=True)

    def gray(t):
        return rgb_to_gray(t).expand(-1, 3, -1, -1)

    rows = []
    for name in ("astronaut", "coffee"):
        photo = _photo(name)
        rows.append(_strip([gray(photo), colorize(photo, "model").image, photo]))
    if (SHARED / "Mia.jpg").is_file():
        from artkit.color.api import as_rgb_tensor

        photo = as_rgb_tensor(SHARED / "Mia.jpg", max_side=512)
        rows.append(_strip([gray(photo), colorize(photo, "model").image, photo]))
    _stack(rows).save(folder / "model.jpg", quality=88)

    photo = _photo("astronaut")
    scribbles = simulated_hints(photo, 60, torch.Generator().manual_seed(1), side=7)
    hint_t = torch.from_numpy(scribbles).permute(2, 0, 1)[None].float()
    res = colorize(photo, "hints", hints=scribbles)
    _strip([hint_t, res.image, photo]).save(folder / "hints.jpg", quality=88)

    target, ref = _photo("motorcycle_left"), _photo("motorcycle_right")
    res = colorize(gray(target), "exemplar", reference=ref)
    _strip([gray(target), ref, res.image, target], height=200).save(folder / "exemplar.jpg",
                                                                   quality=88)
    from artkit.color.explain import explain_colors

    photo = _photo("coffee")  # as `--explain` draws it: PatternNet's signal, then LRP-ε
    explain_colors(photo, method="patternnet").picture(explain_colors(photo)).save(
        folder / "explain.png")
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
    if args.gallery is not None:
        make_gallery(args.gallery)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, "
          f"{os.cpu_count()} CPUs, load average {load:.1f}")
    if not args.skip_speed:
        bench_speed(args.repeats)
    if not args.skip_quality:
        bench_quality(args.max_side, args.extra)
    if not args.skip_explain:
        bench_explain(args.repeats, args.extra)


if __name__ == "__main__":
    main()
