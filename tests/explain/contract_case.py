"""``artkit explain`` (its main command, ``show``) for tests/test_contract.py: the shipped
Fashion-MNIST CNN and its patterns (no downloads), every default method side by side."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from test_contract import ContractCase


def case(folder: Path) -> ContractCase:
    folder.mkdir(parents=True, exist_ok=True)
    a = np.full((32, 32), 220, np.uint8)
    a[6:28, 10:22] = 50  # a dark garment on a light background
    Image.fromarray(a).save(folder / "shirt.png")
    (folder / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    out = folder / "out" / "shirt-explained.png"
    return ContractCase(
        argv=["explain", str(folder / "shirt.png"), "--model", "fashion-cnn", "-o", str(out),
              "--seed", "3"],
        outputs=[out],
        corrupt_argv=["explain", str(folder / "broken.png"), "--model", "fashion-cnn", "-o",
                      str(folder / "out" / "broken.png")],
        weights=["fashion-cnn"],
    )
