"""nltk 3.10.4's greedy averaged perceptron POS tagger (English model), without nltk and in little memory.

Tagging goes left to right. A token found in the tag dictionary (1,549 unambiguous words, matched as written)
gets that tag; any other is scored: 14 feature strings, each ``name value...`` joined by spaces, are built from

* the token itself: its last 3 characters (``i suffix``), its first character (``i pref1``);
* the two previous tags (``i-1 tag``, ``i-2 tag``, both in ``i tag+i-2 tag``; ``-START-``/``-START2-`` before
  the first token);
* the normalised words at offsets -2..+2 (``i-2 word``, ``i-1 word``, ``i word``, ``i+1 word``, ``i+2 word``,
  ``i-1 tag+i word``) and the last 3 characters of those at -1 and +1 (``i-1 suffix``, ``i+1 suffix``); the
  sentence is padded with ``-START-``/``-START2-`` and ``-END-``/``-END2-``. Normalising gives ``!HYPHEN`` for
  a word with a ``-`` that does not start with one, ``!YEAR`` for 4 digits, ``!DIGITS`` for anything else
  starting with a digit, otherwise the lower-case word;

and each class's score is the sum, in feature order, of its weights for the features the model knows (the
same float additions as nltk). The tag is the class with the highest score, ties going to the greater tag
string (classes without weights score 0.0). The 14 names form a prefix-free set, so a token's 14 features are
always distinct and nltk's feature value (a count) is always 1: ``1 * weight`` is ``weight``, added as is here.

The model is the JSON nltk ships (``averaged_perceptron_tagger_eng``, located and checked by ``en_data``):
75,447 features with 271,206 weights, 10,946 distinct values. Nothing of it is kept as Python objects
(nltk's dict of dicts takes some 30 MB; a dict of the feature strings alone, 9 MB): a feature is known by the
64-bit BLAKE2b hash of its UTF-8 bytes, kept sorted in one array and found by binary search (``np.searchsorted``
for the 10 features of each token that do not depend on the tags, all tokens of a sentence at once; ``bisect``
for the rest). Per feature, parallel arrays give its first weight and number of weights; per weight, its class
and the index of its value in a table of the distinct float64 values (the JSON's values exactly, so the
additions are nltk's bit for bit). About 2 MB in all. The JSON is scanned in place (mmap), folding each feature
into the arrays as it goes, so neither its text nor the nested dicts are ever built.
"""

from __future__ import annotations

import bisect
import hashlib
import json
import mmap
import re
from array import array
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

START = ("-START-", "-START2-")
END = ("-END-", "-END2-")
# where the 4 features that depend on the previous tags (tag_features) go among the 14, in nltk's order
_TAG_SLOTS = (3, 4, 5, 7)
_WORD_FEATURES = 10  # and the 10 others (word_features)


def normalize(word: str) -> str:
    """The word as the features see it."""
    if "-" in word and word[0] != "-":
        return "!HYPHEN"
    if word.isdigit() and len(word) == 4:
        return "!YEAR"
    if word and word[0].isdigit():
        return "!DIGITS"
    return word.lower()


def word_features(i: int, word: str, context: Sequence[str]) -> list[str]:
    """The 10 features of ``word`` (token ``i``) that do not depend on the tags, in nltk's order."""
    i += len(START)
    return [
        "bias",
        "i suffix " + word[-3:],
        "i pref1 " + word[:1],
        "i word " + context[i],
        "i-1 word " + context[i - 1],
        "i-1 suffix " + context[i - 1][-3:],
        "i-2 word " + context[i - 2],
        "i+1 word " + context[i + 1],
        "i+1 suffix " + context[i + 1][-3:],
        "i+2 word " + context[i + 2],
    ]


def tag_features(i: int, context: Sequence[str], prev: str, prev2: str) -> list[str]:
    """The 4 features of token ``i`` that depend on the two previous tags, in nltk's order."""
    return [
        "i-1 tag " + prev,
        "i-2 tag " + prev2,
        f"i tag+i-2 tag {prev} {prev2}",
        f"i-1 tag+i word {prev} {context[i + len(START)]}",
    ]


def _merge(words: Sequence, tags: Sequence) -> list:
    """The 14 features (or what stands for them) in nltk's order, from word_features' and tag_features'."""
    merged = list(words)
    for slot, item in zip(_TAG_SLOTS, tags, strict=True):
        merged.insert(slot, item)
    return merged


def features(i: int, word: str, context: Sequence[str], prev: str, prev2: str) -> list[str]:
    """Feature strings of ``word`` (token ``i``), as nltk orders them; ``context`` is the padded normalised sentence."""
    return _merge(word_features(i, word, context), tag_features(i, context, prev, prev2))


def _digest(data: bytes) -> bytes:
    """A feature's key: the 64-bit BLAKE2b of its UTF-8 bytes (stable across runs, unlike ``hash``), little-endian."""
    return hashlib.blake2b(data, digest_size=8).digest()


def _key(feature: str) -> bytes:
    return _digest(feature.encode("utf-8", "surrogatepass"))  # one-to-one, lone surrogates included


# the weights file as nltk writes it (json.dump defaults): {"feature": {"TAG": weight, ...}, ...}
_FEATURE = re.compile(rb'"((?:[^"\\]|\\.)*)": \{([^}]*)\}')
_WEIGHT = re.compile(rb'"([^"\\]*)": (-?[0-9][0-9.eE+-]*)')


class PerceptronTagger:
    """``nltk.tag.perceptron.PerceptronTagger`` with the weights, tagdict and classes JSON files given."""

    def __init__(self, weights: Path, tagdict: Path, classes: Path) -> None:
        from gsv_edge.runtime.cache import cached_arrays

        self.classes: tuple[str, ...] = tuple(json.loads(classes.read_text(encoding="utf-8")))
        if len(set(self.classes)) != len(self.classes) or len(self.classes) > 255:
            raise ValueError(f"{classes.name}: not a list of distinct tags")
        self.tagdict: dict[str, str] = json.loads(tagdict.read_text(encoding="utf-8"))
        # scanning the weights takes about a third of a second: the arrays are kept in the user's cache folder
        tables = cached_arrays(
            "en-tagger", [weights, classes], lambda: _scan_weights(weights, self.classes), self._check_tables
        )
        # (memoryviews: slices of them are views, not copies)
        self._values = array("d", tables["values"].tobytes())
        self._ids = memoryview(array("B", tables["ids"].tobytes()))
        value_ids = tables["value_ids"]
        self._value_ids = memoryview(array("H" if value_ids.dtype == np.uint16 else "I", value_ids.tobytes()))
        self._keys = array("Q", tables["keys"].tobytes())  # sorted, for bisect (Python ints)
        self._sorted_keys = np.frombuffer(self._keys, np.uint64)  # the same memory, for np.searchsorted
        self._starts = array("I", tables["starts"].tobytes())  # by feature number
        self._counts = array("B", tables["counts"].tobytes())
        # tag_features' first 3 (only the tags in them) -> their feature numbers, filled as tag pairs are met
        self._tag_pairs: dict[tuple[str, str], tuple[int, int, int]] = {}

    def _check_tables(self, tables: dict[str, np.ndarray]) -> None:
        """Raise ValueError unless ``_scan_weights``'s arrays hold together: one start and count per key, keys
        strictly ascending, every feature's weights inside the weight arrays, every class and value known."""
        keys, starts, counts = tables["keys"], tables["starts"].astype(np.int64), tables["counts"].astype(np.int64)
        ids, value_ids = tables["ids"], tables["value_ids"]
        if not len(keys) == len(starts) == len(counts) or len(ids) != len(value_ids):
            raise ValueError("tagger tables of mismatched lengths")
        if np.any(keys[1:] <= keys[:-1]) or np.any(starts + counts > len(ids)):
            raise ValueError("tagger keys out of order, or a feature's weights past the end")
        if len(ids) and (int(ids.max()) >= len(self.classes) or int(value_ids.max()) >= len(tables["values"])):
            raise ValueError("tagger weights naming an unknown class or value")

    def _find(self, feature: str) -> int:
        """The number of ``feature`` (its place in the sorted keys), or -1 if the model does not know it."""
        key = int.from_bytes(_key(feature), "little")
        n = bisect.bisect_left(self._keys, key)
        return n if n < len(self._keys) and self._keys[n] == key else -1

    def weights_of(self, feature: str) -> dict[str, float] | None:
        """The model's weights for ``feature`` by tag, as nltk's ``model.weights[feature]`` (None: unknown)."""
        n = self._find(feature)
        if n < 0:
            return None
        first, end = self._starts[n], self._starts[n] + self._counts[n]
        pairs = zip(self._ids[first:end], self._value_ids[first:end], strict=True)
        return {self.classes[class_id]: self._values[value_id] for class_id, value_id in pairs}

    def _find_all(self, feats: Iterable[str]) -> list[int]:
        """``[self._find(f) for f in feats]``, in one search."""
        keys = np.frombuffer(b"".join([_key(f) for f in feats]), "<u8")
        n = np.minimum(self._sorted_keys.searchsorted(keys), len(self._sorted_keys) - 1)
        return np.where(self._sorted_keys[n] == keys, n, -1).tolist()

    def _tag_pair(self, prev: str, prev2: str) -> tuple[int, int, int]:
        found = self._tag_pairs.get((prev, prev2))
        if found is None:  # at most (45 + 2) ** 2 pairs: the tags are the classes and START
            a, b, c = (self._find(f) for f in tag_features(0, ("",) * 3, prev, prev2)[:3])
            found = self._tag_pairs[prev, prev2] = (a, b, c)
        return found

    def _predict(self, found: Sequence[int]) -> str:
        """The tag for a token whose 14 features have the numbers ``found`` (in nltk's order; -1: unknown)."""
        scores = [0.0] * len(self.classes)
        ids, value_ids, values, starts, counts = self._ids, self._value_ids, self._values, self._starts, self._counts
        for n in found:
            if n < 0:
                continue
            first = starts[n]
            end = first + counts[n]
            for class_id, value_id in zip(ids[first:end], value_ids[first:end], strict=True):
                scores[class_id] += values[value_id]
        return max(zip(scores, self.classes, strict=True))[1]  # the highest score, then the greater tag

    def tag(self, tokens: Sequence[str]) -> list[tuple[str, str]]:
        """``[(token, tag), ...]`` as nltk's ``PerceptronTagger.tag(tokens)``."""
        prev, prev2 = START
        context = [*START, *(normalize(w) for w in tokens), *END]
        tagdict = self.tagdict
        scored = [i for i, word in enumerate(tokens) if not tagdict.get(word)]
        found = self._find_all([f for i in scored for f in word_features(i, tokens[i], context)])
        at = 0  # where the next scored token's numbers start in found
        out = []
        for i, word in enumerate(tokens):
            tag = tagdict.get(word)
            if not tag:
                last = self._find(tag_features(i, context, prev, prev2)[3])
                tag = self._predict(_merge(found[at : at + _WORD_FEATURES], (*self._tag_pair(prev, prev2), last)))
                at += _WORD_FEATURES
            out.append((word, tag))
            prev2, prev = prev, tag
        return out


def _scan_weights(weights: Path, classes: Sequence[str]) -> dict[str, np.ndarray]:
    """The model's weights as the tagger's arrays, features sorted by key (see the module docstring)."""
    class_id = {tag.encode(): n for n, tag in enumerate(classes)}
    keys = bytearray()  # each feature's _digest, in file order
    starts = array("I")  # each feature's first weight, in file order
    ids = array("B")  # the class of each weight, feature after feature
    value_ids = array("I")  # the index in values of each weight
    values: dict[bytes, int] = {}  # the JSON text of each distinct value -> its index
    # scanned in place (mmap), so neither the 5.7 MB text nor nltk's nested dicts are ever built
    with open(weights, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as data:
        end = 0
        for match in _FEATURE.finditer(data):
            if data[end : match.start()].strip(b"{, "):
                raise ValueError(f"{weights.name}: unexpected text at byte {end}")
            name, body = match.groups()
            starts.append(len(ids))
            for tag, weight in dict(_WEIGHT.findall(body)).items():  # a repeated tag: the last, as json
                if tag in class_id:  # (a tag outside the classes can never win in nltk either)
                    ids.append(class_id[tag])
                    value_ids.append(values.setdefault(weight, len(values)))
            keys += _key(json.loads(b'"' + name + b'"')) if b"\\" in name else _digest(name)
            end = match.end()
        if data[end:].strip() != b"}":
            raise ValueError(f"{weights.name}: unexpected text at byte {end}")
    if len(ids) >= 2**32:
        raise ValueError(f"{weights.name}: too many weights")
    counts = np.diff(np.append(np.frombuffer(starts, np.uint32), np.uint32(len(ids))))
    hashes = np.frombuffer(keys, "<u8").astype(np.uint64)
    order = np.argsort(hashes, kind="stable")
    hashes = hashes[order]
    if np.any(hashes[1:] == hashes[:-1]):
        # a repeated feature, or two with the same 64-bit hash (for 75,000 features about one chance in
        # 2**64 / 75,000**2 = 3 * 10**9): refused, since one of them could not be found
        raise ValueError(f"{weights.name}: two features have the same 64-bit hash")
    # a feature the model does not know is taken for one it knows with a chance of 75,000 / 2**64 (4 * 10**-15)
    # per lookup: for all practical purposes never (nltk's dict would have scored it 0)
    return {
        # the distinct values as json reads them (an integer as int, exact), stored as float64
        "values": np.array([float(w) if b"." in w or b"e" in w.lower() else int(w) for w in values], np.float64),
        "ids": np.frombuffer(ids, np.uint8),
        "value_ids": np.frombuffer(value_ids, np.uint32).astype(np.uint16 if len(values) <= 2**16 else np.uint32),
        "keys": hashes,
        "starts": np.frombuffer(starts, np.uint32)[order],
        "counts": counts[order].astype(np.uint8),
    }
