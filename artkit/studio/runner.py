"""Run one job in a worker thread and stream what it reports: progress, frames, the result.

A page event that paints for a minute must keep the page alive: the job runs in a thread, and
:func:`stream` yields :class:`Update` s as they come — progress (the latest only, so a fast
engine does not flood the page), the painting as it forms, and at the end the finished
:class:`~artkit.studio.workspace.Item` or the error's one line. When the consumer goes away
(the browser closed, the event was cancelled) the job's ``stop`` flag is set, so it ends at its
next step instead of holding the queue.

Example:
    >>> from artkit.studio.workspace import Item
    >>> def job(*, progress=None):
    ...     return Item(folder=__import__("pathlib").Path("."), kind="music", title="done")
    >>> [u.kind for u in stream(job)]
    ['done']
"""

from __future__ import annotations

import logging
import queue
import threading
import time
import traceback
from dataclasses import dataclass
from typing import Any, Callable, Iterator

from PIL import Image

from artkit.core.errors import ArtkitError
from artkit.core.progress import ProgressEvent
from artkit.studio.workspace import Item

log = logging.getLogger("artkit.studio")


@dataclass
class Update:
    """What a running job reports.

    Args:
        kind: ``progress``, ``frame``, ``done`` or ``error``.
        message: a line for the page (progress text, or ``error: ...``).
        fraction: progress in [0, 1] when known.
        image: a frame (the painting as it forms).
        item: the finished item (``done``).
    """

    kind: str
    message: str = ""
    fraction: float | None = None
    image: Image.Image | None = None
    item: Item | None = None


def describe(event: ProgressEvent) -> Update:
    """A progress event as a line for the page."""
    done = f"{event.completed:g}/{event.total:g}" if event.total else f"{event.completed:g}"
    text = f"{event.task}: {done}"
    if event.message:
        text += f" — {event.message}"
    if event.metrics:
        text += " (" + ", ".join(f"{k} {v:.4g}" for k, v in event.metrics.items()) + ")"
    fraction = (min(1.0, event.completed / event.total) if event.total else None)
    return Update("progress", text, fraction)


def error_line(exc: BaseException) -> str:
    """The one line a page shows for a failed job."""
    if isinstance(exc, ArtkitError):
        return f"error: {exc.one_line()}"
    if isinstance(exc, MemoryError):
        return "error: out of memory (try a smaller picture or fewer bars)"
    return (f"error: {type(exc).__name__}: {' '.join(str(exc).split())[:300]} — this is a bug "
            "in artkit; the studio's terminal shows the details")


def stream(job: Callable[..., Item], *, stop: threading.Event | None = None,
           frames: bool = False, **kwargs: Any) -> Iterator[Update]:
    """Run ``job(progress=..., **kwargs)`` in a thread and yield its updates until it ends.

    Args:
        job: a studio job (see :mod:`artkit.studio.jobs`).
        stop: passed on to the job (``stop=``) and set when the consumer goes away.
        frames: pass ``on_frame=`` to the job (the doodle's painting as it forms).
        kwargs: the job's arguments.
    """
    updates: queue.SimpleQueue[Update] = queue.SimpleQueue()
    if stop is not None:
        kwargs["stop"] = stop
    if frames:
        kwargs["on_frame"] = lambda im, caption: updates.put(Update("frame", caption, image=im))

    def work() -> None:
        try:
            item = job(progress=lambda ev: updates.put(describe(ev)), **kwargs)
            updates.put(Update("done", item.title, 1.0, item=item))
        except BaseException as exc:  # noqa: BLE001 - every failure becomes a line in the page
            if not isinstance(exc, (ArtkitError, MemoryError)):
                log.error("studio job failed:\n%s", traceback.format_exc())
            updates.put(Update("error", error_line(exc)))

    thread = threading.Thread(target=work, name="artkit-studio-job", daemon=True)
    thread.start()
    try:
        while True:
            update = updates.get()
            latest: dict[str, Update] = {}
            deadline = time.monotonic() + 0.25
            while update.kind in ("progress", "frame"):  # coalesce: keep the newest of each
                latest[update.kind] = update
                try:
                    update = updates.get(timeout=max(0.0, deadline - time.monotonic()))
                except queue.Empty:
                    update = None
                    break
            if "frame" in latest:
                frame = latest["frame"]
                if "progress" in latest:
                    frame.message = latest["progress"].message
                    frame.fraction = latest["progress"].fraction
                yield frame
            elif "progress" in latest:
                yield latest["progress"]
            if update is not None and update.kind in ("done", "error"):
                yield update
                return
    finally:
        if stop is not None:
            stop.set()
