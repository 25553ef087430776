"""``artkit weights``: pipe-safe tables with sizes on disk, --json, what --all fetches, progress
before the summary lines, one clear line for every error."""

import json

import pytest
from typer.testing import CliRunner

from artkit.cli import app
from artkit.weights import store
from artkit.weights.registry import REGISTRY

runner = CliRunner()


def invoke(*argv):
    return runner.invoke(app, ["weights", *argv])


def test_list_piped_keeps_names_whole_and_shows_size_on_disk(fake):
    store.fetch("fake")
    res = invoke("list")
    assert res.exit_code == 0, res.output
    lines = res.stdout.splitlines()
    assert lines[0].split("\t")[:4] == ["name", "state", "on disk", "download"]
    rows = {ln.split("\t")[0]: ln.split("\t") for ln in lines[1:]}
    assert "efficientnet-lite0" in rows  # `artkit weights list | grep efficientnet-lite0` finds it
    assert set(REGISTRY) <= set(rows)
    on_disk = store.status("fake").disk_bytes
    assert rows["fake"][1] == "cached" and rows["fake"][2] == f"{on_disk / 1e6:.1f} MB"
    assert rows["janeausten"][1] == "missing" and rows["fashion-mnist"][1] == "optional"
    assert rows["vgg19"][1] == "import"
    assert "on disk in" in res.stderr


def test_list_json(fake):
    store.fetch("fake")
    res = invoke("list", "--json")
    assert res.exit_code == 0 and res.stderr == ""
    data = {d["name"]: d for d in json.loads(res.stdout)}
    assert data["fake"]["state"] == "cached" and data["fake"]["disk_bytes"] > 0
    assert data["smollm2-135m"]["download_bytes"] == REGISTRY["smollm2-135m"].archive_size
    assert invoke("list", "--quiet").stdout == ""


def test_fetch_prints_progress_then_where(fake, fake_data):
    res = invoke("fetch", "fake", "fakedata")
    assert res.exit_code == 0, res.output
    lines = res.stderr.splitlines()
    assert [ln.split(":")[0] for ln in lines] == ["fake", "fake", "fakedata", "fakedata"]
    assert "done" in lines[0] and "in the cache at" in lines[1]
    assert "done" in lines[2] and "in the cache at" in lines[3]
    res = invoke("fetch", "fake")
    assert res.exit_code == 0 and "done cached" in res.stderr.splitlines()[0]
    res = invoke("fetch", "fake", "--force", "--quiet")
    assert res.exit_code == 0 and res.stdout == "" and res.stderr == ""


def test_fetch_all_brings_every_default_set(tmp_home, monkeypatch):
    asked = []

    def record(name, force=False, progress=None):
        asked.append(name)
        return store.status(name)

    monkeypatch.setattr(store, "fetch", record)
    assert invoke("fetch", "--all", "--quiet").exit_code == 0
    assert asked == ["vgg16-hed", "efficientnet-lite0", "smollm2-135m", "minilm-l6", "janeausten"]
    asked.clear()
    assert invoke("fetch", "--data", "--quiet").exit_code == 0
    assert asked == ["janeausten", "fashion-mnist", "timgm6mb"]


def test_fetch_all_without_apt_get_says_what_it_skipped(tmp_home, monkeypatch):
    from artkit.weights.archives import ClientMissing

    def fetch(name, force=False, progress=None):
        if REGISTRY[name].source == "debian":
            raise ClientMissing(f"'{name}' ships as a Debian package, and apt-get is not available here")
        return store.status(name)

    monkeypatch.setattr(store, "fetch", fetch)
    res = invoke("fetch", "--all")
    assert res.exit_code == 0, res.output
    assert res.stderr.splitlines()[-1] == ("note: skipped 'janeausten' ships as a Debian package, "
                                           "and apt-get is not available here")
    res = invoke("fetch", "janeausten")  # asked for by name: an error
    assert res.exit_code == 1 and res.stderr.startswith("error: 'janeausten' ships as a Debian")


@pytest.mark.parametrize("argv, code, message", [
    (["fetch", "nonsense"], 1, "error: unknown weight set 'nonsense'"),
    (["fetch", "vgg19"], 1, "error: 'vgg19' cannot be fetched"),
    (["fetch"], 2, "error: name one or more weight sets, or use --all"),
    (["path", "vgg16-hed"], 1, "error: weights 'vgg16-hed' are not in the cache"),
    (["import", "vgg19", "nope.pth"], 1, "error: weight file 'nope.pth' does not exist"),
    (["verify", "nonsense"], 1, "error: unknown weight set 'nonsense'"),
])
def test_errors_are_one_line(tmp_home, argv, code, message):
    res = invoke(*argv)
    assert res.exit_code == code and res.stderr.startswith(message), res.output
    assert res.stderr.count("\n") == 1 and "Traceback" not in res.output


def test_verify_and_remove(fake):
    store.fetch("fake")
    res = invoke("verify", "--json")
    assert res.exit_code == 0 and json.loads(res.stdout) == [{"name": "fake", "ok": True, "problems": []}]
    f = store.weights_dir("fake") / "model.safetensors"
    f.write_bytes(f.read_bytes()[:-1] + b"!")
    res = invoke("verify", "fake")
    assert res.exit_code == 1
    assert "fake\tFAILED\tmodel.safetensors is damaged (sha256 differs)" in res.stdout
    assert res.stderr.startswith("error: 1 weight set(s) failed verification: fake")
    assert "fetch fake --force" in res.stderr
    res = invoke("path", "fake")
    assert res.exit_code == 0 and res.stdout.strip().endswith("model.safetensors")
    res = invoke("remove", "fake")
    assert res.exit_code == 0 and res.stderr == "fake: removed\n"
    assert invoke("path", "fake").exit_code == 1


def test_help_lists_the_commands():
    res = invoke("--help")
    assert res.exit_code == 0
    for cmd in ("list", "fetch", "verify", "path", "import", "remove"):
        assert cmd in res.stdout
