"""The capability contract, proved for every capability on its tiny configuration.

Each capability describes its main command in ``tests/<capability>/contract_case.py``: a
function ``case(folder: Path) -> ContractCase`` that prepares tiny inputs in ``folder`` and says
how to run the main command so that it writes its outputs there. For each capability:

1. the same seed gives identical outputs (run twice, in two folders; pictures compared pixel
   for pixel, since their embedded manifest holds the time of the run; other files byte for byte);
2. running again without ``--force`` refuses, exit 1, and leaves every output as it was;
3. every output has a manifest beside it that names the weights used with their sha256;
4. a corrupt input gives exit 1 and one line on stderr that is not an internal error;
5. ``--quiet`` prints nothing on stdout (or stderr).
"""

from __future__ import annotations

import importlib.util
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import pytest
from PIL import Image
from typer.testing import CliRunner

from artkit.cli import app

ROOT = Path(__file__).resolve().parent
CAPABILITIES = ("doodle", "color", "story", "music", "explain", "classify")


@dataclass
class ContractCase:
    """How to run one capability's main command in a folder.

    Args:
        argv: the command line after ``artkit`` (without ``--quiet`` and ``--force``).
        outputs: the files it writes (manifests are found beside them).
        corrupt_argv: the same command on a corrupt input (written into the folder).
        env: environment variables the run needs (e.g. a tiny model's ARTKIT_HOME).
        weights: the weight names its manifests must list (at least these).
        skip: a reason to skip (e.g. real weights not cached), or ``None``.
    """

    argv: list[str]
    outputs: list[Path]
    corrupt_argv: list[str]
    env: dict[str, str] = field(default_factory=dict)
    weights: list[str] = field(default_factory=list)
    skip: str | None = None


def load_case(capability: str) -> Callable[[Path], ContractCase]:
    path = ROOT / capability / "contract_case.py"
    spec = importlib.util.spec_from_file_location(f"contract_case_{capability}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.case


def content(path: Path) -> bytes:
    """What must be identical between two runs: a picture's pixels, any other file's bytes."""
    if path.suffix.lower() in (".png", ".jpg", ".jpeg", ".webp"):
        with Image.open(path) as im:
            return im.mode.encode() + repr(im.size).encode() + im.tobytes()
    return path.read_bytes()


def invoke(argv: list[str], env: dict[str, str], monkeypatch):
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    return CliRunner().invoke(app, argv)


@pytest.mark.parametrize("capability", CAPABILITIES)
def test_contract(capability, tmp_path, monkeypatch):
    make = load_case(capability)
    first = make(tmp_path / "a")
    if first.skip:
        pytest.skip(first.skip)
    second = make(tmp_path / "b")

    res = invoke(first.argv + ["--quiet"], first.env, monkeypatch)
    assert res.exit_code == 0, res.output
    assert res.stdout == "" and res.stderr == "", "--quiet must print nothing"
    res = invoke(second.argv + ["--quiet"], second.env, monkeypatch)
    assert res.exit_code == 0, res.output
    for a, b in zip(first.outputs, second.outputs):
        assert a.is_file(), f"{a} was not written"
        assert content(a) == content(b), f"{a.name}: the same seed gave another output"

    before = {p: p.read_bytes() for p in first.outputs}
    res = invoke(first.argv, first.env, monkeypatch)
    assert res.exit_code == 1 and "already exists" in res.stderr, res.output
    assert all(p.read_bytes() == data for p, data in before.items()), "an output was changed"

    for out in first.outputs:
        manifest = out.with_name(out.stem + ".manifest.json") if out.suffix == ".json" \
            else out.with_suffix(".json")
        if manifest.is_file():
            m = json.loads(manifest.read_text())
            assert isinstance(m.get("weights"), dict), f"{manifest.name} has no weights record"
            for name in first.weights:
                assert any(name in k for k in m["weights"]), f"{manifest.name} lacks {name}"
                assert all(len(v) == 64 for v in m["weights"].values()), m["weights"]
            break
    else:
        pytest.fail("no output has a manifest beside it")

    res = invoke(first.corrupt_argv, first.env, monkeypatch)
    assert res.exit_code == 1, res.output
    lines = [line for line in res.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), res.stderr
    assert "internal error" not in res.stderr and "Traceback" not in res.stderr
