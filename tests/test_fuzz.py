"""Every command, every hostile or careless file: one clear line, exit 1, nothing written.

The corpus comes from :mod:`corrupt` (seeded): images, MIDI, TOML presets, safetensors files and
text, each truncated, garbage after a valid magic number, bomb-sized headers, the wrong kind under
the right name, empty, binary where text is expected, numbers out of every range. Each file goes
into each command that reads its kind, in the place the user would give it. Every run must end
with exit status 1 and exactly one line on stderr starting ``error:`` — never a traceback, never
"internal error" — and leave the output folder empty. A run that hangs (the MIDI time signature
with a 2^255 denominator used to loop forever) trips a watchdog that fails the whole run with a
stack dump instead of stalling CI.

Inputs are checked before networks load, so these runs are quick even where the command would
load hundreds of megabytes of weights.
"""

from __future__ import annotations

import faulthandler
import time

import pytest
from typer.testing import CliRunner

import corrupt
from artkit.cli import app

CPU_SECONDS = 10    # the bound for one command on one corrupt file (CPU time, so a busy
                    # machine does not fail it; a hang is caught by the watchdog below)
HANG_SECONDS = 120  # wall-clock watchdog: a run that never ends aborts the suite with a stack dump

GOOD = "{good}"   # a valid 32x24 photo
FILE = "{file}"   # the corrupt file
OUT = "{out}"     # the output folder (must stay empty)

# (kind, command): the corrupt file goes where FILE stands.
COMMANDS: list[tuple[str, list[str]]] = [
    ("image", ["doodle", "-s", FILE, "--engine", "patch", "--size", "32x24", "-o", f"{OUT}/t.png"]),
    ("image", ["doodle", "-s", GOOD, "-m", FILE, "--style-map", GOOD, "--engine", "patch",
               "-o", f"{OUT}/d.png"]),
    ("image", ["doodle", "evaluate", FILE, "-s", GOOD, "-m", GOOD, "--style-map", GOOD]),
    ("image", ["colorize", FILE, "-o", f"{OUT}/c.png"]),
    ("image", ["colorize", GOOD, "--hints", FILE, "-o", f"{OUT}/c.png"]),
    ("image", ["colorize", GOOD, "--reference", FILE, "-o", f"{OUT}/c.png"]),
    ("image", ["classify", "imagenet", FILE]),
    ("image", ["explain", FILE, "-o", f"{OUT}/e.png"]),
    ("image", ["story", FILE, "-o", f"{OUT}/s.md"]),
    ("midi", ["music", "render", FILE, "-o", f"{OUT}/r.wav"]),
    ("midi", ["music", "evaluate", FILE]),
    ("midi", ["music", "--primer", FILE, "-o", f"{OUT}/m.mid"]),
    ("toml", ["doodle", "-s", GOOD, "--preset", FILE, "--engine", "patch", "--size", "32x24",
              "-o", f"{OUT}/t.png"]),
    ("toml", ["music", "--mood", FILE, "-o", f"{OUT}/m.mid"]),
    ("safetensors", ["colorize", GOOD, "-m", FILE, "-o", f"{OUT}/c.png"]),
    ("safetensors", ["classify", GOOD, "-m", FILE]),
    ("safetensors", ["explain", GOOD, "-p", FILE, "-o", f"{OUT}/e.png"]),
    ("safetensors", ["music", "-m", FILE, "-o", f"{OUT}/m.mid"]),
    ("text", ["story", GOOD, "-s", FILE, "-o", f"{OUT}/s.md"]),
    ("text", ["music", "--chords-from", FILE, "-o", f"{OUT}/m.mid"]),
]

# Files of the corpus that are not corrupt for a given command: they must succeed or fail, as a
# user would expect, but are not asked to fail: an empty preset or mood is "all defaults".
VALID = {("toml", "doodle -s", "empty"), ("toml", "music --mood", "empty")}


def _cases():
    for kind, argv in COMMANDS:
        for name in corrupt.corpus(kind):
            cmd = " ".join(a for a in argv[:2] if not a.startswith("{"))
            yield pytest.param(kind, argv, name, id=f"{cmd}-{argv.index(FILE)}-{kind}-{name}")


@pytest.fixture(autouse=True)
def _watchdog():
    faulthandler.dump_traceback_later(HANG_SECONDS, exit=True)
    yield
    faulthandler.cancel_dump_traceback_later()


@pytest.mark.parametrize(("kind", "argv", "name"), list(_cases()))
def test_a_corrupt_file_is_one_clear_line(kind, argv, name, tmp_path, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    inputs = tmp_path / "in"
    good = inputs / "good.png"
    inputs.mkdir()
    good.write_bytes(corrupt.valid_png(32, 24))
    bad = corrupt.write(inputs, kind, name, corrupt.corpus(kind)[name])
    out = tmp_path / "out"
    out.mkdir()
    args = [a.format(good=good, file=bad, out=out) for a in argv]

    cpu = time.process_time()
    res = CliRunner().invoke(app, args)
    cpu = time.process_time() - cpu

    if (kind, " ".join(argv[:2]), name) in VALID:
        assert res.exit_code in (0, 1), res.output
        return
    lines = [line for line in res.stderr.splitlines() if line.strip()]
    assert res.exit_code == 1, f"exit {res.exit_code}\n{res.output}\n{res.exception!r}"
    assert len(lines) == 1 and lines[0].startswith("error:"), res.stderr
    assert "internal error" not in res.stderr and "Traceback" not in res.stderr, res.stderr
    assert sorted(p.name for p in out.rglob("*")) == [], "a failed run left files behind"
    assert cpu <= CPU_SECONDS, f"{cpu:.1f} s of CPU to refuse a {len(bad.read_bytes())}-byte file"
    assert sorted(p.name for p in inputs.iterdir()) == sorted(["good.png", bad.name])
