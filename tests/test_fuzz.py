"""Fuzzing what users and files hand us: damaged manifests, voice files and cache records, and random command
lines. Each example must end in a result or the one-line error (GsvEdgeError; exit code 0 or 2 on the command
line, stderr one line when it fails), never a traceback, and must change no file outside its output.

The example counts come from a hypothesis profile chosen with GSV_FUZZ_PROFILE: ``fuzz-dev`` (the default,
quick), ``fuzz-ci`` (the default under CI=true: a few hundred per target), ``fuzz-long`` (thousands, for a night).
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import os
import shutil
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gsv_edge.runtime.errors import GsvEdgeError
from gsv_edge.runtime.pack import _stamp_path, read_manifest
from gsv_edge.runtime.synthesizer import SpeechOptions, Synthesizer
from gsv_edge.runtime.voices import load_voice

_COMMON = {"deadline": None, "suppress_health_check": list(HealthCheck), "derandomize": False}
settings.register_profile("fuzz-dev", max_examples=25, **_COMMON)
settings.register_profile("fuzz-ci", max_examples=200, **_COMMON)
settings.register_profile("fuzz-long", max_examples=5000, **_COMMON)
PROFILE = settings.get_profile(
    os.environ.get("GSV_FUZZ_PROFILE") or ("fuzz-ci" if os.environ.get("CI") == "true" else "fuzz-dev")
)
# The command line is slower per example (a pack is opened, sometimes a sentence spoken): fewer of them.
CLI_PROFILE = settings(PROFILE, max_examples=max(10, PROFILE.max_examples * 3 // 4))


# --- mutations --------------------------------------------------------------------------------------------------

json_leaf = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**70), 2**70), st.sampled_from([0, -1, 1, 2**31, 2**63, -(2**63)]),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=12),
    st.sampled_from(["", "../../../../etc/passwd", "/etc/passwd", "voices/../../x", "openvino", "onnxruntime",
                     "int4", "fp16", "f32", "nan", "\x00", "C:\\x"]),
)  # fmt: skip
json_value = st.recursive(
    json_leaf, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=6,
)  # fmt: skip


def _places(document, path=()):
    """Every (container path, key) in a JSON document."""
    if isinstance(document, dict):
        for key, value in document.items():
            yield path, key
            yield from _places(value, (*path, key))
    elif isinstance(document, list):
        for index, value in enumerate(document):
            yield path, index
            yield from _places(value, (*path, index))


def mutate_json(data, document):
    """One to three edits of a JSON document: drop a key, retype or replace a value, cut a list or string."""
    document = json.loads(json.dumps(document))
    for _ in range(data.draw(st.integers(1, 3), label="edits")):
        places = list(_places(document))
        if not places:
            return data.draw(json_value, label="whole")
        path, key = data.draw(st.sampled_from(places), label="place")
        parent = document
        for step in path:
            parent = parent[step]
        edit = data.draw(st.sampled_from(["drop", "replace", "cut", "same-type"]), label="edit")
        value = parent[key]
        if edit == "drop":
            del parent[key]
        elif edit == "cut" and isinstance(value, str | list):
            parent[key] = value[: data.draw(st.integers(0, max(0, len(value) - 1)), label="cut")]
        elif edit == "same-type" and isinstance(value, int | float) and not isinstance(value, bool):
            parent[key] = data.draw(st.sampled_from([0, -1, -value, value * 1000, 10**12, math.nan]), label="n")
        else:
            parent[key] = data.draw(json_value, label="value")
    return document


def mutate_bytes(data, raw: bytes) -> bytes:
    """Truncate, flip a byte, or both."""
    edit = data.draw(st.sampled_from(["truncate", "flip", "both"]), label="bytes")
    raw = bytearray(raw)
    if edit in ("flip", "both") and raw:
        at = data.draw(st.integers(0, len(raw) - 1), label="at")
        raw[at] ^= data.draw(st.integers(1, 255), label="xor")
    if edit in ("truncate", "both"):
        raw = raw[: data.draw(st.integers(0, len(raw)), label="keep")]
    return bytes(raw)


# --- the pack, copied once per module ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def fuzz_pack(runtime_pack, reference_clip, tmp_path_factory) -> Path:
    from gsv_edge.runtime.enroll import enroll_voice
    from gsv_edge.runtime.voices import save_voice

    pack = tmp_path_factory.mktemp("fuzz") / "pack"
    shutil.copytree(runtime_pack, pack)
    synth = Synthesizer.load(pack)
    save_voice(enroll_voice(synth.engine, "v", reference_clip, "今天天气很好", "zh"), pack / "voices")
    return pack


def _files(folder: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns) for p in folder.rglob("*")
            if p.is_file()}  # fmt: skip


def _speak_briefly(pack: Path, voices: Path | None = None) -> None:
    """Open the pack and say a few tokens: what a manifest or voice that passed its checks must survive."""
    synth = Synthesizer.load(pack, voices_dir=voices)
    options = SpeechOptions(seed=0, fixed_length=lambda segment: 4)
    audio = synth.synthesize("你好。", synth.voice("v"), "zh", options)
    assert np.isfinite(audio.samples).all()


# --- manifests --------------------------------------------------------------------------------------------------


def test_mutated_manifests_are_read_or_refused(fuzz_pack):
    manifest_path = fuzz_pack / "manifest.json"
    original = manifest_path.read_text(encoding="utf-8")
    document = json.loads(original)
    accepted = []

    @PROFILE
    @given(st.data())
    def check(data):
        as_text = data.draw(st.booleans(), label="as text")
        if as_text:
            manifest_path.write_bytes(mutate_bytes(data, original.encode()))
        else:
            manifest_path.write_text(json.dumps(mutate_json(data, document)), encoding="utf-8")
        try:
            read_manifest(fuzz_pack)
        except GsvEdgeError:
            return
        accepted.append(1)
        try:
            _speak_briefly(fuzz_pack)  # it passed the checks: it must work, or fail in one line
        except GsvEdgeError:
            pass

    try:
        before = _files(fuzz_pack)
        check()
        manifest_path.write_text(original, encoding="utf-8")
        assert {k: v for k, v in _files(fuzz_pack).items() if k != "manifest.json"} == {
            k: v for k, v in before.items() if k != "manifest.json"}  # fmt: skip
    finally:
        manifest_path.write_text(original, encoding="utf-8")
    print(f"manifests: {PROFILE.max_examples} examples, {len(accepted)} accepted")


# --- voices -----------------------------------------------------------------------------------------------------

_DTYPES = [np.int8, np.int32, np.int64, np.uint16, np.float16, np.float32, np.float64, np.bool_]


def mutate_voice(data, arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    arrays = dict(arrays)
    for _ in range(data.draw(st.integers(1, 2), label="edits")):
        key = data.draw(st.sampled_from(sorted(arrays)), label="array")
        value = arrays[key]
        edit = data.draw(st.sampled_from(["drop", "dtype", "shape", "empty", "extreme", "metadata"]), label="edit")
        if edit == "drop":
            del arrays[key]
            if not arrays:
                break
        elif edit == "dtype":
            arrays[key] = value.astype(data.draw(st.sampled_from(_DTYPES), label="dtype"))
        elif edit == "shape":
            arrays[key] = value.reshape(1, *value.shape) if value.size else value.reshape(0, 1)
        elif edit == "empty":
            arrays[key] = value[:0]
        elif edit == "extreme" and value.size:
            changed = value.copy()
            extreme = data.draw(st.sampled_from([-1, 1024, 10**9, math.nan, math.inf]), label="extreme")
            with contextlib.suppress(ValueError, OverflowError):  # NaN into an integer array: no such edit
                changed.flat[data.draw(st.integers(0, value.size - 1), label="at")] = extreme
            arrays[key] = changed
        elif "metadata" in arrays:
            try:  # an earlier edit of this example may have made it no JSON at all: nothing to edit then
                meta = json.loads(arrays["metadata"].tobytes())
            except ValueError:
                continue
            arrays["metadata"] = np.frombuffer(json.dumps(mutate_json(data, meta)).encode(), np.uint8)
    return arrays


def test_mutated_voice_files_load_or_are_refused(fuzz_pack, tmp_path):
    source = fuzz_pack / "voices" / "v.npz"
    with np.load(source) as stored:
        arrays = {key: stored[key] for key in stored.files}
    raw = source.read_bytes()
    fingerprint = read_manifest(fuzz_pack).fingerprint
    voices = tmp_path / "voices"
    voices.mkdir()
    loaded = []

    @PROFILE
    @given(st.data())
    def check(data):
        target = voices / "v.npz"
        if data.draw(st.booleans(), label="bytes"):
            target.write_bytes(mutate_bytes(data, raw))
        else:
            np.savez(target, **mutate_voice(data, arrays))
        try:
            load_voice(voices, "v", fingerprint)
        except GsvEdgeError:
            return
        loaded.append(1)
        try:
            _speak_briefly(fuzz_pack, voices)
        except GsvEdgeError:
            pass

    check()
    print(f"voice files: {PROFILE.max_examples} examples, {len(loaded)} loaded")


# --- cache records ----------------------------------------------------------------------------------------------


def test_damaged_cache_records_are_ignored(fuzz_pack):
    """The pack is intact, so whatever the records hold, the pack reads (hashed afresh where a record is bad) and
    the English front end works (its tables rebuilt)."""
    from gsv_edge.runtime.cache import cache_folder
    from gsv_edge.runtime.text import phonemize

    read_manifest(fuzz_pack)
    phonemize("Hello there, this is a test.", "en")  # the English tables are now in the cache
    stamp = _stamp_path(fuzz_pack)
    record = json.loads(stamp.read_text()) if stamp.is_file() else {"manifest.json": [1, 2, 3, 4, 5, "x"]}
    tables = sorted(cache_folder("text").glob("*.npz"))
    originals = {path: path.read_bytes() for path in tables}

    @PROFILE
    @given(st.data())
    def check(data):
        what = data.draw(st.sampled_from(["record json", "record bytes", "table"] if tables else ["record json"]))
        if what == "record json":
            stamp.parent.mkdir(parents=True, exist_ok=True)
            stamp.write_text(json.dumps(mutate_json(data, record)))
        elif what == "record bytes":
            stamp.write_bytes(mutate_bytes(data, json.dumps(record).encode()))
        else:
            table = data.draw(st.sampled_from(tables), label="table")
            table.write_bytes(mutate_bytes(data, originals[table]))
        read_manifest(fuzz_pack)
        if what == "table":
            assert phonemize("Hello there.", "en")

    check()
    print(f"cache records: {PROFILE.max_examples} examples")


# --- the command line -------------------------------------------------------------------------------------------


def _sandbox(fuzz_pack: Path, root: Path) -> dict[str, Path]:
    clip = root / "clip.wav"
    import soundfile as sf

    from gsv_edge.convert.passes.common import synthetic_voice

    sf.write(clip, synthetic_voice(16000, 4.0, 3), 16000)
    (root / "junk.bin").write_bytes(b"\x00junk" * 100)
    (root / "profile.toml").write_text('name = "x"\n[runtime]\nthreads = 0\n')
    (root / "out").mkdir()
    shutil.copytree(fuzz_pack / "voices", root / "voices")
    return {"pack": fuzz_pack, "clip": clip, "junk": root / "junk.bin", "profile": root / "profile.toml",
            "out": root / "out", "voices": root / "voices", "missing": root / "missing"}  # fmt: skip


def _argv(data, places: dict[str, Path]) -> list[str]:
    path = st.sampled_from([str(places[k]) for k in ("pack", "clip", "junk", "out", "missing", "voices")] + ["", "-"])
    values = {
        "--pack": st.sampled_from([str(places["pack"])] * 4 + [str(places["missing"]), str(places["junk"]), ""]),
        "--voice": st.sampled_from(["v", "v", "nobody", "../v", "v\n", ""]),
        "--voices": st.sampled_from([str(places["voices"])] * 3 + [str(places["junk"]), str(places["missing"])]),
        "--lang": st.sampled_from(["zh", "zh", "auto", "en", "ja", "ko", "all_zh", "", "ZH"]),
        "-o": st.sampled_from([str(places["out"] / "x.wav"), str(places["out"]), str(places["out"] / "a" / "b.wav"),
                               "/dev/full", str(places["junk"])]),  # fmt: skip
        "--seed": st.sampled_from(["0", "1", "-1", "2**70", "99999999999999999999999", "abc", ""]),
        "--speed": st.sampled_from(["1", "0.5", "0", "-1", "nan", "inf", "5", "x"]),
        "--top-k": st.sampled_from(["1", "15", "0", "-3", "1.5", "99999"]),
        "--top-p": st.sampled_from(["1", "0.5", "0", "-1", "2", "nan"]),
        "--temperature": st.sampled_from(["1", "0.7", "0", "nan", "-2", "1e308"]),
        "--profile": st.sampled_from(["laptop", "rpi4", "nope", str(places["profile"]), str(places["junk"])]),
        "--backend": st.sampled_from(["openvino", "onnxruntime", "cuda", ""]),
        "--ref": path,
        "--text": st.sampled_from(["你好", "", "。。。", "hello"]),
        "--json": None, "--force": None, "--verbose": None, "--help": None, "--bogus": None,
    }  # fmt: skip
    command = data.draw(st.sampled_from([["say"], ["say"], ["say"], ["voice", "add"], ["voice", "list"],
                                         ["voice", "show"], ["voice", "rm"], ["doctor"], ["phonemize"], ["inspect"],
                                         ["frobnicate"], ["voice"], []]), label="command")  # fmt: skip
    argv = list(command)
    if command in (["say"], ["voice", "add"], ["voice", "show"], ["voice", "rm"], ["phonemize"]):
        if data.draw(st.booleans(), label="positional"):
            argv.append(data.draw(st.sampled_from(["你好。", "v", "w", "", "。", "hello", "x" * 3]), label="text"))
    if command and command != ["inspect"] and data.draw(st.integers(0, 9), label="with pack") > 1:
        argv += ["--pack", str(places["pack"]), "--voices", str(places["voices"])]
    if command == ["say"] and data.draw(st.booleans(), label="to a file"):
        argv += ["-o", str(places["out"] / "x.wav")]
    extra = st.lists(st.sampled_from(sorted(values)), max_size=3) if data.draw(st.booleans()) else st.just([])
    for option in data.draw(extra, label="options"):  # half the lines have no odd option: they get further
        argv.append(option)
        if values[option] is not None:
            argv.append(data.draw(values[option], label=option))
    if command == ["inspect"]:
        argv.append(data.draw(path, label="file"))
    return argv


def _run_main(argv: list[str], stdin: bytes, capsys) -> tuple[int, str]:
    from gsv_edge.edge.cli import main

    saved = sys.argv, sys.stdin
    sys.argv, sys.stdin = ["gsv-edge", *argv], io.TextIOWrapper(io.BytesIO(stdin), encoding="utf-8")
    try:
        main()
        code = 0
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
    finally:
        sys.argv, sys.stdin = saved
    return code, capsys.readouterr().err


def test_random_command_lines_end_in_a_result_or_one_line(fuzz_pack, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.chdir(tmp_path)  # the default --pack "." is the sandbox: anything written there is seen below
    places = _sandbox(fuzz_pack, tmp_path)
    outside = {**_files(fuzz_pack), **{f"sandbox/{k}": v for k, v in _files(tmp_path).items()
                                       if not k.startswith(("out/", "voices/"))}}  # fmt: skip
    codes: dict[int, int] = {}

    @CLI_PROFILE
    @given(st.data())
    def check(data):
        argv = _argv(data, places)
        stdin = data.draw(st.sampled_from([b"", "你好。\n".encode(), b"\xff\xfe\x00junk", "。。。\n".encode()]))
        code, err = _run_main(argv, stdin, capsys)
        codes[code] = codes.get(code, 0) + 1
        assert code in (0, 2), (argv, code, err)
        assert "Traceback" not in err, (argv, err)
        if code:
            lines = err.strip().splitlines()
            assert len(lines) == 1 and lines[0].startswith("error: "), (argv, err)
        for partial in places["out"].rglob(".*"):
            raise AssertionError(f"{argv}: left {partial} behind")

    check()
    after = {**_files(fuzz_pack), **{f"sandbox/{k}": v for k, v in _files(tmp_path).items()
                                     if not k.startswith(("out/", "voices/"))}}  # fmt: skip
    changed = {k for k in set(outside) | set(after) if outside.get(k) != after.get(k)}
    assert not {k for k in changed if not k.startswith("voices/")}, changed
    print(f"command lines: {CLI_PROFILE.max_examples} examples, exit codes {codes}")


def test_zip_errors_are_covered():
    """A guard for the voice loader's list of caught errors: these are what a damaged npz raises."""
    with pytest.raises(zipfile.BadZipFile):
        np.load(io.BytesIO(b"PK\x03\x04" + b"\x00" * 40))
