"""One language's cleaner on a piece of text: upstream ``clean_text`` + ``cleaned_text_to_sequence``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from .errors import TextError
from .symbols import phones_to_ids, table_version, to_unk

if TYPE_CHECKING:
    from .data import TextData
    from .zh_g2pw import G2PW

# Upstream cleans a language it has no module for as English text " " (which yields the single phone ",").
_MODULES = {"v1": ("zh", "ja", "en"), "v2": ("zh", "ja", "en", "ko", "yue")}
_NOT_YET = {"ko": "Korean", "yue": "Cantonese"}
_SPECIAL = (("￥", "SP2"), ("^", "SP3"))


@dataclass
class Cleaned:
    """What the cleaner makes of one piece of text in one language."""

    phones: list[str]
    """Phone symbols (those missing from the version's table already replaced by UNK)."""
    phone_ids: list[int]
    """Ids of ``phones`` in the version's symbol table."""
    word2ph: list[int] | None
    """zh: phones per character of ``norm_text`` (2 per Hanzi, 1 per mark); other languages: None."""
    norm_text: str
    """The normalised text (for zh, what the BERT tokenizer sees)."""


def _zh(text: str, version: str, g2pw: G2PW | None = None) -> tuple[list[str], list[int], str]:
    from . import chinese, zh_normalize

    for mark, symbol in _SPECIAL:
        if mark in text:
            # upstream's clean_special: the mark becomes a comma, then every comma phone becomes the symbol
            norm = zh_normalize.text_normalize(text.replace(mark, ","))
            phones, word2ph = chinese.g2p(norm, version, g2pw)
            return [symbol if p == "," else p for p in phones], word2ph, norm
    norm = zh_normalize.text_normalize(text)
    phones, word2ph = chinese.g2p(norm, version, g2pw)
    if len(phones) != sum(word2ph) or len(word2ph) != len(norm):
        raise TextError("zh: phones and characters do not line up")
    return phones, word2ph, norm


def _en(text: str, version: str, data: TextData | None) -> tuple[list[str], None, str]:
    from . import english

    norm = english.text_normalize(text)
    phones = english.g2p(norm, data) if norm.strip() else []  # blank text: no tokens (and no model to load)
    if len(phones) < 4:
        phones = [","] + phones  # upstream pads short English results (and whitespace-only text) this way
    return phones, None, norm


def _ja(text: str, version: str, data: TextData | None) -> tuple[list[str], None, str]:
    from . import japanese
    from .data import JA_USER_DICTIONARY

    # upstream's special marks (￥, ^) apply to zh only; ja runs its cleaner on the text as it is
    norm = japanese.text_normalize(text)
    user_dictionary = data.optional(JA_USER_DICTIONARY.role, "ja") if data is not None else None
    return japanese.g2p(norm, user_dictionary), None, norm


def clean_text(
    text: str, language: str, version: str = "v2", g2pw: G2PW | None = None, data: TextData | None = None
) -> Cleaned:
    """Run one language's cleaner on ``text`` as given (no segmentation, no language split).

    ``g2pw``: a g2pW reader for Chinese polyphones (v2 only; without it, pypinyin's readings, upstream's g2pW-off).
    ``data``: where the run-time data files are (a pack's, ``TextData.from_pack``); default the installed packages.
    """
    if not isinstance(text, str):
        raise TextError("text must be a string")
    table = table_version(version)
    if language not in _MODULES[table]:
        language, text = "en", " "
    if language in _NOT_YET:
        raise TextError(f"{_NOT_YET[language]} ({language}) is not supported yet")
    if language == "zh":
        phones, word2ph, norm = _zh(text, table, g2pw)
    elif language == "en":
        phones, word2ph, norm = _en(text, table, data)
    else:
        phones, word2ph, norm = _ja(text, table, data)
    phones = to_unk(phones, table)
    return Cleaned(phones, phones_to_ids(phones, table), word2ph, norm)
