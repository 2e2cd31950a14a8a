"""Japanese cleaner: text -> phones with pitch marks, as upstream GPT-SoVITS ``text/japanese.py``.

Upstream's ``g2p`` always runs with prosody (``with_prosody=True``): each run of Japanese characters goes
through Open JTalk (pyopenjtalk 0.4.1, dictionary 1.11), whose full-context labels are turned into
phones plus the marks ``[`` (pitch rises), ``]`` (pitch falls), ``#`` (accent-phrase border) and ``_``
(pause) by ESPnet's ``pyopenjtalk_g2p_prosody``. Every other character is kept as a phone of its own,
after a small punctuation map; the cleaner then turns symbols missing from the table (``#`` always,
``[``/``]`` in v1) into UNK.

Upstream also loads ``ja_userdic/userdict.csv`` (about 134k katakana readings of English words, e.g. ``nice`` ->
ナイス), compiled for Open JTalk. A pack carries it compiled (``data.JA_USER_DICTIONARY``) and every Japanese run
is read with it; outside a pack (the ``phonemize`` command) Open JTalk runs without it, reads Latin letters one by
one, and English words inside Japanese can come out differently.
"""

from __future__ import annotations

import re
from pathlib import Path

from .errors import TextError
from .ja_openjtalk import full_context_labels
from .symbols import PUNCTUATION

# Upstream's character classes, verbatim: Latin letters, digits (``\d`` is any Unicode digit), 々, kana,
# CJK ideographs, full-width 1-9/A-Z/a-z and half-width katakana. Anything else is a "mark".
_JA_CLASS = r"A-Za-z\d\u3005\u3040-\u30ff\u4e00-\u9fff\uff11-\uff19\uff21-\uff3a\uff41-\uff5a\uff66-\uff9d"
_JA_CHAR = re.compile(f"[{_JA_CLASS}]")
_JA_MARK = re.compile(f"[^{_JA_CLASS}]")
# Upstream reads only the full-width percent sign (the half-width one stays a mark and becomes UNK).
_SYMBOL_READINGS = (("％", "パーセント"),)
# Upstream's ``post_replace_ph`` (its "..." key can never match a single-character phone).
_MARK_MAP = {"：": ",", "；": ",", "，": ",", "。": ".", "！": "!", "？": "?", "\n": ".", "·": ",", "、": ","}
# A run of the cleaner's punctuation collapses to its first mark (upstream's replace_consecutive_punctuation).
_REPEATS = re.compile("([{0}])([{0}])+".format("".join(re.escape(p) for p in PUNCTUATION)))

# Fields of an HTS full-context label (ESPnet's regexes): current phone p3, accent a1/a2/a3, mora count
# f1, and e3 (1 when the utterance is a question).
_P3 = re.compile(r"\-(.*?)\+")
_A1 = re.compile(r"/A:([0-9\-]+)\+")
_A2 = re.compile(r"\+(\d+)\+")
_A3 = re.compile(r"\+(\d+)/")
_F1 = re.compile(r"/F:(\d+)_")
_E3 = re.compile(r"!(\d+)_")


def text_normalize(text: str) -> str:
    """Upstream ``text_normalize``: only collapses repeated ASCII/… punctuation (``……`` -> ``…``)."""
    return _REPEATS.sub(r"\1", text)


def _feature(pattern: re.Pattern, label: str) -> int:
    match = pattern.search(label)
    return -50 if match is None else int(match.group(1))  # ESPnet's "no value" marker


def prosody_phones(text: str, user_dictionary: Path | None = None) -> list[str]:
    """ESPnet ``pyopenjtalk_g2p_prosody`` on one run of Japanese characters (``^`` ... ``$``/``?`` included)."""
    labels = full_context_labels(text, user_dictionary)
    phones: list[str] = []
    for n, label in enumerate(labels):
        match = _P3.search(label)
        if match is None:
            raise TextError(f"ja: Open JTalk gave an unreadable label for {text!r}")
        p3 = match.group(1)
        if p3 in "AEIOU":  # devoiced vowels count as plain vowels (a substring test, as upstream)
            p3 = p3.lower()
        if p3 == "sil":
            if n == 0:
                phones.append("^")
            elif n == len(labels) - 1:
                e3 = _feature(_E3, label)  # upstream appends nothing for any other value
                if e3 == 0:
                    phones.append("$")
                elif e3 == 1:
                    phones.append("?")
            else:
                raise TextError(f"ja: Open JTalk put a silence inside {text!r}")
            continue
        if p3 == "pau":
            phones.append("_")
            continue
        phones.append(p3)
        if n + 1 >= len(labels):
            raise TextError(f"ja: Open JTalk gave no closing silence for {text!r}")
        a1, a2, a3 = _feature(_A1, label), _feature(_A2, label), _feature(_A3, label)
        f1 = _feature(_F1, label)
        a2_next = _feature(_A2, labels[n + 1])
        if a3 == 1 and a2_next == 1 and p3 in "aeiouAEIOUNcl":
            phones.append("#")  # accent-phrase border
        elif a1 == 0 and a2_next == a2 + 1 and a2 != f1:
            phones.append("]")  # pitch falls after the accent nucleus
        elif a2 == 1 and a2_next == 2:
            phones.append("[")  # pitch rises after the first mora
    return phones


def g2p(norm_text: str, user_dictionary: Path | None = None) -> list[str]:
    """Upstream ``g2p(norm_text)`` (prosody on): phones and marks, before the UNK mapping; ``user_dictionary``:
    the compiled user dictionary (upstream's ``ja_userdic``), None for Open JTalk's dictionary alone."""
    text = norm_text
    for symbol, reading in _SYMBOL_READINGS:
        text = text.replace(symbol, reading)
    text = text.lower()  # upstream lower-cases everything (meant for English words)
    pieces = _JA_MARK.split(text)
    marks = _JA_MARK.findall(text)
    phones: list[str] = []
    for i, piece in enumerate(pieces):
        if _JA_CHAR.match(piece):
            phones += prosody_phones(piece, user_dictionary)[1:-1]  # drop the ^ and the $/? ends
        if i < len(marks) and marks[i] != " ":  # upstream drops spaces "to avoid UNK"
            phones.append(marks[i])
    return [_MARK_MAP.get(p, p) for p in phones]
