"""Text that arrives in pieces (Wyoming's streaming text input) cut into sentences as soon as each is complete.

A sentence ends at one of the marks the runtime itself cuts segments at (``runtime.text.segment.SPLITS``: 。？！
and friends, and . ? ! ~ …), plus any closing quotes or brackets after it. A full-width mark ends its sentence
at once; an ASCII one only once the next character is a space, because "3.5" or "e.g." must not be cut (and
the next piece may be the rest of the number). Commas and colons, which the runtime also cuts at, are left
inside the sentence: cutting there would speak half sentences. (Hand-written: wyoming-piper uses the
sentence-stream package, whose rules are for Latin scripts; this follows the runtime's own marks, so a
sentence streamed in pieces is cut where the whole text would be.)
"""

from __future__ import annotations

import re

FULL_WIDTH_ENDS = frozenset("。？！…～")
ASCII_ENDS = frozenset(".?!~")
CLOSING = frozenset("\"'”’）)」』】]")
_WORD = re.compile(r"\w")  # a piece of marks only has nothing to speak


class SentenceCutter:
    """``add(text)`` returns the sentences completed by that text; ``finish()`` returns what is left."""

    def __init__(self, max_characters: int):
        self.max_characters = max_characters
        self._buffer = ""

    def add(self, text: str) -> list[str]:
        self._buffer += text
        sentences = []
        while True:
            end = self._sentence_end()
            if end is None:
                break
            sentence, self._buffer = self._buffer[:end].strip(), self._buffer[end:]
            if sentence:
                sentences.append(sentence)
        if len(self._buffer) > self.max_characters:  # no mark for too long: speak what there is
            sentences.append(self._buffer.strip())
            self._buffer = ""
        return [s for s in sentences if _WORD.search(s)]

    def finish(self) -> str:
        rest, self._buffer = self._buffer.strip(), ""
        return rest if _WORD.search(rest) else ""

    def _sentence_end(self) -> int | None:
        """Where the first complete sentence of the buffer ends (an index past its closing marks), or None."""
        text = self._buffer
        for i, ch in enumerate(text):
            if ch not in FULL_WIDTH_ENDS and ch not in ASCII_ENDS:
                continue
            end = i + 1
            while end < len(text) and (text[end] in CLOSING or text[end] in FULL_WIDTH_ENDS | ASCII_ENDS):
                end += 1
            if ch in FULL_WIDTH_ENDS:
                return end
            if end < len(text) and text[end].isspace():
                return end
        return None
