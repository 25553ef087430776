"""Data sets from Debian packages: a .deb built here (ar + tar.xz) served from a local folder."""

import pytest
from fakes import build_deb, repin

from artkit.core.errors import ArtkitError
from artkit.core.provenance import recording
from artkit.weights import registry, store


def test_fetch_debian_data_set(fake_data):
    st = store.fetch("fakedata")
    with recording() as used:
        root = store.data_path("fakedata")
    assert root == st.path / "data"
    assert (root / "a.txt").read_bytes() == b"alpha\n"
    assert (root / "sub" / "b.bin").read_bytes() == bytes(range(256))
    assert not (root / "copyright").exists()
    assert store.verify("fakedata") == []
    assert used == {"fakedata": fake_data.sha256}  # the data folder as shipped: the member's pin


def test_debian_data_damaged_in_the_cache(fake_data):
    st = store.fetch("fakedata")
    (st.path / "data" / "a.txt").write_bytes(b"alphA\n")
    with pytest.raises(ArtkitError, match="'fakedata' are damaged: data/a.txt is damaged"):
        store.data_path("fakedata")


def test_debian_not_a_package(fake_data, house, register):
    deb = house / "fakedata_1.0-1_all.deb"
    deb.write_bytes(b"PK\x03\x04 not a deb")
    register(repin(fake_data, deb))
    with pytest.raises(ArtkitError, match="is not a Debian package"):
        store.fetch("fakedata")


def test_debian_wrong_version_in_the_wheelhouse(fake_data, house):
    (house / "fakedata_1.0-1_all.deb").rename(house / "fakedata_0.9-1_all.deb")
    with pytest.raises(ArtkitError, match=r"no fakedata_1.0-1_\*.deb in ARTKIT_WHEELHOUSE"):
        store.fetch("fakedata")


def test_debian_missing_and_not_fetched(fake_data, tmp_path, monkeypatch):
    monkeypatch.setenv("ARTKIT_WHEELHOUSE", str(tmp_path / "nowhere"))
    with pytest.raises(ArtkitError, match="no fakedata_1.0-1_\\*.deb in ARTKIT_WHEELHOUSE"):
        store.fetch("fakedata")
    with pytest.raises(ArtkitError, match="run `artkit weights fetch fakedata`"):
        store.data_path("fakedata")
    with pytest.raises(ArtkitError, match="not a data set"):
        store.data_path("vgg16-hed")


def test_registry_data_sets_are_debian():
    data = [s for s in registry.REGISTRY.values() if s.is_data]
    assert {s.name for s in data} >= {"fashion-mnist", "janeausten", "timgm6mb"}
    assert all(s.source == "debian" and len(s.sha256) == 64 for s in data)


def test_build_deb_round_trip(tmp_path):
    from artkit.weights.archives import ar_members

    deb = build_deb(tmp_path)
    assert [m[0] for m in ar_members(deb)] == ["debian-binary", "control.tar.xz", "data.tar.xz"]
