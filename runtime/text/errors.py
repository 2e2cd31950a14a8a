"""The front end's error type: a kind of the library's own (``gsv_edge.runtime.errors``)."""

from __future__ import annotations

from ..errors import GsvEdgeError


class TextError(GsvEdgeError):
    """Text the front end cannot turn into phones (unsupported language, unreadable character, ...)."""
