"""jieba word segmentation and part-of-speech tags, loaded once and quietly.

Upstream uses jieba_fast, a C port of jieba with the same dictionary and algorithms; gsv-edge uses jieba
itself (pure Python, installable everywhere). jieba keeps a parsed-dictionary cache in the temp folder;
nothing is downloaded.
"""

from __future__ import annotations

import logging
import threading

_lock = threading.Lock()
_state: dict[str, object] = {}


def _load():
    with _lock:
        if "posseg" not in _state:
            import jieba
            import jieba.posseg

            jieba.setLogLevel(logging.CRITICAL)
            jieba.initialize()
            _state["jieba"] = jieba
            _state["posseg"] = jieba.posseg
    return _state["jieba"], _state["posseg"]


def pos_cut(text: str) -> list[tuple[str, str]]:
    """Words with their jieba part-of-speech tags."""
    _, posseg = _load()
    return [(pair.word, pair.flag) for pair in posseg.lcut(text)]


def cut_for_search(word: str) -> list[str]:
    """jieba's search-mode cut of one word (its sub-words and itself)."""
    jieba, _ = _load()
    return list(jieba.cut_for_search(word))
