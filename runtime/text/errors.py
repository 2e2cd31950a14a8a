"""The front end's one error type."""

from __future__ import annotations


class TextError(ValueError):
    """Text the front end cannot turn into phones (unsupported language, unreadable character, ...)."""
