"""PatternNet and PatternAttribution (Kindermans et al. 2017) for PyTorch models, with baselines.

This package's public API is what other capabilities may use (``artkit.color``'s and
``artkit.classify``'s ``--explain``, ``artkit.story``'s): the names below, imported from
``artkit.explain`` itself — never from its modules.

- :class:`Explainer` (a model and its patterns, loaded once) → :class:`Explanation`;
  :func:`explain` in one call; :func:`load_model` / :func:`load_patterns` for the parts.
- The method registry: :func:`method_names`, :func:`get_method`, :func:`register_method`,
  :class:`Method` (and the old snapshots ``METHODS``, ``NEEDS_PATTERNS``, ``SIGNED``,
  ``SIGNAL_METHODS``); ``smooth:NAME`` wraps any method in SmoothGrad's noise.
- :func:`attribute` (one method on a batch), :func:`fit_patterns` / :class:`Patterns`,
  :func:`trace`, the degradation helpers :func:`degrade` / :func:`patch_ranking`, and the
  renderers :func:`figure_image`, :func:`grid`, :func:`overlay`, :func:`render`,
  :func:`signal_image`.
"""

from artkit.explain.api import Explainer, Explanation, explain, load_patterns
from artkit.explain.attribute import METHODS, NEEDS_PATTERNS, attribute
from artkit.explain.evaluate import SIGNED, ExplainEvaluation, degrade, patch_ranking
from artkit.explain.graph import trace
from artkit.explain.methods import Method, get_method, method_names, register_method
from artkit.explain.models import Explainable, load_model
from artkit.explain.patterns import Patterns, fit_patterns
from artkit.explain.render import (
                                   SIGNAL_METHODS,
                                   figure_image,
                                   grid,
                                   overlay,
                                   render,
                                   signal_image,
)

__all__ = [
                                   "METHODS",
                                   "NEEDS_PATTERNS",
                                   "SIGNAL_METHODS",
                                   "SIGNED",
                                   "ExplainEvaluation",
                                   "Explainable",
                                   "Explainer",
                                   "Explanation",
                                   "Method",
                                   "Patterns",
                                   "attribute",
                                   "degrade",
                                   "explain",
                                   "figure_image",
                                   "fit_patterns",
                                   "get_method",
                                   "grid",
                                   "load_model",
                                   "load_patterns",
                                   "method_names",
                                   "overlay",
                                   "patch_ranking",
                                   "register_method",
                                   "render",
                                   "signal_image",
                                   "trace",
]
