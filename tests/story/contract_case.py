"""The story command for tests/test_contract.py, on test doubles (no real weights needed).

A random full-size EfficientNet-Lite0 and a 1-layer BERT stand in for the weight store
(``ARTKIT_HOME``), a 1-layer Llama is the ``--writer``: the photo's facts and the story are
nonsense, but every property of the contract — same seed same story, no overwrite, a manifest
with weights, one line for a corrupt photo, silence with ``--quiet`` — is the real command's.
"""

from __future__ import annotations

import sys
from pathlib import Path

from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
from doubles import fake_store, make_writer  # noqa: E402
from test_contract import ContractCase  # noqa: E402

_BUILT: dict[str, Path] = {}


def case(folder: Path) -> ContractCase:
    folder.mkdir(parents=True, exist_ok=True)
    if "home" not in _BUILT:  # the doubles once per session, outside the compared folders
        root = folder.parent / "story-doubles"
        _BUILT["home"] = fake_store(root / "home")
        _BUILT["writer"] = make_writer(root / "writer")
    photo = folder / "photo.png"
    Image.new("RGB", (32, 24), (140, 90, 40)).save(photo)
    corrupt = folder / "corrupt.png"
    corrupt.write_bytes(b"\x89PNG\r\n\x1a\n not really a picture")
    out = folder / "story.md"
    common = ["story", "--style", "noir", "--length", "20", "--retries", "0",
              "--writer", str(_BUILT["writer"]), "--device", "cpu", "--seed", "3"]
    return ContractCase(argv=common[:1] + [str(photo)] + common[1:] + ["-o", str(out)],
                        outputs=[out],
                        corrupt_argv=common[:1] + [str(corrupt)] + common[1:] + ["-o",
                                                                                  str(folder / "bad.md")],
                        env={"ARTKIT_HOME": str(_BUILT["home"])},
                        weights=["efficientnet-lite0", "minilm-l6", "writer:"])
