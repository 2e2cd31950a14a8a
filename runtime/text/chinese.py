"""Chinese g2p: normalised text -> initials/finals phones and word2ph, as upstream
``chinese.py``/``chinese2.py``.

v1 is upstream ``chinese.py``. v2 is ``chinese2.py`` in its g2pW-off branch (pypinyin per jieba word,
tone sandhi, then erhua). With g2pW on, upstream reads polyphones from the g2pW ONNX model instead; that
path needs the user's G2PWModel folder and is not implemented yet, so polyphones can differ from a
g2pW-on upstream.
"""

from __future__ import annotations

import re

from pypinyin import Style, lazy_pinyin

from .errors import TextError
from .symbols import PUNCTUATION
from .zh_sandhi import modified_tone, pre_merge
from .zh_segment import pos_cut
from .zh_tables import MUST_ERHUA, NOT_ERHUA, PINYIN_PHONES

_AFTER_PUNCT = re.compile(r"(?<=[" + re.escape("".join(PUNCTUATION)) + r"])\s*")
_LATIN = re.compile("[a-zA-Z]+")
_FINAL_FIXES = {"uei": "ui", "iou": "iu", "uen": "un"}
_BARE_SYLLABLES = {"ing": "ying", "i": "yi", "in": "yin", "u": "wu"}
_BARE_FIRST = {"v": "yu", "e": "e", "i": "y", "u": "w"}


def _initials_finals(word: str) -> tuple[list[str], list[str]]:
    initials = lazy_pinyin(word, neutral_tone_with_five=True, style=Style.INITIALS)
    finals = lazy_pinyin(word, neutral_tone_with_five=True, style=Style.FINALS_TONE3)
    return initials, finals


def _erhua(initials: list[str], finals: list[str], word: str, pos: str) -> tuple[list[str], list[str]]:
    """v2 only: a final 儿 takes the tone of the syllable before it (the 儿 keeps its own two phones)."""
    if finals and len(finals) <= len(word) and word[len(finals) - 1] == "儿" and finals[-1] == "er1":
        finals[-1] = "er2"
    if word not in MUST_ERHUA and (word in NOT_ERHUA or pos in ("a", "j", "nr")):
        return initials, finals
    if len(finals) != len(word):
        return initials, finals
    new_finals: list[str] = []
    for i, final in enumerate(finals):
        if (
            i == len(finals) - 1
            and word[i] == "儿"
            and final in ("er2", "er5")
            and word[-2:] not in NOT_ERHUA
            and new_finals
        ):
            final = "er" + new_finals[-1][-1]
        new_finals.append(final)
    return list(initials), new_finals


def _syllable_phones(initial: str, final: str) -> list[str]:
    body, tone = final[:-1], final[-1:]
    if tone not in ("1", "2", "3", "4", "5"):
        raise TextError(f"zh: no tone in pinyin {initial + final!r}")
    if initial:
        pinyin = initial + _FINAL_FIXES.get(body, body)
    else:
        pinyin = body
        if pinyin in _BARE_SYLLABLES:
            pinyin = _BARE_SYLLABLES[pinyin]
        elif pinyin[:1] in _BARE_FIRST:
            pinyin = _BARE_FIRST[pinyin[0]] + pinyin[1:]
    pair = PINYIN_PHONES.get(pinyin)
    if pair is None:
        raise TextError(f"zh: pinyin {initial + final!r} has no phones in the opencpop table")
    first, second = pair.split("+")
    return [first, second + tone]


def g2p(norm_text: str, version: str = "v2") -> tuple[list[str], list[int]]:
    """Phones and word2ph (2 per Hanzi, 1 per punctuation mark) of zh-normalised text."""
    phones: list[str] = []
    word2ph: list[int] = []
    sentences = [s for s in _AFTER_PUNCT.split(norm_text) if s.strip() != ""]
    for sentence in sentences:
        sentence = _LATIN.sub("", sentence)
        words = pre_merge(pos_cut(sentence))
        initials: list[str] = []
        finals: list[str] = []
        for word, pos in words:
            if pos == "eng":
                continue
            sub_initials, sub_finals = _initials_finals(word)
            for char, final in zip(word, sub_finals, strict=False):
                if not final:  # a rare Hanzi pypinyin has no reading for; upstream crashes in tone sandhi here
                    raise TextError(f"zh: no reading known for {char!r}; replace it with a common character")
            sub_finals = modified_tone(word, pos, sub_finals)
            if version != "v1":
                sub_initials, sub_finals = _erhua(sub_initials, sub_finals, word, pos)
            initials += sub_initials
            finals += sub_finals
        for initial, final in zip(initials, finals, strict=False):
            if initial == final:
                if initial not in PUNCTUATION:
                    raise TextError(f"zh: no pinyin for {initial!r}")
                phones.append(initial)
                word2ph.append(1)
            else:
                phones += _syllable_phones(initial, final)
                word2ph.append(2)
    return phones, word2ph
