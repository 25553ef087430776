"""The one base of every capability's results, and of every evaluation.

Every public call of a capability returns one dataclass type that derives from :class:`Result`:
the thing that was made (an image, a score, a story, heatmaps) plus three fields every result
has, named the same everywhere:

* ``seconds``: wall time of the call, in seconds;
* ``notes``: things a person should know about the run (a fallback taken, a size rounded);
* ``weights``: ``{name: sha256}`` of every weight set and shipped model the call used, the
  record that goes into the output's manifest.

Evaluations derive from :class:`Evaluation` and add :meth:`Evaluation.to_dict` (JSON-ready
figures, for ``--json`` and the benchmarks).

Example:
    >>> from dataclasses import dataclass
    >>> @dataclass(kw_only=True)
    ... class Painting(Result):
    ...     width: int
    >>> Painting(width=3, seconds=1.5).to_dict()["width"]
    3
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from artkit.core.manifest import jsonable


@dataclass(kw_only=True)
class Result:
    """What every capability call returns, besides its own fields.

    Args:
        seconds: wall time of the call (s).
        notes: plain-language remarks about the run, for the person reading the output.
        weights: ``{name: sha256}`` of the weight sets and models used.
    """

    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)
    weights: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The result as JSON-ready values (tensors become nested lists; override to trim)."""
        return jsonable(self)


@dataclass(kw_only=True)
class Evaluation(Result):
    """The base of every ``evaluate(...)`` result: figures with their baselines.

    Subclasses add their figures as fields; :meth:`to_dict` gives them as JSON-ready values
    (what ``--json`` writes and the benchmarks read).
    """


class Timer:
    """Wall-clock timer: ``with Timer() as t: ...`` then ``t.seconds``."""

    def __enter__(self) -> "Timer":
        self.start = time.perf_counter()
        self.seconds = 0.0
        return self

    def __exit__(self, *exc) -> None:
        self.seconds = time.perf_counter() - self.start

    @property
    def elapsed(self) -> float:
        """Seconds since the timer started (while it runs)."""
        return time.perf_counter() - self.start
