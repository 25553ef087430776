"""PatternNet and PatternAttribution (Kindermans et al. 2017) for PyTorch models, with baselines."""

from artkit.explain.attribute import METHODS, attribute
from artkit.explain.patterns import Patterns, fit_patterns

__all__ = ["METHODS", "Patterns", "attribute", "fit_patterns"]
