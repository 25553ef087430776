"""``artkit gallery``: a static HTML page of artkit outputs that works from ``file://``.

Public API: :func:`collect` (a folder → cards) and :func:`page` (cards → HTML); the command
``artkit gallery build FOLDER -o SITE/`` writes the page and copies what it shows.
"""

from artkit.gallery.build import Card, collect, command_of, page

__all__ = ["Card", "collect", "command_of", "page"]
