"""The music capability's main command for tests/test_contract.py: four bars over the shipped
ii-V-I with the shipped jazz model; the corrupt input is a lead sheet that is not MusicXML."""

from __future__ import annotations

from pathlib import Path

from test_contract import ContractCase


def case(folder: Path) -> ContractCase:
    folder.mkdir(parents=True, exist_ok=True)
    bad = folder / "chart.musicxml"
    bad.write_bytes(b"\x00\x01\x02 this is not a lead sheet")
    out = folder / "song.mid"
    return ContractCase(
        argv=["music", "--progression", "ii-v-i", "--bars", "4", "--seed", "3", "-o", str(out)],
        outputs=[out],
        corrupt_argv=["music", "--chords-from", str(bad), "-o", str(folder / "x.mid")],
        weights=["jazz"])
