"""The compact jieba and pypinyin dictionaries (runtime.text.zh_compact) against the unmodified packages.

The unmodified packages run in a fresh interpreter that never imports ``runtime`` (so nothing is swapped there);
this process runs the front end's own modules, with the compact tables in place. Compared: every key and value
of the five tables, and the words, tags and readings of thousands of seeded random strings (dictionary words and
phrases, any Han of the CJK blocks, punctuation, digits, Latin, spaces), of long texts, and of the zh inputs of
the conformance cases, with every pypinyin call and style the front end makes.
"""

from __future__ import annotations

import importlib.util
import io
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from gsv_edge.runtime.text import zh_compact, zh_pinyin, zh_segment
from gsv_edge.runtime.text.zh_compact import FrequencyTable, KeyIndex, TagTable, jieba_tables
from tests.conftest import REPO_ROOT, text_cases

JIEBA_DIR = Path(importlib.util.find_spec("jieba").origin).parent
PYPINYIN_DIR = Path(importlib.util.find_spec("pypinyin").origin).parent

# What the reference interpreter computes for each text (JSON in on stdin, JSON out on stdout): what the front end
# asks of jieba (posseg.lcut, cut_for_search) and of pypinyin (lazy_pinyin INITIALS / FINALS_TONE3 with neutral
# tone 5 per text and per jieba word, pinyin TONE3 with neutral tone 5 as zh_g2pw), and plain lazy_pinyin.
_OUTPUTS = """
def outputs(text, posseg, jieba, Style, lazy_pinyin, pinyin):
    pairs = [[p.word, p.flag] for p in posseg.lcut(text)]
    return {
        "pos": pairs,
        "search": list(jieba.cut_for_search(text)),
        "initials": lazy_pinyin(text, neutral_tone_with_five=True, style=Style.INITIALS),
        "finals": lazy_pinyin(text, neutral_tone_with_five=True, style=Style.FINALS_TONE3),
        "tone3": pinyin(text, neutral_tone_with_five=True, style=Style.TONE3),
        "normal": lazy_pinyin(text),
        "words": [lazy_pinyin(w, neutral_tone_with_five=True, style=Style.FINALS_TONE3) for w, _ in pairs[:40]],
    }
"""

_REFERENCE = (
    """
import json, logging, sys
import jieba, jieba.posseg as posseg
from pypinyin import Style, lazy_pinyin, pinyin
jieba.setLogLevel(logging.CRITICAL)
assert "gsv_edge.runtime" not in sys.modules and type(jieba.dt.FREQ if jieba.dt.initialized else {}) is dict
"""
    + _OUTPUTS
    + """
texts = json.loads(sys.stdin.read())
print(json.dumps([outputs(t, posseg, jieba, Style, lazy_pinyin, pinyin) for t in texts]))
"""
)


def _start(script: str, texts: list[str]) -> subprocess.Popen:
    """A fresh interpreter running ``script`` on ``texts`` (its answer is read by ``_answer``)."""
    with tempfile.TemporaryFile("w+", encoding="utf-8") as given:
        json.dump(texts, given)
        given.seek(0)
        return subprocess.Popen(
            [sys.executable, "-c", script],
            stdin=given,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=REPO_ROOT,
            encoding="utf-8",
        )


def _answer(child: subprocess.Popen) -> list[dict]:
    out, err = child.communicate()
    assert child.returncode == 0, err
    return json.loads(out)


def _ours(texts: list[str]) -> list[dict]:
    jieba_mod, posseg = zh_segment._load()
    assert isinstance(jieba_mod.dt.FREQ, FrequencyTable) and isinstance(posseg.dt.word_tag_tab, TagTable)
    import pypinyin.constants

    assert isinstance(pypinyin.constants.PHRASES_DICT, zh_compact.PhraseTable)
    scope: dict = {}
    exec(_OUTPUTS, scope)
    outputs = scope["outputs"]
    # through JSON, as the reference's (tuples become lists)
    return json.loads(
        json.dumps(
            [outputs(t, posseg, jieba_mod, zh_pinyin.Style, zh_pinyin.lazy_pinyin, zh_pinyin.pinyin) for t in texts]
        )
    )


def _assert_same(texts: list[str]) -> None:
    reference = _start(_REFERENCE, texts)  # runs beside this process's own work
    got = _ours(texts)
    expected = _answer(reference)
    assert len(got) == len(expected) == len(texts)
    for text, want, have in zip(texts, expected, got, strict=True):
        assert have == want, text


def _dictionary_words() -> tuple[list[str], list[str]]:
    words = [line.split(" ")[0] for line in (JIEBA_DIR / "dict.txt").read_text(encoding="utf-8").splitlines()]
    phrases_path = PYPINYIN_DIR / "phrases_dict.json"
    phrases = re.findall(r'^"([^"]+)": \[', phrases_path.read_text(encoding="utf-8"), re.M)
    return words, phrases


_PUNCT = list("，。！？、；：“”‘’（）《》…—·,.!?;:'\"()[]-+#&._%/@~ \n\t　") + ["\r\n", "...", "——"]
_LATIN = list("abcxyzABCXYZ0123456789") + ["AT&T", "C++", "iPhone", "3.14", "2024", "50%", "GPT", "x86_64"]


def _random_texts(count: int, seed: int, pieces: tuple[int, int] = (1, 12)) -> list[str]:
    rng = np.random.default_rng(seed)
    words, phrases = _dictionary_words()
    texts = []
    for _ in range(count):
        parts = []
        for _ in range(int(rng.integers(*pieces))):
            kind = int(rng.integers(0, 10))
            if kind < 3:
                parts.append(words[int(rng.integers(0, len(words)))])
            elif kind < 5:
                parts.append(phrases[int(rng.integers(0, len(phrases)))])
            elif kind < 7:  # Han from the basic block, extension A, a little of extension B and compatibility
                block = [(0x4E00, 0x9FFF), (0x4E00, 0x9FFF), (0x3400, 0x4DBF), (0x20000, 0x2A6DF), (0xF900, 0xFAFF)]
                lo, hi = block[int(rng.integers(0, len(block)))]
                parts.append("".join(chr(int(c)) for c in rng.integers(lo, hi + 1, int(rng.integers(1, 5)))))
            elif kind < 9:
                parts.append(_PUNCT[int(rng.integers(0, len(_PUNCT)))])
            else:
                parts.append(_LATIN[int(rng.integers(0, len(_LATIN)))])
        texts.append("".join(parts))
    return texts


def test_random_strings_match_unmodified_packages():
    _assert_same(_random_texts(3000, seed=1))


def test_long_texts_match_unmodified_packages():
    texts = _random_texts(6, seed=2, pieces=(600, 800))
    texts.append("今天的天气非常好，我们一起去公园散步，然后在湖边的咖啡馆喝一杯热茶。" * 40)
    assert all(len(t) > 1000 for t in texts)
    _assert_same(texts)


def test_conformance_zh_texts_match_unmodified_packages():
    texts = sorted(
        {c["text"] for c in text_cases() if c.get("language") in ("zh", "all_zh", "auto") or c["stage"] == "preprocess"}
        | {c["norm_text"] for c in text_cases() if c.get("language") == "zh" and c.get("norm_text")}
    )
    assert texts
    _assert_same(texts)


# every key and value of the tables, built by zh_compact beside the packages' own dicts in a fresh interpreter
_TABLES = """
import json, logging, sys
from pathlib import Path
import jieba, jieba.posseg
import pypinyin.constants as constants
from pypinyin.seg import mmseg
from gsv_edge.runtime.text import zh_compact as z
jieba.setLogLevel(logging.CRITICAL)
jieba.initialize()
freq, total, tags = z.jieba_tables(jieba.dt.get_dict_file())
phrases, prefixes = z.pypinyin_phrase_tables(Path(constants.__file__).with_name("phrases_dict.json"))
chars = z.CharTable(constants.PINYIN_DICT)
FREQ, TAGS = jieba.dt.FREQ, jieba.posseg.dt.word_tag_tab
bad = []
bad += [k for k, v in FREQ.items() if k not in freq or freq[k] != v or freq.get(k) != v]
bad += [k for k, v in TAGS.items() if k not in tags or tags[k] != v or tags.get(k, "x") != v]
bad += [k for k in FREQ if k not in TAGS and (k in tags or tags.get(k, "x") != "x")]
bad += [k for k, v in constants.PHRASES_DICT.items() if k not in phrases or phrases[k] != v]
bad += [k for k in mmseg.p_set._set if k not in prefixes]
bad += [k for k, v in constants.PINYIN_DICT.items() if k not in chars or chars[k] != v or chars.get(k) != v]
# strings the tables do not hold: every prefix-set member that is not a phrase, and some that are nowhere
others = ["", "x", "的的的的", "\\ud800", "今天天气很好啊", "AT&T "] + [k + "\\u3000" for k in list(FREQ)[:20000]]
bad += [k for k in mmseg.p_set._set if (k in phrases) != (k in constants.PHRASES_DICT)]
bad += [k for k in others if (k in freq) != (k in FREQ) or (k in tags) != (k in TAGS) or freq.get(k) != FREQ.get(k)]
bad += [k for k in others if (k in phrases) != (k in constants.PHRASES_DICT) or (k in prefixes) != (k in mmseg.p_set)]
bad += [p for p in range(0x110000) if (p in chars) != (p in constants.PINYIN_DICT)]
sizes = [len(freq), len(FREQ), total, jieba.dt.total, len(tags), len(TAGS), len(phrases), len(constants.PHRASES_DICT),
         len(prefixes), len(mmseg.p_set._set), len(chars), len(constants.PINYIN_DICT)]
print(json.dumps({"bad": bad[:20], "sizes": sizes}))
"""


def test_every_key_and_value_matches_the_packages_dicts():
    done = subprocess.run(
        [sys.executable, "-c", _TABLES], capture_output=True, text=True, cwd=REPO_ROOT, check=True, encoding="utf-8"
    )
    result = json.loads(done.stdout)
    assert result["bad"] == []
    sizes = result["sizes"]
    assert sizes[0::2] == sizes[1::2]
    assert sizes[0] == 498113 and sizes[6] == 47111  # jieba 0.42.1, pypinyin 0.55.0


# pypinyin and jieba.posseg imported (their dicts built) before the front end's modules: swapped all the same
_LATE = """
import json, logging, sys
import jieba, jieba.posseg, pypinyin
from pypinyin import Style, lazy_pinyin, pinyin
import pypinyin.constants, pypinyin.phrases_dict, pypinyin.pinyin_dict, pypinyin.converter, pypinyin.seg.mmseg
jieba.setLogLevel(logging.CRITICAL)
jieba.initialize()
from gsv_edge.runtime.text import zh_pinyin, zh_segment
from gsv_edge.runtime.text import zh_compact as z
zh_segment._load()
modules = [m for n, m in sys.modules.items() if n.startswith("pypinyin") and m is not None]
left = [n for m in modules for n, v in vars(m).items() if type(v) is dict and len(v) > 1000]
assert not left, left
assert isinstance(pypinyin.seg.mmseg.seg._prefix_set, z.PrefixSet)
assert isinstance(jieba.dt.FREQ, z.FrequencyTable) and isinstance(jieba.posseg.dt.word_tag_tab, z.TagTable)
"""


def test_packages_imported_first_are_swapped_too():
    texts = _random_texts(300, seed=3)
    script = (
        _LATE
        + _OUTPUTS
        + """
texts = json.loads(sys.stdin.read())
print(json.dumps([outputs(t, jieba.posseg, jieba, Style, lazy_pinyin, pinyin) for t in texts]))
"""
    )
    late, reference = _start(script, texts), _start(_REFERENCE, texts)
    assert _answer(late) == _answer(reference)


def _jieba_parse(lines: list[bytes]) -> tuple[dict, int, dict]:
    """jieba's own parsers (Tokenizer.gen_pfdict, POSTokenizer.load_word_tag) on the same lines."""
    jieba, posseg = zh_segment._load()
    freq, total = jieba.Tokenizer.gen_pfdict(io.BytesIO(b"\n".join(lines)))
    holder = SimpleNamespace()
    posseg.POSTokenizer.load_word_tag(holder, io.BytesIO(b"\n".join(lines)))
    return freq, total, holder.word_tag_tab


@pytest.mark.parametrize(
    "lines",
    [
        [b"ab 5 n", b"a 3 v", b"ab 7 x"],  # a repeated word: the last line wins, every line counts in total
        [b"abc 2 n", b"b 1 v"],  # prefixes a and ab: frequency 0, no tag
        [b"abc 2 n", b"ab 4 v", b"abd 0 n", b"a 1 c"],  # a prefix that is also a word (before and after)
        ["长江大桥 9 ns".encode(), "长江 8 ns".encode(), "长 1 a".encode(), "市长 3 n".encode()],
    ],
)
def test_jieba_tables_follow_jiebas_parsers(lines):
    want_freq, want_total, want_tags = _jieba_parse(lines)
    freq, total, tags = jieba_tables(lines)
    assert total == want_total and len(freq) == len(want_freq) and len(tags) == len(want_tags)
    for key, value in want_freq.items():
        assert key in freq and freq[key] == value and freq.get(key) == value
        assert tags.get(key, "x") == want_tags.get(key, "x") and (key in tags) == (key in want_tags)
    for key in ("", "z", "abcd", "长江大", "大桥"):
        assert (key in freq) == (key in want_freq) and freq.get(key, 1) == want_freq.get(key, 1)


def test_a_64_bit_collision_between_different_keys_is_refused():
    same = (7).to_bytes(8, "little")
    with pytest.raises(ValueError, match="64-bit hash"):
        KeyIndex.build(same + (1).to_bytes(8, "little"), same + (2).to_bytes(8, "little"))
    index, last = KeyIndex.build(same + (1).to_bytes(8, "little"), same + (1).to_bytes(8, "little"))
    assert len(index) == 1 and last.tolist() == [0]  # the same string twice is one key


def test_tables_are_read_only():
    freq, _, tags = jieba_tables([b"ab 5 n"])
    for table in (freq, tags):
        with pytest.raises(TypeError):
            table["ab"] = 1
        with pytest.raises(TypeError):
            list(table)
    assert freq.get(3) is None and 3 not in freq and freq.get(b"ab") is None  # only str keys
    with pytest.raises(KeyError):
        freq["zz"]
