"""``artkit story`` and ``artkit story evaluate`` through the CLI, on test doubles."""

from __future__ import annotations

import json
import shutil

import pytest
from typer.testing import CliRunner

from artkit.cli import app

runner = CliRunner()


@pytest.fixture(scope="session")
def store_home(tmp_path_factory):
    """A weight store of test doubles (built once)."""
    from doubles import fake_store

    return fake_store(tmp_path_factory.mktemp("story-store"))


@pytest.fixture
def tiny_store(tiny_models, store_home, monkeypatch):
    """ARTKIT_HOME → the doubles (a copy, so that caches written by one test stay in it)."""
    monkeypatch.setenv("ARTKIT_HOME", str(store_home))
    return tiny_models


def _args(photo, writer, *extra):
    return ["story", str(photo), "--style", "noir", "--length", "20", "--writer", str(writer),
            "--retries", "0", "--device", "cpu", *extra]


def test_story_writes_markdown_and_its_manifest(tiny_store, photo, tmp_path):
    out = tmp_path / "out" / "story.md"
    args = _args(photo, tiny_store["writer"], "--seed", "4", "-o", str(out), "-q")
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.output
    assert res.stdout == "" and res.stderr == ""  # --quiet: nothing, not even third-party bars
    md = out.read_text()
    assert md.startswith("# ") and "![the photo](../scene.png)" in md
    side = json.loads((tmp_path / "out" / "story.json").read_text())
    st = side["extra"]["stories"][0]
    assert st["style"] == "noir" and len(st["exemplars"]) == 3 and st["facts"]["colours"]
    assert side["command"] == "artkit story" and side["seed"] == 4
    assert {"efficientnet-lite0", "minilm-l6", "writer:writer"} <= set(side["weights"])
    # no overwrite without --force; same seed, same story with it
    res = runner.invoke(app, args)
    assert res.exit_code == 1 and "already exists" in res.stderr
    assert runner.invoke(app, args + ["--force"]).exit_code == 0
    assert out.read_text() == md


def test_story_formats_and_stdout(tiny_store, photo, tmp_path):
    two = tmp_path / "two.png"
    shutil.copy(photo, two)
    base = ["story", "tell", str(photo), str(two), "--style", "scifi", "-n", "20", "--writer",
            str(tiny_store["writer"]), "--retries", "0", "-q"]
    res = runner.invoke(app, base[:1] + base[2:] + ["--format", "txt"])
    assert res.exit_code == 0 and res.stdout.strip() and res.stderr == ""  # the stories are data
    out = tmp_path / "s.json"
    assert runner.invoke(app, base + ["-o", str(out)]).exit_code == 0
    doc = json.loads(out.read_text())
    assert len(doc["stories"]) == 2 and (tmp_path / "s.manifest.json").is_file()


@pytest.mark.parametrize("case,message", [
    ("not_image", "cannot read image"), ("tiny_image", "too small"),
    ("empty_style", "no passages"), ("binary_style", "binary"), ("latin1_style", "not UTF-8"),
    ("no_corpus", "artkit weights fetch janeausten"), ("bad_length", "--length"),
])
def test_bad_input_is_one_line_before_any_network_loads(tiny_store, photo, tmp_path, case, message,
                                                        monkeypatch):
    from PIL import Image

    from artkit.story import api

    loaded = []
    monkeypatch.setattr(api.Storyteller, "__init__", lambda *a, **k: loaded.append(1))
    args = _args(photo, tiny_store["writer"], "-q")
    if case == "not_image":
        bad = tmp_path / "x.jpg"
        bad.write_text("hello")
        args[1] = str(bad)
    elif case == "tiny_image":
        Image.new("RGB", (1, 1)).save(tmp_path / "dot.png")
        args[1] = str(tmp_path / "dot.png")
    elif case == "empty_style":
        (tmp_path / "e.txt").write_text("\n\n")
        args[3] = str(tmp_path / "e.txt")
    elif case == "binary_style":
        (tmp_path / "b.txt").write_bytes(b"\x00\x01\x02" * 100)
        args[3] = str(tmp_path / "b.txt")
    elif case == "latin1_style":
        (tmp_path / "l.txt").write_bytes("Caf\xe9 au lait, the long night in the city.".encode("latin-1"))
        args[3] = str(tmp_path / "l.txt")
    elif case == "no_corpus":
        args[3] = "romance"
    elif case == "bad_length":
        args[5] = "5"
    out = tmp_path / "never.md"
    res = runner.invoke(app, args + ["-o", str(out)])
    assert res.exit_code == 1, res.output
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:") and message in lines[0], res.stderr
    assert "Traceback" not in res.output and not out.exists()
    assert not loaded, "the networks were loaded before the input was checked"


def test_writer_that_is_not_a_language_model(tiny_store, photo, tmp_path):
    from transformers import ViTConfig

    ViTConfig(hidden_size=8, num_hidden_layers=1, num_attention_heads=2,
              intermediate_size=8).save_pretrained(tmp_path / "vit")
    res = runner.invoke(app, _args(photo, tmp_path / "vit", "-q"))
    assert res.exit_code == 1 and "not a causal language model" in res.stderr


def test_story_without_weights_says_how_to_fetch(tmp_home, photo):
    res = runner.invoke(app, ["story", str(photo), "--style", "noir", "-q"])
    assert res.exit_code == 1 and "artkit weights fetch" in res.stderr


def test_help_teaches(tmp_home):
    res = runner.invoke(app, ["story", "--help"])
    assert res.exit_code == 0 and "artkit story cat.jpg" in res.output and "evaluate" in res.output
    assert "--explain" in res.output and "--style" in res.output


def test_explain_writes_the_figure_beside_the_story(tiny_store, photo, tmp_path, monkeypatch):
    """--explain on a stand-in for EfficientNet-Lite0 (its gradient: no patterns ship for it)."""
    from doubles import tiny_classifier
    from PIL import Image

    from artkit.explain import Explainable
    from artkit.nets import class_names
    from artkit.story import evidence

    net = tiny_classifier()
    fake = Explainable(name="tiny", model=net, labels=class_names(),
                       preprocess=lambda im: evidence_input(im))
    monkeypatch.setattr(evidence, "load_model", lambda name, device="cpu": fake)
    out = tmp_path / "s.md"
    res = runner.invoke(app, _args(photo, tiny_store["writer"], "-o", str(out), "--explain", "-q"))
    assert res.exit_code == 0, res.output
    fig = tmp_path / "scene.explain.png"
    assert fig.is_file() and (tmp_path / "scene.explain.json").is_file()
    with Image.open(fig) as im:
        assert im.size[0] > im.size[1] > 50  # the photo beside its map
    manifest = json.loads((tmp_path / "scene.explain.json").read_text())
    assert manifest["extra"]["label"] and manifest["weights"]
    res = runner.invoke(app, _args(photo, tiny_store["writer"], "--explain", "-q"))
    assert res.exit_code == 1 and "give -o" in res.stderr


def evidence_input(image):
    import numpy as np
    import torch

    arr = np.asarray(image.convert("RGB").resize((32, 32)), np.float32) / 255.0
    return torch.from_numpy(arr).permute(2, 0, 1)[None]


def test_evaluate_command(tiny_store, photo, tmp_path):
    labels = tmp_path / "labels.tsv"
    labels.write_text("scene.png\tthe, a\t0\n")
    out = tmp_path / "eval.json"
    res = runner.invoke(app, ["story", "evaluate", str(photo.parent), "--styles", "noir,fairytale",
                              "--length", "20", "--retries", "0", "--writer",
                              str(tiny_store["writer"]), "--conditions", "full,labels_only",
                              "--labels", str(labels), "-o", str(out), "--json", "-q"])
    assert res.exit_code == 0, res.output
    summary = json.loads(res.stdout)  # --json: the figures on stdout, even with --quiet
    assert set(summary) == {"full", "labels_only"} and summary["full"]["subject_naming"] == 1.0
    rep = json.loads(out.read_text())
    assert len(rep["stories"]) == 4 and (tmp_path / "eval.manifest.json").is_file()
    res = runner.invoke(app, ["story", "evaluate", str(photo.parent), "--styles", "noir", "-q",
                              "--writer", str(tiny_store["writer"])])
    assert res.exit_code == 1 and "two styles" in res.stderr
