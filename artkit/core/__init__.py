"""Shared plumbing used by every capability: errors, devices, images, progress, manifests, presets."""

from artkit.core.errors import ArtkitError

__all__ = ["ArtkitError"]
