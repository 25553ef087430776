"""``artkit colorize``: colour gray photos (files or folders), train a colouriser, evaluate, fit
the patterns ``--explain`` uses. A thin layer over :mod:`artkit.color`."""

from __future__ import annotations

import contextlib
import enum
from pathlib import Path
from typing import Annotated, List, Optional

import typer

from artkit.core.cli import (DeviceOpt, ForceOpt, JsonOpt, ModelOpt, OptionalOutputOpt, OutputOpt,
                             QuietOpt, Run, SeedOpt, VerboseOpt, capability_app, command, info,
                             print_table, skip_done)
from artkit.core.errors import ArtkitError

app = capability_app(
    "Colour black-and-white photos: learned (model), by example (exemplar) or from scribbles "
    "(hints).",
    default="run",
    epilog="\b\nExamples:\n"
           "  artkit colorize old.jpg -o old_colour.png\n"
           "  artkit colorize scans/ -o coloured/\n"
           "  artkit colorize photo.png --hints scribbles.png -o out.png\n"
           "  artkit colorize photo.png --reference beach.jpg -o out.png\n"
           "  artkit colorize old.jpg -o old_colour.png --explain\n"
           "  artkit colorize train my_photos/ -o mine.safetensors\n"
           "  artkit colorize evaluate my_photos/")


class Method(str, enum.Enum):
    auto = "auto"
    model = "model"
    exemplar = "exemplar"
    hints = "hints"


class Loss(str, enum.Enum):
    classification = "classification"
    regression = "regression"


def _hints_for(hints: Optional[Path], image: Path, n_inputs: int) -> Optional[Path]:
    """The scribble file of one photo: the file given, or ``<hints folder>/<photo name>.*``."""
    if hints is None:
        return None
    if hints.is_dir():
        found = sorted(p for p in hints.iterdir() if p.stem == image.stem and p.is_file())
        if not found:
            raise ArtkitError(f"no hints for '{image.name}' in '{hints}'",
                              f"add {hints}/{image.stem}.png")
        return found[0]
    if n_inputs > 1:
        raise ArtkitError("one --hints file cannot serve several photos",
                          "give one photo, or a hints folder with a <photo name>.png per photo")
    return hints


def _check_model(model: Optional[str]) -> Optional[Path]:
    """The model file (``None``: the shipped one), checked to exist and be a colorize model
    before any network loads."""
    if model is None or model == "default":
        return None
    from artkit.core.artifacts import peek_kind

    path = Path(model)
    if not path.is_file():
        raise ArtkitError(f"model file '{path}' does not exist",
                          "train one with `artkit colorize train PHOTOS -o MODEL.safetensors`")
    from artkit.color.model import MODEL_KIND
    from artkit.color.model_file import read_model_file

    if peek_kind(path) != MODEL_KIND:
        read_model_file(path)  # raises, naming what the file is (an old-format model passes)
    return path


@command(app, "run")
def run_cmd(
    inputs: Annotated[List[Path], typer.Argument(help="Photos or folders of photos.", metavar="IN")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Output image (one photo; .png, .jpg or .webp) or folder (several, or a folder: sub-folders are kept); a manifest NAME.json goes beside each image.")],
    method: Annotated[Method, typer.Option(help="auto: hints when --hints is given, else exemplar when --reference is given, else model.")] = Method.auto,
    hints: Annotated[Optional[Path], typer.Option(help="Scribble image: coloured strokes over the gray photo (same size), or on a transparent layer; a folder of <photo name>.png for a batch.")] = None,
    reference: Annotated[Optional[List[Path]], typer.Option(help="Reference colour photo(s) or folder(s) for --method exemplar (repeatable); from a folder the 3 closest are used.")] = None,
    model: ModelOpt = None,
    render_size: Annotated[Optional[int], typer.Option(help="Long side at which chroma is computed (default: 256 for model/exemplar, 512 for hints); luminance always stays at full size.")] = None,
    keep_color_input: Annotated[bool, typer.Option("--keep-color-input", help="Pass colour photos through unchanged (by default only their lightness is used).")] = False,
    saturation: Annotated[float, typer.Option(help="Model method: scale of the predicted chroma, 0–2 (1 = as predicted; 0.75 was chosen on validation photos: more is more colourful and more often wrong).")] = 0.75,
    explain: Annotated[bool, typer.Option("--explain", help="Also write NAME.explain.png beside each result: what in the gray photo drove each colour region (model method only; about 5 s per photo on two cores).")] = False,
    explain_method: Annotated[Optional[List[str]], typer.Option(help="Attribution method of --explain, a row each (repeatable; any method of `artkit explain`). Default: patternnet (the signal behind each colour; patterns ship with the default model, `artkit colorize fit-patterns` makes them for yours) and lrp_epsilon (which pixels carry the evidence; best in the degradation test).")] = None,
    seed: SeedOpt = 0,
    device: DeviceOpt = "auto",
    quiet: QuietOpt = False,
    verbose: VerboseOpt = False,
    force: ForceOpt = False,
) -> None:
    """Colour photos (files or folders).

    Colour photos are made gray first (so you can try it on your own), unless
    --keep-color-input. A batch goes on past a bad file and exits 1 at the end; outputs get
    names of their own (a_2.png when two photos are called a), never an input's.

    \b
    Examples:
      artkit colorize old.jpg -o old_colour.png
      artkit colorize scans/ -o coloured/ --method model
      artkit colorize photo.png --hints scribbles.png -o out.png
      artkit colorize photo.png --reference holiday/ -o out.png
      artkit colorize old.jpg -o old_colour.png --explain
    """
    from artkit.color.api import Colorizer, ColorizeSettings, resolve_method
    from artkit.color.batch import gather_inputs, plan_outputs
    from artkit.color.explain import EXPLAIN_METHODS
    from artkit.core.progress import report

    if hints is not None and not hints.exists():
        raise ArtkitError(f"hints '{hints}' does not exist")
    for r in reference or []:
        if not r.exists():
            raise ArtkitError(f"reference '{r}' does not exist")
    ColorizeSettings(method.value, render_size, saturation).validate()
    resolved = resolve_method(method.value, hints, reference or None)
    if explain and resolved != "model":
        raise ArtkitError("--explain explains the learned model, not exemplar or hints colouring",
                          "use it with --method model (the default without --hints/--reference)")
    for m in explain_method or []:
        if m not in EXPLAIN_METHODS:
            raise ArtkitError(f"unknown --explain-method '{m}'",
                              f"use one of: {', '.join(EXPLAIN_METHODS)}")
    model_path = _check_model(model) if resolved == "model" else None
    if explain:
        from artkit.color.model_file import read_model_file
        from artkit.color.model import default_model_path

        if read_model_file(model_path or default_model_path()).config.loss != "classification":
            raise ArtkitError("--explain needs a classification model (this one regresses ab)",
                              "drop --explain, or train with --loss classification")
    plan = plan_outputs(gather_inputs(inputs, output), output, explain=explain)
    params = dict(inputs=inputs, output=output, method=method.value, hints=hints,
                  reference=reference, model=model, render_size=render_size,
                  keep_color_input=keep_color_input, saturation=saturation, explain=explain,
                  explain_method=explain_method)
    batch = len(plan) > 1
    if batch and not force:  # a rerun of a batch skips the photos already coloured
        plan = skip_done(plan, "artkit colorize", params, quiet=quiet, verb="coloured",
                         outputs=lambda p: (p.src, [p.dst] + ([p.explain] if p.explain else [])))
        if not plan:
            return
    run = Run("artkit colorize", params=params, force=force, quiet=quiet, verbose=verbose,
              seed=seed, device=device,
              inputs=[p.src for p in plan] + [hints] + list(reference or []))
    for p in plan:
        run.image_output(p.dst)
        if p.explain is not None:
            run.image_output(p.explain, manifest=False, what="explanation")
    with run:
        colorizer = Colorizer(model_path, device=run.device, methods=(resolved,))
        plan = run.split(plan) if batch else plan  # under torchrun: this rank's share
        for i, p in enumerate(plan):
            report(run.progress, "photos", i, len(plan), p.src.name)
            with run.item(str(p.src)) if run.world.size > 1 or len(plan) > 1 \
                    else contextlib.nullcontext():
                res = colorizer.colorize(
                    p.src, resolved, hints=_hints_for(hints, p.src, len(plan)),
                    reference=reference or None, render_size=render_size,
                    keep_color_input=keep_color_input, saturation=saturation,
                    generator=run.generator)
                extra = {"input": str(p.src), "method": res.method,
                         "chroma_size": res.chroma_size, "was_color": res.was_color,
                         **res.details}
                run.save_image(p.dst, res.image, result=res, extra=extra)
                if p.explain is not None:
                    ex = colorizer.explain(p.src, explain_method or None, saturation=saturation,
                                           generator=run.generator)
                    run.notes += [n for n in ex.notes if n not in run.notes]
                    run.save_image(p.explain, ex.picture(), result=ex,
                                   extra={"input": str(p.src), "methods": list(ex.maps)})
        report(run.progress, "photos", len(plan), len(plan))


@command(app, "train")
def train_cmd(
    photos_dir: Annotated[Path, typer.Argument(help="Folder of colour photos (sub-folders included).", exists=True, file_okay=False)],
    output: OutputOpt,
    epochs: Annotated[int, typer.Option(help="Passes; each draws --crops random crops from every photo.")] = 10,
    size: Annotated[int, typer.Option(help="Crop side in pixels (multiple of 8).")] = 128,
    batch: Annotated[int, typer.Option(help="Crops per step.")] = 16,
    crops: Annotated[int, typer.Option(help="Crops per photo per epoch.")] = 32,
    lr: Annotated[float, typer.Option(help="Adam learning rate.")] = 3e-3,
    loss: Annotated[Loss, typer.Option(help="classification (Zhang 2016, class-rebalanced, annealed mean; measured better) or regression.")] = Loss.classification,
    backbone: Annotated[str, typer.Option(help="Frozen feature network: efficientnet-lite0 or vgg16-hed.")] = "efficientnet-lite0",
    resume: Annotated[bool, typer.Option("--resume", help="Continue from the checkpoint MODEL.ckpt.safetensors beside OUTPUT (written after every epoch), and replace OUTPUT with the longer-trained model.")] = False,
    patterns: Annotated[bool, typer.Option("--patterns/--no-patterns", help="Afterwards fit the PatternNet patterns `--explain` shows (MODEL.patterns.safetensors; about 40 s).")] = False,
    seed: SeedOpt = 0,
    device: DeviceOpt = "auto",
    quiet: QuietOpt = False,
    verbose: VerboseOpt = False,
    force: ForceOpt = False,
) -> None:
    """Train a colouriser on any folder of colour photos (self-supervised: gray in, colour out).

    The model file keeps its recipe and photo list; a manifest MODEL.json goes beside it.

    \b
    Example:
      artkit colorize train holiday_photos/ -o holiday.safetensors --epochs 5
    """
    from artkit.color.explain import readout
    from artkit.color.model import ColorModelConfig
    from artkit.color.patterns import fit_color_patterns, patterns_path, save_color_patterns
    from artkit.color.training import TrainConfig, train
    from artkit.core.checkpoint import checkpoint_path

    cfg = TrainConfig(epochs=epochs, size=size, batch=batch, lr=lr, crops_per_image=crops,
                      model=ColorModelConfig(backbone=backbone, loss=loss.value))
    cfg.validate()
    if patterns and cfg.model.loss != "classification":
        raise ArtkitError("--patterns needs a classification model (regression cannot be "
                          "explained)", "drop --patterns or use --loss classification")
    ckpt = checkpoint_path(output)
    if ckpt.exists() and not resume and not force:
        raise ArtkitError(f"a checkpoint of an earlier run exists: '{ckpt}'",
                          "continue it with --resume, or start over with --force")
    params = dict(photos_dir=photos_dir, epochs=epochs, size=size, batch=batch, crops=crops,
                  lr=lr, loss=loss.value, backbone=backbone, resume=resume, patterns=patterns)
    run = Run("artkit colorize train", params=params, force=force or resume, quiet=quiet,
              verbose=verbose, seed=seed, device=device, inputs=[ckpt])  # --resume replaces OUT
    run.output(output, suffixes={".safetensors"}, what="model file")
    target = run.output(patterns_path(output), suffixes={".safetensors"}, manifest=False,
                        what="patterns file") if patterns else None
    with run:
        trained = train(photos_dir, config=cfg, checkpoint=ckpt, resume=resume, device=run.device,
                        generator=run.generator, progress=run.progress)
        for path, why in trained.skipped:
            info(f"skipped {path}: {why}", quiet)
        trained.model.decoder.half().float()  # as the file stores it (patterns fit on that)
        run.save_with(output, lambda tmp: trained.save(tmp, force=True), result=trained,
                      extra=trained.record())
        info(f"{len(trained.photos)} photos, loss per epoch "
             + " ".join(f"{v:.3f}" for v in trained.epoch_losses)
             + f", {trained.images_per_second:.1f} images/s", quiet)
        if target is not None and run.world.is_main:  # under torchrun: rank 0's job
            pats = fit_color_patterns(readout(trained.model), photos_dir, generator=run.generator,
                                      device=run.device, progress=run.progress)
            run.save_with(target, lambda tmp: save_color_patterns(pats, tmp, force=True))


@command(app, "fit-patterns")
def fit_patterns_cmd(
    photos_dir: Annotated[Path, typer.Argument(help="Folder of colour photos (the model's training photos are a good choice).", exists=True, file_okay=False)],
    model: Annotated[Optional[str], typer.Option("--model", "-m", help="Your model file (.safetensors); the patterns go beside it.")] = None,
    crops: Annotated[int, typer.Option(help="Random gray crops (192²) to fit on.", min=16)] = 160,
    seed: SeedOpt = 0,
    device: DeviceOpt = "auto",
    quiet: QuietOpt = False,
    verbose: VerboseOpt = False,
    force: ForceOpt = False,
) -> None:
    """Fit the PatternNet patterns that --explain shows, beside the model:
    MODEL.patterns.safetensors (`train --patterns` does this itself; the shipped model's ship
    with it).

    \b
    Example:
      artkit colorize fit-patterns my_photos/ --model mine.safetensors
    """
    from artkit.color.api import Colorizer
    from artkit.color.explain import readout
    from artkit.color.patterns import fit_color_patterns, patterns_path, save_color_patterns

    model_path = _check_model(model)
    if model_path is None:
        raise ArtkitError("the shipped model's patterns ship with it; fit-patterns writes "
                          "MODEL.patterns.safetensors beside your own model",
                          "give --model MODEL.safetensors")
    run = Run("artkit colorize fit-patterns", params=dict(photos_dir=photos_dir, model=model,
                                                          crops=crops),
              force=force, quiet=quiet, verbose=verbose, seed=seed, device=device)
    target = run.output(patterns_path(model_path), suffixes={".safetensors"}, manifest=False,
                        what="patterns file")
    with run:
        net = readout(Colorizer(model_path, device=run.device, methods=("model",)).model)
        pats = fit_color_patterns(net, photos_dir, crops=crops, generator=run.generator,
                                  device=run.device, progress=run.progress)
        run.save_with(target, lambda tmp: save_color_patterns(pats, tmp, force=True))


@command(app, "evaluate")
def evaluate_cmd(
    photos_dir: Annotated[Path, typer.Argument(help="Folder of colour photos (the ground truth).", exists=True, file_okay=False)],
    method: Annotated[Method, typer.Option(help="model, exemplar (leave-one-out references from the folder) or hints (simulated scribbles).")] = Method.model,
    model: ModelOpt = None,
    max_side: Annotated[int, typer.Option(help="Scale photos so their long side is at most this.", min=16)] = 384,
    render_size: Annotated[Optional[int], typer.Option(help="Long side at which chroma is computed.", min=16)] = None,
    output: OptionalOutputOpt = None,
    as_json: JsonOpt = False,
    seed: SeedOpt = 0,
    device: DeviceOpt = "auto",
    quiet: QuietOpt = False,
    verbose: VerboseOpt = False,
    force: ForceOpt = False,
) -> None:
    """Make colour photos gray, colour them, and compare with the originals and two baselines.

    AuC of the per-pixel ab error over thresholds 0–150 (plain and class-rebalanced), PSNR, and
    the colourfulness ratio to the original; baselines: the gray image, and gray plus the
    training set's mean chroma.

    \b
    Example:
      artkit colorize evaluate my_photos/ --method model -o figures.json
    """
    from artkit.color.evaluation import evaluate

    model_path = _check_model(model)
    run = Run("artkit colorize evaluate", params=dict(photos_dir=photos_dir, method=method.value,
                                                      model=model, max_side=max_side,
                                                      render_size=render_size),
              force=force, quiet=quiet, verbose=verbose, seed=seed, device=device)
    if output is not None:
        run.output(output, suffixes={".json"}, what="figures file")
    with run:
        res = evaluate(photos_dir, method.value, model=model_path, device=run.device,
                       max_side=max_side, render_size=render_size, generator=run.generator,
                       progress=run.progress)
        for path, why in res.skipped:
            info(f"skipped {path}: {why}", quiet)
        print_table(f"colorize evaluate: {len(res.per_image)} photos, long side ≤ {max_side}, "
                    f"{res.seconds_per_image:.2f} s per photo",
                    ["", "AuC", "AuC rebalanced", "PSNR (dB)", "colourfulness ratio"],
                    [[name, r["auc"], r["auc_rebalanced"], r["psnr"], r["colourfulness_ratio"]]
                     for name, r in res.rows.items()],
                    data=res.to_dict(), as_json=as_json, quiet=quiet)
        if output is not None:
            run.save_json(output, res.to_dict(), result=res)
