"""Read-only stand-ins, in little memory, for the big dictionaries of jieba 0.42.1 and pypinyin 0.55.0.

As the packages build them, the Chinese front end's tables keep some 150 MB resident as Python objects: jieba's
``Tokenizer.FREQ`` (498,113 words and word prefixes -> frequency, ~60 MB), ``jieba.posseg``'s ``word_tag_tab``
(349,045 words -> POS tag, ~45 MB) and pypinyin's ``PHRASES_DICT`` (47,111 phrases -> readings, kept twice),
``PINYIN_DICT`` (41,923 code points -> readings, kept twice) and the set of phrase prefixes its ``mmseg``
segmenter trains (86,926 strings). The classes here answer the same questions from a few flat arrays, and
:mod:`runtime.text.zh_segment` (jieba) and :mod:`runtime.text.zh_pinyin` (pypinyin) put them where the packages
look, so the packages' own algorithms run unchanged on the same answers.

The packages only ever ask these tables ``key in table``, ``table[key]``, ``table.get(key[, default])`` and
(pypinyin's ``simpleseg``) ``bool(table)``: the jieba side in ``Tokenizer.get_DAG``, ``calc``, ``__cut_DAG``,
``cut_for_search`` and ``POSTokenizer.__cut_DAG``/``__cut_DAG_NO_HMM``; the pypinyin side in
``converter.DefaultConverter._phrase_pinyin``/``_single_pinyin`` and ``seg.mmseg.Seg.cut``. Iterating or changing
them (jieba's ``add_word``/``load_userdict``/``suggest_freq(tune=True)``, pypinyin's ``load_phrases_dict``/
``load_single_dict``, none of which gsv-edge calls) raises ``TypeError``.

A string key is known by the first 8 bytes of the BLAKE2b-128 digest of its UTF-8 bytes (stable across runs,
unlike ``hash``), kept in one sorted ``array('Q')`` and found by ``bisect`` (see :class:`KeyIndex`); parallel
arrays hold the values. At build time the other 8 bytes of each digest must agree among the entries that share a
key, so two different real keys with the same 64-bit key are refused rather than merged (for 500,000 keys the odds
are 500,000**2 / 2**65, about one in 10**8). A string the dictionary does not hold is taken for one it
holds with a chance of N / 2**64 per lookup (3 * 10**-14 for jieba's 498,113 keys): for all practical purposes
never. Everything else is exact: frequencies, tags and readings are stored as the packages parsed them, and the
tests compare every key and whole segmentations against the unmodified packages.
"""

from __future__ import annotations

import hashlib
import json
import re
from array import array
from bisect import bisect_left
from collections.abc import Iterable
from pathlib import Path

import numpy as np

_NO_TAG = 255  # tag code of a jieba key that is only a prefix (absent from word_tag_tab)
_NO_PHRASE = -1  # phrase number of a pypinyin prefix that is not a phrase itself
_BUCKET_BITS = 16  # KeyIndex: keys are grouped by their top 16 bits


def _packed(typecode: str, values: np.ndarray) -> array:
    """``values`` as a Python array (indexing it gives Python ints directly), copied once."""
    packed = array(typecode)
    packed.frombytes(memoryview(np.ascontiguousarray(values)).cast("B"))
    return packed


def _digest(text: str) -> bytes:
    """The 16-byte BLAKE2b of ``text``'s UTF-8 bytes (lone surrogates passed through: one-to-one)."""
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()


class _ReadOnly:
    """What a stand-in refuses: changes, and iteration (the keys are kept only as hashes)."""

    __slots__ = ()

    def __setitem__(self, key, value):
        raise TypeError(f"{type(self).__name__} is a read-only compact table (gsv-edge never changes it)")

    __delitem__ = __setitem__

    def __iter__(self):
        raise TypeError(f"{type(self).__name__} keeps its keys only as hashes; it cannot be iterated")


class KeyIndex:
    """Sorted 64-bit keys of a set of strings: ``find(text)`` gives a string's place, or -1.

    A lookup hashes the string and searches only the keys that share its top 16 bits (``_bucket``: where each
    such run starts, 256 kB; ~8 keys each for jieba). The places of the last few thousand strings looked up are
    remembered (``_recent``, a dict emptied when full): jieba asks about the same substrings in ``get_DAG``,
    ``calc`` and posseg, and about the same words sentence after sentence.
    """

    __slots__ = ("_keys", "_bucket", "_recent")

    _RECENT = 4096

    def __init__(self, keys: np.ndarray) -> None:
        keys = np.ascontiguousarray(keys, np.uint64)
        self._keys = _packed("Q", keys)  # sorted, distinct
        firsts = np.arange(2**_BUCKET_BITS, dtype=np.uint64) << np.uint64(64 - _BUCKET_BITS)
        self._bucket = _packed("I", np.r_[np.searchsorted(keys, firsts), len(keys)].astype(np.uint32))
        self._recent: dict[object, int] = {}

    def __len__(self) -> int:
        return len(self._keys)

    def find(self, text: object) -> int:
        recent = self._recent
        n = recent.get(text)
        if n is not None:
            return n
        if not isinstance(text, str):
            return -1  # as a dict of str keys would say for any other hashable key
        key = int.from_bytes(_digest(text)[:8], "little")
        top = key >> (64 - _BUCKET_BITS)
        keys, bucket = self._keys, self._bucket
        n = bisect_left(keys, key, bucket[top], bucket[top + 1])
        if n == len(keys) or keys[n] != key:
            n = -1
        if len(recent) >= self._RECENT:
            recent.clear()
        recent[text] = n
        return n

    @staticmethod
    def build(words: bytes | bytearray, prefixes: bytes | bytearray) -> tuple[KeyIndex, np.ndarray]:
        """The index of the distinct strings among words and prefixes, each given as its concatenated 16-byte
        digests (``_digest``; words in file order; a string may come more than once, in either).

        Returns the index and, for each place in it, the number of the last word with that key (-1: a prefix
        only). Refuses two different strings with the same 64-bit key (the other 8 bytes tell them apart).
        """
        both = np.concatenate([np.frombuffer(words, "<u8"), np.frombuffer(prefixes, "<u8")]).reshape(-1, 2)
        order = np.argsort(both[:, 0], kind="stable")  # entries by key; within a key, words first, in file order
        key, check = both[order, 0], both[order, 1]
        del both
        if not len(key):
            return KeyIndex(key), np.empty(0, np.int64)
        starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
        same_key = np.r_[False, key[1:] == key[:-1]]
        if np.any(same_key & np.r_[False, check[1:] != check[:-1]]):
            raise ValueError("two different dictionary keys share a 64-bit hash; the compact table cannot hold them")
        word_count = len(words) // 16
        last_word = np.maximum.reduceat(np.where(order < word_count, order, -1), starts)
        return KeyIndex(key[starts]), last_word


# ---------------------------------------------------------------------------------------------------- jieba


class FrequencyTable(_ReadOnly):
    """jieba's ``Tokenizer.FREQ``: each dictionary word and each prefix of one -> its frequency (0: a prefix)."""

    __slots__ = ("_index", "_freq")

    def __init__(self, index: KeyIndex, freq: array) -> None:
        self._index, self._freq = index, freq

    def __len__(self) -> int:
        return len(self._freq)

    def __contains__(self, word: object) -> bool:
        return self._index.find(word) >= 0

    def __getitem__(self, word: str) -> int:
        n = self._index.find(word)
        if n < 0:
            raise KeyError(word)
        return self._freq[n]

    def get(self, word: object, default: object = None) -> object:
        n = self._index.find(word)
        return default if n < 0 else self._freq[n]


class TagTable(_ReadOnly):
    """``jieba.posseg``'s ``word_tag_tab``: each dictionary word -> its POS tag (sharing FrequencyTable's keys)."""

    __slots__ = ("_index", "_codes", "_tags")

    def __init__(self, index: KeyIndex, codes: array, tags: tuple[str, ...]) -> None:
        self._index, self._codes, self._tags = index, codes, tags

    def __len__(self) -> int:
        return sum(1 for code in self._codes if code != _NO_TAG)

    def __contains__(self, word: object) -> bool:
        n = self._index.find(word)
        return n >= 0 and self._codes[n] != _NO_TAG

    def __getitem__(self, word: str) -> str:
        n = self._index.find(word)
        if n < 0 or self._codes[n] == _NO_TAG:
            raise KeyError(word)
        return self._tags[self._codes[n]]

    def get(self, word: object, default: object = None) -> object:
        n = self._index.find(word)
        if n < 0:
            return default
        code = self._codes[n]
        return default if code == _NO_TAG else self._tags[code]


def jieba_tables(lines: Iterable[bytes]) -> tuple[FrequencyTable, int, TagTable]:
    """``(FREQ, total, word_tag_tab)`` as jieba 0.42.1 builds them from its dictionary file's lines.

    As ``Tokenizer.gen_pfdict``: each line ``word freq tag`` sets ``FREQ[word] = freq`` (a later line for the same
    word wins) and adds ``freq`` to ``total`` (every line counts); each proper prefix of a word not otherwise in
    ``FREQ`` gets 0. As ``POSTokenizer.load_word_tag``: ``word_tag_tab[word] = tag``, a later line winning.
    """
    blake2b = hashlib.blake2b
    words, prefixes = bytearray(), bytearray()  # the _digest of each line's word, and of new proper prefixes
    freqs = array("q")  # per line
    tag_codes = array("B")  # per line: an index into tags
    tag_ids: dict[str, int] = {}
    total = 0
    previous = ""
    for lineno, raw in enumerate(lines, 1):
        try:  # both of jieba's parsers accept this shape (3 fields) for the dictionary to load
            word, freq, tag = raw.strip().decode("utf-8").split(" ")
            count = int(freq)
        except ValueError:
            raise ValueError(f"jieba dictionary line {lineno}: {raw!r} is not 'word freq tag'") from None
        words += blake2b(word.encode("utf-8", "surrogatepass"), digest_size=16).digest()
        total += count
        freqs.append(count)
        tag_codes.append(tag_ids.setdefault(tag, len(tag_ids)))
        # prefixes shared with the previous word already have an entry (jieba's dictionary is sorted: 4 in 5 of them)
        size, shared = len(word), 0
        while shared < size and shared < len(previous) and word[shared] == previous[shared]:
            shared += 1
        for end in range(shared + 1, size):
            prefixes += blake2b(word[:end].encode("utf-8", "surrogatepass"), digest_size=16).digest()
        previous = word
    if len(tag_ids) >= _NO_TAG:
        raise ValueError("jieba dictionary: too many distinct tags")
    index, last_word = KeyIndex.build(words, prefixes)
    del words, prefixes
    has_word = last_word >= 0
    line = np.where(has_word, last_word, 0)
    freq = np.where(has_word, np.frombuffer(freqs, np.int64)[line], 0)
    codes = np.where(has_word, np.frombuffer(tag_codes, np.uint8)[line], _NO_TAG)
    if freq.min(initial=0) < -(2**31) or freq.max(initial=0) >= 2**31:
        raise ValueError("jieba dictionary: a frequency does not fit 32 bits")
    freq_table = FrequencyTable(index, _packed("i", freq.astype(np.int32)))
    return freq_table, total, TagTable(index, _packed("B", codes.astype(np.uint8)), tuple(tag_ids))


# ---------------------------------------------------------------------------------------------------- pypinyin


class PhraseTable(_ReadOnly):
    """pypinyin's ``PHRASES_DICT``: phrase -> its readings, ``[[reading, ...], ...]`` per character (a new list on
    every lookup, as pypinyin deep-copies it anyway)."""

    __slots__ = ("_index", "_phrase", "_starts", "_blob", "_count")

    def __init__(self, index: KeyIndex, phrase: array, starts: array, blob: bytes) -> None:
        self._index, self._phrase, self._starts, self._blob = index, phrase, starts, blob
        self._count = len(phrase) - phrase.count(_NO_PHRASE)  # pypinyin's simpleseg asks bool() per Han run

    def __len__(self) -> int:
        return self._count

    def __bool__(self) -> bool:
        return self._count > 0

    def __contains__(self, phrase: object) -> bool:
        n = self._index.find(phrase)
        return n >= 0 and self._phrase[n] != _NO_PHRASE

    def __getitem__(self, phrase: str) -> list[list[str]]:
        n = self._index.find(phrase)
        p = self._phrase[n] if n >= 0 else _NO_PHRASE
        if p == _NO_PHRASE:
            raise KeyError(phrase)
        text = self._blob[self._starts[p] : self._starts[p + 1]].decode("utf-8")
        return [char.split(",") for char in text.split(" ")]

    def get(self, phrase: object, default: object = None) -> object:
        return self[phrase] if phrase in self else default  # type: ignore[index]


class PrefixSet(_ReadOnly):
    """``pypinyin.seg.mmseg.PrefixSet`` trained on every phrase: each non-empty prefix of a phrase."""

    __slots__ = ("_index",)

    def __init__(self, index: KeyIndex) -> None:
        self._index = index

    def __len__(self) -> int:
        return len(self._index)

    def __contains__(self, text: object) -> bool:
        return self._index.find(text) >= 0

    def train(self, words: Iterable[str]) -> None:
        raise TypeError("PrefixSet is a read-only compact table (gsv-edge never adds phrases)")


class CharTable(_ReadOnly):
    """pypinyin's ``PINYIN_DICT``: code point -> its readings, comma-separated."""

    __slots__ = ("_points", "_ids", "_values")

    def __init__(self, table: dict[int, str]) -> None:
        points = sorted(table)
        values: dict[str, int] = {}
        ids = [values.setdefault(table[p], len(values)) for p in points]
        self._points = array("I", points)
        self._ids = array("H" if len(values) <= 2**16 else "I", ids)
        self._values = tuple(values)

    def __len__(self) -> int:
        return len(self._points)

    def _find(self, point: object) -> int:
        if not isinstance(point, int) or not 0 <= point < 2**32:
            return -1
        n = bisect_left(self._points, point)
        return n if n < len(self._points) and self._points[n] == point else -1

    def __contains__(self, point: object) -> bool:
        return self._find(point) >= 0

    def __getitem__(self, point: int) -> str:
        n = self._find(point)
        if n < 0:
            raise KeyError(point)
        return self._values[self._ids[n]]

    def get(self, point: object, default: object = None) -> object:
        n = self._find(point)
        return default if n < 0 else self._values[self._ids[n]]


# pypinyin's phrases_dict.json: one object of "phrase": [["reading", ...], ...]
_PHRASE = re.compile(r'\s*"((?:[^"\\]|\\.)*)"\s*:\s*(\[(?:[^\[\]]|\[[^\[\]]*\])*\])\s*(,?)', re.S)


def _scan_phrases(text: str) -> Iterable[tuple[str, list[list[str]]]]:
    """The entries of phrases_dict.json in file order, each parsed by ``json`` (the whole object never built)."""
    at = text.index("{") + 1
    comma = ","
    while comma:
        match = _PHRASE.match(text, at)
        if match is None:
            break
        key, value, comma = match.groups()
        yield (json.loads(f'"{key}"') if "\\" in key else key), json.loads(value)
        at = match.end()
    if text[at:].strip() != "}":
        raise ValueError(f"phrases_dict.json: unexpected text at character {at}")


def _storable(reading: object) -> bool:
    return isinstance(reading, str) and bool(reading) and "," not in reading and " " not in reading


def pypinyin_phrase_tables(path: Path) -> tuple[PhraseTable, PrefixSet]:
    """``PHRASES_DICT`` and mmseg's trained prefix set, from pypinyin's phrases_dict.json (a repeated phrase: the
    last, as ``json.loads``)."""
    phrases, prefixes = bytearray(), bytearray()  # the _digest of each phrase, and of new proper prefixes
    readings: list[str] = []  # per phrase, in file order
    previous = ""
    for phrase, value in _scan_phrases(path.read_text(encoding="utf-8")):
        chars = []
        for item in value:
            if not isinstance(item, list) or not item or not all(_storable(r) for r in item):
                raise ValueError(f"phrases_dict.json: {phrase!r} has readings this table cannot hold")
            chars.append(",".join(item))
        if not value or not phrase:
            raise ValueError(f"phrases_dict.json: {phrase!r} has no readings or is empty")
        phrases += _digest(phrase)
        readings.append(" ".join(chars))
        size, shared = len(phrase), 0  # (as in jieba_tables)
        while shared < size and shared < len(previous) and phrase[shared] == previous[shared]:
            shared += 1
        for end in range(shared + 1, size):
            prefixes += _digest(phrase[:end])
        previous = phrase
    index, last_phrase = KeyIndex.build(phrases, prefixes)  # a repeated phrase: the last, as json
    del phrases, prefixes
    blob = bytearray()
    starts = array("I", [0])
    for text in readings:
        blob += text.encode("utf-8")
        starts.append(len(blob))
    return PhraseTable(index, _packed("i", last_phrase.astype(np.int32)), starts, bytes(blob)), PrefixSet(index)
