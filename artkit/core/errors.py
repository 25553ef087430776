"""The one exception type that the command line turns into a clear, one-line message."""

from __future__ import annotations


class ArtkitError(Exception):
    """An error caused by input, configuration or missing data that a person can fix.

    The message says what is wrong and, where possible, how to fix it. The CLI prints it on one
    line (no traceback) and exits with status 1.

    Args:
        message: what went wrong, in plain words.
        hint: optional next step (a command to run, an option to change).
    """

    def __init__(self, message: str, hint: str | None = None):
        self.message = message
        self.hint = hint
        super().__init__(message if not hint else f"{message} ({hint})")

    def one_line(self) -> str:
        """The message and hint folded into a single line."""
        text = " ".join(str(self).split())
        return text
