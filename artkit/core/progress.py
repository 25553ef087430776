"""Progress reporting without printing: library code calls a callback, the CLI renders it.

Long-running functions take ``progress: ProgressCallback | None`` and report through
:func:`report`. The callback receives :class:`ProgressEvent` objects; ``total`` may be ``None``
for work of unknown length.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Iterable, Iterator, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class ProgressEvent:
    """One step of progress.

    Args:
        task: a short name of the work ("phase 2/3", "download vgg16-hed").
        completed: units done so far.
        total: units in all, or ``None`` when unknown.
        message: optional free text shown beside the bar.
        metrics: optional figures (loss, steps/s) shown beside the bar.
    """

    task: str
    completed: float
    total: float | None = None
    message: str = ""
    metrics: dict[str, float] = field(default_factory=dict)

    @property
    def done(self) -> bool:
        return self.total is not None and self.completed >= self.total


ProgressCallback = Callable[[ProgressEvent], None]


def report(progress: ProgressCallback | None, task: str, completed: float,
           total: float | None = None, message: str = "", **metrics: float) -> None:
    """Send one event to ``progress`` if it is set."""
    if progress is not None:
        progress(ProgressEvent(task, completed, total, message, dict(metrics)))


def track(items: Iterable[T], progress: ProgressCallback | None, task: str,
          total: int | None = None) -> Iterator[T]:
    """Iterate over ``items`` reporting one unit per item."""
    if total is None and hasattr(items, "__len__"):
        total = len(items)  # type: ignore[arg-type]
    report(progress, task, 0, total)
    for i, item in enumerate(items, 1):
        yield item
        report(progress, task, i, total)


class Collector:
    """A progress callback that keeps every event (handy in tests and notebooks)."""

    def __init__(self) -> None:
        self.events: list[ProgressEvent] = []

    def __call__(self, event: ProgressEvent) -> None:
        self.events.append(event)
