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
string (classes without weights score 0.0).

The model is the JSON nltk ships (``averaged_perceptron_tagger_eng``, located and checked by ``en_data``). Its
275,000 weights are kept in flat arrays (float64, the JSON's values exactly) indexed by one dict of the 75,000
feature strings, instead of nltk's dict of dicts (a tenth of the memory). The JSON is read with the standard
parser, folding each feature's weights into the arrays as it goes, so the nested dicts never exist at once.
"""

from __future__ import annotations

import json
import mmap
import re
from array import array
from collections.abc import Sequence
from pathlib import Path

START = ("-START-", "-START2-")
END = ("-END-", "-END2-")


def normalize(word: str) -> str:
    """The word as the features see it."""
    if "-" in word and word[0] != "-":
        return "!HYPHEN"
    if word.isdigit() and len(word) == 4:
        return "!YEAR"
    if word and word[0].isdigit():
        return "!DIGITS"
    return word.lower()


def features(i: int, word: str, context: Sequence[str], prev: str, prev2: str) -> list[str]:
    """Feature strings of ``word`` (token ``i``); ``context`` is the padded normalised sentence."""
    i += len(START)
    here = context[i]
    return [
        "bias",
        "i suffix " + word[-3:],
        "i pref1 " + word[:1],
        "i-1 tag " + prev,
        "i-2 tag " + prev2,
        f"i tag+i-2 tag {prev} {prev2}",
        "i word " + here,
        f"i-1 tag+i word {prev} {here}",
        "i-1 word " + context[i - 1],
        "i-1 suffix " + context[i - 1][-3:],
        "i-2 word " + context[i - 2],
        "i+1 word " + context[i + 1],
        "i+1 suffix " + context[i + 1][-3:],
        "i+2 word " + context[i + 2],
    ]


# the weights file as nltk writes it (json.dump defaults): {"feature": {"TAG": weight, ...}, ...}
_FEATURE = re.compile(rb'"((?:[^"\\]|\\.)*)": \{([^}]*)\}')
_WEIGHT = re.compile(rb'"([^"\\]*)": (-?[0-9][0-9.eE+-]*)')


class PerceptronTagger:
    """``nltk.tag.perceptron.PerceptronTagger`` with the weights, tagdict and classes JSON files given."""

    def __init__(self, weights: Path, tagdict: Path, classes: Path) -> None:
        self.classes: tuple[str, ...] = tuple(json.loads(classes.read_text(encoding="utf-8")))
        if len(set(self.classes)) != len(self.classes) or len(self.classes) > 255:
            raise ValueError(f"{classes.name}: not a list of distinct tags")
        self.tagdict: dict[str, str] = json.loads(tagdict.read_text(encoding="utf-8"))
        class_id = {tag.encode(): n for n, tag in enumerate(self.classes)}
        self._ids = array("B")  # the class of each weight
        self._weights = array("d")  # the weights, feature after feature
        self._feature: dict[str, int] = {}  # feature -> (its first weight << 8) | its number of weights
        # scanned in place (mmap), so neither the 5.7 MB text nor nltk's nested dicts are ever built
        with open(weights, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as data:
            end = 0
            for match in _FEATURE.finditer(data):
                if data[end : match.start()].strip(b"{, "):
                    raise ValueError(f"{weights.name}: unexpected text at byte {end}")
                name, body = match.groups()
                first = len(self._weights)
                for tag, weight in dict(_WEIGHT.findall(body)).items():  # a repeated tag: the last, as json
                    if tag in class_id:  # (a tag outside the classes can never win in nltk either)
                        self._ids.append(class_id[tag])
                        self._weights.append(float(weight) if b"." in weight or b"e" in weight.lower() else int(weight))
                feature = json.loads(b'"' + name + b'"') if b"\\" in name else name.decode()
                self._feature[feature] = first << 8 | (len(self._weights) - first)
                end = match.end()
            if data[end:].strip() != b"}":
                raise ValueError(f"{weights.name}: unexpected text at byte {end}")

    def _predict(self, feats: list[str]) -> str:
        scores = [0.0] * len(self.classes)
        ids, weights, known = self._ids, self._weights, self._feature
        counts: dict[str, int] = {}
        for feat in feats:  # nltk counts a repeated feature (value 2): never happens with these names, but kept
            counts[feat] = counts.get(feat, 0) + 1
        for feat, value in counts.items():
            where = known.get(feat)
            if where is None:
                continue
            first = where >> 8
            for k in range(first, first + (where & 0xFF)):
                scores[ids[k]] += value * weights[k]
        return max(zip(scores, self.classes, strict=True))[1]  # the highest score, then the greater tag

    def tag(self, tokens: Sequence[str]) -> list[tuple[str, str]]:
        """``[(token, tag), ...]`` as nltk's ``PerceptronTagger.tag(tokens)``."""
        prev, prev2 = START
        context = [*START, *(normalize(w) for w in tokens), *END]
        out = []
        for i, word in enumerate(tokens):
            tag = self.tagdict.get(word)
            if not tag:
                tag = self._predict(features(i, word, context, prev, prev2))
            out.append((word, tag))
            prev2, prev = prev, tag
        return out
