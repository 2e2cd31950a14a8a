"""The Open JTalk front end (pyopenjtalk) on a dictionary installed on this machine, never downloaded.

Upstream GPT-SoVITS calls ``pyopenjtalk`` 0.4.1 (r9y9) with the Open JTalk dictionary 1.11 (UTF-8,
naist-jdic). pyopenjtalk downloads that dictionary from GitHub the first time it is used when the folder
named by ``OPEN_JTALK_DICT_DIR`` does not exist. Here the folder is checked first, and an ``OpenJTalk``
object of our own is built on it, so pyopenjtalk's download path is never reached.

Debian/Ubuntu ship the same dictionary as ``open-jtalk-mecab-naist-jdic`` (1.11), installed in
``/var/lib/mecab/dic/open-jtalk/naist-jdic``; that folder is used when ``OPEN_JTALK_DICT_DIR`` is unset.

A user dictionary (upstream's ``ja_userdic``, compiled by ``compile_user_dictionary``; packs carry it) is handed to
Open JTalk as upstream hands it (``update_global_jtalk_with_user_dict`` builds ``OpenJTalk(dn_mecab, userdic)``).
"""

from __future__ import annotations

import os
import threading
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

from .errors import TextError

DICT_ENV = "OPEN_JTALK_DICT_DIR"
DEBIAN_DICT_DIR = "/var/lib/mecab/dic/open-jtalk/naist-jdic"
APT_PACKAGE = "open-jtalk-mecab-naist-jdic"
# The compiled MeCab dictionary: what OpenJTalk's Mecab_load opens in the folder.
_DICT_FILES = ("sys.dic", "unk.dic", "char.bin", "matrix.bin")
_INSTALL_HINT = f"install the Open JTalk dictionary (apt-get install {APT_PACKAGE}) or set {DICT_ENV}"
# pyopenjtalk 0.4.1's run_frontend converts the text into a fixed ``char buff[8192]`` (text2mecab, no
# bounds check): longer input overflows it and crashes the process. text2mecab writes ASCII as 3-byte
# full-width characters and copies other characters' UTF-8 bytes as they are.
_BUFFER_BYTES = 8192


def dictionary_dir() -> Path:
    """The dictionary folder: ``$OPEN_JTALK_DICT_DIR``, else Debian's; TextError when it is incomplete."""
    folder = Path(os.environ.get(DICT_ENV) or DEBIAN_DICT_DIR)
    missing = [name for name in _DICT_FILES if not (folder / name).is_file()]
    if missing:
        raise TextError(f"ja: no Open JTalk dictionary at {folder} (missing {missing[0]}): {_INSTALL_HINT}")
    return folder


@lru_cache(maxsize=4)
def _engine(user_dictionary: str | None = None):
    """Open JTalk on the system dictionary, with ``user_dictionary`` (a compiled MeCab user dictionary) if given."""
    folder = dictionary_dir()
    # pyopenjtalk reads the variable once, at import; pointing it at a folder that exists keeps any
    # other user of pyopenjtalk's global instance in this process from downloading too.
    if not os.environ.get(DICT_ENV):
        os.environ[DICT_ENV] = str(folder)
    try:
        from pyopenjtalk.openjtalk import OpenJTalk
    except ImportError as error:
        hint = "pip install 'gsv-edge[ja]' (pyopenjtalk 0.4.1)"
        raise TextError(f"ja: pyopenjtalk is not installed ({error}): {hint}") from None
    userdic = os.fsencode(user_dictionary) if user_dictionary else b""  # b"": none (pyopenjtalk's default)
    try:
        return OpenJTalk(dn_mecab=os.fsencode(folder), userdic=userdic)
    except RuntimeError as error:
        what = f"{folder} with the user dictionary {user_dictionary}" if user_dictionary else str(folder)
        raise TextError(f"ja: Open JTalk could not load {what} ({error}): {_INSTALL_HINT}") from None


def compile_user_dictionary(csv: Path, output: Path) -> None:
    """Compile a MeCab user dictionary CSV for the system dictionary, as upstream's japanese.py does on first import
    (``pyopenjtalk.mecab_dict_index``). The result depends only on the CSV and the dictionary's matrix and
    character definitions (the Open JTalk 1.11 dictionary everywhere this runs)."""
    folder = dictionary_dir()
    try:
        import pyopenjtalk
    except ImportError as error:
        raise TextError(f"ja: pyopenjtalk is not installed ({error}): pip install 'gsv-edge[ja]'") from None
    try:
        with _silenced(1):
            pyopenjtalk.mecab_dict_index(str(csv), str(output), dn_mecab=os.fsencode(folder))
    except (RuntimeError, FileNotFoundError) as error:
        raise TextError(f"ja: could not compile the user dictionary {csv} ({error})") from None


def _converted_bytes(text: str) -> int:
    return sum(3 if ord(ch) < 0x80 else len(ch.encode("utf-8")) for ch in text)


def full_context_labels(text: str, user_dictionary: Path | None = None) -> list[str]:
    """HTS full-context labels of ``text`` (pyopenjtalk ``make_label(run_frontend(text))``), read with the compiled
    ``user_dictionary`` when given."""
    if _converted_bytes(text) >= _BUFFER_BYTES:  # the terminating NUL needs the last byte
        raise TextError(
            f"ja: {len(text)} characters without punctuation are too long for Open JTalk "
            "(about 2,700 at most): split the text at punctuation"
        )
    # its methods hold a class-wide lock, so threads may share it
    engine = _engine(str(user_dictionary) if user_dictionary else None)
    with _silenced(2):
        return engine.make_label(engine.run_frontend(text))


_fd_lock = threading.Lock()


@contextmanager
def _silenced(fd: int):
    """Point file descriptor ``fd`` at /dev/null meanwhile: MeCab's dictionary compiler prints its progress
    ("reading ...", "done!") straight to fd 1, which would end up inside convert's output, and Open JTalk prints
    C-level warnings (e.g. "No phoneme." for a lone ー) straight to fd 2; upstream shows them, but they are not
    errors and would litter `gsv-edge say`. One lock: the swap is process-wide."""
    with _fd_lock:
        try:
            saved = os.dup(fd)
        except OSError:  # no such stream at all
            yield
            return
        try:
            with open(os.devnull, "wb") as null:
                os.dup2(null.fileno(), fd)
            yield
        finally:
            os.dup2(saved, fd)
            os.close(saved)
