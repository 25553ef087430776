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

from __future__ import annotations

from typing import TYPE_CHECKING

from artkit.core.lazy import lazy_exports

# name -> module: imported on first use, so that `artkit explain --help` (and any cli.py that
# imports this package) loads no torch.
_EXPORTS = {
    "Explainer": "api", "Explanation": "api", "explain": "api", "load_patterns": "api",
    "METHODS": "attribute", "NEEDS_PATTERNS": "attribute", "attribute": "attribute",
    "SIGNED": "evaluate", "ExplainEvaluation": "evaluate", "degrade": "evaluate",
    "patch_ranking": "evaluate",
    "trace": "graph",
    "Method": "methods", "get_method": "attribute", "method_names": "attribute",
    "register_method": "attribute",
    "Explainable": "models", "load_model": "models",
    "Patterns": "patterns", "fit_patterns": "patterns",
    "SIGNAL_METHODS": "render", "figure_image": "render", "grid": "render", "overlay": "render",
    "render": "render", "signal_image": "render",
}

__all__ = ["METHODS", "NEEDS_PATTERNS", "Explainable", "ExplainEvaluation", "Explainer",
           "Explanation", "Method", "Patterns", "SIGNAL_METHODS", "SIGNED", "attribute", "degrade",
           "explain", "figure_image", "fit_patterns", "get_method", "grid", "load_model",
           "load_patterns", "method_names", "overlay", "patch_ranking", "register_method",
           "render", "signal_image", "trace"]

if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from artkit.explain.api import Explainer, Explanation, explain, load_patterns
    from artkit.explain.attribute import METHODS, NEEDS_PATTERNS, attribute
    from artkit.explain.evaluate import SIGNED, ExplainEvaluation, degrade, patch_ranking
    from artkit.explain.graph import trace
    from artkit.explain.methods import Method, get_method, method_names, register_method
    from artkit.explain.models import Explainable, load_model
    from artkit.explain.patterns import Patterns, fit_patterns
    from artkit.explain.render import (SIGNAL_METHODS, figure_image, grid, overlay, render,
                                       signal_image)


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)


