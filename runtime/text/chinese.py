"""Chinese g2p: normalised text -> initials/finals phones and word2ph, as upstream
``chinese.py``/``chinese2.py``.

v1 is upstream ``chinese.py`` (no g2pW). v2 is ``chinese2.py``: without a g2pW reader its g2pW-off branch
(pypinyin per jieba word, tone sandhi, then erhua); with one (:class:`runtime.text.zh_g2pw.G2PW`, the user's
G2PWModel folder) its g2pW-on branch: readings of whole sentences (the model for polyphones, pypinyin for the
rest), sliced per jieba word, corrected by the polyphonic word dictionary, then tone sandhi and erhua.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from .errors import TextError
from .symbols import PUNCTUATION
from .zh_pinyin import Style, lazy_pinyin, to_finals_tone3, to_initials  # pypinyin with compact dictionaries
from .zh_sandhi import modified_tone, pre_merge
from .zh_segment import pos_cut
from .zh_tables import MUST_ERHUA, NOT_ERHUA, PINYIN_PHONES

if TYPE_CHECKING:
    from .zh_g2pw import G2PW

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


def _pypinyin_sentence(sentence: str, version: str) -> tuple[list[str], list[str]]:
    """Initials and finals of one sentence, g2pW off: pypinyin per word, tone sandhi, erhua (v2)."""
    initials: list[str] = []
    finals: list[str] = []
    for word, pos in pre_merge(pos_cut(sentence)):
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
    return initials, finals


def _g2pw_sentence(sentence: str, pinyins: list[str | None], g2pw: G2PW) -> tuple[list[str], list[str]]:
    """Initials and finals of one sentence, g2pW on (chinese2.py): the sentence's readings sliced per jieba word,
    the polyphonic dictionary's correction, then tone sandhi and erhua."""
    initials: list[str] = []
    finals: list[str] = []
    start = 0
    for word, pos in pre_merge(pos_cut(sentence)):
        end = start + len(word)
        readings, start = pinyins[start:end], end
        if pos == "eng":
            continue
        sub_initials: list[str] = []
        sub_finals: list[str] = []
        for i, reading in enumerate(g2pw.correct(word, readings)):
            char = word[i] if i < len(word) else word
            if reading is None or (reading[:1].isalpha() and not reading.isascii()):
                # g2pW answered a label with no pinyin, or pypinyin knows no reading; upstream crashes here
                raise TextError(f"zh: no reading known for {char!r}; replace it with a common character")
            if reading[:1].isalpha():
                sub_initials.append(to_initials(reading))
                sub_finals.append(to_finals_tone3(reading, neutral_tone_with_five=True))
            else:  # punctuation reads as itself
                sub_initials.append(reading)
                sub_finals.append(reading)
        sub_finals = modified_tone(word, pos, sub_finals)
        sub_initials, sub_finals = _erhua(sub_initials, sub_finals, word, pos)
        initials += sub_initials
        finals += sub_finals
    return initials, finals


def g2p(norm_text: str, version: str = "v2", g2pw: G2PW | None = None) -> tuple[list[str], list[int]]:
    """Phones and word2ph (2 per Hanzi, 1 per punctuation mark) of zh-normalised text.

    ``g2pw``: read polyphones with g2pW as upstream's v2 does when its G2PWModel is installed (v1 ignores it).
    """
    phones: list[str] = []
    word2ph: list[int] = []
    sentences = [_LATIN.sub("", s) for s in _AFTER_PUNCT.split(norm_text) if s.strip() != ""]
    use_g2pw = g2pw is not None and version != "v1"
    if use_g2pw:
        # upstream runs g2pW once on all non-empty sentences of the text (batched), then takes them in order
        batch = iter(g2pw.readings([s for s in sentences if s]))
    for sentence in sentences:
        if use_g2pw:
            pinyins = next(batch) if sentence else []
            initials, finals = _g2pw_sentence(sentence, pinyins, g2pw)
        else:
            initials, finals = _pypinyin_sentence(sentence, version)
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
