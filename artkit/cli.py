"""The root ``artkit`` command: assembles the capability sub-apps, nothing else."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from artkit import __version__
from artkit.classify.cli import app as classify_app
from artkit.color.cli import app as color_app
from artkit.doodle.cli import app as doodle_app
from artkit.explain.cli import app as explain_app
from artkit.music.cli import app as music_app
from artkit.story.cli import app as story_app
from artkit.weights.cli import app as weights_app

app = typer.Typer(
    name="artkit",
    help="artkit: creative coding for generative media. Turn doodles into paintings, colour "
         "photos, write stories about them, compose music and see what networks look at.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
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


app.add_typer(doodle_app, name="doodle",
              help="Doodles into paintings: semantic style transfer (neural-doodle), style transfer, textures.")
app.add_typer(classify_app, name="classify",
              help="Photo classifiers on frozen pretrained features (DeepDoggo), zero-shot ImageNet labels.")
app.add_typer(explain_app, name="explain",
              help="PatternNet / PatternAttribution heatmaps of what a network looks at, with evaluation.")
app.add_typer(music_app, name="music",
              help="LSTM jazz over chord progressions: train, compose, render, evaluate.")
app.add_typer(color_app, name="colorize",
              help="Colour black-and-white photos: learned model, by example, or from scribbles.")
app.add_typer(story_app, name="story",
              help="A photo in, a story out: grounded in the photo, in a chosen style (neural-storyteller).")
app.add_typer(weights_app, name="weights",
              help="The offline weight store: list, fetch, verify, import pretrained networks.")


def main() -> None:
    """Console-script entry point."""
    app()
