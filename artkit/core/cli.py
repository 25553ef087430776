"""The command-line layer every capability shares: apps, options, errors, progress, the run.

Only ``cli.py`` modules import this. Library code raises :class:`ArtkitError` and reports
progress through callbacks; here errors become one line on stderr with exit status 1, callbacks
become progress bars, and :class:`Run` turns one command into: outputs planned and checked
before any work → device, seed and progress set up → the library called → outputs written
together with their manifests (weights and wall time included) → "wrote ..." lines.

This module imports neither torch nor the capabilities, so ``--help`` stays instant: a
``cli.py`` imports its library inside the command function (the one deferred import the house
style allows, besides heavy third-party packages).
"""

from __future__ import annotations

import functools
import json
import os
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, Callable, Iterable, Iterator, Optional, Sequence

import click
import typer
from typer.core import TyperGroup

from artkit.core.errors import ArtkitError
from artkit.core.outputs import IMAGE_OUTPUTS, OutputPlan
from artkit.core.progress import ProgressEvent
from artkit.core.provenance import record_all, recording
from artkit.core.result import Timer

# --------------------------------------------------------------------------------- options

DeviceOpt = Annotated[str, typer.Option(
    "--device", help="Where to compute: auto (CUDA when present, else CPU), cpu, cuda or cuda:N.")]
SeedOpt = Annotated[int, typer.Option(
    "--seed", help="Random seed: the same seed, inputs and device give the same output.")]
QuietOpt = Annotated[bool, typer.Option(
    "--quiet", "-q", help="Print nothing but errors (and --json data).")]
VerboseOpt = Annotated[bool, typer.Option(
    "--verbose", help="Also show the messages and progress bars of third-party libraries.")]
ForceOpt = Annotated[bool, typer.Option("--force", help="Overwrite output files that exist.")]
JsonOpt = Annotated[bool, typer.Option(
    "--json", help="Print the figures as JSON on stdout instead of a table.")]
OutputOpt = Annotated[Path, typer.Option(
    "--output", "-o", help="The output file; its manifest (OUT.json) is written beside it.")]
OptionalOutputOpt = Annotated[Optional[Path], typer.Option(
    "--output", "-o", help="Also write the result to this file (a manifest goes beside it).")]
ModelOpt = Annotated[Optional[str], typer.Option(
    "--model", "-m", help="A model file (.safetensors) or a shipped model's name.")]


# --------------------------------------------------------------------------------- apps


class DefaultGroup(TyperGroup):
    """A command group with a main action: ``artkit doodle -s ...`` runs its default command,
    ``artkit doodle evaluate ...`` a sub-command. ``--help`` shows the main action's options
    followed by the other commands."""

    default_command: str | None = None

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        name = self.default_command
        if name and args and args[0] not in self.commands and args[0] not in ("-h", "--help"):
            args = [name, *args]
        return super().parse_args(ctx, args)

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [n for n in super().list_commands(ctx) if n != self.default_command]

    def format_usage(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        main = self.commands.get(self.default_command or "")
        if main is None:
            return super().format_usage(ctx, formatter)
        pieces = main.collect_usage_pieces(ctx)
        formatter.write_usage(ctx.command_path, " ".join(pieces))
        formatter.write_usage(ctx.command_path, "COMMAND [ARGS]...", prefix=" " * 7 + "or: ")

    def format_help_text(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        main = self.commands.get(self.default_command or "")
        (main or super()).format_help_text(ctx, formatter)

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        main = self.commands.get(self.default_command or "")
        if main is not None:
            main.format_options(ctx, formatter)
        self.format_commands(ctx, formatter)


def capability_app(help: str, *, default: str | None = None, epilog: str | None = None) -> typer.Typer:
    """The Typer app of one capability; ``default`` names the command run when the first
    argument is not a sub-command (registered hidden under that name)."""
    cls = type("Group", (DefaultGroup,), {"default_command": default})
    return typer.Typer(cls=cls, help=help, epilog=epilog, no_args_is_help=True,
                       pretty_exceptions_enable=False, rich_markup_mode=None,
                       add_completion=False, context_settings={"help_option_names": ["-h", "--help"]})


def rank() -> int:
    """This process's rank under torchrun (``RANK``; 0 outside it). Read from the environment,
    so this module still imports no torch."""
    try:
        return int(os.environ.get("RANK") or 0)
    except ValueError:
        return 0


def is_main() -> bool:
    """Rank 0 (or no torchrun): the process that prints summaries, tables and progress."""
    return rank() == 0


class SharedError(ArtkitError):
    """An error every rank of a torchrun job raises alike (bad input, an output that exists):
    rank 0 alone prints it, the other ranks exit 1 quietly."""


def error(message: str, code: int = 1) -> typer.Exit:
    """Print ``error: message`` on stderr (one line) and return an Exit to raise. Under torchrun
    ranks other than 0 say which rank they are."""
    who = f"rank {rank()}: " if not is_main() and not message.startswith("rank ") else ""
    typer.echo(f"error: {who}{' '.join(message.split())}", err=True)
    return typer.Exit(code)


def guarded(fn: Callable) -> Callable:
    """Wrap a CLI function: ArtkitError → one line and exit 1, Ctrl-C → exit 130, any other
    exception → one line (a traceback only with ARTKIT_DEBUG=1)."""

    @functools.wraps(fn)
    def wrapper(*a, **kw):
        try:
            return fn(*a, **kw)
        except SharedError as exc:
            if not is_main():
                raise typer.Exit(1) from None
            raise error(exc.one_line()) from None
        except ArtkitError as exc:
            raise error(exc.one_line()) from None
        except KeyboardInterrupt:
            raise error("interrupted; nothing was written", 130) from None
        except (typer.Exit, typer.Abort, SystemExit, click.exceptions.ClickException):
            raise
        except MemoryError:
            raise error("out of memory", 1) from None
        except Exception as exc:  # a bug, not bad input: still one line, unless debugging
            if os.environ.get("ARTKIT_DEBUG"):
                raise
            raise error(f"internal error: {type(exc).__name__}: {exc} "
                        "(set ARTKIT_DEBUG=1 for a traceback, and please report it)") from None

    return wrapper


def command(app: typer.Typer, name: str, *, hidden: bool = False, **kwargs) -> Callable:
    """Register ``fn`` as command ``name`` of ``app``, :func:`guarded`."""

    def decorate(fn: Callable) -> Callable:
        app.command(name, hidden=hidden, **kwargs)(guarded(fn))
        return fn

    return decorate


def info(message: str, quiet: bool = False) -> None:
    """A summary line on stderr (suppressed by --quiet, and on every rank but 0 under torchrun)."""
    if not quiet and is_main():
        typer.echo(message, err=True)


def skip_done(items: Sequence[Any], command: str,
              params: dict[str, Any] | Callable[[Any], dict[str, Any]], *,
              outputs: Callable[[Any], tuple[Any, Sequence[Any]]], quiet: bool = False,
              verb: str = "done", ignore: tuple[str, ...] = ("inputs",),
              noun: str = "photo(s)") -> list[Any]:
    """A batch's rerun: the items still to do. ``outputs(item)`` gives ``(source, [paths])``;
    an item is done when its first path's manifest names ``source`` with the same ``params``
    (one dict for the batch, or ``params(item)`` when each item has its own settings; see
    :func:`artkit.core.manifest.is_complete`) and its other paths exist. Says how many
    ``noun`` were skipped (rank 0 only)."""
    from artkit.core.manifest import is_complete

    todo = []
    for item in items:
        source, paths = outputs(item)
        mine = params(item) if callable(params) else params
        if not (is_complete(paths[0], command, mine, source=source, ignore=ignore)
                and all(os.path.isfile(p) for p in paths[1:])):
            todo.append(item)
    skipped = len(items) - len(todo)
    info(f"skipping {skipped} {noun} {verb} by an earlier run with the same settings "
         "(--force redoes them)", quiet or not skipped)
    return todo


# --------------------------------------------------------------------------------- progress


class ProgressBars:
    """A progress callback that renders bars on stderr; use as a context manager.

    One bar per task name; tasks without a total show a spinner. With ``quiet`` it does nothing;
    when stderr is not a terminal, each task prints one line when it finishes instead of bars.
    """

    def __init__(self, quiet: bool = False):
        self.quiet = quiet
        self._progress = None
        self._tasks: dict[str, int] = {}
        self._plain = not sys.stderr.isatty()
        self._finished: set[str] = set()

    def __enter__(self) -> "ProgressBars":
        if not self.quiet and not self._plain:
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
            self._progress = None

    def __call__(self, event: ProgressEvent) -> None:
        if self.quiet:
            return
        text = event.message
        if event.metrics:
            text = (text + " " if text else "") + " ".join(f"{k}={_fmt(v)}" for k, v in event.metrics.items())
        if self._progress is None:
            if event.done and event.task not in self._finished:
                self._finished.add(event.task)
                typer.echo(f"{event.task}: done {text}".rstrip(), err=True)
            return
        if event.task not in self._tasks:
            self._tasks[event.task] = self._progress.add_task(event.task, total=event.total, info=text)
        self._progress.update(self._tasks[event.task], completed=event.completed,
                              total=event.total, info=text)


def _fmt(v: float) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)


def quiet_third_party(verbose: bool = False) -> None:
    """Silence the progress bars and log lines of transformers, Hugging Face Hub, tqdm and
    friends (they print even when artkit is asked to be quiet), unless ``verbose``."""
    if verbose:
        return
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TQDM_DISABLE", "1")
    os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")
    import logging
    import warnings

    for name in ("transformers", "huggingface_hub", "accelerate", "gguf", "music21", "h5py"):
        logging.getLogger(name).setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", module="transformers")
    warnings.filterwarnings("ignore", module="music21")
    if "transformers" in sys.modules:  # already imported: its own switches
        from transformers.utils import logging as hf_logging

        hf_logging.set_verbosity_error()
        hf_logging.disable_progress_bar()


# --------------------------------------------------------------------------------- tables


def print_table(title: str, columns: Sequence[str], rows: Iterable[Sequence[Any]], *,
                data: Any = None, as_json: bool = False, quiet: bool = False) -> None:
    """Print a table on stdout: aligned when stdout is a terminal, tab-separated with every
    value whole when it is piped; with ``as_json`` the JSON of ``data`` (or of the rows)."""
    if not is_main():  # under torchrun rank 0 alone prints
        return
    rows = [[_cell(v) for v in r] for r in rows]
    if as_json:
        payload = data if data is not None else [dict(zip(columns, r)) for r in rows]
        typer.echo(json.dumps(payload, indent=2, default=str))
        return
    if quiet:
        return
    if not sys.stdout.isatty():
        typer.echo("\t".join(columns))
        for r in rows:
            typer.echo("\t".join(r))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title)
    for col in columns:
        table.add_column(col, overflow="fold")
    for r in rows:
        table.add_row(*r)
    Console().print(table)


def _cell(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    return "" if v is None else str(v)


# --------------------------------------------------------------------------------- the run


class Run:
    """One command's run: its outputs, device, seed, progress bars, timing and manifests.

    Plan the outputs, then enter the block; inside it call the library and save through the run.
    Every file saved is staged and, when the block ends without error, written with the others
    and with its manifest; on an error or Ctrl-C nothing is written.

    Example (inside a command)::

        run = Run("artkit doodle", params=dict(style=style), force=force, quiet=quiet,
                  seed=seed, device=device, inputs=[style])
        out = run.output(output, suffixes=IMAGE_OUTPUTS)
        with run:
            result = painter.paint(..., generator=run.generator, progress=run.progress)
            run.save_image(out, result.image, result=result)

    Args:
        command: the command line's name, for the manifest (``"artkit doodle"``).
        params: every parameter of the run, for the manifest.
        force, quiet, verbose: the shared options.
        seed: the seed (a CPU ``torch.Generator`` is made from it as :attr:`generator`).
        device: a device spec (resolved on entry as :attr:`device`); ``None`` for no device.
        inputs: files the command reads; no output may be written onto one.

    Under torchrun every rank enters the block (joining the process group and taking its
    device, see :mod:`artkit.core.distributed`), rank 0 alone checks the planned outputs, shows
    progress, prints and writes; the files other ranks save are dropped — except in a batch
    split with :meth:`split`, where each rank writes the outputs it makes and rank 0 prints the
    summary.
    """

    def __init__(self, command: str, *, params: dict[str, Any] | None = None,
                 force: bool = False, quiet: bool = False, verbose: bool = False,
                 seed: int | None = None, device: str | None = "auto",
                 inputs: Iterable[Any] = ()):
        self.command = command
        self.params = dict(params or {})
        self.quiet, self.verbose, self.seed, self.device_spec = quiet, verbose, seed, device
        self.plan = OutputPlan(force=force, inputs=[p for p in inputs if isinstance(p, (str, os.PathLike))])
        self.device = None
        self.generator = None
        self.progress: ProgressBars = ProgressBars(quiet or not is_main())
        self.world: Any = None  # core.distributed.World, set on entry
        self._each_rank = False
        self.done = 0  # batch items finished (see :meth:`item`)
        self.weights: dict[str, str] = {}
        self.notes: list[str] = []
        self.written: list[Path] = []
        self.failed: list[tuple[str, str]] = []
        self._timer = Timer()
        self._recording = None

    # ---- planning

    def output(self, path: str | os.PathLike, *, suffixes: Iterable[str] | None = None,
               manifest: bool = True, what: str = "output") -> Path:
        """Plan an output (and its manifest); see :meth:`OutputPlan.add`."""
        return self.plan.add(path, suffixes=suffixes, manifest=manifest, what=what)

    def image_output(self, path: str | os.PathLike, *, manifest: bool = True,
                     what: str = "output image") -> Path:
        """Plan an image output (.png, .jpg, .jpeg or .webp)."""
        return self.output(path, suffixes=IMAGE_OUTPUTS, manifest=manifest, what=what)

    # ---- the block

    def __enter__(self) -> "Run":
        from artkit.core import distributed
        from artkit.core.runtime import make_generator, resolve_device

        self.world = distributed.world()
        if not self.world.distributed:
            self.plan.check()
            if self.device_spec is not None:
                self.device = resolve_device(self.device_spec)
        else:  # join the group, then rank 0 checks the outputs and tells the others
            self.world, dev = distributed.setup(self.device_spec or "cpu")
            self.device = dev if self.device_spec is not None else None
            problem = None
            if self.world.is_main:
                try:
                    self.plan.check()
                except ArtkitError as exc:
                    problem = [exc.message, exc.hint]
            problem = distributed.broadcast_object(problem)
            if problem:
                distributed.teardown()
                raise SharedError(*problem)
        quiet_third_party(self.verbose)
        if self.seed is not None:
            self.generator = make_generator(self.seed, "cpu")
        self._recording = recording()
        self.weights = self._recording.__enter__()
        self.progress.__enter__()
        self._timer.__enter__()
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        from artkit.core import distributed

        self._timer.__exit__()
        self.progress.__exit__(exc_type, exc, tb)
        self._recording.__exit__(exc_type, exc, tb)
        try:
            if exc_type is not None:
                self.plan.discard()
                return False
            if self.plan.pending:
                self.commit()
            for note in self.notes:
                info(f"note: {note}", self.quiet)
            failed = [name for name, _ in self.failed]
            if self.world.distributed and self._each_rank:  # the batch's summary, from rank 0
                parts = distributed.all_gather_objects({"done": self.done, "failed": failed})
                failed = [name for part in parts for name in part["failed"]]
                info(f"{sum(part['done'] for part in parts)} input(s) done by "
                     f"{self.world.size} processes "
                     f"({', '.join(str(part['done']) for part in parts)} by rank)", self.quiet)
                if failed:
                    raise SharedError(f"{len(failed)} input(s) failed: " + ", ".join(failed))
            if failed:
                raise ArtkitError(f"{len(failed)} input(s) failed: " + ", ".join(failed))
            return False
        finally:
            if self.world is not None and self.world.distributed:
                distributed.teardown()

    def split(self, items: Iterable[Any]) -> list[Any]:
        """This process's share of a batch's items (all of them outside torchrun): every
        ``size``-th item from position ``rank``, so sort them first. From then on each rank
        writes the outputs it makes, and the run ends with a summary from rank 0."""
        from artkit.core.distributed import shard

        self._each_rank = True
        return shard(list(items), self.world)

    @property
    def seconds(self) -> float:
        """Wall time so far."""
        return self._timer.elapsed if self._timer.seconds == 0.0 else self._timer.seconds

    # ---- saving

    def manifest(self, *, result: Any = None, extra: dict[str, Any] | None = None,
                 params: dict[str, Any] | None = None, seed: int | None = None) -> dict:
        """The manifest of what has been done so far (weights used, wall time, ``extra``);
        ``params`` and ``seed`` replace the run's (one job of a batch whose jobs differ)."""
        from artkit.core.manifest import build_manifest

        weights = dict(self.weights)
        if result is not None:
            weights.update(getattr(result, "weights", {}) or {})
            notes = list(getattr(result, "notes", []) or [])
            extra = {**({"notes": notes} if notes else {}), **(extra or {})}
        if self.world is not None and self.world.distributed:
            extra = {**(extra or {}), "processes": self.world.size}
        return build_manifest(self.command, self.params if params is None else params,
                              seed=self.seed if seed is None else seed,
                              device=None if self.device is None else str(self.device),
                              weights=weights, wall_time=self.seconds, extra=extra)

    def _with_manifest(self, path: Path, manifest: dict | None) -> None:
        from artkit.core.manifest import manifest_path

        item = self.plan.planned.get(os.path.normcase(os.path.abspath(path)))
        if item is not None and item.manifest:
            self.plan.stage_text(manifest_path(path),
                                 json.dumps(manifest, indent=2, sort_keys=True) + "\n")

    def save_image(self, path: str | os.PathLike, image: Any, *, result: Any = None,
                   extra: dict[str, Any] | None = None, quality: int = 95,
                   params: dict[str, Any] | None = None, seed: int | None = None) -> None:
        """Stage an image (a tensor in [0, 1] or a PIL image), its manifest inside a PNG and
        beside it (``params``, ``seed``: see :meth:`manifest`)."""
        from artkit.core.images import encode_image

        path = Path(path)
        manifest = self.manifest(result=result, extra=extra, params=params, seed=seed)
        self.plan.stage_bytes(path, encode_image(image, path.suffix, manifest=manifest,
                                                 quality=quality))
        self._with_manifest(path, manifest)

    def save_bytes(self, path: str | os.PathLike, data: bytes, *, result: Any = None,
                   extra: dict[str, Any] | None = None) -> None:
        """Stage a file's bytes (and its manifest)."""
        self.plan.stage_bytes(path, data)
        self._with_manifest(Path(path), self.manifest(result=result, extra=extra))

    def save_text(self, path: str | os.PathLike, text: str, **kw: Any) -> None:
        """Stage a UTF-8 text file (and its manifest)."""
        self.save_bytes(path, text.encode("utf-8"), **kw)

    def save_json(self, path: str | os.PathLike, data: Any, **kw: Any) -> None:
        """Stage a JSON file (and its manifest)."""
        self.save_text(path, json.dumps(data, indent=2, sort_keys=True, default=str) + "\n", **kw)

    def save_with(self, path: str | os.PathLike, write: Callable[[Path], None], *,
                  result: Any = None, extra: dict[str, Any] | None = None) -> None:
        """Stage a file written by ``write(tmp_path)`` (and its manifest)."""
        self.plan.stage(path, write)
        self._with_manifest(Path(path), self.manifest(result=result, extra=extra))

    def commit(self) -> list[Path]:
        """Write every staged file now; prints ``wrote ...``. Under torchrun only rank 0 writes
        (every rank in a batch split with :meth:`split`)."""
        if self.world is not None and not self.world.is_main and not self._each_rank:
            self.plan.discard()
            return []
        done = self.plan.commit()
        self.written += done
        shown = [str(p) for p in done if not p.name.endswith(".json") or len(done) == 1]
        if shown:
            info(f"wrote {', '.join(shown)} ({self.seconds:.1f} s)", self.quiet)
        return done

    @contextmanager
    def item(self, name: str) -> Iterator[None]:
        """One input of a batch: its files are written when the block ends; an
        :class:`ArtkitError` inside is reported in one line and the batch goes on (the command
        exits 1 at the end)."""
        try:
            yield
            if self.plan.pending:
                self.commit()
            self.done += 1
        except ArtkitError as exc:
            self.plan.discard()
            self.failed.append((name, exc.one_line()))
            typer.echo(f"error: {name}: {exc.one_line()}", err=True)

    def use(self, weights: dict[str, str]) -> None:
        """Record weights loaded before the run began (a shared, already-loaded object)."""
        self.weights.update(weights)
        record_all(weights)
