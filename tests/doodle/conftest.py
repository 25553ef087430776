"""Doodle fixtures: ``fake_vgg`` swaps the pretrained VGG for a tiny random one."""

from __future__ import annotations

import pytest
import torch
from doodle_helpers import tiny_vgg


@pytest.fixture(autouse=True)
def _one_thread():
    """One intra-op thread: these tiny tensors only lose time to thread hand-offs (on a busy
    machine, many times the work itself)."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture
def fake_vgg(monkeypatch):
    """Replace the pretrained VGG by :func:`tiny_vgg`; returns the list of loads made."""
    loads: list[str] = []

    def load(name="vgg16-hed", pooling="avg", device="cpu"):
        loads.append(name)
        return tiny_vgg(pooling).to(device)

    monkeypatch.setattr("artkit.nets.load_vgg", load)
    return loads
