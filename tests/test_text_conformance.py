"""The text front end against upstream GPT-SoVITS's own outputs (../shared/conformance/text).

Collected here: the symbol tables, every zh clean case (v1 and v2, g2pW off), the unknown-language cases,
the pre-segmentation of every preprocess case, the language split of every exact preprocess case and the zh
runs inside them, and the whole outcome (segments, runs, phone ids, BERT or zeros) of every exact preprocess
case, zh, en, ja and mixed. The en and ja clean cases are in test_text_en.py and test_text_ja.py.
"""

from __future__ import annotations

import json
import re

import pytest

from gsv_edge.runtime.text import phonemize
from gsv_edge.runtime.text.cleaner import clean_text
from gsv_edge.runtime.text.langsplit import split_languages
from gsv_edge.runtime.text.segment import pre_segment
from gsv_edge.runtime.text.symbols import SYMBOLS_V1, SYMBOLS_V2
from tests.conftest import require_conformance, text_case, text_case_ids, text_cases

IMPLEMENTED_CLEAN = {"zh", "xx", "ko"}  # ko/xx: upstream's unknown-language path


_cases = text_cases


_case_ids = text_case_ids


_case = text_case


def test_symbol_tables_match_upstream():
    data = json.loads((require_conformance("text") / "symbols.json").read_text(encoding="utf-8"))
    assert list(SYMBOLS_V1) == data["v1"]
    assert list(SYMBOLS_V2) == data["v2"]
    assert (len(SYMBOLS_V1), len(SYMBOLS_V2)) == (322, 732)


@pytest.mark.parametrize("case_id", _case_ids("clean", lambda c: c["language"] in IMPLEMENTED_CLEAN))
def test_clean_case(case_id):
    case = _case(case_id)
    assert case["exact"]
    got = clean_text(case["text"], case["language"], case["version"])
    assert got.norm_text == case["norm_text"]
    assert got.phones == case["phones"]
    assert got.phone_ids == case["phone_ids"]
    assert got.word2ph == case["word2ph"]


@pytest.mark.parametrize("case_id", _case_ids("preprocess", lambda c: True))
def test_pre_segmentation(case_id):
    case = _case(case_id)
    assert pre_segment(case["text"], case["language"], case["split_method"]) == case["pre_seg_texts"]


@pytest.mark.parametrize("case_id", _case_ids("preprocess", lambda c: c["exact"]))
def test_language_split_and_zh_runs(case_id):
    case = _case(case_id)
    for seg in case["segments"]:
        text = re.sub(r" {2,}", " ", seg["final_input"])
        expected = [(run["lang"], run["text"]) for run in seg["runs"]]
        assert split_languages(text, case["language"]) == expected
        for run in seg["runs"]:
            if run["lang"] == "zh":
                got = clean_text(run["text"], "zh", case["version"])
                assert (got.phone_ids, got.word2ph, got.norm_text) == (
                    run["phone_ids"],
                    run["word2ph"],
                    run["norm_text"],
                )


@pytest.mark.parametrize("case_id", _case_ids("preprocess", lambda c: c["exact"]))
def test_preprocess(case_id):
    case = _case(case_id)
    if any(run["lang"] == "ja" for seg in case["segments"] for run in seg["runs"]):
        from tests.test_text_ja import require_japanese

        require_japanese()  # Open JTalk and its dictionary (Debian: open-jtalk-mecab-naist-jdic)
    got = phonemize(case["text"], case["language"], case["version"], method=case["split_method"])
    expected = [seg for seg in case["segments"] if seg["kept"]]
    assert [s.text for s in got] == [s["text"] for s in expected]
    for seg, exp in zip(got, expected, strict=True):
        assert seg.final_text == exp["final_input"]
        assert seg.norm_text == exp["norm_text"]
        assert seg.phones == exp["phones"]
        assert seg.phone_ids == exp["phone_ids"]
        assert [r.bert for r in seg.runs] == [r["bert_features"] == "bert" for r in exp["runs"]]


def test_auto_mode_han_next_to_kana_is_a_known_difference():
    """pre-017 (not exact): upstream splits 你也喜欢 off as zh; the script rule keeps one ja run."""
    runs = split_languages("MyGO?你也喜欢まいご吗？", "auto")
    assert runs == [("en", "MyGO?"), ("ja", "你也喜欢まいご吗？")]
