"""Hostile MIDI files (built here): every header field and length is bounded, nothing hangs,
nothing asks for terabytes; each is one clear error."""

import struct
import time

import pytest
from typer.testing import CliRunner

from artkit.cli import app
from artkit.core.errors import ArtkitError
from artkit.music.api import render
from artkit.music.corpus import load_pieces
from artkit.music.midi import MidiNote, MidiSong, MidiTrack, read_midi, write_midi


def _varlen(v: int) -> bytes:
    out = [v & 0x7F]
    v >>= 7
    while v:
        out.append((v & 0x7F) | 0x80)
        v >>= 7
    return bytes(reversed(out))


def smf(events: bytes, ppq: int = 480, ntracks: int = 1, hlen: int = 6) -> bytes:
    header = b"MThd" + struct.pack(">IHHH", hlen, 0, ntracks, ppq) + b"\0" * (hlen - 6)
    return header + b"MTrk" + struct.pack(">I", len(events)) + events


def huge_denominator() -> bytes:
    """A real little tune (a few hundred bytes) whose time signature says 4/2^250."""
    notes = [MidiNote(i * 0.5, 0.5, 60 + (i * 5) % 12, 90) for i in range(48)]
    data = write_midi(MidiSong([MidiTrack("melody", 0, 0, notes)], markers=[(0.0, "C7")]))
    return data.replace(b"\xff\x58\x04\x04\x02", b"\xff\x58\x04\x04\xfa")


def far_note(quarters: int) -> bytes:
    """One note, ``quarters`` quarter notes in (ppq 1): a few dozen bytes."""
    return smf(_varlen(quarters) + b"\x90\x3c\x40" + b"\x01\x80\x3c\x00" + b"\x00\xff\x2f\x00", ppq=1)


HOSTILE = {
    "huge denominator": (huge_denominator(), "time signature 4/2\\^250"),
    "note in 2^28 quarters": (smf(b"\xff\xff\xff\x7f\x90\x3c\x40\x00\xff\x2f\x00", ppq=1),
                              "quarter notes in"),
    "5-byte varlen": (smf(b"\x81\x81\x81\x81\x01\x90\x3c\x40"), "longer than 4 bytes"),
    "tempo 0": (smf(b"\x00\xff\x51\x03\x00\x00\x00\x00\xff\x2f\x00"), "tempo of 0"),
    "tempo of 2 bytes": (smf(b"\x00\xff\x51\x02\x07\xa1\x00\xff\x2f\x00"), "tempo event of 2"),
    "65535 tracks": (smf(b"\x00\xff\x2f\x00", ntracks=65535), "65535 tracks"),
    "0 ppq": (smf(b"\x00\xff\x2f\x00", ppq=0), "0 ticks"),
    "track longer than file": (smf(b"")[:-4] + struct.pack(">I", 0x9999) + b"\x00\xff\x2f\x00",
                               "claims 39321 bytes"),
    "meta longer than track": (smf(b"\x00\xff\x01\x7f\x41\x42"), "claims 127 bytes"),
    "status byte as pitch": (smf(b"\x00\x90\xc8\x40\x00\xff\x2f\x00"), "data byte of 200"),
    "header length 2^32-1": (b"MThd\xff\xff\xff\xff\x00\x00\x00\x01\x01\xe0", "header length"),
}


@pytest.mark.parametrize("name", list(HOSTILE))
def test_hostile_midi_is_one_quick_error(tmp_path, name):
    data, match = HOSTILE[name]
    p = tmp_path / "x.mid"
    p.write_bytes(data)
    t = time.perf_counter()
    with pytest.raises(ArtkitError, match=match) as exc:
        read_midi(p)
    assert time.perf_counter() - t < 2.0 and "not a readable MIDI file" in str(exc.value)
    pieces, skipped = load_pieces([str(p)])        # training / evaluate / primer path
    assert not pieces and "not a readable MIDI" in skipped[0][1]


def test_a_note_hours_away_is_refused_before_any_allocation(tmp_path):
    p = tmp_path / "far.mid"
    p.write_bytes(far_note(900_000))            # 900,000 quarters at 120 bpm: 125 hours
    assert len(p.read_bytes()) < 100
    song = read_midi(p)                         # a legitimate (if odd) file...
    t = time.perf_counter()
    with pytest.raises(ArtkitError, match="lasts 125.0 hours.*renders up to 3.0 hours"):
        render(song)                            # ...that would be 80 GB of audio
    assert time.perf_counter() - t < 1.0
    res = CliRunner().invoke(app, ["music", "render", str(p), "-o", str(tmp_path / "far.wav")])
    assert res.exit_code == 1 and res.stderr.count("\n") == 1 and "125.0 hours" in res.stderr
    assert not (tmp_path / "far.wav").exists() and not (tmp_path / "far.json").exists()


def test_commands_on_hostile_files_are_one_line(tmp_path):
    p = tmp_path / "bad.mid"
    p.write_bytes(huge_denominator())
    runner = CliRunner()
    for argv in (["render", str(p), "-o", str(tmp_path / "o.wav")],
                 ["train", str(p), "-o", str(tmp_path / "m.safetensors"), "--size", "tiny"],
                 ["evaluate", str(p)],
                 ["--primer", str(p), "-o", str(tmp_path / "o.mid"), "--bars", "4"]):
        t = time.perf_counter()
        res = runner.invoke(app, ["music", *argv])
        assert res.exit_code == 1, (argv, res.output)
        lines = [line for line in res.stderr.splitlines() if line.strip()]
        assert len(lines) == 1 and lines[0].startswith("error:") and "internal" not in lines[0]
        assert time.perf_counter() - t < 30          # generous: shared, loaded test machines
    assert sorted(x.name for x in tmp_path.iterdir()) == ["bad.mid"]


def test_writing_refuses_pitches_outside_midi():
    with pytest.raises(ArtkitError, match="pitch 200"):
        write_midi(MidiSong([MidiTrack("x", 0, 0, [MidiNote(0, 1, 200)])]))
