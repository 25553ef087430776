"""``artkit colorize`` for tests/test_contract.py: one gray photo coloured by a tiny model.

The tiny model (random weights fixed by a generator, a small random EfficientNet as its
backbone) needs no downloaded weights, so the contract is checked everywhere; its manifest must
name the model file with its sha256.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image

from artkit.color.model import ColorModel, ColorModelConfig
from test_contract import ContractCase


def case(folder: Path) -> ContractCase:
    folder.mkdir(parents=True, exist_ok=True)
    model = folder / "tiny.safetensors"
    ColorModel(ColorModelConfig(backbone="tiny", dim=8),
               generator=torch.Generator().manual_seed(0)).save(model)
    photo = folder / "photo.png"
    arr = np.tile(np.linspace(30, 220, 24), (16, 1)).astype(np.uint8)
    arr[4:10, 6:14] = 90
    Image.fromarray(arr, "L").save(photo)
    corrupt = folder / "corrupt.png"
    corrupt.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40)  # a PNG signature, then nothing
    out = folder / "out" / "photo.png"
    common = ["--model", str(model), "--method", "model", "--device", "cpu", "--seed", "0"]
    return ContractCase(
        argv=["colorize", str(photo), "-o", str(out), *common],
        outputs=[out],
        corrupt_argv=["colorize", str(corrupt), "-o", str(folder / "bad.png"), *common],
        weights=["tiny.safetensors"],
    )
