"""Data sets from Debian packages: a .deb built here (ar + tar.xz) served from a local folder."""

import hashlib
import io
import tarfile

import pytest
from typer.testing import CliRunner

from artkit.cli import app
from artkit.core.errors import ArtkitError
from artkit.weights import registry, store
from artkit.weights.registry import WeightSpec

MEMBER = "usr/share/fakedata/"
FILES = {"usr/share/fakedata/a.txt": b"alpha\n", "usr/share/fakedata/sub/b.bin": bytes(range(256)),
         "usr/share/doc/fakedata/copyright": b"not wanted\n"}


def _ar_member(name: str, data: bytes) -> bytes:
    header = f"{name:<16}{0:<12}{0:<6}{0:<6}{100644:<8}{len(data):<10}`\n".encode()
    return header + data + (b"\n" if len(data) % 2 else b"")


def _build_deb(folder, files=FILES):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:xz") as tar:
        for path, data in files.items():
            info = tarfile.TarInfo("./" + path)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    folder.mkdir(parents=True, exist_ok=True)
    deb = folder / "fakedata_1.0-1_all.deb"
    deb.write_bytes(b"!<arch>\n" + _ar_member("debian-binary", b"2.0\n")
                    + _ar_member("control.tar.xz", b"") + _ar_member("data.tar.xz", buf.getvalue()))
    return deb


def _tree_digest(files) -> str:
    lines = "".join(f"{p[len(MEMBER):]}\t{hashlib.sha256(d).hexdigest()}\n"
                    for p, d in sorted(files.items()) if p.startswith(MEMBER))
    return hashlib.sha256(lines.encode()).hexdigest()


@pytest.fixture
def fake_data(tmp_path, tmp_home, monkeypatch):
    _build_deb(tmp_path / "house")
    monkeypatch.setenv("ARTKIT_WHEELHOUSE", str(tmp_path / "house"))
    spec = WeightSpec(name="fakedata", description="data: test", package="fakedata", version="1.0-1",
                      member=MEMBER, sha256=_tree_digest(FILES), licence="MIT", size=262,
                      converter="data_files", layout="data", source="debian")
    monkeypatch.setitem(registry.REGISTRY, "fakedata", spec)
    return spec


def test_fetch_debian_data_set(fake_data):
    st = store.fetch("fakedata")
    root = store.data_path("fakedata")
    assert root == st.path / "data"
    assert (root / "a.txt").read_bytes() == b"alpha\n"
    assert (root / "sub" / "b.bin").read_bytes() == bytes(range(256))
    assert not (root / "copyright").exists()
    assert store.verify("fakedata") == []
    assert store.loaded_weights()["fakedata"] == fake_data.sha256


def test_debian_checksum_mismatch(fake_data, monkeypatch):
    monkeypatch.setitem(registry.REGISTRY, "fakedata", WeightSpec(**{**fake_data.__dict__, "sha256": "1" * 64}))
    with pytest.raises(ArtkitError, match="checksum mismatch for 'fakedata'"):
        store.fetch("fakedata")
    assert not store.is_cached("fakedata")


def test_debian_not_a_package(fake_data, tmp_path, monkeypatch):
    house = tmp_path / "bad"
    house.mkdir()
    (house / "fakedata_1.0-1_all.deb").write_bytes(b"PK\x03\x04 not a deb")
    monkeypatch.setenv("ARTKIT_WHEELHOUSE", str(house))
    with pytest.raises(ArtkitError, match="is not a Debian package"):
        store.fetch("fakedata")


def test_debian_missing_and_not_fetched(fake_data, tmp_path, monkeypatch):
    monkeypatch.setenv("ARTKIT_WHEELHOUSE", str(tmp_path / "nowhere"))
    with pytest.raises(ArtkitError, match="no fakedata_\\*.deb in ARTKIT_WHEELHOUSE"):
        store.fetch("fakedata")
    with pytest.raises(ArtkitError, match="run `artkit weights fetch fakedata`"):
        store.data_path("fakedata")
    with pytest.raises(ArtkitError, match="not a data set"):
        store.data_path("vgg16-hed")


def test_registry_data_sets_are_debian():
    data = [s for s in registry.REGISTRY.values() if s.is_data]
    assert {s.name for s in data} >= {"fashion-mnist", "janeausten", "timgm6mb"}
    assert all(s.source == "debian" and len(s.sha256) == 64 for s in data)


def test_cli_fetch_data_flag(fake_data, monkeypatch):
    monkeypatch.setattr(registry, "REGISTRY", {"fakedata": fake_data})
    import artkit.weights.cli as wcli
    monkeypatch.setattr(wcli, "REGISTRY", {"fakedata": fake_data})
    res = CliRunner().invoke(app, ["weights", "fetch", "--all", "--quiet"])
    assert res.exit_code == 2  # --all alone: no weight sets in this registry
    res = CliRunner().invoke(app, ["weights", "fetch", "--data", "--quiet"])
    assert res.exit_code == 0, res.output
    assert store.is_cached("fakedata")
