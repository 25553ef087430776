"""Fixtures of the story tests: tiny networks (see doubles.py), a photo, a loaded teller."""

from __future__ import annotations

from pathlib import Path

import pytest
from doubles import make_encoder, make_writer, tiny_classifier

@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("story-models")
    return {"writer": make_writer(root / "writer"), "encoder": make_encoder(root / "encoder"),
            "plain_writer": make_writer(root / "plain_writer", chat=False)}


@pytest.fixture
def teller(tiny_models, tmp_home):
    """A Storyteller on tiny random networks (isolated ARTKIT_HOME)."""
    from artkit.story.api import Storyteller

    return Storyteller(tiny_models["writer"], classifier=tiny_classifier(),
                       embedder=tiny_models["encoder"], corpus_limit=40)


@pytest.fixture
def photo(tmp_path) -> Path:
    """A 48x32 photo: blue sky over a red block on green grass."""
    import numpy as np
    from PIL import Image

    arr = np.zeros((32, 48, 3), np.uint8)
    arr[:12] = (110, 170, 235)
    arr[12:] = (40, 140, 50)
    arr[10:26, 18:32] = (200, 30, 30)
    path = tmp_path / "scene.png"
    Image.fromarray(arr).save(path)
    return path
