"""The registry of attribution methods: each method is declared once, every list reads it.

A :class:`Method` says what a method is called, whether it needs fitted patterns, whether its
map is *signed* evidence (red for, blue against; patches are ranked by their signed sum) or a
magnitude, how it is drawn (``"heatmap"`` or ``"signal"``, PatternNet's image of the signal), and
how it is computed: ``run(ctx)`` with an :class:`artkit.explain.attribute.Context` holding the
model, the input, the target and the patterns.

The CLI's choices, ``artkit explain evaluate``'s list, the renderer and colorize's ``--explain``
choices all come from :func:`method_names` / :func:`get_method`, so a method registered with
:func:`register_method` appears everywhere at once.

**SmoothGrad as a wrapper.** ``smooth:NAME`` is method NAME averaged over noisy copies of the
input (Smilkov et al. 2017; captum calls the idea NoiseTunnel): ``smooth:patternattribution``,
``smooth:lrp_epsilon`` ... ``smoothgrad`` is the registered name of ``smooth:gradient``.

Example:
    >>> m = get_method("smooth:patternattribution")
    >>> m.needs_patterns, m.signed, m.render
    (True, True, 'heatmap')
    >>> "patternnet" in method_names()
    True
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from artkit.core.errors import ArtkitError

SMOOTH_PREFIX = "smooth:"
SMOOTH_SAMPLES = 16      # noisy copies of the input
SMOOTH_NOISE = 0.15      # noise std relative to the input's value range


@dataclass(frozen=True)
class Method:
    """One attribution method.

    Args:
        name: what it is called on the command line and in results.
        run: ``run(ctx) -> (B, ...) attributions`` shaped like the input.
        needs_patterns: it needs PatternNet's fitted patterns.
        signed: its map is signed evidence (rank by the signed sum); else by magnitude.
        render: ``"heatmap"`` (red for, blue against) or ``"signal"`` (an image of the signal).
        help: one line for ``--help`` and the docs.
        base: for a wrapper (``smooth:NAME``), the wrapped method's name.
    """

    name: str
    run: Callable[[Any], Any] = field(repr=False, compare=False)
    needs_patterns: bool = False
    signed: bool = True
    render: str = "heatmap"
    help: str = ""
    base: str | None = None


_REGISTRY: dict[str, Method] = {}
_ALIASES: dict[str, str] = {}


def register_method(method: Method, *, alias_of: str | None = None) -> Method:
    """Add ``method`` to the registry (replacing one of the same name); returns it.

    Args:
        method: the method.
        alias_of: register ``method.name`` as another name of this spec (``smoothgrad`` is
            ``smooth:gradient``).
    """
    if method.render not in ("heatmap", "signal"):
        raise ArtkitError(f"method '{method.name}': render must be heatmap or signal")
    if alias_of is not None:
        _ALIASES[method.name] = alias_of
    _REGISTRY[method.name] = method
    return method


def method_names() -> tuple[str, ...]:
    """Every registered method's name, in registration order."""
    return tuple(_REGISTRY)


def get_method(name: str) -> Method:
    """The method called ``name`` (``smooth:NAME`` wraps any registered method).

    Raises:
        ArtkitError: no such method.
    """
    if name in _REGISTRY:
        return _REGISTRY[name]
    if name.startswith(SMOOTH_PREFIX) and name[len(SMOOTH_PREFIX):] in _REGISTRY:
        return smoothed(_REGISTRY[name[len(SMOOTH_PREFIX):]])
    raise ArtkitError(f"unknown attribution method '{name}'",
                      f"use one of: {', '.join(method_names())} (or smooth:METHOD)")


def smoothed(base: Method, samples: int = SMOOTH_SAMPLES, noise: float = SMOOTH_NOISE,
             name: str | None = None) -> Method:
    """``base`` averaged over ``samples`` noisy copies of the input (noise std ``noise`` × the
    input's value range), drawn from the context's generator."""
    if base.base is not None and base.name.startswith(SMOOTH_PREFIX):
        raise ArtkitError(f"'{base.name}' is already smoothed")

    def run(ctx):
        return ctx.smooth(base, samples, noise)

    return replace(base, name=name or SMOOTH_PREFIX + base.name, run=run, base=base.name,
                   help=f"{base.name} averaged over {samples} noisy copies of the input")


def methods_needing_patterns() -> tuple[str, ...]:
    """Names of the registered methods that need patterns."""
    return tuple(n for n, m in _REGISTRY.items() if m.needs_patterns)


def signed_methods() -> tuple[str, ...]:
    """Names of the registered methods whose maps are signed evidence."""
    return tuple(n for n, m in _REGISTRY.items() if m.signed)


def signal_methods() -> tuple[str, ...]:
    """Names of the registered methods drawn as an image of the signal."""
    return tuple(n for n, m in _REGISTRY.items() if m.render == "signal")
