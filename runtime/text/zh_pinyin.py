"""pypinyin with its dictionaries compact: import ``lazy_pinyin``/``pinyin``/``Style`` from here, not pypinyin.

pypinyin 0.55.0 loads its dictionaries when first imported: ``PINYIN_DICT`` (41,923 code points) and
``PHRASES_DICT`` (47,111 phrases, each a list of lists of strings), each copied once more in
``pypinyin.constants``, and the set of 86,926 phrase prefixes that ``pypinyin.seg.mmseg`` trains for its
segmenter: ~40 MB resident. :func:`_install` imports pypinyin with its own switches ``PYPINYIN_NO_PHRASES`` (no
phrases loaded, an empty prefix set trained) and ``PYPINYIN_NO_DICT_COPY`` (no copies), set only for that import,
then puts the read-only tables of :mod:`runtime.text.zh_compact` where pypinyin looks: the phrases and prefixes
scanned from the same phrases_dict.json (~2 MB), and the code points taken over from the dict pypinyin loaded
(~0.5 MB; that dict is then dropped). Every module attribute under ``pypinyin`` that held one of the original
dicts (``constants``, ``converter``, ``core``, ``seg.mmseg``, ``seg.simpleseg`` hold ``PHRASES_DICT`` and
``PINYIN_DICT``) and mmseg's prefix set are swapped, so pypinyin's own code (``core``, ``converter``,
``seg.simpleseg``, ``seg.mmseg``) runs unchanged and its readings are pypinyin's; tests/test_text_zh_compact.py
checks every dictionary key and whole conversions against an unmodified pypinyin in a separate interpreter.

If pypinyin was imported before this module (its dictionaries already built), the swap happens all the same
and the built dicts are dropped; only the memory they took is not saved at the peak.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

_SWITCHES = ("PYPINYIN_NO_PHRASES", "PYPINYIN_NO_DICT_COPY")


def _swap(pairs: list[tuple[dict, object]]) -> None:
    """Every attribute of a pypinyin module that is one of the original dicts becomes its stand-in."""
    for name, module in list(sys.modules.items()):
        if module is not None and (name == "pypinyin" or name.startswith("pypinyin.")):
            for attr, held in list(vars(module).items()):
                for original, stand_in in pairs:
                    if held is original:
                        setattr(module, attr, stand_in)


def _install() -> None:
    fresh = "pypinyin" not in sys.modules
    if fresh:
        saved = {name: os.environ.get(name) for name in _SWITCHES}
        os.environ.update(dict.fromkeys(_SWITCHES, "1"))
        try:
            import pypinyin  # noqa: F401
        finally:
            for name, value in saved.items():
                if value is None:
                    del os.environ[name]
                else:
                    os.environ[name] = value
    import pypinyin.constants
    import pypinyin.seg.mmseg

    from gsv_edge.runtime.memory import trim_heap

    from .zh_compact import CharTable, pypinyin_phrase_tables

    constants = pypinyin.constants
    phrases, prefixes = pypinyin_phrase_tables(Path(pypinyin.__file__).with_name("phrases_dict.json"))
    chars = CharTable(constants.PINYIN_DICT)
    # (original dict, its stand-in): the constants, and the loaders' own module attributes where imported
    pairs = [(constants.PHRASES_DICT, phrases), (constants.PINYIN_DICT, chars)]
    for name, attr, stand_in in (
        ("pypinyin.phrases_dict", "phrases_dict", phrases),
        ("pypinyin.pinyin_dict", "pinyin_dict", chars),
    ):
        if name in sys.modules:
            pairs.append((getattr(sys.modules[name], attr), stand_in))
    _swap(pairs)
    del pairs
    mmseg = pypinyin.seg.mmseg
    mmseg.p_set = mmseg.seg._prefix_set = prefixes
    trim_heap()


_install()

# after the swap, for the readers of this module
from pypinyin import Style, lazy_pinyin, pinyin  # noqa: E402
from pypinyin.contrib.tone_convert import to_finals_tone3, to_initials  # noqa: E402

__all__ = ["Style", "lazy_pinyin", "pinyin", "to_finals_tone3", "to_initials"]
