"""``artkit story``: write a story about a photo in a style; ``artkit story evaluate`` measures it."""

from __future__ import annotations

import enum
import json
import os
import time
from pathlib import Path
from typing import Annotated, List, Optional

import typer
from typer.core import TyperGroup

from artkit.core.console import DeviceOpt, ForceOpt, ProgressBars, QuietOpt, SeedOpt, command, info
from artkit.core.errors import ArtkitError
from artkit.core.files import check_output


class _TellByDefault(TyperGroup):
    """``artkit story PHOTO ...`` runs ``artkit story tell PHOTO ...``; ``evaluate`` stays a command."""

    def parse_args(self, ctx, args):
        if args and args[0] not in self.commands and args[0] not in ("-h", "--help"):
            args = ["tell", *args]
        return super().parse_args(ctx, args)


app = typer.Typer(cls=_TellByDefault, pretty_exceptions_enable=False, no_args_is_help=True,
                  help="A photo in, a story out: grounded in what is in the photo, in a chosen "
                       "style (neural-storyteller, offline).\n\n"
                       "artkit story PHOTO... is short for artkit story tell PHOTO...\n\n"
                       "Example: artkit story cat.jpg --style noir -o cat.md",
                  epilog="Example: artkit story cat.jpg --style noir -o cat.md  (PHOTO... runs "
                         "`artkit story tell`; `artkit story evaluate DIR` measures the stories)")


class Format(str, enum.Enum):
    md = "md"
    json = "json"
    txt = "txt"


StyleOpt = Annotated[str, typer.Option(
    "--style", "-s", help="romance (Jane Austen), fairytale, noir, scifi, adventure, or a UTF-8 "
                          ".txt file of passages separated by blank lines.")]
WriterOpt = Annotated[str, typer.Option(
    help="The writer LM: smollm2-135m (weight store) or a local Hugging Face causal-LM folder.")]
LengthOpt = Annotated[int, typer.Option("--length", "-n", help="Target length in words (20-1000).")]
TempOpt = Annotated[float, typer.Option(help="Sampling temperature (0 = greedy, 0.7 default).")]


def _link(photo: Path, output: Path | None) -> str:
    if output is None:
        return str(photo)
    try:
        return os.path.relpath(photo.resolve(), output.resolve().parent)
    except ValueError:  # another drive (Windows)
        return str(photo.resolve())


def _render(stories, photos: list[Path], output: Path | None, fmt: Format, manifest: dict) -> str:
    if fmt is Format.json:
        doc = {"stories": [s.to_dict() for s in stories], "manifest": manifest}
        return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
    if fmt is Format.txt:
        return "\n\n".join(s.plain() for s in stories)
    return "\n---\n\n".join(s.markdown(_link(p, output)) for s, p in zip(stories, photos))


@command(app, "tell")
def tell_cmd(
    photos: Annotated[List[Path], typer.Argument(help="One or more photos; one story each.")],
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="Write the stories here (default: print them); OUT.json beside it holds the facts, exemplars and manifest.")] = None,
    style: StyleOpt = "romance",
    length: LengthOpt = 200,
    temperature: TempOpt = 0.7,
    writer: WriterOpt = "smollm2-135m",
    captioner: Annotated[Optional[Path], typer.Option(help="A local Hugging Face image-to-text model folder; its caption joins the facts.", exists=True, file_okay=False)] = None,
    format_: Annotated[Optional[Format], typer.Option("--format", "-f", help="md (title, photo, story), json or txt (default: from the -o suffix, else md).")] = None,
    exemplars: Annotated[int, typer.Option(help="Style passages shown to the writer.")] = 3,
    retries: Annotated[int, typer.Option(help="Extra drafts when one is degenerate or misses the photo.")] = 2,
    opening: Annotated[bool, typer.Option("--opening/--free-opening", help="Start the story in the style's voice with the photo's subject and colour in it (noir: \"I first saw the grey cat on a wet Tuesday night ...\"), or let the writer start freely.")] = True,
    style_strength: Annotated[float, typer.Option(help="How hard decoding leans towards the style corpus' own words (a logit bias; 0 = off, the default: it measured no better; 1 = more of the style's vocabulary).", min=0.0, max=5.0)] = 0.0,
    seed: SeedOpt = 0,
    device: DeviceOpt = "auto",
    quiet: QuietOpt = False,
    force: ForceOpt = False,
) -> None:
    """Write a story about each PHOTO in a style.

    \b
    The photo's facts (what is in it, its colours, light and composition) become captions; the
    captions, style-shifted in a sentence-embedding space, pick passages of the style corpus as
    exemplars of its voice; the writer LM writes the story and its title.
    \b
    Example:
      artkit story cat.jpg --style noir -o cat.md        # cat.md + cat.json
      artkit story a.jpg b.jpg --style fairytale --length 120 --seed 3
      artkit story cat.jpg --style my_passages.txt --format txt
    The romance corpus needs `artkit weights fetch janeausten`; the networks need
    `artkit weights fetch efficientnet-lite0 minilm-l6 smollm2-135m`.
    """
    from artkit.core.manifest import build_manifest, manifest_path
    from artkit.core.files import atomic_write_text
    from artkit.core.images import load_image
    from artkit.story.api import MAX_LENGTH, MIN_LENGTH, Storyteller
    from artkit.weights.store import loaded_weights, reset_loaded

    fmt = format_ or (Format(output.suffix[1:].lower()) if output is not None and
                      output.suffix[1:].lower() in Format.__members__ else Format.md)
    if not MIN_LENGTH <= length <= MAX_LENGTH:
        raise ArtkitError(f"--length must be {MIN_LENGTH}..{MAX_LENGTH} words, got {length}")
    if output is not None:
        check_output(output, force)
        if fmt is not Format.json:
            check_output(manifest_path(output), force)
    images = [load_image(p) for p in photos]  # bad photos fail before any network loads
    reset_loaded()
    t0 = time.perf_counter()
    with ProgressBars(quiet) as bars:
        teller = Storyteller(writer, captioner, device, progress=bars)
        stories = [teller.tell(im, style, length=length, temperature=temperature,
                               seed=seed if seed is not None else 0, exemplars=exemplars,
                               retries=retries, opening=opening, style_strength=style_strength,
                               progress=bars) for im in images]
    for s, p in zip(stories, photos):
        s.photo = str(p)
        s.timings["load"] = round(teller.load_seconds, 3)
    params = dict(photos=photos, style=style, length=length, temperature=temperature,
                  writer=writer, captioner=captioner, exemplars=exemplars, retries=retries,
                  opening=opening, style_strength=style_strength, format=fmt.value)
    manifest = build_manifest("artkit story", params, seed=seed, device=str(teller.device),
                              weights=loaded_weights(), wall_time=time.perf_counter() - t0)
    text = _render(stories, photos, output, fmt, manifest)
    if output is None:
        typer.echo(text)
    else:
        atomic_write_text(output, text, force=force)
        if fmt is not Format.json:
            side = {"stories": [s.to_dict() for s in stories], "manifest": manifest}
            atomic_write_text(manifest_path(output),
                              json.dumps(side, indent=2, ensure_ascii=False) + "\n", force=force)
    for s in stories:
        info(f"{s.style}: '{s.title}', {s.words} words, {s.attempts} draft(s), grounded "
             f"{'yes' if s.grounded else 'no'}, {sum(s.timings.values()):.1f} s", quiet)
    if output is not None:
        info(f"wrote {output}" + ("" if fmt is Format.json else f" and {manifest_path(output)}"),
             quiet)


def _table(report: dict):
    from rich.table import Table

    table = Table(title=f"{len(report['settings']['photos'])} photos x "
                        f"{len(report['settings']['styles'])} styles, "
                        f"{report['settings']['length']} words")
    cols = ["condition", "stories", "grounding", "style acc.", "distinct-2", "repeated",
            "length ok", "words", "s/story"]
    for c in cols:
        table.add_column(c, justify="left" if c == "condition" else "right")
    for cond, s in report["summary"].items():
        table.add_row(cond, str(s["n"]), f"{s['grounding']:.2f}", f"{s['style_accuracy']:.2f}",
                      f"{s['distinct2']:.3f}", str(s["repeated_sentences"]),
                      f"{s['length_ok']:.2f}", f"{s['words']:.0f}", f"{s['seconds']:.1f}")
    return table


@command(app, "evaluate")
def evaluate_cmd(
    photos_dir: Annotated[Path, typer.Argument(help="A folder of photos.", exists=True, file_okay=False)],
    styles: Annotated[str, typer.Option(help="Comma-separated styles (two or more).")] = "romance,fairytale,noir,scifi,adventure",
    length: LengthOpt = 120,
    temperature: TempOpt = 0.7,
    limit: Annotated[Optional[int], typer.Option(help="Use at most this many photos.")] = None,
    conditions: Annotated[str, typer.Option(help="Comma-separated: full, no_facts (baseline), no_exemplars (baseline: no style passages, no style opening, no style bias), free_opening and bias (ablations: the writer starts freely; the vocabulary bias at strength 1).")] = "full,no_facts,no_exemplars",
    retries: Annotated[int, typer.Option(help="Extra drafts, as in `artkit story`.")] = 2,
    writer: WriterOpt = "smollm2-135m",
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="Write the report (every story and the figures) as JSON.")] = None,
    seed: SeedOpt = 0,
    device: DeviceOpt = "auto",
    quiet: QuietOpt = False,
    force: ForceOpt = False,
) -> None:
    """Measure stories over PHOTOS_DIR x styles: grounding, style accuracy, fluency, vs baselines.

    \b
    Baselines: the same writer without the photo's facts (no_facts), and told the style only
    by name (no_exemplars: no passages, no style opening, no style bias). Ablations:
    free_opening (the writer starts freely), bias (the vocabulary bias at strength 1).
    \b
    Example:
      artkit story evaluate photos/ --styles romance,noir,scifi --length 100 -o eval.json
    """
    from rich.console import Console

    from artkit.core.files import atomic_write_text
    from artkit.story.api import Storyteller
    from artkit.story.evaluate import evaluate, photo_files

    if output is not None:
        check_output(output, force)
    style_list = [s.strip() for s in styles.split(",") if s.strip()]
    cond_list = [c.strip() for c in conditions.split(",") if c.strip()]
    files = photo_files(photos_dir, limit)
    with ProgressBars(quiet) as bars:
        teller = Storyteller(writer, None, device, progress=bars)
        rep = evaluate(files, style_list, teller, length=length, temperature=temperature,
                       seed=seed if seed is not None else 0, conditions=cond_list,
                       retries=retries, progress=bars)
    Console().print(_table(rep))
    if output is not None:
        atomic_write_text(output, json.dumps(rep, indent=2, ensure_ascii=False) + "\n", force=force)
        info(f"wrote {output}", quiet)
