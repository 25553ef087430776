"""The root ``artkit`` command: assembles the capability sub-apps, nothing else.

Sub-apps are imported only when their command runs, so ``artkit --help`` and ``artkit
--version`` never load torch; the one-line summaries below are what the root help shows.
"""

from __future__ import annotations

import importlib
from typing import Annotated

import click
import typer
from typer.core import TyperGroup

from artkit import __version__

# name → (module holding its Typer ``app``, one-line summary)
COMMANDS: dict[str, tuple[str, str]] = {
    "doodle": ("artkit.doodle.cli", "Doodles into paintings: semantic style transfer, style transfer, textures."),
    "classify": ("artkit.classify.cli", "Your photos, your labels: frozen-feature classifiers with an honest report."),
    "colorize": ("artkit.color.cli", "Black-and-white photos into colour: learned, by example, from scribbles."),
    "music": ("artkit.music.cli", "Jazz over any chord progression: train, compose, render, evaluate."),
    "story": ("artkit.story.cli", "A photo in, a story out: grounded in the photo, in a chosen style."),
    "explain": ("artkit.explain.cli", "PatternNet / PatternAttribution heatmaps: what a network looks at."),
    "weights": ("artkit.weights.cli", "The offline weight store: list, fetch, verify, import networks."),
    "studio": ("artkit.studio.cli", "A local web studio for all of the above (the studio extra)."),
    "gallery": ("artkit.gallery.cli", "An HTML page of artkit outputs that works from file://."),
}


class LazyGroup(TyperGroup):
    """Loads a capability's commands only when that capability is invoked."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in COMMANDS:
            return None
        module, summary = COMMANDS[name]
        sub = importlib.import_module(module).app
        cmd = typer.main.get_command(sub)
        cmd.name = name
        cmd.short_help = summary
        return cmd

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        with formatter.section("Commands"):
            formatter.write_dl([(name, summary) for name, (_, summary) in COMMANDS.items()])


app = typer.Typer(
    cls=LazyGroup,
    name="artkit",
    help="artkit: creative coding for generative media. Turn doodles into paintings, colour "
         "photos, write stories about them, compose music and see what networks look at.\n\n"
         "Every command takes --help. Common options: --device auto|cpu|cuda[:N], --seed N, "
         "--quiet, --force (overwrite outputs; without it artkit refuses). Exit status: 0 done, "
         "1 a problem with the input (one line says what and how to fix it), 2 a usage error.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
    add_completion=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"artkit {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: Annotated[bool, typer.Option(
        "--version", callback=_version, is_eager=True, help="Show the version and exit.")] = False,
) -> None:
    """artkit: creative coding for generative media."""


def main() -> None:
    """Console-script entry point."""
    app()
