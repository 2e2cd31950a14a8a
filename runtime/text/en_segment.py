"""Compound splitting as wordsegment 1.3.1's ``Segmenter().segment``, over packed counts (some 15 MB, not 90).

Upstream splits a word missing from its dictionaries with wordsegment. That package keeps its counts of
333,213 words and 286,358 word pairs (``unigrams.txt``, ``bigrams.txt``, read here by path from the
installed package, which is never imported) in two dicts of floats, about 90 MB. Here each table is one str
of all keys, an array of key ends, an array of float64 counts and a hash-bucket index (:class:`_Counts`).

The search is wordsegment's and gives the same words, scores and tie-breaks:

* the text is lower-cased and everything but ``a-z0-9`` dropped;
* the best split of a text given the previous word (``<s>`` first) is the best over every first word of
  1 to 24 letters of ``log10(score(first, previous))`` plus the best split of the rest given ``first``,
  memoised on (rest, first); candidates are compared as ``(score, words)`` tuples, the first best kept;
* ``score(word)`` is ``count / 1024908267229.0``, or ``10.0 / (total * 10 ** len(word))`` for an unknown
  word; after a previous word with a pair count and a unigram count it is
  ``pair / total / score(previous)`` (stupid backoff);
* text longer than 250 letters goes in chunks of 250, each prefixed by the last five words of the one before,
  and those words are split again with what remains at the end.

A pair key that has a character outside ASCII (28 of them, such as ``além do``) is not kept: the keys looked
up are only ever cleaned text and ``<s>``.
"""

from __future__ import annotations

import math
from array import array
from pathlib import Path

import numpy as np

from .en_data import package_file
from .errors import TextError

TOTAL = 1024908267229.0
LIMIT = 24
CHUNK = 250
CONTEXT = 5
_KEEP = frozenset("abcdefghijklmnopqrstuvwxyz0123456789")


class _Counts:
    """A read-only ``key -> float`` mapping (``get``), as wordsegment's ``parse`` builds a dict: a key listed
    twice keeps its last count. Keys live in one str with an array of their ends; the index groups entries by
    ``hash(key)`` (this process's) into buckets, each bucket's entries in file order. The file is split with
    numpy, so that no Python object per entry outlives its line (they would leave the heap fragmented)."""

    def __init__(self, path: Path) -> None:
        data = path.read_bytes()
        if not data.endswith(b"\n"):
            data += b"\n"
        raw = np.frombuffer(data, dtype=np.uint8)
        ends = np.flatnonzero(raw == 10)
        tabs = np.flatnonzero(raw == 9)
        starts = np.concatenate(([0], ends[:-1] + 1))
        if len(tabs) != len(ends) or np.any(tabs < starts) or np.any(tabs > ends):
            raise TextError(f"en: {path.name} is not one word, a tab and a count a line")
        keep = np.ones(len(ends), dtype=bool)
        keep[np.searchsorted(ends, np.flatnonzero(raw >= 0x80))] = False  # keys beyond ASCII: never looked up
        starts, tabs, ends = starts[keep], tabs[keep], ends[keep]
        counts = _counts(data, raw, tabs + 1, ends)
        lengths = tabs - starts
        text = _gather(raw, starts, lengths)
        key_ends = np.cumsum(lengths)
        spans = zip(_ints(key_ends), _ints(lengths), strict=True)
        hashes = np.fromiter((hash(text[end - size : end]) for end, size in spans), np.int64, len(ends))
        del text, key_ends, spans
        buckets = 1 << max(1, (len(ends) // 2).bit_length())  # about two entries a bucket
        self._mask = buckets - 1
        which = hashes & self._mask
        order = np.argsort(which, kind="stable")
        self._starts = _ints(np.searchsorted(which[order], np.arange(buckets + 1)))
        self._counts = array("d", counts[order].tobytes())
        self._text = _gather(raw, starts[order], lengths[order])
        self._ends = _ints(np.cumsum(lengths[order]))

    def __len__(self) -> int:
        return len(self._ends)

    def get(self, key: str) -> float | None:
        bucket = hash(key) & self._mask
        first = self._starts[bucket]
        ends, text = self._ends, self._text
        for i in range(self._starts[bucket + 1] - 1, first - 1, -1):  # the last of a repeated key wins
            end = ends[i]
            start = ends[i - 1] if i else 0
            if end - start == len(key) and text[start:end] == key:
                return self._counts[i]
        return None


def _ints(values: np.ndarray) -> array:
    """A compact array of Python ints (indexing it is faster than indexing numpy)."""
    return array("i", values.astype(np.int32).tobytes())


def _counts(data: bytes, raw: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """``float(count)`` of each count field. Fields of 1 to 15 digits (all of wordsegment's) are read with
    numpy: such integers are below 2**53, so they are exact floats, as ``float`` gives them."""
    lengths = ends - starts
    digits = _runs(raw, starts, lengths)
    if len(lengths) and lengths.min() >= 1 and lengths.max() <= 15 and np.all((digits >= 48) & (digits <= 57)):
        values = np.zeros(len(lengths), dtype=np.int64)
        for k in range(int(lengths.max())):
            more = lengths > k
            values[more] = values[more] * 10 + (raw[starts[more] + k].astype(np.int64) - 48)
        return values.astype(np.float64)
    return np.fromiter(
        (float(data[a:b]) for a, b in zip(_ints(starts), _ints(ends), strict=True)), np.float64, len(ends)
    )


def _runs(raw: np.ndarray, starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """The byte runs ``raw[start : start + length]``, one after another."""
    firsts = np.cumsum(lengths) - lengths
    return raw[np.repeat(starts - firsts, lengths) + np.arange(int(lengths.sum()))]


def _gather(raw: np.ndarray, starts: np.ndarray, lengths: np.ndarray) -> str:
    """The ASCII byte runs ``raw[start : start + length]``, one after another, as one str."""
    return _runs(raw, starts, lengths).tobytes().decode("ascii")


def clean(text: str) -> str:
    """wordsegment's ``clean``: lower case, then only ``a-z0-9`` kept."""
    return "".join(ch for ch in text.lower() if ch in _KEEP)


class Segmenter:
    """wordsegment's ``Segmenter`` with its counts loaded: ``segment(text) -> list of words``."""

    def __init__(self, unigrams: Path | None = None, bigrams: Path | None = None) -> None:
        self.unigrams = _Counts(unigrams or package_file("wordsegment", "unigrams.txt"))
        self.bigrams = _Counts(bigrams or package_file("wordsegment", "bigrams.txt"))

    def _unigram_score(self, word: str) -> float:
        count = self.unigrams.get(word)
        if count is not None:
            return count / TOTAL
        return 10.0 / (TOTAL * 10 ** len(word))  # unknown words: the longer, the less likely

    def _score(self, word: str, previous: str) -> float:
        pair = self.bigrams.get(f"{previous} {word}")
        if pair is not None:
            previous_count = self.unigrams.get(previous)
            if previous_count is not None:
                return pair / TOTAL / (previous_count / TOTAL)
        return self._unigram_score(word)

    def segment(self, text: str) -> list[str]:
        memo: dict[tuple[str, str], tuple[float, list[str]]] = {}

        def best(rest: str, previous: str) -> tuple[float, list[str]]:
            if not rest:
                return 0.0, []
            top: tuple[float, list[str]] | None = None
            for cut in range(1, min(len(rest), LIMIT) + 1):
                first, tail = rest[:cut], rest[cut:]
                first_score = math.log10(self._score(first, previous))
                key = (tail, first)
                found = memo.get(key)
                if found is None:
                    found = memo[key] = best(tail, first)
                candidate = (first_score + found[0], [first, *found[1]])
                if top is None or candidate > top:  # as max(): a later candidate must be strictly greater
                    top = candidate
            assert top is not None
            return top

        letters = clean(text)
        words: list[str] = []
        carried = ""
        for offset in range(0, len(letters), CHUNK):
            chunk_words = best(carried + letters[offset : offset + CHUNK], "<s>")[1]
            carried = "".join(chunk_words[-CONTEXT:])
            words.extend(chunk_words[:-CONTEXT])
        words.extend(best(carried, "<s>")[1])
        return words
