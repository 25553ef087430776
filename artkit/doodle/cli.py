"""``artkit doodle``: turn a doodle into a painting in the style of another painting.

A thin layer over :mod:`artkit.doodle.api`: options are parsed here, settings built with
``DoodleConfig.build`` (defaults ← preset ← the options given), outputs planned and checked by
``core.cli.Run`` before any network loads, and the library does the work.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal, Optional

import click
import typer

from artkit.core.cli import (DeviceOpt, ForceOpt, JsonOpt, OptionalOutputOpt, OutputOpt,
                             QuietOpt, Run, SeedOpt, SharedError, VerboseOpt, capability_app,
                             command, error, info, print_table)
from artkit.core.errors import ArtkitError
from artkit.core.presets import list_presets
from artkit.doodle.config import PRESETS, DoodleConfig
from artkit.doodle.jobs import Job, default_style_map, parse_size

app = capability_app("Doodles into paintings: semantic style transfer (neural-doodle), style "
                     "transfer and textures.", default="paint")

D = DoodleConfig()
CONFIG_OPTIONS = ("engine", "network", "iterations", "tolerance", "phases", "style_layers",
                  "content_layers", "style_weight", "content_weight", "semantic_weight",
                  "smoothness", "colour_weight", "variety", "init", "memory", "patch_size",
                  "uniformity", "guidance_weight", "em_iterations")


def _help(name: str, extra: str = "") -> str:
    text = DoodleConfig.field_help(name)
    return (text[0].upper() + text[1:] + ("." if not text.endswith(".") else "") + extra).strip()


def _show_presets(value: bool) -> None:
    if value:
        for name in list_presets(PRESETS):
            typer.echo(name)
        raise typer.Exit()


def parse_layers(text: str) -> list[str]:
    return [t.strip() for t in text.split(",") if t.strip()]


def config_from(ctx: click.Context, preset: str | None, values: dict[str, Any]) -> DoodleConfig:
    """Defaults ← preset ← the config options given on the command line (an option left at
    its default does not override the preset)."""
    given = {}
    for name in CONFIG_OPTIONS:
        source = ctx.get_parameter_source(name)
        if source is not None and source.name not in ("DEFAULT", "DEFAULT_MAP"):
            value = values[name]
            given[name] = parse_layers(value) if name.endswith("_layers") else value
    return DoodleConfig.build(preset, PRESETS, **given)


@command(app, "paint", hidden=True)
def paint_cmd(
    ctx: typer.Context,
    style: Annotated[Path, typer.Option("--style", "-s", help="The style painting.")],
    output: OutputOpt,
    map_: Annotated[Optional[Path], typer.Option(
        "--map", "-m", help="Your doodle: a map painted with the style map's colours "
        "(`artkit doodle examples --canvas` makes a blank one).")] = None,
    style_map: Annotated[Optional[Path], typer.Option(
        help="Semantic map of the style painting.", show_default="<style>_sem.png beside it")] = None,
    content: Annotated[Optional[Path], typer.Option(
        "--content", "-c", help="A photo whose structure to keep (style transfer).")] = None,
    size: Annotated[Optional[str], typer.Option(
        help="Output WIDTHxHEIGHT, up to 4096 a side.",
        show_default="the doodle's size, else the content's, else the style's")] = None,
    preset: Annotated[Optional[str], typer.Option(
        help="Settings preset: a shipped name (--list-presets) or a .toml file; options given "
        "here override it.", show_default="none")] = None,
    engine: Annotated[Literal["neural", "patch"], typer.Option(help=_help("engine"))] = D.engine,
    network: Annotated[Literal["vgg16-hed", "vgg16", "vgg19"], typer.Option(help=_help("network"))] = D.network,
    iterations: Annotated[int, typer.Option(help=_help("iterations"))] = D.iterations,
    tolerance: Annotated[float, typer.Option(help=_help("tolerance"))] = D.tolerance,
    phases: Annotated[int, typer.Option(help=_help("phases"))] = D.phases,
    init: Annotated[str, typer.Option(help=_help("init"))] = D.init,
    memory: Annotated[float, typer.Option(
        help="Memory budget in GB; larger pictures are painted in tiles to fit it, and a run "
        "that cannot fit stops before it starts.", show_default="0: half the free RAM, or 80% of a GPU's")] = D.memory,
    style_layers: Annotated[str, typer.Option(help=_help("style_layers"))] = ",".join(D.style_layers),
    content_layers: Annotated[str, typer.Option(help=_help("content_layers"))] = ",".join(D.content_layers),
    style_weight: Annotated[float, typer.Option(help=_help("style_weight"))] = D.style_weight,
    content_weight: Annotated[float, typer.Option(help=_help("content_weight"))] = D.content_weight,
    semantic_weight: Annotated[float, typer.Option(help=_help("semantic_weight"))] = D.semantic_weight,
    smoothness: Annotated[float, typer.Option(help=_help("smoothness"))] = D.smoothness,
    colour_weight: Annotated[float, typer.Option(
        "--colour-weight", "--color-weight", help=_help("colour_weight"))] = D.colour_weight,
    variety: Annotated[float, typer.Option(help=_help("variety"))] = D.variety,
    patch_size: Annotated[int, typer.Option(help=_help("patch_size"))] = D.patch_size,
    uniformity: Annotated[float, typer.Option(help=_help("uniformity"))] = D.uniformity,
    guidance_weight: Annotated[float, typer.Option(help=_help("guidance_weight"))] = D.guidance_weight,
    em_iterations: Annotated[int, typer.Option(help=_help("em_iterations"))] = D.em_iterations,
    frames: Annotated[Optional[Path], typer.Option(
        help="Folder for the painting as it forms (an empty or new folder).")] = None,
    save_every: Annotated[int, typer.Option(help="With --frames: an image every N steps.", min=1)] = 10,
    resume: Annotated[Optional[Path], typer.Option(
        help="Continue from the checkpoint an interrupted run wrote (OUT.ckpt.safetensors).")] = None,
    list_presets_: Annotated[bool, typer.Option(
        "--list-presets", is_eager=True, callback=_show_presets,
        help="List the shipped presets and exit.")] = False,
    seed: SeedOpt = 0,
    device: DeviceOpt = "auto",
    quiet: QuietOpt = False,
    verbose: VerboseOpt = False,
    force: ForceOpt = False,
) -> None:
    """Paint OUTPUT in the style of STYLE, following your doodle (--map) and/or a photo (--content).

    \b
    Modes:
      --style only                 texture synthesis at --size
      --style --content            style transfer
      --style --map                doodle → painting (the style map defaults to <style>_sem.png)
      --style --map --content      content-guided doodle
    \b
    Examples:
      artkit doodle -s Monet.jpg -m my_doodle.png -o painting.png
      artkit doodle -s Monet.jpg -m my_doodle.png --engine patch -o quick.png
      artkit doodle -s Monet.jpg -m my_doodle.png --size 1024x768 -o print.png
    Ctrl-C writes the painting so far (marked partial in its manifest) and a checkpoint;
    --resume continues from it.
    """
    config = config_from(ctx, preset, locals())
    if map_ is not None and style_map is None:
        style_map = default_style_map(style)
    job = Job(style=style, style_map=style_map, target_map=map_, content=content, output=output,
              config=config, size=parse_size(size), seed=seed, extra_params={"preset": preset})
    paint_files(job, frames=frames, save_every=save_every, resume=resume, device=device,
                quiet=quiet, verbose=verbose, force=force)


def paint_files(job: Job, *, device: str, quiet: bool, verbose: bool, force: bool,
                frames: Path | None = None, save_every: int = 10, resume: Path | None = None,
                extra: dict[str, Any] | None = None, command_name: str = "artkit doodle") -> None:
    """The one-picture path of ``artkit doodle`` and ``artkit doodle demo``: check the inputs
    and every output, then paint inside a :class:`Run` and write the outputs together.

    Args:
        job: the painting (its inputs may be in-memory images: the demo's).
        extra: more images to write with the painting (path → PIL image; the demo's inputs).
    """
    from artkit.core.checkpoint import checkpoint_path
    from artkit.doodle.api import Checkpoint, Painter

    check_job(job, device)
    checkpoint = Checkpoint.load(resume) if resume is not None else None
    neural = job.config.engine == "neural"
    ckpt_path = checkpoint_path(job.output) if neural else None
    same = resume is not None and ckpt_path is not None and resume.resolve() == ckpt_path.resolve()
    files = job.files() + ([resume] if resume is not None and not same else [])
    run = Run(command_name, force=force, quiet=quiet, verbose=verbose, seed=job.seed,
              device=device, inputs=files, params={**job.params(), "resume": resume})
    out = run.image_output(job.output)
    if ckpt_path is not None:
        run.output(ckpt_path, suffixes={".safetensors"}, manifest=False,
                   what="checkpoint (written only if interrupted)")
    for path in extra or {}:
        run.image_output(path, manifest=False, what="demo input")
    on_frame = _frame_writer(frames, save_every, force) if frames is not None else None
    with run:
        painter = Painter(job.config.network if neural else None, device=run.device)
        for path, image in (extra or {}).items():
            run.save_image(path, image)
        result = paint_job(run, job, painter, run.generator, on_frame=on_frame,
                           resume=checkpoint, own_params=False)
        if result.interrupted:
            run.save_with(ckpt_path, lambda tmp: result.checkpoint.save(tmp))
    if result.interrupted:
        raise error(f"interrupted: wrote the painting so far to {out} (marked partial in its "
                    f"manifest) and a checkpoint; continue with --resume {ckpt_path} --force", 130)


def check_job(job: Job, device: str) -> None:
    """The checks a job needs before any work, from the files' headers: the output's size and
    whether the painting fits in the memory budget."""
    from artkit.doodle.api import input_size, output_size, plan_run

    try:
        out_wh = output_size(job.style, job.target_map, job.content, job.size)
        plan_run(out_wh, input_size(job.style), job.config, device, content=job.content is not None)
    except ArtkitError as exc:
        if not job.label:
            raise
        raise ArtkitError(f"{job.label}: {exc.message}", exc.hint) from None


def paint_job(run: Run, job: Job, painter, generator, *, on_frame=None, resume=None,
              own_params: bool = True):
    """Paint ``job`` with ``painter`` inside ``run`` (one picture's run, or a batch's) and
    stage the painting with its manifest; returns the :class:`DoodleResult`.

    Args:
        generator: the job's source of randomness.
        own_params: record the job's parameters and seed in its manifest (a batch, whose run
            has none of its own) rather than the run's.
    """
    result = painter.paint(job.style, job.style_map, job.target_map, content=job.content,
                           size=job.size, config=job.config, generator=generator,
                           progress=run.progress, on_frame=on_frame, resume=resume)
    run.notes += [n for n in result.notes if n not in run.notes]
    source = {"input": str(job.style)} if isinstance(job.style, Path) else {}
    run.save_image(job.output, result.image, result=result,
                   params=job.params() if own_params else None,
                   seed=job.seed if own_params else None,
                   extra={"mode": result.mode, "partial": result.interrupted, **source,
                          **result.to_dict()})
    return result


@command(app, "batch")
def batch_cmd(
    jobs_file: Annotated[Path, typer.Argument(
        help="The job list (.toml): one [[job]] table per painting, as in the example above.")],
    preset: Annotated[Optional[str], typer.Option(
        help="Settings preset of the jobs whose file names none: a shipped name "
        "(artkit doodle --list-presets) or a .toml file.", show_default="none")] = None,
    seed: Annotated[int, typer.Option(
        "--seed", help="Seed of the jobs whose file gives none; each job has its own "
        "generator, so a painting does not depend on which process paints it (at the same "
        "thread count).")] = 0,
    device: DeviceOpt = "auto",
    quiet: QuietOpt = False,
    verbose: VerboseOpt = False,
    force: ForceOpt = False,
) -> None:
    """Paint every job of a TOML list; under torchrun the jobs are split across the processes.

    The whole file is checked before any painting (unknown keys, missing files, two jobs
    writing one output, outputs that exist). Each painting is written, with its manifest, as
    soon as it is done, by the process that painted it; a rerun skips the jobs whose output
    and manifest say they were painted with the same settings (--force repaints them).

    \b
    A job file (paths are relative to it; a job's keys override [defaults]):
      [defaults]
      style = "Monet.jpg"          # the style map defaults to Monet_sem.png beside it
      engine = "patch"
      [[job]]
      map = "coastline.png"
      output = "out/coastline.png"
      [[job]]
      map = "lake.png"
      output = "out/lake.png"
      engine = "neural"
      iterations = 50
    Keys: style, map, style_map, content, output, size ("WxH"), preset, seed, and every
    setting of `artkit doodle` (engine, iterations, phases, ... as in a preset file).

    \b
    Examples:
      artkit doodle batch jobs.toml
      torchrun --nproc-per-node 4 -m artkit doodle batch jobs.toml   # 4 pictures at a time
    """
    from artkit.core.cli import skip_done
    from artkit.core.progress import report
    from artkit.core.runtime import make_generator
    from artkit.doodle.api import Painter
    from artkit.doodle.jobs import read_jobs

    try:  # every process reads the same file: an error in it is printed once, by rank 0
        jobs = read_jobs(jobs_file, preset=preset, seed=seed)
        for job in jobs:
            check_job(job, device)
    except ArtkitError as exc:
        raise SharedError(exc.message, exc.hint) from None
    if not force:  # a rerun skips the jobs already painted
        jobs = skip_done(jobs, "artkit doodle batch", Job.params, noun="job(s)", verb="painted",
                         outputs=lambda j: (j.style, [j.output]), quiet=quiet, ignore=())
        if not jobs:
            return
    run = Run("artkit doodle batch", force=force, quiet=quiet, verbose=verbose, seed=None,
              device=device, inputs=[jobs_file, *(f for job in jobs for f in job.files())],
              params={"jobs": jobs_file})
    for job in jobs:
        run.image_output(job.output)
    with run:
        painter = Painter(None, device=run.device)  # loads each network once, when a job needs it
        mine = run.split(jobs)  # under torchrun: this process's share
        try:
            for i, job in enumerate(mine):
                report(run.progress, "jobs", i, len(mine), job.output.name)
                with run.item(job.label):
                    result = paint_job(run, job, painter, make_generator(job.seed, "cpu"))
                    if result.interrupted:
                        raise KeyboardInterrupt
            report(run.progress, "jobs", len(mine), len(mine))
        except KeyboardInterrupt:
            raise error(f"interrupted: {run.done} painting(s) of this process are written; "
                        "run the same command again to paint the rest", 130) from None


def _frame_writer(frames: Path, every: int, force: bool):
    """``on_frame`` that saves an image every ``every`` steps into ``frames`` (checked now)."""
    from artkit.core.images import save_image

    if frames.exists() and (not frames.is_dir() or (any(frames.iterdir()) and not force)):
        raise ArtkitError(f"--frames folder '{frames}' is not empty" if frames.is_dir()
                          else f"--frames '{frames}' is a file",
                          "give a new or empty folder, or use --force")

    def write(phase: int, step: int, image) -> None:
        if step % every == 0:
            frames.mkdir(parents=True, exist_ok=True)
            save_image(image, frames / f"phase{phase + 1}_step{step:04d}.png", force=True)

    return write


@command(app, "evaluate")
def evaluate_cmd(
    painting: Annotated[Path, typer.Argument(help="The painting to score.")],
    style: Annotated[Path, typer.Option("--style", "-s", help="The style painting.")],
    map_: Annotated[Path, typer.Option("--map", "-m", help="The doodle the painting follows.")],
    style_map: Annotated[Optional[Path], typer.Option(
        help="The style's semantic map.", show_default="<style>_sem.png beside it")] = None,
    output: OptionalOutputOpt = None,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
    force: ForceOpt = False,
) -> None:
    """Score a painting: label fidelity and style distance, beside two baselines.

    Label fidelity: the fraction of output pixels whose nearest style patch (7x7, Lab, half
    resolution) lies in the region the doodle asks for (higher is better). Style distance:
    sliced Wasserstein distance between output and style patches of the same region (lower is
    better). Baselines: the doodle filled with each region's mean style colour, and the style
    image resized.
    """
    from artkit.doodle.evaluate import evaluate

    style_map = style_map or default_style_map(style)
    if style_map is None:
        raise ArtkitError(f"no style map given and {style.stem}_sem.png not found beside {style}",
                          "pass --style-map")
    run = Run("artkit doodle evaluate", force=force, quiet=quiet, device=None,
              inputs=[painting, style, style_map, map_],
              params={"painting": painting, "style": style, "style_map": style_map, "map": map_})
    if output is not None:
        run.output(output, suffixes={".json"})
    with run:
        ev = evaluate(painting, style, style_map, map_)
        if output is not None:
            run.save_json(output, ev.to_dict(), result=ev)
    print_table(f"doodle quality: {painting.name}", ["image", "label fidelity ↑", "style distance ↓"],
                ev.rows(), data=ev.to_dict(), as_json=as_json, quiet=quiet)


@command(app, "demo")
def demo_cmd(
    out_dir: Annotated[Path, typer.Option("--output", "-o", help="Folder for the demo's images.")] = Path("doodle-demo"),
    engine: Annotated[Literal["neural", "patch"], typer.Option(help=_help("engine"))] = D.engine,
    size: Annotated[str, typer.Option(help="Scene WIDTHxHEIGHT.")] = "384x288",
    seed: SeedOpt = 0,
    device: DeviceOpt = "auto",
    quiet: QuietOpt = False,
    verbose: VerboseOpt = False,
    force: ForceOpt = False,
) -> None:
    """Paint a doodled landscape with textures that ship with scikit-image (no files needed).

    Writes style.png, style_sem.png, doodle.png and painting.png (+ painting.json) to the
    folder; then paint your own: artkit doodle -s style.png -m your_doodle.png -o out.png
    (`artkit doodle examples demo --canvas 640x480 -o your_doodle.png` gives a blank canvas).
    """
    from artkit.doodle.examples import get_example

    wh = parse_size(size)
    scene = get_example("demo")
    style, smap = scene.images(wh)
    doodle = scene.doodle(wh)
    job = Job(style=style, style_map=smap, target_map=doodle, output=out_dir / "painting.png",
              config=DoodleConfig.build(engine=engine), seed=seed,
              extra_params={"scene": "demo", "scene_size": size})
    paint_files(job, device=device, quiet=quiet, verbose=verbose, force=force,
                extra={out_dir / "style.png": style, out_dir / "style_sem.png": smap,
                       out_dir / "doodle.png": doodle}, command_name="artkit doodle demo")


@command(app, "examples")
def examples_cmd(
    name: Annotated[Optional[str], typer.Argument(help="An example's name (see the list).")] = None,
    canvas: Annotated[Optional[str], typer.Option(
        help="Write a blank doodle canvas of WIDTHxHEIGHT in the example's palette to --output.")] = None,
    output: OptionalOutputOpt = None,
    as_json: JsonOpt = False,
    quiet: QuietOpt = False,
    force: ForceOpt = False,
) -> None:
    """List the style paintings you can start from, with their region colours; with a NAME and
    --canvas, write a blank canvas to paint your doodle on.

    The canvas is an indexed PNG whose palette holds exactly the style map's region colours, so
    a paint program offers those colours and no others (anti-aliased edges are fine: artkit
    snaps them). Example:
      artkit doodle examples demo --canvas 640x480 -o my_doodle.png
    """
    from artkit.doodle.examples import blank_canvas, get_example, list_examples

    if canvas is None:
        if output is not None:
            raise error("--output needs --canvas (the canvas is what is written)", 2)
        found = [get_example(name)] if name else list_examples()
        rows = [(e.name, f"{e.size[0]}x{e.size[1]}", " ".join(f"{c}={r}" for c, r in e.regions),
                 e.source) for e in found]
        print_table("doodle examples", ["name", "size", "regions (colour=meaning)", "style and map"],
                    rows, data=[e.to_dict() for e in found], as_json=as_json, quiet=quiet)
        return
    if name is None or output is None:
        raise error("--canvas needs an example NAME and --output (e.g. artkit doodle examples "
                    "demo --canvas 640x480 -o my_doodle.png)", 2)
    wh = parse_size(canvas)
    example = get_example(name)
    run = Run("artkit doodle examples", force=force, quiet=quiet, device=None,
              params={"example": name, "canvas": canvas})
    out = run.output(output, suffixes={".png"}, what="canvas")
    with run:
        run.save_image(out, blank_canvas(example, wh))
    info("paint with these colours: " + ", ".join(f"{c} ({r})" for c, r in example.regions), quiet)
