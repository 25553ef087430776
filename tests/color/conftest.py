"""Shared fixtures of the colorize tests: one thread, tiny models, small synthetic photos."""

from __future__ import annotations

import pytest
import torch
from color_helpers import colour_photo, tiny_model


@pytest.fixture(autouse=True)
def _one_thread():
    """One intra-op thread: these tiny tensors only lose time to thread hand-offs."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture(scope="session")
def tiny_path(tmp_path_factory):
    """A tiny colouriser file, shared by the session's tests."""
    return tiny_model(tmp_path_factory.mktemp("tiny") / "tiny.safetensors")


@pytest.fixture(scope="session")
def photos_dir(tmp_path_factory):
    """A folder of two small colour photos."""
    folder = tmp_path_factory.mktemp("photos")
    for i in range(2):
        colour_photo(folder / f"p{i}.png", size=(56, 48), seed=i, shade=40 * i)
    return folder
