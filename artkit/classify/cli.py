"""``artkit classify``: train a photo classifier on frozen features, predict, zero-shot ImageNet."""

from __future__ import annotations

import enum
import json
import time
from pathlib import Path
from typing import Annotated, List, Optional

import typer

from artkit.core.console import DeviceOpt, ForceOpt, ProgressBars, QuietOpt, SeedOpt, command, info
from artkit.core.errors import ArtkitError
from artkit.core.files import check_output

app = typer.Typer(pretty_exceptions_enable=False, no_args_is_help=True,
                  help="Photo classifiers on frozen pretrained features (DeepDoggo done properly).")


class Group(str, enum.Enum):
    dog = "dog"
    cat = "cat"


def _skipped(path, why: str, quiet: bool) -> None:
    info(f"skipped: {why}" if str(path) in why else f"skipped {path}: {why}", quiet)


def report_path(model: Path) -> Path:
    """``dogs.safetensors`` -> ``dogs.report.json``."""
    return model.with_name(model.stem + ".report.json")


def figure_path(model: Path) -> Path:
    """``dogs.safetensors`` -> ``dogs.report.png``."""
    return model.with_name(model.stem + ".report.png")


def _report_table(rep: dict):
    from rich.table import Table

    acc, zr = rep["accuracy"], rep["zeror"]
    table = Table(title=f"{rep['folds']}-fold cross-validation on {rep['n_images']} images "
                        f"({rep['backbone']} features)")
    table.add_column("label")
    table.add_column("images", justify="right")
    table.add_column("precision", justify="right")
    table.add_column("recall", justify="right")
    for lab in rep["labels"]:
        table.add_column(f"→ {lab}", justify="right")
    for lab, row in zip(rep["labels"], rep["confusion"]["matrix"]):
        pc = rep["per_class"][lab]
        table.add_row(lab, str(pc["support"]), f"{pc['precision']:.3f}", f"{pc['recall']:.3f}",
                      *[str(v) for v in row])
    table.caption = (f"accuracy {acc['mean']:.3f} ± {acc['std']:.3f}   ZeroR "
                     f"{zr['accuracy']:.3f} (always '{zr['majority_label']}')   "
                     f"ECE {rep['ece']:.3f}   C {rep['C']:g}")
    return table


@command(app, "train")
def train_cmd(
    data_dir: Annotated[Path, typer.Argument(help="One sub-folder of images per label.", exists=True, file_okay=False)],
    output: Annotated[Path, typer.Option("--output", "-o", help="The model file (.safetensors); MODEL.report.json, MODEL.report.png and MODEL.json are written beside it.")],
    folds: Annotated[int, typer.Option(help="Cross-validation folds.")] = 5,
    backbone: Annotated[str, typer.Option(help="Feature network.")] = "efficientnet-lite0",
    seed: SeedOpt = 0,
    device: DeviceOpt = "auto",
    quiet: QuietOpt = False,
    force: ForceOpt = False,
) -> None:
    """Train a classifier on DATA_DIR/<label>/<images> and report how well it works.

    \b
    Example:
      artkit classify train photos/ -o dogs.safetensors
    """
    from rich.console import Console

    from artkit.classify.api import train
    from artkit.core.files import atomic_write_text
    from artkit.core.manifest import build_manifest, write_manifest
    from artkit.core.runtime import resolve_device

    from artkit.classify.figure import write_report_png

    rep_file = report_path(output)
    png_file = figure_path(output)
    check_output(output, force)
    check_output(rep_file, force)
    check_output(png_file, force)
    dev = resolve_device(device)
    t0 = time.perf_counter()
    with ProgressBars(quiet) as bars:
        clf = train(data_dir, backbone=backbone, folds=folds, seed=seed or 0, progress=bars,
                    device=dev)
    rep = clf.report
    clf.save(output, force=force)
    atomic_write_text(rep_file, json.dumps(rep, indent=2) + "\n", force=force)
    write_report_png(rep, png_file, force=force)
    write_manifest(output, build_manifest(
        "artkit classify train", dict(data_dir=data_dir, folds=folds, backbone=backbone),
        seed=seed, device=str(dev), wall_time=time.perf_counter() - t0,
        extra={"accuracy": rep["accuracy"], "zeror": rep["zeror"]}))
    for path, why in rep["skipped"]:
        _skipped(path, why, quiet)
    for a, b in rep["duplicates"]:
        info(f"warning: {a} and {b} are the same image under different labels", quiet)
    for note in rep["notes"]:
        info(f"note: {note}", quiet)
    if not quiet:
        Console().print(_report_table(rep))
    info(f"wrote {output}, {rep_file} and {png_file}", quiet)


@command(app, "predict")
def predict_cmd(
    images: Annotated[List[Path], typer.Argument(help="Images or folders of images.")],
    model: Annotated[Path, typer.Option("--model", "-m", help="A model from `artkit classify train`.")],
    explain: Annotated[Optional[Path], typer.Option(
        "--explain", help="Also write a PatternAttribution heatmap of the whole pipeline "
                          "(backbone + head) per image into this folder: NAME.explain.png.")] = None,
    device: DeviceOpt = "auto",
    quiet: QuietOpt = False,
    force: ForceOpt = False,
) -> None:
    """Label images with a trained classifier: one line per image, label then probabilities.

    \b
    Example:
      artkit classify predict photos/ -m dogs.safetensors --explain heatmaps/
    """
    from artkit.classify.api import Classifier
    from artkit.core.runtime import resolve_device

    clf = Classifier.load(model)
    if explain is not None and clf.pattern is None:
        raise ArtkitError(f"model '{model}' was saved without a head pattern, so it cannot be explained",
                          "retrain it with this version of `artkit classify train`")
    with ProgressBars(True) as bars:
        preds, skipped = clf.predict(images, device=resolve_device(device), progress=bars)
    for path, why in skipped:
        _skipped(path, why, quiet)
    if not preds:
        raise ArtkitError("no readable images among the inputs")
    for p in preds:
        probs = "  ".join(f"{lab}={v:.3f}" for lab, v in p.probabilities.items())
        typer.echo(f"{p.path}\t{p.label}\t{probs}")
    if explain is not None:
        _explain_predictions(model, preds, clf.labels, explain, device, force, quiet)


def _explain_predictions(model: Path, preds, labels, folder: Path, device: str, force: bool,
                         quiet: bool) -> None:
    from artkit.core.images import load_image, save_image
    from artkit.core.runtime import resolve_device
    from artkit.explain.api import explain as explain_one, load_patterns
    from artkit.explain.models import load_model
    from artkit.explain.render import grid

    targets = [folder / f"{Path(p.path).stem}.explain.png" for p in preds]
    for t in targets:
        check_output(t, force)
    ex = load_model(str(model), resolve_device(device))
    pats = load_patterns(ex)
    dev = next(ex.model.parameters()).device
    for p, target in zip(preds, targets):
        photo = load_image(p.path)
        res = explain_one(ex, ex.preprocess(photo).to(dev), ("patternattribution", "patternnet"),
                          labels.index(p.label), pats)
        picture = grid(photo, {m: a.cpu() for m, a in res.maps.items()},
                       f"{p.label} ({res.score:.2f})")
        save_image(picture, target, force=force)
    info(f"wrote {len(targets)} heatmap(s) to {folder}", quiet)


@command(app, "imagenet")
def imagenet_cmd(
    images: Annotated[List[Path], typer.Argument(help="Images or folders of images.")],
    top: Annotated[int, typer.Option("--top", help="How many classes to show.")] = 5,
    is_: Annotated[Group | None, typer.Option("--is", help="Also answer yes/no: is it a dog / a cat?")] = None,
    device: DeviceOpt = "auto",
    quiet: QuietOpt = False,
) -> None:
    """Zero-shot: the top ImageNet classes of each image (EfficientNet-Lite0, no training)."""
    from artkit.classify.api import imagenet
    from artkit.core.runtime import resolve_device

    preds, skipped = imagenet(images, top, device=resolve_device(device))
    for path, why in skipped:
        _skipped(path, why, quiet)
    if not preds:
        raise ArtkitError("no readable images among the inputs")
    for p in preds:
        typer.echo(f"{p.path}")
        for idx, name, prob in p.top:
            typer.echo(f"  {prob:6.3f}  {name} ({idx})")
        if is_ is not None:
            group = is_.value
            answer = "yes" if p.is_(group) else "no"
            typer.echo(f"  is {group}: {answer} (p({group}) = {getattr(p, group):.3f})")


def _parse_eps(text: str) -> list[float]:
    try:
        values = [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise ArtkitError(f"--eps must be comma-separated numbers, got '{text}'",
                          "e.g. --eps 1,2,4") from None
    if not values or any(not v >= 0 for v in values):
        raise ArtkitError(f"--eps must be non-negative grey levels, got '{text}'", "e.g. --eps 1,2,4")
    return values


def _robustness_table(res: dict):
    from rich.table import Table

    table = Table(title=f"accuracy under L∞ perturbations of ε/255 ({res['n']} images, "
                        f"PGD {res['steps']} steps)")
    for col in ("ε (grey levels)", "clean", "uniform noise", "FGSM", "PGD"):
        table.add_column(col, justify="right")
    for row in res["eps"]:
        table.add_row(f"{row['eps']:g}", f"{res['clean']:.3f}", f"{row['noise']:.3f}",
                      f"{row['fgsm']:.3f}", f"{row['pgd']:.3f}")
    table.caption = "  ".join(f"{lab}: {c}" for lab, c in res["counts"].items())
    return table


@command(app, "robustness")
def robustness_cmd(
    data_dir: Annotated[Path, typer.Argument(help="One sub-folder of images per label (the model's labels).", exists=True, file_okay=False)],
    model: Annotated[Path, typer.Option("--model", "-m", help="A model from `artkit classify train`.")],
    eps: Annotated[str, typer.Option("--eps", help="Comma-separated L∞ radii in grey levels (ε/255).")] = "1,2,4",
    steps: Annotated[int, typer.Option("--steps", help="PGD steps (each ε/255/4, from a random start).")] = 10,
    json_out: Annotated[Optional[Path], typer.Option("--json", help="Also write the results as JSON here.")] = None,
    seed: SeedOpt = 0,
    device: DeviceOpt = "auto",
    quiet: QuietOpt = False,
    force: ForceOpt = False,
) -> None:
    """Does an "imperceptible noise filter" turn a bad dog good? Accuracy on DATA_DIR clean,
    under uniform noise, FGSM and PGD of L∞ size ε/255, through the whole network.

    \b
    Example:
      artkit classify robustness photos/ --model dogs.safetensors --eps 1,2,4 --steps 10
    """
    from rich.console import Console

    from artkit.classify.api import Classifier, robustness
    from artkit.core.runtime import make_generator, resolve_device

    eps_list = _parse_eps(eps)
    if json_out is not None:
        check_output(json_out, force)
    clf = Classifier.load(model)
    dev = resolve_device(device)
    with ProgressBars(quiet) as bars:
        res = robustness(data_dir, clf, eps_list, steps, generator=make_generator(seed, dev),
                         device=dev, progress=bars)
    for path, why in res["skipped"]:
        _skipped(path, why, quiet)
    Console().print(_robustness_table(res))
    if json_out is not None:
        from artkit.core.files import atomic_write_text

        atomic_write_text(json_out, json.dumps(res, indent=2) + "\n", force=True)
        info(f"wrote {json_out}", quiet)
