"""PatternNet and PatternAttribution (Kindermans et al. 2017) for PyTorch models, with baselines.

This package's public API is what other capabilities may use (``artkit.color``'s and
``artkit.classify``'s ``--explain``, ``artkit.story``'s): the names below, imported from
``artkit.explain`` itself — never from its modules.
"""

from artkit.explain.api import explain, load_patterns
from artkit.explain.attribute import METHODS, NEEDS_PATTERNS, attribute
from artkit.explain.evaluate import SIGNED, degrade, patch_ranking
from artkit.explain.graph import trace
from artkit.explain.models import load_model
from artkit.explain.patterns import Patterns, fit_patterns
from artkit.explain.render import SIGNAL_METHODS, figure_image, grid, overlay, signal_image

__all__ = ["METHODS", "NEEDS_PATTERNS", "Patterns", "SIGNAL_METHODS", "SIGNED", "attribute",
           "degrade", "explain", "figure_image", "fit_patterns", "grid", "load_model",
           "load_patterns", "overlay", "patch_ranking", "signal_image", "trace"]
