"""Fixtures of the studio's tests: a studio on a temporary work folder, tiny inputs."""

from __future__ import annotations

import pytest


@pytest.fixture
def studio(tmp_path):
    """A studio whose work folder is a temporary folder (CPU, the real weight cache)."""
    from artkit.studio.jobs import Studio

    return Studio(tmp_path / "studio", device="cpu")


@pytest.fixture
def small_style(studio):
    """The bundled 96×72 textures style."""
    from artkit.studio.styles import bundled

    return bundled("textures-small", studio.workspace.styles)
