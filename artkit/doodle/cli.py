"""``artkit doodle``: turn a doodle into a painting in the style of another painting."""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path
from typing import Annotated, Optional

import typer

from artkit.core.console import (DeviceOpt, ForceOpt, ProgressBars, QuietOpt, SeedOpt, command,
                                 error, guarded, info)
from artkit.core.errors import ArtkitError
from artkit.core.files import check_output
from artkit.core.presets import list_presets, load_preset

app = typer.Typer(pretty_exceptions_enable=False, invoke_without_command=True,
                  help="Doodles into paintings: semantic style transfer (neural-doodle).")

PRESETS = "doodle"


def _parse_size(text: str | None) -> tuple[int, int] | None:
    if text is None:
        return None
    try:
        w, h = (int(v) for v in text.lower().split("x"))
        return w, h
    except ValueError:
        raise ArtkitError(f"--size '{text}' is not WIDTHxHEIGHT", "e.g. --size 512x384") from None


def _layers(text: str | None) -> list[str] | None:
    return None if text is None else [t.strip() for t in text.split(",") if t.strip()]


def build_config(preset: str | None, overrides: dict):
    """Defaults ← preset ← the options given on the command line."""
    from artkit.doodle.api import DoodleConfig

    values = dataclasses.asdict(DoodleConfig())
    if preset:
        values.update(load_preset(preset, PRESETS, DoodleConfig))
    values.update({k: v for k, v in overrides.items() if v is not None})
    return DoodleConfig(**values)


@app.callback()
def doodle(
    ctx: typer.Context,
    style: Annotated[Optional[Path], typer.Option("--style", "-s", help="The style painting.")] = None,
    style_map: Annotated[Optional[Path], typer.Option(help="Semantic map of the style painting (default: <style>_sem.png beside it).")] = None,
    map_: Annotated[Optional[Path], typer.Option("--map", "-m", help="Your doodle: a map painted with the style map's colours.")] = None,
    content: Annotated[Optional[Path], typer.Option("--content", "-c", help="A photo whose structure to keep (style transfer).")] = None,
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="Output image (.png/.jpg); a manifest .json is written beside it.")] = None,
    engine: Annotated[Optional[str], typer.Option(help="neural (VGG features, L-BFGS; best) or patch (copies brush strokes; fast).")] = None,
    network: Annotated[Optional[str], typer.Option(help="VGG weights: vgg16-hed (fetched) or vgg19 (after `artkit weights import`).")] = None,
    preset: Annotated[Optional[str], typer.Option(help="Settings preset: a name (see --list-presets) or a .toml file.")] = None,
    iterations: Annotated[Optional[int], typer.Option(help="L-BFGS steps per phase at most (default 100; a phase ends early once it converges, see --tolerance).")] = None,
    tolerance: Annotated[Optional[float], typer.Option(help="End a phase when 10 steps improve the loss by less than this fraction (default 0.05; 0 = run every step).")] = None,
    phases: Annotated[Optional[int], typer.Option(help="Coarse-to-fine resolutions (default 1: refine the patch engine's result at full size; 3 with --init mean is the original pipeline).")] = None,
    style_layers: Annotated[Optional[str], typer.Option(help="VGG layers matched by patches (default 3_1,4_1).")] = None,
    content_layers: Annotated[Optional[str], typer.Option(help="VGG layers of the content loss (default 4_2).")] = None,
    style_weight: Annotated[Optional[float], typer.Option(help="Weight of the style (patch) loss (default 25).")] = None,
    content_weight: Annotated[Optional[float], typer.Option(help="Weight of the content loss (default 10).")] = None,
    semantic_weight: Annotated[Optional[float], typer.Option(help="How strongly patches stay in their region (default 10).")] = None,
    smoothness: Annotated[Optional[float], typer.Option(help="Weight of the smoothness term (default 10).")] = None,
    colour_weight: Annotated[Optional[float], typer.Option("--colour-weight", "--color-weight", help="How strongly colours follow the matched patches (default 30).")] = None,
    variety: Annotated[Optional[float], typer.Option(help="Penalty on reusing the same style patches (default 0).")] = None,
    init: Annotated[Optional[str], typer.Option(help="Start image: auto (content when given, else the patch engine's result), mean, noise, content, patch or a file (default auto).")] = None,
    size: Annotated[Optional[str], typer.Option(help="Output WIDTHxHEIGHT (default: the doodle's / content's / style's size).")] = None,
    frames: Annotated[Optional[Path], typer.Option(help="Folder for intermediate images.")] = None,
    save_every: Annotated[int, typer.Option(help="With --frames: save an image every N steps.")] = 10,
    resume: Annotated[Optional[Path], typer.Option(help="Continue from the checkpoint an interrupted run wrote.")] = None,
    list_presets_: Annotated[bool, typer.Option("--list-presets", help="List the shipped presets and exit.")] = False,
    seed: SeedOpt = 0,
    device: DeviceOpt = "auto",
    quiet: QuietOpt = False,
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
    Example:
      artkit doodle -s Monet.jpg -m my_doodle.png -o painting.png
      artkit doodle -s Monet.jpg -m my_doodle.png --engine patch -o quick.png
    Ctrl-C saves the current image and a checkpoint; --resume continues from it.
    """
    if ctx.invoked_subcommand is not None:
        return
    if list_presets_:
        for name in list_presets(PRESETS):
            typer.echo(name)
        return
    guarded(_run)(style, style_map, map_, content, output, engine, network, preset, iterations,
                  tolerance, phases, style_layers, content_layers, style_weight, content_weight,
                  semantic_weight, smoothness, colour_weight, variety, init, size, frames,
                  save_every, resume, seed, device, quiet, force)


def _run(style, style_map, map_, content, output, engine, network, preset, iterations, tolerance, phases,
         style_layers, content_layers, style_weight, content_weight, semantic_weight, smoothness,
         colour_weight, variety, init, size, frames, save_every, resume, seed, device, quiet,
         force) -> None:
    from artkit.core.images import save_image
    from artkit.core.manifest import build_manifest, write_manifest
    from artkit.core.runtime import make_generator, resolve_device
    from artkit.doodle.api import Checkpoint, default_style_map, transfer
    from artkit.weights.store import loaded_weights, reset_loaded

    if style is None:
        raise error("missing --style (see `artkit doodle --help`)", 2)
    if output is None:
        raise error("missing --output / -o (e.g. -o painting.png)", 2)
    check_output(output, force)
    if map_ is not None and style_map is None:
        style_map = default_style_map(style)
    config = build_config(preset, dict(
        engine=engine, network=network, iterations=iterations, tolerance=tolerance, phases=phases,
        style_layers=_layers(style_layers), content_layers=_layers(content_layers),
        style_weight=style_weight, content_weight=content_weight, semantic_weight=semantic_weight,
        smoothness=smoothness, colour_weight=colour_weight, variety=variety, init=init))
    checkpoint = Checkpoint.load(resume) if resume is not None else None
    dev = resolve_device(device)
    gen = make_generator(seed, "cpu")
    on_frame = None
    if frames is not None:
        frames.mkdir(parents=True, exist_ok=True)

        def on_frame(phase: int, step: int, image) -> None:
            if step % max(1, save_every) == 0 or step == config.iterations:
                save_image(image, frames / f"phase{phase + 1}_step{step:04d}.png", force=True)

    reset_loaded()
    t0 = time.perf_counter()
    with ProgressBars(quiet) as bars:
        result = transfer(style, style_map, map_, content=content, size=_parse_size(size),
                          config=config, generator=gen, device=dev, progress=bars,
                          on_frame=on_frame, resume=checkpoint)
    for note in result.notes:
        info(f"note: {note}", quiet)
    params = dict(style=style, style_map=style_map, map=map_, content=content, size=size,
                  preset=preset, config=dataclasses.asdict(config), resume=resume)
    manifest = build_manifest("artkit doodle", params, seed=seed, device=str(dev),
                              weights=loaded_weights(), wall_time=time.perf_counter() - t0,
                              extra={"mode": result.mode, "interrupted": result.interrupted,
                                     "phases": [dataclasses.asdict(p) for p in result.phases]})
    save_image(result.image, output, force=True if result.interrupted else force, manifest=manifest)
    write_manifest(output, manifest)
    if result.interrupted:
        ckpt = output.with_name(output.stem + ".ckpt.safetensors")
        result.checkpoint.save(ckpt)
        raise error(f"interrupted: saved the current image to {output} and a checkpoint to {ckpt} "
                    f"(continue with --resume {ckpt})", 130)
    info(f"{result.mode}: wrote {output} in {result.seconds:.1f} s", quiet)


@command(app, "evaluate")
def evaluate_cmd(
    output: Annotated[Path, typer.Argument(help="The painting to score.")],
    style: Annotated[Path, typer.Option("--style", "-s", help="The style painting.")],
    map_: Annotated[Path, typer.Option("--map", "-m", help="The doodle the painting follows.")],
    style_map: Annotated[Optional[Path], typer.Option(help="The style's semantic map (default: <style>_sem.png).")] = None,
    json_out: Annotated[Optional[Path], typer.Option("--json", help="Also write the scores as JSON here.")] = None,
    force: ForceOpt = False,
) -> None:
    """Score a painting: label fidelity and style distance, against two baselines.

    Label fidelity: the fraction of output pixels whose nearest style patch (7x7, Lab, half
    resolution) lies in the region the doodle asks for (higher is better). Style distance:
    sliced Wasserstein distance between output and style patches of the same region (lower is
    better). Baselines: the doodle filled with each region's mean style colour, and the style
    image resized.
    """
    from rich.console import Console
    from rich.table import Table

    from artkit.doodle.api import default_style_map
    from artkit.doodle.evaluate import evaluate_files

    style_map = style_map or default_style_map(style)
    if style_map is None:
        raise ArtkitError(f"no style map given and {style.stem}_sem.png not found beside {style}",
                          "pass --style-map")
    if json_out is not None:
        check_output(json_out, force)
    scores = evaluate_files(output, style, style_map, map_)
    table = Table(title=f"doodle quality: {output.name}")
    for col in ("image", "label fidelity ↑", "style distance ↓"):
        table.add_column(col)
    rows = [("output", scores["output"])] + list(scores["baselines"].items())
    for name, s in rows:
        table.add_row(name, f"{s['label_fidelity']:.3f}", f"{s['style_distance']:.4f}")
    Console().print(table)
    if json_out is not None:
        from artkit.core.files import atomic_write_text

        atomic_write_text(json_out, json.dumps(scores, indent=2), force=True)


@command(app, "demo")
def demo_cmd(
    out_dir: Annotated[Path, typer.Option("--output", "-o", help="Folder for the demo's images.")] = Path("doodle-demo"),
    engine: Annotated[str, typer.Option(help="neural or patch.")] = "neural",
    size: Annotated[str, typer.Option(help="Scene WIDTHxHEIGHT.")] = "384x288",
    seed: SeedOpt = 0,
    device: DeviceOpt = "auto",
    quiet: QuietOpt = False,
    force: ForceOpt = False,
) -> None:
    """Paint a doodled landscape with textures that ship with scikit-image (no files needed).

    Writes style.png, style_sem.png, doodle.png and painting.png (+ painting.json) to the
    folder, then run your own: artkit doodle -s style.png -m your_doodle.png -o out.png
    """
    from artkit.doodle.demo import doodle_scene, style_scene

    out_dir.mkdir(parents=True, exist_ok=True)
    names = ["style.png", "style_sem.png", "doodle.png", "painting.png", "painting.json"]
    for name in names:
        check_output(out_dir / name, force)
    wh = _parse_size(size)
    style, smap = style_scene(wh)
    style.save(out_dir / "style.png")
    smap.save(out_dir / "style_sem.png")
    doodle_scene(wh).save(out_dir / "doodle.png")
    options = dict.fromkeys(_run.__code__.co_varnames[:_run.__code__.co_argcount])
    options.update(style=out_dir / "style.png", map_=out_dir / "doodle.png",
                   style_map=out_dir / "style_sem.png", output=out_dir / "painting.png",
                   engine=engine, save_every=10, seed=seed, device=device, quiet=quiet, force=True)
    _run(**options)
