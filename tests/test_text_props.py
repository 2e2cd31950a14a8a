"""Property tests: any Unicode string gives phones or a one-line TextError, never a crash or a hang.

The example count comes from a hypothesis profile chosen with GSV_TEXT_PROFILE: ``text-dev`` (default,
quick), ``text-ci`` (10,000 examples per language mode). Timing per call belongs in a benchmark, not
here.
"""

from __future__ import annotations

import os
import socket

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gsv_edge.runtime.text import TextError, clean_text, phonemize
from gsv_edge.runtime.text.symbols import SYMBOLS_V1, SYMBOLS_V2
from tests.test_text_ja import require_japanese

settings.register_profile("text-dev", max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("text-ci", max_examples=10_000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
PROFILE = settings.get_profile(os.environ.get("GSV_TEXT_PROFILE", "text-dev"))

# Mostly CJK and the characters the normaliser treats specially, plus anything at all.
_SPECIAL = "0123456789０１２.-+/:~～%℃°年月日号点个元kmsx²×÷=,，。！？、；：…—《》()“”αβ①儿一不嗯呣￥^\n\u3000 "
_WORDS = ["你好", "我们", "一个", "不是", "小孩儿"]
text_strategy = st.one_of(
    st.text(max_size=40),
    st.text(alphabet=st.sampled_from(list(_SPECIAL)), max_size=30),
    st.text(alphabet=st.characters(min_codepoint=0x4E00, max_codepoint=0x9FA5), max_size=30),
    st.lists(st.sampled_from(list(_SPECIAL) + _WORDS), max_size=15).map("".join),
)

# Japanese: kana (hiragana, katakana, half-width), kanji, the marks upstream's g2p treats specially, and
# Latin letters and digits, which it sends to Open JTalk with the kana.
_JA_SPECIAL = "ーっッゃャ々〜・「」『』％%、。！？…ｶﾞｯｺｳﾟ０１２３ＡＢＣabcXYZ0123456789.-,:\n 　"
_JA_WORDS = ["こんにちは", "今日", "東京タワー", "ニャーニャー", "ヴァイオリン", "2024年", "95％", "NiCe"]
ja_text_strategy = st.one_of(
    st.text(max_size=40),
    st.text(alphabet=st.characters(min_codepoint=0x3040, max_codepoint=0x30FF), max_size=30),
    st.text(alphabet=st.characters(min_codepoint=0xFF01, max_codepoint=0xFF9F), max_size=30),
    st.text(alphabet=st.sampled_from(list(_JA_SPECIAL)), max_size=30),
    st.lists(st.sampled_from(list(_JA_SPECIAL) + _JA_WORDS), max_size=15).map("".join),
)

# English: Latin letters, digits and the marks, signs and units that upstream's English normaliser rewrites.
_EN_SPECIAL = "abcxyzAIRE0123456789 .,;:!?-'\"’“”$£%°CFkmhLs/+×÷=()&@#…，。！？\n"
_EN_WORDS = ["Hello", "read", "record", "Dr.", "ChatGPT", "iPhone", "boss's", "xyzzy", "e.g.", "a.m.", "1st", "3/4"]
en_text_strategy = st.one_of(
    st.text(max_size=40),
    st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x17F), max_size=40),
    st.text(alphabet=st.sampled_from(list(_EN_SPECIAL)), max_size=40),
    st.lists(st.sampled_from(list(_EN_SPECIAL) + _EN_WORDS), max_size=15).map("".join),
)


def _check_cleaned(result, version):
    table = SYMBOLS_V1 if version == "v1" else SYMBOLS_V2
    assert [table[i] for i in result.phone_ids] == result.phones
    if result.word2ph is not None:
        assert sum(result.word2ph) == len(result.phones)
        assert len(result.word2ph) == len(result.norm_text)


def _one_line(error: TextError):
    message = str(error)
    assert message and "\n" not in message


@pytest.mark.parametrize("version", ["v1", "v2"])
@settings(PROFILE)
@given(text=text_strategy)
def test_zh_cleaner_total(version, text):
    try:
        result = clean_text(text, "zh", version)
    except TextError as error:
        _one_line(error)
        return
    _check_cleaned(result, version)


@pytest.mark.parametrize("version", ["v1", "v2"])
@settings(PROFILE)
@given(text=en_text_strategy)
def test_en_cleaner_total(version, text):
    try:
        result = clean_text(text, "en", version)
    except TextError as error:
        _one_line(error)
        return
    _check_cleaned(result, version)
    assert result.phones, "upstream pads short English results with a comma"


def _check_phonemize(text, mode):
    """Segments with phones whose runs are all valid, or one one-line TextError."""
    try:
        segments = phonemize(text, mode, "v2")
    except TextError as error:
        _one_line(error)
        return
    for seg in segments:
        assert seg.phone_ids and seg.norm_text
        for run in seg.runs:
            _check_cleaned(run, "v2")


@pytest.mark.parametrize("mode", ["en", "auto", "zh"])
@settings(PROFILE)
@given(text=en_text_strategy)
def test_phonemize_en_total(mode, text):
    _check_phonemize(text, mode)


@pytest.mark.parametrize("mode", ["zh", "all_zh", "auto", "ja", "all_ja", "en"])
@settings(PROFILE)
@given(text=text_strategy)
def test_phonemize_total(mode, text):
    _check_phonemize(text, mode)


@pytest.mark.parametrize("version", ["v1", "v2"])
@settings(PROFILE)
@given(text=ja_text_strategy)
def test_ja_cleaner_total(version, text):
    require_japanese()  # without Open JTalk every call would be a TextError, which proves nothing
    try:
        result = clean_text(text, "ja", version)
    except TextError as error:
        _one_line(error)
        return
    _check_cleaned(result, version)


@pytest.mark.parametrize("mode", ["ja", "all_ja", "auto"])
@settings(PROFILE)
@given(text=ja_text_strategy)
def test_phonemize_ja_total(mode, text):
    require_japanese()
    _check_phonemize(text, mode)


@pytest.mark.parametrize(
    "text",
    [
        "",
        " ",
        "\n\n",
        "。。。",
        "😀😀",
        "\u200f\u05e9\u05dc\u05d5\u05dd",
        "\x00\x07\x1b",
        "好" * 10_000,
        "1" * 10_000,
        "1" * 3000 + "个",
        "٣٤٥个",
        "兙",
        "-" * 5000,
        "あ" * 10_000,
        "ー" * 3000,
        "ｶﾞ" * 3000,
    ],
)
def test_awkward_inputs(text):
    for mode in ("zh", "auto", "ja", "all_ja", "en"):
        try:
            phonemize(text, mode)
        except TextError as error:
            _one_line(error)


def test_unsupported_languages_give_one_line_errors():
    for language in ("ko", "yue"):
        with pytest.raises(TextError) as info:
            clean_text("안녕", language, "v2")
        _one_line(info.value)
    with pytest.raises(TextError):
        phonemize("你好", "klingon")
    assert issubclass(TextError, ValueError)


def test_front_end_runs_with_network_blocked(monkeypatch):
    def refuse(*args, **kwargs):
        raise OSError("network access attempted by the text front end")

    monkeypatch.setattr(socket, "socket", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    segments = phonemize("今天是2024年3月15日，我们去公园散步吧。", "zh", "v1")
    assert segments and segments[0].phone_ids
    assert clean_text("一会儿去哪儿玩儿？", "zh", "v2").word2ph


def test_front_end_loads_and_runs_with_network_blocked_from_the_start():
    """A fresh interpreter with sockets disabled before anything is imported (jieba, pypinyin, tables)."""
    import subprocess
    import sys

    from tests.conftest import REPO_ROOT

    script = (
        "import socket\n"
        "def refuse(*a, **k):\n"
        "    raise OSError('network access attempted')\n"
        "socket.socket = socket.create_connection = socket.getaddrinfo = refuse\n"
        "from runtime.text import phonemize\n"
        "segs = phonemize('小孩儿在花儿旁边找女儿。温度在-5℃到10℃之间。', 'all_zh', 'v2')\n"
        "assert segs and all(s.phone_ids for s in segs)\n"
        "print('ok')\n"
    )
    command = [sys.executable, "-c", script]
    out = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


def test_hanzi_without_a_reading_is_a_one_line_error():
    # found by the 10,000-example run: pypinyin has no reading for 兡, which crashed tone sandhi
    from gsv_edge.runtime.text import TextError, clean_text

    with pytest.raises(TextError, match="no reading known"):
        clean_text("兡仄", "zh", "v2")
