"""g2pW for Chinese polyphones (upstream chinese2.py's g2pW-on path) on a synthetic G2PWModel folder.

No real g2pW weights exist here: the folder holds upstream's file layout and a tiny ONNX graph with the real
model's inputs and output whose answers the tests steer (tests/g2pw_fixture.py). What is checked is everything
around the model: which characters it is asked about, what it is fed, how its answer becomes pinyin, and what
the front end does with the readings afterwards.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import pytest
from pypinyin import Style, pinyin

from gsv_edge.runtime.text import TextError, chinese, clean_text, phonemize, zh_normalize
from gsv_edge.runtime.text.zh_g2pw import G2PW
from tests.conftest import REPO_ROOT, require_conformance
from tests.g2pw_fixture import write_folder


@pytest.fixture(scope="module")
def g2pw_dir(tmp_path_factory):
    return write_folder(tmp_path_factory.mktemp("g2pw") / "G2PWModel")


@pytest.fixture(scope="module")
def reader(g2pw_dir):
    return G2PW(g2pw_dir)


def zh(text: str, g2pw=None, version: str = "v2") -> tuple[list[str], list[int]]:
    return chinese.g2p(zh_normalize.text_normalize(text), version, g2pw)


def test_the_model_chooses_among_the_characters_own_readings(reader):
    # 長 before 城: context makes chang2; 長 at the end: zhang3, although the model scores ㄒㄧㄥ2 (xing2, a reading
    # 長 cannot take) highest; the phoneme mask must remove it
    assert reader.readings(["长城很长."]) == [["chang2", "cheng2", "hen3", "zhang3", "."]]
    assert reader.predictions(["长城很长.", "银行行长."]) == ["chang2", "zhang3", "xing2", "hang2", "zhang3"]


def test_without_the_mask_the_model_may_pick_any_label(g2pw_dir, tmp_path):
    folder = shutil.copytree(g2pw_dir, tmp_path / "G2PWModel")
    config = folder / "config.py"
    config.write_text(config.read_text(encoding="utf-8").replace("use_mask = True", "use_mask = False"), "utf-8")
    assert G2PW(folder).readings(["长城很长."])[0][3] == "xing2"


def test_config_py_is_parsed_not_run(g2pw_dir, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert G2PW(g2pw_dir).readings(["重要."]) == [["chong2", "yao4", "."]]
    assert not (tmp_path / "EXECUTED").exists()


def test_other_characters_follow_pypinyin_and_the_monophonic_table(reader):
    got = reader.readings(["你好.", "似的.", "一个."])
    # 好 takes MONOPHONIC_CHARS.txt's hao4 (pypinyin says hao3); 似 is on upstream's ignore list, 一 is never asked
    assert got == [["ni3", "hao4", "."], ["shi4", "de5", "."], ["yi2", "ge4", "."]]
    assert [p[0] for p in pinyin("似的一个", style=Style.TONE3, neutral_tone_with_five=True)] == got[1][:2] + got[2][:2]


def test_batches_give_each_sentence_its_own_answers(reader):
    sentences = ["银行行长.", "长城很长.", "重要.", "你好."]
    # two texts with one polyphone each run as one padded batch; a text with several, with its tokens given once
    assert reader.readings(sentences) == [reader.readings([s])[0] for s in sentences]
    assert reader.readings(["长城.", "重要."]) == [["chang2", "cheng2", "."], ["chong2", "yao4", "."]]


def test_long_sentences_are_cut_to_512_tokens_around_each_polyphone(reader):
    sentence = "长" + "很" * 600 + "长城"
    readings = reader.readings([sentence])[0]
    assert len(readings) == len(sentence)
    assert readings[0] == "zhang3" and readings[-2] == "chang2"


def test_g2p_takes_the_models_readings_and_keeps_word2ph(reader):
    with_model, without = zh("银行行长。", reader), zh("银行行长。")
    assert with_model[0][:4] == ["y", "in2", "x", "ing2"]  # the model's xing2 where pypinyin reads hang2
    assert without[0][:4] == ["y", "in2", "h", "ang2"]
    assert with_model[1] == without[1] == [2, 2, 2, 2, 1]


def test_tone_sandhi_and_erhua_apply_to_the_models_readings(reader):
    # the model reads 長 zhang3 before 遠 (pypinyin: chang2); third-tone sandhi then makes it zhang2
    assert zh("长远", reader)[0] == ["zh", "ang2", "y", "van3"]
    assert zh("长远")[0] == ["ch", "ang2", "y", "van3"]
    assert zh("小院儿", reader)[0][-2:] == ["EE", "er4"]  # erhua: 儿 takes the tone of 院


def test_the_polyphonic_dictionary_overrides_words_then_characters(g2pw_dir, tmp_path):
    entries = "长远: ['chang2', 'yuan3']\n行: ['hang2']\n"
    folder = shutil.copytree(g2pw_dir, tmp_path / "G2PWModel")
    (folder / "polyphonic.rep").write_text(entries, "utf-8")
    reader = G2PW(folder)
    assert reader.has_dictionary
    assert zh("长远", reader)[0] == ["ch", "ang2", "y", "van3"]  # the whole word's entry
    assert zh("银行行长。", reader)[0][:4] == ["y", "in2", "h", "ang2"]  # a character's entry inside 银行
    explicit = tmp_path / "mine.rep"
    explicit.write_text("长远: ['zhang4', 'yuan3']\n", "utf-8")
    assert zh("长远", G2PW(g2pw_dir, dictionaries=[folder / "polyphonic.rep", explicit]))[0][:2] == ["zh", "ang4"]
    assert not G2PW(g2pw_dir).has_dictionary


def test_v1_and_the_default_path_do_not_use_g2pw(reader):
    assert zh("银行行长。", reader, "v1") == zh("银行行长。", None, "v1")
    text = "银行的行长说：重庆很远。Hello 你好！"
    assert phonemize(text, "auto", g2pw=None) == phonemize(text, "auto")
    assert clean_text("长远", "zh", "v2", None) == clean_text("长远", "zh", "v2")
    model = phonemize(text, "auto", g2pw=reader)
    assert [s.word2ph for s in model] == [s.word2ph for s in phonemize(text, "auto")]


@pytest.mark.parametrize(
    "missing", ["POLYPHONIC_CHARS.txt", "MONOPHONIC_CHARS.txt", "bopomofo_to_pinyin_wo_tune_dict.json", "config.py",
                "g2pW.onnx", "tokenizer.json"],
)  # fmt: skip
def test_a_missing_file_is_named(g2pw_dir, tmp_path, missing):
    folder = shutil.copytree(g2pw_dir, tmp_path / "G2PWModel")
    (folder / missing).unlink()
    with pytest.raises(TextError, match=missing.replace(".", r"\.")) as err:
        G2PW(folder)
    assert "\n" not in str(err.value)
    if missing == "tokenizer.json":  # the tokenizer can come from elsewhere
        assert G2PW(folder, tokenizer=g2pw_dir / "tokenizer.json").readings(["重要."])[0][0] == "chong2"


def test_broken_files_and_folders_are_one_line_errors(g2pw_dir, tmp_path):
    with pytest.raises(TextError, match="not a folder"):
        G2PW(tmp_path / "nothing")
    with pytest.raises(TextError, match="polyphonic dictionary"):
        G2PW(g2pw_dir, dictionaries=[tmp_path / "missing.rep"])
    folder = shutil.copytree(g2pw_dir, tmp_path / "G2PWModel")
    (folder / "POLYPHONIC_CHARS.txt").write_text("行 ㄒㄧㄥ2\n", "utf-8")  # a space, not a tab
    with pytest.raises(TextError, match="POLYPHONIC_CHARS.txt line 1"):
        G2PW(folder).readings(["重要."])
    (folder / "polyphonic.rep").write_text("长远: __import__('os')\n", "utf-8")
    shutil.copyfile(g2pw_dir / "POLYPHONIC_CHARS.txt", folder / "POLYPHONIC_CHARS.txt")
    with pytest.raises(TextError, match="polyphonic.rep line 1"):
        G2PW(folder).readings(["重要."])


def gsv(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "gsv_edge.edge.cli", *map(str, args)], capture_output=True, text=True,
                          cwd=REPO_ROOT)  # fmt: skip


def test_phonemize_cli_with_g2pw(g2pw_dir, tmp_path):
    result = gsv("phonemize", "银行行长。", "--lang", "zh", "--json", "--g2pw", g2pw_dir)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["segments"][0]["phones"][:4] == ["y", "in2", "x", "ing2"]
    bare = shutil.copytree(g2pw_dir, tmp_path / "G2PWModel")
    (bare / "tokenizer.json").unlink()
    result = gsv("phonemize", "银行行长。", "--lang", "zh", "--g2pw", bare, "--bert-tokenizer", g2pw_dir)
    assert result.returncode == 0 and "x ing2" in result.stdout, result.stderr
    for args in (("--g2pw", bare), ("--g2pw", tmp_path / "none"), ("--bert-tokenizer", g2pw_dir)):
        result = gsv("phonemize", "银行行长。", "--lang", "zh", *args)
        assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1, result.stderr
        assert result.stderr.startswith("error: ") and "Traceback" not in result.stderr


def test_convert_packs_an_int8_g2pw_that_the_runtime_uses(g2pw_dir, tmp_path):
    from gsv_edge.convert.convert import ConvertOptions, convert
    from gsv_edge.edge.doctor import diagnose
    from gsv_edge.runtime.errors import GsvEdgeError
    from gsv_edge.runtime.pack import read_manifest
    from gsv_edge.runtime.synthesizer import Synthesizer

    source = require_conformance("v2-tiny")
    dictionary = tmp_path / "polyphonic-fix.rep"
    dictionary.write_text("长远: ['chang2', 'yuan3']\n", "utf-8")
    options = ConvertOptions(source / "gpt.ckpt", source / "sovits.pth", tmp_path / "pack", t2s_format="fp32",
                             sovits_format="fp32", g2pw=g2pw_dir, g2pw_dicts=[dictionary])  # fmt: skip
    pack, report = convert(options)
    manifest = read_manifest(pack)  # every g2pw/ file is hashed and checked
    assert manifest.tables["g2pw"] == "g2pw"
    assert "g2pw/g2pW.int8.onnx" in manifest.sha256 and "g2pw/polyphonic.rep" in manifest.sha256
    assert not (pack / "g2pw" / "g2pW.onnx").exists()
    check = [c for c in report.checks if c.graph == "g2pw"][0]
    assert check.precision == "int8" and check.metrics["readings_agreement"] == 1.0
    shipped = G2PW(pack / "g2pw")
    assert shipped.model.name == "g2pW.int8.onnx" and shipped.has_dictionary
    synth = Synthesizer.load(pack)
    phones = synth.phonemize("银行行长很长远。", "zh")[0].phones
    assert phones[:4] == ["y", "in2", "x", "ing2"] and phones[-5:-1] == ["ch", "ang2", "y", "van3"]
    assert "g2pw" in diagnose(pack).to_text()

    v1 = require_conformance("v1-tiny")
    with pytest.raises(GsvEdgeError, match="v1"):
        convert(ConvertOptions(v1 / "gpt.ckpt", v1 / "sovits.pth", tmp_path / "v1", g2pw=g2pw_dir))
    with pytest.raises(GsvEdgeError, match="config.py"):
        broken = shutil.copytree(g2pw_dir, tmp_path / "broken")
        (broken / "config.py").unlink()
        convert(ConvertOptions(source / "gpt.ckpt", source / "sovits.pth", tmp_path / "b", g2pw=broken))
    assert not (tmp_path / "v1").exists() and not (tmp_path / "b").exists()
