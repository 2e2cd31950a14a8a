"""A pack made with your own profile file runs on its own settings, and the device can override them; the command
line's usage mistakes are one line and exit code 2. Everything through the real `gsv-edge` command."""

from __future__ import annotations

import json
import shutil
from importlib import resources

import pytest
import soundfile as sf

from tests.conftest import require_conformance
from tests.test_cli import assert_one_line_error, gsv

LAPTOP = (resources.files("gsv_edge.profiles") / "laptop.toml").read_text()


@pytest.fixture(scope="module")
def board(tmp_path_factory):
    """The tiny v2 model converted with a profile file of the user's own (`myboard.toml`, outside the repository)
    and a voice enrolled through the command line."""
    folder, hf = require_conformance("v2-tiny"), require_conformance("hf")
    work = tmp_path_factory.mktemp("board")
    profile = work / "myboard.toml"
    assert "first_chunk_tokens = 12" in LAPTOP
    mine = LAPTOP.replace('name = "laptop"', 'name = "myboard"').replace(
        "first_chunk_tokens = 12", "first_chunk_tokens = 10"
    )
    profile.write_text(mine)
    pack = work / "pack"
    done = gsv("convert", "--gpt", folder / "gpt.ckpt", "--sovits", folder / "sovits.pth", "--hubert",
               hf / "chinese-hubert-base-tiny", "--profile", profile, "-o", pack)  # fmt: skip
    assert done.returncode == 0, done.stderr
    from tests.conftest import REPO_ROOT

    clip = work / "ref.wav"
    import numpy as np

    t = np.arange(4 * 16000) / 16000
    sf.write(clip, (0.3 * np.sin(2 * np.pi * 150 * t) * (1 + 0.2 * np.sin(2 * np.pi * 3 * t))).astype("float32"), 16000)
    added = gsv("voice", "add", "me", "--pack", pack, "--ref", clip, "--text", "今天天气很好", "--lang", "zh")
    assert added.returncode == 0, added.stderr
    assert REPO_ROOT not in pack.parents
    return work, pack


def test_a_pack_from_a_profile_file_speaks_with_that_profiles_settings(board):
    work, pack = board
    manifest = json.loads((pack / "manifest.json").read_text())
    assert manifest["profile"] == "myboard"
    assert manifest["settings"]["streaming"]["first_chunk_tokens"] == 10
    wav = work / "out.wav"
    said = gsv("say", "你好，世界。", "--pack", pack, "--voice", "me", "--lang", "zh", "-o", wav, "--verbose")
    assert said.returncode == 0, said.stderr
    assert "streaming (the pack's settings): first chunk 10 tokens" in said.stderr
    assert sf.info(wav).frames > 0 and sf.info(wav).samplerate == 32000


def test_say_profile_overrides_the_streaming_plan(board):
    work, pack = board
    other = work / "other.toml"
    other.write_text("[streaming]\nfirst_chunk_tokens = 4\ndecoder_windows = [96]\n")
    wav = work / "other.wav"
    said = gsv("say", "你好，世界。", "--pack", pack, "--voice", "me", "--lang", "zh", "-o", wav, "--verbose",
               "--profile", other)  # fmt: skip
    assert said.returncode == 0, said.stderr
    assert f"streaming (profile {other}): first chunk 4 tokens" in said.stderr
    assert "decoder windows [96]" in said.stderr
    by_name = gsv("say", "你好。", "--pack", pack, "--voice", "me", "--lang", "zh", "-o", wav, "--verbose",
                  "--profile", "rpi4")  # fmt: skip
    assert by_name.returncode == 0 and "first chunk 8 tokens" in by_name.stderr


def test_a_profile_with_an_unknown_key_is_refused_naming_it(board):
    work, pack = board
    bad = work / "typo.toml"
    bad.write_text("[streaming]\nfirst_chunk_tokenz = 4\n")
    assert_one_line_error(
        gsv("say", "你好。", "--pack", pack, "--voice", "me", "-o", work / "x.wav", "--profile", bad),
        "unknown key streaming.first_chunk_tokenz",
    )
    folder = require_conformance("v2-tiny")
    refused = gsv("convert", "--gpt", folder / "gpt.ckpt", "--sovits", folder / "sovits.pth", "--profile", bad,
                  "-o", work / "never")  # fmt: skip
    assert_one_line_error(refused, "unknown key streaming.first_chunk_tokenz")
    assert not (work / "never").exists()


def test_bench_exits_non_zero_when_a_setup_fails(board, tmp_path):
    _, pack = board
    copy = tmp_path / "no-onnx"
    shutil.copytree(pack, copy)
    data = json.loads((copy / "manifest.json").read_text())
    data["graphs"] = [g for g in data["graphs"] if g["backend"] == "openvino"]
    data["sha256"] = {f: h for f, h in data["sha256"].items() if not f.endswith(".onnx")}
    (copy / "manifest.json").write_text(json.dumps(data))
    result = gsv("bench", "--pack", copy, "--backend", "onnxruntime", "--repeats", "1", "--json")
    assert result.returncode == 2
    assert json.loads(result.stdout)[0]["setup"] == "onnxruntime"  # the rows are still printed
    assert result.stderr.strip().startswith("error: bench: setup onnxruntime failed: this pack has no ONNX files")


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["say", "hi", "--bogus"], "No such option: --bogus"),
        (["say", "hi", "--speed", "abc"], "--speed"),
        (["voice", "add", "x", "--pack", "p"], "Missing option"),
        (["frobnicate"], "No such command 'frobnicate'"),
    ],
)
def test_usage_mistakes_are_one_line_and_exit_2(args, fragment):
    assert_one_line_error(gsv(*args), fragment)


@pytest.mark.parametrize("args", [[], ["voice"]])
def test_a_bare_command_prints_its_help(args):
    result = gsv(*args)
    assert result.returncode == 0 and "Usage:" in result.stdout and result.stderr == ""


def test_help_lists_the_commands_in_workflow_order():
    listed = [line.split()[1] for line in gsv("--help").stdout.splitlines() if line.startswith("│ ") and
              line.split()[1][:1].isalpha() and not line.split()[1].startswith("-")]  # fmt: skip
    order = ["inspect", "convert", "voice", "say", "bench", "doctor", "phonemize", "demo-model", "bench-text"]
    assert [name for name in listed if name in order] == order
