"""``artkit explain``: PatternNet / PatternAttribution heatmaps, pattern fitting, evaluation."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Annotated, Optional

import typer

from artkit.core.console import DeviceOpt, ForceOpt, ProgressBars, QuietOpt, SeedOpt, command, info
from artkit.core.errors import ArtkitError
from artkit.core.files import check_output

app = typer.Typer(pretty_exceptions_enable=False, no_args_is_help=True,
                  help="PatternNet and PatternAttribution heatmaps: what a network looks at.")

ModelOpt = Annotated[str, typer.Option(
    "--model", "-m", help="efficientnet-lite0, vgg16-hed, fashion-cnn, or a model file from "
                          "`artkit classify train`.")]
PatternsOpt = Annotated[Optional[Path], typer.Option(
    "--patterns", "-p", help="Patterns file from `artkit explain fit` (default: the ones that ship "
                             "for the model).")]


def _load(model: str, device: str):
    from artkit.core.runtime import resolve_device
    from artkit.explain.models import load_model

    return load_model(model, resolve_device(device))


@command(app, "show")
def show_cmd(
    image: Annotated[Path, typer.Argument(help="The photo to explain.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="PNG to write (a JSON manifest goes beside it).")],
    model: ModelOpt = "efficientnet-lite0",
    patterns: PatternsOpt = None,
    method: Annotated[str, typer.Option(help="patternattribution, patternnet, gradient, input_x_gradient, "
                                             "smoothgrad, lrp_epsilon, or all (one figure, side by side).")] = "all",
    target: Annotated[str, typer.Option(help="top (the predicted output) or an output index.")] = "top",
    overlay: Annotated[bool, typer.Option(help="Draw a single method's heatmap over the photo.")] = False,
    seed: SeedOpt = 0,
    device: DeviceOpt = "auto",
    quiet: QuietOpt = False,
    force: ForceOpt = False,
) -> None:
    """Explain what drove a model's output for IMAGE, as a heatmap PNG.

    PatternNet shows the signal the network detected; PatternAttribution shows how much each
    pixel contributed (red for, blue against); gradient / SmoothGrad / LRP-ε are the usual
    baselines. Patterns ship for efficientnet-lite0 and fashion-cnn.

    \b
    Examples:
      artkit explain show cat.jpg -o cat-explained.png
      artkit explain show cat.jpg --method patternattribution --overlay -o cat-pa.png
      artkit explain show shirt.png --model fashion-cnn -o shirt.png
    """
    from artkit.core.images import load_image, save_image
    from artkit.core.manifest import build_manifest, write_manifest
    from artkit.core.runtime import generator_seed, make_generator
    from artkit.explain.api import GRID_METHODS, explain, load_patterns
    from artkit.explain.render import grid, overlay as draw_overlay, render

    t0 = time.perf_counter()
    check_output(output, force)
    if output.suffix.lower() not in (".png", ".jpg", ".jpeg"):
        raise ArtkitError(f"output '{output}' must be a .png or .jpg file")
    photo = load_image(image)
    ex = _load(model, device)
    pats = load_patterns(ex, patterns)
    methods = list(GRID_METHODS) if method == "all" else [method]
    if method == "all" and pats is None:
        methods = [m for m in methods if m not in ("patternnet", "patternattribution")]
    tgt = None if target == "top" else _int(target, "--target")
    x = ex.preprocess(photo).to(next(ex.model.parameters()).device)
    result = explain(ex, x, methods, tgt, pats, seed=generator_seed(make_generator(seed)))
    title = f"{ex.name}: {result.label} ({result.score:.2f})"
    if len(methods) > 1:
        picture = grid(photo, {m: a.cpu() for m, a in result.maps.items()}, title)
    elif overlay:
        picture = draw_overlay(photo, result.maps[methods[0]].cpu())
    else:
        picture = render(methods[0], result.maps[methods[0]].cpu())
    if picture.width < 224:
        scale = -(-224 // picture.width)
        from PIL import Image

        picture = picture.resize((picture.width * scale, picture.height * scale), Image.Resampling.NEAREST)
    manifest = build_manifest("artkit explain show", {
        "image": str(image), "model": ex.name, "method": method, "target": result.target,
        "patterns": str(patterns) if patterns else ("shipped" if pats else None)},
        seed=seed, device=str(x.device), wall_time=time.perf_counter() - t0,
        extra={"label": result.label, "score": result.score})
    save_image(picture, output, force=force, manifest=manifest)
    write_manifest(output, manifest, force=True)
    info(f"{ex.name} says '{result.label}' ({result.score:.3f}); wrote {output}", quiet)


def _int(text: str, name: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise ArtkitError(f"{name} must be 'top' or an integer, got '{text}'") from None


@command(app, "fit")
def fit_cmd(
    data: Annotated[str, typer.Option("--data", "-d", help="A folder of images, or fashion-mnist.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Patterns file (.safetensors) to write.")],
    model: ModelOpt = "efficientnet-lite0",
    estimator: Annotated[str, typer.Option(help="relu (two-component, what PatternNet uses) or linear.")] = "relu",
    crops: Annotated[int, typer.Option(help="Random crops per image (more rows from few photos).")] = 4,
    limit: Annotated[Optional[int], typer.Option(help="Use at most this many inputs.")] = None,
    positions: Annotated[int, typer.Option(help="Output positions sampled per conv layer and batch (0: all).")] = 256,
    seed: SeedOpt = 0,
    device: DeviceOpt = "auto",
    quiet: QuietOpt = False,
    force: ForceOpt = False,
) -> None:
    """Learn PatternNet's signal estimators for a model from data (one streaming pass).

    \b
    Example:
      artkit explain fit --model efficientnet-lite0 --data photos/ -o my.patterns.safetensors
    """
    from artkit.core.runtime import generator_seed, make_generator
    from artkit.explain.api import fit

    t0 = time.perf_counter()
    check_output(output, force)
    if crops < 1:
        raise ArtkitError("--crops must be at least 1")
    ex = _load(model, device)
    with ProgressBars(quiet) as bars:
        pats = fit(ex, data, estimator=estimator, crops=crops, limit=limit,
                   positions=positions or None, seed=generator_seed(make_generator(seed)), progress=bars)
    pats.save(output, force=force)
    info(f"fitted patterns for {len(pats.linear)} layers on {pats.meta['images']} inputs in "
         f"{time.perf_counter() - t0:.1f} s; wrote {output}", quiet)


@command(app, "evaluate")
def evaluate_cmd(
    data: Annotated[str, typer.Option("--data", "-d", help="A folder of images, or fashion-mnist.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Folder for report.json and the plots.")],
    model: ModelOpt = "efficientnet-lite0",
    images: Annotated[int, typer.Option(help="Images for the degradation test.")] = 8,
    steps: Annotated[int, typer.Option(help="Patches replaced per degradation curve.")] = 50,
    patch: Annotated[int, typer.Option(help="Side of the replaced patches (0: 9 px, 4 px below 112 px).")] = 0,
    rows: Annotated[int, typer.Option(help="Held-out (patch, output) rows per layer for ρ.")] = 4000,
    neurons: Annotated[int, typer.Option(help="Neurons sampled per layer for ρ.")] = 16,
    fill: Annotated[str, typer.Option(help="What replaces a patch: mean (the image's mean colour) or noise (uniform).")] = "mean",
    seed: SeedOpt = 0,
    device: DeviceOpt = "auto",
    quiet: QuietOpt = False,
    force: ForceOpt = False,
) -> None:
    """The PatternNet paper's evaluation: signal-estimator quality ρ per layer, and image
    degradation (AOPC) of PatternAttribution, PatternNet and the baselines against random order.

    Patterns are fitted on half of the data and judged on the other half.

    \b
    Example:
      artkit explain evaluate --model fashion-cnn --data fashion-mnist -o fashion-eval
    """
    from artkit.core.runtime import generator_seed, make_generator
    from artkit.explain.evaluate import estimator_quality, image_degradation
    from artkit.explain.plots import plot_degradation, plot_quality
    from artkit.explain.patterns import fit_patterns

    t0 = time.perf_counter()
    report_file = output / "report.json"
    check_output(report_file, force)
    s = generator_seed(make_generator(seed))
    ex = _load(model, device)
    fashion = data.startswith("fashion-mnist")
    from artkit.explain.api import image_batches

    with ProgressBars(quiet) as bars:
        if fashion:
            fit_b = image_batches(ex, "fashion-mnist", limit=10000, batch=500)
            held = image_batches(ex, "fashion-mnist:test", limit=2000, batch=500)
        else:
            batches = image_batches(ex, data, crops=4, seed=s, progress=bars)
            flat = [x for b in batches for x in b]
            if len(flat) < 4:
                raise ArtkitError(f"'{data}' gives {len(flat)} inputs; the evaluation needs at least 4")
            half = len(flat) // 2
            import torch

            fit_b = list(torch.stack(flat[:half]).split(16))
            held = list(torch.stack(flat[half:]).split(16))
        pats = fit_patterns(ex.model, fit_b, "relu", seed=s, total=len(fit_b), progress=bars)
        quality = estimator_quality(ex.model, held, pats, rows=rows, neurons=neurons, seed=s,
                                    progress=bars)
        import torch

        test_images = torch.cat(held)[:images]
        size = test_images.shape[-1]
        p = patch or (9 if size >= 112 else 4)
        curves = image_degradation(ex.model, test_images, ["patternattribution", "patternnet",
                                   "gradient", "smoothgrad", "lrp_epsilon"], pats,
                                   patch=p, steps=steps, seed=s, fill=fill, progress=bars)
    report = {
        "model": ex.name, "data": data, "patch": p, "steps": steps, "fill": fill, "images": int(len(test_images)),
        "estimator_quality": quality,
        "estimator_quality_mean": {k: sum(v[k] for v in quality.values()) / len(quality)
                                   for k in ("S_w", "S_a", "S_a+-", "random")},
        "degradation": {c.method: {"aopc": c.aopc, "curve": c.outputs} for c in curves},
        "seconds": round(time.perf_counter() - t0, 1),
    }
    output.mkdir(parents=True, exist_ok=True)
    plot_quality(quality, output / "estimators.png")
    plot_degradation(curves, output / "degradation.png", ex.name)
    from artkit.core.files import atomic_write_text

    atomic_write_text(report_file, json.dumps(report, indent=2) + "\n", force=force)
    if not quiet:
        from rich.console import Console
        from rich.table import Table

        t = Table(title=f"signal-estimator quality ρ (mean over {len(quality)} layers; higher is better)")
        for col in ("S_w", "S_a", "S_a+-", "random"):
            t.add_column(col, justify="right")
        t.add_row(*[f"{report['estimator_quality_mean'][k]:.3f}" for k in ("S_w", "S_a", "S_a+-", "random")])
        d = Table(title=f"image degradation: AOPC over {steps} patches of {p}px (higher is better)")
        d.add_column("method")
        d.add_column("AOPC", justify="right")
        for c in sorted(curves, key=lambda c: -c.aopc):
            d.add_row(c.method, f"{c.aopc:.4f}")
        Console(stderr=True).print(t, d)
    info(f"wrote {report_file}, estimators.png, degradation.png", quiet)
