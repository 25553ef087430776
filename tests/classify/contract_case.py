"""``artkit classify`` (its main command, ``predict``, with ``--explain`` so it writes files)
for tests/test_contract.py: a small head on the real EfficientNet-Lite0 (skipped when its
weights are not cached), the feature cache in the test's own ARTKIT_HOME."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from test_contract import ContractCase

REAL_HOME = Path(os.environ.get("ARTKIT_HOME") or Path.home() / ".cache" / "artkit")


def case(folder: Path) -> ContractCase:
    from artkit.nets.classifier import ClassifierFile, save_classifier_file

    if not (REAL_HOME / "weights" / "efficientnet-lite0").is_dir():
        return ContractCase([], [], [], skip="weights 'efficientnet-lite0' are not cached")
    folder.mkdir(parents=True, exist_ok=True)
    home = folder / "home"
    home.mkdir()
    (home / "weights").symlink_to(REAL_HOME / "weights")  # real weights, private feature cache
    rng = np.random.default_rng(0)
    for name, colour in (("red.png", (200, 40, 40)), ("blue.png", (40, 40, 200))):
        arr = np.clip(np.array(colour) + rng.integers(-20, 20, (24, 24, 3)), 0, 255)
        Image.fromarray(arr.astype(np.uint8)).save(folder / name)
    (folder / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    g = torch.Generator().manual_seed(0)
    d = 1280
    clf = ClassifierFile(["blue", "red"], "efficientnet-lite0",
                         torch.randn(d, 2, generator=g, dtype=torch.float64) * 0.05,
                         torch.zeros(2, dtype=torch.float64), torch.zeros(d, dtype=torch.float64),
                         torch.ones(d, dtype=torch.float64),
                         pattern=torch.randn(2, d, generator=g) * 0.01)
    model = save_classifier_file(folder / "m.safetensors", clf)
    out = folder / "heat"
    return ContractCase(
        argv=["classify", str(folder / "red.png"), "-m", str(model), "--explain", str(out)],
        outputs=[out / "red.explain.png"],
        corrupt_argv=["classify", str(folder / "broken.png"), "-m", str(model)],
        env={"ARTKIT_HOME": str(home)},
        weights=["efficientnet-lite0", "m.safetensors"],
    )
