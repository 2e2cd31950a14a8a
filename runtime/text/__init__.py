"""Offline text front end: text -> segments -> phone ids, as upstream GPT-SoVITS makes them.

``phonemize`` is upstream's ``TextPreprocessor.preprocess`` (segmentation, language split, cleaning, the
retry with a leading ``.`` for very short segments). ``clean_text`` is upstream's ``clean_text`` on one
language, for the ``--no-split`` path. Torch-free; nothing is downloaded.

Languages: zh (v1; v2 with pypinyin readings, upstream's g2pW-off path, or with a g2pW reader for polyphones,
its g2pW-on path); en (upstream's English g2p, with nltk's
tokenizer and tagger reimplemented, the CMU or upstream's dictionary and g2p_en's GRU for unknown words in
numpy); ja (Open JTalk through pyopenjtalk 0.4.1 with the 1.11 dictionary); segmentation and the language
split of every UI mode. Korean and Cantonese raise :class:`TextError`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .cleaner import Cleaned, clean_text
from .errors import TextError
from .langsplit import MODES, split_languages
from .segment import METHODS, pre_segment
from .symbols import SYMBOLS_V1, SYMBOLS_V2, symbols_for

if TYPE_CHECKING:
    from .data import TextData
    from .zh_g2pw import G2PW

__all__ = [
    "METHODS",
    "MODES",
    "SYMBOLS_V1",
    "SYMBOLS_V2",
    "Cleaned",
    "Run",
    "Segment",
    "TextError",
    "clean_text",
    "phonemize",
    "symbols_for",
]

_SPACES = re.compile(r" {2,}")


@dataclass
class Run:
    """One single-language piece of a segment, cleaned by that language's cleaner."""

    text: str
    """The run's text as handed to the cleaner."""
    language: str
    """Cleaner language code: zh, en or ja."""
    phones: list[str]
    """Phone symbols (UNK for symbols missing from the version's table)."""
    phone_ids: list[int]
    """Ids of ``phones`` in the version's symbol table."""
    word2ph: list[int] | None
    """zh: phones per character of ``norm_text`` (BERT features are expanded by it); else None."""
    norm_text: str
    """Normalised text (zh: the BERT tokenizer's input)."""

    @property
    def bert(self) -> bool:
        """Whether this run gets chinese-roberta features (zh) rather than zeros."""
        return self.language == "zh"


@dataclass
class Segment:
    """One synthesis segment: what upstream turns into one phone sequence for the GPT."""

    text: str
    """The segment's text as the segmenter produced it."""
    language: str
    """The language of its runs, or ``mixed`` when they differ."""
    phones: list[str]
    """Phone symbols of all runs, in order."""
    phone_ids: list[int]
    """Their ids in the version's symbol table (the GPT's phone input)."""
    word2ph: list[int] | None
    """Phones per character of ``norm_text`` when every run is zh, else None (see ``runs``)."""
    norm_text: str
    """Normalised text of all runs, concatenated."""
    runs: list[Run] = field(default_factory=list)
    """The per-language pieces (for BERT: zh runs get features expanded by their word2ph, others zeros)."""
    final_text: str = ""
    """The text actually cleaned: ``text``, or ``"." + text`` when the first try gave fewer than 6 phones."""


def _joined_word2ph(runs: list[Run]) -> list[int] | None:
    if any(r.word2ph is None for r in runs):
        return None
    return [n for r in runs for n in r.word2ph or []]


def _clean_segment(
    text: str, mode: str, version: str, g2pw: G2PW | None, data: TextData | None
) -> tuple[list[Run], str]:
    text = _SPACES.sub(" ", text)
    runs = []
    for lang, chunk in split_languages(text, mode):
        cleaned = clean_text(chunk, lang, version, g2pw, data)
        runs.append(Run(chunk, lang, cleaned.phones, cleaned.phone_ids, cleaned.word2ph, cleaned.norm_text))
    return runs, text


def phonemize(
    text: str,
    language: str = "auto",
    version: str = "v2",
    split: bool = True,
    method: str = "cut1",
    g2pw: G2PW | None = None,
    data: TextData | None = None,
) -> list[Segment]:
    """Text -> segments with phones and ids, as upstream's ``TextPreprocessor.preprocess``.

    ``language`` is a UI mode (auto, zh, all_zh, ja, all_ja, en); ``split=False`` skips segmentation
    (the whole text is one segment, after collapsing repeated marks). ``g2pw``: a
    :class:`runtime.text.zh_g2pw.G2PW` reader for Chinese polyphones (v2; None: pypinyin). ``data``: where the
    run-time data files are (a pack's ``TextData``; None: the installed packages'). Raises
    :class:`TextError` with a one-line message for input it cannot handle.
    """
    if not isinstance(text, str):
        raise TextError("text must be a string")
    if language not in MODES:
        raise TextError(f"unknown language {language!r} (choose from {', '.join(MODES)})")
    if split:
        pieces = pre_segment(text, language, method)
    else:
        from .segment import collapse_punctuation

        pieces = [collapse_punctuation(text)] if text.strip() else []
    segments = []
    for piece in pieces:
        runs, cleaned_input = _clean_segment(piece, language, version, g2pw, data)
        if sum(len(r.phones) for r in runs) < 6:
            runs, cleaned_input = _clean_segment("." + cleaned_input, language, version, g2pw, data)
        norm_text = "".join(r.norm_text for r in runs)
        if not norm_text:
            continue  # upstream drops a segment whose normalised text is empty
        langs = {r.language for r in runs}
        segments.append(
            Segment(
                text=piece,
                language=langs.pop() if len(langs) == 1 else "mixed",
                phones=[p for r in runs for p in r.phones],
                phone_ids=[i for r in runs for i in r.phone_ids],
                word2ph=_joined_word2ph(runs),
                norm_text=norm_text,
                runs=runs,
                final_text=cleaned_input,
            )
        )
    return segments
