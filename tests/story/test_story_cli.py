"""``artkit story`` and ``artkit story evaluate`` through the CLI, on tiny random networks."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from artkit.cli import app

runner = CliRunner()


@pytest.fixture
def tiny_store(tiny_models, tmp_home, monkeypatch):
    """Point the weight store's classifier and encoder at the tiny stand-ins."""
    from conftest import tiny_classifier

    from artkit import nets
    from artkit.weights import store

    monkeypatch.setattr(nets, "load_efficientnet", lambda device="cpu": tiny_classifier(), raising=False)
    real = store.hf_folder
    monkeypatch.setattr(store, "hf_folder",
                        lambda name: tiny_models["encoder"] if name == "minilm-l6" else real(name))
    return tiny_models


def test_story_writes_markdown_and_json(tiny_store, photo, tmp_path):
    out = tmp_path / "out" / "story.md"
    args = ["story", str(photo), "--style", "noir", "--length", "20", "--writer",
            str(tiny_store["writer"]), "--retries", "0", "--seed", "4", "-o", str(out), "-q"]
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.output
    md = out.read_text()
    assert md.startswith("# ") and "![the photo](../scene.png)" in md
    side = json.loads((tmp_path / "out" / "story.json").read_text())
    st = side["stories"][0]
    assert st["style"] == "noir" and len(st["exemplars"]) == 3 and st["facts"]["colours"]
    assert side["manifest"]["command"] == "artkit story" and side["manifest"]["seed"] == 4
    # no overwrite without --force; same seed, same story with it
    res = runner.invoke(app, args)
    assert res.exit_code == 1 and "already exists" in res.output
    assert runner.invoke(app, args + ["--force"]).exit_code == 0
    assert out.read_text() == md


def test_story_formats_and_stdout(tiny_store, photo, tmp_path):
    base = ["story", "tell", str(photo), str(photo), "--style", "scifi", "-n", "20", "--writer",
            str(tiny_store["writer"]), "--retries", "0", "-q"]
    res = runner.invoke(app, base[:3] + base[4:] + ["--format", "txt"])
    assert res.exit_code == 0 and res.output.strip()
    out = tmp_path / "s.json"
    assert runner.invoke(app, base + ["-o", str(out)]).exit_code == 0
    doc = json.loads(out.read_text())
    assert len(doc["stories"]) == 2 and "manifest" in doc
    assert not (tmp_path / "s.manifest.json").exists()


@pytest.mark.parametrize("case,message", [
    ("not_image", "cannot read image"), ("tiny_image", "too small"),
    ("empty_style", "no passages"), ("binary_style", "binary"),
    ("writer_not_lm", "not a causal language model"), ("bad_length", "--length"),
])
def test_story_bad_input_is_one_line(tiny_store, photo, tmp_path, case, message):
    from PIL import Image

    args = ["story", str(photo), "--writer", str(tiny_store["writer"]), "--style", "noir",
            "-n", "20", "--retries", "0", "-q"]
    if case == "not_image":
        bad = tmp_path / "x.jpg"
        bad.write_text("hello")
        args[1] = str(bad)
    elif case == "tiny_image":
        Image.new("RGB", (1, 1)).save(tmp_path / "dot.png")
        args[1] = str(tmp_path / "dot.png")
    elif case == "empty_style":
        (tmp_path / "e.txt").write_text("\n\n")
        args[5] = str(tmp_path / "e.txt")
    elif case == "binary_style":
        (tmp_path / "b.txt").write_bytes(b"\x00\x01\x02" * 100)
        args[5] = str(tmp_path / "b.txt")
    elif case == "writer_not_lm":
        from transformers import ViTConfig

        ViTConfig(hidden_size=8, num_hidden_layers=1, num_attention_heads=2,
                  intermediate_size=8).save_pretrained(tmp_path / "vit")
        args[3] = str(tmp_path / "vit")
    elif case == "bad_length":
        args[7] = "5"
    out = tmp_path / "never.md"
    res = runner.invoke(app, args + ["-o", str(out)])
    assert res.exit_code == 1, res.output
    lines = [ln for ln in res.output.splitlines() if ln.strip()]
    assert lines[-1].startswith("error:") and message in lines[-1]
    assert "Traceback" not in res.output and not out.exists()


def test_story_without_weights_says_how_to_fetch(tmp_home, photo):
    res = runner.invoke(app, ["story", str(photo), "-q"])
    assert res.exit_code == 1 and "artkit weights fetch" in res.output


def test_help_teaches(tmp_home):
    res = runner.invoke(app, ["story", "--help"])
    assert res.exit_code == 0 and "artkit story cat.jpg" in res.output and "evaluate" in res.output
    res = runner.invoke(app, ["story", "tell", "--help"])
    assert res.exit_code == 0 and "Example" in res.output and "--style" in res.output


def test_evaluate_command(tiny_store, photo, tmp_path):
    out = tmp_path / "eval.json"
    res = runner.invoke(app, ["story", "evaluate", str(photo.parent), "--styles", "noir,fairytale",
                              "--length", "20", "--retries", "0", "--writer",
                              str(tiny_store["writer"]), "--conditions", "full,no_facts",
                              "-o", str(out), "-q"])
    assert res.exit_code == 0, res.output
    assert "full" in res.output  # the table (its headers wrap at 80 columns)
    rep = json.loads(out.read_text())
    assert set(rep["summary"]) == {"full", "no_facts"} and len(rep["stories"]) == 4
    res = runner.invoke(app, ["story", "evaluate", str(photo.parent), "--styles", "noir", "-q",
                              "--writer", str(tiny_store["writer"])])
    assert res.exit_code == 1 and "two styles" in res.output
