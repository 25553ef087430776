"""``artkit explain``: PatternNet / PatternAttribution heatmaps, pattern fitting, evaluation."""

from __future__ import annotations

import contextlib

from pathlib import Path
from typing import Annotated

import typer

from artkit.core.cli import (
    DeviceOpt,
    ForceOpt,
    JsonOpt,
    OutputOpt,
    QuietOpt,
    Run,
    SeedOpt,
    VerboseOpt,
    capability_app,
    command,
    info,
    print_table,
    skip_done,
)
from artkit.core.errors import ArtkitError

app = capability_app("PatternNet and PatternAttribution heatmaps: what a network looks at.",
                     default="show")

ExplainModelOpt = Annotated[str, typer.Option(
    "--model", "-m", help="efficientnet-lite0, vgg16-hed, fashion-cnn, or a model file from "
                          "`artkit classify train`.")]
PatternsOpt = Annotated[Path | None, typer.Option(
    "--patterns", "-p", help="Patterns: a file from `artkit explain fit`, or a set that ships "
                             "for the model by name (efficientnet-lite0: default, photos5k). "
                             "Default: the default set.")]


def _target(text: str) -> int | None:
    if text == "top":
        return None
    try:
        return int(text)
    except ValueError:
        raise ArtkitError(f"--target must be 'top' or an integer, got '{text}'") from None


@command(app, "show")
def show_cmd(
    image: Annotated[Path, typer.Argument(help="The photo to explain, or a folder of photos (then -o is a folder: one NAME.png each).")],
    output: OutputOpt,
    model: ExplainModelOpt = "efficientnet-lite0",
    patterns: PatternsOpt = None,
    method: Annotated[list[str], typer.Option(
        help="A method (repeatable): patternattribution, patternnet, gradient, input_x_gradient, "
             "smoothgrad, lrp_epsilon, smooth:METHOD, or all (side by side; see "
             "`artkit explain methods`).")] = ["all"],  # noqa: B006
    target: Annotated[str, typer.Option(help="top (the predicted output) or an output index.")] = "top",
    overlay: Annotated[bool, typer.Option(help="Draw a single method's heatmap over the photo.")] = False,
    seed: SeedOpt = 0,
    device: DeviceOpt = "auto",
    quiet: QuietOpt = False,
    verbose: VerboseOpt = False,
    force: ForceOpt = False,
) -> None:
    """Explain what drove a model's output for IMAGE, as a picture.

    PatternNet shows the signal the network detected; PatternAttribution how much each pixel
    contributed (red for, blue against); gradient / SmoothGrad / LRP-ε are the usual baselines.
    Patterns ship for efficientnet-lite0 and fashion-cnn.

    \b
    Examples:
      artkit explain cat.jpg -o cat-explained.png
      artkit explain cat.jpg --method patternattribution --overlay -o cat-pa.png
      artkit explain shirt.png --model fashion-cnn -o shirt.png
      artkit explain photos/ -o explained/      # a folder: a rerun skips what is done
      torchrun --nproc-per-node 4 -m artkit explain photos/ -o explained/
    """
    from artkit.explain.api import DEFAULT_METHODS, Explainer
    from artkit.explain.methods import get_method
    from artkit.explain.render import grid, render
    from artkit.explain.render import overlay as draw_overlay

    methods = list(DEFAULT_METHODS) if method == ["all"] else list(method)
    for m in methods:
        get_method(m)  # unknown names fail before any loading
    tgt = _target(target)
    if not image.exists():
        raise ArtkitError(f"image '{image}' does not exist")
    from artkit.explain.models import resolve_patterns

    patterns = resolve_patterns(model, patterns)  # a file, or a shipped set's name
    params = dict(image=str(image), model=model, method=methods, target=target,
                  patterns=str(patterns) if patterns else None, overlay=overlay)
    jobs = _folder_jobs(image, output) if image.is_dir() else [(image, output)]
    if image.is_dir() and not force:  # a rerun skips the photos already explained
        jobs = skip_done(jobs, "artkit explain", params, outputs=lambda j: (j[0], [j[1]]),
                         quiet=quiet, verb="explained", ignore=())
        if not jobs:
            return
    run = Run("artkit explain", params=params, force=force, quiet=quiet, verbose=verbose,
              seed=seed, device=device, inputs=[*(src for src, _ in jobs), patterns])
    for _, dst in jobs:
        run.image_output(dst)
    with run:
        from artkit.core.images import load_image

        ex = Explainer(model, patterns=patterns, device=run.device)
        run.use(ex.weights)
        for src, dst in run.split(jobs) if image.is_dir() else jobs:
            with run.item(str(src)) if image.is_dir() else contextlib.nullcontext():
                photo = load_image(src)
                res = ex.explain(photo, methods=methods if method != ["all"] else DEFAULT_METHODS,
                                 target=tgt, generator=run.generator, progress=run.progress)
                title = f"{ex.name}: {res.label} ({res.score:.2f})"
                if len(res.maps) > 1:
                    picture = grid(photo, res.maps, title)
                elif overlay:
                    picture = draw_overlay(photo, next(iter(res.maps.values())))
                else:
                    picture = render(*next(iter(res.maps.items())))
                if picture.width < 224:
                    from PIL import Image

                    k = -(-224 // picture.width)
                    picture = picture.resize((picture.width * k, picture.height * k),
                                             Image.Resampling.NEAREST)
                run.notes += [n for n in res.notes if n not in run.notes]
                run.save_image(dst, picture, result=res,
                               extra={"input": str(src), "label": res.label, "score": res.score,
                                      "target": res.target})
                info(f"{src.name}: {ex.name} says '{res.label}' ({res.score:.3f})", quiet)


def _folder_jobs(folder: Path, output: Path) -> list[tuple[Path, Path]]:
    """(photo, picture) pairs for a folder: OUTPUT/<the photo's path inside FOLDER>.png (its
    suffix kept in the name where two photos would share one)."""
    from artkit.core.images import list_images

    if output.suffix:
        raise ArtkitError(f"a folder of photos needs -o to be a folder, not '{output}'",
                          f"e.g. -o {output.with_suffix('')}/")
    files = list_images([folder])
    stems = [f.relative_to(folder).with_suffix("") for f in files]
    return [(f, output / (f"{s}_{f.suffix[1:].lower()}.png" if stems.count(s) > 1 else f"{s}.png"))
            for f, s in zip(files, stems)]


@command(app, "methods")
def methods_cmd(as_json: JsonOpt = False, quiet: QuietOpt = False) -> None:
    """The attribution methods (from the registry): what each shows and what it needs."""
    from artkit.explain.methods import get_method, method_names

    rows = [(m.name, "yes" if m.needs_patterns else "no", "signed" if m.signed else "magnitude",
             m.render, m.help) for m in map(get_method, method_names())]
    print_table("attribution methods", ["method", "patterns", "map", "drawn as", "what it shows"],
                rows, as_json=as_json, quiet=quiet)


@command(app, "fit")
def fit_cmd(
    data: Annotated[str, typer.Option("--data", "-d", help="A folder of images, or fashion-mnist.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Patterns file (.safetensors) to write.")],
    model: ExplainModelOpt = "efficientnet-lite0",
    estimator: Annotated[str, typer.Option(help="relu (two-component, what PatternNet uses) or linear.")] = "relu",
    crops: Annotated[int, typer.Option(min=1, help="Inputs per image: the image, then random crops of 35-100 % (mirrored half of the time).")] = 4,
    limit: Annotated[int | None, typer.Option(min=1, help="Use at most this many inputs.")] = None,
    positions: Annotated[int, typer.Option(min=0, help="Output positions sampled per conv layer and batch (0: all).")] = 256,
    dtype: Annotated[str, typer.Option(help="float32, float16 or int8 (a quarter of the size).")] = "float32",
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
    from artkit.explain.api import fit
    from artkit.explain.models import load_model
    from artkit.explain.patterns import DTYPES, ESTIMATORS

    if estimator not in ESTIMATORS:
        raise ArtkitError(f"--estimator must be one of {', '.join(ESTIMATORS)} (got '{estimator}')")
    if dtype not in DTYPES:
        raise ArtkitError(f"--dtype must be one of {', '.join(DTYPES)} (got '{dtype}')")
    run = Run("artkit explain fit", params=dict(data=data, model=model, estimator=estimator,
                                                crops=crops, limit=limit, positions=positions,
                                                dtype=dtype),
              force=force, quiet=quiet, seed=seed, device=device, inputs=[data])
    out = run.output(output, suffixes={".safetensors"}, what="patterns file")
    with run:
        ex = load_model(model, run.device)
        pats = fit(ex, data, estimator=estimator, crops=crops, limit=limit,
                   positions=positions or None, generator=run.generator, progress=run.progress)
        run.save_with(out, lambda tmp: pats.save(tmp, force=True, dtype=dtype),
                      extra={"layers": len(pats.linear), "inputs": pats.meta["images"]})
    info(f"fitted patterns for {len(pats.linear)} layers on {pats.meta['images']} inputs", quiet)


@command(app, "evaluate")
def evaluate_cmd(
    data: Annotated[str, typer.Option("--data", "-d", help="A folder of images, or fashion-mnist.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Folder for report.json and the plots.")],
    model: ExplainModelOpt = "efficientnet-lite0",
    images: Annotated[int, typer.Option(min=1, help="Images for the degradation test.")] = 8,
    steps: Annotated[int, typer.Option(min=1, help="Patches replaced per degradation curve.")] = 50,
    patch: Annotated[int, typer.Option(min=0, help="Side of the replaced patches (0: 9 px, 4 px below 112 px).")] = 0,
    rows: Annotated[int, typer.Option(min=10, help="Held-out (patch, output) rows per layer for ρ.")] = 4000,
    neurons: Annotated[int, typer.Option(min=1, help="Neurons sampled per layer for ρ.")] = 16,
    fill: Annotated[str, typer.Option(help="What replaces a patch: mean (the image's mean colour) or noise (uniform).")] = "mean",
    composites: Annotated[int, typer.Option(min=0, help="Localisation composites (ImageNet models: objects from scikit-image pasted on textures; 0: none).")] = 0,
    seed: SeedOpt = 0,
    device: DeviceOpt = "auto",
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
    force: ForceOpt = False,
) -> None:
    """The PatternNet paper's evaluation — signal-estimator quality ρ per layer, image
    degradation (AOPC) against random order — and localisation on composites (energy pointing
    game and pointing-game hits against random and centre-bias baselines).

    Patterns are fitted on half of the data and judged on the other half.

    \b
    Example:
      artkit explain evaluate --model fashion-cnn --data fashion-mnist -o fashion-eval
      artkit explain evaluate --data photos/ --composites 200 -o lite0-eval
    """
    from artkit.explain.api import batched, image_inputs
    from artkit.explain.evaluate import evaluate
    from artkit.explain.localise import imagenet_objects, make_composites
    from artkit.explain.models import load_model
    from artkit.explain.plots import plot_degradation, plot_quality

    if fill not in ("mean", "noise"):
        raise ArtkitError(f"--fill must be mean or noise (got '{fill}')")
    run = Run("artkit explain evaluate", params=dict(data=data, model=model, images=images,
                                                     steps=steps, patch=patch, rows=rows,
                                                     neurons=neurons, fill=fill,
                                                     composites=composites),
              force=force, quiet=quiet, seed=seed, device=device, inputs=[data])
    report_file = run.output(output / "report.json", suffixes={".json"}, manifest=False)
    plots = [run.output(output / n, suffixes={".png"}, manifest=False)
             for n in ("estimators.png", "degradation.png")]
    run.output(output / "report.manifest.json", suffixes={".json"}, manifest=False)
    with run:
        import torch

        ex = load_model(model, run.device)
        if data.startswith("fashion-mnist"):
            fit_inputs = list(batched(image_inputs(ex, "fashion-mnist", limit=10000), 500))
            held = torch.stack(list(image_inputs(ex, "fashion-mnist:test", limit=2000)))
        else:
            flat = list(image_inputs(ex, data, crops=4, generator=run.generator, progress=run.progress))
            if len(flat) < 4:
                raise ArtkitError(f"'{data}' gives {len(flat)} inputs; the evaluation needs at least 4")
            half = len(flat) // 2
            fit_inputs = list(torch.stack(flat[:half]).split(16))
            held = torch.stack(flat[half:])
        comps = []
        if composites:
            if len(ex.labels) != 1000:
                raise ArtkitError("--composites needs an ImageNet model (efficientnet-lite0)")
            objects, backgrounds = imagenet_objects()
            comps = make_composites(objects, backgrounds, ex.model, composites,
                                    generator=run.generator)
        ev = evaluate(ex.model, fit_inputs, held, name=ex.name, patch=patch, steps=steps,
                      rows=rows, neurons=neurons, fill=fill, images=images, composites=comps,
                      generator=run.generator, progress=run.progress)
        rep = {**ev.to_dict(), "data": data}
        run.save_json(report_file, rep)
        run.save_with(plots[0], lambda tmp: plot_quality(ev.quality, tmp))
        run.save_with(plots[1], lambda tmp: plot_degradation(ev.degradation, tmp, ex.name))
        run.save_json(output / "report.manifest.json", run.manifest(result=ev))
    q = ev.quality_mean
    print_table(f"signal-estimator quality ρ (mean over {len(ev.quality)} layers; higher is better)",
                ["S_w", "S_a", "S_a+-", "random"], [[q[k] for k in ("S_w", "S_a", "S_a+-", "random")]],
                as_json=False, quiet=quiet or as_json)
    print_table(f"image degradation: AOPC over {steps} patches (higher is better)", ["method", "AOPC"],
                [(c.method, c.aopc) for c in sorted(ev.degradation, key=lambda c: -c.aopc)],
                quiet=quiet or as_json)
    if ev.localisation:
        print_table(f"localisation on {len(comps)} composites (higher is better)",
                    ["method", "energy in box", "pointing hits"],
                    [(s.method, s.energy, s.hits) for s in ev.localisation], quiet=quiet or as_json)
    if as_json:
        print_table("", [], [], data=rep, as_json=True)
