"""``artkit story``: write a story about a photo in a style; ``artkit story evaluate`` measures it."""

from __future__ import annotations

import contextlib

import enum
import json
import os
from pathlib import Path
from typing import Annotated, List, Optional

import typer

from artkit.core.cli import (
    DeviceOpt,
    ForceOpt,
    JsonOpt,
    QuietOpt,
    Run,
    SeedOpt,
    VerboseOpt,
    capability_app,
    command,
    info,
    print_table,
    quiet_third_party,
)
from artkit.core.errors import ArtkitError

app = capability_app(
    "A photo in, a story out: about who or what is in the photo, in a chosen style "
    "(neural-storyteller, offline).",
    default="tell",
    epilog="Example: artkit story cat.jpg --style noir -o cat.md   (`artkit story evaluate DIR` "
           "measures the stories)")


class Format(str, enum.Enum):
    md = "md"
    json = "json"
    txt = "txt"


StyleOpt = Annotated[str, typer.Option(
    "--style", "-s", help="romance (Jane Austen), fairytale, noir, scifi, adventure, or a UTF-8 "
                          ".txt file of passages separated by blank lines.")]
WriterOpt = Annotated[str, typer.Option(
    "--writer", help="The writer LM: smollm2-135m (weight store) or a local Hugging Face "
                     "causal-LM folder.")]
LengthOpt = Annotated[int, typer.Option("--length", "-n", help="Target length in words (20-1000).")]
TempOpt = Annotated[float, typer.Option(
    "--temperature", help="Sampling temperature (0 = greedy; 0-2).")]
RetriesOpt = Annotated[int, typer.Option(
    "--retries", help="Extra drafts when one is degenerate or misses the photo (0-10).")]
StoryOutputOpt = Annotated[Optional[Path], typer.Option(
    "--output", "-o", help="Write the stories to this file (.md, .txt or .json; default: print "
                           "them); OUT.json beside it holds every fact, the exemplars, the "
                           "weights and the seed.")]
SUFFIXES = {".md", ".txt", ".json"}


def _link(photo: Path, output: Path | None) -> str:
    if output is None:
        return str(photo)
    try:
        return os.path.relpath(photo.resolve(), output.resolve().parent)
    except ValueError:  # another drive (Windows)
        return str(photo.resolve())


def _render(stories, photos: list[Path], output: Path | None, fmt: Format) -> str:
    if fmt is Format.json:
        return json.dumps({"stories": [s.to_dict() for s in stories]}, indent=2,
                          ensure_ascii=False) + "\n"
    if fmt is Format.txt:
        return "\n\n".join(s.plain() for s in stories)
    return "\n---\n\n".join(s.markdown(_link(p, output)) for s, p in zip(stories, photos))


def _gather_stories(stories: dict, photos: list[Path], output: Path | None,
                    fmt: Format) -> list[dict]:
    """Every photo's story as text, its dict and its summary line, in photo order — from every
    rank under torchrun (JSON, so no story object has to cross)."""
    from artkit.core.distributed import all_gather_objects

    mine = [{"i": i, "text": _render([s], [photos[i]], output, fmt) if fmt is not Format.json
             else "", "dict": s.to_dict(),
             "line": f"{s.style}: '{s.title}', {s.words} words, {s.attempts} draft(s), about "
                     f"{s.facts.subject.phrase}; labels {'; '.join(s.facts.describe_labels()[:2])}; "
                     f"{s.seconds:.1f} s"} for i, s in stories.items()]
    return sorted((p for part in all_gather_objects(mine) for p in part), key=lambda p: p["i"])


def _join(parts: list[dict], fmt: Format) -> str:
    """The output file of the stories :func:`_gather_stories` gathered (as :func:`_render`)."""
    if fmt is Format.json:
        return json.dumps({"stories": [p["dict"] for p in parts]}, indent=2,
                          ensure_ascii=False) + "\n"
    return ("\n\n" if fmt is Format.txt else "\n---\n\n").join(p["text"] for p in parts)


def _explain_path(output: Path, photo: Path) -> Path:
    return output.parent / f"{photo.stem}.explain.png"


@command(app, "tell")
def tell_cmd(
    photos: Annotated[List[Path], typer.Argument(help="One or more photos; one story each.")],
    output: StoryOutputOpt = None,
    style: StyleOpt = "romance",
    length: LengthOpt = 200,
    temperature: TempOpt = 0.7,
    writer: WriterOpt = "smollm2-135m",
    captioner: Annotated[Optional[Path], typer.Option(
        "--captioner", help="A local Hugging Face image-to-text model folder; its caption joins "
                            "the facts.")] = None,
    format_: Annotated[Optional[Format], typer.Option(
        "--format", "-f", help="md (title, photo, story), json or txt (default: from the -o "
                               "suffix, else md).")] = None,
    exemplars: Annotated[int, typer.Option("--exemplars", help="Style passages shown to the "
                                                               "writer (0-12).")] = 3,
    retries: RetriesOpt = 2,
    opening: Annotated[bool, typer.Option(
        "--opening/--free-opening", help="Start the story in the style's voice with the photo's "
                                         "subject in it, or let the writer start freely.")] = True,
    style_strength: Annotated[float, typer.Option(
        "--style-strength", help="How hard decoding leans towards the style corpus' own words "
                                 "(a logit bias, 0-5; 0 = off, the default: it measured no "
                                 "better).")] = 0.0,
    explain: Annotated[bool, typer.Option(
        "--explain", help="Also write NAME.explain.png beside the story (-o needed): which part "
                          "of the photo made EfficientNet-Lite0 see the label the story is about "
                          "(PatternAttribution and PatternNet), faces boxed.")] = False,
    seed: SeedOpt = 0,
    device: DeviceOpt = "auto",
    quiet: QuietOpt = False,
    verbose: VerboseOpt = False,
    force: ForceOpt = False,
) -> None:
    """Write a story about each PHOTO in a style.

    \b
    artkit finds who or what the photo is of (a person, a night sky, a place, an object; told as
    a guess when it is not sure), its colours, light and layout; these facts, style-shifted in a
    sentence-embedding space, pick passages of the style corpus as exemplars of its voice; the
    writer LM starts the story in that voice with the subject in its first words.
    \b
    Example:
      artkit story cat.jpg --style noir -o cat.md        # cat.md + cat.json (facts, manifest)
      artkit story a.jpg b.jpg --style fairytale --length 120 --seed 3
      artkit story me.jpg --style scifi -o me.md --explain   # + me.explain.png
      artkit story cat.jpg --style my_passages.txt --format txt
    Without -o the stories are printed (also with --quiet: they are the output).
    Needs `artkit weights fetch --all` (the networks and the romance corpus).
    """
    quiet_third_party(verbose)  # before transformers is imported
    from artkit.core.images import load_image
    from artkit.core.runtime import make_generator
    from artkit.story.api import Storyteller, make_config
    from artkit.story.corpus import check_style
    from artkit.story.facts import check_image

    suffix = output.suffix[1:].lower() if output is not None else ""
    fmt = format_ or (Format(suffix) if suffix in Format.__members__ else Format.md)
    options = dict(length=length, temperature=temperature, exemplars=exemplars, retries=retries,
                   opening=opening, style_strength=style_strength)
    make_config(options)
    if explain and output is None:
        raise ArtkitError("--explain writes NAME.explain.png beside the story",
                          "give -o/--output too")
    run = Run("artkit story", params=dict(photos=photos, style=style, writer=writer,
                                          captioner=captioner, format=fmt.value, explain=explain,
                                          **options),
              force=force, quiet=quiet, verbose=verbose, seed=seed, device=device, inputs=photos)
    if output is not None:
        run.output(output, suffixes=SUFFIXES, what="story file")
    explained = [run.image_output(_explain_path(output, p), what="explanation") for p in photos] \
        if explain else []
    check_style(style)  # the corpus, before any network loads
    images = [check_image(load_image(p)) for p in photos]  # unreadable or tiny photos, too
    with run:
        teller = Storyteller(writer, captioner=captioner, device=run.device, progress=run.progress)
        batch = len(photos) > 1  # a batch goes on past a photo that fails, exits 1 at the end
        stories = {}
        for i in run.split(range(len(photos))) if batch else [0]:  # torchrun: this rank's
            with run.item(str(photos[i])) if batch else contextlib.nullcontext():
                # each photo as if alone: its story from the seed
                story = teller.tell(images[i], style, generator=make_generator(seed),
                                    progress=run.progress, **options)
                story.photo = str(photos[i])
                if explain:
                    _save_explanation(run, images[i], story, explained[i])
                stories[i] = story
        parts = _gather_stories(stories, photos, output, fmt)  # every story, on rank 0
        text = _join(parts, fmt)
        if output is not None and run.world.is_main and parts:
            run.save_text(output, text, result=next(iter(stories.values()), None),
                          extra={"stories": [p["dict"] for p in parts]})
    if output is None and run.world.is_main:
        typer.echo(text)
    for p in parts:
        info(p["line"], quiet)


def _save_explanation(run, image, story, target: Path) -> None:
    """Stage NAME.explain.png: what made the classifier see the story's label."""
    from artkit.story.evidence import explain_label

    picture, notes = explain_label(image, story.facts, device=run.device)
    run.notes.extend(notes)
    run.save_image(target, picture, result=story,
                   extra={"label": story.facts.top.describe(), "photo": story.photo})


@command(app, "evaluate")
def evaluate_cmd(
    photos: Annotated[List[Path], typer.Argument(help="Photos or folders of photos.")],
    styles: Annotated[str, typer.Option(
        "--styles", help="Comma-separated styles (two or more).")] = "romance,fairytale,noir,scifi,adventure",
    labels: Annotated[Optional[Path], typer.Option(
        "--labels", help="What a person sees in each photo, for subject naming: a text file of "
                         "lines NAME<TAB>noun, noun, ...<TAB>people (number of people).")] = None,
    length: LengthOpt = 120,
    temperature: TempOpt = 0.7,
    limit: Annotated[Optional[int], typer.Option("--limit", help="Use at most this many photos.")] = None,
    conditions: Annotated[str, typer.Option(
        "--conditions", help="Comma-separated: full, no_facts, no_exemplars (baselines: no facts; "
                             "the style named only), labels_only (baseline: the top label as the "
                             "subject, as before people and scenes), free_opening, bias "
                             "(ablations).")] = "full,no_facts,no_exemplars",
    retries: RetriesOpt = 2,
    writer: WriterOpt = "smollm2-135m",
    output: Annotated[Optional[Path], typer.Option(
        "--output", "-o", help="Write the report (every story and the figures) as JSON.")] = None,
    as_json: JsonOpt = False,
    seed: SeedOpt = 0,
    device: DeviceOpt = "auto",
    quiet: QuietOpt = False,
    verbose: VerboseOpt = False,
    force: ForceOpt = False,
) -> None:
    """Measure stories over PHOTOS x styles: subject naming, grounding, style accuracy, fluency.

    \b
    Baselines: the same writer without the photo's facts (no_facts), told the style only by
    name (no_exemplars), and with the facts artkit had before people and scenes (labels_only).
    \b
    Example:
      artkit story evaluate photos/ --labels photos/labels.tsv --styles noir,fairytale -o eval.json
    """
    quiet_third_party(verbose)
    from artkit.core.images import list_images
    from artkit.story.api import Storyteller, make_config
    from artkit.story.corpus import check_style
    from artkit.story.evaluate import evaluate, read_labels

    make_config(dict(length=length, temperature=temperature, retries=retries))
    style_list = [s.strip() for s in styles.split(",") if s.strip()]
    cond_list = [c.strip() for c in conditions.split(",") if c.strip()]
    if len(style_list) < 2:
        raise ArtkitError("style accuracy needs at least two styles", "e.g. --styles romance,noir")
    for s in style_list:
        check_style(s)
    label_map = read_labels(labels) if labels is not None else None
    files = list_images(photos)[:limit] if limit else list_images(photos)
    run = Run("artkit story evaluate", params=dict(photos=photos, styles=style_list, labels=labels,
                                                   length=length, temperature=temperature,
                                                   conditions=cond_list, retries=retries,
                                                   writer=writer),
              force=force, quiet=quiet, verbose=verbose, seed=seed, device=device,
              inputs=[*files, *([labels] if labels else [])])
    if output is not None:
        run.output(output, suffixes={".json"}, what="report")
    with run:
        teller = Storyteller(writer, device=run.device, progress=run.progress)
        rep = evaluate(files, style_list, teller, labels=label_map, length=length,
                       temperature=temperature, conditions=cond_list, retries=retries,
                       generator=run.generator, progress=run.progress)
        if output is not None:
            run.save_json(output, rep.to_dict(), result=rep)
    cols = ["condition", "stories", "subject", "subject (people)", "grounding", "style acc.",
            "distinct-2", "repeated", "length ok", "s/story"]
    rows = [[c, s["n"], s["subject_naming"], s["subject_naming_people"], s["grounding"],
             s["style_accuracy"], s["distinct2"], s["repeated_sentences"], s["length_ok"],
             s["seconds"]] for c, s in rep.summary.items()]
    print_table(f"{len(files)} photos x {len(style_list)} styles, {length} words", cols, rows,
                data=rep.summary, as_json=as_json, quiet=quiet)
