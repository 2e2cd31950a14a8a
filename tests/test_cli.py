"""The gsv-edge command end to end: inspect and demo-model, their output and their refusals."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest
import torch

from gsv_edge.convert.checkpoint import read_checkpoint, write_checkpoint
from tests.conftest import REPO_ROOT, require_conformance


def gsv(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, COLUMNS="200")
    return subprocess.run(
        [sys.executable, "-m", "gsv_edge.edge.cli", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        env=env,
    )


def assert_one_line_error(result: subprocess.CompletedProcess, *fragments: str) -> None:
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.stderr
    for fragment in fragments:
        assert fragment in lines[0]


@pytest.mark.parametrize(("variant", "version"), [("v1-tiny", "v1"), ("v2-tiny", "v2"), ("v2pro-tiny", "v2Pro")])
def test_inspect_a_conformance_pair(variant, version):
    folder = require_conformance(variant)
    result = gsv("inspect", folder / "gpt.ckpt", folder / "sovits.pth")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert f"version    {version}" in out
    assert out.count("keys       complete") == 2
    assert "GPT and SoVITS belong together" in out
    assert "layers 2, d_model 64, heads 2" in out


def test_inspect_json_reports_counts_and_coverage():
    folder = require_conformance("v2pro-tiny")
    result = gsv("inspect", "--json", folder / "gpt.ckpt", folder / "sovits.pth")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    gpt, sovits = report["files"]
    assert (gpt["kind"], sovits["kind"], sovits["version"]) == ("gpt", "sovits", "v2Pro")
    assert gpt["missing_keys"] == [] and sovits["unexpected_keys"] == []
    # parameter count from the file itself: 31 GPT tensors, independent of our loader's bookkeeping
    raw = torch.load(folder / "gpt.ckpt", map_location="cpu", weights_only=True)
    assert gpt["n_params"] == sum(t.numel() for t in raw["weight"].values())
    assert report["pair"] == "ok" and report["ok"] is True


def test_inspect_reports_missing_and_unexpected_keys(tmp_path):
    payload = dict(read_checkpoint(require_conformance("v2-tiny") / "gpt.ckpt").payload)
    weights = dict(payload["weight"])
    del weights["model.ar_predict_layer.weight"]
    weights["model.extra.weight"] = torch.zeros(3)
    payload["weight"] = weights
    path = write_checkpoint(payload, tmp_path / "holes.ckpt")
    result = gsv("inspect", "--json", path)
    assert result.returncode == 2
    report = json.loads(result.stdout)["files"][0]
    assert report["missing_keys"] == ["ar_predict_layer.weight"]
    assert report["unexpected_keys"] == ["extra.weight"]


def test_inspect_mismatched_pair_exits_2():
    result = gsv("inspect", require_conformance("v1-tiny") / "gpt.ckpt", require_conformance("v2-tiny") / "sovits.pth")
    assert result.returncode == 2
    assert "do not belong together" in result.stdout


def test_inspect_refusals_are_one_line(tmp_path):
    junk = tmp_path / "junk.pth"
    junk.write_bytes(b"\x00\x01 definitely not a model")
    assert_one_line_error(gsv("inspect", junk), "not a GPT-SoVITS checkpoint")

    source = require_conformance("v2-tiny") / "sovits.pth"
    cut = tmp_path / "cut.pth"
    cut.write_bytes(source.read_bytes()[:100_000])
    assert_one_line_error(gsv("inspect", cut), "truncated or corrupt")

    lora = tmp_path / "lora.pth"
    lora.write_bytes(b"04" + source.read_bytes()[2:])
    assert_one_line_error(gsv("inspect", lora), "v4-lora", "v2Pro")


def test_inspect_refuses_code_execution(tmp_path):
    marker = tmp_path / "ran"
    evil = tmp_path / "evil.ckpt"
    evil.write_bytes(
        b"\x80\x02cos\nsystem\n(V" + f"touch {marker}".encode() + b"\ntR."  # pickle: os.system("touch ...")
    )
    result = gsv("inspect", evil)
    assert_one_line_error(result, "refused", "os.system")
    assert "weights_only" not in result.stderr and len(result.stderr) - len(str(evil)) < 160  # not torch's advice
    assert not marker.exists()


@pytest.mark.parametrize("version", ["v1", "v2", "v2Pro", "v2ProPlus"])
def test_demo_model_tiny_round_trips_through_the_official_loader(tmp_path, version):
    out = tmp_path / "model"
    result = gsv("demo-model", "--version", version, "--size", "tiny", "--seed", "3", "-o", out)
    assert result.returncode == 0, result.stderr
    inspected = gsv("inspect", "--json", out / "gpt.ckpt", out / "sovits.pth")
    assert inspected.returncode == 0, inspected.stdout + inspected.stderr
    report = json.loads(inspected.stdout)
    assert report["files"][1]["version"] == version
    header = (out / "sovits.pth").read_bytes()[:2]
    assert header == {"v2Pro": b"05", "v2ProPlus": b"06"}.get(version, b"PK")


@pytest.mark.parametrize(("version", "variant"), [("v1", "v1-tiny"), ("v2", "v2-tiny"), ("v2Pro", "v2pro-tiny")])
def test_demo_model_tiny_has_the_official_layout(tmp_path, version, variant):
    """Same tensor names, shapes and dtypes as the upstream-written tiny files, and the same container types."""
    out = tmp_path / "model"
    assert gsv("demo-model", "--version", version, "--size", "tiny", "-o", out).returncode == 0
    folder = require_conformance(variant)
    for name in ("gpt.ckpt", "sovits.pth"):
        ours = read_checkpoint(out / name).payload
        theirs = read_checkpoint(folder / name).payload
        assert {k: (tuple(v.shape), v.dtype) for k, v in ours["weight"].items()} == {
            k: (tuple(v.shape), v.dtype) for k, v in theirs["weight"].items()
        }
        assert type(ours["config"]).__qualname__ == type(theirs["config"]).__qualname__
        assert set(ours) == set(theirs)


def test_demo_model_is_seeded_and_refuses_to_overwrite(tmp_path):
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    for out, seed in ((a, 1), (b, 1), (c, 2)):
        assert gsv("demo-model", "--size", "tiny", "--seed", seed, "-o", out).returncode == 0
    weights = {p: read_checkpoint(p / "gpt.ckpt").payload["weight"] for p in (a, b, c)}
    key = "model.ar_predict_layer.weight"
    assert torch.equal(weights[a][key], weights[b][key])
    assert not torch.equal(weights[a][key], weights[c][key])

    assert_one_line_error(gsv("demo-model", "--size", "tiny", "-o", a), "already exists", "--force")
    assert gsv("demo-model", "--size", "tiny", "-o", a, "--force").returncode == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a", "b", "c"]  # no temp folders left behind
    assert_one_line_error(gsv("demo-model", "--version", "v3", "-o", tmp_path / "d"), "unknown version")
    shutil.rmtree(a)


def test_phonemize_json_matches_the_library_and_reads_stdin():
    from gsv_edge.runtime.text import clean_text

    result = gsv("phonemize", "你好，世界。", "--lang", "zh", "--no-split", "--json")
    assert result.returncode == 0, result.stderr
    segment = json.loads(result.stdout)["segments"][0]
    expected = clean_text("你好，世界。", "zh", "v2")
    assert segment["phone_ids"] == expected.phone_ids and segment["word2ph"] == expected.word2ph
    # upstream's symbols for this text (conformance hf/cases.json lists the same phones for its longer sentence)
    assert segment["phones"] == ["n", "i2", "h", "ao3", ",", "sh", "ir4", "j", "ie4", "."]

    piped = subprocess.run(
        [sys.executable, "-m", "gsv_edge.edge.cli", "phonemize", "--lang", "zh"],
        input="今天天气很好！", capture_output=True, text=True, cwd=REPO_ROOT,
    )  # fmt: skip
    assert piped.returncode == 0 and "ids" in piped.stdout and "q i4" in piped.stdout


def test_phonemize_bad_language_is_one_line():
    assert_one_line_error(gsv("phonemize", "hello", "--lang", "xx"), "unknown language")
    assert_one_line_error(gsv("phonemize", "hello", "--version", "v9"), "--version")


def test_demo_gpt_stops_by_itself(tmp_path):
    """A random GPT would run to the step cap; the demo GPT has a constant EOS logit that makes it stop after
    about DEMO_MEAN_TOKENS tokens, with upstream's own sampling rules."""
    from gsv_edge.convert.checkpoint import load_gpt
    from gsv_edge.convert.demo_model import DEMO_MEAN_TOKENS, write_demo_model
    from gsv_edge.convert.reference import build_gpt
    from gsv_edge.convert.reference.ar_loop import generate

    write_demo_model(tmp_path / "m", size="tiny", seed=4)
    ckpt = load_gpt(tmp_path / "m" / "gpt.ckpt")
    model = build_gpt(ckpt.model_config).eval()
    model.load_state_dict(ckpt.state_dict)
    rng = torch.Generator().manual_seed(0)
    eos_logits, lengths = set(), []
    for seed in range(12):
        phones = torch.randint(1, 300, (int(torch.randint(5, 40, (1,), generator=rng)),), generator=rng)
        prompt = torch.randint(0, 1024, (30,), generator=rng)
        logits, _ = model.prefill(phones, torch.randn(1024, len(phones), generator=rng), prompt)
        eos_logits.add(round(float(logits[model.eos]), 4))
        lengths.append(len(generate(model, phones, torch.zeros(1024, len(phones)), prompt, seed=seed).generated))
    assert len(eos_logits) == 1  # the same EOS logit whatever the input: a bias
    assert max(lengths) < 1500 and DEMO_MEAN_TOKENS / 5 < sorted(lengths)[6] < DEMO_MEAN_TOKENS * 5


def test_demo_voice_assets_enroll_through_a_converted_pack(tmp_path):
    from gsv_edge.convert.convert import ConvertOptions, convert
    from gsv_edge.convert.demo_model import DEMO_TRANSCRIPT, write_demo_model
    from gsv_edge.runtime.enroll import enroll_voice
    from gsv_edge.runtime.synthesizer import Synthesizer

    model = tmp_path / "m"
    write_demo_model(model, size="tiny", seed=1, voice_assets=True)
    assert (model / "reference.txt").read_text(encoding="utf-8").strip() == DEMO_TRANSCRIPT
    pack = tmp_path / "pack"
    convert(ConvertOptions(model / "gpt.ckpt", model / "sovits.pth", pack, hubert=model / "chinese-hubert-base-demo"))
    voice = enroll_voice(Synthesizer.load(pack).engine, "demo", model / "reference.wav", DEMO_TRANSCRIPT, "zh")
    frames = (5 * 16000 + 9600 - 400) // 320 + 1  # the 5 s clip with upstream's 0.3 s of padding, at 50 Hz
    assert len(voice.prompt_tokens) == (frames - 2) // 2 + 1


def test_bench_text_times_each_mode():
    from tests.test_text_ja import require_japanese

    require_japanese()
    result = gsv("bench-text", "--calls", "40", "--lang", "zh", "--lang", "ja", "--json")
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""  # Open JTalk's C-level warnings on odd input are silenced
    rows = json.loads(result.stdout)
    assert [r["mode"] for r in rows] == ["zh", "ja"]
    for row in rows:
        assert row["calls"] == 40 and 0 < row["median_ms"] <= row["p99_ms"] <= row["max_ms"]
    assert_one_line_error(gsv("bench-text", "--lang", "ko"), "unknown --lang 'ko'")
