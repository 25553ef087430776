"""``artkit colorize``: colour gray photos (files or folders), train a colouriser, evaluate."""

from __future__ import annotations

import enum
import json
import time
from pathlib import Path
from typing import Annotated, List, Optional

import typer
from typer.core import TyperGroup

from artkit.core.console import (DeviceOpt, ForceOpt, ProgressBars, QuietOpt, SeedOpt, command,
                                 error, guarded, info)
from artkit.core.errors import ArtkitError
from artkit.core.files import check_output

IMAGE_OUT = {".png", ".jpg", ".jpeg", ".webp"}


class _DefaultToRun(TyperGroup):
    """``artkit colorize IN... -o OUT`` runs the hidden ``run`` command; ``train``/``evaluate``
    stay sub-commands."""

    def parse_args(self, ctx, args):
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h"):
            args = ["run", *args]
        return super().parse_args(ctx, args)


app = typer.Typer(
    cls=_DefaultToRun, pretty_exceptions_enable=False, no_args_is_help=True,
    help="Colour black-and-white photos: learned (model), by example (exemplar) or from "
         "scribbles (hints).",
    epilog="Usage: artkit colorize IN... -o OUT [--method auto|model|exemplar|hints] (the word "
           "`run` may be left out; see `artkit colorize run --help` for every option).\n\n"
           "\b\nExamples:\n"
           "  artkit colorize old.jpg -o old_colour.png\n"
           "  artkit colorize scans/ -o coloured/\n"
           "  artkit colorize photo.png --hints scribbles.png -o out.png\n"
           "  artkit colorize photo.png --reference beach.jpg -o out.png\n"
           "  artkit colorize train my_photos/ -o mine.safetensors\n"
           "  artkit colorize evaluate my_photos/")


class Method(str, enum.Enum):
    auto = "auto"
    model = "model"
    exemplar = "exemplar"
    hints = "hints"


class ExplainMethod(str, enum.Enum):
    patternattribution = "patternattribution"
    patternnet = "patternnet"
    gradient = "gradient"
    input_x_gradient = "input_x_gradient"
    smoothgrad = "smoothgrad"
    lrp_epsilon = "lrp_epsilon"


class Loss(str, enum.Enum):
    classification = "classification"
    regression = "regression"


def plan_outputs(inputs: list[Path], output: Path) -> list[Path]:
    """Where each input's result goes: OUT itself for one input and an image suffix, else
    OUT/<stem>.png (stems made unique)."""
    if len(inputs) == 1 and output.suffix.lower() in IMAGE_OUT:
        return [output]
    if output.suffix.lower() in IMAGE_OUT:
        raise ArtkitError(f"{len(inputs)} inputs need an output folder, not the file '{output}'",
                          "give -o FOLDER")
    if output.exists() and not output.is_dir():
        raise ArtkitError(f"output '{output}' is a file, not a folder")
    seen: dict[str, int] = {}
    outs = []
    for p in inputs:
        stem = p.stem
        n = seen.get(stem, 0)
        seen[stem] = n + 1
        outs.append(output / (f"{stem}.png" if n == 0 else f"{stem}_{n + 1}.png"))
    return outs


def _hints_for(hints: Optional[Path], image: Path, n_inputs: int) -> Optional[Path]:
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


@app.command("run")
@guarded
def run_cmd(
    inputs: Annotated[List[Path], typer.Argument(help="Photos or folders of photos.", metavar="IN...")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Output image (one input) or folder (several / a folder); a manifest .json goes beside each image.")],
    method: Annotated[Method, typer.Option(help="auto: hints when --hints is given, else exemplar when --reference is given, else model.")] = Method.auto,
    hints: Annotated[Optional[Path], typer.Option(help="Scribble image: coloured strokes over the gray photo (same size), or on a transparent layer; a folder of <photo name>.png for a batch.")] = None,
    reference: Annotated[Optional[List[Path]], typer.Option(help="Reference colour photo(s) or folder(s) for --method exemplar (repeatable); from a folder the 3 closest are used.")] = None,
    model: Annotated[Optional[Path], typer.Option(help="Model from `artkit colorize train` (default: the shipped model).")] = None,
    render_size: Annotated[Optional[int], typer.Option(help="Long side at which chroma is computed (default: 256 for model/exemplar, 512 for hints); luminance always stays at full size.")] = None,
    keep_color_input: Annotated[bool, typer.Option("--keep-color-input", help="Pass colour photos through unchanged (by default they are made gray, then coloured).")] = False,
    saturation: Annotated[float, typer.Option(help="Model method: scale of the predicted chroma (1 = as predicted; the default was chosen on validation photos, more is more colourful and more often wrong).", min=0.0, max=2.0)] = 0.75,
    explain: Annotated[bool, typer.Option("--explain", help="Also write NAME.explain.png beside each result: heatmaps of what in the gray photo drove each colour region (model method only).")] = False,
    explain_method: Annotated[Optional[List[ExplainMethod]], typer.Option(help="Attribution method(s) of --explain, one row each (repeatable). Default: patternnet (the signal behind each colour; needs patterns, shipped for the default model, `artkit colorize fit-patterns` for yours) and lrp_epsilon (which pixels carry the evidence; measured best in the degradation test of benchmarks/colorize.py).")] = None,
    seed: SeedOpt = 0,
    device: DeviceOpt = "auto",
    quiet: QuietOpt = False,
    force: ForceOpt = False,
) -> None:
    """Colour photos (files or folders); `run` may be left out.

    Colour photos are made gray first (so you can try it on your own), unless
    --keep-color-input. A batch goes on past a bad file and exits 1 at the end.

    \b
    Examples:
      artkit colorize old.jpg -o old_colour.png
      artkit colorize scans/ -o coloured/ --method model
      artkit colorize photo.png --hints scribbles.png -o out.png
      artkit colorize photo.png --reference holiday/ -o out.png
      artkit colorize old.jpg -o old_colour.png --explain
    """
    from artkit.color.api import _resolve_method, colorize
    from artkit.color.inputs import list_images
    from artkit.core.images import save_image
    from artkit.core.manifest import build_manifest, write_manifest
    from artkit.core.runtime import resolve_device

    if hints is not None and not hints.exists():
        raise ArtkitError(f"hints '{hints}' does not exist")
    files = list_images(inputs)
    outs = plan_outputs(files, output)
    explain_outs = [explain_path(out) for out in outs] if explain else []
    if explain and _resolve_method(method.value, hints, reference) != "model":
        raise ArtkitError("--explain explains the learned model, not exemplar or hints colouring",
                          "use it with --method model (the default without --hints/--reference)")
    for out in outs + explain_outs:
        check_output(out, force)
    dev = resolve_device(device)
    if explain:
        methods, patterns = _explain_setup(model, explain_method, dev, quiet)
    failed: list[tuple[Path, str]] = []
    with ProgressBars(quiet) as bars:
        for i, (src, dst) in enumerate(zip(files, outs)):
            bars(_event("photos", i, len(files), src.name))
            t0 = time.perf_counter()
            try:
                res = colorize(src, method.value, hints=_hints_for(hints, src, len(files)),
                               reference=reference or None, model=model,
                               render_size=render_size, keep_color_input=keep_color_input,
                               saturation=saturation, device=dev)
                manifest = build_manifest(
                    "artkit colorize", dict(input=src, method=method.value, hints=hints,
                                            reference=reference, model=model,
                                            render_size=render_size,
                                            keep_color_input=keep_color_input,
                                            saturation=saturation,
                                            explain=methods if explain else None),
                    seed=seed, device=str(dev), wall_time=time.perf_counter() - t0,
                    extra={"method": res.method, "chroma_size": res.chroma_size,
                           "was_color": res.was_color, **res.details})
                picture = None
                if explain:
                    from artkit.color.explain import explain_colors

                    exs = [explain_colors(src, model=model, method=m, patterns=patterns,
                                          seed=seed or 0, device=dev) for m in methods]
                    picture = exs[0].picture(*exs[1:])
                save_image(res.image, dst, force=force, manifest=manifest)
                write_manifest(dst, manifest, force=True)
                if picture is not None:
                    save_image(picture, explain_path(dst), force=force)
            except ArtkitError as exc:
                failed.append((src, exc.one_line()))
                info(f"error: {src}: {exc.one_line()}", False)
                continue
            also = f" and {explain_path(dst)}" if explain else ""
            info(f"wrote {dst}{also} ({res.method}, {res.seconds:.2f} s)", quiet)
        bars(_event("photos", len(files), len(files), ""))
    if failed:
        raise error(f"{len(failed)} of {len(files)} input(s) failed: "
                    + ", ".join(str(p) for p, _ in failed))


def _explain_setup(model: Optional[Path], chosen, device, quiet: bool):
    """The methods ``--explain`` runs and the patterns they need (None if none)."""
    from artkit.color.api import get_model
    from artkit.color.explain import load_color_patterns, readout
    from artkit.explain.attribute import NEEDS_PATTERNS

    net = readout(get_model(model, device)[0])
    if chosen:
        methods = list(dict.fromkeys(m.value for m in chosen))
        needs = any(m in NEEDS_PATTERNS for m in methods)
        return methods, load_color_patterns(net, model) if needs else None
    try:
        return ["patternnet", "lrp_epsilon"], load_color_patterns(net, model)
    except ArtkitError as exc:
        info(f"note: {exc.one_line()}; explaining with lrp_epsilon only", quiet)
        return ["lrp_epsilon"], None


def explain_path(out: Path) -> Path:
    """Where ``--explain`` writes the heatmaps of the result ``out``: ``NAME.explain.png``."""
    return out.with_name(f"{out.stem}.explain.png")


def _event(task, done, total, message):
    from artkit.core.progress import ProgressEvent

    return ProgressEvent(task, done, total, message)


@command(app, "train")
def train_cmd(
    photos_dir: Annotated[Path, typer.Argument(help="Folder of colour photos (sub-folders included).", exists=True, file_okay=False)],
    output: Annotated[Path, typer.Option("--output", "-o", help="The model file (.safetensors); a checkpoint MODEL.ckpt.safetensors is kept beside it while training.")],
    epochs: Annotated[int, typer.Option(help="Passes; each draws --crops random crops from every photo.")] = 10,
    size: Annotated[int, typer.Option(help="Crop side in pixels (multiple of 8).")] = 128,
    batch: Annotated[int, typer.Option(help="Crops per step.")] = 16,
    crops: Annotated[int, typer.Option(help="Crops per photo per epoch.")] = 32,
    lr: Annotated[float, typer.Option(help="Adam learning rate.")] = 3e-3,
    loss: Annotated[Loss, typer.Option(help="classification (Zhang 2016, class-rebalanced, annealed mean; measured better) or regression.")] = Loss.classification,
    backbone: Annotated[str, typer.Option(help="Frozen feature network: efficientnet-lite0 or vgg16-hed.")] = "efficientnet-lite0",
    resume: Annotated[bool, typer.Option("--resume", help="Continue from the checkpoint beside OUTPUT.")] = False,
    patterns: Annotated[bool, typer.Option("--patterns/--no-patterns", help="Afterwards fit the PatternNet patterns that `--explain --explain-method patternnet|patternattribution` needs (MODEL.patterns.safetensors; about 40 s).")] = False,
    seed: SeedOpt = 0,
    device: DeviceOpt = "auto",
    quiet: QuietOpt = False,
    force: ForceOpt = False,
) -> None:
    """Train a colouriser on any folder of colour photos (self-supervised: gray in, colour out).

    \b
    Example:
      artkit colorize train holiday_photos/ -o holiday.safetensors --epochs 5
    """
    from artkit.color.model import ColorModelConfig
    from artkit.color.train import TrainConfig, train
    from artkit.core.manifest import build_manifest, write_manifest

    if not resume:
        check_output(output, force)
    if patterns:
        from artkit.color.explain import patterns_path

        check_output(patterns_path(output), force or resume)
    cfg = TrainConfig(epochs=epochs, size=size, batch=batch, lr=lr, crops_per_image=crops,
                      model=ColorModelConfig(backbone=backbone, loss=loss.value))
    with ProgressBars(quiet) as bars:
        res = train(photos_dir, output, config=cfg, resume=resume, seed=seed or 0, progress=bars)
    extra = {"photos": [Path(p).name for p in res.photos], "epoch_losses": res.epoch_losses,
             "images_per_second": round(res.images_per_second, 2)}
    res.model.save(output, extra=extra, force=True)
    write_manifest(output, build_manifest(
        "artkit colorize train", dict(photos_dir=photos_dir, epochs=epochs, size=size,
                                      batch=batch, crops=crops, lr=lr, loss=loss.value,
                                      backbone=backbone, resume=resume),
        seed=seed, device="cpu", wall_time=res.seconds, extra=extra))
    for path, why in res.skipped:
        info(f"skipped {path}: {why}", quiet)
    info(f"wrote {output}: {len(res.photos)} photos, loss per epoch "
         + " ".join(f"{v:.3f}" for v in res.epoch_losses)
         + f", {res.images_per_second:.1f} images/s", quiet)
    if patterns and res.model.config.loss == "classification":
        from artkit.color.model import load_model

        # Patterns belong to the weights as saved (float16), so fit them on the file's model.
        _fit_patterns(load_model(output)[0], photos_dir, output, 160, seed or 0, "cpu", True,
                      quiet)


def _fit_patterns(color_model, photos_dir: Path, model_path: Optional[Path], crops: int,
                  seed: int, device, force: bool, quiet: bool) -> Path:
    from artkit.color.explain import fit_color_patterns, patterns_path

    target = patterns_path(model_path)
    check_output(target, force)
    t0 = time.perf_counter()
    with ProgressBars(quiet) as bars:
        pats = fit_color_patterns(color_model, photos_dir, crops=crops, seed=seed, device=device,
                                  progress=bars)
    pats.save(target, force=force, dtype="int8")
    info(f"wrote {target}: PatternNet patterns from {crops} gray crops of "
         f"{pats.meta['photos']} photos ({time.perf_counter() - t0:.0f} s)", quiet)
    return target


@command(app, "fit-patterns")
def fit_patterns_cmd(
    photos_dir: Annotated[Path, typer.Argument(help="Folder of colour photos (the model's training photos are a good choice).", exists=True, file_okay=False)],
    model: Annotated[Optional[Path], typer.Option(help="Model file (default: the shipped model).")] = None,
    crops: Annotated[int, typer.Option(help="Random gray crops (192²) to fit on.")] = 160,
    seed: SeedOpt = 0,
    device: DeviceOpt = "auto",
    quiet: QuietOpt = False,
    force: ForceOpt = False,
) -> None:
    """Fit the PatternNet patterns that `--explain-method patternnet|patternattribution` needs,
    beside the model: MODEL.patterns.safetensors (`artkit colorize train --patterns` does this
    itself; the shipped model's ship with it).

    \b
    Example:
      artkit colorize fit-patterns my_photos/ --model mine.safetensors
    """
    from artkit.color.api import get_model
    from artkit.core.runtime import resolve_device

    if crops < 16:
        raise ArtkitError(f"--crops must be at least 16, got {crops}")
    dev = resolve_device(device)
    cm, _ = get_model(model, dev)
    if cm.config.loss != "classification":
        raise ArtkitError(f"model '{model}' regresses ab and cannot be explained",
                          "train with --loss classification (the default)")
    _fit_patterns(cm, photos_dir, model, crops, seed or 0, dev, force, quiet)


@command(app, "evaluate")
def evaluate_cmd(
    photos_dir: Annotated[Path, typer.Argument(help="Folder of colour photos (the ground truth).", exists=True, file_okay=False)],
    method: Annotated[Method, typer.Option(help="model, exemplar (leave-one-out references from the folder) or hints (simulated scribbles).")] = Method.model,
    model: Annotated[Optional[Path], typer.Option(help="Model file (default: the shipped model).")] = None,
    max_side: Annotated[int, typer.Option(help="Scale photos so their long side is at most this.")] = 384,
    render_size: Annotated[Optional[int], typer.Option(help="Long side at which chroma is computed.")] = None,
    json_out: Annotated[Optional[Path], typer.Option("--json", help="Also write the figures as JSON here.")] = None,
    seed: SeedOpt = 0,
    device: DeviceOpt = "auto",
    quiet: QuietOpt = False,
    force: ForceOpt = False,
) -> None:
    """Make colour photos gray, colour them, and compare with the originals and two baselines.

    AuC of the per-pixel ab error over thresholds 0–150 (plain and class-rebalanced), PSNR, and
    the colourfulness ratio to the original.

    \b
    Example:
      artkit colorize evaluate my_photos/ --method model
    """
    from rich.console import Console
    from rich.table import Table

    from artkit.color.evaluate import evaluate
    from artkit.core.files import atomic_write_text
    from artkit.core.runtime import resolve_device

    if json_out is not None:
        check_output(json_out, force)
    with ProgressBars(quiet) as bars:
        res = evaluate(photos_dir, method.value, model=model, max_side=max_side,
                       render_size=render_size, seed=seed or 0, device=resolve_device(device),
                       progress=bars)
    for path, why in res.skipped:
        info(f"skipped {path}: {why}", quiet)
    table = Table(title=f"colorize evaluate: {len(res.per_image)} photos, long side ≤ {max_side}")
    for col in ("", "AuC", "AuC rebalanced", "PSNR (dB)", "colourfulness ratio"):
        table.add_column(col, justify="right")
    for name, row in res.rows.items():
        table.add_row(name, f"{row['auc']:.4f}", f"{row['auc_rebalanced']:.4f}",
                      f"{row['psnr']:.2f}", f"{row['colourfulness_ratio']:.3f}")
    table.caption = f"{res.seconds_per_image:.2f} s per photo"
    Console().print(table)
    if json_out is not None:
        atomic_write_text(json_out, json.dumps({"method": res.method, "rows": res.rows,
                                                "per_image": res.per_image,
                                                "skipped": res.skipped}, indent=2) + "\n",
                          force=force)
