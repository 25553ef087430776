"""Command-line plumbing shared by every sub-app: common options, error handling, progress bars.

Only CLI modules import this. Library code raises :class:`ArtkitError` and reports progress
through callbacks; here the errors become one line on stderr with exit status 1, and the
callbacks become rich progress bars.
"""

from __future__ import annotations

import functools
import os
import sys
import time
from pathlib import Path
from typing import Annotated, Callable, Optional

import typer

from artkit.core.errors import ArtkitError
from artkit.core.progress import ProgressEvent

DeviceOpt = Annotated[str, typer.Option(
    "--device", help="Where to compute: auto (CUDA when present), cpu, cuda or cuda:N.")]
SeedOpt = Annotated[Optional[int], typer.Option(
    "--seed", help="Random seed; the same seed, inputs and device give the same output.")]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars or summaries.")]
ForceOpt = Annotated[bool, typer.Option("--force", help="Overwrite output files that exist.")]


def error(message: str, code: int = 1) -> typer.Exit:
    """Print ``error: message`` on stderr (one line) and return an Exit to raise."""
    typer.echo(f"error: {' '.join(message.split())}", err=True)
    return typer.Exit(code)


def guarded(fn: Callable) -> Callable:
    """Wrap a CLI function: ArtkitError → one line and exit 1, Ctrl-C → exit 130, any other
    exception → one line (a traceback only with ARTKIT_DEBUG=1)."""

    @functools.wraps(fn)
    def wrapper(*a, **kw):
        try:
            return fn(*a, **kw)
        except ArtkitError as exc:
            raise error(exc.one_line()) from None
        except KeyboardInterrupt:
            raise error("interrupted", 130) from None
        except (typer.Exit, typer.Abort, SystemExit):
            raise
        except Exception as exc:  # a bug, not bad input: still one line, unless debugging
            if os.environ.get("ARTKIT_DEBUG"):
                raise
            raise error(f"internal error: {type(exc).__name__}: {exc} "
                        "(set ARTKIT_DEBUG=1 for a traceback, and please report it)") from None

    return wrapper


def command(app: typer.Typer, *args, **kwargs) -> Callable:
    """Register ``fn`` as a command of ``app``, :func:`guarded`."""

    def decorate(fn: Callable) -> Callable:
        app.command(*args, **kwargs)(guarded(fn))
        return fn

    return decorate


def info(message: str, quiet: bool = False) -> None:
    """A summary line on stderr (suppressed by --quiet)."""
    if not quiet:
        typer.echo(message, err=True)


class ProgressBars:
    """A progress callback that renders rich bars on stderr; use as a context manager.

    One bar per task name; tasks without a total show a spinner. With ``quiet`` it does nothing.
    """

    def __init__(self, quiet: bool = False):
        self.quiet = quiet
        self._progress = None
        self._tasks: dict[str, int] = {}

    def __enter__(self) -> "ProgressBars":
        if not self.quiet:
            from rich.console import Console
            from rich.progress import (BarColumn, MofNCompleteColumn, Progress, SpinnerColumn,
                                       TextColumn, TimeElapsedColumn, TimeRemainingColumn)

            self._progress = Progress(SpinnerColumn(), TextColumn("[bold]{task.description}"),
                                      BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                                      TimeRemainingColumn(), TextColumn("{task.fields[info]}"),
                                      console=Console(stderr=True), transient=False)
            self._progress.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        if self._progress is not None:
            self._progress.__exit__(*exc)

    def __call__(self, event: ProgressEvent) -> None:
        if self._progress is None:
            return
        text = event.message
        if event.metrics:
            text = (text + " " if text else "") + " ".join(f"{k}={_fmt(v)}" for k, v in event.metrics.items())
        if event.task not in self._tasks:
            self._tasks[event.task] = self._progress.add_task(event.task, total=event.total, info=text)
        self._progress.update(self._tasks[event.task], completed=event.completed,
                              total=event.total, info=text)


def _fmt(v: float) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)


class Timer:
    """Wall-clock timer: ``with Timer() as t: ...; t.seconds``."""

    def __enter__(self) -> "Timer":
        self.start = time.perf_counter()
        self.seconds = 0.0
        return self

    def __exit__(self, *exc) -> None:
        self.seconds = time.perf_counter() - self.start


def existing_file(path: Path, what: str = "file") -> Path:
    """Check that ``path`` is an existing file (clear error otherwise)."""
    if not path.exists():
        raise ArtkitError(f"{what} '{path}' does not exist")
    if not path.is_file():
        raise ArtkitError(f"{what} '{path}' is not a file")
    return path
