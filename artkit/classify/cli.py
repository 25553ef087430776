"""``artkit classify``: train a photo classifier on frozen features, predict, zero-shot ImageNet."""

from __future__ import annotations

import enum
import os
from pathlib import Path
from typing import Annotated, List, Optional

import typer

from artkit.core.cli import (DeviceOpt, ForceOpt, JsonOpt, QuietOpt, Run, SeedOpt, capability_app,
                             command, info, print_table)
from artkit.core.errors import ArtkitError

app = capability_app("Photo classifiers on frozen pretrained features (DeepDoggo done properly).",
                     default="predict")
ModelFileOpt = Annotated[Path, typer.Option("--model", "-m", help="A model from `artkit classify train`.")]


class Group(str, enum.Enum):
    dog = "dog"
    cat = "cat"


def _skipped(path, why: str, quiet: bool) -> None:
    info(f"skipped: {why}" if str(path) in why else f"skipped {path}: {why}", quiet)


def _readable_images(images: List[Path], quiet: bool, exclude: tuple = ()) -> List[Path]:
    """The image files under ``images`` (folders with their sub-folders, so a labelled training
    folder can be predicted; ``exclude``: folders never read, e.g. the --explain output) that
    decode, checked before any network loads (a decode costs less than the network's pass);
    the others are reported as skipped. None readable is an error (one input: its reason)."""
    from artkit.core.images import list_images, load_image

    files, unreadable = [], []
    for f in list_images(images, recursive=True, exclude=exclude):
        try:
            load_image(f)
            files.append(f)
        except ArtkitError as exc:
            unreadable.append((f, exc.one_line()))
    if not files:
        raise ArtkitError("no readable images among the inputs"
                          + (f": {unreadable[0][1]}" if len(unreadable) == 1 else ""))
    for path, why in unreadable:
        _skipped(path, why, quiet)
    return files


def report_path(model: Path) -> Path:
    """``dogs.safetensors`` -> ``dogs.report.json``."""
    return model.with_name(model.stem + ".report.json")


def figure_path(model: Path) -> Path:
    """``dogs.safetensors`` -> ``dogs.report.png``."""
    return model.with_name(model.stem + ".report.png")


def explain_names(paths: list[Path]) -> list[str]:
    """Distinct ``.explain.png`` names for image files: their paths relative to the deepest
    folder they share (``sub/a.png`` → ``sub/a.explain.png``), with the suffix kept where two
    files differ only by it (``a.jpg.explain.png``)."""
    resolved = [p.resolve() for p in paths]
    root = Path(os.path.commonpath([p.parent for p in resolved])) if resolved else Path(".")
    rel = [p.relative_to(root) for p in resolved]
    stems = [r.with_suffix("") for r in rel]
    clash = {s for s in stems if stems.count(s) > 1}
    return [str(r if s in clash else s) + ".explain.png" for r, s in zip(rel, stems)]


@command(app, "train")
def train_cmd(
    data_dir: Annotated[Path, typer.Argument(help="One sub-folder of images per label.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="The model file (.safetensors); MODEL.report.json, MODEL.report.png and MODEL.json are written beside it.")],
    folds: Annotated[int, typer.Option(min=2, help="Cross-validation folds.")] = 5,
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
    if not data_dir.is_dir():
        raise ArtkitError(f"data folder '{data_dir}' does not exist or is not a folder")
    run = Run("artkit classify train", params=dict(data_dir=str(data_dir), folds=folds,
                                                   backbone=backbone),
              force=force, quiet=quiet, seed=seed, device=device, inputs=[data_dir])
    out = run.output(output, suffixes={".safetensors"}, what="model file")
    rep_file = run.output(report_path(output), suffixes={".json"}, manifest=False)
    png_file = run.output(figure_path(output), suffixes={".png"}, manifest=False)
    with run:
        from artkit.classify.api import train
        from artkit.classify.figure import report_figure

        clf = train(data_dir, backbone=backbone, folds=folds, seed=seed, progress=run.progress,
                    device=run.device)
        if clf is None:  # under torchrun: a rank other than 0, its features handed over
            return
        rep = clf.report
        extra = {"accuracy": rep["accuracy"], "zeror": rep["zeror"]}
        run.save_with(out, lambda tmp: clf.save(tmp, force=True), extra=extra)
        run.save_json(rep_file, rep)
        run.save_with(png_file, lambda tmp: report_figure(rep).savefig(tmp, format="png"))
    for path, why in rep["skipped"]:
        _skipped(path, why, quiet)
    for a, b in rep["duplicates"]:
        info(f"warning: {a} and {b} are the same image under different labels", quiet)
    for note in rep["notes"]:
        info(f"note: {note}", quiet)
    acc, zr = rep["accuracy"], rep["zeror"]
    print_table(f"{rep['folds']}-fold cross-validation on {rep['n_images']} images "
                f"({rep['backbone']} features)",
                ["label", "images", "precision", "recall", *[f"→ {lab}" for lab in rep["labels"]]],
                [(lab, rep["per_class"][lab]["support"], rep["per_class"][lab]["precision"],
                  rep["per_class"][lab]["recall"], *row)
                 for lab, row in zip(rep["labels"], rep["confusion"]["matrix"])], quiet=quiet)
    info(f"accuracy {acc['mean']:.3f} ± {acc['std']:.3f}   ZeroR {zr['accuracy']:.3f} (always "
         f"'{zr['majority_label']}')   ECE {rep['ece']:.3f}   C {rep['C']:g}", quiet)


@command(app, "predict")
def predict_cmd(
    images: Annotated[List[Path], typer.Argument(help="Images or folders of images (sub-folders too).")],
    model: ModelFileOpt,
    explain: Annotated[Optional[Path], typer.Option(
        "--explain", help="Also write a PatternAttribution and PatternNet figure of the whole "
                          "pipeline (backbone + head) per image into this folder "
                          "(NAME.explain.png, sub-folders kept).")] = None,
    seed: SeedOpt = 0,
    device: DeviceOpt = "auto",
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
    force: ForceOpt = False,
) -> None:
    """Label images with a trained classifier: one row per image, label then probabilities.

    \b
    Example:
      artkit classify predict photos/ -m dogs.safetensors --explain heatmaps/
    """
    from artkit.classify.api import Classifier

    files = _readable_images(images, quiet, exclude=(explain,) if explain else ())
    run = Run("artkit classify predict", params=dict(images=[str(i) for i in images],
                                                     model=str(model), explain=str(explain) if explain else None),
              force=force, quiet=quiet, seed=seed, device=device, inputs=[*files, model])
    outs = []
    if explain is not None:
        outs = [run.image_output(explain / n) for n in explain_names(files)]
    with run:
        clf = Classifier.load(model, device=run.device)
        if explain is not None and clf.pattern is None:
            raise ArtkitError(f"model '{model}' was saved without a head pattern, so it cannot be "
                              "explained", "retrain it with this version of `artkit classify train`")
        res = clf.predict(files, progress=run.progress)
        if not res.items:
            raise ArtkitError("no readable images among the inputs")
        if explain is not None:
            from artkit.core.images import load_image
            from artkit.explain import Explainer, grid, load_model

            ex = Explainer(load_model(str(model), run.device), device=run.device)
            run.use(ex.weights)
            target_of = {p.path: clf.labels.index(p.label) for p in res.items}
            for f, out in run.split(zip(files, outs)):  # under torchrun: this rank's share
                if f not in target_of:
                    continue
                with run.item(str(f)):
                    e = ex.explain(f, methods=("patternattribution", "patternnet"),
                                   target=target_of[f], generator=run.generator)
                    picture = grid(load_image(f), e.maps, f"{e.label} ({e.score:.2f})")
                    run.save_image(out, picture, result=e)
    for path, why in res.skipped:
        _skipped(path, why, quiet)
    print_table("predictions", ["image", "label", *clf.labels],
                [(p.path, p.label, *[p.probabilities[lab] for lab in clf.labels]) for p in res.items],
                data=res.to_dict(), as_json=as_json, quiet=quiet)


@command(app, "imagenet")
def imagenet_cmd(
    images: Annotated[List[Path], typer.Argument(help="Images or folders of images.")],
    top: Annotated[int, typer.Option("--top", min=1, max=1000, help="How many classes to show.")] = 5,
    is_: Annotated[Optional[Group], typer.Option("--is", help="Also answer yes/no: is it a dog / a cat?")] = None,
    device: DeviceOpt = "auto",
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Zero-shot: the top ImageNet classes of each image (EfficientNet-Lite0, no training)."""
    from artkit.classify.api import ImagenetClassifier

    files = _readable_images(images, quiet)
    run = Run("artkit classify imagenet", quiet=quiet, device=device)
    with run:
        res = ImagenetClassifier(device=run.device).predict(files, top, progress=run.progress)
    for path, why in res.skipped:
        _skipped(path, why, quiet)
    if not res.items:
        raise ArtkitError("no readable images among the inputs")
    rows = []
    for p in res.items:
        answer = ("yes" if p.is_(is_.value) else "no") if is_ is not None else ""
        for rank, (idx, name, prob) in enumerate(p.top, 1):
            rows.append((p.path, rank, name, idx, prob,
                         f"is {is_.value}: {answer} (p = {getattr(p, is_.value):.3f})"
                         if is_ is not None and rank == 1 else ""))
    data = [{"path": str(p.path), "top": [list(t) for t in p.top], "dog": p.dog, "cat": p.cat}
            for p in res.items]
    print_table("ImageNet classes", ["image", "rank", "class", "index", "probability", "answer"],
                rows, data=data, as_json=as_json, quiet=quiet)


def _parse_eps(text: str) -> list[float]:
    try:
        values = [float(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise ArtkitError(f"--eps must be comma-separated numbers, got '{text}'",
                          "e.g. --eps 1,2,4") from None
    if not values or any(not v >= 0 for v in values):
        raise ArtkitError(f"--eps must be non-negative grey levels, got '{text}'", "e.g. --eps 1,2,4")
    return values


@command(app, "robustness")
def robustness_cmd(
    data_dir: Annotated[Path, typer.Argument(help="One sub-folder of images per label (the model's labels).")],
    model: ModelFileOpt,
    eps: Annotated[str, typer.Option("--eps", help="Comma-separated L∞ radii in grey levels (ε/255).")] = "1,2,4",
    steps: Annotated[int, typer.Option("--steps", min=0, help="PGD steps (each ε/255/4, from a random start).")] = 10,
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="Also write the results as JSON here.")] = None,
    seed: SeedOpt = 0,
    device: DeviceOpt = "auto",
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
    force: ForceOpt = False,
) -> None:
    """Does an "imperceptible noise filter" turn a bad dog good? Accuracy on DATA_DIR clean,
    under uniform noise, FGSM and PGD of L∞ size ε/255, through the whole network.

    \b
    Example:
      artkit classify robustness photos/ --model dogs.safetensors --eps 1,2,4 --steps 10
    """
    from artkit.classify.api import Classifier, robustness

    eps_list = _parse_eps(eps)
    if not data_dir.is_dir():
        raise ArtkitError(f"data folder '{data_dir}' does not exist or is not a folder")
    run = Run("artkit classify robustness", params=dict(data_dir=str(data_dir), model=str(model),
                                                        eps=eps_list, steps=steps),
              force=force, quiet=quiet, seed=seed, device=device, inputs=[model])
    out = run.output(output, suffixes={".json"}) if output is not None else None
    with run:
        clf = Classifier.load(model, device=run.device)
        res = robustness(data_dir, clf, eps_list, steps, generator=run.generator,
                         progress=run.progress)
        if out is not None:
            run.save_json(out, res.to_dict(), result=res)
    for path, why in res["skipped"]:
        _skipped(path, why, quiet)
    print_table(f"accuracy under L∞ perturbations of ε/255 ({res['n']} images, PGD {res['steps']} "
                "steps)", ["ε (grey levels)", "clean", "uniform noise", "FGSM", "PGD"],
                [(r["eps"], res["clean"], r["noise"], r["fgsm"], r["pgd"]) for r in res["eps"]],
                data=res.to_dict(), as_json=as_json, quiet=quiet)
