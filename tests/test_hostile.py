"""Careless and hostile input: damaged packs, voices and cache records, odd clips and options. Each is a one-line
error with exit code 2 (through the real command, as a user meets it) or a refusal from the library, never a
traceback, never silence played as if nothing were wrong."""

from __future__ import annotations

import json
import os
import shutil

import numpy as np
import pytest
import soundfile as sf

from gsv_edge.runtime.errors import GsvEdgeError
from gsv_edge.runtime.pack import read_manifest
from gsv_edge.runtime.text.segment import MAX_SEGMENT, pre_segment
from gsv_edge.runtime.voices import check_name, read_reference_clip
from tests.test_cli import assert_one_line_error, gsv


@pytest.fixture(scope="module")
def voiced(runtime_pack, reference_clip, tmp_path_factory):
    """A copy of the runtime pack with a voice 'v' enrolled through the command line."""
    pack = tmp_path_factory.mktemp("hostile") / "pack"
    shutil.copytree(runtime_pack, pack)
    added = gsv("voice", "add", "v", "--pack", pack, "--ref", reference_clip, "--text", "今天天气很好", "--lang", "zh")
    assert added.returncode == 0, added.stderr
    return pack


def _say(pack, *extra, voices=None):
    args = ["say", "你好。", "--pack", pack, "--voice", "v", "--lang", "zh", "-o", pack.parent / "out.wav", *extra]
    return gsv(*args, *(["--voices", voices] if voices else []))


def _voice_copy(pack, tmp_path):
    voices = tmp_path / "voices"
    shutil.copytree(pack / "voices", voices)
    return voices


# --- voices ---------------------------------------------------------------------------------------------------


def test_a_voice_name_with_a_trailing_newline_is_refused():
    with pytest.raises(GsvEdgeError, match="not allowed"):
        check_name("alice\n")
    assert check_name("alice") == "alice"


def _rewrite(npz, **changes):
    """The voice file again, with some of its arrays replaced (None: dropped)."""
    with np.load(npz) as arrays:
        kept = {k: arrays[k] for k in arrays.files}
    kept = {k: v for k, v in {**kept, **changes}.items() if v is not None}
    np.savez(npz.with_suffix(""), **kept)


def _metadata(npz) -> dict:
    with np.load(npz) as arrays:
        return json.loads(arrays["metadata"].tobytes())


def _as_bytes(text: str) -> np.ndarray:
    return np.frombuffer(text.encode(), np.uint8)


@pytest.mark.parametrize(
    "damage",
    ["truncated", "empty", "pickled", "not json", "missing keys", "wrong type", "no metadata", "metadata as text"],
)
def test_a_damaged_voice_file_is_one_line(voiced, tmp_path, damage):
    voices = _voice_copy(voiced, tmp_path)
    npz = voices / "v.npz"
    if damage == "truncated":
        npz.write_bytes(npz.read_bytes()[:200])
    elif damage == "empty":
        npz.write_bytes(b"")
    elif damage == "pickled":
        _rewrite(npz, ge=np.array([{"a": 1}], dtype=object))
    elif damage == "not json":
        _rewrite(npz, metadata=_as_bytes("{not json"))
    elif damage == "missing keys":
        _rewrite(npz, metadata=_as_bytes(json.dumps({"name": "v"})))
    elif damage == "wrong type":
        _rewrite(npz, metadata=_as_bytes(json.dumps({**_metadata(npz), "text": 5})))
    elif damage == "no metadata":
        _rewrite(npz, metadata=None)
    else:
        _rewrite(npz, metadata=np.array(json.dumps(_metadata(npz))))
    assert_one_line_error(_say(voiced, voices=voices), "voice 'v'", "damaged")
    assert not (voiced.parent / "out.wav").exists()


@pytest.mark.parametrize(
    ("field", "value", "fragment"),
    [
        ("prompt_tokens", np.array([5000, 1], np.int64), "prompt tokens"),
        ("prompt_tokens", np.zeros(200_000, np.int64), "prompt tokens"),
        ("ge", np.zeros(7, np.float32), "speaker vector"),
        ("ge", np.full(512, np.nan, np.float32), "speaker vector"),
        ("phone_ids", np.array([9999] * 10, np.int64), "phone ids"),
        ("bert", np.zeros((3, 3), np.float32), "BERT"),
    ],
)
def test_voice_arrays_out_of_range_are_refused(voiced, tmp_path, field, value, fragment):
    voices = _voice_copy(voiced, tmp_path)
    with np.load(voices / "v.npz") as arrays:
        kept = {k: arrays[k] for k in arrays.files}
    if field == "phone_ids":
        kept["bert"] = np.zeros((1024, len(value)), np.float32)
    np.savez(voices / "v", **{**kept, field: value})
    assert_one_line_error(_say(voiced, voices=voices), "voice 'v'", fragment)


def test_clips_with_non_finite_samples_or_no_signal_are_refused(tmp_path):
    rate = 16000
    wave = (0.3 * np.sin(np.arange(4 * rate) * 0.05)).astype(np.float32)
    broken = wave.copy()
    broken[100] = np.nan
    for name, samples, message in (("nan.wav", broken, "not numbers"), ("silent.wav", wave * 0, "silent")):
        sf.write(tmp_path / name, samples, rate, subtype="FLOAT")
        with pytest.raises(GsvEdgeError, match=message):
            read_reference_clip(tmp_path / name)
    sf.write(tmp_path / "ok.wav", wave, rate)
    assert len(read_reference_clip(tmp_path / "ok.wav")[0]) == 4 * rate


# --- the pack -------------------------------------------------------------------------------------------------


def _edited_pack(pack, tmp_path, edit):
    copy = tmp_path / "pack"
    shutil.copytree(pack, copy)
    data = json.loads((copy / "manifest.json").read_text())
    data = edit(data)
    (copy / "manifest.json").write_text(json.dumps(data))
    return copy


@pytest.mark.parametrize(
    ("edit", "fragment"),
    [
        (lambda d: [1, 2], "not a gsv-edge pack manifest"),
        (lambda d: {**d, "sha256": list(d["sha256"])}, "sha256 must map"),
        (lambda d: {**d, "tables": ["t2s_embeddings.npz"]}, "tables must map"),
        (lambda d: {**d, "sources": "gpt.ckpt"}, "sources must map"),
        (lambda d: {**d, "graphs": "t2s"}, "graphs must be"),
        (lambda d: {**d, "format_version": "3"}, "pack format '3'"),
        (lambda d: {**d, "sha256": {**d["sha256"], "../../../../etc/passwd": "0" * 64}}, "outside the pack"),
        (
            lambda d: {
                **d,
                "graphs": [{**g, "files": ["/etc/passwd"]} if g["name"] == "ref_enc" else g for g in d["graphs"]],
            },  # fmt: skip
            "outside the pack",
        ),
        (
            lambda d: {**d, "sha256": {k: v for k, v in d["sha256"].items() if k != "t2s_embeddings.npz"}},
            "t2s_embeddings.npz has no checksum",
        ),
    ],
)
def test_a_malformed_manifest_is_one_line(voiced, tmp_path, edit, fragment):
    copy = _edited_pack(voiced, tmp_path, edit)
    with pytest.raises(GsvEdgeError, match=fragment.replace("(", r"\(")):
        read_manifest(copy)
    assert_one_line_error(_say(copy), fragment)


def test_a_same_size_edit_with_its_time_put_back_is_found(voiced, tmp_path, monkeypatch):
    import gsv_edge.runtime.pack as pack_module

    monkeypatch.setattr(pack_module, "RECENT_NS", 0)  # record every file at once (no waiting out the racy window)
    copy = tmp_path / "pack"
    shutil.copytree(voiced, copy)
    read_manifest(copy)  # a good check, recorded
    table = copy / "t2s_embeddings.npz"
    before = table.stat()
    data = bytearray(table.read_bytes())
    data[-100] ^= 0xFF
    table.write_bytes(bytes(data))
    os.utime(table, ns=(before.st_atime_ns, before.st_mtime_ns))  # `touch -r`: same size, inode and mtime
    assert (table.stat().st_size, table.stat().st_mtime_ns, table.stat().st_ino) == (
        before.st_size, before.st_mtime_ns, before.st_ino)  # fmt: skip
    with pytest.raises(GsvEdgeError, match="does not match its checksum"):
        read_manifest(copy)
    assert not pack_module._stamp_path(copy).exists()  # the failed check dropped the record


def test_a_damaged_check_record_is_ignored(voiced, tmp_path):
    from gsv_edge.runtime.pack import _stamp_path

    copy = tmp_path / "pack"
    shutil.copytree(voiced, copy)
    read_manifest(copy)
    for junk in ("[1, 2]", "{not json", '{"manifest.json": 5}'):
        _stamp_path(copy).write_text(junk)
        read_manifest(copy)  # hashed afresh, no error


# --- options and text -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("option", "value", "fragment"),
    [
        ("--top-k", "0", "top_k"),
        ("--top-p", "-1", "top_p"),
        ("--temperature", "0", "temperature"),
        ("--temperature", "nan", "temperature"),
        ("--speed", "9", "speed"),
        ("--seed", "-1", "seed"),
    ],
)
def test_sampling_options_are_checked(voiced, option, value, fragment):
    assert_one_line_error(_say(voiced, option, value), fragment)


@pytest.mark.parametrize("text", ["", "   ", "。。。", "!?"])
def test_text_with_nothing_to_speak_is_an_error_not_silence(voiced, text):
    result = gsv("say", text, "--pack", voiced, "--voice", "v", "--lang", "zh", "-o", voiced.parent / "nothing.wav")
    assert_one_line_error(result, "no speakable text")
    assert not (voiced.parent / "nothing.wav").exists()


def test_a_long_line_without_punctuation_is_cut_into_bounded_segments():
    words = " ".join(["hello"] * 5000)
    pieces = pre_segment(words, "en")
    assert all(len(p) <= MAX_SEGMENT + 1 for p in pieces) and len(pieces) >= 50
    assert " ".join(p.rstrip(".") for p in pieces).split() == words.split()  # cut between words, nothing lost
    han = pre_segment("我" * 3000, "zh")
    assert all(len(p) <= MAX_SEGMENT + 1 for p in han) and sum(len(p.rstrip("。")) for p in han) == 3000
