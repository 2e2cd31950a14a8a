"""Long text -> segments, as upstream's ``TextPreprocessor.pre_seg_text`` and its cut methods do it.

Steps: collapse runs of phone punctuation; prepend 。 (``.`` for English) when the first sentence is
shorter than 4 characters; cut (cut0: none, cut1: four sentences per piece, cut5: at every mark); merge
pieces shorter than 5 characters into the next; append 。/``.`` to a piece that does not end in a split
mark; re-split pieces longer than 510 characters.
"""

from __future__ import annotations

import re

from .errors import TextError

#: Marks after which upstream's sentence splitter cuts.
SPLITS = frozenset("，。？！,.?!~:：—…")
_SPLIT_RE = re.compile("[" + re.escape("".join(sorted(SPLITS))) + "]")
_CUT5_MARKS = frozenset(",.;?!、，。？！：…")
_PHONE_PUNCT = "!?…,.-"
_REPEATED = re.compile(f"([{re.escape(_PHONE_PUNCT)}])([{re.escape(_PHONE_PUNCT)}])+")
_WORD = re.compile(r"\w")
_CUT_PUNCT = frozenset("!?…,.- ")
MAX_SEGMENT = 510
# Upstream cuts a piece longer than MAX_SEGMENT characters only at split marks, so a piece without any stays
# whole however long, and the GPT's prefill grows with the square of a segment's phones. gsv-edge also cuts such
# a piece (at a space, else between characters) into pieces of at most MAX_SEGMENT characters: what upstream
# would speak is unchanged, and the cost of a text grows linearly with its length.
METHODS = ("cut0", "cut1", "cut5")


def collapse_punctuation(text: str) -> str:
    """Keep the first mark of each run of ``!?…,.-`` (upstream ``replace_consecutive_punctuation``)."""
    return _REPEATED.sub("\\1", text)


def _sentences(text: str) -> list[str]:
    """Upstream ``split``: cut after every split mark (…… -> 。, —— -> ，; a final 。 when missing)."""
    text = text.replace("……", "。").replace("——", "，")
    if text[-1] not in SPLITS:
        text += "。"
    pieces = []
    start = 0
    for i, ch in enumerate(text):
        if ch in SPLITS:
            pieces.append(text[start : i + 1])
            start = i + 1
    return pieces


def _only_punct(piece: str, marks: frozenset[str] = _CUT_PUNCT) -> bool:
    return set(piece) <= marks


def cut0(text: str) -> str:
    """No cut (a text of marks only becomes empty)."""
    return "\n" if _only_punct(text) else text


def cut1(text: str) -> str:
    """Four sentences per piece."""
    text = text.strip("\n")
    if not text:
        return text  # upstream fails on an empty text here; it never reaches this point with one
    sentences = _sentences(text)
    if len(sentences) > 4:
        # upstream's start list has its last entry replaced by None: the last group takes the remainder
        starts: list[int | None] = list(range(0, len(sentences), 4))
        starts[-1] = None
        pieces = ["".join(sentences[a:b]) for a, b in zip(starts[:-1], starts[1:], strict=True)]
    else:
        pieces = [text]
    return "\n".join(p for p in pieces if not _only_punct(p))


def cut5(text: str) -> str:
    """A piece after every punctuation mark (a dot between digits does not cut)."""
    text = text.strip("\n")
    pieces = []
    current: list[str] = []
    for i, ch in enumerate(text):
        current.append(ch)
        if ch in _CUT5_MARKS:
            if ch == "." and 0 < i < len(text) - 1 and text[i - 1].isdigit() and text[i + 1].isdigit():
                continue
            pieces.append("".join(current))
            current = []
    if current:
        pieces.append("".join(current))
    return "\n".join(p for p in pieces if not _only_punct(p, _CUT5_MARKS))


_CUTTERS = {"cut0": cut0, "cut1": cut1, "cut5": cut5}


def _first_sentence(text: str) -> str:
    return _SPLIT_RE.split(text)[0].strip()


def merge_short(pieces: list[str], threshold: int = 5) -> list[str]:
    """Join pieces until each is at least ``threshold`` characters; a short tail joins the last piece."""
    if len(pieces) < 2:
        return pieces
    out: list[str] = []
    buf = ""
    for piece in pieces:
        buf += piece
        if len(buf) >= threshold:
            out.append(buf)
            buf = ""
    if buf:
        if out:
            out[-1] += buf
        else:
            out.append(buf)
    return out


def split_long(text: str, max_len: int = MAX_SEGMENT) -> list[str]:
    """Re-split a piece longer than ``max_len`` at split marks, greedily (upstream ``split_big_text``)."""
    parts = re.split("([" + re.escape("".join(sorted(SPLITS))) + "])", text)
    out: list[str] = []
    current = ""
    for part in parts:
        if len(current + part) > max_len:
            out.append(current)
            current = part
        else:
            current += part
    if current:
        out.append(current)
    return out


def pre_segment(text: str, language: str = "zh", method: str = "cut1") -> list[str]:
    """Upstream ``replace_consecutive_punctuation`` + ``pre_seg_text``: the texts handed on one by one."""
    if method not in _CUTTERS:
        raise TextError(f"unknown split method {method!r} (choose from {', '.join(METHODS)})")
    end_mark = "." if language == "en" else "。"
    text = collapse_punctuation(text).strip("\n")
    if not text:
        return []
    if text[0] not in SPLITS and len(_first_sentence(text)) < 4:
        text = end_mark + text
    text = _CUTTERS[method](text)
    while "\n\n" in text:
        text = text.replace("\n\n", "\n")
    pieces = text.split("\n")
    if all(p in (" ", "\n", "") for p in pieces):
        raise TextError("no speakable text in the input")
    pieces = merge_short([p for p in pieces if p not in (" ", "")], 5)
    out: list[str] = []
    for piece in pieces:
        if not piece.strip() or not _WORD.search(piece):
            continue  # blank, or marks only
        if piece[-1] not in SPLITS:
            piece += end_mark
        for part in split_long(piece) if len(piece) > MAX_SEGMENT else [piece]:
            out.extend(p if p[-1] in SPLITS else p + end_mark for p in cap_segment(part) if p)
    return out


def cap_segment(text: str, limit: int = MAX_SEGMENT) -> list[str]:
    """``text`` cut into pieces of at most ``limit`` characters, each at the last space of its second half when
    there is one (a word boundary), else between characters; a text within the limit is returned as it is."""
    if len(text) <= limit:
        return [text]
    pieces = []
    while text:
        end = len(text)
        if end > limit:
            space = text.rfind(" ", limit // 2, limit)
            end = space + 1 if space > 0 else limit
        piece, text = text[:end].strip(), text[end:]
        if _WORD.search(piece):  # a cut that leaves only the closing mark drops it (the last piece gets one)
            pieces.append(piece)
    return pieces
