"""jieba word segmentation and part-of-speech tags, loaded once and quietly, with jieba's dictionaries compact.

Upstream uses jieba_fast, a C port of jieba with the same dictionary and algorithms; gsv-edge uses jieba
itself (pure Python, installable everywhere). Nothing is downloaded.

jieba's two big dictionaries are replaced, before they are ever built, by the read-only tables of
:mod:`runtime.text.zh_compact`, built from the same dictionary file (``jieba.dt.get_dict_file()``) with the same
parsing rules: ``Tokenizer.FREQ`` (with ``total``) and ``POSTokenizer.word_tag_tab``. As jieba builds them they take
~105 MB (a dict of 498,113 strings and one of 349,045); the compact tables share one array of 64-bit keys and take
~6.5 MB. jieba's own algorithms (``get_DAG``, ``calc``, ``cut``, ``cut_for_search``, posseg's ``__cut_DAG``) run
unchanged on them, so words and tags are jieba's; tests/test_text_zh_compact.py checks every dictionary key and
whole segmentations against an unmodified jieba in a separate interpreter. The HMM tables of ``jieba.finalseg``
and ``jieba.posseg`` (~10 MB of nested dicts, used by the Viterbi search for unknown words) stay as jieba loads
them at import. Everything is swapped in :func:`_install`, in one place. The build takes ~0.6 s at the first
Chinese sentence (jieba's own parsed-dictionary cache in the temp folder is no longer read or written).
"""

from __future__ import annotations

import io
import logging
import sys
import threading

_lock = threading.Lock()
_state: dict[str, object] = {}


def _install():
    """Import jieba and jieba.posseg with the compact tables in place of FREQ and word_tag_tab."""
    import jieba

    from gsv_edge.runtime.memory import trim_heap

    from .zh_compact import jieba_tables

    jieba.setLogLevel(logging.CRITICAL)
    tokenizer = jieba.dt
    with tokenizer.lock:
        # the parse jieba.initialize() (gen_pfdict) and POSTokenizer.load_word_tag would make, done once, compactly
        freq, total, tags = jieba_tables(tokenizer.get_dict_file())
        # initialized=True: jieba.initialize() would otherwise load its marshal cache (or reparse) into a new dict
        tokenizer.FREQ, tokenizer.total, tokenizer.initialized = freq, total, True
    if "jieba.posseg" not in sys.modules:
        # importing jieba.posseg makes POSTokenizer(jieba.dt), which reads the dictionary file into word_tag_tab at
        # once: for that import only, jieba.dt hands it an empty file, and the compact table goes in afterwards
        tokenizer.get_dict_file = lambda: io.BytesIO(b"")
        try:
            import jieba.posseg
        finally:
            del tokenizer.get_dict_file  # back to Tokenizer.get_dict_file
    import jieba.posseg

    jieba.posseg.dt.word_tag_tab = tags
    trim_heap()  # the build's temporaries (and any dicts jieba had built before)
    return jieba, jieba.posseg


def _load():
    with _lock:
        if "posseg" not in _state:
            _state["jieba"], _state["posseg"] = _install()
    return _state["jieba"], _state["posseg"]


def pos_cut(text: str) -> list[tuple[str, str]]:
    """Words with their jieba part-of-speech tags."""
    _, posseg = _load()
    return [(pair.word, pair.flag) for pair in posseg.lcut(text)]


def cut_for_search(word: str) -> list[str]:
    """jieba's search-mode cut of one word (its sub-words and itself)."""
    jieba, _ = _load()
    return list(jieba.cut_for_search(word))
