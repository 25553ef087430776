"""``artkit colorize``: black-and-white photos into colour — learned, by example, and by hints.

Public API: :func:`colorize` returning :class:`ColorizeResult`; :func:`artkit.color.train.train`
for training a colouriser; :func:`artkit.color.evaluate.evaluate` for the quality figures.
"""

from artkit.color.api import ColorizeResult, colorize

__all__ = ["ColorizeResult", "colorize"]
