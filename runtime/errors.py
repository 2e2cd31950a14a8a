"""The library's one error type: a mistake the caller can fix (bad input, a damaged or incomplete pack).

Its message is one line that names the problem and the fix in the library's own terms. ``option`` names the
parameter the fix is about (``"backend"``, ``"hubert"``, ...), so a front end can point at its own spelling of
it: the command line turns the error into ``error: <message>`` naming its flag, and exit code 2.
"""

from __future__ import annotations


class GsvEdgeError(ValueError):
    """Bad input the caller can fix; the message names the problem and the fix, on one line."""

    def __init__(self, message: str, *, option: str | None = None):
        super().__init__(message)
        self.option = option
        """The library parameter the fix is about (e.g. ``"hubert"`` for ``convert``), or None."""
