"""The Japanese cleaner against upstream GPT-SoVITS's own outputs (../shared/conformance/text), offline.

Needs pyopenjtalk 0.4.1 and the Open JTalk dictionary 1.11 (Debian: open-jtalk-mecab-naist-jdic, or a
folder named by OPEN_JTALK_DICT_DIR). Without them these tests skip, and fail under CI=true.

Without upstream's user dictionary (the phonemize command outside a pack) every ja clean case must match exactly,
except KNOWN_DIFFERENCES, which must still differ (so a fix shows up as a failure here and the entry gets removed).
With it (compiled as convert compiles it for a pack) every case must match, KNOWN_DIFFERENCES included.
"""

from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import sys

import pytest

from gsv_edge.runtime.text import TextError, clean_text, ja_openjtalk, phonemize
from gsv_edge.runtime.text.data import JA_USER_DICTIONARY, TextData, upstream_copy
from gsv_edge.runtime.text.japanese import g2p, text_normalize
from tests.conftest import REPO_ROOT, missing, text_case, text_case_ids, text_cases

INSTALL = (
    "pip install pyopenjtalk==0.4.1 and apt-get install open-jtalk-mecab-naist-jdic "
    "(or point OPEN_JTALK_DICT_DIR at an Open JTalk 1.11 UTF-8 dictionary)"
)
# Upstream loads ja_userdic/userdict.csv (134,200 entries, mostly katakana readings of English words); packs
# carry it compiled, but without it Open JTalk alone reads these words differently.
_USERDIC = "upstream's ja_userdic/userdict.csv (not used outside a pack) "
KNOWN_DIFFERENCES = {
    "ja-v2-027": _USERDIC + "reads Hello/NiCe as ハロー/ナイス; Open JTalk spells the letters out",
    "ja-v1-027": _USERDIC + "reads Hello/NiCe as ハロー/ナイス; Open JTalk spells the letters out",
    "ja-v2-028": _USERDIC + "reads tokyotower as one word; Open JTalk spells the letters out",
    "ja-v2-029": _USERDIC + "reads ai/iphone as words; Open JTalk spells the letters out",
    "ja-v2-030": _USERDIC + "gives ａｂｃ another accent (sh i ] i, not sh i i)",
    "ja-v2-048": _USERDIC + "has 主殿 as アルジドノ; Open JTalk reads シュデン",
    "ja-v2-057": _USERDIC + "reads ｊｒ as ジェイアール; Open JTalk spells the letters out",
}


def require_japanese() -> None:
    """Skip (fail under CI=true) unless pyopenjtalk and the Open JTalk dictionary are installed."""
    message = None
    if importlib.util.find_spec("pyopenjtalk") is None:
        message = f"Japanese front end unavailable, pyopenjtalk is not installed: {INSTALL}"
    else:
        try:
            ja_openjtalk.dictionary_dir()
        except TextError as error:
            message = f"Japanese front end unavailable, {error}"
    if message:
        missing(message)


def require_user_dictionary_source():
    """Upstream's userdict.csv from the installed gpt-sovits-cpufast data files (skip, or fail under CI=true)."""
    csv = upstream_copy(JA_USER_DICTIONARY)
    if csv is None:
        missing(f"upstream's ja_userdic/userdict.csv is not installed: pip install {JA_USER_DICTIONARY.install}")
    return csv


@pytest.fixture(scope="module")
def user_dictionary(tmp_path_factory):
    """Upstream's user dictionary compiled as convert compiles it into a pack, as the front end's data."""
    require_japanese()
    compiled = tmp_path_factory.mktemp("ja") / "user.dict"
    ja_openjtalk.compile_user_dictionary(require_user_dictionary_source(), compiled)
    return TextData({JA_USER_DICTIONARY.role: compiled})


_cases = text_cases


_case_ids = text_case_ids


_case = text_case


def _ja_runs(case: dict) -> list[dict]:
    return [run for seg in case["segments"] for run in seg["runs"] if run["lang"] == "ja"]


def _as_case(got) -> tuple:
    return got.phones, got.phone_ids, got.word2ph, got.norm_text


@pytest.fixture
def openjtalk():
    require_japanese()


# Tests that run Open JTalk ask for the fixture; the rest run anywhere.
needs_openjtalk = pytest.mark.usefixtures("openjtalk")


def test_every_ja_clean_case_is_exact_or_a_known_difference():
    ja = _case_ids("clean", lambda c: c["language"] == "ja")
    if ja:
        assert len(ja) == 72
        assert set(KNOWN_DIFFERENCES) <= set(ja)


@needs_openjtalk
@pytest.mark.parametrize("case_id", _case_ids("clean", lambda c: c["language"] == "ja"))
def test_clean_case(case_id):
    case = _case(case_id)
    assert case["exact"]
    got = clean_text(case["text"], "ja", case["version"])
    expected = (case["phones"], case["phone_ids"], case["word2ph"], case["norm_text"])
    if case_id in KNOWN_DIFFERENCES:
        assert got.norm_text == case["norm_text"]
        assert _as_case(got) != expected, f"{case_id} now matches upstream: remove it from KNOWN_DIFFERENCES"
    else:
        assert _as_case(got) == expected


@pytest.mark.parametrize("case_id", _case_ids("clean", lambda c: c["language"] == "ja"))
def test_clean_case_with_upstreams_user_dictionary(case_id, user_dictionary):
    case = _case(case_id)
    got = clean_text(case["text"], "ja", case["version"], data=user_dictionary)
    assert _as_case(got) == (case["phones"], case["phone_ids"], case["word2ph"], case["norm_text"])


# English words inside Japanese that upstream reads through its user dictionary (userdict.csv at 48b1a01). The
# expected phones follow from upstream's entries, not from this code: the text is lower-cased first (upstream's
# japanese.g2p), Open JTalk turns ASCII into full-width, and the entries
#   ｏｋ       -> オーケー, accent 0/4 (flat: the pitch rises after the first mora and does not fall)
#   ｙｏｕｔｕｂｅ -> ユーチューブ, accent 3/5 (rises after the first mora, falls after the third, チュ)
# give o [ o k e e and y u [ u ch u ] u b u (a long vowel repeats its vowel). です after a flat noun takes the
# fall after で, as upstream's own case ja-v2-048 shows for こちらです (k o [ ch i r a d e ] s u). Open JTalk's
# dictionary alone accents "ok" on its first mora (o ] o k e e) and spells "youtube" letter by letter.
ENGLISH_IN_JAPANESE = {
    "OKです": ["o", "[", "o", "k", "e", "e", "d", "e", "]", "s", "u"],
    "YouTube": ["y", "u", "[", "u", "ch", "u", "]", "u", "b", "u"],
}


@pytest.mark.parametrize("text", sorted(ENGLISH_IN_JAPANESE))
def test_english_words_in_japanese_read_as_upstream_reads_them(text, user_dictionary):
    assert clean_text(text, "ja", "v2", data=user_dictionary).phones == ENGLISH_IN_JAPANESE[text]
    assert clean_text(text, "ja", "v2").phones != ENGLISH_IN_JAPANESE[text]  # what the dictionary changes


@needs_openjtalk
@pytest.mark.parametrize("case_id", _case_ids("preprocess", lambda c: c["exact"] and _ja_runs(c)))
def test_ja_runs_of_preprocess_cases(case_id):
    case = _case(case_id)
    for run in _ja_runs(case):
        got = clean_text(run["text"], "ja", case["version"])
        assert _as_case(got) == (run["phones"], run["phone_ids"], run["word2ph"], run["norm_text"])


def _all_ja(case: dict) -> bool:
    return all(run["lang"] == "ja" for seg in case["segments"] for run in seg["runs"])


@needs_openjtalk
@pytest.mark.parametrize("case_id", _case_ids("preprocess", lambda c: c["exact"] and _all_ja(c)))
def test_preprocess_ja(case_id):
    case = _case(case_id)
    got = phonemize(case["text"], case["language"], case["version"], method=case["split_method"])
    expected = [seg for seg in case["segments"] if seg["kept"]]
    assert [s.text for s in got] == [s["text"] for s in expected]
    for seg, exp in zip(got, expected, strict=True):
        assert (seg.final_text, seg.norm_text) == (exp["final_input"], exp["norm_text"])
        assert (seg.phones, seg.phone_ids) == (exp["phones"], exp["phone_ids"])
        assert not any(r.bert for r in seg.runs)


# Behaviour pinned without the conformance data (facts from upstream japanese.py and the cases).


def test_normalize_collapses_repeated_punctuation_only():
    assert text_normalize("え……本当？？") == "え…本当？？"  # full-width ？ is not in the cleaner's set
    assert text_normalize("そう...!?") == "そう."


def test_marks_without_japanese_need_no_open_jtalk():
    assert g2p("、。！？：；，·\n") == [",", ".", "!", "?", ",", ",", ",", ",", "."]
    assert g2p("「 」%") == ["「", "」", "%"]  # the space is dropped; the cleaner maps these to UNK


@needs_openjtalk
def test_prosody_marks_and_pitch():
    assert clean_text("はい。", "ja", "v2").phones == ["h", "a", "]", "i", "."]
    assert clean_text("はい。", "ja", "v1").phones == ["h", "a", "UNK", "i", "."]  # v1 has no [ ]
    assert "UNK" in clean_text("東京タワーに行きましょう！", "ja", "v2").phones  # the # border


@needs_openjtalk
def test_full_width_percent_is_read_half_width_is_not():
    ninety_five = ["ky", "u", "]", "u", "j", "u", "u", "UNK", "g", "o"]
    assert clean_text("95％", "ja", "v2").phones == ninety_five + ["[", "p", "a", "a", "s", "e", "]", "N", "t", "o"]
    assert clean_text("95%", "ja", "v2").phones == ninety_five + ["UNK"]


@needs_openjtalk
def test_overlong_run_is_a_one_line_error_not_a_crash():
    # pyopenjtalk 0.4.1 converts into a fixed 8 KiB buffer; a longer run would overflow it
    assert clean_text("あ" * 2730, "ja", "v2").phones
    with pytest.raises(TextError, match="split the text at punctuation"):
        clean_text("あ" * 2731, "ja", "v2")
    assert clean_text("あ、" * 3000, "ja", "v2").phones  # punctuation splits the runs


def test_missing_dictionary_names_the_package_and_variable(monkeypatch, tmp_path):
    monkeypatch.setenv(ja_openjtalk.DICT_ENV, str(tmp_path))
    ja_openjtalk._engine.cache_clear()
    try:
        with pytest.raises(TextError) as info:
            clean_text("こんにちは", "ja", "v2")
    finally:
        ja_openjtalk._engine.cache_clear()
    message = str(info.value)
    assert "\n" not in message
    assert "open-jtalk-mecab-naist-jdic" in message and "OPEN_JTALK_DICT_DIR" in message


@needs_openjtalk
def test_japanese_runs_with_network_blocked(monkeypatch):
    def refuse(*args, **kwargs):
        raise OSError("network access attempted by the Japanese front end")

    monkeypatch.setattr(socket, "socket", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    ja_openjtalk._engine.cache_clear()  # build Open JTalk again under the block
    assert clean_text("今日はいい天気ですね。", "ja", "v2").phone_ids
    assert phonemize("ねえ、知ってる？最近、天文学を勉強してるんだ。", "all_ja", "v2")


_BLOCKED = (
    "import socket, urllib.request\n"
    "def refuse(*a, **k):\n"
    "    raise OSError('network access attempted')\n"
    "socket.socket = socket.create_connection = socket.getaddrinfo = refuse\n"
    "urllib.request.urlopen = refuse\n"
)


def _run_blocked(script: str, env: dict) -> subprocess.CompletedProcess:
    command = [sys.executable, "-c", _BLOCKED + script]
    return subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, timeout=120, env=env)


@needs_openjtalk
def test_fresh_interpreter_with_network_blocked_loads_nothing_remote():
    """Sockets (and urlopen, pyopenjtalk's download call) disabled before anything is imported."""
    script = (
        "import os\n"
        "from runtime.text import phonemize\n"
        "segs = phonemize('吾輩は猫である。名前はまだ無い。', 'ja', 'v2')\n"
        "assert segs and all(s.phone_ids for s in segs)\n"
        # our code has pointed pyopenjtalk at the dictionary (its global instance would download otherwise)
        "assert os.path.isfile(os.path.join(os.environ['OPEN_JTALK_DICT_DIR'], 'sys.dic'))\n"
        "import pyopenjtalk\n"
        "assert pyopenjtalk.g2p('こんにちは') == 'k o N n i ch i w a'\n"
        "print('ok')\n"
    )
    out = _run_blocked(script, dict(os.environ))
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


def test_fresh_interpreter_without_dictionary_fails_cleanly(tmp_path):
    env = dict(os.environ, **{ja_openjtalk.DICT_ENV: str(tmp_path / "absent")})
    script = (
        "from runtime.text import TextError, clean_text\n"
        "try:\n"
        "    clean_text('こんにちは', 'ja', 'v2')\n"
        "except TextError as error:\n"
        "    print(error)\n"
    )
    out = _run_blocked(script, env)
    assert out.returncode == 0, out.stderr
    assert "open-jtalk-mecab-naist-jdic" in out.stdout and "network" not in out.stdout + out.stderr
