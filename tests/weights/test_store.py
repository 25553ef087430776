"""The weight store against fake packages from a local wheelhouse: fetching, loading with the
hash check, what is recorded, imports, and the record (meta.json) never trusted blindly."""

import json
import os
import stat
from dataclasses import replace
from pathlib import Path

import pytest
import torch
from fakes import sha

from artkit.core.errors import ArtkitError
from artkit.core.provenance import recording
from artkit.weights import cache, store
from artkit.weights.registry import REGISTRY


def test_fetch_verify_load_and_noop(fake, tmp_home):
    st = store.fetch("fake")
    assert st.cached and (st.path / "model.safetensors").exists()
    with recording() as used:
        sd = store.load_state_dict("fake")
    assert torch.equal(sd["w"], torch.arange(6.0).view(2, 3))
    assert used == {"fake": fake.pins["model.safetensors"]}  # what was loaded, pinned
    assert store.verify("fake") == []
    meta = json.loads((st.path / "meta.json").read_text())
    assert meta["source"] == "fakeweights==0.1.0" and meta["archive_sha256"] == fake.archive_sha256
    mtime = (st.path / "meta.json").stat().st_mtime_ns
    store.fetch("fake")  # a second fetch is a no-op
    assert (st.path / "meta.json").stat().st_mtime_ns == mtime
    assert list((tmp_home / "weights" / ".work").iterdir()) == []  # work folders cleaned


def test_nothing_is_recorded_without_a_recording(fake):
    store.fetch("fake")
    store.load_state_dict("fake")  # no global state: nothing to leak into the next command
    with recording() as used:
        pass
    assert used == {} and not hasattr(store, "loaded_weights") and not hasattr(store, "_LOADED")


def test_one_bit_flip_is_refused_at_load(fake):
    st = store.fetch("fake")
    f = st.path / "model.safetensors"
    store.load_state_dict("fake")  # the hash is now remembered by stat
    data = bytearray(f.read_bytes())
    data[-3] ^= 0x01  # one bit of one weight
    f.write_bytes(bytes(data))
    with pytest.raises(ArtkitError, match=r"'fake' are damaged: model.safetensors is damaged "
                                          r"\(sha256 differs\).*fetch fake --force"):
        store.load_state_dict("fake")
    assert store.verify("fake") == ["model.safetensors is damaged (sha256 differs)"]
    store.fetch("fake")  # a damaged set is fetched again without --force
    assert store.verify("fake") == [] and store.load_state_dict("fake")["w"][1, 2] == 5.0


def test_the_second_load_does_not_hash(fake, monkeypatch):
    store.fetch("fake")
    calls = []
    real = cache.sha256_file
    monkeypatch.setattr(cache, "sha256_file", lambda p, *a: calls.append(p) or real(p, *a))
    store.load_state_dict("fake")
    store.load_state_dict("fake")
    assert calls == []  # remembered at install, keyed by size, mtime, ctime, inode
    (store.weights_dir("fake") / "model.safetensors").touch()  # a new mtime: hash again
    store.load_state_dict("fake")
    assert len(calls) == 1
    store.verify("fake")  # verify never trusts the remembered hash
    assert len(calls) == 2


def test_damage_without_a_trace_is_found_by_verify_then_at_load(fake):
    st = store.fetch("fake")
    f = st.path / "model.safetensors"
    good = json.loads((st.path / ".hashes.json").read_text())["model.safetensors"][5]
    data = bytearray(f.read_bytes())
    data[-3] ^= 0x01
    f.write_bytes(bytes(data))
    # failing storage changes bytes but no metadata: forge a record that still vouches for them
    record = cache.HashRecord(st.path)
    record.remember("model.safetensors", f, good)
    record.save()
    store.load_state_dict("fake")  # the fast path cannot see it (documented) ...
    assert store.verify("fake") == ["model.safetensors is damaged (sha256 differs)"]  # ... verify can
    with pytest.raises(ArtkitError, match="damaged"):  # and the record no longer vouches for it
        store.load_state_dict("fake")


@pytest.mark.parametrize("files, problem", [
    ({}, "meta.json lists no files"),
    ({"../../outside.bin": "0" * 64}, "outside the set"),
    ({"/etc/passwd": "0" * 64}, "outside the set"),
    ({"model.safetensors": "not a hash"}, "not a path and a sha256"),
])
def test_verify_does_not_trust_meta_json(fake, files, problem):
    st = store.fetch("fake")
    meta = json.loads((st.path / "meta.json").read_text())
    meta["files"] = files
    (st.path / "meta.json").write_text(json.dumps(meta))
    assert problem in store.verify("fake")[0]
    with pytest.raises(ArtkitError, match=f"'fake' are damaged: .*{problem}"):
        store.load_state_dict("fake")


def test_files_not_in_the_record_are_refused(fake):
    st = store.fetch("fake")
    (st.path / "extra.bin").write_bytes(b"x")
    assert store.verify("fake") == ["extra.bin is not in meta.json (artkit did not write it)"]
    with pytest.raises(ArtkitError, match="extra.bin is not in meta.json"):
        store.load_state_dict("fake")


def test_a_set_the_registry_no_longer_pins_is_outdated(fake, register):
    """A sound record of another conversion (an older artkit's, a test double) loads and is
    recorded as what it is; verify fails it; a plain fetch replaces it with the pinned set."""
    st = store.fetch("fake")
    sha_now = fake.pins["model.safetensors"]
    register(replace(fake, pins={"model.safetensors": "a" * 64}))  # the registry moved on
    assert store.status("fake").state == "outdated" and store.is_cached("fake")
    with recording() as used:
        store.load_state_dict("fake")
    assert used == {"fake": sha_now}  # what was loaded, not the pin
    assert store.verify("fake")[0].startswith("outdated: made by an older artkit or other "
                                              "converter versions: model.safetensors")
    with pytest.raises(ArtkitError, match="the conversion of 'fake' gave model.safetensors with "
                                          "a sha256 other than the registry's pin; nothing was kept"):
        store.fetch("fake")  # not "cached": fetched again, and the new conversion is checked
    assert store.verify("fake")[1:] == [] and (st.path / "model.safetensors").exists()
    register(replace(fake, sha256="b" * 64))  # another package altogether
    assert "made from another package" in store.status("fake").problem


@pytest.mark.parametrize("content, problem", [
    (b"\xff\xfe\x00garbage", "meta.json is not UTF-8 text"),
    (b"[1, 2, 3]", "meta.json holds a JSON list, not artkit's record"),
    (b"{not json", "meta.json is not JSON"),
    (b'{"name": "other", "layout": "state_dict", "files": {}}', "meta.json describes 'other'"),
])
def test_odd_meta_json_is_one_clear_line(fake, content, problem):
    from typer.testing import CliRunner

    from artkit.cli import app

    st = store.fetch("fake")
    (st.path / "meta.json").write_bytes(content)
    assert store.status("fake").state == "damaged"
    assert problem in store.status("fake").problem
    res = CliRunner().invoke(app, ["weights", "path", "fake"])
    assert res.exit_code == 1 and res.stderr.count("\n") == 1, res.output
    assert res.stderr.startswith(f"error: cached weights 'fake' are damaged: {problem}")
    res = CliRunner().invoke(app, ["weights", "list"])
    assert res.exit_code == 0 and f"fake: damaged: {problem}" in res.stderr


def test_file_valued_home_is_one_clear_line(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from artkit.cli import app

    f = tmp_path / "home-file"
    f.write_text("not a folder")
    monkeypatch.setenv("ARTKIT_HOME", str(f))
    for argv in (["weights", "list"], ["weights", "fetch", "janeausten"], ["weights", "path", "vgg16-hed"],
                 ["weights", "verify"]):
        res = CliRunner().invoke(app, argv)
        assert res.exit_code == 1, (argv, res.output)
        assert res.stderr == f"error: the weight cache '{f}' is a file, not a folder (point " \
                             "ARTKIT_HOME at a folder (it is created when needed), or unset it to " \
                             "use ~/.cache/artkit)\n", res.stderr
    with pytest.raises(ArtkitError, match="is a file, not a folder"):
        store.load_state_dict("vgg16-hed")


def test_read_only_home_loads_and_refuses_to_fetch_clearly(fake, tmp_home, read_only):
    from typer.testing import CliRunner

    from artkit.cli import app

    store.fetch("fake")
    (store.weights_dir("fake") / ".hashes.json").unlink()  # the next load must hash and cannot save
    read_only(tmp_home)
    assert store.load_state_dict("fake")["w"].shape == (2, 3)  # loads work from a read-only cache
    assert store.verify("fake") == []
    res = CliRunner().invoke(app, ["weights", "fetch", "fake", "--force"])
    assert res.exit_code == 1 and res.stderr.count("\n") == 1
    assert res.stderr.startswith("error: cannot ") and "read-only file system" in res.stderr
    assert str(tmp_home) in res.stderr and "ARTKIT_HOME" in res.stderr


def test_unwritable_home_real(tmp_path, monkeypatch):
    """A home the system refuses (sysfs refuses mkdir even to root)."""
    probe = "/sys/artkit-test-home"
    try:
        os.mkdir(probe)
        os.rmdir(probe)
        pytest.skip("/sys accepts new folders here")
    except FileNotFoundError:
        pytest.skip("no /sys")
    except OSError:
        pass
    monkeypatch.setenv("ARTKIT_HOME", probe)
    with pytest.raises(ArtkitError, match=r"cannot create the weight cache: (permission denied|"
                                          r"read-only file system) \(/sys/artkit-test-home"):
        store.fetch("janeausten")


def test_converted_files_get_umask_permissions(fake):
    old = os.umask(0o022)
    try:
        st = store.fetch("fake")
    finally:
        os.umask(old)
    for p in [st.path, *st.path.rglob("*")]:
        mode = stat.S_IMODE(p.stat().st_mode)
        assert mode == (0o755 if p.is_dir() else 0o644), (p, oct(mode))


def test_permission_denied_is_not_damage(fake, monkeypatch):
    st = store.fetch("fake")
    target = st.path / "model.safetensors"

    def denied(path, *a):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(cache, "sha256_file", denied)
    with pytest.raises(ArtkitError) as info:
        store.verify("fake")
    line = info.value.one_line()
    assert "permission denied" in line and str(target) in line and "damaged" not in line
    assert "chmod" in line


def test_permission_denied_real(tmp_path, tiny_vgg, monkeypatch):
    """A cache file another user made private, read as an unprivileged user (root reads any
    file, so as root the check runs as `nobody` through setpriv)."""
    import shutil
    import subprocess
    import sys
    import tempfile

    as_user: list[str] = []
    if os.geteuid() == 0:
        if not shutil.which("setpriv"):
            pytest.skip("running as root without setpriv: cannot read as another user")
        as_user = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]
    home = Path(tempfile.mkdtemp(prefix="artkit-perm-"))
    try:
        home.chmod(0o755)
        f = tmp_path / "vgg19.pth"
        torch.save(_vgg_state_dict(), f)
        monkeypatch.setenv("ARTKIT_HOME", str(home))
        st = store.import_file("vgg19", f)
        (st.path / "model.safetensors").chmod(0o600)
        root = Path(__file__).resolve().parents[2]
        res = subprocess.run(as_user + [sys.executable, "-c", "from artkit.cli import main; main()",
                                        "weights", "verify", "vgg19"],
                             capture_output=True, text=True, cwd="/",
                             env={**os.environ, "PYTHONPATH": str(root), "ARTKIT_HOME": str(home)})
        assert res.returncode == 1, res.stderr
        assert res.stderr.startswith("error: cannot read the weights 'vgg19': permission denied "
                                     f"({st.path / 'model.safetensors'})"), res.stderr
        assert "damaged" not in res.stderr and res.stderr.count("\n") == 1
    finally:
        shutil.rmtree(home, ignore_errors=True)


def test_missing_weights_name_the_command(tmp_home):
    with pytest.raises(ArtkitError, match="run `artkit weights fetch vgg16-hed`"):
        store.load_state_dict("vgg16-hed")
    with pytest.raises(ArtkitError, match="artkit weights import vgg19"):
        store.load_state_dict("vgg19")
    with pytest.raises(ArtkitError, match="unknown weight set 'vgg17'"):
        store.load_state_dict("vgg17")


def test_registry_pins_every_fetchable_set():
    for spec in REGISTRY.values():
        if spec.importable:
            continue
        assert len(spec.archive_sha256) == 64 and spec.archive_size > 0, spec.name
        assert len(spec.sha256) == 64 and spec.pins, spec.name
        assert all(len(v) == 64 for v in spec.pins.values()), spec.name
    every = {n for n, s in REGISTRY.items() if s.in_all}
    assert "janeausten" in every  # the story's default style needs it
    assert {"fashion-mnist", "timgm6mb"}.isdisjoint(every)


def _vgg_state_dict(arch="vgg19"):
    from artkit.weights.convert import VGG_CONV_INDICES, VGG_WIDTHS

    sd, prev = {}, 3
    for idx, w in zip(VGG_CONV_INDICES[arch], VGG_WIDTHS[arch]):
        sd[f"features.{idx}.weight"] = torch.zeros(w, prev, 3, 3)
        sd[f"features.{idx}.bias"] = torch.zeros(w)
        prev = w
    sd["classifier.0.weight"] = torch.zeros(2, 2)
    return sd


@pytest.fixture
def tiny_vgg(monkeypatch):
    """VGG widths of 4-16 channels, so that importing takes milliseconds."""
    from artkit.weights import convert

    for arch, widths in convert.VGG_WIDTHS.items():
        monkeypatch.setitem(convert.VGG_WIDTHS, arch, [min(w // 32, 16) for w in widths])


def test_import_vgg19(tmp_home, tmp_path, tiny_vgg):
    f = tmp_path / "vgg19.pth"
    torch.save(_vgg_state_dict(), f)
    store.import_file("vgg19", f)
    with recording() as used:
        sd = store.load_state_dict("vgg19")
    assert len(sd) == 32 and "classifier.0.weight" not in sd
    assert used["vgg19"] == sha((store.weights_dir("vgg19") / "model.safetensors").read_bytes())
    meta = json.loads((store.weights_dir("vgg19") / "meta.json").read_text())
    assert meta["source_sha256"] == sha(f.read_bytes())
    with pytest.raises(ArtkitError, match="already imported"):
        store.import_file("vgg19", f)
    store.import_file("vgg19", f, force=True)
    torch.save(_vgg_state_dict("vgg16"), tmp_path / "v16.pth")
    with pytest.raises(ArtkitError, match="not a torchvision VGG19 state dict"):
        store.import_file("vgg19", tmp_path / "v16.pth", force=True)
    assert store.verify("vgg19") == []  # the failed import left the old set in place


class Evil:
    """An arbitrary object: weights_only loading must refuse to unpickle it."""


def test_import_refuses_pickled_objects(tmp_home, tmp_path, tiny_vgg):
    f = tmp_path / "evil.pth"
    torch.save({"model": Evil()}, f)
    with pytest.raises(ArtkitError, match="cannot load"):
        store.import_file("vgg19", f)
    assert not store.is_cached("vgg19")


def test_remove(fake, tmp_home):
    store.fetch("fake")
    assert store.remove("fake") and not store.weights_dir("fake").exists()
    assert not store.remove("fake")
    assert list((tmp_home / "weights" / ".work").iterdir()) == []
