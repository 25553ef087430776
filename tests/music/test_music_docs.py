"""The Python examples of docs/music.md run as written."""

import re
from pathlib import Path

DOC = Path(__file__).resolve().parents[2] / "docs" / "music.md"


def test_python_blocks_in_the_music_guide_run(tmp_path, monkeypatch, capsys):
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    assert blocks
    monkeypatch.chdir(tmp_path)
    for block in blocks:
        exec(compile(block, str(DOC), "exec"), {})
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "custom changes, seed 0 6 11.1" and out[1:4] == ["Dm7 G7@3", "Cmaj7", "Cmaj7"]
    assert out[4] == "3/4 24 2"
