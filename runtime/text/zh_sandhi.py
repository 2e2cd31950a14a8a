"""Mandarin tone sandhi on jieba words, following upstream GPT-SoVITS (PaddleSpeech's rules).

Works on pypinyin finals with the tone as the last character (``ao3``). Covers 不 and 一, neutral tones
(particles, suffixes, reduplication, a word list), third-tone chains, and the pre-merging of jieba words
that the rules need.
"""

from __future__ import annotations

from pypinyin import Style, lazy_pinyin

from .zh_segment import cut_for_search
from .zh_tables import MUST_NEUTRAL, MUST_NOT_NEUTRAL

_PARTICLES = "吧呢哈啊呐噻嘛吖嗨呐哦哒额滴哩哟喽啰耶喔诶"
_YI_PUNCT = "：，；。？！“”‘’':,;.?!"

Word = list  # [word, pos]


def _tone(final: str, tone: str) -> str:
    return final[:-1] + tone


def word_finals(word: str) -> list[str]:
    """pypinyin finals with tone digits (neutral tone as 5) for each syllable of a word."""
    return lazy_pinyin(word, neutral_tone_with_five=True, style=Style.FINALS_TONE3)


def _all_third(finals: list[str]) -> bool:
    return all(f[-1] == "3" for f in finals)


def split_word(word: str) -> tuple[str, str]:
    """Split a word in two around its shortest search-mode sub-word (upstream ``_split_word``)."""
    parts = sorted(cut_for_search(word), key=len)
    first = parts[0]
    if word.find(first) == 0:
        return first, word[len(first) :]
    return word[: -len(first)], first


def _neutral(word: str, pos: str, finals: list[str]) -> list[str]:
    for j in range(1, len(word)):
        if word[j] == word[j - 1] and pos[:1] in ("n", "v", "a") and word not in MUST_NOT_NEUTRAL:
            finals[j] = _tone(finals[j], "5")
    ge = word.find("个")
    last = word[-1] if word else ""
    if last and last in _PARTICLES:
        finals[-1] = _tone(finals[-1], "5")
    elif last and last in "的地得":
        finals[-1] = _tone(finals[-1], "5")
    elif len(word) == 1 and word in "了着过" and pos in ("ul", "uz", "ug"):
        finals[-1] = _tone(finals[-1], "5")
    elif len(word) > 1 and last in "们子" and pos in ("r", "n") and word not in MUST_NOT_NEUTRAL:
        finals[-1] = _tone(finals[-1], "5")
    elif len(word) > 1 and last in "上下里" and pos in ("s", "l", "f"):
        finals[-1] = _tone(finals[-1], "5")
    elif len(word) > 1 and last in "来去" and word[-2] in "上下进出回过起开":
        finals[-1] = _tone(finals[-1], "5")
    elif (ge >= 1 and (word[ge - 1].isnumeric() or word[ge - 1] in "几有两半多各整每做是")) or word == "个":
        finals[ge] = _tone(finals[ge], "5")
    elif word in MUST_NEUTRAL or word[-2:] in MUST_NEUTRAL:
        finals[-1] = _tone(finals[-1], "5")

    head, tail = split_word(word)
    pieces = [finals[: len(head)], finals[len(head) :]]
    for piece_word, piece in zip((head, tail), pieces, strict=True):
        if piece_word in MUST_NEUTRAL or piece_word[-2:] in MUST_NEUTRAL:
            piece[-1] = _tone(piece[-1], "5")
    return pieces[0] + pieces[1]


def _bu(word: str, finals: list[str]) -> list[str]:
    if len(word) == 3 and word[1] == "不":
        finals[1] = _tone(finals[1], "5")
        return finals
    for i, ch in enumerate(word):
        if ch == "不" and i + 1 < len(word) and finals[i + 1][-1] == "4":
            finals[i] = _tone(finals[i], "2")
    return finals


def _yi(word: str, finals: list[str]) -> list[str]:
    if "一" in word and all(ch.isnumeric() for ch in word if ch != "一"):
        return finals  # a digit string such as 一零零
    if len(word) == 3 and word[1] == "一" and word[0] == word[-1]:
        finals[1] = _tone(finals[1], "5")  # 看一看
    elif word.startswith("第一"):
        finals[1] = _tone(finals[1], "1")
    else:
        for i, ch in enumerate(word):
            if ch == "一" and i + 1 < len(word):
                if finals[i + 1][-1] == "4":
                    finals[i] = _tone(finals[i], "2")
                elif word[i + 1] not in _YI_PUNCT:
                    finals[i] = _tone(finals[i], "4")
    return finals


def _three(word: str, finals: list[str]) -> list[str]:
    if len(word) == 2 and _all_third(finals):
        finals[0] = _tone(finals[0], "2")
    elif len(word) == 3:
        head, _ = split_word(word)
        if _all_third(finals):
            if len(head) == 2:  # 蒙古/包
                finals[0] = _tone(finals[0], "2")
                finals[1] = _tone(finals[1], "2")
            elif len(head) == 1:  # 纸/老虎
                finals[1] = _tone(finals[1], "2")
        else:
            pieces = [finals[: len(head)], finals[len(head) :]]
            for i, piece in enumerate(pieces):
                if _all_third(piece) and len(piece) == 2:  # 所有/人
                    piece[0] = _tone(piece[0], "2")
                elif i == 1 and not _all_third(piece) and piece[0][-1] == "3" and pieces[0][-1][-1] == "3":
                    pieces[0][-1] = _tone(pieces[0][-1], "2")  # 好/喜欢
            finals = pieces[0] + pieces[1]
    elif len(word) == 4:
        pieces = [finals[:2], finals[2:]]
        for piece in pieces:
            if _all_third(piece):
                piece[0] = _tone(piece[0], "2")
        finals = pieces[0] + pieces[1]
    return finals


def modified_tone(word: str, pos: str, finals: list[str]) -> list[str]:
    """Apply the 不, 一, neutral-tone and third-tone rules to one word's finals."""
    finals = _bu(word, finals)
    finals = _yi(word, finals)
    finals = _neutral(word, pos, finals)
    return _three(word, finals)


# ---------------------------------------------------------------- merging jieba words before the rules


def _merge_bu(seg: list[Word]) -> list[Word]:
    out: list[Word] = []
    last = ""
    for word, pos in seg:
        if last == "不":
            word = last + word
        if word != "不":
            out.append([word, pos])
        last = word
    if last == "不":
        out.append(["不", "d"])
    return out


def _merge_yi(seg: list[Word]) -> list[Word]:
    out: list[Word] = []
    i = 0
    while i < len(seg):
        word, pos = seg[i]
        if i >= 1 and word == "一" and i + 1 < len(seg):
            prev = out[-1] if out else seg[i - 1]
            nxt = seg[i + 1]
            if prev[0] == nxt[0] and prev[1] == "v" and nxt[1] == "v":  # 听 一 听
                out[-1] = [prev[0] + "一" + nxt[0], prev[1]]
                i += 2
                continue
        out.append([word, pos])
        i += 1
    merged: list[Word] = []
    for word, pos in out:
        if merged and merged[-1][0] == "一":
            merged[-1][0] += word
        else:
            merged.append([word, pos])
    return merged


def _merge_reduplication(seg: list[Word]) -> list[Word]:
    out: list[Word] = []
    for word, pos in seg:
        if out and word == out[-1][0]:
            out[-1][0] += word
        else:
            out.append([word, pos])
    return out


def _merge_third_tones(seg: list[Word], whole_words: bool) -> list[Word]:
    finals = [word_finals(word) for word, _ in seg]
    out: list[Word] = []
    merged = [False] * len(seg)
    for i, (word, pos) in enumerate(seg):
        if i >= 1:
            # same evaluation order as upstream, which matters only for the IndexError guard in pre_merge
            if whole_words:
                joinable = _all_third(finals[i - 1]) and _all_third(finals[i])
            else:
                joinable = finals[i - 1][-1][-1] == "3" and finals[i][0][-1] == "3"
            if joinable and not merged[i - 1]:
                prev = seg[i - 1][0]
                if not (len(prev) == 2 and prev[0] == prev[1]) and len(prev) + len(word) <= 3:
                    out[-1][0] += word
                    merged[i] = True
                    continue
        out.append([word, pos])
    return out


def _merge_er(seg: list[Word]) -> list[Word]:
    out: list[Word] = []
    for i, (word, pos) in enumerate(seg):
        if i >= 1 and word == "儿" and seg[i - 1][0] != "#":
            out[-1][0] += word
        else:
            out.append([word, pos])
    return out


def pre_merge(seg: list[tuple[str, str]]) -> list[Word]:
    """Merge jieba words so that the sandhi rules see 不X, 一X, reduplications, third-tone runs and X儿."""
    words: list[Word] = _merge_bu([[w, p] for w, p in seg])
    # upstream guards these three steps and keeps the unmerged words when one fails
    try:
        words = _merge_yi(words)
    except (IndexError, KeyError):
        pass
    words = _merge_reduplication(words)
    for whole in (True, False):
        try:
            words = _merge_third_tones(words, whole)
        except IndexError:
            pass
    return _merge_er(words)
