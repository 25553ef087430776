"""``artkit gallery build``: turn a folder of artkit outputs into one HTML page."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from artkit.core.cli import ForceOpt, QuietOpt, Run, capability_app, command

app = capability_app("An HTML page of artkit outputs (pictures, music with its player and "
                     "piano roll, stories beside their photos) that works from file://.")


@app.callback()
def gallery() -> None:
    """An HTML page of artkit outputs that works from file://."""


@command(app, "build")
def build_cmd(
    folder: Annotated[Path, typer.Argument(help="A folder of artkit outputs (sub-folders too).")],
    output: Annotated[Path, typer.Option("--output", "-o", help="The site folder: index.html "
                                                                "goes there, with a copy of "
                                                                "every file it shows (none when "
                                                                "it is FOLDER itself).")],
    title: Annotated[str, typer.Option(help="The page's heading.")] = "artkit gallery",
    quiet: QuietOpt = False,
    force: ForceOpt = False,
) -> None:
    """Write SITE/index.html showing every picture, piece of music and story under FOLDER,
    each with the command that made it (from its manifest).

    \b
    Examples:
      artkit gallery build gallery -o gallery          # the repository's gallery/index.html
      artkit gallery build ~/.cache/artkit/studio -o site/   # everything made in the studio
    The page has no script and links nothing outside its folder: open it from disk.
    """
    from artkit.gallery.build import collect, page

    same = folder.resolve() == output.resolve()
    inside = not same and output.resolve().is_relative_to(folder.resolve())
    cards = collect(folder, exclude=output if inside else None)
    run = Run("artkit gallery build", params=dict(folder=folder, output=output, title=title),
              force=force, quiet=quiet, device=None)
    index = run.output(output / "index.html", suffixes={".html"}, what="page")
    copies = {}
    if not same:
        for rel in dict.fromkeys(f for c in cards for f in c.files):
            copies[rel] = run.output(output / "files" / rel, manifest=False, what="copy")
    with run:
        for rel, target in copies.items():
            source = folder / rel
            run.save_with(target, lambda tmp, s=source: tmp.write_bytes(s.read_bytes()))
        run.save_text(index, page(cards, title=title, prefix="" if same else "files"),
                      extra={"cards": len(cards), "files": len({f for c in cards for f in c.files})})
