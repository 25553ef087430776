"""Shared fixtures: an isolated weight cache, a skip for tests that need real weights."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REAL_HOME = os.environ.get("ARTKIT_HOME") or str(Path.home() / ".cache" / "artkit")
# Reference inputs from the original systems (neural-doodle's maps, deepjazz's MIDI): a folder
# named by ARTKIT_DATA, holding doodle/ and music/. Tests that need it skip when it is unset.
DATA = Path(os.environ["ARTKIT_DATA"]).expanduser() if os.environ.get("ARTKIT_DATA") else None


@pytest.fixture
def tmp_home(tmp_path, monkeypatch) -> Path:
    """An empty ARTKIT_HOME for the test."""
    home = tmp_path / "artkit-home"
    monkeypatch.setenv("ARTKIT_HOME", str(home))
    return home


@pytest.fixture
def real_weights(monkeypatch):
    """Return a function ``need(name)`` that skips the test unless ``name`` is cached."""
    monkeypatch.setenv("ARTKIT_HOME", REAL_HOME)
    from artkit.weights import is_cached

    def need(name: str) -> None:
        if not is_cached(name):
            pytest.skip(f"weights '{name}' are not cached: run `artkit weights fetch {name}`")

    return need


@pytest.fixture
def state_dict_or_skip(real_weights):
    """Return ``load(name)``: the cached state dict ``name``, or skip the test saying why."""
    from artkit.core.errors import ArtkitError
    from artkit.weights import load_state_dict

    def load(name: str):
        real_weights(name)
        try:
            return load_state_dict(name)
        except ArtkitError as exc:
            pytest.skip(f"weights '{name}' are not available: {exc.one_line()}")

    return load


@pytest.fixture
def shared_data() -> Path:
    """The reference inputs (``$ARTKIT_DATA``); skip when it is unset or absent."""
    if DATA is None:
        pytest.skip("ARTKIT_DATA is unset (a folder with neural-doodle's doodle/ and music/ inputs)")
    if not DATA.is_dir():
        pytest.skip(f"ARTKIT_DATA folder {DATA} does not exist")
    return DATA
